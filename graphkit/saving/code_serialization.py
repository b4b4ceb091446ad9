"""Python lambdas in saved models, and safe mode.

``model.save`` writes a Python lambda (a ``Lambda`` layer's function, output_shape or mask) as
Keras 3 does, ``{"class_name": "__lambda__", "config": {...}}``, with graphkit's fields:

- ``code``: base64 of ``marshal.dumps(function.__code__)`` and ``python``: the ``major.minor``
  version whose bytecode it is;
- ``source``: the lambda's source text when it can be found (also used to rebuild the function
  under another Python version);
- ``defaults``, ``closure`` (``{free variable: value}``) and ``globals`` (``{name: {"module":
  "numpy"}}`` for modules, ``{name: {"value": 3}}`` for plain constants the code reads) as
  Keras-style configs.

Loading such a function executes code from the file, so it happens only when safe mode is off:
``gk.models.load_model(path, safe_mode=False)`` (or ``with SafeModeScope(False):``). In safe mode
(the default) it raises a ValueError naming the option. Nothing is ever unpickled.
"""
from __future__ import annotations

import ast
import base64
import builtins
import importlib
import inspect
import marshal
import sys
import types
from typing import Any

_safe_mode_stack: list[bool] = []
_dump_code_stack: list[bool] = []

_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


class SafeModeScope:
    """``with SafeModeScope(False):`` lets deserialization rebuild lambdas from saved code."""

    def __init__(self, safe_mode: bool = True) -> None:
        self.safe_mode = bool(safe_mode)

    def __enter__(self) -> "SafeModeScope":
        _safe_mode_stack.append(self.safe_mode)
        return self

    def __exit__(self, *exc: Any) -> None:
        _safe_mode_stack.pop()


def in_safe_mode() -> bool | None:
    """The innermost SafeModeScope's setting (None outside any scope)."""
    return _safe_mode_stack[-1] if _safe_mode_stack else None


class DumpCodeScope:
    """While active, :func:`graphkit.saving.serialize_keras_object` writes lambdas as code (model.save)."""

    def __enter__(self) -> "DumpCodeScope":
        _dump_code_stack.append(True)
        return self

    def __exit__(self, *exc: Any) -> None:
        _dump_code_stack.pop()


def dumping_code() -> bool:
    return bool(_dump_code_stack)


# --------------------------------------------------------------------------------- dump
def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def lambda_source(fn: types.FunctionType) -> str | None:
    """The text ``lambda ...: ...`` of a lambda, when its source file is available and the lambda
    can be told apart from others on its line (else None)."""
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    code = fn.__code__
    first = code.co_firstlineno - start
    if not 0 <= first < len(lines):
        return None
    text = "".join(lines[first:])[:4000]
    line_end = len(lines[first])
    arg_names = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = []
    position = text.find("lambda")
    while 0 <= position < line_end:
        rest = text[position:]
        # The lambda ends just before a delimiter (or at the end): try the longest parse first.
        ends = [len(rest)] + [i for i in range(len(rest) - 1, 5, -1) if rest[i] in ",)]}\n;#"]
        for end in ends:
            try:
                node = ast.parse(rest[:end].strip(), mode="eval").body
            except SyntaxError:
                continue
            if isinstance(node, ast.Lambda):
                args = node.args
                if [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs] == arg_names:
                    found.append(rest[:end].strip())
                break
        position = text.find("lambda", position + 6)
    return found[0] if len(found) == 1 else None


def dump_function(fn: types.FunctionType, serialize) -> dict:
    """The ``__lambda__`` config of a Python function (``serialize``: the object serializer)."""
    code = fn.__code__
    closure = {}
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            closure[name] = serialize(cell.cell_contents)
        except ValueError:  # an empty cell
            closure[name] = None
        except TypeError as exc:
            raise TypeError(f"Cannot save the lambda {lambda_source(fn) or fn!r}: its closure variable "
                            f"{name!r} holds a value that cannot be serialized ({exc}).") from None
    global_refs: dict[str, Any] = {}
    for name in sorted(_code_names(code)):
        if name not in fn.__globals__:
            continue
        value = fn.__globals__[name]
        if isinstance(value, types.ModuleType):
            global_refs[name] = {"module": value.__name__}
        elif value is None or isinstance(value, (bool, int, float, str)):
            global_refs[name] = {"value": value}
    return {"class_name": "__lambda__",
            "config": {"code": base64.b64encode(marshal.dumps(code)).decode("ascii"), "python": _PYTHON,
                       "source": lambda_source(fn),
                       "defaults": None if fn.__defaults__ is None else serialize(list(fn.__defaults__)),
                       "closure": closure, "globals": global_refs}}


# --------------------------------------------------------------------------------- load
def load_function(config: dict, deserialize, what: str = "a Python lambda") -> types.FunctionType:
    """Rebuild a function from its ``__lambda__`` config — only outside safe mode."""
    if in_safe_mode() is not False:
        raise ValueError(
            f"The file holds {what} saved as Python code; rebuilding it would execute that code, which safe "
            "mode forbids (graphkit never runs code from a file by default). If you trust the file, load it "
            "with gk.models.load_model(path, safe_mode=False).")
    if not isinstance(config, dict) or "code" not in config:
        raise ValueError(f"Invalid __lambda__ config (no 'code'): {config!r}")
    globs: dict[str, Any] = {"__builtins__": builtins}
    for name, ref in (config.get("globals") or {}).items():
        if "module" in ref:
            globs[name] = importlib.import_module(ref["module"])
        else:
            globs[name] = ref.get("value")
    closure_values = {name: deserialize(value) for name, value in (config.get("closure") or {}).items()}
    defaults = config.get("defaults")
    defaults = None if defaults is None else tuple(deserialize(defaults))
    if config.get("python") == _PYTHON:
        code = marshal.loads(base64.b64decode(config["code"]))
        if set(code.co_freevars) != set(closure_values):
            raise ValueError(f"Invalid __lambda__ config: free variables {code.co_freevars} but closure "
                             f"{sorted(closure_values)}.")
        cells = tuple(types.CellType(closure_values[name]) for name in code.co_freevars)
        return types.FunctionType(code, globs, code.co_name, defaults, cells or None)
    source = config.get("source")
    if not source:
        raise ValueError(f"{what} was saved as Python {config.get('python')} bytecode without its source; this is "
                         f"Python {_PYTHON}, which cannot run it. Load the model under Python "
                         f"{config.get('python')}, or rebuild the Lambda layer in code.")
    globs.update(closure_values)  # free variables of the lambda become globals of the rebuilt one
    fn = eval(compile(source, "<saved lambda>", "eval"), globs)  # noqa: S307 - only outside safe mode
    if defaults is not None:
        fn.__defaults__ = defaults
    return fn
