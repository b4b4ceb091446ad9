"""The declared layers of the package (docs/architecture.md, "Layers of the package").

Every module under graphkit/ is parsed; every import counts: top-level or inside a function
(lazy), ``import a.b``, ``from . import x`` and ``from ..x import y`` (resolved against the
module's package), and ``importlib.import_module("graphkit....")`` with a constant name.
Each contract names the modules it governs and what they may (or may not) import from
graphkit; a failure lists every violation as ``module:line imports name``.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "graphkit"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. graphkit.layers.layer
    line: int
    name: str  # the graphkit module imported, e.g. graphkit.train.deferred


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node.level, node.module) if node.level else node.module or ""
            for alias in node.names:  # `from pkg import sub` imports the submodule pkg.sub
                submodule = f"{source}.{alias.name}"
                found.append(Import(module, node.lineno, submodule if submodule in MODULES else source))
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.args[0].value
            if name.startswith("."):
                package = next((k.value for k in node.keywords if k.arg == "package"
                                and isinstance(k.value, ast.Constant)), module)
                level = len(name) - len(name.lstrip("."))
                name = _resolve(package, True, level, name.lstrip(".") or None)
            found.append(Import(module, node.lineno, name))
    return [i for i in dict.fromkeys(found) if _within(i.name, "graphkit")]  # one per (line, name)


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or \
        (isinstance(func, ast.Name) and func.id == "import_module")


IMPORTS = [imp for module, path in MODULES.items() for imp in _imports_of(module, path)]


@dataclass(frozen=True)
class Contract:
    """Modules under any of ``governs`` import from graphkit only what ``allowed`` lists
    (when given) and nothing that ``forbidden`` lists."""
    name: str
    governs: tuple[str, ...]
    allowed: tuple[str, ...] | None = None
    forbidden: tuple[str, ...] = ()

    def breaks(self, imp: Import) -> bool:
        if not any(_within(imp.module, g) for g in self.governs):
            return False
        if self.allowed is not None and not any(_within(imp.name, a) for a in self.allowed):
            return True
        return any(_within(imp.name, f) for f in self.forbidden)


PICTURES = ("graphkit.viz", "graphkit.utils.model_visualization", "graphkit.utils.graphviz",
            "graphkit.utils.plotting")
FOUNDATIONS = ("graphkit.global_state", "graphkit.events")

CONTRACTS = [
    Contract("the foundations import nothing above them",
             governs=("graphkit.global_state", "graphkit.display"), allowed=()),
    Contract("events import only the runtime state", governs=("graphkit.events",),
             allowed=("graphkit.events", "graphkit.global_state")),
    Contract("backend/ imports nothing from graphkit but the runtime state", governs=("graphkit.backend",),
             allowed=("graphkit.backend", "graphkit.global_state")),
    Contract("engine/ imports only the engine, the backend and the foundations", governs=("graphkit.engine",),
             allowed=("graphkit.engine", "graphkit.backend", *FOUNDATIONS)),
    Contract("layers/ never imports models, pictures, callbacks, training or checkpointing",
             governs=("graphkit.layers",),
             forbidden=("graphkit.models", *PICTURES, "graphkit.callbacks", "graphkit.training", "graphkit.train",
                        "graphkit.saving.saving_api", "graphkit.saving.archive")),
    Contract("models/ reaches pictures only through the display hook (graphkit.display)",
             governs=("graphkit.models",), forbidden=PICTURES),
]


def test_every_module_is_parsed():
    assert "graphkit.layers.layer" in MODULES and "graphkit.engine.autograd" in MODULES
    assert len(IMPORTS) > 100  # the collector sees imports (lazy ones too: see the next test)


def test_the_collector_sees_lazy_relative_and_dynamic_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("import importlib\nfrom . import viz\n\ndef f():\n    from ..models.functional import F\n"
                      "    import graphkit.callbacks\n    return importlib.import_module('graphkit.train.deferred')\n")
    found = {(i.line, i.name) for i in _imports_of("graphkit.layers.mod", source)}
    assert found == {(2, "graphkit.layers"), (5, "graphkit.models.functional"), (6, "graphkit.callbacks"),
                     (7, "graphkit.train.deferred")}
    assert Contract("x", governs=("graphkit.layers",), forbidden=("graphkit.models",)).breaks(
        Import("graphkit.layers.mod", 5, "graphkit.models.functional"))


@pytest.mark.parametrize("contract", CONTRACTS, ids=[c.name for c in CONTRACTS])
def test_layering_contract(contract):
    violations = [imp for imp in IMPORTS if contract.breaks(imp)]
    assert not violations, f"Contract broken: {contract.name}\n" + "\n".join(
        f"  {imp.module}:{imp.line} imports {imp.name}" for imp in violations)
