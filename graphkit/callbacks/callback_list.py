"""``CallbackList``: fans every hook out to a list of callbacks (Keras 3 signature).

During ``fit``/``evaluate``/``predict`` the list is :meth:`~CallbackList.attached` to the run:
it subscribes to the trainer's events (:mod:`graphkit.events`) and turns each event of its
model into the Keras hook, with the same arguments and logs, in the order they are published.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator

from .. import events
from ..backend.host import is_device_array, to_host, to_host_scalars
from .callback import Callback
from .history import History

# The Keras hooks each training event calls, by the run's mode.
_RUN_BEGIN = {"train": "on_train_begin", "test": "on_test_begin", "predict": "on_predict_begin"}
_RUN_END = {"train": "on_train_end", "test": "on_test_end", "predict": "on_predict_end"}
_BATCH_BEGIN = {"train": "on_train_batch_begin", "test": "on_test_batch_begin", "predict": "on_predict_batch_begin"}
_BATCH_END = {"train": "on_train_batch_end", "test": "on_test_batch_end", "predict": "on_predict_batch_end"}

# Per model (by id) the lists attached to its runs, innermost last: only that one hears the
# model's events, so an ``evaluate`` called from a callback during ``fit`` calls its own list.
_ATTACHED: dict[int, list["CallbackList"]] = {}


class CallbackList(Callback):
    """Container abstracting a list of callbacks.

    ``CallbackList(callbacks=None, add_history=False, add_progbar=False, model=None, **params)``:
    ``add_history`` appends a :class:`History` (unless one is present), ``add_progbar`` a
    :class:`ProgbarLogger` (when ``params['verbose']`` is truthy and none is present).
    ``params`` (``verbose``, ``epochs``, ``steps``) are passed to every callback.
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any) -> None:
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks: list = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback) and not _duck_callback(cb):
                raise TypeError(f"callbacks must be gk.callbacks.Callback instances, got {cb!r}.")
        self._history = None
        self._progbar = None
        self._add_default_callbacks(add_history, add_progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        from .progbar_logger import ProgbarLogger

        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: dict) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        if self._history is not None and model is not None:
            try:
                model.history = self._history
            except AttributeError:
                pass
        for cb in self.callbacks:
            cb.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    @contextlib.contextmanager
    def attached(self, model: Any) -> Iterator["CallbackList"]:
        """Call this list's hooks for ``model``'s training events while the block runs.

        Events are process-wide: those of other models (another thread's ``fit``) are ignored,
        and so are this model's events while a run nested inside the block has its own list.
        """
        stack = _ATTACHED.setdefault(id(model), [])
        subscribe = all(attached is not self for attached in stack)
        stack.append(self)
        handlers = (("run_begin", self._on_run_begin), ("run_end", self._on_run_end),
                    ("epoch_begin", self._on_epoch_begin), ("epoch_end", self._on_epoch_end),
                    ("batch_begin", self._on_batch_begin), ("batch_end", self._on_batch_end))
        if subscribe:
            for kind, handler in handlers:
                events.subscribe(kind, handler)
        try:
            yield self
        finally:
            if subscribe:
                for kind, handler in handlers:
                    events.unsubscribe(kind, handler)
            stack.pop()
            if not stack:
                del _ATTACHED[id(model)]

    def _hears(self, model: Any) -> bool:
        stack = _ATTACHED.get(id(model))
        return stack is not None and stack[-1] is self

    def _on_run_begin(self, model: Any, mode: str, logs: dict | None) -> None:
        if self._hears(model):
            getattr(self, _RUN_BEGIN[mode])(logs)

    def _on_run_end(self, model: Any, mode: str, logs: dict | None) -> None:
        if self._hears(model):
            getattr(self, _RUN_END[mode])(logs)

    def _on_epoch_begin(self, model: Any, epoch: int, logs: dict | None) -> None:
        if self._hears(model):
            self.on_epoch_begin(epoch, logs)

    def _on_epoch_end(self, model: Any, epoch: int, logs: dict | None) -> None:
        if self._hears(model):
            self.on_epoch_end(epoch, logs)

    def _on_batch_begin(self, model: Any, mode: str, batch: int, logs: dict | None) -> None:
        if self._hears(model):
            getattr(self, _BATCH_BEGIN[mode])(batch, logs)

    def _on_batch_end(self, model: Any, mode: str, batch: int, logs: dict | None) -> None:
        if self._hears(model):
            getattr(self, _BATCH_END[mode])(batch, logs)

    def _call(self, hook: str, *args: Any, logs: dict | None = None) -> None:
        # As Keras 3: logs become plain Python floats, and hooks get them positionally so
        # ``LambdaCallback(on_epoch_end=lambda e, l: ...)`` works with any parameter names.
        # A hook no callback overrides (in its class or, as LambdaCallback does, on the instance)
        # is skipped, and batch logs no listener reads (a callback's ``reads_batch_logs``) are
        # passed on as they are: neither is copied to the host.
        listeners = [cb for cb in self.callbacks
                     if _overrides(cb, hook) or (hook in _BASE_CALLS and _overrides(cb, _BASE_CALLS[hook]))]
        if not listeners:
            return
        if not hook.endswith("batch_end") or any(_reads_batch_logs(cb, hook) for cb in listeners):
            logs = pythonify_logs(logs)
        for cb in listeners:
            getattr(cb, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


def pythonify_logs(logs: dict | None) -> dict:
    """A new dict, keys sorted, scalar values (numbers, 0-d arrays, tensors) as Python floats.

    As Keras 3's ``pythonify_logs``: nested dicts are merged in by their inner keys. Device
    scalars (the CuPy backend's metric results) come over in one copy.
    """
    out: dict = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
        else:
            out[key] = value
    on_device = [key for key, value in out.items() if _device_scalar(value)]
    if on_device:
        out.update(zip(on_device, to_host_scalars([out[key] for key in on_device])))
    return {key: to_py(value) for key, value in out.items()}


def _device_scalar(value: Any) -> bool:
    data = value.data if getattr(value, "_holds_backend_array", False) else value
    return is_device_array(data) and data.size == 1


def to_py(value: Any) -> Any:
    """``value`` as a Python float when it is a scalar number, array or tensor; else unchanged."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return value
    try:
        array = to_host(value)
    except (TypeError, ValueError):  # not array-like (e.g. a ragged list): kept as it is
        return value
    if array.size == 1 and array.dtype.kind in "biuf":
        return float(array.reshape(()))
    return value


# Hooks whose base implementation calls another (Keras's ``on_train_batch_end`` -> ``on_batch_end``).
_BASE_CALLS = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _reads_batch_logs(cb: Any, hook: str) -> bool:
    """Whether ``cb``'s batch-end ``hook`` reads its logs (a callback may say it does not)."""
    reads = getattr(cb, "reads_batch_logs", None)
    return reads is None or reads(hook)


def _overrides(cb: Any, hook: str) -> bool:
    """Whether ``cb`` replaces the base no-op ``hook``: in its class, on the instance
    (``LambdaCallback``) or through attribute lookup (the hook it hands out is not the base's)."""
    method = getattr(cb, hook, None)
    return getattr(method, "__func__", method) is not getattr(Callback, hook)


def _duck_callback(obj: Any) -> bool:
    return all(hasattr(obj, h) for h in ("set_model", "set_params", "on_epoch_end", "on_train_batch_end"))
