"""Configs in Keras 3's schema: serialize/deserialize objects, Functional and Sequential configs.

An object's config is Keras's dict ``{"module", "class_name", "config", "registered_name"}``
(plus ``build_config`` for a layer built outside a graph). Built-in classes carry Keras's module
names (``keras.layers``, ``keras.src.models.functional`` for Functional, ``keras`` for
Sequential, ``keras.src.ops.numpy``/``nn``/``math``/``core`` for op layers), so a config reads as
Keras's; loading accepts those and ``graphkit.*`` modules alike. Custom classes are found through
``custom_objects`` (by registered name, then class name) or the registry filled by
:func:`register_serializable` (key ``"package>name"``).

A Functional config is Keras's: ``name``, ``trainable``, ``layers`` (each with ``name`` and
``inbound_nodes`` = ``[{"args": [...], "kwargs": {...}}]`` whose tensors are
``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history": [layer,
node_index, tensor_index]}}``), ``input_layers`` and ``output_layers`` (the model's input/output
structure with ``[layer, node_index, tensor_index]`` leaves). Node indices count only the calls
that belong to the model; in ``input_layers``/``output_layers`` a nested Functional model's
indices start at 1, as Keras writes them (Keras models own a node of their own).
"""
from __future__ import annotations

import inspect
import json
import types
from typing import Any, Callable

import numpy

from ..backend.host import is_device_array, to_host
from ..graph.node import map_structure
from ..graph.symbolic import SymbolicTensor
from .keras_config import accept_keras_layer_config

__all__ = ["register_serializable", "register_keras_serializable", "get_registered_name",
           "get_registered_object", "get_custom_objects", "custom_object_scope", "CustomObjectScope",
           "serialize_keras_object", "deserialize_keras_object", "UnknownObjectError"]

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}
_SCOPES: list[dict] = []
_PLAIN = (str, int, float, bool)


class UnknownObjectError(TypeError, ValueError):
    """A config names a class or function that cannot be found (a TypeError as in Keras, and a
    ValueError like graphkit's other unknown-name errors)."""


# --------------------------------------------------------------------------- registration
def register_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Decorator: make a custom class (or function) loadable from configs without custom_objects.

    Registered under ``"package>name"`` (``name`` defaults to the class name), which becomes the
    ``registered_name`` of its configs.
    """

    def decorator(obj):
        key = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"Cannot register {obj.__name__}: a class needs a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj

    return decorator


register_keras_serializable = register_serializable


def get_registered_name(obj: Any) -> str:
    """``"package>name"`` for a registered object, else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_custom_objects() -> dict:
    """The live global registry (``"package>name"`` -> object)."""
    return _GLOBAL_CUSTOM_OBJECTS


def _active_custom_objects(custom_objects: dict | None) -> dict:
    merged: dict = {}
    for scope in _SCOPES:
        merged.update(scope)
    merged.update(custom_objects or {})
    return merged


