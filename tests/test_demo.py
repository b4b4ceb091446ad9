"""The main job (`make demo`) runs and writes what the README promises."""
import json
import re
import shutil

import graphkit as gk
from graphkit import demo
from graphkit.board.page import BUNDLE


def test_demo_writes_summaries_history_model_and_report(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--epochs", "3", "--verbose", "0"]) == 0
    summaries = (tmp_path / "summaries.txt").read_text()
    assert 'Model: "mnist_model"' in summaries and "Total params: 55,050 (215.04 KB)" in summaries
    assert "Total params: 1,392,097" in summaries
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:1] == ["epoch"] and len(history) == 4
    assert (tmp_path / "history.png").stat().st_size > 1000
    report = json.loads((tmp_path / "report.json").read_text())
    assert 0.1 < report["test_accuracy"] <= 1 and report["test_samples"] == 360
    restored = gk.models.load_model(str(tmp_path / "digits_mlp.gk"))
    assert restored.count_params() == 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    dot = (tmp_path / "digits_mlp.dot").read_text()
    assert dot.startswith('digraph "digits_mlp"') and "Params: <b>4,160</b>" in dot
    if shutil.which("dot"):
        assert "<svg" in (tmp_path / "digits_mlp.svg").read_text()
    trace = json.loads((tmp_path / "trace.json").read_text())
    assert {event["name"] for event in trace["traceEvents"] if event["ph"] == "X"} >= {"digits_mlp", "digit"}
    board = gk.board.LogDir(tmp_path / "logs")
    board.refresh()
    assert sorted(board.runs) == ["train", "validation"]
    assert board.runs["train"].scalars()["epoch_loss"].step.tolist() == [0, 1, 2]
    assert board.runs["train"].graph["title"] == "digits_mlp" and board.runs["train"].spans.count > 0
    printed = capsys.readouterr().out
    assert str(tmp_path) in printed and "digits_mlp.dot" in printed
    if BUNDLE.exists():
        page = (tmp_path / "board.html").read_text()
        payload = json.loads(re.search(r'id="graphkit-board-payload">(.*?)</script>', page, re.DOTALL).group(1))
        assert [run["name"] for run in payload["runs"]] == ["train", "validation"]
    else:
        assert "board.html not written" in printed
