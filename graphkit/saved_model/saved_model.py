"""``gk.saved_model.save/load``: traced graphs and their variables, loadable without the Python class.

An export directory holds

- ``saved_model.json``: ``{"format": "graphkit.saved_model", "format_version": 1, "functions":
  {attribute name: [concrete function, ...]}, "variables": [{"key", "name", "trainable"}, ...]}``,
  each concrete function being its input signature, its nodes (op name, primitive registry key,
  input references, attributes encoded by :mod:`.encoding`, output specs) and its output structure;
- ``variables.npz``: the captured variables (a graphkit variables archive, keys as checkpoint
  object paths relative to the saved module, e.g. ``layers/dense/kernel``; variables not reachable
  from the module are stored as ``captured/<i>``);
- ``constants.npz``: constant arrays captured while tracing (keys ``c<i>``).

Every file is written atomically (temporary file, fsync, rename); ``saved_model.json`` is written
last. Loading never executes code from the files (no pickle): ops are looked up by name in the
primitive registry (:data:`graphkit.engine.autograd.PRIMITIVES`).
"""
from __future__ import annotations

import json
import os
from typing import Any


from ..engine.autograd import PRIMITIVES
from ..engine.variable import Variable
from ..function.function import ConcreteFunction, Function, _as_tensor, _is_array
from ..function.graph import Graph, GraphNode, _map_leaves, flatten
from ..function.tensor_spec import TensorSpec
from ..saving.archive import FileFormatError, read_variables, write_variables
from ..saving.atomic import atomic_write_bytes
from .encoding import UnencodableAttrError, decode, encode

FORMAT = "graphkit.saved_model"
FORMAT_VERSION = 1
GRAPH_FILE = "saved_model.json"
VARIABLES_FILE = "variables.npz"
CONSTANTS_FILE = "constants.npz"
# Attributes that files written by older graphkit versions recorded and no primitive takes any
# more; loading drops them. ``true_grad``: whether a loss primitive's targets needed a gradient,
# which the tape now tells the backward itself (``needs_input_grad``).
RETIRED_ATTRS = frozenset({"true_grad"})


# ------------------------------------------------------------------------------------ saving
def _functions_of(obj: Any) -> dict[str, Function]:
    """The gk.function attributes of ``obj`` (class-level methods bound to it, instance attributes)."""
    found: dict[str, Function] = {}
    if isinstance(obj, Function):
        return {"__call__": obj}
    for klass in reversed(type(obj).__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Function):
                found[name] = value.__get__(obj, type(obj))
    for name, value in getattr(obj, "__dict__", {}).items():
        if isinstance(value, Function):
            found[name] = value
    return found


def _variable_keys(obj: Any) -> dict[int, str]:
    from ..module import Module
    from ..train.object_graph import ObjectGraph
    if isinstance(obj, Function):  # gk.function(model) or a bound method: key by the module behind it
        target = obj.python_function
        obj = getattr(target, "__self__", target)
    if not isinstance(obj, Module):
        return {}
    return {id(v): key for key, v in ObjectGraph({"": obj}).variables.items()}


class _Leaf:
    __slots__ = ("encoded",)

    def __init__(self, encoded: dict) -> None:
        self.encoded = encoded