def get_registered_object(name: str, custom_objects: dict | None = None) -> Any:
    """The object registered (or passed in ``custom_objects`` / an active scope) as ``name``."""
    active = _active_custom_objects(custom_objects)
    if name in active:
        return active[name]
    return _GLOBAL_CUSTOM_OBJECTS.get(name)


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes the names visible to deserialization."""

    def __init__(self, custom_objects: dict | None = None) -> None:
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self) -> "CustomObjectScope":
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        _SCOPES.remove(self.custom_objects)


custom_object_scope = CustomObjectScope


# ---------------------------------------------------------------------------- serialize
def serialize_keras_object(obj: Any) -> Any:
    """The config of ``obj``: plain values as they are, objects as Keras's class dicts."""
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {"start": serialize_keras_object(obj.start),
                                                      "stop": serialize_keras_object(obj.stop),
                                                      "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, SymbolicTensor):
        history = obj._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(obj.shape), "dtype": obj.dtype.name,
                           "keras_history": None if history is None else [history[0].name, *history[1:]]}}
    from ..engine.tensor import Tensor
    if isinstance(obj, Tensor):
        return {"class_name": "__tensor__", "config": {"value": obj.numpy().tolist(), "dtype": obj.dtype.name}}
    if is_device_array(obj):
        obj = to_host(obj)
    if isinstance(obj, numpy.ndarray):
        if obj.ndim == 0:
            return obj.item()
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, numpy.generic):
        return obj.item()
    if isinstance(obj, numpy.dtype):
        return obj.name
    if isinstance(obj, type) and issubclass(obj, numpy.generic):
        return numpy.dtype(obj).name
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        if obj.__name__ == "<lambda>":
            from .code_serialization import dump_function, dumping_code
            if dumping_code():  # model.save: Keras's "__lambda__" config (loaded only outside safe mode)
                return dump_function(obj, serialize_keras_object)
            return obj  # kept as is: in-memory round trips work, JSON refuses it with a clear error
        registered = _GLOBAL_CUSTOM_NAMES.get(obj)
        return {"module": obj.__module__, "class_name": "function", "config": registered or obj.__name__,
                "registered_name": registered or obj.__name__}
    from .. import initializers
    if isinstance(obj, initializers.Initializer):
        return initializers.serialize(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r} of type {type(obj).__name__}: it has no get_config().")
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"{type(obj).__name__}.get_config() must return a dict, got {type(config).__name__}.")
    module, registered_name = _class_identity(type(obj))
    if module == "__main__":
        module = None  # as Keras: a class from a script is found by custom_objects or registration only
    result = {"module": module, "class_name": type(obj).__name__,
              "config": {key: serialize_keras_object(value) for key, value in config.items()},
              "registered_name": registered_name}
    build_config = _get_build_config(obj)
    if build_config is not None:
        result["build_config"] = serialize_keras_object(build_config)
    return result


def _class_identity(cls: type) -> tuple[str, str | None]:
    """(module, registered_name) written for a class, Keras-style."""
    if cls in _GLOBAL_CUSTOM_NAMES:
        return cls.__module__, _GLOBAL_CUSTOM_NAMES[cls]
    from .. import layers as gk_layers
    from ..layers.op_layer import OpLayer
    from ..models.functional import Functional
    from ..models.model import Model
    from ..models.sequential import Sequential
    if issubclass(cls, OpLayer) and cls.__module__ == "graphkit.layers.op_layer":
        return cls.keras_module, cls.__name__
    if cls is Functional:
        return "keras.src.models.functional", "Functional"
    if cls is Sequential:
        return "keras", None
    if cls is Model:
        return "keras", None
    if getattr(gk_layers, cls.__name__, None) is cls:
        return "keras.layers", None
    return cls.__module__, cls.__name__


def _get_build_config(obj: Any) -> dict | None:
    getter = getattr(obj, "get_build_config", None)
    if getter is not None:
        return getter()
    shape = getattr(obj, "_build_input_shape", None)
    if shape is None or not getattr(obj, "built", False):
        return None
    return {"input_shape": _shape_to_config(shape)}


def _shape_to_config(shape: Any) -> Any:
    if isinstance(shape, (list, tuple)):
        return [_shape_to_config(s) for s in shape]
    if isinstance(shape, dict):
        return {k: _shape_to_config(v) for k, v in shape.items()}
    return shape


def shape_structure(config: Any) -> Any:
    """A shape (or nested structure of shapes) from its JSON form: shapes become tuples."""
    if isinstance(config, (list, tuple)):
        if all(d is None or isinstance(d, int) for d in config):
            return tuple(config)
        return [shape_structure(c) for c in config]
    if isinstance(config, dict):
        return {k: shape_structure(v) for k, v in config.items()}
    return config


# -------------------------------------------------------------------------- deserialize
class _TensorRef:
    """A ``__keras_tensor__`` read from a config, resolved once its producing layer exists."""

    __slots__ = ("shape", "dtype", "history")

    def __init__(self, shape, dtype, history) -> None:
        self.shape, self.dtype, self.history = shape, dtype, history


