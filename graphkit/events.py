"""One publish/subscribe point for what graphkit does at run time.

The live view, training callbacks and the tracer all subscribe here; engine, layers, models and
optimizers publish. A publish site with no subscriber costs one attribute check::

    if SUBSCRIBERS.layer_call:
        events.publish("layer_call", layer, args, outputs, node, error, start_ns, end_ns)

The hottest sites (``Primitive.apply``, the tape's backward, an eager ``Layer`` call) read the
subscriber tuple once and call each subscriber directly, which is the same thing without the
``publish`` call.

Event kinds and the positional arguments their subscribers receive:

==================  ==================================================================================
``primitive``        ``(prim, inputs, outputs, attrs, start_ns, end_ns, phase)``: one primitive call;
                     ``phase`` is ``"forward"`` or ``"backward"`` (then ``outputs`` is None and
                     ``inputs`` are the forward inputs); times from ``time.perf_counter_ns``.
``layer_call``       ``(layer, args, outputs, node, error, start_ns, end_ns)``: a layer call. A symbolic
                     call carries the recorded graph ``node``, or, when it failed, ``node`` and
                     ``outputs`` None and ``error`` the exception about to be raised; its times are
                     None. An eager call (on data: a model's layers too, and the dry runs that
                     infer a symbolic call's output shapes) has ``node`` and ``error`` None and is
                     timed around ``call`` (after the first build); one that raises publishes nothing.
                     So ``node is not None or error is not None`` tells a symbolic call.
``model``            ``(model, error)``: a Functional/Sequential model now holds its layers (again on a
                     Sequential's ``add``/``pop``), or making it raised ``error``.
``run_begin``        ``(model, mode, logs)``: ``fit``/``evaluate``/``predict`` starts; ``mode`` is
``run_end``          ``"train"``, ``"test"`` or ``"predict"``.
``epoch_begin``      ``(model, epoch, logs)``: one training epoch (0-based).
``epoch_end``
``batch_begin``      ``(model, mode, batch, logs)``: one batch of ``mode`` (0-based within its epoch).
``batch_end``
``optimizer_update`` ``(optimizer, variables, start_ns, end_ns)``: one ``apply`` of gradients.
``function_call``    ``(function, concrete_function)``: a ``gk.function`` traced a new concrete
                     function (its op graph) or is about to run one it has.
==================  ==================================================================================

Subscribers are process-wide: events published from a background thread reach them too, so a
subscriber that cares filters on the object it was made for (a model, a thread). Exceptions
raised by a subscriber propagate to the publisher (a callback that raises stops ``fit``, as in
Keras); subscribers that must never break user code (drawing) catch their own errors.
``gk.utils.clear_session()`` drops every subscriber.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from .global_state import EVENT_KINDS, PROCESS, SUBSCRIBERS

__all__ = ["EVENT_KINDS", "SUBSCRIBERS", "publish", "subscribe", "unsubscribe", "subscribed"]


def _check_kind(kind: str) -> None:
    if kind not in EVENT_KINDS:
        raise ValueError(f"Unknown graphkit event kind {kind!r}; valid kinds: {', '.join(EVENT_KINDS)}.")


def subscribe(kind: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``callback(*payload)`` on every event of ``kind`` from now on; returns ``callback``."""
    _check_kind(kind)
    with PROCESS.subscribe_lock:
        setattr(SUBSCRIBERS, kind, getattr(SUBSCRIBERS, kind) + (callback,))
    return callback


def unsubscribe(kind: str, callback: Callable[..., Any]) -> None:
    """Stop calling ``callback`` (or an equal one: ``obj.method`` is a new object at each access)
    for ``kind``; nothing happens if it was not subscribed."""
    _check_kind(kind)
    with PROCESS.subscribe_lock:
        setattr(SUBSCRIBERS, kind, tuple(c for c in getattr(SUBSCRIBERS, kind) if c != callback))


@contextlib.contextmanager
def subscribed(kind: str, callback: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Subscribe ``callback`` to ``kind`` for the duration of a ``with`` block."""
    subscribe(kind, callback)
    try:
        yield callback
    finally:
        unsubscribe(kind, callback)


def publish(kind: str, *payload: Any) -> None:
    """Tell every subscriber of ``kind`` about an event (call sites test ``SUBSCRIBERS.<kind>``
    first, so that an event nobody listens to costs one attribute check)."""
    for callback in getattr(SUBSCRIBERS, kind):
        callback(*payload)
