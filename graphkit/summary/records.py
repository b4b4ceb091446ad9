"""TFRecord framing: ``uint64 length, uint32 masked CRC-32C of the length, data,
uint32 masked CRC-32C of the data`` (all little-endian).

:func:`frame` wraps one payload for writing; :func:`scan` finds the complete records of a buffer
that may end in the middle of one (a writer still appending), checks both CRCs, and says where
reading should resume.
"""
from __future__ import annotations

import functools
import struct
import warnings
from dataclasses import dataclass

import numpy

from .crc32c import crc32c_segments, masked_crc32c

HEADER_BYTES = 12          # length + its CRC
FOOTER_BYTES = 4           # the data's CRC

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
HEADERS: dict[int, bytes] = {}      # data length -> its 12 header bytes


def header(length: int) -> bytes:
    """The 12 bytes framing a payload of ``length`` bytes (cached: lengths repeat)."""
    framed = HEADERS.get(length)
    if framed is None:
        length_bytes = length.to_bytes(8, "little")
        framed = HEADERS[length] = length_bytes + _CRC.pack(masked_crc32c(length_bytes))
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
    array = numpy.frombuffer(buffer, dtype=numpy.uint8)
    chained, position = _header_chain(array)
    walked, position = _walk(buffer, position, name, offset)
    headers = numpy.concatenate([chained, numpy.array(walked, dtype=numpy.int64)])
    lengths = unaligned(array, "<u8")[headers].astype(numpy.int64)
    starts = headers + HEADER_BYTES
    valid = _data_crc_ok(array, starts, lengths)
    if not valid.all():
        for bad in numpy.flatnonzero(~valid):
            warnings.warn(f"{name}: record at byte {offset + int(headers[bad])} has a bad data CRC; "
                          "skipped", RuntimeWarning, stacklevel=3)
        starts, lengths = starts[valid], lengths[valid]
    return Scan(starts, lengths, position)


def _header_chain(array: numpy.ndarray) -> tuple[numpy.ndarray, int]:
    """The headers of the records from the buffer's start found without a Python loop, and the
    position after them (0 and nothing when this quick way is not sure).

    Every position whose 8 length bytes end in five zero bytes (a record under 16 MiB) and match
    the CRC after them is a header candidate; the candidates are the records when each one's
    end is the next one's start, starting at 0.
    """
    none = numpy.zeros(0, dtype=numpy.int64), 0
    count = array.size - HEADER_BYTES + 1               # positions with a whole header after them
    if count <= 0:
        return none
    zero = array == 0
    small = zero[3:3 + count] & zero[4:4 + count] & zero[5:5 + count] & zero[6:6 + count] & zero[7:7 + count]
    candidates = numpy.flatnonzero(small)
    if candidates.size == 0 or candidates[0] != 0:
        return none
    # A header's record ends where the next header starts (or past the buffer's end): this
    # drops most false candidates before the CRC check, which drops the rest.
    ends = candidates + (HEADER_BYTES + FOOTER_BYTES) + unaligned(array, "<u4")[candidates].astype(numpy.int64)
    kept = (ends >= count) | small[numpy.minimum(ends, count - 1)]
    candidates, ends = candidates[kept], ends[kept]
    lengths = unaligned(array, "<u8")[candidates]
    valid = header_crcs(lengths) == unaligned(array, "<u4")[candidates + 8]
    headers, ends = candidates[valid], ends[valid]
    if headers.size == 0 or headers[0] != 0 or (ends[:-1] != headers[1:]).any():
        return none
    if ends[-1] > array.size:                             # the last record is still being written
        headers, ends = headers[:-1], ends[:-1]
    return headers, int(ends[-1]) if ends.size else 0


