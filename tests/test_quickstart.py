"""docs/quickstart.md runs as written: its python code blocks, in order, as one script in a fresh
interpreter (in an empty folder, as a new user would)."""
from __future__ import annotations

import pathlib
import re
import os
import subprocess
import sys

QUICKSTART = pathlib.Path(__file__).resolve().parent.parent / "docs" / "quickstart.md"


def quickstart_code() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", QUICKSTART.read_text(encoding="utf-8"), re.S | re.M)
    assert blocks, "docs/quickstart.md has no python code blocks"
    return "\n".join(blocks)


def test_quickstart_code_runs_as_written(tmp_path):
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart_code(), encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, f"the quickstart failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    assert "(2, 10)" in result.stdout                       # the model's output shape, as printed
    assert "['features', 'projection'] 36" in result.stdout    # what the live view recorded
    assert (tmp_path / "logs" / "quickstart").is_dir()      # the TensorBoard callback's logs
    assert (tmp_path / "board.html").is_file()              # the exported board
