"""The main job (``make demo``): a tour of graphkit on data that ships with it.

1. Builds the Keras guide's example models with the Functional API and writes their summaries.
2. Trains a 64-64-64-10 MLP on the 8×8 handwritten digits bundled in ``gk.datasets.digits``
   (no network) with ``compile``/``fit``, RMSprop, batch 64, 20 epochs, 20 % validation split.
3. Reports test accuracy and writes the training history (CSV and plot), the saved model and its
   picture (DOT, and SVG when graphviz is installed).
4. Logs the training for the board (``logs/``: ``callbacks.TensorBoard`` with weight, activation
   and gradient histograms, and ``gk.trace`` spans of every step), writes the trace for Perfetto
   (``trace.json``) and the board as one offline file (``board.html``).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys

import graphkit as gk
from graphkit import examples, layers


def write_summaries(out: pathlib.Path) -> None:
    """Print and save the Keras-style summaries of the example models."""
    lines: list[str] = []
    for build in (examples.mlp, examples.conv_autoencoder, examples.text_tagger, examples.small_resnet):
        build().summary(print_fn=lines.append)
    text = "\n".join(lines)
    print(text)
    (out / "summaries.txt").write_text(text)


def digits_mlp() -> gk.Model:
    """64 pixel intensities → two relu layers of 64 → 10 class probabilities."""
    inputs = gk.Input(shape=(64,), name="pixels")
    x = layers.Dense(64, activation="relu", name="hidden_1")(inputs)
    x = layers.Dense(64, activation="relu", name="hidden_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="digit")(x)
    return gk.Model(inputs, outputs, name="digits_mlp")


def train_digits(out: pathlib.Path, epochs: int, verbose: int) -> dict:
    gk.random.set_seed(0)
    (x_train, y_train), (x_test, y_test) = gk.datasets.digits.load_data()
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16.0
    model = digits_mlp()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    logs = out / "logs"
    shutil.rmtree(logs, ignore_errors=True)                  # this run's logs only
    callbacks = [gk.callbacks.CSVLogger(str(out / "history.csv")),
                 gk.callbacks.TensorBoard(str(logs), histogram_freq=1, activation_histograms=True,
                                          gradient_histograms=True)]
    with gk.trace(logdir=logs / "train") as trace:
        history = model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_split=0.2,
                            callbacks=callbacks, verbose=verbose)
    trace.to_chrome_trace(out / "trace.json")
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"test accuracy: {results['accuracy']:.3f}  test loss: {results['loss']:.4f}")
    figure = gk.utils.plot_history(history)
    figure.savefig(out / "history.png", dpi=96)
    model.save(str(out / "digits_mlp.gk"))
    write_model_pictures(model, out)
    write_board(logs, out / "board.html")
    return {"test_accuracy": results["accuracy"], "test_loss": results["loss"], "epochs": epochs,
            "train_samples": len(x_train), "test_samples": len(x_test)}


def write_model_pictures(model: gk.Model, out: pathlib.Path) -> list[str]:
    """The model's picture as DOT text, and as SVG when graphviz's ``dot`` is installed."""
    from graphkit.utils.graphviz import have_dot
    names = ["digits_mlp.dot"] + (["digits_mlp.svg"] if have_dot() else [])
    for name in names:
        gk.utils.plot_model(model, to_file=str(out / name), show_shapes=True, show_params=True,
                            show_layer_activations=True)
    return names


def write_board(logs: pathlib.Path, path: pathlib.Path) -> None:
    """The board of the training logs as one offline HTML file (needs the front-end bundle)."""
    try:
        gk.board.export_html(logs, path)
    except FileNotFoundError as error:
        print(f"board.html not written: {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    write_summaries(out)
    report = train_digits(out, args.epochs, args.verbose)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    written = sorted(path.name for path in out.iterdir())
    print(f"wrote {out.resolve()}/ ({', '.join(written)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
