"""CRC-32C (Castagnoli), the checksum of TFRecord framing, in two shapes.

- :func:`crc32c_update` / :func:`crc32c`: the byte-at-a-time table loop, for the writer, which
  checksums one short record at a time (and skips the constant part of a scalar record with a
  :class:`ZeroShift`).
- :func:`crc32c_segments`: many segments of one buffer at once with numpy, for the reader.
  Each segment is cut into rows of ``width`` bytes, its first row padded at the front with
  zeros (the register starts at the value those zeros turn into the standard initial value);
  the rows are checksummed column by column (four bytes a step through two 16-bit tables) and
  each row's register is moved to its segment's end with :class:`ZeroShift` powers before the
  rows of a segment are XOR-ed together (the CRC update is linear over GF(2)).

A CRC here is the *register* value unless the name says otherwise: ``crc32c`` applies the
standard initial value and final inversion; ``masked_crc32c`` is TFRecord's rotated form.
"""
from __future__ import annotations

import numpy

POLYNOMIAL = 0x82F63B78          # CRC-32C, bit-reflected
_FULL = 0xFFFFFFFF
_MASK_DELTA = 0xA282EAD8


def _byte_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (POLYNOMIAL if crc & 1 else 0)
        table.append(crc)
    return table


TABLE = _byte_table()


def crc32c_update(register: int, data: bytes) -> int:
    """The CRC register after feeding ``data`` to it (no initial value, no final inversion)."""
    table = TABLE
    for byte in data:
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    return register


def crc32c(data: bytes) -> int:
    """The standard CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``)."""
    return crc32c_update(_FULL, data) ^ _FULL


def mask(crc: int) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant (mod 2**32)."""
    return ((((crc >> 15) | (crc << 17)) & _FULL) + _MASK_DELTA) & _FULL


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that TFRecord framing stores after a length and after a payload."""
    return mask(crc32c(data))


class ZeroShift:
    """The linear map "feed ``n`` zero bytes to the register", as four 256-entry tables
    (one per register byte), so a register can skip ``n`` bytes whose own CRC is known:
    ``register(A + B) == shift[len(B)](register(A)) ^ register_from_zero(B)``."""

    __slots__ = ("tables",)

    def __init__(self, tables: numpy.ndarray) -> None:
        self.tables = tables                       # (4, 256) uint32

    @classmethod
    def zero_bytes(cls, n: int) -> "ZeroShift":
        """The map for ``n`` zero bytes (squaring the one-byte map along ``n``'s binary digits)."""
        result = None
        power = cls._one_byte()
        while n:
            if n & 1:
                result = power if result is None else result.then(power)
            n >>= 1
            if n:
                power = power.then(power)
        return result if result is not None else cls._identity()

    @classmethod
    def _one_byte(cls) -> "ZeroShift":
        byte = numpy.arange(256, dtype=numpy.uint32)
        low = numpy.array(TABLE, dtype=numpy.uint32)          # register byte 0 goes through the table
        return cls(numpy.stack([low, byte, byte << 8, byte << 16]))  # the others move down a byte

    @classmethod
    def _identity(cls) -> "ZeroShift":
        byte = numpy.arange(256, dtype=numpy.uint32)
        return cls(numpy.stack([byte, byte << 8, byte << 16, byte << 24]))

    def then(self, other: "ZeroShift") -> "ZeroShift":
        """This map followed by ``other``."""
        return ZeroShift(other.apply_array(self.tables.reshape(-1)).reshape(4, 256))

    def as_lists(self) -> list[list[int]]:
        """The four tables as lists of Python ints (fast to index from Python code):
        the map sends ``r`` to ``t0[r & 0xFF] ^ t1[(r >> 8) & 0xFF] ^ t2[(r >> 16) & 0xFF] ^ t3[r >> 24]``."""
        return [row.tolist() for row in self.tables]

    def apply_array(self, registers: numpy.ndarray) -> numpy.ndarray:
        t0, t1, t2, t3 = self.tables
        return (t0[registers & 0xFF] ^ t1[(registers >> 8) & 0xFF]
                ^ t2[(registers >> 16) & 0xFF] ^ t3[registers >> 24])


def _word_tables() -> tuple[numpy.ndarray, numpy.ndarray]:
    """Feeding a 32-bit little-endian word ``w`` to register ``r`` gives
    ``low[(r ^ w) & 0xFFFF] ^ high[(r ^ w) >> 16]`` (the four-zero-byte map, split in halves)."""
    four = ZeroShift.zero_bytes(4).tables
    half = numpy.arange(65536, dtype=numpy.uint32)
    low = four[0][half & 0xFF] ^ four[1][half >> 8]
    high = four[2][half & 0xFF] ^ four[3][half >> 8]
    return low, high


WORD_LOW, WORD_HIGH = _word_tables()
_POWERS = [ZeroShift.zero_bytes(1)]       # _POWERS[k] feeds 2**k zero bytes


