"""The built front-end bundles in real Chromium, without Jupyter.

A static page served on 127.0.0.1 imports ``graphkit/static/graphkit-widget.js`` (and the
loader) and drives it with a fake anywidget model; the tests feed it graph, delta and details
messages and check the DOM contract of docs/frontend.md. Skipped (with the reason) when
chromium, playwright or the bundles are missing, except under ``CI=true``, where that fails.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from browser import require
from lab_pages import browser, page_errors, serve_folder  # noqa: F401

STATIC = Path(__file__).resolve().parent.parent / "graphkit" / "static"
BUNDLES = ("graphkit-widget.js", "graphkit-loader.js")
WAIT_MS = 30_000

# A fake anywidget model: records what the view sends; `emit` delivers a custom message;
# `reply(msg, model)` (optional) answers like the kernel would.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>graphkit bundle test</title></head>
<body><div id="a" style="width: 900px"></div><div id="b" style="width: 900px"></div>
<script>
class FakeModel {
  constructor(reply, traits) { this.handlers = new Map(); this.sent = []; this.reply = reply; this.traits = traits || {}; }
  on(name, cb) { if (!this.handlers.has(name)) this.handlers.set(name, new Set()); this.handlers.get(name).add(cb); }
  off(name, cb) {
    if (!name) this.handlers.clear(); else if (!cb) this.handlers.delete(name);
    else if (this.handlers.has(name)) this.handlers.get(name).delete(cb);
  }
  send(msg) { this.sent.push(msg); if (this.reply) setTimeout(() => this.reply(msg, this), 0); }
  get(key) { return this.traits[key]; }
  emit(msg) { for (const cb of [...(this.handlers.get('msg:custom') || [])]) cb(msg, []); }
  destroy() { for (const cb of [...(this.handlers.get('destroy') || [])]) cb(); }
}
window.FakeModel = FakeModel;
</script></body></html>
"""


def _node(id, class_name="Dense", group="mlp", status="model", **fields):
    node = {"id": id, "name": id, "class_name": class_name, "group": group, "status": status,
            "input_shapes": [], "output_shape": None, "dtype": "float32", "params": 0,
            "trainable": True, "formula": None, "activation": None, "config": None,
            "error": None, "weights": None}
    node.update(fields)
    return node


GRAPH = {
    "format": "graphkit.graph", "version": 1, "title": "mlp", "rankdir": "TB",
    "total_params": 50890, "trainable_params": 50890, "summary": 'Model: "mlp"\nTotal params: 50,890',
    "groups": [{"id": "mlp", "name": "mlp", "class_name": "Functional", "parent": None,
                "params": 50890, "collapsed": False}],
    "nodes": [
        _node("pixels", "InputLayer", output_shape="(None, 784)"),
        _node("hidden", input_shapes=["(None, 784)"], output_shape="(None, 64)", params=50240,
              formula="784 × 64 + 64 = 50,240", activation="relu", config={"units": 64}),
        _node("logits", input_shapes=["(None, 64)"], output_shape="(None, 10)", params=650,
              formula="64 × 10 + 10 = 650", config={"units": 10}),
        _node("scale", group=None, status="pending", input_shapes=["(None, 10)"],
              output_shape="(None, 10)"),
        _node("bad_add", "Add", group=None, status="error",
              error="Inputs have incompatible shapes: (None, 64) and (None, 10)"),
    ],
    "edges": [
        {"source": "pixels", "target": "hidden", "label": "(None, 784)", "status": "model"},
        {"source": "hidden", "target": "logits", "label": "(None, 64)", "status": "model"},
        {"source": "logits", "target": "scale", "label": "(None, 10)", "status": "pending"},
    ],
}
ERROR_RED = "#d32f2f"  # --jp-error-color1's light fallback


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """URL of a page next to copies of the bundles, served on 127.0.0.1."""
    missing = [name for name in BUNDLES if not (STATIC / name).is_file()]
    require(not missing, f"the front-end bundles are not built ({', '.join(missing)}): "
                          "run `npm ci && npm run build` in labextension/ (make test does)")
    root = tmp_path_factory.mktemp("site")
    for name in BUNDLES:
        shutil.copy(STATIC / name, root / name)
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    with serve_folder(root) as base:
        yield f"{base}/index.html"


