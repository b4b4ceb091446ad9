"""TFRecord framing: ``uint64 length, uint32 masked CRC-32C of the length, data,
uint32 masked CRC-32C of the data`` (all little-endian).

:func:`frame` wraps one payload for writing; :func:`scan` finds the complete records of a buffer
that may end in the middle of one (a writer still appending), checks both CRCs, and says where
reading should resume.
"""
from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass

import numpy

from .crc32c import crc32c_segments, masked_crc32c

HEADER_BYTES = 12          # length + its CRC
FOOTER_BYTES = 4           # the data's CRC

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_HEADERS: dict[int, bytes] = {}      # data length -> its 12 header bytes


def header(length: int) -> bytes:
    """The 12 bytes framing a payload of ``length`` bytes (cached: lengths repeat)."""
    framed = _HEADERS.get(length)
    if framed is None:
        length_bytes = length.to_bytes(8, "little")
        framed = _HEADERS[length] = length_bytes + _CRC.pack(masked_crc32c(length_bytes))
    return framed


def frame(data: bytes) -> bytes:
    """One record holding ``data``."""
    return header(len(data)) + data + _CRC.pack(masked_crc32c(data))


@dataclass(frozen=True)
class Scan:
    """The records found in a buffer: where each payload starts and its length (the records
    with a bad data CRC left out), and ``end``, the offset after the last complete record."""
    starts: numpy.ndarray
    lengths: numpy.ndarray
    end: int


def scan(buffer: bytes, name: str = "<buffer>", offset: int = 0) -> Scan:
    """The complete records of ``buffer``; ``name`` and ``offset`` (the buffer's place in its
    file) only make warnings precise.

    A record whose data CRC is wrong is skipped with a warning. A length whose CRC is wrong
    cannot be trusted, so reading resynchronises at the next position that holds a valid
    length and CRC (with a warning). A record cut short by the end of ``buffer`` ends the scan.
    """
    starts: list[int] = []
    lengths: list[int] = []
    known: dict[int, int] = {}                       # length -> masked CRC of its 8 bytes
    unpack = _HEADER.unpack_from
    position, size = 0, len(buffer)
    while position + HEADER_BYTES <= size:
        length, stored = unpack(buffer, position)
        expected = known.get(length)
        if expected is None:
            expected = known[length] = masked_crc32c(buffer[position:position + 8])
        if stored != expected:
            found = _next_valid_header(buffer, position + 1)
            warnings.warn(f"{name}: corrupt record length at byte {offset + position}; "
                          f"{'skipped to byte ' + str(offset + found) if found < size else 'nothing valid after it'}",
                          RuntimeWarning, stacklevel=3)
            if found >= size:
                position = size
                break
            position = found
            continue
        end = position + HEADER_BYTES + length + FOOTER_BYTES
        if end > size:
            break
        starts.append(position + HEADER_BYTES)
        lengths.append(length)
        position = end
    starts_array = numpy.array(starts, dtype=numpy.int64)
    lengths_array = numpy.array(lengths, dtype=numpy.int64)
    valid = _data_crc_ok(buffer, starts_array, lengths_array)
    if not valid.all():
        for bad in numpy.flatnonzero(~valid):
            warnings.warn(f"{name}: record at byte {offset + int(starts_array[bad]) - HEADER_BYTES} "
                          f"has a bad data CRC; skipped", RuntimeWarning, stacklevel=3)
        starts_array, lengths_array = starts_array[valid], lengths_array[valid]
    return Scan(starts_array, lengths_array, position)


def _data_crc_ok(buffer: bytes, starts: numpy.ndarray, lengths: numpy.ndarray) -> numpy.ndarray:
    array = numpy.frombuffer(buffer, dtype=numpy.uint8)
    computed = crc32c_segments(array, starts, lengths, width=_row_width(lengths))
    return _mask_array(computed) == _u32_at(array, starts + lengths)


def _u32_at(array: numpy.ndarray, positions: numpy.ndarray) -> numpy.ndarray:
    """The little-endian uint32 stored at each position."""
    return array[positions[:, None] + numpy.arange(4)].view("<u4")[:, 0]


def _mask_array(crc: numpy.ndarray) -> numpy.ndarray:
    return ((crc >> numpy.uint32(15)) | (crc << numpy.uint32(17))) + numpy.uint32(0xA282EAD8)


def _row_width(lengths: numpy.ndarray) -> int:
    """A row width near the typical record (one row for most scalar events), from 16 to 256."""
    if lengths.size == 0:
        return 64
    typical = int(numpy.median(lengths))
    return min(256, max(16, (typical + 3) // 4 * 4))


def _next_valid_header(buffer: bytes, start: int) -> int:
    """The first position from ``start`` whose 8 bytes match the masked CRC after them."""
    array = numpy.frombuffer(buffer, dtype=numpy.uint8)
    candidates = numpy.arange(start, len(buffer) - HEADER_BYTES + 1, dtype=numpy.int64)
    if candidates.size == 0:
        return len(buffer)
    crcs = _mask_array(crc32c_segments(array, candidates, numpy.full(candidates.size, 8), width=8))
    hits = numpy.flatnonzero(crcs == _u32_at(array, candidates + 8))
    return int(candidates[hits[0]]) if hits.size else len(buffer)
