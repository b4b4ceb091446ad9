"""Range checks of integer indices (sparse labels, embedding ids, gathers) without a host sync per batch.

:meth:`RangeCheckOps.check_index_range` raises the error its ``describe`` builds when an index
lies outside ``[low, high)``. On the host (NumPy) the check reads the values at once. On a
device, reading them is a blocking sync, so inside :meth:`RangeCheckOps.deferred_checks` (the
training loops wrap each epoch, evaluation and prediction in it) each check only folds the first
offending value, its position and the check's number into a small device array;
:meth:`RangeCheckOps.flush_deferred_checks` (each epoch's end) or the block's end reads that array
once and raises the first error, naming the batch (:meth:`RangeCheckOps.set_check_batch`, called by
the loops) and the sample. Outside such a block a device check syncs and raises at once.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy

from .host import to_host

# describe(bad value, position text) -> the exception to raise
Describe = Callable[[int, str], Exception]


class _Pending:
    """The checks deferred by one ``deferred_checks`` block."""

    __slots__ = ("record", "checks", "batch")

    def __init__(self) -> None:
        self.record: Any = None            # device int64 [found, value, flat index, check number]
        self.checks: list[tuple[Describe, tuple, int]] = []   # (describe, shape, batch) per check
        self.batch = 0


class RangeCheckOps:
    """Index range checks; mixed into :class:`~graphkit.backend.ops.Ops` (needs ``self.xp``)."""

    xp: Any

    def check_index_range(self, values, high: int, describe: Describe, low: int = 0) -> None:
        """Raise ``describe(value, position)`` for the first of ``values`` outside ``[low, high)``."""
        if not values.size:
            return
        xp = self.xp
        if xp is numpy:
            if values.min() < low or values.max() >= high:
                self._raise_out_of_range(values, low, high, describe, None)
            return
        pending = self.__dict__.get("_pending_checks")
        if pending is None:  # one host sync, now
            if bool(((values < low) | (values >= high)).any()):
                self._raise_out_of_range(to_host(values), low, high, describe, None)
            return
        flat = values.reshape(-1)
        bad = (flat < low) | (flat >= high)
        first = bad.view(numpy.uint8).argmax()  # the first offending entry (0 when there is none)
        entry = xp.stack([bad[first].astype(numpy.int64), flat[first].astype(numpy.int64), first.astype(numpy.int64),
                          xp.full((), len(pending.checks), dtype=numpy.int64)])
        pending.record = entry if pending.record is None else xp.where(pending.record[0] != 0, pending.record, entry)
        pending.checks.append((describe, tuple(values.shape), pending.batch))

    def _raise_out_of_range(self, values: numpy.ndarray, low: int, high: int, describe: Describe,
                            batch: int | None) -> None:
        flat = values.reshape(-1)
        first = int(numpy.flatnonzero((flat < low) | (flat >= high))[0])
        raise describe(int(flat[first]), _position(first, values.shape, batch))

    def set_check_batch(self, batch: int) -> None:
        """Name ``batch`` in the errors of the checks deferred from now on (the loops call this)."""
        pending = self.__dict__.get("_pending_checks")
        if pending is not None:
            pending.batch = batch

    @contextlib.contextmanager
    def deferred_checks(self) -> Iterator[None]:
        """Defer device range checks to :meth:`flush_deferred_checks` or the end of the block (no
        host sync per batch). A nested block belongs to the outermost one; an error leaving the
        block skips the final read."""
        if self.xp is numpy or "_pending_checks" in self.__dict__:
            yield
            return
        self.__dict__["_pending_checks"] = _Pending()
        try:
            yield
            self.flush_deferred_checks()
        finally:
            del self.__dict__["_pending_checks"]

    def flush_deferred_checks(self) -> None:
        """Read the checks deferred so far (one host sync, when there are any) and raise the first
        failure's error."""
        pending = self.__dict__.get("_pending_checks")
        if pending is None or pending.record is None:
            return
        record, checks = pending.record, pending.checks
        pending.record, pending.checks = None, []
        found, value, index, check = to_host(record).tolist()
        if found:
            describe, shape, batch = checks[check]
            raise describe(value, _position(index, shape, batch))


def _position(flat_index: int, shape: tuple, batch: int | None) -> str:
    if len(shape) <= 1:
        where = f"sample {flat_index}"
    else:
        where = f"index {tuple(int(i) for i in numpy.unravel_index(flat_index, shape))}"
    return where if batch is None else f"batch {batch}, {where}"