@pytest.fixture
def page(browser, site):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = page_errors(page)
    page.goto(site)
    page.evaluate("g => { window.GRAPH = g; }", GRAPH)
    yield page
    page.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def _render_widget(page):
    """Renders graphkit-widget.js into #a with a fake model (window.model); returns the sent messages."""
    return page.evaluate("""async () => {
        const core = await import('./graphkit-widget.js');
        window.model = new FakeModel();
        window.cleanup = core.render({ model: window.model, el: document.getElementById('a') });
        return { sent: window.model.sent, version: core.version };
    }""")


def _emit(page, message):
    page.evaluate("m => window.model.emit(m)", message)


def _sent(page):
    return page.evaluate("() => window.model.sent")


def test_widget_draws_graph_and_follows_deltas(page):
    rendered = _render_widget(page)
    assert rendered["sent"] == [{"type": "hello", "need_core": False}]
    assert rendered["version"]
    _emit(page, {"type": "graph", "seq": 1, "graph": GRAPH})

    view = page.locator("#a .gk-graph-view")
    hidden = view.locator('g.node[data-gk-id="hidden"]')
    hidden.wait_for(timeout=WAIT_MS)
    assert view.get_attribute("data-state") == "ready"
    assert view.locator(".gk-total").text_content() == "Total params: 50,890"
    labels = view.locator("g.edge text").all_text_contents()
    assert "(None, 784)" in labels and "(None, 64)" in labels
    assert "(Dense)" in hidden.text_content() and "50,240 params" in hidden.text_content()
    assert 'Model: "mlp"' in view.locator(".gk-summary pre").text_content()

    # pending: dashed outline; error: red outline and the error text on the node
    assert view.locator('g.node[data-gk-id="scale"] > path').get_attribute("stroke-dasharray")
    failed = view.locator('g.node[data-gk-id="bad_add"]')
    assert failed.locator("> path").get_attribute("stroke") == ERROR_RED
    assert "incompatible shapes" in failed.text_content()

    # a delta adds a node and an edge and updates the total
    _emit(page, {"type": "delta", "seq": 2, "total_params": 51540,
                 "nodes": [_node("head", group=None, status="pending", output_shape="(None, 10)", params=650)],
                 "edges": [{"source": "logits", "target": "head", "label": "(None, 10)", "status": "pending"}]})
    view.locator('g.node[data-gk-id="head"]').wait_for(timeout=WAIT_MS)
    assert view.locator(".gk-total").text_content() == "Total params: 51,540"

    # removing a node drops it and its edges
    _emit(page, {"type": "delta", "seq": 3, "remove": ["head"], "total_params": 50890})
    view.locator('g.node[data-gk-id="head"]').wait_for(state="detached", timeout=WAIT_MS)

    # a gap in seq: the view asks for the whole graph again
    _emit(page, {"type": "delta", "seq": 7, "nodes": [_node("late", group=None)]})
    assert _sent(page)[-1] == {"type": "hello", "need_core": False}
    assert view.locator('g.node[data-gk-id="late"]').count() == 0


def test_click_shows_details_and_requests_weights(page):
    _render_widget(page)
    _emit(page, {"type": "graph", "seq": 1, "graph": GRAPH})
    view = page.locator("#a .gk-graph-view")
    view.locator('g.node[data-gk-id="hidden"]').click()

    assert view.locator(".gk-details .gk-formula").text_content() == "784 × 64 + 64 = 50,240"
    assert view.locator(".gk-details-title").text_content() == "hidden (Dense)"
    assert '"units": 64' in view.locator(".gk-config").text_content()
    assert "gk-selected" in view.locator('g.node[data-gk-id="hidden"]').get_attribute("class")
    assert _sent(page)[-1] == {"type": "details", "id": "hidden"}

    weights = [{"name": "kernel", "shape": [784, 64], "trainable": True,
                "mean": 0.0012, "std": 0.05, "min": -0.087, "max": 0.087},
               {"name": "bias", "shape": [64], "trainable": True, "mean": None, "std": None, "min": None, "max": None}]
    _emit(page, {"type": "details", "id": "hidden", "weights": weights})
    table = view.locator(".gk-details table.gk-weights")
    table.wait_for(timeout=WAIT_MS)
    assert "kernel" in table.text_content() and "(784, 64)" in table.text_content()
    assert table.locator("tbody tr").nth(1).locator("td").all_text_contents() == ["bias", "(64)", "—", "—", "—", "—"]

    view.locator('g.node[data-gk-id="bad_add"]').click()
    assert "incompatible shapes" in view.locator(".gk-details .gk-error").text_content()


