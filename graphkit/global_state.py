"""graphkit's run-time state, all in one place (what Keras keeps in ``global_state``).

Two kinds of state:

- per thread (:data:`THREAD`): what one thread is doing right now, so a model trained in a
  background thread and a model built in the notebook's main thread never see each other's
  tapes, name scopes or ``training`` flags;
- per process (:data:`PROCESS`, :data:`SUBSCRIBERS`): the active backend, generated-name counters
  (shared, so two threads never hand out the same ``dense_3``) and the event subscribers
  (``graphkit.events``).

:func:`clear_session` resets both (the backend choice excepted, see its docstring). This module
imports nothing from graphkit, so every layer of the package may use it.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

# Event kinds carried by graphkit.events; each holds a tuple of subscribers in SUBSCRIBERS.
EVENT_KINDS = (
    "primitive",         # every primitive call, forward and backward
    "layer_call",        # every layer call, symbolic (a recorded node) and eager (timed)
    "model",             # a Functional/Sequential model made (or failing to be made)
    "run_begin", "run_end",        # fit / evaluate / predict start and end
    "epoch_begin", "epoch_end",
    "batch_begin", "batch_end",
    "optimizer_update",  # one optimizer.apply(...) over a list of variables
    "function_call",     # a gk.function call (and the concrete function that ran or was traced)
)


class _Subscribers:
    """One tuple of callables per event kind; a publish site reads one attribute."""

    __slots__ = EVENT_KINDS

    def __init__(self) -> None:
        for kind in EVENT_KINDS:
            setattr(self, kind, ())


class _ThreadState(threading.local):
    """What the current thread is doing. Class attributes are each new thread's defaults."""

    tapes: tuple = ()                   # keys of the GradientTapes recording in this thread
    scope_stack: list                   # gk.name_scope prefixes (a fresh list per thread)
    call_training: bool | None = None   # the ``training`` flag an outer layer call passes down

    def __init__(self) -> None:
        self.scope_stack = []


class _ProcessState:
    """State shared by every thread of the process."""

    __slots__ = ("ops", "backends", "default_seed", "host_rng", "name_counts", "name_lock", "subscribe_lock",
                 "reset_hooks")

    def __init__(self) -> None:
        self.ops: Any = None                      # the active backend (set by graphkit.backend)
        self.backends: dict[str, Any] = {}        # backends started so far, by name ("numpy", "cupy")
        self.default_seed: int | None = None      # gk.random.set_seed's seed, for backends started later
        self.host_rng: Any = None                 # numpy generator of host-side draws (fit's shuffling)
        self.name_counts: dict[str, int] = {}     # generated names: dense, dense_1, ...
        self.name_lock = threading.Lock()
        self.subscribe_lock = threading.Lock()
        self.reset_hooks: list[Callable[[], None]] = []   # extra resets registered by upper layers


THREAD = _ThreadState()
PROCESS = _ProcessState()
SUBSCRIBERS = _Subscribers()   # graphkit.events' subscribers; publish sites test one attribute


def unique_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``… across all threads (reset by :func:`clear_session`)."""
    with PROCESS.name_lock:
        count = PROCESS.name_counts.get(base, 0)
        PROCESS.name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def on_reset(hook: Callable[[], None]) -> Callable[[], None]:
    """Register ``hook`` to run on every :func:`clear_session` (for state kept above this module,
    e.g. caches); returns it, so it can decorate."""
    PROCESS.reset_hooks.append(hook)
    return hook


def clear_session() -> None:
    """Reset graphkit's run-time state: generated names start again (the next Dense is ``dense``),
    this thread's tapes, name scopes and training flag are cleared, and every event subscriber
    (live views, tracers) is dropped. The active backend and the random seed stay as chosen, as
    with Keras, whose ``clear_session`` keeps the backend."""
    with PROCESS.name_lock:
        PROCESS.name_counts.clear()
    with PROCESS.subscribe_lock:
        for kind in EVENT_KINDS:
            setattr(SUBSCRIBERS, kind, ())
    THREAD.tapes = ()
    THREAD.scope_stack = []
    THREAD.call_training = None
    for hook in list(PROCESS.reset_hooks):
        hook()
