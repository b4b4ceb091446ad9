"""``gk.layers.Layer``: a Module with Keras 3's build/call lifecycle, weights and symbolic calls."""
from __future__ import annotations

import inspect
import math
import re
import time
from typing import Any, Sequence

import numpy

from .. import backend, initializers
from ..engine.autograd import no_grad
from ..engine.hooks import HOOKS, PENDING
from ..engine.tensor import Tensor, to_array, wrap
from ..engine.variable import Variable
from ..global_state import SUBSCRIBERS, THREAD, clear_session, unique_name  # noqa: F401 (clear_session re-exported)
from ..graph.node import Node, flatten_structure, map_structure
from ..graph.symbolic import SymbolicTensor, any_symbolic, placeholder
from ..module import Module
from ..ops.cast import cast
from ..utils import traceback_utils
from .input_spec import InputSpec

_clock = time.perf_counter_ns


def _keras_snake_case(name: str) -> str:
    """Keras's default layer names: ``UpSampling2D`` -> ``up_sampling2d`` (no break before a
    capital that follows a digit, unlike tf.Module's ``conv2_d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(Module):
    """Base class of all layers (Keras 3 semantics).

    Subclasses create weights in ``build(input_shape)`` with :meth:`add_weight` and compute in
    ``call(inputs, training=None, mask=None)``. Calling a layer on data builds it once and runs
    it; calling it on symbolic tensors (``gk.Input``) records a node in the model graph.
    """

    _TRACKING_IGNORED = Module._TRACKING_IGNORED | {"_inbound_nodes", "_outbound_nodes", "input_spec"}
    # Whether __call__ turns array/list inputs into tensors before call(); models that convert each
    # input to its own dtype themselves (Functional, Sequential) switch it off.
    _convert_input_args = True
    _autocast = True  # cast floating inputs to the layer's dtype (models leave inputs to their Inputs)
    # Layers keep Python's fast attribute assignment; values waiting for variables (engine.hooks)
    # are resolved from add_weight and _build_once instead of Module.__setattr__.
    __setattr__ = object.__setattr__

    def __init__(self, *, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: Sequence[int] | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(kwargs)}.")
        super().__init__(name=name or unique_name(_keras_snake_case(type(self).__name__)))
        self._trainable = bool(trainable)
        self.dtype_policy = dtype or backend.FLOATX
        self._compute_dtype = numpy.dtype(self.dtype_policy)
        self.built = False
        self.supports_masking = False
        self.input_spec: InputSpec | list | None = None
        # Weights this layer created, split by the trainable flag they were created with (Keras order:
        # trainable ones first); unfreezing restores only the first list.
        self._trainable_created: list[Variable] = []
        self._non_trainable_created: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._outbound_nodes: list[Node] = []
        self._batch_input_shape = None if input_shape is None else (None, *input_shape)

    # ---------------------------------------------------------------- weights
    def add_weight(self, shape: Sequence[int] = (), initializer: Any = "glorot_uniform", dtype: Any = None,
                   trainable: bool = True, name: str | None = None, **_ignored: Any) -> Variable:
        """Create a variable owned by this layer (named ``<layer>/<name>``)."""
        init = initializers.get(initializer)
        dtype = dtype or self.dtype_policy
        value = init(tuple(shape), dtype)
        with self.name_scope:
            variable = Variable(value, trainable=trainable and self._trainable, name=name or "variable",
                                dtype=dtype)
        (self._trainable_created if trainable else self._non_trainable_created).append(variable)
        if PENDING in self.__dict__:  # a checkpoint restored before this weight existed
            HOOKS.variables_added(self)
        return variable

    def _tracked_attributes(self):
        """Keras order: own weights (trainable first, by creation), then attributes as assigned."""
        yield "_trainable_created", self._trainable_created
        yield "_non_trainable_created", self._non_trainable_created
        for key, value in vars(self).items():
            if key not in self._TRACKING_IGNORED:
                yield key, value

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze this layer and every layer inside it."""
        value = bool(value)
        self._trainable = value
        for layer in [self, *self._sublayers()]:
            layer._trainable = value
            for w in layer._trainable_created:
                w.trainable = value

    def _sublayers(self) -> list["Layer"]:
        return [m for m in self.submodules if isinstance(m, Layer)]

    @property
    def weights(self) -> list[Variable]:
        return list(self.variables)

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self.variables if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [w for w in self.variables if not w.trainable]

    def count_params(self) -> int:
        """Number of scalar values in all weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet, so its weights do not exist: call it on "
                             "an input (or gk.Input) first.")
        return sum(math.prod(w.shape) for w in self.variables)

    def get_weights(self) -> list:
        """Weight values as numpy arrays, in ``weights`` order (Keras's order)."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Assign values in ``weights`` order; checks every count and shape before changing anything."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}' has {len(own)} weights but set_weights got {len(weights)} "
                             f"arrays.")
        arrays = []
        for index, (value, w) in enumerate(zip(weights, own)):
            array = to_array(value, w.dtype)
            if tuple(array.shape) != tuple(w.shape):
                owner = self._weight_owner(w)
                where = f"Layer '{self.name}'" if owner is self else \
                    f"Layer '{self.name}' (in its layer '{owner.name}')"
                raise ValueError(f"{where}: weight '{w.name}' (#{index}) has shape {tuple(w.shape)}; "
                                 f"set_weights got shape {tuple(array.shape)}. Nothing was changed.")
            arrays.append(array)
        for w, array in zip(own, arrays):
            w.assign(array)

    def _weight_owner(self, variable: Variable) -> "Layer":
        """The (sub)layer that created ``variable`` (self when none is found)."""
        for layer in [self, *self._sublayers()]:
            if any(v is variable for v in layer._trainable_created + layer._non_trainable_created):
                return layer
        return self

    # -------------------------------------------------------------- lifecycle
    def build(self, input_shape: Any) -> None:
        """Create weights for inputs of ``input_shape``; layers without weights need not override."""
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for ``input_shape``; the default dry-runs the layer on placeholder data."""
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs: passed through when ``supports_masking``, else None."""
        return mask if self.supports_masking else None

    def _build_once(self, input_shape: Any) -> None:
        if self.built:
            return
        self.build(input_shape)
        self.built = True
        self._build_input_shape = input_shape  # for summary() shapes and the config's build_config
        if PENDING in self.__dict__:  # sublayers/variables made in build() get restored values
            HOOKS.variables_added(self)

    def _check_input_spec(self, inputs: Any) -> None:
        spec = self.input_spec
        if spec is None:
            return
        if isinstance(spec, InputSpec) and isinstance(inputs, Tensor):  # the common case, kept cheap
            spec.check(self, inputs.data.shape)
            return
        tensors = flatten_structure(inputs)
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        if len(specs) == 1 and len(tensors) > 1:
            specs = specs * len(tensors)
        for index, (s, tensor) in enumerate(zip(specs, tensors)):
            if s is not None and hasattr(tensor, "shape"):
                s.check(self, tuple(tensor.shape), str(index) if len(tensors) > 1 else "")

    # ------------------------------------------------------------------ calls
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            if args:
                inputs = args[0]
            elif "inputs" in kwargs:
                inputs = kwargs.pop("inputs")
                args = (inputs,)
            else:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            if _has_symbolic(args, kwargs):
                from ..graph.recording import record_call
                return record_call(self, args, kwargs)
            if not isinstance(inputs, Tensor) and self._convert_input_args:
                inputs = _as_input_structure(inputs)
            if self._autocast:
                inputs = self._autocast_inputs(inputs)
            if self.input_spec is not None:
                self._check_input_spec(inputs)
            if not self.built:
                self._build_once(_shape_structure(inputs))
            return self._call_with_context(inputs, args[1:], kwargs)
        except Exception as error:
            raise traceback_utils.filtered(error)  # the whole traceback: gk.config.disable_traceback_filtering()

    def _autocast_inputs(self, inputs: Any) -> Any:
        """Floating inputs in another float dtype are cast to the layer's dtype (Keras's autocast)."""
        if isinstance(inputs, Tensor):
            dtype = inputs.data.dtype
            if dtype == self._compute_dtype or dtype.kind != "f":
                return inputs
            cast_inputs = cast(inputs, self._compute_dtype)
            cast_inputs._keras_mask = inputs._keras_mask
            return cast_inputs
        if isinstance(inputs, (list, tuple, dict)):
            return map_structure(self._autocast_inputs, inputs)
        return inputs

    def _call_with_context(self, inputs: Any, extra_args: tuple, kwargs: dict) -> Any:
        """Run ``call`` with Keras's ``training`` and ``mask`` conventions.

        ``training``: an explicit value, else the one an outer call is running with; it is passed
        only to a ``call`` that takes it (and only when known), and becomes the context of the
        layers called inside. ``mask``: the inputs' masks, passed to a ``call`` that takes one and
        given to ``compute_mask``, whose result is attached to the outputs.

        Every eager call runs here (a model's layers too, and the dry runs that infer a symbolic
        call's output shapes), so this is where the eager ``layer_call`` event is published.
        """
        subscribers = SUBSCRIBERS.layer_call
        if subscribers:
            start = _clock()
        info = _CALL_INFO.get(type(self)) or _call_info(type(self))
        has_training, training_position, has_mask, custom_mask = info
        outer = THREAD.call_training
        if training_position is not None and len(extra_args) > training_position:
            training = extra_args[training_position]  # passed positionally
        else:
            training = kwargs.get("training") if kwargs else None
            if training is None:
                training = outer
            if has_training:
                if training is not None:
                    kwargs["training"] = training
            elif kwargs and "training" in kwargs:
                del kwargs["training"]
        # The inputs' masks reach compute_mask even when call() takes no mask (Keras's previous_mask).
        mask = None
        if kwargs and "mask" in kwargs:
            mask = kwargs["mask"] if has_mask else kwargs.pop("mask")
        masking = custom_mask or self.supports_masking
        if mask is None and (has_mask or masking):
            mask = _input_mask(inputs)
            if mask is not None and has_mask:
                kwargs["mask"] = mask
        if training is outer:
            outputs = self.call(inputs, *extra_args, **kwargs)
        else:
            THREAD.call_training = training
            try:
                outputs = self.call(inputs, *extra_args, **kwargs)
            finally:
                THREAD.call_training = outer
        if custom_mask or (masking and mask is not None):  # Layer.compute_mask of no mask is None
            out_mask = self.compute_mask(inputs, mask)
            if out_mask is not None:
                if isinstance(outputs, Tensor):
                    outputs._keras_mask = out_mask
                else:
                    for tensor, tensor_mask in zip(flatten_structure(outputs), flatten_structure(out_mask)):
                        if isinstance(tensor, Tensor):
                            tensor._keras_mask = tensor_mask
        if subscribers:  # the tuple read at the start (graphkit.events' payload, without a publish call)
            end = _clock()
            args = (inputs, *extra_args)
            for subscriber in subscribers:
                subscriber(self, args, outputs, None, None, start, end)
        return outputs

    def compute_output_spec(self, args: tuple, kwargs: dict) -> Any:
        """Symbolic outputs for a call on symbolic ``args``: compute_output_shape or a dry run."""
        inputs = args[0]
        try:
            shapes = self.compute_output_shape(map_structure(lambda t: t.shape, inputs))
        except NotImplementedError:
            return _dry_run(self, args, kwargs)
        dtype = self.dtype_policy
        if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
            return SymbolicTensor(shapes, dtype)
        return map_structure_shapes(lambda s: SymbolicTensor(s, dtype), shapes)

    # ------------------------------------------------------------ graph views
    def _single_node_tensor(self, attribute: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on symbolic inputs, so it has no "
                                 f"{attribute}.")
        if len(self._inbound_nodes) > 1:
            raise AttributeError(f"Layer '{self.name}' has been called {len(self._inbound_nodes)} times; its "
                                 f"{attribute} is ambiguous (use get_{attribute}_at(node_index)).")
        return self._node_tensor(0, attribute)

    def _node_tensor(self, node_index: int, attribute: str) -> Any:
        node = self._inbound_nodes[node_index]
        tensors = node.input_tensors if attribute == "input" else node.output_tensors
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def input(self) -> Any:
        """The symbolic input of the layer's only call."""
        return self._single_node_tensor("input")

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's only call."""
        return self._single_node_tensor("output")

    def get_input_at(self, node_index: int) -> Any:
        return self._node_tensor(node_index, "input")

    def get_output_at(self, node_index: int) -> Any:
        return self._node_tensor(node_index, "output")

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        """Constructor arguments as a JSON-ready dict (Keras 3 keys)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype_policy}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        config = dict(config)
        batch_input_shape = config.pop("batch_input_shape", None)
        if batch_input_shape is not None:
            config["input_shape"] = tuple(batch_input_shape[1:])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _as_input_tensor(value: Any) -> Any:
    if isinstance(value, Tensor) or value is None:
        return value
    if hasattr(value, "shape") or isinstance(value, (list, float, int)):
        return wrap(to_array(value), None, 0)
    return value


def _as_input_structure(value: Any) -> Any:
    """Call inputs as tensors: arrays and nested lists of numbers become one tensor each; lists,
    tuples and dicts of arrays keep their structure."""
    if isinstance(value, Tensor) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        if _numeric_nest(value):
            try:
                return wrap(to_array(value), None, 0)
            except (ValueError, TypeError):
                pass  # ragged: several inputs
        return type(value)(map(_as_input_structure, value)) if type(value) in (list, tuple) else \
            map_structure(_as_input_tensor, value)
    if isinstance(value, dict):
        return {key: _as_input_structure(item) for key, item in value.items()}
    return _as_input_tensor(value)


def _numeric_nest(value: Any) -> bool:
    """Whether a (nested) list starts with a plain number, i.e. is data rather than a list of inputs."""
    while isinstance(value, (list, tuple)):
        if not value:
            return True
        value = value[0]
    return isinstance(value, (int, float, bool, numpy.generic))


def _shape_structure(value: Any) -> Any:
    """The shapes of call inputs (arrays, tensors, nested lists of numbers), keeping their structure."""
    if hasattr(value, "shape"):
        return tuple(value.shape)
    if isinstance(value, (list, tuple)):
        if _numeric_nest(value):
            try:
                return tuple(numpy.shape(value))
            except ValueError:
                pass
        return type(value)(_shape_structure(v) for v in value)
    if isinstance(value, dict):
        return {key: _shape_structure(item) for key, item in value.items()}
    return value


def _has_symbolic(args: tuple, kwargs: dict) -> bool:
    """Whether a call's arguments hold a symbolic tensor (then the call records a graph node)."""
    for value in args:
        if isinstance(value, SymbolicTensor) or (
                isinstance(value, (list, tuple, dict)) and any_symbolic(flatten_structure(value))):
            return True
    if kwargs:
        for value in kwargs.values():
            if isinstance(value, SymbolicTensor) or (
                    isinstance(value, (list, tuple, dict)) and any_symbolic(flatten_structure(value))):
                return True
    return False