def save(obj: Any, export_dir: str | os.PathLike) -> str:
    """Write every traced concrete function of ``obj``'s ``gk.function`` methods/attributes and the
    variables they capture to ``export_dir``; returns the directory. ``obj`` is a module (or any
    object) with ``gk.function`` attributes, or a ``gk.function`` itself (saved as ``__call__``)."""
    export_dir = os.fspath(export_dir)
    functions = _functions_of(obj)
    traced = {name: fn.concrete_functions for name, fn in functions.items()}
    traced = {name: cfs for name, cfs in traced.items() if cfs}
    if not traced:
        raise ValueError(f"gk.saved_model.save: {type(obj).__name__} has no traced gk.function to save "
                         f"(gk.function attributes: {sorted(functions) or 'none'}); call each function "
                         f"(or its get_concrete_function) with the signatures to export first.")
    keys_by_id = _variable_keys(obj)
    variables: list[Variable] = []
    var_index: dict[int, int] = {}
    var_entries: list[dict] = []
    arrays: dict[str, Any] = {}
    constants: dict[str, Any] = {}
    used_keys: set[str] = set()

    def capture_index(v: Variable) -> int:
        if id(v) not in var_index:
            key = keys_by_id.get(id(v))
            if key is None or key in used_keys:
                key = f"captured/{len(variables)}"
            used_keys.add(key)
            var_index[id(v)] = len(variables)
            variables.append(v)
            var_entries.append({"key": key, "name": str(v.name), "trainable": bool(v.trainable)})
            arrays[key] = v.numpy()
        return var_index[id(v)]

    out_functions: dict[str, list] = {}
    for fname, cfs in traced.items():
        entries = []
        for cf in cfs:
            graph = cf.graph
            captures = [capture_index(v) for v in graph.captures]
            const_keys = []
            for array in graph.constants:
                key = f"c{len(constants)}"
                constants[key] = array
                const_keys.append(key)

            def ref(r: tuple) -> list:
                if r[0] == "capture":
                    return ["capture", captures[r[1]]]
                if r[0] == "const":
                    return ["const", const_keys[r[1]]]
                return list(r)

            nodes = []
            for node in graph.nodes:
                where = f"function '{fname}', op '{node.name}' (primitive {node.op!r})"
                key = node.prim.key
                if PRIMITIVES.get(key) is not node.prim:
                    raise UnencodableAttrError(f"{where}: the primitive is not registered under a unique key "
                                               f"({key!r}); it cannot be saved.")
                attrs = {}
                for name, value in node.attrs.items():
                    attrs[name] = encode(value, f"{where}, attribute '{name}'")
                nodes.append({"name": node.name, "op": node.op, "prim": key,
                              "inputs": [ref(r) for r in node.inputs], "attrs": attrs,
                              "outputs": [encode(s) for s in node.outputs]})

            def out_leaf(leaf: tuple) -> Any:
                if leaf[0] == "ref":
                    return _Leaf({"ref": ref(leaf[1])})
                return _Leaf({"py": encode(leaf[1], f"function '{fname}', output value")})

            outputs = _encode_markers(_map_leaves(out_leaf, graph.structured_outputs))
            entries.append({
                "input_signature": encode(cf.structured_input_signature, f"function '{fname}', input signature"),
                "inputs": [encode(s) for s in graph.inputs],
                "nodes": nodes,
                "outputs": outputs,
                "output_specs": [encode(s) for s in graph.outputs],
            })
        out_functions[fname] = entries

    from .. import __version__
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "graphkit_version": __version__,
                "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "functions": out_functions, "variables": var_entries}
    text = json.dumps(document, indent=1, allow_nan=False)
    os.makedirs(export_dir, exist_ok=True)
    write_variables(os.path.join(export_dir, VARIABLES_FILE), arrays, kind="saved_model_variables")
    write_variables(os.path.join(export_dir, CONSTANTS_FILE), constants, kind="saved_model_constants")
    atomic_write_bytes(os.path.join(export_dir, GRAPH_FILE), text.encode("utf-8"))
    return export_dir


def _encode_markers(structure: Any) -> Any:
    """Output structure with {"ref"}/{"py"} leaves already built: encode the containers."""
    if isinstance(structure, _Leaf):
        return structure.encoded
    if isinstance(structure, list):
        return [_encode_markers(v) for v in structure]
    if isinstance(structure, tuple):
        return {"tuple": [_encode_markers(v) for v in structure]}
    if isinstance(structure, dict):
        return {"dict": [[encode(k), _encode_markers(v)] for k, v in structure.items()]}
    return structure


def _decode_outputs(structure: Any) -> Any:
    if isinstance(structure, list):
        return [_decode_outputs(v) for v in structure]
    if isinstance(structure, dict):
        (tag, body), = structure.items()
        if tag == "ref":
            return ("ref", tuple(body))
        if tag == "py":
            return ("py", decode(body))
        if tag == "tuple":
            return tuple(_decode_outputs(v) for v in body)
        if tag == "dict":
            return {decode(k): _decode_outputs(v) for k, v in body}
    raise ValueError(f"unexpected output structure entry {structure!r:.80}")


