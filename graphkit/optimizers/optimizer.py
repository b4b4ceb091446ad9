"""``gk.optimizers.Optimizer``: Keras 3's optimizer base class on in-place array updates.

State
    ``iterations`` is a non-trainable int64 ``gk.Variable`` (``<name>/iteration``) counting applied
    updates. A float learning rate lives in a non-trainable float32 variable
    (``<name>/learning_rate``), as in Keras; a schedule or a zero-argument callable is kept as is.
    Slot variables (momentums, velocities, ...) are created lazily by :meth:`build` on the first
    :meth:`apply`, one per model variable and slot, named
    ``<optimizer name>/<model variable path with '/' -> '_'>_<slot>`` (Keras's names).

``variables`` order (stable, Keras's)
    ``[iterations, learning_rate (only when it is a float), *base slots, *slots]``: the base slots are
    ``use_ema``'s ``average`` and ``gradient_accumulation_steps``' ``gradient_accumulator``, interleaved
    per model variable; then each slot name in creation order (:meth:`get_slot_names`), each for every
    model variable in :attr:`model_variables` order. :meth:`get_slot` maps back.
    ``save_own_variables``/``load_own_variables`` store them by position (``"0"``, ``"1"``, ...).

Updates
    :meth:`apply` (and :meth:`apply_gradients`) update each variable's ``.data`` array IN PLACE,
    and the slot arrays in place, through the fused kernels of the active backend
    (:class:`graphkit.backend.optimizer_ops.OptimizerOps`); gradients are never written to.
    Consequence: ``variable.numpy()`` (which returns the live array on the NumPy backend) changes
    after an update; copy it (``model.get_weights()`` does) to keep a snapshot.
    Optimizer state set from outside must go through ``Variable.assign`` (which rebinds ``.data``):
    the optimizer caches the Python values of ``iterations`` and ``learning_rate`` and refreshes
    them when the variable's array object changes.

Per step (Keras's order): drop ``None`` gradients (warning once per set of variables without a
gradient), unscale by ``loss_scale_factor``, clip (``clipnorm`` per tensor, ``global_clipnorm``,
``clipvalue``), decoupled weight decay ``var -= var * weight_decay * lr`` on every variable not
excluded by :meth:`exclude_from_weight_decay`, the optimizer's update, EMA, then
``iterations += 1``. Scalar hyper-parameters are combined in Python float64 (Keras does that
arithmetic in the variable's dtype; the difference is within float32 rounding).
"""
from __future__ import annotations

import math
import operator
import re
import time
import warnings
from typing import Any, Iterable, Sequence

import numpy

from .. import events, initializers
from ..backend import state as _backend
from ..backend.optimizer_ops import velocity_floor, velocity_floor_period
from ..engine import naming
from ..engine.tensor import Tensor, to_array, wrap
from ..engine.variable import Variable
from ..global_state import SUBSCRIBERS
from .schedules import LearningRateSchedule
from . import schedules as _schedules

_is = operator.is_


def _shortest_float(array: Any) -> float:
    """The Python float of a 0-d array; for float32, the shortest decimal that rounds to it (a
    learning rate of 0.001 stored in float32 reads back as 0.001, not 0.0010000000474974513)."""
    value = float(array)
    if array.dtype == numpy.float32 and math.isfinite(value):
        return float(str(numpy.float32(value)))
    return value


