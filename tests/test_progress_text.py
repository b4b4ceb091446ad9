"""Training progress in a notebook leaves Keras's per-epoch text in the saved outputs and in their
nbconvert HTML: no widget repr, no duplicate line, whatever front end reads the file."""
from __future__ import annotations

import re

import pytest

from graphkit.utils.progress import WIDGET_VIEW_MIME, ProgressWidget

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ANSI = re.compile(r"\x1b\[[0-9;]*m")
REPRS = ("VBox(", "HBox(", "IntProgress(", "HTML(value=", "object at 0x")
BAR_LINE = re.compile(r"^4/4 ━{20} \d+s \d+(us|ms|s)/step(?P<metrics>( - \w+: [\d.e+-]+)*)$")
LINE_V2 = re.compile(r"^4/4 - \d+s - \d+(us|ms|s)/step - loss: [\d.e+-]+ - mae: [\d.e+-]+$")

CELLS = [
    "import numpy as np\nimport graphkit as gk\n"
    "x = np.random.default_rng(0).normal(size=(64, 4)).astype('float32')\ny = x.sum(1, keepdims=True)\n"
    "inputs = gk.Input((4,))\nmodel = gk.Model(inputs, gk.layers.Dense(1)(inputs))\n"
    "model.compile('sgd', 'mse', metrics=['mae'])",
    "history = model.fit(x, y, epochs=3, batch_size=16)",
    "history = model.fit(x, y, epochs=2, batch_size=16, verbose=2)",
    "result = model.evaluate(x, y, batch_size=16)",
    "prediction = model.predict(x, batch_size=16)",
    "class Stop(gk.callbacks.Callback):\n"
    "    def on_epoch_end(self, epoch, logs=None):\n"
    "        if epoch == 1:\n"
    "            raise RuntimeError('stopped by the test')\n"
    "try:\n"
    "    model.fit(x, y, epochs=3, batch_size=16, callbacks=[Stop()])\n"
    "except RuntimeError as error:\n"
    "    print('stopped:', error)",
]


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    return notebook


def _texts(cell) -> list[str]:
    """Every text a front end may show for the cell: streams, and each display's text/plain and text/html."""
    found = []
    for output in cell.outputs:
        if output.output_type == "stream":
            found.append(output.text)
        data = output.get("data", {})
        found += [data[mime] for mime in ("text/plain", "text/html") if mime in data]
    return [ANSI.sub("", text) for text in found if text]


def _lines(cell) -> list[str]:
    """The cell's text lines as shown: its streams and its displays' text (not the cell's result)."""
    texts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            texts.append(output.text)
        elif output.output_type == "display_data" and output.data["text/plain"]:
            texts.append(output.data["text/plain"] + "\n")
    return ANSI.sub("", "".join(texts)).splitlines()


def test_fit_verbose_1_leaves_one_keras_line_per_epoch_and_no_widget(executed):
    lines = _lines(executed.cells[1])
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"] and len(lines) == 6
    for line in lines[1::2]:
        match = BAR_LINE.match(line)
        assert match and re.fullmatch(r" - loss: [\d.e+-]+ - mae: [\d.e+-]+", match["metrics"]), line
    # the live bar was shown (its state was sent) but no saved output refers to a widget any more
    states = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(s["model_name"] == "IntProgressModel" for s in states.values())
    for cell in executed.cells:
        assert not any(WIDGET_VIEW_MIME in output.get("data", {}) for output in cell.outputs)


def test_fit_verbose_2_prints_its_lines(executed):
    lines = _lines(executed.cells[2])
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"] and len(lines) == 4
    assert all(LINE_V2.match(line) for line in lines[1::2]), lines


def test_evaluate_and_predict_leave_exactly_one_summary_line(executed):
    evaluate, predict = _lines(executed.cells[3]), _lines(executed.cells[4])
    assert len(evaluate) == 1 and BAR_LINE.match(evaluate[0]) and "- loss: " in evaluate[0], evaluate
    assert len(predict) == 1 and BAR_LINE.match(predict[0])["metrics"] == "", predict


def test_a_fit_stopped_by_an_error_leaves_its_text_and_no_widget(executed):
    lines = _lines(executed.cells[5])
    assert lines[:2] == ["Epoch 1/3", lines[1]] and BAR_LINE.match(lines[1])
    assert lines[-1] == "stopped: stopped by the test"
    assert not any(WIDGET_VIEW_MIME in output.get("data", {}) for output in executed.cells[5].outputs)


