"""mkdocs hooks. The Guides section lists every notebook in notebooks/ (docs/notebooks links
there), the course's notebooks in teaching order and any other after them by file name, so a new
tutorial appears on the site without editing mkdocs.yml. Docstrings' Sphinx roles
(``:class:`Trace```) read as plain code on the API pages."""
from __future__ import annotations

import pathlib
import re

SPHINX_ROLE = re.compile(r":(?:attr|class|data|exc|func|meth|mod|obj):(?=<code>)")

TEACHING_ORDER = ("modules_layers_checkpoints", "functional_api", "live_builder", "training_and_the_board",
                  "cpu_and_gpu", "moving_between_graphkit_keras_onnx")


def _teaching_rank(path: pathlib.Path) -> tuple[int, str]:
    rank = TEACHING_ORDER.index(path.stem) if path.stem in TEACHING_ORDER else len(TEACHING_ORDER)
    return rank, path.name


def on_config(config):
    notebooks = sorted(pathlib.Path(config["docs_dir"], "notebooks").glob("*.ipynb"), key=_teaching_rank)
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Guides" in entry:
            entry["Guides"] = [f"notebooks/{path.name}" for path in notebooks]
    return config


def on_page_content(html, page, config, files):
    return SPHINX_ROLE.sub("", html) if page.file.src_uri.startswith("api/") else html
