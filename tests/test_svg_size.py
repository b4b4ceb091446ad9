"""SVG pictures from graphviz are never clipped: the written files, the notebook SVG and the
model display's HTML have a viewBox that encloses everything drawn and a width/height with its
proportions, whatever the dpi (graphviz 2.43 scales the drawing by dpi/72 but not the viewBox)."""
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

import graphkit as gk
from graphkit.examples import models as examples
from graphkit.utils import graphviz as gv
from svg_pictures import only_svg_picture

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's `dot` is not installed")

SVG_NS = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
TOLERANCE = 0.5  # graphviz rounds coordinates to 2 decimals

MODELS = {
    "mlp": lambda: dict(model=examples.mlp(), show_shapes=True),
    "autoencoder_nested": lambda: dict(model=examples.conv_autoencoder(), show_shapes=True, expand_nested=True),
    "resnet_lr_edges": lambda: dict(model=examples.small_resnet(), show_shapes="edges", rankdir="LR"),
    "tagger_all": lambda: dict(model=examples.text_tagger(), show_shapes="both", show_dtype=True,
                               show_params=True, show_trainable=True, show_layer_activations=True),
}


def _transform(text: str):
    """(sx, sy, tx, ty) of graphviz's `scale(..) rotate(0) translate(..)`."""
    scale = re.search(r"scale\(([^)]*)\)", text)
    translate = re.search(r"translate\(([^)]*)\)", text)
    s = [float(v) for v in NUMBER.findall(scale.group(1))] if scale else [1.0]
    t = [float(v) for v in NUMBER.findall(translate.group(1))] if translate else [0.0, 0.0]
    return s[0], s[-1], t[0], t[-1]


def _drawn_points(svg_root):
    """Every coordinate of every drawn element, mapped through the graph's transform."""
    graph = svg_root.find(f"{SVG_NS}g")
    sx, sy, tx, ty = _transform(graph.get("transform", ""))
    for element in graph.iter():
        tag = element.tag.replace(SVG_NS, "")
        pairs = []
        if tag in ("polygon", "polyline"):
            numbers = [float(v) for v in NUMBER.findall(element.get("points"))]
            pairs = list(zip(numbers[::2], numbers[1::2]))
        elif tag == "path":
            numbers = [float(v) for v in NUMBER.findall(element.get("d"))]
            pairs = list(zip(numbers[::2], numbers[1::2]))
        elif tag == "text":
            pairs = [(float(element.get("x")), float(element.get("y")))]
        elif tag == "ellipse":
            cx, cy, rx, ry = (float(element.get(k)) for k in ("cx", "cy", "rx", "ry"))
            pairs = [(cx - rx, cy - ry), (cx + rx, cy + ry)]
        for x, y in pairs:
            yield sx * (x + tx), sy * (y + ty)


def assert_not_clipped(svg_text: str) -> tuple[float, float]:
    """Checks one SVG; returns its (width, height) in px."""
    root = ET.fromstring(svg_text[svg_text.index("<svg"):])
    left, top, width, height = (float(v) for v in root.get("viewBox").split())
    points = list(_drawn_points(root))
    assert len(points) > 10
    xs, ys = [x for x, _ in points], [y for _, y in points]
    assert left - TOLERANCE <= min(xs) and max(xs) <= left + width + TOLERANCE
    assert top - TOLERANCE <= min(ys) and max(ys) <= top + height + TOLERANCE
    # the drawing fills the box (no huge empty margin either)
    assert max(xs) - min(xs) > 0.8 * width and max(ys) - min(ys) > 0.8 * height
    assert root.get("width").endswith("px") and root.get("height").endswith("px")
    shown_width, shown_height = float(root.get("width")[:-2]), float(root.get("height")[:-2])
    assert shown_width / shown_height == pytest.approx(width / height, rel=1e-3)
    return shown_width, shown_height


@pytest.mark.parametrize("dpi", [72, 96, 150, 300])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_written_svg_encloses_the_drawing(tmp_path, name, dpi):
    options = MODELS[name]()
    target = tmp_path / f"{name}.svg"
    gk.utils.plot_model(to_file=target, dpi=dpi, **options)
    assert_not_clipped(target.read_text(encoding="utf-8"))


def test_size_follows_dpi(tmp_path):
    sizes = {}
    for dpi in (72, 96, 300):
        target = tmp_path / f"mlp_{dpi}.svg"
        gk.utils.plot_model(examples.mlp(), to_file=target, show_shapes=True, dpi=dpi)
        sizes[dpi] = assert_not_clipped(target.read_text(encoding="utf-8"))
    # 1 pt = dpi/72 px (graphviz prints the scale with two decimals)
    assert sizes[96][0] == pytest.approx(sizes[72][0] * 96 / 72, rel=0.01)
    assert sizes[300][1] == pytest.approx(sizes[72][1] * 300 / 72, rel=0.01)


def test_notebook_svgs_are_sized():
    model = examples.conv_autoencoder()
    plot = gk.utils.plot_model(model, show_shapes=True, expand_nested=True)
    assert_not_clipped(plot.svg())
    assert_not_clipped(plot._repr_mimebundle_()["image/svg+xml"])
    img, svg = only_svg_picture(model._repr_mimebundle_()["text/html"])
    width, height = assert_not_clipped(svg)
    assert (int(img["width"]), int(img["height"])) == (round(width), round(height))  # shown at its natural size


@pytest.mark.parametrize("dpi", [72, 150])
def test_transparent_background_any_dot(dpi):
    """No page polygon (bgcolor=transparent), ellipses, a DOT not from plot_model."""
    source = (f'digraph {{ graph [bgcolor="transparent", dpi={dpi}, rankdir=LR]; '
              'a -> b -> c; a -> c [label="skip"]; }')
    assert_not_clipped(gv.render(source, "svg").decode("utf-8"))


@pytest.mark.parametrize("view_box,expected", [
    ("0.00 0.00 1226.00 567.00", "0.00 0.00 1630.58 754.11"),  # graphviz 2.43: unscaled, times the printed scale
    ("0.00 0.00 1635.00 756.00", "0.00 0.00 1635.00 756.00"),  # later versions: already scaled
])
def test_both_graphviz_view_box_conventions(view_box, expected):
    text = (f'<svg width="1635pt" height="756pt"\n viewBox="{view_box}" xmlns="http://www.w3.org/2000/svg">\n'
            '<g id="graph0" class="graph" transform="scale(1.33 1.33) rotate(0) translate(4 563)"></g></svg>')
    tag = ET.fromstring(gv.sized_svg(text))
    assert tag.get("viewBox") == expected
    assert (tag.get("width"), tag.get("height")) == tuple(f"{v}px" for v in expected.split()[2:])


def test_svg_without_a_size_in_pt_is_left_alone():
    text = '<svg width="100%" height="10" viewBox="0 0 10 10"><g class="graph"></g></svg>'
    assert gv.sized_svg(text) == text