def test_no_output_shows_a_widget_repr(executed):
    for cell in executed.cells:
        for text in _texts(cell):
            assert not any(marker in text for marker in REPRS), text


def test_nbconvert_html_keeps_the_history_and_no_repr(executed):
    nbconvert = pytest.importorskip("nbconvert")
    body, _ = nbconvert.HTMLExporter().from_notebook_node(executed)
    for cell in executed.cells[1:]:
        for line in _lines(cell):
            if " - loss: " in line:
                assert line[line.index(" - loss: "):] in body  # the metrics, as text
    assert "Epoch 3/3" in body and "Epoch 2/2" in body
    assert not any(marker in body for marker in (*REPRS, "LiveView object at"))


def test_the_live_label_never_wraps_a_metric_name_apart_from_its_value():
    bar = ProgressWidget(target=5, interval=0.0, display=False)
    bar.update(2, {"loss": 0.5, "val_accuracy": 0.75})
    pieces = re.findall(r"<span style='white-space:nowrap'>([^<]*)</span>", bar.label.value)
    assert pieces[1:] == ["- loss: 0.5000", "- val_accuracy: 0.7500"]
    assert re.sub(r"<[^>]+>", "", bar.label.value) == bar.text  # every character is inside a piece or a gap


# --------------------------------------------------------------------------- in real JupyterLab

BROWSER_CELLS = [
    CELLS[0] + "\nimport os, time\n"
    "def wait_for_go(epoch, logs):\n"
    "    deadline = time.monotonic() + 120\n"
    "    while epoch == 1 and not os.path.exists('go') and time.monotonic() < deadline:\n"
    "        time.sleep(0.05)\n"
    "pause = gk.callbacks.LambdaCallback(on_epoch_begin=wait_for_go)",
    "history = model.fit(x, y, epochs=2, batch_size=16, callbacks=[pause])",
    "result = model.evaluate(x, y, batch_size=16)",
]


def test_jupyterlab_animates_the_bar_and_keeps_the_text(tmp_path):
    """The bar is drawn while ``fit`` runs (paused at the second epoch's start), beside the first
    epoch's line; when the run ends only Keras's text is left, on the page and in the saved file."""
    import json

    from browser import chromium
    from lab_pages import WAIT_MS, lab_page, open_notebook, run_all_cells, save_notebook, write_notebook
    from lab_server import LabServer

    pytest.importorskip("jupyterlab")
    root = tmp_path / "notebooks"
    root.mkdir()
    write_notebook(root / "train.ipynb", BROWSER_CELLS)
    with chromium() as browser:
        server = LabServer(str(root), str(tmp_path))
        with lab_page(browser, server) as page:
            open_notebook(page, server, "train.ipynb")
            run_all_cells(page)
            fit_output = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea")
            fit_output.locator("pre", has_text="- loss: ").wait_for(timeout=WAIT_MS)  # epoch 1's line
            assert fit_output.locator(".widget-hprogress").is_visible()  # the live bar, drawn by ipywidgets
            assert re.search(r"Epoch 1/2\n4/4 ━{20} \d+s .* - loss: ", fit_output.locator("pre").inner_text())
            (root / "go").touch()
            page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea").get_by_text("- loss: ").wait_for(timeout=WAIT_MS)
            assert fit_output.locator(".widget-hprogress").count() == 0  # the bar is gone
            fit_text = ANSI.sub("", fit_output.inner_text())
            assert len(re.findall(r"4/4 ━{20} \d+s", fit_text)) == 2 and not any(m in fit_text for m in REPRS)
            evaluate_text = page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea").inner_text()
            assert evaluate_text.count("- loss: ") == 1
            save_notebook(page)
    saved = nbformat.reads(json.dumps(json.loads((root / "train.ipynb").read_text())), as_version=4)
    assert _lines(saved.cells[1])[0::2] == ["Epoch 1/2", "Epoch 2/2"]
    assert len(_lines(saved.cells[2])) == 1
    for cell in saved.cells:
        assert not any(WIDGET_VIEW_MIME in output.get("data", {}) for output in cell.outputs)
        assert not any(marker in text for text in _texts(cell) for marker in REPRS)