def deserialize_keras_object(config: Any, custom_objects: dict | None = None, safe_mode: bool = True) -> Any:
    """The object a config (from :func:`serialize_keras_object` or JSON) describes.

    ``safe_mode=False`` (or an enclosing ``SafeModeScope(False)``) allows rebuilding Python lambdas
    saved as code by ``model.save``; in safe mode they raise a ValueError.
    """
    if safe_mode is False:
        from .code_serialization import SafeModeScope, in_safe_mode
        if in_safe_mode() is not False:
            with SafeModeScope(False):
                return deserialize_keras_object(config, custom_objects, True)
    if config is None or isinstance(config, _PLAIN):
        if isinstance(config, str) and custom_objects and custom_objects.get(config) is not None:
            return custom_objects[config]  # a function saved by name (Keras's legacy form)
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom_objects, safe_mode) for x in config]
    if not isinstance(config, dict):
        return config
    if "class_name" not in config or "config" not in config:
        return {key: deserialize_keras_object(value, custom_objects, safe_mode) for key, value in config.items()}
    class_name = config["class_name"]
    inner = config["config"] if config["config"] is not None else {}
    if class_name == "__keras_tensor__":
        return _TensorRef(inner.get("shape"), inner.get("dtype"), inner.get("keras_history"))
    if class_name == "__tensor__":
        from ..engine.tensor import Tensor
        return Tensor(numpy.asarray(inner["value"], dtype=inner["dtype"]), dtype=inner["dtype"])
    if class_name == "__numpy__":
        return numpy.asarray(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner.get(k), custom_objects, safe_mode)
                       for k in ("start", "stop", "step")))
    if class_name == "__lambda__":
        from .code_serialization import load_function
        return load_function(inner, lambda c: deserialize_keras_object(c, custom_objects))
    module = config.get("module")
    registered_name = config.get("registered_name") or class_name
    if class_name == "function":
        return _retrieve_function(inner, registered_name, module, config, custom_objects)
    if not isinstance(inner, dict):
        raise TypeError(f"Expected a dict as the config of {class_name!r}, got {type(inner).__name__}: {config}")
    cls = _retrieve_class(class_name, registered_name, module, config, custom_objects)
    if _is_builtin_layer(cls):
        inner = accept_keras_layer_config(cls, class_name, inner)
    with CustomObjectScope(custom_objects):
        from_config = getattr(cls, "from_config", None)
        if from_config is None:
            raise TypeError(f"Cannot rebuild {class_name!r}: the class has no from_config().")
        try:
            if "custom_objects" in inspect.signature(from_config).parameters:
                instance = from_config(inner, custom_objects=custom_objects)
            else:
                instance = from_config(inner)
        except TypeError as exc:
            if isinstance(exc, UnknownObjectError):
                raise
            raise TypeError(f"{class_name} could not be rebuilt from its config: {exc}. A custom class must "
                            f"accept the keys its get_config() returns in __init__ (or define from_config). "
                            f"Config: {inner}") from exc
        build_config = config.get("build_config")
        if build_config and not getattr(instance, "built", True):
            _build_from_config(instance, build_config)
    return instance


def _is_builtin_layer(cls: type) -> bool:
    """A graphkit layer class (not a model, an op layer, or a user's class): Keras's configs of it
    are accepted (keras_config)."""
    from ..layers.layer import Layer
    from ..layers.op_layer import OpLayer
    from ..models.model import Model
    return issubclass(cls, Layer) and not issubclass(cls, (Model, OpLayer)) and \
        cls.__module__.startswith("graphkit.layers")


def _build_from_config(instance: Any, build_config: dict) -> None:
    builder = getattr(instance, "build_from_config", None)
    if builder is not None:
        builder(build_config)
    elif "input_shape" in build_config and hasattr(instance, "_build_once"):
        instance._build_once(shape_structure(build_config["input_shape"]))