def _is_number(value: Any) -> bool:
    """A real number: Python int/float (not bool), or a 0-d numeric array, numpy scalar or tensor."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return getattr(value, "ndim", None) == 0 and kind is not None and kind in "fiu"


class Optimizer:
    """Base class of graphkit's optimizers (Keras 3's ``keras.optimizers.Optimizer``).

    Args:
        learning_rate: a float, a :class:`~graphkit.optimizers.schedules.LearningRateSchedule`
            (evaluated at ``iterations`` before every update) or a zero-argument callable.
        weight_decay: if set, decoupled weight decay ``var -= var * weight_decay * lr`` before each
            update, on every variable except those excluded by :meth:`exclude_from_weight_decay`.
        clipnorm: clip each gradient so that its L2 norm is at most this value.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: clip all gradients together so that their global L2 norm is at most this
            value. At most one of ``clipnorm``, ``clipvalue``, ``global_clipnorm`` may be set.
        use_ema: keep an exponential moving average of the model variables
            (``average = m * average + (1 - m) * var``, ``m = 0`` at step 0).
        ema_momentum: ``m`` of that average after step 0.
        ema_overwrite_frequency: copy the average into the variables every this many steps (and
            in :meth:`finalize_variable_values`).
        loss_scale_factor: gradients are divided by it before use (see :meth:`scale_loss`).
        gradient_accumulation_steps: apply one update, with the mean gradient, every this many
            calls; in between gradients are summed into accumulators.
        name: the optimizer's name (the name scope of its variables).

    Subclasses follow Keras: ``build(var_list)`` calls ``super().build(var_list)`` then creates slots
    with :meth:`add_optimizer_variables` / :meth:`add_variable_from_reference`; ``update_step(
    gradient, variable, learning_rate)`` updates one variable (tensors in, ``variable.assign`` out).
    The built-in optimizers override :meth:`_update_arrays` instead, which updates arrays in place.
    """

    def __init__(self, learning_rate: Any, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=2)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if name is None:
            name = naming.camel_to_snake(type(self).__name__)
        if not isinstance(name, str) or not name:
            raise ValueError(f"Optimizer name must be a non-empty string, got {name!r}.")
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        for arg, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm), ("loss_scale_factor", loss_scale_factor)):
            if value is not None and not _is_number(value):
                raise ValueError(f"Argument `{arg}` must be a float or None. Received: {arg}={value!r}")

        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._trainable_variables_indices: dict[int, int] = {}
        self._all_indices: tuple = ()
        self._slots: dict[str, list[Variable]] = {}
        self._workspaces: list = []
        self._scalar_cache: dict = {}
        self._decay_flags: list[bool] = []
        self._exclude_from_weight_decay: set[int] = set()
        self._exclude_from_weight_decay_pattern = None
        self._missing_warned: set[tuple] = set()
        self._model_variables_moving_average: list[Variable] = []
        self._accumulated_gradients: list[Variable] = []

        with naming.name_scope(self.name):
            self._iterations = Variable(0, trainable=False, name="iteration", dtype="int64")
        self._variables.append(self._iterations)
        self._it_seen = self._iterations.data
        self._it_value = 0

        self._lr_var: Variable | None = None
        self._lr_seen = None
        self._lr_value = 0.0
        self._learning_rate: Any = None
        self._set_learning_rate(learning_rate, initial=True)

    # ------------------------------------------------------------------ state
    @property
    def iterations(self) -> Variable | Tensor:
        """The number of updates applied (a non-trainable int64 variable). With
        ``gradient_accumulation_steps`` this is the number of accumulated updates (a tensor)."""
        if self.gradient_accumulation_steps:
            return wrap(_backend.ops.asarray(self._step_count() // self.gradient_accumulation_steps,
                                             dtype="int64"), None, 0)
        return self._iterations

    def _step_count(self) -> int:
        """The raw ``iterations`` value as a Python int (re-read only when the array was replaced)."""
        data = self._iterations.data
        if data is not self._it_seen:
            self._it_seen = data
            self._it_value = int(data)
        return self._it_value

    def _increment_iterations(self) -> None:
        data = self._iterations.data
        if data is not self._it_seen:
            self._it_seen = data
            self._it_value = int(data)
        self._it_value += 1
        data.fill(self._it_value)

    @property
    def variables(self) -> list[Variable]:
        """``[iterations, learning_rate?, *slot variables]`` in a stable order (see the module doc)."""
        return self._variables[:]

    @property
    def model_variables(self) -> list[Variable]:
        """The model variables this optimizer was built on, in the order its slots follow."""
        return self._trainable_variables[:]

    def _track_variable(self, variable: Variable) -> None:
        self._variables.append(variable)

    # ----------------------------------------------------------- learning rate
    @property
    def learning_rate(self) -> float:
        """The learning rate used by the next update, a Python float (a schedule is evaluated at
        ``iterations``). Settable with a float, a schedule or a callable."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._set_learning_rate(value, initial=False)

    def _set_learning_rate(self, value: Any, initial: bool) -> None:
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, Tensor)):
            self._learning_rate = value
            if self._lr_var is not None:
                self._variables = [v for v in self._variables if v is not self._lr_var]
                self._lr_var = None
            return
        if not _is_number(value):
            raise ValueError("Argument `learning_rate` should be float, or an instance of LearningRateSchedule, "
                             "or a callable (that takes no arguments and returns the learning rate value). "
                             f"Received instead: learning_rate={value!r}")
        if not initial and isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable. If "
                            "you need the learning rate to be settable, you should instantiate the optimizer "
                            "with a float `learning_rate` argument.")
        value = float(value)
        if self._lr_var is None:
            with naming.name_scope(self.name):
                self._lr_var = Variable(value, trainable=False, name="learning_rate", dtype="float32")
            self._variables.insert(1, self._lr_var)
        else:
            self._lr_var.assign(value)
        self._learning_rate = self._lr_var
        self._lr_seen = self._lr_var.data
        self._lr_value = value

    def _current_learning_rate(self) -> float:
        lr = self._learning_rate
        if lr is self._lr_var:
            data = lr.data
            if data is not self._lr_seen:  # replaced by assign() (a restore): re-read it
                self._lr_seen = data
                self._lr_value = _shortest_float(data)
            return self._lr_value
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self._step_count()))
        return float(lr())

    # ------------------------------------------------------------------ build
    def build(self, var_list: Sequence[Variable]) -> None:
        """Record the model variables and create the base slots (EMA averages, gradient
        accumulators). Subclasses call this first, then create their own slots."""
        var_list = list(var_list)
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"Optimizers update gk.Variable objects; got {type(v).__name__} in the variable "
                                "list.")
        if len({id(v) for v in var_list}) != len(var_list):
            raise ValueError("The variable list given to the optimizer contains the same variable twice: "
                             f"{[v.name for v in var_list]}")
        self._trainable_variables = var_list[:]
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(var_list)}
        self._all_indices = tuple(range(len(var_list)))
        for variable in var_list:
            if self.use_ema:
                self._model_variables_moving_average.append(
                    self.add_variable_from_reference(variable, name="average"))
            if self.gradient_accumulation_steps:
                self._accumulated_gradients.append(
                    self.add_variable_from_reference(variable, name="gradient_accumulator"))
        self._make_workspaces()
        self._scalar_cache.clear()
        self._refresh_decay_flags()
        self.built = True

    def _make_workspaces(self) -> None:
        """Scratch arrays for the update kernels, one per variable shape/dtype/array type (again
        after ``gk.backend.to_backend`` moved the variables)."""
        ops = _backend.ops
        shared: dict = {}
        self._workspaces = []
        for v in self._trainable_variables:
            key = (v.data.shape, v.data.dtype.str, type(v.data))
            if key not in shared:
                shared[key] = ops.optimizer_workspace(v.data)
            self._workspaces.append(shared[key])

    def add_variable(self, shape: Sequence[int], initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "mean", name: str | None = None) -> Variable:
        """A new non-trainable optimizer variable, tracked in :attr:`variables`."""
        init = initializers.get(initializer)
        value = init(tuple(shape), dtype or "float32")
        with naming.name_scope(self.name):
            variable = Variable(value, trainable=False, name=name or "variable", dtype=dtype)
        self._track_variable(variable)
        return variable

    def add_variable_from_reference(self, reference_variable: Variable, name: str | None = None,
                                    initializer: Any = "zeros") -> Variable:
        """A variable shaped and typed like ``reference_variable``, named
        ``<path with '/' -> '_'>_<name>`` (Keras's slot names)."""
        name = name or "var"
        base = getattr(reference_variable, "path", None) or str(reference_variable.name)
        full = base.replace("/", "_").replace(":", "_") + "_" + name
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype, name=full)

    def add_optimizer_variables(self, trainable_variables: Sequence[Variable], name: str | Sequence[str],
                                initializer: Any = "zeros") -> list[Variable] | tuple:
        """One slot variable per model variable (a list; a tuple of lists for a list of names).
        The slot is registered for :meth:`get_slot` under ``name``."""
        if not isinstance(name, str):
            return tuple(self.add_optimizer_variables(trainable_variables, n, initializer) for n in name)
        slots = [self.add_variable_from_reference(v, name=name, initializer=initializer)
                 for v in trainable_variables]
        self._slots[name] = slots
        return slots

    def get_slot_names(self) -> list[str]:
        """Names of the slots this optimizer created, in creation order (tf.keras's API)."""
        return list(self._slots)

    def get_slot(self, var: Variable, slot_name: str) -> Variable:
        """The slot variable ``slot_name`` of the model variable ``var``."""
        if slot_name not in self._slots:
            raise ValueError(f"Optimizer '{self.name}' has no slot {slot_name!r}; slots: {self.get_slot_names()}.")
        return self._slots[slot_name][self._get_variable_index(var)]

    def _get_variable_index(self, variable: Variable) -> int:
        index = self._trainable_variables_indices.get(id(variable))
        if index is None:
            raise ValueError(f"Unknown variable: {getattr(variable, 'name', variable)!r}. This optimizer can only be "
                             "called for the variables it was originally built with. When working with a new set "
                             "of variables, you should recreate a new optimizer instance.")
        return index

    # ---------------------------------------------------------- weight decay
    def exclude_from_weight_decay(self, var_list: Iterable[Variable] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exclude variables from weight decay: those in ``var_list``, and those whose name contains
        (``re.search``) any string of ``var_names`` (e.g. ``["bias"]``). graphkit matches the full
        variable name (``dense/bias``); calling it after the optimizer is built is allowed."""
        self._exclude_from_weight_decay = {id(v) for v in var_list} if var_list else set()
        names = list(var_names) if var_names else []
        self._exclude_from_weight_decay_pattern = re.compile("|".join(sorted(set(names)))) if names else None
        if self.built:
            self._refresh_decay_flags()

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable) in self._exclude_from_weight_decay:
            return False
        pattern = self._exclude_from_weight_decay_pattern
        return not (pattern is not None and pattern.search(variable.name) is not None)

    def _refresh_decay_flags(self) -> None:
        self._decay_flags = [self._use_weight_decay(v) for v in self._trainable_variables]

    # ------------------------------------------------------------------ apply
    def apply_gradients(self, grads_and_vars: Iterable) -> Variable:
        """Apply ``(gradient, variable)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads: Sequence, trainable_variables: Sequence[Variable] | None = None) -> None:
        """Update ``trainable_variables`` (default: the variables the optimizer was built with) with
        ``grads``, one per variable (``None`` entries are skipped). Builds the optimizer on the
        first call. Every gradient is checked before anything changes. Publishes
        ``optimizer_update`` (:mod:`graphkit.events`) when someone listens."""
        if SUBSCRIBERS.optimizer_update:
            start = time.perf_counter_ns()
            self._apply(grads, trainable_variables)
            events.publish("optimizer_update", self,
                           self._trainable_variables if trainable_variables is None else trainable_variables,
                           start, time.perf_counter_ns())
        else:
            self._apply(grads, trainable_variables)

    def _apply(self, grads: Sequence, trainable_variables: Sequence[Variable] | None) -> None:
        if not isinstance(grads, (list, tuple)):
            grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(trainable_variables)` first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"When passing `grads` as a list of gradient tensors, the gradients must match "
                                 f"the variables the optimizer was built with one-to-one. Received a list of "
                                 f"{len(grads)} gradients, but the optimizer is tracking "
                                 f"{len(self._trainable_variables)} trainable variables.")
            indices = self._all_indices
        else:
            if not isinstance(trainable_variables, (list, tuple)):
                trainable_variables = list(trainable_variables)
            if len(grads) != len(trainable_variables):
                raise ValueError(f"Got {len(grads)} gradients for {len(trainable_variables)} variables; "
                                 "they must match one-to-one.")
            if not self.built:
                self.build(trainable_variables)
            indices = self._indices_for(trainable_variables)

        model_vars = self._trainable_variables
        if self._workspaces and type(self._workspaces[0]) is not type(model_vars[0].data):
            self._make_workspaces()  # the variables moved to another backend
        used_indices = []
        arrays = []
        missing = None
        for i, g in zip(indices, grads):
            if g is None:
                if missing is None:
                    missing = []
                missing.append(i)
                continue
            data = model_vars[i].data
            if isinstance(g, Tensor):
                g = g.data
            if g.__class__ is not data.__class__:
                g = to_array(g, data.dtype)
            if g.shape != data.shape:
                raise ValueError(f"Gradient for variable '{model_vars[i].name}' has shape {tuple(g.shape)}, but the "
                                 f"variable has shape {tuple(data.shape)}.")
            used_indices.append(i)
            arrays.append(g)
        if missing is not None:
            if not arrays:
                raise ValueError("No gradients provided for any variable.")
            key = tuple(missing)
            if key not in self._missing_warned:
                self._missing_warned.add(key)
                warnings.warn(f"Gradients do not exist for variables {[model_vars[i].name for i in missing]} when "
                              "minimizing the loss. If using `model.compile()`, did you forget to provide a `loss` "
                              "argument?", stacklevel=3)
        if self.loss_scale_factor is not None:
            inv = 1.0 / self.loss_scale_factor
            arrays = [g * inv for g in arrays]
        if self.gradient_accumulation_steps:
            self._apply_accumulated(used_indices, arrays)
        else:
            arrays = self._clip_gradients(arrays)
            lr = self._current_learning_rate()
            if self.weight_decay is not None:
                self._apply_weight_decay(used_indices, lr)
            self._update_arrays(used_indices, arrays, lr)
        if self.use_ema:
            self._update_moving_averages()
        self._increment_iterations()

    def _indices_for(self, variables: Sequence[Variable]):
        built = self._trainable_variables
        if len(variables) == len(built) and all(map(_is, variables, built)):
            return self._all_indices
        lookup = self._trainable_variables_indices
        indices = []
        for v in variables:
            index = lookup.get(id(v))
            if index is None:
                self._get_variable_index(v)  # raises the "Unknown variable" error
            indices.append(index)
        return indices

    def _apply_accumulated(self, indices: list, arrays: list) -> None:
        steps = self.gradient_accumulation_steps
        accumulators = [self._accumulated_gradients[i].data for i in indices]
        if (self._step_count() + 1) % steps == 0:
            grads = [(g + acc) / steps for g, acc in zip(arrays, accumulators)]
            grads = self._clip_gradients(grads)
            lr = self._current_learning_rate()
            if self.weight_decay is not None:
                self._apply_weight_decay(indices, lr)
            self._update_arrays(indices, grads, lr)
            for acc in self._accumulated_gradients:
                acc.data.fill(0)
        else:
            for g, acc in zip(arrays, accumulators):
                acc += g

    def _clip_gradients(self, arrays: list) -> list:
        ops = _backend.ops
        if self.clipnorm and self.clipnorm > 0:
            return [ops.clip_by_norm(g, self.clipnorm) for g in arrays]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return ops.clip_by_global_norm(arrays, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [ops.clip_by_value(g, self.clipvalue) for g in arrays]
        return arrays

    def _apply_weight_decay(self, indices: Sequence[int], lr: float) -> None:
        factor = 1.0 - float(self.weight_decay) * lr
        ops = _backend.ops
        flags = self._decay_flags
        model_vars = self._trainable_variables
        dtype = scalar = None
        for i in indices:
            if flags[i]:
                data = model_vars[i].data
                if data.dtype is not dtype:
                    dtype = data.dtype
                    scalar = ops.optimizer_scalar(factor, dtype)
                ops.scale_inplace(data, scalar)

    def _keep_slots_normal(self, slots: Sequence[Variable], indices, step: int, decay: float,
                           signed: bool) -> None:
        """Every :func:`velocity_floor_period` steps of ``decay`` (float32's, the shortest), keep
        these slots of the updated variables out of the denormal range (``Ops.keep_normal``)."""
        if step % velocity_floor_period(numpy.float32, decay):
            return
        ops = _backend.ops
        for i in indices:
            data = slots[i].data
            (floor,) = self._constants(data.dtype, (velocity_floor(data.dtype),))
            ops.keep_normal(data, floor, signed, self._workspaces[i])

    def _constants(self, dtype: Any, values: tuple) -> tuple:
        """Per-dtype backend scalars for constant hyper-parameters (cached; see optimizer_scalar)."""
        ops = _backend.ops
        key = (ops.name, dtype, values)  # per backend: a model moved between backends keeps working
        cached = self._scalar_cache.get(key)
        if cached is None:
            cached = tuple(ops.optimizer_scalar(v, dtype) for v in values)
            if len(self._scalar_cache) > 64:
                self._scalar_cache.clear()
            self._scalar_cache[key] = cached
        return cached

    def _update_arrays(self, indices: Sequence[int], grads: Sequence, learning_rate: float) -> None:
        """Update the model variables ``indices`` with gradient arrays ``grads``, in place.

        The default calls the Keras-style :meth:`update_step` per variable with tensors."""
        model_vars = self._trainable_variables
        for i, g in zip(indices, grads):
            self.update_step(wrap(g, None, 0), model_vars[i], learning_rate)

    def update_step(self, gradient: Tensor, variable: Variable, learning_rate: float) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_step(gradient, variable, "
                                  "learning_rate) or _update_arrays().")

    # Keras's assign helpers, for update_step implementations.
    def assign(self, variable: Variable, value: Any) -> None:
        variable.assign(value)

    def assign_add(self, variable: Variable, value: Any) -> None:
        variable.assign_add(value)

    def assign_sub(self, variable: Variable, value: Any) -> None:
        variable.assign_sub(value)

    # -------------------------------------------------------------------- EMA
    def _update_moving_averages(self) -> None:
        xp = _backend.ops.xp
        step = self._step_count()
        if self.gradient_accumulation_steps:
            step //= self.gradient_accumulation_steps
        momentum = self.ema_momentum if step != 0 else 0.0
        for var, average in zip(self._trainable_variables, self._model_variables_moving_average):
            avg = average.data
            xp.multiply(avg, momentum, out=avg)
            avg += var.data * (1 - momentum)
        if self.ema_overwrite_frequency and (step + 1) % self.ema_overwrite_frequency == 0:
            self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _overwrite_model_variables_with_average_value(self, var_list: Sequence[Variable]) -> None:
        if len(var_list) != len(self._model_variables_moving_average):
            raise ValueError(f"The length of model variables ({len(var_list)}) to override does not match the length "
                             "of model variables stored in the optimizer "
                             f"({len(self._model_variables_moving_average)}). Please check if the optimizer was "
                             "called on your model.")
        for var, average in zip(var_list, self._model_variables_moving_average):
            var.data[...] = average.data

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """With ``use_ema``, copy the moving averages into ``var_list`` (``fit`` calls this at the end)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(list(var_list))

    # ---------------------------------------------------------------- misc API
    def scale_loss(self, loss: Any) -> Any:
        """``loss * loss_scale_factor`` when one is set (gradients are unscaled in apply)."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    def minimize(self, loss: Any, var_list: Sequence[Variable], tape: Any = None) -> Variable:
        """``loss`` (a zero-argument callable, or a tensor recorded by ``tape``) -> gradients -> apply."""
        from ..engine.autograd import GradientTape
        var_list = list(var_list)
        if tape is None:
            if not callable(loss):
                raise ValueError("`tape` is required when a tensor loss is passed to minimize().")
            with GradientTape() as tape:
                loss = loss()
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def get_weights(self) -> list:
        """Copies of :attr:`variables` as numpy arrays."""
        return [v.numpy().copy() for v in self._variables]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Assign values to :attr:`variables` by position (shapes checked before anything changes)."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                             "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        if len(weights) != len(self._variables):
            raise ValueError(f"Optimizer '{self.name}' has {len(self._variables)} variables but set_weights got "
                             f"{len(weights)} arrays.")
        for variable, weight in zip(self._variables, weights):
            shape = tuple(getattr(weight, "shape", ()))
            if tuple(variable.shape) != shape:
                raise ValueError(f"Optimizer variable '{variable.name}' has shape {tuple(variable.shape)} not "
                                 f"compatible with provided weight shape {shape}.")
        for variable, weight in zip(self._variables, weights):
            variable.assign(weight)

    def save_own_variables(self, store: dict) -> None:
        """Store :attr:`variables` by position (``store["0"]``, ...), as Keras saves optimizers."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store: dict) -> None:
        """Load :attr:`variables` by position; warns and skips when the counts differ (Keras)."""
        if len(store.keys()) != len(self._variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                   f"variables whereas the saved optimizer has {len(store.keys())} variables. ")
            if len(self._variables) == 1 + (self._lr_var is not None):
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            learning_rate: Any = _schedules.serialize(lr)
        elif lr is self._lr_var:
            learning_rate = self._current_learning_rate()
        else:
            from ..saving.serialization import serialize_keras_object
            learning_rate = serialize_keras_object(lr)
        return {"name": self.name, "learning_rate": learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        lr = self._learning_rate
        shown = repr(lr) if lr is not self._lr_var else f"{self._current_learning_rate():g}"
        return f"<gk.optimizers.{type(self).__name__} name={self.name!r} learning_rate={shown}>"


# ------------------------------------------------------------------------ helpers for subclasses
def _check_float_in(name: str, value: Any, low: float, high: float) -> float:
    if not _is_number(value) or not (low <= float(value) <= high):
        raise ValueError(f"`{name}` must be a float between [{low:g}, {high:g}]. Received: {name}={value!r}")
    return value


def _check_nonnegative(name: str, value: Any) -> Any:
    if not _is_number(value) or float(value) < 0:
        raise ValueError(f"`{name}` must be a non-negative float. Received: {name}={value!r}")
    return value

