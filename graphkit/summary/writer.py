"""SummaryWriter: one append-only TensorBoard event file with a small in-memory queue.

Records are framed as they are written and queued; the queue goes to the file (one unbuffered
write of whole records, so a reader never sees a record that will change) when it holds more
than ``max_queue`` records, at the first write ``flush_millis`` after the last flush, on
``flush()``/``close()``, when leaving ``as_default()``, and at interpreter exit.

A scalar record is built from a per-tag template: the event's bytes are
``09 <wall_time> [10 <step varint>] <constant summary bytes for the tag> <float>``; its CRC is
carried through the variable bytes and jumps over the constant ones (:class:`ZeroShift`).
"""
from __future__ import annotations

import array
import contextlib
import itertools
import os
import socket
import struct
import threading
import time
import weakref
from typing import Any, Iterator

from . import messages
from .context import CONTEXT
from .crc32c import WORD_HIGH, WORD_LOW, TABLE, ZeroShift, crc32c_update
from .records import HEADERS, frame, header
from .wire import float32_bytes, varint

_FILE_COUNTER = itertools.count()
_WALL = struct.Struct("<Bd")
_WALL_WORDS = struct.Struct("<xII")
_CRC = struct.Struct("<I")
_FULL = 0xFFFFFFFF
_AFTER_09 = TABLE[(_FULL ^ 0x09) & 0xFF] ^ (_FULL >> 8)   # register after 09, wall_time's key
# Feeding the little-endian word w to register r: _LOW[(r ^ w) & 0xFFFF] ^ _HIGH[(r ^ w) >> 16]
# (array.array: Python ints on indexing, 256 KiB each instead of a list's 2.5 MiB).
_LOW = array.array("I", WORD_LOW.tobytes())
_HIGH = array.array("I", WORD_HIGH.tobytes())


class _ScalarTemplate:
    """The constant part of one tag's scalar events (``tail``: event field 5 up to the float)
    and what it does to the CRC register: ``skip`` (the tables of ``ZeroShift`` over its
    length) and ``register`` (its own CRC from a zero register)."""

    __slots__ = ("tail", "skip", "register", "size")

    def __init__(self, tag: str) -> None:
        summary = messages.summary([messages.summary_value(tag, simple_value=0.0)])
        self.tail = b"\x2a" + varint(len(summary)) + summary[:-4]
        self.skip = ZeroShift.zero_bytes(len(self.tail)).as_lists()
        self.register = crc32c_update(0, self.tail)
        self.size = 9 + len(self.tail) + 4          # the event's bytes without its step field


_SMALL_STEPS = [b""] + [bytes((0x10, step)) for step in range(1, 0x80)]   # step 0 is left out