def _known_layer_names() -> list[str]:
    from .. import layers as gk_layers
    from ..layers.layer import Layer
    return sorted(n for n, v in vars(gk_layers).items() if isinstance(v, type) and issubclass(v, Layer))


def _retrieve_class(class_name: str, registered_name: str, module: str | None, full_config: dict,
                    custom_objects: dict | None) -> type:
    active = _active_custom_objects(custom_objects)
    for key in (registered_name, class_name):
        if key in active:
            return active[key]
    if registered_name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[registered_name]
    # No "module" key at all (hand-written configs): look among the built-ins; module None: custom only.
    builtin = module is None and "module" not in full_config or module is not None and (
        module == "keras" or module.startswith(("keras.", "graphkit")))
    written_module, module = module, module or ""
    if module.startswith(("keras.src.ops", "graphkit.ops", "graphkit.layers.op_layer")):
        from ..layers.op_layer import op_class_by_class_name
        cls = op_class_by_class_name(class_name)
        if cls is not None:
            return cls
    from .. import layers as gk_layers
    from ..layers.layer import Layer
    from ..models.functional import Functional
    from ..models.model import Model
    from ..models.sequential import Sequential
    models = {"Functional": Functional, "Sequential": Sequential, "Model": Model}
    if builtin:
        if class_name in models:
            return models[class_name]
        candidate = getattr(gk_layers, class_name, None)
        if isinstance(candidate, type) and issubclass(candidate, Layer):
            return candidate
    raise UnknownObjectError(
        f"Unknown class {class_name!r} (module {written_module!r}) in the config: it is not a built-in graphkit "
        f"layer or model, and no custom object is registered under {registered_name!r}. If it is your own "
        f"class, pass custom_objects={{{class_name!r}: {class_name}}} to the loading function, or decorate "
        f"it with @gk.saving.register_serializable(). Built-in layers: {', '.join(_known_layer_names())}.")


def _retrieve_function(name: Any, registered_name: str, module: str | None, full_config: dict,
                       custom_objects: dict | None) -> Callable:
    active = _active_custom_objects(custom_objects)
    for key in (registered_name, name):
        if key in active:
            return active[key]
        if key in _GLOBAL_CUSTOM_OBJECTS:
            return _GLOBAL_CUSTOM_OBJECTS[key]
    from .. import activations, ops
    if isinstance(name, str):
        if name in activations._BY_NAME:
            return activations._BY_NAME[name]
        fn = getattr(ops, name, None)
        if callable(fn):
            return fn
    raise UnknownObjectError(f"Unknown function {name!r} (module {module!r}) in the config. Pass it in "
                             f"custom_objects={{{name!r}: {name}}} or decorate it with "
                             f"@gk.saving.register_serializable().")


# ----------------------------------------------------------------------- Functional
def _functional_like_constructor(cls: type) -> bool:
    from ..models.functional import Functional
    init = inspect.getfullargspec(cls.__init__)
    base = inspect.getfullargspec(Functional.__init__)
    return init.args[1:] == base.args[1:] or (init.varargs is not None and init.varkw is not None)


def functional_get_config(model) -> dict:
    """Keras 3's Functional config of ``model`` (layers in Keras's depth order)."""
    from ..models.functional import Functional
    layers, own = model._topology.depth_order, model._topology.node_ids
    reindex: dict[int, int] = {}
    for layer in layers:
        kept = 1 if isinstance(layer, Functional) else 0
        for node in layer._inbound_nodes:
            if id(node) in own:
                reindex[id(node)] = kept
                kept += 1
    layer_configs = []
    for layer in layers:
        inbound = [_serialize_node(node, own) for node in layer._inbound_nodes
                   if id(node) in own and node.input_tensors]
        layer_config = serialize_keras_object(layer)
        layer_config["name"] = layer.name
        layer_config["inbound_nodes"] = inbound
        layer_configs.append(layer_config)

    def tensor_config(tensor: SymbolicTensor) -> list:
        layer, node_index, tensor_index = tensor._keras_history
        return [layer.name, reindex[id(layer._inbound_nodes[node_index])], tensor_index]

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": _listify(map_structure(tensor_config, model._inputs_struct)),
            "output_layers": _listify(map_structure(tensor_config, model._outputs_struct))}


