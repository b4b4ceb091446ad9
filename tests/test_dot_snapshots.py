"""One DOT for the graph JSON, in Python and in the front end.

``graphkit.viz.graph_to_dot`` (Python) and ``buildDot`` of ``labextension/src/core/dot.ts`` (run
with node after an esbuild bundle) must both give the DOT stored for each case of
tests/snapshots/dot/cases.json (a graph JSON, the collapsed groups, the theme colours). The
TypeScript half skips with the reason when node or the front end's node_modules are missing,
except under ``CI=true``, where that fails. Regenerate the stored DOT from Python with
``GRAPHKIT_UPDATE_SNAPSHOTS=1 pytest tests/test_dot_snapshots.py`` (and review the diff).
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from graphkit.viz.dot import LIGHT_THEME, graph_to_dot

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "snapshots" / "dot"
LABEXTENSION = ROOT / "labextension"
ESBUILD = LABEXTENSION / "node_modules" / ".bin" / "esbuild"
CASES = json.loads((SNAPSHOTS / "cases.json").read_text(encoding="utf-8"))
IN_CI = os.environ.get("CI") == "true"

# Reads the cases as the Python side does and prints {case name: DOT} as JSON.
NODE_RUNNER = """
const fs = require('fs');
const path = require('path');
const [bundle, dir, lightTheme] = process.argv.slice(1);
const { buildDot } = require(bundle);
const light = JSON.parse(lightTheme);
const out = {};
for (const c of JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'))) {
  const graph = JSON.parse(fs.readFileSync(path.join(dir, c.graph), 'utf8'));
  out[c.name] = buildDot(graph, new Set(c.collapsed), { ...light, ...(c.theme || {}) }).dot;
}
process.stdout.write(JSON.stringify(out));
"""


def _case_inputs(case: dict) -> tuple[dict, list[str], dict | None]:
    graph = json.loads((SNAPSHOTS / case["graph"]).read_text(encoding="utf-8"))
    return graph, case["collapsed"], case.get("theme")


def _expected(name: str) -> str:
    return (SNAPSHOTS / f"{name}.dot").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_dot_matches_the_snapshot(case):
    graph, collapsed, theme = _case_inputs(case)
    dot = graph_to_dot(graph, collapsed, theme)
    path = SNAPSHOTS / f"{case['name']}.dot"
    if os.environ.get("GRAPHKIT_UPDATE_SNAPSHOTS") or not path.exists():
        if not os.environ.get("GRAPHKIT_UPDATE_SNAPSHOTS") and IN_CI:
            pytest.fail(f"missing snapshot {path}")
        path.write_text(dot, encoding="utf-8")
    assert dot == _expected(case["name"])


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must check dot.ts against the DOT snapshots, but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def typescript_dot(tmp_path_factory) -> dict[str, str]:
    """{case name: the DOT that dot.ts's buildDot writes}."""
    node = shutil.which("node")
    _require(node is not None, "node is not installed (the front end needs Node.js >= 20)")
    _require(ESBUILD.exists(), f"{ESBUILD} is missing: run `make` (npm ci in labextension/) first")
    bundle = tmp_path_factory.mktemp("dot_ts") / "dot.cjs"
    subprocess.run([str(ESBUILD), str(LABEXTENSION / "src" / "core" / "dot.ts"), "--bundle", "--format=cjs",
                    "--platform=node", "--log-level=warning", f"--outfile={bundle}"], check=True, cwd=LABEXTENSION)
    done = subprocess.run([node, "-e", NODE_RUNNER, str(bundle), str(SNAPSHOTS), json.dumps(LIGHT_THEME)],
                          capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return json.loads(done.stdout)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_typescript_dot_matches_the_snapshot(case, typescript_dot):
    assert typescript_dot[case["name"]] == _expected(case["name"])


def test_the_cases_cover_what_the_drawing_distinguishes():
    """The snapshots exercise collapsed boxes (nested too), open clusters, every node and edge
    state, error wrapping, odd ids and names, a theme, and edges to layers that are not drawn."""
    text = {c["name"]: _expected(c["name"]) for c in CASES}
    everything = "".join(text.values())
    collapsed = text["nested_states_collapsed"]
    assert 'subgraph "cluster_middle"' in text["inner_collapsed"]
    assert ('"middle" [shape=box3d, style=filled, color="#1976d280", fillcolor="#1976d214", class="gk-box", '
            'label=<<table') in collapsed
    assert ('<b>middle</b> <font color="#616161">(Functional)</font></td></tr>'
            '<tr><td><font point-size="9">4 layers · 23 params</font>') in collapsed
    assert '"pending_one" [style="rounded,filled,dashed", class="gk-pending", label=<' in everything
    assert '"bad:error" [color="#d32f2f", penwidth=2, class="gk-error", label=<' in everything
    assert "%5C" in everything and '\\"q\\"' in everything and "…</font>" in everything
    assert "odd &quot;q&quot; &lt;b&gt;&amp;amp; \\\\N</b>" in everything  # the name, escaped for HTML
    assert "<td>(None, 1)</td></tr></table>>, style=dashed];" in everything
    assert 'color="#ef5350"' not in text["autoencoder_open"]
    assert '"missing"' not in everything  # an edge to a layer that is not in the graph is dropped
    # an edge inside a collapsed group disappears; one into it attaches to the box
    assert '"middle" -> "middle"' not in collapsed
    assert '"z" -> "middle" [label=' in collapsed
    # model boxes are solid, pending layers dashed
    cluster = text["nested_states_open"].split('subgraph "cluster_middle" {', 1)[1].splitlines()[1]
    assert 'style="rounded,filled"' in cluster and "dashed" not in cluster


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_graphviz_shows_the_labels_as_written():
    """graphviz shows a name with quotes, markup, an entity and a backslash as written, the
    muted class and group totals, and the error text in red lines cut with an ellipsis."""
    svg = subprocess.run(["dot", "-Tsvg"], input=_expected("nested_states_open").encode(),
                         capture_output=True, check=True).stdout.decode()
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert 'odd "q" <b>&amp; \\N' in texts and "(Functional · 23 params)" in texts
    errors = [html.unescape(t) for t in re.findall(r'<text[^>]*fill="#d32f2f"[^>]*>([^<]*)</text>', svg)]
    assert len(errors) == 4 and errors[0] == "ValueError: Inputs have incompatible shapes:"
    assert all(len(line) <= 44 for line in errors) and errors[-1].endswith("…")