def _input_mask(inputs: Any) -> Any:
    """The ``_keras_mask`` of the inputs: one mask, a list of them, or None when none has one."""
    if isinstance(inputs, Tensor):
        return getattr(inputs, "_keras_mask", None)
    masks = [getattr(t, "_keras_mask", None) for t in flatten_structure(inputs)]
    if any(m is not None for m in masks):
        return masks[0] if not isinstance(inputs, (list, tuple)) else masks
    return None


_CALL_INFO: dict[type, tuple] = {}


def _call_info(cls: type) -> tuple:
    """(takes ``training``, its position among the extra positional arguments or None, takes ``mask``,
    overrides ``compute_mask``) for ``cls.call`` (cached per class)."""
    params = list(inspect.signature(cls.call).parameters.values())[2:]  # after self, inputs
    position = None
    for index, param in enumerate(params):
        if param.name == "training" and param.kind == param.POSITIONAL_OR_KEYWORD:
            position = index
    names = {p.name for p in params}
    info = ("training" in names, position, "mask" in names, cls.compute_mask is not Layer.compute_mask)
    _CALL_INFO[cls] = info
    return info


_CALL_ARGUMENTS: dict[type, frozenset] = {}


def _call_arguments(cls: type) -> frozenset:
    """Names of the parameters of ``cls.call`` (cached per class)."""
    names = _CALL_ARGUMENTS.get(cls)
    if names is None:
        names = frozenset(inspect.signature(cls.call).parameters)
        _CALL_ARGUMENTS[cls] = names
    return names


