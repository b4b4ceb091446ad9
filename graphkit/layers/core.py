"""Core layers: Dense, Activation, Dropout, Lambda, Embedding."""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable, Sequence

from .. import activations, backend, initializers
from ..engine.autograd import Primitive
from ..graph.node import flatten_structure
from ..ops.array import _take_p
from ..ops.cast import cast
from ..ops.linalg import dense as _dense
from ..ops.math import not_equal
from .input_spec import InputSpec
from .layer import Layer, map_structure_shapes


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; kernel (input_dim, units), bias (units,)."""

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}.")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}' needs a known last dimension, got input shape {input_shape}.")
        self.kernel = self.add_weight((input_dim, self.units), self.kernel_initializer, name="kernel")
        self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias") if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        return self.activation(_dense(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}


class Activation(Layer):
    """Applies an activation function by name or callable."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


# --------------------------------------------------------------------------- helpers
def _require_none(layer_type: str, **arguments: Any) -> None:
    """Regularizers and constraints are not implemented yet: accept only None (Keras's default)."""
    given = sorted(name for name, value in arguments.items() if value is not None)
    if given:
        raise NotImplementedError(f"{layer_type}: {', '.join(given)} are not supported by graphkit yet; "
                                  "leave them None.")


# --------------------------------------------------------------------------- Dropout
def _dropout_forward(ops, x, keep):
    return x * keep, keep


def _dropout_backward(ops, keep, g):
    return (g * keep,)


_dropout_p = Primitive("dropout", _dropout_forward, _dropout_backward)


def _seeded_generator(self, ops):
    """The method ``_generator(ops)`` of a layer with ``seed`` and a ``_generators`` dict: a fresh
    generator when ``seed`` is None, else one generator seeded with it per backend ``ops``."""
    if self.seed is None:
        return ops.generator()
    gen = self._generators.get(id(ops))
    if gen is None:
        gen = self._generators[id(ops)] = ops.generator(self.seed)
    return gen


class Dropout(Layer):
    """Inverted dropout: while training, zero each entry with probability ``rate`` and scale the
    rest by ``1 / (1 - rate)``; at inference return the inputs unchanged.

    ``noise_shape`` (None entries take the input's size) shares one keep/drop decision along the
    axes where it is 1. With ``seed`` the layer owns a generator seeded once (successive calls
    draw different masks, repeatably); without one it draws from the backend's generator
    (``gk.random.set_seed``).
    """

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout '{self.name}': rate must be a float in [0, 1], got {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generators: dict[int, Any] = {}
        self.supports_masking = True

    _generator = _seeded_generator

    def _concrete_noise_shape(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"Dropout '{self.name}': noise_shape {self.noise_shape} has rank "
                             f"{len(self.noise_shape)} but the input has shape {shape}.")
        noise = tuple(n if d is None else int(d) for d, n in zip(self.noise_shape, shape))
        if any(d not in (1, n) for d, n in zip(noise, shape)):
            raise ValueError(f"Dropout '{self.name}': noise_shape {self.noise_shape} does not broadcast "
                             f"to the input shape {shape}.")
        return noise

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        x = inputs if inputs.dtype.kind in "fc" else cast(inputs, backend.FLOATX)
        ops = backend.current()
        noise_shape = self._concrete_noise_shape(tuple(x.shape))
        if self.rate == 1:
            keep = ops.xp.zeros(noise_shape, dtype=x.dtype)
        else:
            keep = ops.dropout_keep(self._generator(ops), noise_shape, self.rate, x.dtype)
        return _dropout_p.apply(x, keep=keep)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


# --------------------------------------------------------------------------- Lambda
class Lambda(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer (no weights).

    ``output_shape``: None (inferred by a dry run on placeholder data), a tuple without the
    batch dimension, or a callable ``input_shape -> output_shape``. ``mask``: None, a callable
    ``(inputs, mask) -> mask`` or a fixed mask. The function receives ``mask=`` and
    ``training=`` when its signature names them.
    """

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': function must be callable, got {function!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):  # builtins without a signature
            parameters = {}
        self._fn_expects_mask = "mask" in parameters
        self._fn_expects_training = "training" in parameters

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            raise NotImplementedError  # the base class infers it with a dry run
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = flatten_structure(input_shape)[0] if input_shape else None
        return map_structure_shapes(lambda shape: (batch, *shape), _as_shape_structure(self._output_shape))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self) -> dict:
        # Keras serializes Python lambdas as bytecode; graphkit keeps the callable itself, so the
        # config round-trips in memory but is not JSON-ready.
        config = {**super().get_config(), "function": self.function}
        if self._output_shape is not None:
            config["output_shape"] = self._output_shape
        if self.mask is not None:
            config["mask"] = self.mask
        config["arguments"] = dict(self.arguments)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Lambda":
        """Functions saved by name come from ``custom_objects``/the registry/``gk.ops``; lambdas
        saved as code (``model.save``) are rebuilt only outside safe mode."""
        from ..saving.serialization import deserialize_keras_object
        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, dict) and "class_name" in value:
                try:
                    config[key] = deserialize_keras_object(value, custom_objects)
                except ValueError as exc:
                    if value.get("class_name") != "__lambda__":
                        raise
                    raise ValueError(f"Lambda layer '{config.get('name')}' ({key}): {exc}") from None
        return super().from_config(config)


def _as_shape_structure(shape: Any) -> Any:
    """Lists of ints (from JSON) become tuples so they read as one shape."""
    if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    if isinstance(shape, (list, tuple)):
        return type(shape)(_as_shape_structure(s) for s in shape)
    return shape


# --------------------------------------------------------------------------- Embedding
class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors: ``embeddings[inputs]``.

    ``embeddings`` has shape (input_dim, output_dim); its gradient is a scatter-add of the
    output gradient (repeated ids accumulate). With ``mask_zero`` the output carries the mask
    ``inputs != 0`` (id 0 is padding, so the vocabulary needs ``input_dim = size + 1``).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, lora_rank: int | None = None, input_length: Any = None,
                 activity_regularizer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _require_none("Embedding", embeddings_regularizer=embeddings_regularizer,
                      embeddings_constraint=embeddings_constraint, activity_regularizer=activity_regularizer,
                      lora_rank=lora_rank)
        if input_length is not None:
            warnings.warn("Embedding: argument `input_length` is deprecated (as in Keras 3) and ignored.",
                          stacklevel=2)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Embedding {arg} must be a positive integer, got {value!r}.")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.embeddings = self.add_weight((self.input_dim, self.output_dim), self.embeddings_initializer,
                                          name="embeddings")
        self.built = True

    def call(self, inputs):
        ids = inputs if inputs.dtype.kind in "iu" else cast(inputs, "int32")
        name, input_dim = self.name, self.input_dim

        def describe(value: int, position: str) -> IndexError:
            return IndexError(f"Embedding '{name}': ids must lie in [0, {input_dim}) (input_dim); got {value} "
                              f"({position}).")
        # One check (deferred on a device inside fit/evaluate/predict), then the gather primitive
        # (``take`` would check the ids again).
        backend.current().check_index_range(ids.data, input_dim, describe)
        return _take_p.apply(self.embeddings, ids, axis=0)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return not_equal(inputs, 0)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
                "mask_zero": self.mask_zero}
