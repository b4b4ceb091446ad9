"""The tutorials in notebooks/: committed clean, exercises well formed, and each runs top to bottom.

Exercise convention (explained to learners in each notebook's first exercise): a cell tagged
``exercise`` assigns ``name = ...``; the next cell, tagged ``solution`` and collapsed, starts with
``if name is ...:`` so it fills in the answer only while the learner has not; the cell after it,
tagged ``check``, asserts what the answer must satisfy.
"""
import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = pathlib.Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
TUTORIALS = {"modules_layers_checkpoints", "functional_api", "live_builder", "training_and_the_board",
             "cpu_and_gpu", "moving_between_graphkit_keras_onnx"}
WIDGET_REPRS = ("VBox(", "LiveView object at", "IntProgress(")
PLACEHOLDER = re.compile(r"^(\w+) = \.\.\.$", re.MULTILINE)

by_notebook = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


def tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def output_texts(output) -> list:
    """Every piece of text an output shows: stream text, error tracebacks, text and HTML data."""
    if output.get("output_type") == "stream":
        return [output["text"]]
    if output.get("output_type") == "error":
        return output["traceback"]
    data = output.get("data", {})
    return [data[kind] for kind in ("text/plain", "text/html") if kind in data]


def test_every_tutorial_is_present():
    assert TUTORIALS <= {p.stem for p in NOTEBOOKS}


@by_notebook
def test_committed_notebook_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; strip them before committing"


@by_notebook
def test_exercises_have_a_hidden_solution_and_a_check(path):
    cells = nbformat.read(path, as_version=4).cells
    exercises = [index for index, cell in enumerate(cells) if "exercise" in tags(cell)]
    assert exercises, f"{path.name} has no exercise"
    for index in exercises:
        assert index + 2 < len(cells), f"{path.name}: exercise cell {index} is not followed by a solution and a check"
        names = PLACEHOLDER.findall(cells[index].source)
        solution, check = cells[index + 1], cells[index + 2]
        where = f"{path.name}, exercise cell {index}"
        assert len(names) == 1, f"{where}: expected one `name = ...` line, found {names}"
        assert "solution" in tags(solution), f"{where}: the next cell is not tagged 'solution'"
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, f"{where}: solution not hidden"
        assert solution.source.startswith(f"if {names[0]} is ...:"), f"{where}: solution must start `if {names[0]} is ...:`"
        assert "check" in tags(check), f"{where}: the cell after the solution is not tagged 'check'"
        assert "assert" in check.source, f"{where}: the check cell asserts nothing"


@by_notebook
def test_notebook_executes_cleanly(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, at the first error output
    outputs = [(index, output) for index, cell in enumerate(notebook.cells) for output in cell.get("outputs", [])]
    reprs = [(index, marker) for index, output in outputs for text in output_texts(output)
             for marker in WIDGET_REPRS if marker in text]
    assert not reprs, f"{path.name}: widget reprs shown instead of pictures: {reprs}"