def _listify(structure: Any) -> Any:
    """Tuples of the input/output structure as lists (what JSON gives back anyway)."""
    if isinstance(structure, (list, tuple)):
        return [_listify(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _listify(v) for k, v in structure.items()}
    return structure


def _serialize_node(node, own: set) -> dict:
    def tensor(value):
        if not isinstance(value, SymbolicTensor):
            return value
        layer, node_index, tensor_index = value._keras_history
        skipped = sum(1 for n in layer._inbound_nodes[:node_index] if id(n) not in own)
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(value.shape), "dtype": value.dtype.name,
                           "keras_history": [layer.name, node_index - skipped, tensor_index]}}

    args = serialize_keras_object(map_structure(tensor, list(node.call_args)))
    kwargs = serialize_keras_object(map_structure(tensor, dict(node.call_kwargs)))
    return {"args": args, "kwargs": kwargs}


class _NotYet(Exception):
    """A node refers to a call of a layer that has not been replayed yet."""


def _resolve_node(node_data: Any, created: dict, custom_objects: dict | None) -> tuple[list, dict]:
    if isinstance(node_data, list):  # legacy Keras 2 format: [[layer, node, tensor, kwargs], ...]
        tensors, kwargs = [], {}
        for entry in node_data:
            tensors.append(_output_of(created, entry[0], entry[1], entry[2]))
            if len(entry) == 4:
                kwargs = entry[3]
        return [tensors[0] if len(tensors) == 1 else tensors], kwargs
    args = deserialize_keras_object(node_data.get("args", []), custom_objects)
    kwargs = deserialize_keras_object(node_data.get("kwargs", {}), custom_objects)

    def resolve(value):
        if isinstance(value, _TensorRef):
            if value.history is None:
                raise ValueError("A tensor in the config has no keras_history.")
            return _output_of(created, *value.history)
        return value

    return map_structure(resolve, args), map_structure(resolve, kwargs)


def _output_of(created: dict, layer_name: str, node_index: int, tensor_index: int) -> SymbolicTensor:
    layer = created.get(layer_name)
    if layer is None:
        raise ValueError(f"Invalid Functional config: a node uses layer {layer_name!r}, which is not among the "
                         f"config's layers {sorted(created)}.")
    if len(layer._inbound_nodes) <= node_index:
        raise _NotYet(layer_name)
    return layer._inbound_nodes[node_index].output_tensors[tensor_index]


def functional_from_config(cls: type, config: dict, custom_objects: dict | None = None):
    """Rebuild a Functional model: make every layer, then replay the recorded calls in order.

    A call whose inputs come from a call not replayed yet (a layer shared at different depths)
    waits for the next pass, as in Keras.
    """
    from ..models.functional import Functional
    config = dict(config)
    layer_configs = config.pop("layers")
    input_layers = config.pop("input_layers")
    output_layers = config.pop("output_layers")
    name = config.pop("name", None)
    trainable = config.pop("trainable", True)
    created: dict[str, Any] = {}
    pending: dict[str, list] = {}
    for layer_data in layer_configs:
        layer = deserialize_keras_object(layer_data, custom_objects)
        layer_name = layer_data.get("name") or layer.name
        created[layer_name] = layer
        pending[layer_name] = list(layer_data.get("inbound_nodes") or [])
    while pending:
        progress = False
        for layer_name in list(pending):
            nodes = pending[layer_name]
            done = 0
            for node_data in nodes:
                try:
                    args, kwargs = _resolve_node(node_data, created, custom_objects)
                except _NotYet:
                    break
                created[layer_name](*args, **kwargs)
                done += 1
            if done == len(nodes):
                del pending[layer_name]
                progress = True
            elif done:
                pending[layer_name] = nodes[done:]
                progress = True
        if not progress:
            raise ValueError("Invalid Functional config: the graph has loops or calls whose inputs never "
                             f"appear; unresolved layers: {sorted(pending)}.")

    def tensor(entry: list) -> SymbolicTensor:
        layer_name, node_index, tensor_index = entry
        if isinstance(created.get(layer_name), Functional):
            node_index -= 1  # Keras numbers a nested model's calls from 1
        return _output_of(created, layer_name, node_index, tensor_index)

    def structure(value: Any) -> Any:
        if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str):
            return tensor(value)
        if isinstance(value, dict):
            return {k: structure(v) for k, v in value.items()}
        return [structure(v) for v in value]

    if cls is None or not issubclass(cls, Functional):
        cls = Functional
    model = cls(inputs=structure(input_layers), outputs=structure(output_layers), name=name, **config)
    if trainable is False:
        model.trainable = False
    return model


