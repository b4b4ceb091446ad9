"""Which of a model's steps are the user's, decided once per model class.

Keras 3 lets a ``Model`` subclass override ``train_step``, ``test_step``, ``predict_step`` and
``compute_loss``. graphkit's loops skip the public step methods when they are the built-in ones
(the lean path ``bench/train_step.py`` times), so every loop asks :func:`dispatch_for` which
path a batch takes; nothing else in the package tests for overrides.
"""
from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable, TypeVar

from ..engine.autograd import no_grad
from .data_adapter import pack_x_y_sample_weight

_BUILTIN = "_graphkit_builtin_step"
_Method = TypeVar("_Method", bound=Callable)


def builtin(method: _Method) -> _Method:
    """Mark a ``Trainer`` method as the built-in step that a model class may override."""
    setattr(method, _BUILTIN, True)
    return method


def _overridden(model_class: type, name: str) -> bool:
    return not getattr(getattr(model_class, name), _BUILTIN, False)


class StepDispatch:
    """The override decisions of one model class and the batch runs that follow from them.

    A batch is in the loops' form ``(x, per-output targets, per-output sample weights)``; an
    overridden step receives Keras's ``(x, y, sample_weight)`` in the user's structure.
    """

    __slots__ = ("custom_train_step", "custom_test_step", "custom_predict_step", "custom_compute_loss",
                 "compute_loss_takes_training")

    def __init__(self, model_class: type) -> None:
        self.custom_train_step = _overridden(model_class, "train_step")
        self.custom_test_step = _overridden(model_class, "test_step")
        self.custom_predict_step = _overridden(model_class, "predict_step")
        self.custom_compute_loss = _overridden(model_class, "compute_loss")
        # Keras 3 passes ``training`` to an overridden compute_loss only when it takes it.
        self.compute_loss_takes_training = "training" in inspect.signature(model_class.compute_loss).parameters

    def train(self, model: Any, plan: Any, batch: tuple) -> tuple[Any, dict | None]:
        """One training batch: ``(batch loss, logs)``; logs are None on the built-in path (the
        compiled metrics hold them) and the dict an overridden ``train_step`` returned otherwise."""
        if self.custom_train_step:
            logs = model.train_step(_user_data(plan, batch)) or {}
            return logs.get("loss"), logs
        return model._train_batch(*batch), None

    def test(self, model: Any, plan: Any, batch: tuple) -> dict | None:
        """One evaluation batch: None on the built-in path, else ``test_step``'s logs."""
        if self.custom_test_step:
            return model.test_step(_user_data(plan, batch)) or {}
        model._test_batch(*batch)
        return None

    def predict(self, model: Any, x: Any) -> Any:
        """The outputs for one batch of inputs, in inference mode."""
        if self.custom_predict_step:
            return model.predict_step((x,))
        with no_grad():
            return model(x, training=False)

    def compute_loss(self, model: Any, plan: Any, x: Any, ys: list | None, y_pred: Any, sws: list | None,
                     training: bool) -> Any:
        """An overridden ``compute_loss`` called with the user's target structures."""
        args = (x, plan.unflatten_targets(ys), y_pred, plan.unflatten_targets(sws))
        if self.compute_loss_takes_training:
            return model.compute_loss(*args, training=training)
        return model.compute_loss(*args)


def _user_data(plan: Any, batch: tuple) -> tuple:
    x, ys, sws = batch
    return pack_x_y_sample_weight(x, plan.unflatten_targets(ys), plan.unflatten_targets(sws))


_DISPATCH: "weakref.WeakKeyDictionary[type, StepDispatch]" = weakref.WeakKeyDictionary()


def dispatch_for(model_class: type) -> StepDispatch:
    """The :class:`StepDispatch` of ``model_class`` (computed on first use, then cached)."""
    found = _DISPATCH.get(model_class)
    if found is None:
        found = _DISPATCH[model_class] = StepDispatch(model_class)
    return found