def _shift_arrays(registers: numpy.ndarray, zero_bytes: numpy.ndarray) -> numpy.ndarray:
    """Each register fed its own number of zero bytes (one pass per binary digit)."""
    top = int(zero_bytes.max()).bit_length() if zero_bytes.size else 0
    while len(_POWERS) < top:
        _POWERS.append(_POWERS[-1].then(_POWERS[-1]))
    registers = registers.copy()
    for bit in range(top):
        selected = numpy.flatnonzero((zero_bytes >> bit) & 1)
        if selected.size:
            registers[selected] = _POWERS[bit].apply_array(registers[selected])
    return registers


def _registers_before_zeros(count: int) -> numpy.ndarray:
    """Entry p: the register that ``p`` zero bytes turn into 0xFFFFFFFF (the standard initial
    value), found by stepping the one-byte update backwards (the table's top bytes are all
    different, so each step has one inverse)."""
    index_of_top = {value >> 24: index for index, value in enumerate(TABLE)}
    registers = [_FULL]
    for _ in range(count):
        after = registers[-1]
        index = index_of_top[after >> 24]
        registers.append((((after ^ TABLE[index]) << 8) | index) & _FULL)
    return numpy.array(registers, dtype=numpy.uint32)


_START = _registers_before_zeros(256)
_PAD_MASKS: dict[int, numpy.ndarray] = {}


def _pad_masks(width: int) -> numpy.ndarray:
    """``[c, p]``: the mask keeping the bytes of a row's word ``c`` at positions ``>= p``."""
    if width not in _PAD_MASKS:
        keep = numpy.arange(width)[None, :] >= numpy.arange(width + 1)[:, None]   # (pad, byte)
        _PAD_MASKS[width] = (numpy.where(keep, 0xFF, 0).astype(numpy.uint8)
                             .view("<u4").T.copy())
    return _PAD_MASKS[width]


def crc32c_segments(buffer: numpy.ndarray, starts: numpy.ndarray, lengths: numpy.ndarray,
                    width: int = 64) -> numpy.ndarray:
    """The standard CRC-32C of each ``buffer[start:start + length]`` (uint32 array).

    ``buffer`` is a uint8 array; ``width`` (a multiple of 4, at most 256) is the row size:
    segments longer than it take several rows whose CRCs are combined.
    """
    if width % 4 or not 4 <= width <= 256:
        raise ValueError(f"crc32c_segments: width must be a multiple of 4 from 4 to 256, got {width}.")
    starts = numpy.asarray(starts, dtype=numpy.int64)
    lengths = numpy.asarray(lengths, dtype=numpy.int64)
    if starts.size == 0:
        return numpy.zeros(0, dtype=numpy.uint32)
    rows_per_segment = numpy.maximum((lengths + width - 1) // width, 1)
    one_row = rows_per_segment == 1
    single = bool(one_row.all())
    if not single and one_row.any():                   # the cheap one-row path for most of them
        result = numpy.empty(starts.size, dtype=numpy.uint32)
        for chosen in (one_row, ~one_row):
            result[chosen] = crc32c_segments(buffer, starts[chosen], lengths[chosen], width)
        return result
    front_pad = rows_per_segment * width - lengths
    if single:
        first_row = segment_of_row = numpy.arange(starts.size)
        row_in_segment, total_rows = 0, starts.size
    else:
        first_row = numpy.zeros(starts.size, dtype=numpy.int64)
        numpy.cumsum(rows_per_segment[:-1], out=first_row[1:])
        total_rows = int(first_row[-1] + rows_per_segment[-1])
        segment_of_row = numpy.repeat(numpy.arange(starts.size), rows_per_segment)
        row_in_segment = numpy.arange(total_rows) - first_row[segment_of_row]

    # Row r of a segment starts width * r - front_pad bytes after the segment's start: the
    # bytes in front of the segment are masked to zeros, and the first row's register starts at
    # the value that those zeros turn into the standard initial value.
    source = (starts - front_pad)[segment_of_row] + width * row_in_segment
    if source.min() < 0:                                # a segment near the buffer's start
        buffer, source = numpy.concatenate([numpy.zeros(width, numpy.uint8), buffer]), source + width
    words = numpy.lib.stride_tricks.sliding_window_view(buffer, width)[source].view("<u4")
    if single:
        register, pad_of_row = _START[front_pad], front_pad
    else:
        register = numpy.zeros(total_rows, dtype=numpy.uint32)
        register[first_row] = _START[front_pad]
        pad_of_row = numpy.zeros(total_rows, dtype=numpy.int64)
        pad_of_row[first_row] = front_pad
    masks, widest_pad = _pad_masks(width), int(front_pad.max())
    for column in range(width // 4):
        word = words[:, column]
        register = register ^ (word & masks[column][pad_of_row] if 4 * column < widest_pad else word)
        register = WORD_LOW[register & 0xFFFF] ^ WORD_HIGH[register >> 16]
    if not single:                       # move each row's CRC over the rows after it, then fold
        rows_after = rows_per_segment[segment_of_row] - 1 - row_in_segment
        register = numpy.bitwise_xor.reduceat(_shift_arrays(register, rows_after * width), first_row)
    return register ^ numpy.uint32(_FULL)
