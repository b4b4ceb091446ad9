"""The main job (`make demo`) runs and writes what the README promises."""
from graphkit import demo


def test_demo_writes_summaries_losses_plot_and_report(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--epochs", "30"]) == 0
    summaries = (tmp_path / "summaries.txt").read_text()
    assert 'Model: "mnist_model"' in summaries and "Total params: 55,050 (215.04 KB)" in summaries
    assert "Total params: 1,392,097" in summaries
    losses = (tmp_path / "losses.csv").read_text().splitlines()
    assert losses[0] == "epoch,loss" and len(losses) == 31
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert "held-out accuracy" in (tmp_path / "report.txt").read_text()
    assert str(tmp_path) in capsys.readouterr().out