# ------------------------------------------------------------------------------------ loading
def _matches(saved: Any, value: Any) -> bool:
    if isinstance(saved, TensorSpec):
        return _is_array(value) and saved.is_compatible_with(_as_tensor(value))
    if isinstance(saved, (list, tuple)):
        return isinstance(value, (list, tuple)) and isinstance(value, list) == isinstance(saved, list) \
            and len(value) == len(saved) and all(_matches(s, v) for s, v in zip(saved, value))
    if isinstance(saved, dict):
        return isinstance(value, dict) and set(value) == set(saved) and all(_matches(saved[k], value[k]) for k in saved)
    if _is_array(value):
        return False
    return type(saved) is type(value) and saved == value


def _describe(signature: Any) -> str:
    args, kwargs = signature
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"({', '.join(parts)})"


class LoadedFunction:
    """A saved ``gk.function``: runs the saved concrete function whose signature fits the call."""

    def __init__(self, name: str, concrete: list[ConcreteFunction]) -> None:
        self.__name__ = name
        self.concrete_functions = concrete

    def _select(self, args: tuple, kwargs: dict) -> ConcreteFunction:
        for cf in self.concrete_functions:
            saved_args, saved_kwargs = cf.structured_input_signature
            if _matches(tuple(saved_args), tuple(args)) and _matches(dict(saved_kwargs), dict(kwargs)):
                return cf
        shown = [f"{getattr(a, 'shape', a)!r}" if not _is_array(a) else
                 f"<{tuple(a.shape)} {_as_tensor(a).dtype}>" for a in args]
        saved = "\n  ".join(_describe(cf.structured_input_signature) for cf in self.concrete_functions)
        raise ValueError(f"Loaded function '{self.__name__}' has no saved signature matching the arguments "
                         f"({', '.join(shown)}{', ' if kwargs else ''}{', '.join(map(str, kwargs))}). "
                         f"Saved signatures:\n  {saved}")

    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        return self._select(args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        cf = self._select(args, kwargs)
        tensors = [_as_tensor(leaf) for leaf in flatten((args, kwargs)) if _is_array(leaf)]
        return cf._run_tensors(tensors)

    def __repr__(self) -> str:
        return f"<LoadedFunction {self.__name__}: {len(self.concrete_functions)} signature(s)>"


class LoadedModule:
    """What :func:`load` returns: one :class:`LoadedFunction` attribute per saved function,
    ``variables`` and ``trainable_variables``; callable when ``__call__`` was saved."""

    def __init__(self, functions: dict[str, LoadedFunction], variables: tuple, keys: tuple, source: str) -> None:
        self._functions = functions
        self._variables = variables
        self._variable_keys = keys
        self._source = source
        for name, fn in functions.items():
            if name != "__call__" and not hasattr(type(self), name):  # else reach it via .functions[name]
                object.__setattr__(self, name, fn)

    @property
    def functions(self) -> dict[str, LoadedFunction]:
        """Every saved function by attribute name (``"__call__"`` included)."""
        return dict(self._functions)

    @property
    def variables(self) -> tuple:
        return self._variables

    @property
    def trainable_variables(self) -> tuple:
        return tuple(v for v in self._variables if v.trainable)

    @property
    def non_trainable_variables(self) -> tuple:
        return tuple(v for v in self._variables if not v.trainable)

    @property
    def signatures(self) -> dict[str, list]:
        return {name: [cf.structured_input_signature for cf in fn.concrete_functions]
                for name, fn in self._functions.items()}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fn = self._functions.get("__call__")
        if fn is None:
            raise TypeError(f"The saved model at '{self._source}' has no saved __call__ (saved functions: "
                            f"{sorted(self._functions)}).")
        return fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<gk.saved_model loaded from '{self._source}': functions {sorted(self._functions)}>"


def load(export_dir: str | os.PathLike) -> LoadedModule:
    """Load a directory written by :func:`save` (no Python class needed; nothing is unpickled)."""
    export_dir = os.fspath(export_dir)
    if not os.path.isdir(export_dir):
        raise FileNotFoundError(f"Cannot load saved model '{export_dir}': no such directory.")
    graph_path = os.path.join(export_dir, GRAPH_FILE)
    if not os.path.exists(graph_path):
        raise FileNotFoundError(f"Cannot load saved model '{export_dir}': '{graph_path}' is missing "
                                f"(not a gk.saved_model directory, or the save did not finish).")
    try:
        with open(graph_path, "rb") as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"Cannot read saved model graph file '{graph_path}': it is truncated or corrupt "
                              f"({type(exc).__name__}: {exc}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FileFormatError(f"Cannot read saved model graph file '{graph_path}': it is not a graphkit "
                              f"saved model.")
    version = document.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise FileFormatError(f"Cannot read saved model graph file '{graph_path}': format version {version!r} "
                              f"is newer than this graphkit reads ({FORMAT_VERSION}).")
    variables_path = os.path.join(export_dir, VARIABLES_FILE)
    constants_path = os.path.join(export_dir, CONSTANTS_FILE)
    var_file = read_variables(variables_path, what="saved model variables file")
    const_file = read_variables(constants_path, what="saved model constants file")
    try:
        return _build(document, var_file.arrays, const_file.arrays, graph_path, variables_path, constants_path,
                      export_dir)
    except (FileFormatError, FileNotFoundError):
        raise
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise FileFormatError(f"Cannot read saved model graph file '{graph_path}': it is corrupt or inconsistent "
                              f"({type(exc).__name__}: {exc}).") from None