class _EventFile:
    """The open file and its queue of framed records (kept apart from SummaryWriter so that a
    finalizer can flush it when the writer is garbage-collected or the interpreter exits).
    The file is unbuffered: each flush is one ``write`` of whole records, straight to the OS."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file = open(path, "xb", buffering=0)
        self.queue: list[bytes] = []
        self.lock = threading.Lock()

    def flush(self) -> None:
        with self.lock:
            count = len(self.queue)
            if not count or self.file.closed:
                return
            data = memoryview(b"".join(self.queue[:count]))
            del self.queue[:count]               # records appended meanwhile stay queued
            while data:
                data = data[self.file.write(data):]

    def close(self) -> None:
        self.flush()
        with self.lock:
            self.file.close()


class SummaryWriter:
    """Writes summaries to one new event file in ``logdir``; see :func:`create_file_writer`."""

    def __init__(self, logdir: str, max_queue: int = 10, flush_millis: int = 120000,
                 filename_suffix: str = ".v2") -> None:
        logdir = os.fspath(logdir)
        os.makedirs(logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_FILE_COUNTER)}{filename_suffix}")
        self.logdir = logdir
        self._file = _EventFile(os.path.join(logdir, name))
        self._finalizer = weakref.finalize(self, self._file.close)
        self._max_queue = max(0, int(max_queue))
        self._flush_seconds = flush_millis / 1000.0
        self._flush_due = time.time() + self._flush_seconds
        self._scalar_templates: dict[str, _ScalarTemplate] = {}
        self._closed = False
        self.write_event(messages.event(time.time(), file_version=messages.FILE_VERSION))
        self.flush()

    @property
    def path(self) -> str:
        """The event file's path."""
        return self._file.path

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"SummaryWriter({self.path!r}{', closed' if self.closed else ''})"

    # ------------------------------------------------------------ default writer
    @contextlib.contextmanager
    def as_default(self, step: Any = None) -> Iterator["SummaryWriter"]:
        """Make this the default writer (and ``step`` the default step, if given) inside a
        ``with`` block; the previous ones come back and the writer is flushed on exit."""
        previous = CONTEXT.writer, CONTEXT.step
        CONTEXT.writer = self
        if step is not None:
            CONTEXT.step = step
        try:
            yield self
        finally:
            CONTEXT.writer, CONTEXT.step = previous
            if not self.closed:
                self.flush()

    def set_as_default(self, step: Any = None) -> None:
        """Make this the default writer for the rest of the thread (and ``step`` the default
        step, if given)."""
        CONTEXT.writer = self
        if step is not None:
            CONTEXT.step = step

    # ------------------------------------------------------------ writing
    def write_scalar(self, tag: str, value: float, step: int) -> None:
        """Queue one scalar event (``value`` a float, ``step`` an int). The hot path of
        ``gk.summary.scalar``, hence written out in one function."""
        template = self._scalar_templates.get(tag)
        if template is None:
            template = self._scalar_templates[tag] = _ScalarTemplate(tag)
        now = time.time()
        wall = _WALL.pack(9, now)                  # field 1 (wall_time): 09 and a double
        if 0 <= step < 0x80:
            step_field = _SMALL_STEPS[step]
        elif 0x80 <= step < 0x4000:
            step_field = bytes((0x10, (step & 0x7F) | 0x80, step >> 7))
        else:
            step_field = b"\x10" + varint(step)
        float_bytes = float32_bytes(value)
        # The CRC register through the double: two four-byte steps from the register after 09.
        low, high, table = _LOW, _HIGH, TABLE
        first, second = _WALL_WORDS.unpack(wall)
        register = _AFTER_09 ^ first
        register = low[register & 0xFFFF] ^ high[register >> 16] ^ second
        register = low[register & 0xFFFF] ^ high[register >> 16]
        for byte in step_field:
            register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
        t0, t1, t2, t3 = template.skip            # jump over the tag's constant bytes
        register = (t0[register & 0xFF] ^ t1[(register >> 8) & 0xFF] ^ t2[(register >> 16) & 0xFF]
                    ^ t3[register >> 24] ^ template.register ^ int.from_bytes(float_bytes, "little"))
        crc = low[register & 0xFFFF] ^ high[register >> 16] ^ _FULL
        size = template.size + len(step_field)
        record = b"".join((HEADERS.get(size) or header(size), wall, step_field, template.tail, float_bytes,
                           _CRC.pack(((((crc >> 15) | (crc << 17)) & _FULL) + 0xA282EAD8) & _FULL)))
        self._queue(record, now)

    def write_event(self, event: bytes) -> None:
        """Queue one encoded ``Event``."""
        self._queue(frame(event), time.time())

    def _queue(self, record: bytes, now: float) -> None:
        if self._closed:
            raise ValueError(f"summary writer for {self.path} is closed")
        queue = self._file.queue
        queue.append(record)
        if len(queue) > self._max_queue or now >= self._flush_due:
            self.flush()

    def flush(self) -> None:
        """Write the queued records to the file (one unbuffered write)."""
        self._file.flush()
        self._flush_due = time.time() + self._flush_seconds

    def close(self) -> None:
        """Flush and close the file; later writes raise ``ValueError``. A writer that was this
        thread's default is the default no more."""
        self._closed = True
        self._finalizer()
        if CONTEXT.writer is self:
            CONTEXT.writer = None
