"""mkdocs hook: the Guides section lists every notebook in notebooks/ (docs/notebooks links there),
in file-name order, so a new tutorial appears on the site without editing mkdocs.yml."""
from __future__ import annotations

import pathlib


def on_config(config):
    notebooks = sorted(pathlib.Path(config["docs_dir"], "notebooks").glob("*.ipynb"))
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Guides" in entry:
            entry["Guides"] = [f"notebooks/{path.name}" for path in notebooks]
    return config
