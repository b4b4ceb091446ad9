"""The main job (``make demo``): a tour of graphkit on an embedded, generated dataset.

Builds the Keras guide's example models with the Functional API and writes their summaries;
then builds a small network as a :class:`gk.Module`, trains it with :class:`gk.GradientTape`
on two interleaved spirals (generated, no network needed), and writes the loss log, a loss
plot and a short report to the output folder.
"""
from __future__ import annotations

import argparse
import csv
import math
import pathlib
import sys

import numpy as np

import graphkit as gk
from graphkit import examples


def make_spirals(n_per_class: int = 200, noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals in 2-D: a classic non-linear toy problem."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n_per_class)) * 3 * math.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * math.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(scale=noise / 3, size=(2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order]


class Dense(gk.Module):
    """A fully connected layer whose weights are created on first call."""

    def __init__(self, units: int, activation=None, name: str | None = None):
        super().__init__(name=name)
        self.units = units
        self.activation = activation
        self.w = None
        self.b = None

    def __call__(self, x: gk.Tensor) -> gk.Tensor:
        if self.w is None:
            with self.name_scope:
                fan_in = x.shape[-1]
                limit = math.sqrt(6 / (fan_in + self.units))
                self.w = gk.Variable(gk.random.uniform((fan_in, self.units), -limit, limit), name="w")
                self.b = gk.Variable(gk.zeros((self.units,)), name="b")
        y = gk.ops.dense(x, self.w, self.b)
        return self.activation(y) if self.activation else y


class MLP(gk.Module):
    def __init__(self, sizes: list[int], name: str | None = None):
        super().__init__(name=name)
        self.layers = [Dense(n, gk.nn.tanh, name=f"dense_{i}") for i, n in enumerate(sizes[:-1])]
        self.layers.append(Dense(sizes[-1], name=f"dense_{len(sizes) - 1}"))

    def __call__(self, x: gk.Tensor) -> gk.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def cross_entropy(logits: gk.Tensor, labels: np.ndarray) -> gk.Tensor:
    one_hot = gk.ops.one_hot(gk.constant(labels), logits.shape[-1])
    return -gk.ops.mean(gk.ops.sum(one_hot * gk.nn.log_softmax(logits), axis=-1))


def train(epochs: int = 1500, learning_rate: float = 1.0) -> dict:
    gk.random.set_seed(0)
    x, y = make_spirals()
    split = int(0.8 * len(y))
    model = MLP([32, 32, 2], name="spiral_mlp")
    model(gk.constant(x[:1]))  # creates the variables
    print(f"Model {model.name}: {len(model.submodules)} submodules, "
          f"{sum(v.size for v in model.trainable_variables):,} trainable values")
    for v in model.trainable_variables:
        print(f"  {v.name:<22} {str(v.shape):<10} {v.dtype}")

    history = []
    for epoch in range(epochs):
        with gk.GradientTape() as tape:
            loss = cross_entropy(model(gk.constant(x[:split])), y[:split])
        grads = tape.gradient(loss, model.trainable_variables)
        for v, g in zip(model.trainable_variables, grads):
            v.assign_sub(learning_rate * g)
        history.append(float(loss))
        if epoch % 250 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch:4d}  loss {float(loss):.4f}")

    with gk.no_grad():
        predictions = gk.ops.argmax(model(gk.constant(x[split:])), axis=-1).numpy()
    accuracy = float((predictions == y[split:]).mean())
    print(f"held-out accuracy: {accuracy:.3f}")
    return {"history": history, "accuracy": accuracy}


def write_outputs(out: pathlib.Path, result: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "losses.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "loss"])
        writer.writerows(enumerate(result["history"]))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(result["history"])
    ax.set(xlabel="epoch", ylabel="cross-entropy", title="Two spirals, 2-32-32-2 MLP")
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=96)
    plt.close(fig)
    (out / "report.txt").write_text(
        f"final loss {result['history'][-1]:.4f}\nheld-out accuracy {result['accuracy']:.3f}\n")


def write_summaries(out: pathlib.Path) -> None:
    """Print and save the Keras-style summaries of the example models."""
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for build in (examples.mlp, examples.conv_autoencoder, examples.text_tagger, examples.small_resnet):
        model = build()
        model.summary(print_fn=lambda text: lines.append(text))
    text = "\n".join(lines)
    print(text)
    (out / "summaries.txt").write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    parser.add_argument("--epochs", type=int, default=1500)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    write_summaries(out)
    result = train(epochs=args.epochs)
    write_outputs(out, result)
    print(f"wrote {out.resolve()}/ (summaries.txt, losses.csv, loss.png, report.txt)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