def header_crcs(lengths: numpy.ndarray) -> numpy.ndarray:
    """The masked CRC of each length's 8 bytes (a table for lengths under 64 KiB)."""
    lengths = lengths.astype("<u8")
    crcs = _small_header_crcs()[numpy.minimum(lengths, _SMALL_LENGTHS - 1)]
    large = numpy.flatnonzero(lengths >= _SMALL_LENGTHS)
    if large.size:
        crcs[large] = _length_crcs(lengths[large])
    return crcs


_SMALL_LENGTHS = 1 << 16


@functools.lru_cache(maxsize=None)
def _small_header_crcs() -> numpy.ndarray:
    return _length_crcs(numpy.arange(_SMALL_LENGTHS, dtype="<u8"))


def _length_crcs(lengths: numpy.ndarray) -> numpy.ndarray:
    as_bytes = lengths.astype("<u8").view(numpy.uint8)
    return _mask_array(crc32c_segments(as_bytes, numpy.arange(lengths.size) * 8, numpy.full(lengths.size, 8), width=8))


def _walk(buffer: bytes, position: int, name: str, offset: int) -> tuple[list[int], int]:
    """The record headers from ``position`` on, one at a time, and the position after them."""
    headers: list[int] = []
    known: dict[int, int] = {}                       # length -> masked CRC of its 8 bytes
    unpack = _HEADER.unpack_from
    size = len(buffer)
    while position + HEADER_BYTES <= size:
        length, stored = unpack(buffer, position)
        expected = known.get(length)
        if expected is None:
            expected = known[length] = masked_crc32c(buffer[position:position + 8])
        if stored != expected:
            found = _next_valid_header(buffer, position + 1)
            warnings.warn(f"{name}: corrupt record length at byte {offset + position}; "
                          + (f"skipped to byte {offset + found}" if found < size else "nothing valid after it"),
                          RuntimeWarning, stacklevel=4)
            position = found
            continue
        end = position + HEADER_BYTES + length + FOOTER_BYTES
        if end > size:
            break
        headers.append(position)
        position = end
    return headers, position


def _data_crc_ok(array: numpy.ndarray, starts: numpy.ndarray, lengths: numpy.ndarray) -> numpy.ndarray:
    computed = crc32c_segments(array, starts, lengths, width=_row_width(lengths))
    return _mask_array(computed) == unaligned(array, "<u4")[starts + lengths]


def unaligned(array: numpy.ndarray, dtype: str) -> numpy.ndarray:
    """``array`` (uint8) read as ``dtype`` at every byte offset: ``unaligned(a, "<u4")[i]`` is
    the little-endian uint32 in ``a[i:i + 4]``."""
    itemsize = numpy.dtype(dtype).itemsize
    return numpy.ndarray(shape=(max(0, array.size - itemsize + 1),), dtype=dtype, buffer=array,
                         strides=(1,))


def _mask_array(crc: numpy.ndarray) -> numpy.ndarray:
    return ((crc >> numpy.uint32(15)) | (crc << numpy.uint32(17))) + numpy.uint32(0xA282EAD8)


def _row_width(lengths: numpy.ndarray) -> int:
    """A row width that holds nine records in ten in one row (from 16 to 256 bytes), judged on
    a sample spread over the buffer (steps, and so record sizes, grow along a file)."""
    if lengths.size == 0:
        return 64
    sample = lengths[::max(1, lengths.size // 1000)]
    typical = int(numpy.percentile(sample, 90))
    return min(256, max(16, (typical + 3) // 4 * 4))


def _next_valid_header(buffer: bytes, start: int) -> int:
    """The first position from ``start`` whose 8 bytes match the masked CRC after them."""
    array = numpy.frombuffer(buffer, dtype=numpy.uint8)
    candidates = numpy.arange(start, len(buffer) - HEADER_BYTES + 1, dtype=numpy.int64)
    if candidates.size == 0:
        return len(buffer)
    stored = unaligned(array, "<u4")[candidates + 8]
    hits = numpy.flatnonzero(header_crcs(unaligned(array, "<u8")[candidates]) == stored)
    return int(candidates[hits[0]]) if hits.size else len(buffer)
