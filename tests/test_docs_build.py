"""The documentation site builds with warnings as errors, and its API reference documents every
public name of graphkit (mkdocs.yml; docs/api/)."""
from __future__ import annotations

import ast
import importlib
import os
import pathlib
import pkgutil
import re
import shutil
import subprocess
import sys
import types

import pytest

import graphkit as gk
from test_docs_screenshots import browser, docs_screenshots, site  # noqa: F401  (the comparison page's images)
from svg_pictures import svg_pictures

ROOT = pathlib.Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"
# Submodules that are machinery, not API: the engine is reached through gk.Tensor & co.
INTERNAL_MODULES = {"demo", "engine", "global_state", "module", "training"}


def _mkdocs() -> str:
    mkdocs = shutil.which("mkdocs", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        reason = "mkdocs is not installed (pip install -e '.[docs]')"
        if IN_CI:
            pytest.fail(f"CI must build the docs, but {reason}")
        pytest.skip(reason)
    return mkdocs


@pytest.fixture(scope="module")
def built_site(tmp_path_factory, docs_screenshots) -> pathlib.Path:  # noqa: F811
    """The site built with ``mkdocs build --strict`` (after the screenshots it shows); mkdocs.yml
    turns mkdocs-jupyter's cache off, so the guides run afresh on this graphkit."""
    mkdocs = _mkdocs()
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    return out


def _public_names(module: types.ModuleType) -> list[str]:
    """``__all__``, or else what the module's own source binds at its top level: its functions,
    classes and assignments and, for a package, what it imports from its own submodules."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    source = pathlib.Path(module.__file__)
    bound: list[str] = []
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.append(node.name)
        elif isinstance(node, ast.Assign):
            bound += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and source.name == "__init__.py":
            bound += [alias.asname or alias.name for alias in node.names]
    return [name for name in dict.fromkeys(bound) if not name.startswith("_") and hasattr(module, name)
            and not isinstance(getattr(module, name), types.ModuleType)]


def public_api() -> dict[str, list[str]]:
    """Module path -> its public names: graphkit's own (modules excepted, each has a page) and
    every public submodule's."""
    api = {"graphkit": [name for name in gk.__all__ if not isinstance(getattr(gk, name), types.ModuleType)]}
    for info in pkgutil.iter_modules(gk.__path__):
        if not info.name.startswith("_") and info.name not in INTERNAL_MODULES:
            module = importlib.import_module(f"graphkit.{info.name}")
            api[module.__name__] = _public_names(module)
    return api


def _page(built_site: pathlib.Path, module: str) -> pathlib.Path:
    return built_site / "api" / ("index.html" if module == "graphkit" else f"{module.split('.', 1)[1]}/index.html")


def test_site_builds_strictly_with_every_page(built_site):
    for page in ["index.html", "quickstart/index.html", "tf_keras_names/index.html",
                 "comparison/index.html", "architecture/index.html", "api/layers/index.html"]:
        assert (built_site / page).is_file(), page
    guides = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert guides
    for notebook in guides:
        assert (built_site / "notebooks" / notebook.stem / "index.html").is_file(), notebook.name


def test_guides_show_the_graphs_drawn(built_site):
    """The executed notebooks' pages draw their models as graphviz SVG (text/html outputs that
    need no kernel, the SVG as an image's data URI): the functional API and live builder guides,
    and every page with a widget."""
    graph = re.compile(r'<g [^>]*class="graph"')
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        html = (built_site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
        has_widget = '<script type="application/vnd.jupyter.widget-view+json">' in html
        if has_widget or any(guide in notebook.stem for guide in ("functional_api", "live_builder")):
            drawn = [html, *(svg for _, svg in svg_pictures(html))]
            assert any(graph.search(svg) for svg in drawn), f"{notebook.name}: its page shows no graph"


def test_every_public_name_is_in_the_api_reference(built_site):
    """Each name has an object anchor on its module's page: ``graphkit.layers.Dense``, or the
    path where it is defined when a submodule of the same name hides it (``graphkit.ops.cast.cast``)."""
    missing = []
    for module, names in public_api().items():
        page = _page(built_site, module)
        assert page.is_file(), f"no API page for {module} (add docs/api/{module.split('.')[-1]}.md)"
        anchors = set(re.findall(r'id="(graphkit[\w.]*)"', page.read_text(encoding="utf-8")))
        for name in names:
            if f"{module}.{name}" not in anchors and not any(
                    a.startswith(f"{module}.") and a.endswith(f".{name}") for a in anchors):
                missing.append(f"{module}.{name}")
    assert not missing, f"public names missing from the API reference (docs/api/): {missing}"