def _build(document: dict, var_arrays: dict, const_arrays: dict, graph_path: str, variables_path: str,
           constants_path: str, export_dir: str) -> LoadedModule:
    entries = document["variables"]
    expected = [e["key"] for e in entries]
    missing = [k for k in expected if k not in var_arrays]
    unexpected = [k for k in var_arrays if k not in set(expected)]
    if missing or unexpected:
        raise FileFormatError(f"Cannot read saved model variables file '{variables_path}': it does not match "
                              f"'{graph_path}' (missing keys: {missing}; unexpected keys: {unexpected}).")
    variables = []
    for e in entries:
        array = var_arrays[e["key"]]
        variables.append(Variable(array, trainable=bool(e["trainable"]), name=str(e["name"]), dtype=array.dtype))
    functions: dict[str, LoadedFunction] = {}
    for fname, cfs in document["functions"].items():
        concrete = []
        for entry in cfs:
            graph = Graph()
            graph.inputs = [decode(s) for s in entry["inputs"]]
            graph.outputs = [decode(s) for s in entry["output_specs"]]
            capture_pos: dict[int, int] = {}
            const_pos: dict[str, int] = {}

            def ref(r: list) -> tuple:
                kind = r[0]
                if kind == "capture":
                    index = int(r[1])
                    if index not in capture_pos:
                        capture_pos[index] = len(graph.captures)
                        graph.captures.append(variables[index])
                    return ("capture", capture_pos[index])
                if kind == "const":
                    key = r[1]
                    if key not in const_arrays:
                        raise FileFormatError(f"Cannot read saved model constants file '{constants_path}': "
                                              f"constant '{key}' used by function '{fname}' is missing.")
                    if key not in const_pos:
                        const_pos[key] = len(graph.constants)
                        graph.constants.append(const_arrays[key])
                    return ("const", const_pos[key])
                if kind == "input":
                    return ("input", int(r[1]))
                if kind == "node":
                    return ("node", int(r[1]), int(r[2]))
                raise ValueError(f"unknown reference {r!r}")

            for node in entry["nodes"]:
                prim = PRIMITIVES.get(node["prim"])
                if prim is None:
                    raise FileFormatError(
                        f"Cannot load saved model '{export_dir}': function '{fname}' uses op '{node['op']}' "
                        f"(primitive '{node['prim']}'), which is not registered in this process; import the "
                        f"module that defines it before loading.")
                graph.nodes.append(GraphNode(node["name"], prim, [ref(r) for r in node["inputs"]],
                                             {k: decode(v) for k, v in node["attrs"].items()
                                              if k not in RETIRED_ATTRS},
                                             [decode(s) for s in node["outputs"]]))
            graph.structured_outputs = _map_leaves(lambda leaf: ("ref", ref(list(leaf[1]))) if leaf[0] == "ref"
                                                   else leaf, _decode_outputs(entry["outputs"]))
            signature = decode(entry["input_signature"])
            if not (isinstance(signature, tuple) and len(signature) == 2):
                raise ValueError("bad input signature")
            concrete.append(ConcreteFunction(graph, (tuple(signature[0]), dict(signature[1])), fname, None))
        functions[fname] = LoadedFunction(fname, concrete)
    return LoadedModule(functions, tuple(variables), tuple(expected), export_dir)
