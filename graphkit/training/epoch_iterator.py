"""The epochs of a data adapter, in executions of ``steps_per_execution`` batches (Keras 3's
``EpochIterator``): the loops call the batch-level callbacks once per execution."""
from __future__ import annotations

import itertools
from typing import Any, Iterable, Iterator

import numpy

from ..backend import state as backend_state
from ..graph.node import map_structure


class EpochIterator:
    """Walks ``adapter`` epoch by epoch; ``steps`` counts the batches the current epoch has read."""

    def __init__(self, adapter: Any, steps_per_execution: int = 1) -> None:
        self.adapter = adapter
        self.steps_per_execution = steps_per_execution
        self.steps = 0

    def enumerate_epoch(self) -> Iterator[tuple[int, Iterable[tuple]]]:
        """One epoch as ``(first step, batches)`` pairs, ``batches`` yielding up to
        ``steps_per_execution`` batches. Batches are read as they are run (a generator's next
        batch is not fetched before the current execution ends), so the callbacks and the data
        source interleave as they would with one batch per execution."""
        self.steps = 0
        batches = self.adapter.epoch()
        ops = backend_state.ops
        if ops.xp is not numpy:  # each batch's host arrays go to the device once, for every consumer
            batches = (map_structure(lambda a: ops.asarray(a) if a.__class__ is numpy.ndarray else a, batch)
                       for batch in batches)
        more = self.steps_per_execution > 1
        for first in batches:
            self.steps += 1
            yield self.steps - 1, self._execution(first, batches) if more else (first,)

    def _execution(self, first: tuple, batches: Iterator[tuple]) -> Iterator[tuple]:
        yield first
        for batch in itertools.islice(batches, self.steps_per_execution - 1):
            self.steps += 1
            yield batch

    def restart(self) -> None:
        """Start the next epoch from the first batch (evaluation with ``steps``, Keras 3)."""
        self.adapter.restart()