def map_structure_shapes(fn, shapes: Any) -> Any:
    """Apply ``fn`` to every shape tuple in a nested structure of shapes."""
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return fn(shapes)
    if isinstance(shapes, (list, tuple)):
        return type(shapes)(map_structure_shapes(fn, s) for s in shapes)
    if isinstance(shapes, dict):
        return {k: map_structure_shapes(fn, s) for k, s in shapes.items()}
    raise TypeError(f"Not a shape: {shapes!r}")


def _dry_run(layer: Layer, args: tuple, kwargs: dict) -> Any:
    """Infer output shapes by running ``layer`` twice on zero placeholders of different sizes.

    Unknown input dimensions are set to 2, then 3; output dimensions that differ between the
    runs are unknown (None).
    """
    runs = []
    for fill in (2, 3):
        def concrete(value, fill=fill):
            if isinstance(value, SymbolicTensor):
                return placeholder(value.shape, value.dtype, fill)
            return value
        c_args = map_structure(concrete, args)
        c_kwargs = map_structure(concrete, kwargs)
        if "training" in _call_arguments(type(layer)):
            c_kwargs.setdefault("training", False)
        with no_grad():
            runs.append(layer._call_with_context(c_args[0], c_args[1:], c_kwargs))
        if not any(d is None for t in flatten_structure((args, kwargs)) if isinstance(t, SymbolicTensor)
                   for d in t.shape):
            break
    first = runs[0]
    others = runs[1] if len(runs) > 1 else first

    def spec(a, b):
        shape = tuple(d if d == e else None for d, e in zip(a.shape, b.shape))
        return SymbolicTensor(shape, a.dtype)

    flat_first, flat_other = flatten_structure(first), flatten_structure(others)
    specs = iter([spec(a, b) for a, b in zip(flat_first, flat_other)])
    return map_structure(lambda _: next(specs), first)
