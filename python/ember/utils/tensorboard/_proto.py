"""Protocol-buffer wire encoding for the handful of messages an event file holds.

Each message is built directly as bytes: a field is a key (field number << 3 |
wire type) followed by its payload, and a sub-message is a length-delimited
field holding its own encoding. Fields are written in field-number order, as
protobuf's serializers write them, so the bytes match the reference writer's.
Proto3 leaves scalar fields at their zero value out of the encoding, except
members of a `oneof`, which are written whenever set: callers pass
`always=True` for those.
"""

import struct

import numpy as np

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


def varint(value):
    """Base-128 varint; negative int64/int32 values take ten bytes (two's complement)."""
    value = int(value)
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number, wire_type):
    return varint(number << 3 | wire_type)


def uint(number, value, always=False):
    """An int32/int64/enum/bool field."""
    if not value and not always:
        return b""
    return _key(number, _VARINT) + varint(value)


def double(number, value, always=False):
    if value == 0 and not always and not np.signbit(value):
        return b""
    return _key(number, _FIXED64) + struct.pack("<d", float(value))


def _float32_bytes(values):
    # numpy rounds to nearest and overflows to inf as protobuf's C cast does;
    # struct.pack('<f') would raise on values beyond float32's range.
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype("<f4").tobytes()


def float32(number, value, always=False):
    if value == 0 and not always and not np.signbit(value):
        return b""
    return _key(number, _FIXED32) + _float32_bytes([value])


def string(number, value, always=False):
    """A string (str, written as UTF-8) or bytes field."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not value and not always:
        return b""
    return _key(number, _LEN) + varint(len(value)) + value


def message(number, payload):
    """A sub-message that is set: written even when its own encoding is empty."""
    if payload is None:
        return b""
    return _key(number, _LEN) + varint(len(payload)) + payload


def packed_doubles(number, values):
    data = np.asarray(values, dtype="<f8").tobytes()
    return message(number, data) if data else b""


def packed_floats(number, values):
    data = _float32_bytes(values)
    return message(number, data) if data else b""