# ----------------------------------------------------------------------- Sequential
def sequential_get_config(model) -> dict:
    """Keras 3's Sequential config: the InputLayer first once the model is built."""
    layers = list(model.layers)
    inputs = model.inputs
    if inputs:
        layers = [inputs[0]._keras_history[0], *layers]
    config = {"name": model.name, "trainable": model.trainable, "dtype": model.dtype_policy,
              "layers": [serialize_keras_object(layer) for layer in layers]}
    if inputs:
        config["build_input_shape"] = list(inputs[0].shape)
    return config


def sequential_from_config(cls: type, config: Any, custom_objects: dict | None = None):
    from ..models.sequential import Sequential
    if cls is None or not issubclass(cls, Sequential):
        cls = Sequential
    if isinstance(config, dict):
        name, layer_configs = config.get("name"), config["layers"]
        build_input_shape, trainable = config.get("build_input_shape"), config.get("trainable", True)
    else:  # a bare list of layer configs
        name, layer_configs, build_input_shape, trainable = None, config, None, True
    model = cls(name=name)
    for layer_config in layer_configs:
        model.add(deserialize_keras_object(layer_config, custom_objects))
    if not model.inputs and build_input_shape:
        model.build(tuple(build_input_shape))
    if trainable is False:
        model.trainable = False
    return model


# ----------------------------------------------------------------------------- models
def model_from_config(cls: type, config: dict, custom_objects: dict | None = None):
    """``gk.Model.from_config``: a wrapped object config, a Functional or a Sequential config."""
    from ..models.functional import Functional
    from ..models.model import Model
    from ..models.sequential import Sequential
    if isinstance(config, dict) and "class_name" in config and "config" in config and "module" in config:
        return deserialize_keras_object(config, custom_objects)
    functional_keys = ("name", "layers", "input_layers", "output_layers")
    if isinstance(config, dict) and all(k in config for k in functional_keys) and (
            cls in (Model, Functional) or (issubclass(cls, Functional) and _functional_like_constructor(cls))):
        return functional_from_config(cls, config, custom_objects)
    if (isinstance(config, list) or "layers" in config) and (cls is Model or issubclass(cls, Sequential)):
        return sequential_from_config(cls, config, custom_objects)
    try:
        return cls(**config)
    except TypeError as exc:
        raise TypeError(f"Cannot rebuild {cls.__name__} from its config: {exc}. A subclassed model needs a "
                        f"get_config() whose keys its __init__ accepts (or its own from_config).") from exc


def _json_default(obj: Any) -> Any:
    if isinstance(obj, numpy.generic):
        return obj.item()
    if callable(obj):
        raise TypeError(f"Cannot write {obj!r} to JSON: Python functions such as lambdas are not serializable. "
                        "Use a named function registered with @gk.saving.register_serializable().")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable.")


def to_json(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of the object's full config (Keras's ``model.to_json``)."""
    return json.dumps(serialize_keras_object(obj), default=_json_default, **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """The model a ``to_json`` string describes."""
    return deserialize_keras_object(json.loads(json_string), custom_objects)