def test_groups_collapse_and_expand(page):
    _render_widget(page)
    _emit(page, {"type": "graph", "seq": 1, "graph": GRAPH})
    view = page.locator("#a .gk-graph-view")
    view.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)

    view.locator('g.cluster[data-gk-cluster="mlp"] > text').first.click()
    box = view.locator('g.node[data-gk-group="mlp"]')
    box.wait_for(timeout=WAIT_MS)
    assert view.locator('g.node[data-gk-id="hidden"]').count() == 0
    assert "3 layers" in box.text_content()
    assert "(None, 10)" in view.locator("g.edge text").all_text_contents()  # mlp box -> scale

    box.click()
    view.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
    assert view.locator('g.node[data-gk-group="mlp"]').count() == 0


def test_toolbar_zoom_and_exports(page):
    _render_widget(page)
    _emit(page, {"type": "graph", "seq": 1, "graph": GRAPH})
    view = page.locator("#a .gk-graph-view")
    view.locator('g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
    svg = view.locator(".gk-canvas > svg")
    before = svg.get_attribute("style")
    view.locator('button[data-action="zoom-in"]').click()
    assert svg.get_attribute("style") != before
    view.locator('button[data-action="fit"]').click()
    assert svg.get_attribute("style") == before

    with page.expect_download() as dot_download:
        view.locator('button[data-action="export-dot"]').click()
    dot = Path(dot_download.value.path()).read_text(encoding="utf-8")
    assert dot_download.value.suggested_filename == "mlp.dot"
    assert dot.startswith('digraph "mlp"') and "subgraph" in dot
    with page.expect_download() as svg_download:
        view.locator('button[data-action="export-svg"]').click()
    assert "<svg" in Path(svg_download.value.path()).read_text(encoding="utf-8")


def test_dark_theme_variables_colour_the_drawing(page):
    page.evaluate("() => { document.body.style.setProperty('--jp-ui-font-color1', 'rgb(240, 240, 240)');"
                  " document.body.style.setProperty('--jp-layout-color1', '#202020'); }")
    _render_widget(page)
    _emit(page, {"type": "graph", "seq": 1, "graph": GRAPH})
    node = page.locator('#a g.node[data-gk-id="logits"]')
    node.wait_for(timeout=WAIT_MS)
    assert node.locator("> path").get_attribute("fill") == "#202020"
    assert "#f0f0f0" in [t.get_attribute("fill") for t in node.locator("text").all()]


def test_loader_fetches_core_once_per_page(page):
    rendered = page.evaluate("""async () => {
        const loader = (await import('./graphkit-loader.js')).default;
        const kernel = (msg, model) => {
            if (msg.type === 'hello' && msg.need_core) {
                fetch('./graphkit-widget.js').then(r => r.text()).then(source => model.emit({ type: 'core', source }));
            } else if (msg.type === 'hello') {
                model.emit({ type: 'graph', seq: 1, graph: window.GRAPH });
            }
        };
        const first = new FakeModel(kernel), second = new FakeModel(kernel);
        await Promise.all([loader.render({ model: first, el: document.getElementById('a') }),
                           loader.render({ model: second, el: document.getElementById('b') })]);
        return { first: first.sent, second: second.sent, shared: typeof globalThis.__graphkitCore };
    }""")
    hellos = [m for m in rendered["first"] + rendered["second"] if m.get("need_core")]
    assert hellos == [{"type": "hello", "need_core": True}]
    assert rendered["shared"] == "object"
    for el in ("#a", "#b"):
        page.locator(f'{el} .gk-graph-view g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)


def test_loader_reports_a_missing_core(page):
    page.evaluate("""async () => {
        const loader = (await import('./graphkit-loader.js')).default;
        const model = new FakeModel((msg, m) => m.emit({ type: 'core', source: null, error: 'bundle not built' }));
        await loader.render({ model, el: document.getElementById('a') });
    }""")
    view = page.locator('#a .gk-graph-view[data-state="error"]')
    assert "bundle not built" in view.locator(".gk-message").text_content()
    assert page.evaluate("() => globalThis.__graphkitCore") is None


def _empty_graph():
    return {**GRAPH, "title": "live", "summary": None, "groups": [], "nodes": [], "edges": [], "total_params": 0,
            "trainable_params": 0}


def test_loader_keeps_messages_that_arrive_before_the_core(page):
    """Deltas sent while the kernel is busy (before it can send the core) are drawn afterwards,
    on top of the widget's _initial graph, with no extra round trip."""
    delta = {"type": "delta", "seq": 1, "total_params": 50890, "nodes": GRAPH["nodes"][:3],
             "groups": GRAPH["groups"], "edges": GRAPH["edges"][:2]}
    sent = page.evaluate("""async ([initial, delta]) => {
        const loader = (await import('./graphkit-loader.js')).default;
        let release;
        const kernelIdle = new Promise(resolve => { release = resolve; });
        const kernel = (msg, model) => {
            if (msg.type === 'hello' && msg.need_core) {
                kernelIdle.then(() => fetch('./graphkit-widget.js')).then(r => r.text())
                    .then(source => model.emit({ type: 'core', source }));
            }
        };
        const model = new FakeModel(kernel, { _uid: 'w1', _version: 'kernel', _initial: { seq: 0, graph: initial } });
        loader.initialize({ model });
        const drawn = loader.render({ model, el: document.getElementById('a') });
        model.emit(delta);           // the running cell's layer calls
        release();                   // the cell ends: the kernel answers
        await drawn;
        return model.sent;
    }""", [_empty_graph(), delta])
    view = page.locator("#a .gk-graph-view")
    view.locator('g.node[data-gk-id="logits"]').wait_for(timeout=WAIT_MS)
    assert view.locator(".gk-total").text_content() == "Total params: 50,890"
    assert sent == [{"type": "hello", "need_core": True}]  # no hello for the graph: it was complete


def test_loader_uses_jupyterlabs_core_without_the_kernel(page):
    """With graphkit's JupyterLab extension on the page (same version), a widget draws from its
    _initial graph and follows deltas without asking the kernel for anything."""
    result = page.evaluate("""async ([initial, delta]) => {
        const core = await import('./graphkit-widget.js');
        globalThis.__graphkitLab = core;
        const loader = (await import('./graphkit-loader.js')).default;
        const model = new FakeModel(null, { _uid: 'w2', _version: core.version, _initial: { seq: 0, graph: initial } });
        loader.initialize({ model });
        model.emit(delta);          // before any view exists
        await loader.render({ model, el: document.getElementById('a') });
        await loader.render({ model, el: document.getElementById('b') });  // displayed again later
        return { sent: model.sent, shared: typeof globalThis.__graphkitCore };
    }""", [_empty_graph(), {"type": "delta", "seq": 1, "total_params": 650, "nodes": [GRAPH["nodes"][2]], "edges": []}])
    for el in ("#a", "#b"):
        page.locator(f'{el} g.node[data-gk-id="logits"]').wait_for(timeout=WAIT_MS)
    assert result == {"sent": [], "shared": "undefined"}


def test_loader_asks_again_when_the_asking_widget_is_closed(page):
    sent = page.evaluate("""async () => {
        const loader = (await import('./graphkit-loader.js')).default;
        const closed = new FakeModel(null, { _uid: 'w3' });
        const other = new FakeModel((msg, m) => {
            if (msg.type === 'hello' && msg.need_core) {
                fetch('./graphkit-widget.js').then(r => r.text()).then(source => m.emit({ type: 'core', source }));
            } else if (msg.type === 'hello') {
                m.emit({ type: 'graph', seq: 1, graph: window.GRAPH });
            }
        }, { _uid: 'w4' });
        const first = loader.render({ model: closed, el: document.getElementById('a') });
        const second = loader.render({ model: other, el: document.getElementById('b') });
        closed.destroy();            // its kernel never answered
        await Promise.all([first, second]);
        return other.sent;
    }""")
    page.locator('#b g.node[data-gk-id="hidden"]').wait_for(timeout=WAIT_MS)
    assert {"type": "hello", "need_core": True} in sent
