"""Raw Open Inference Protocol tensor bytes, shared by the binary REST extension and gRPC.

A tensor's raw form is its elements in row-major order, little-endian, without padding:
``BOOL`` one byte each, integers and floats at their width, and ``BYTES`` each element as
a 4-byte little-endian length followed by that many bytes. Decoding checks that the bytes
are exactly what the shape needs, so a short, long or misaligned buffer is a 400 naming
the tensor, never a crash.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from podium.errors import InvalidInputError

__all__ = ["DATATYPES", "decode_raw", "encode_raw", "unknown_datatype"]

_NUMPY = {
    "BOOL": "?",
    "INT8": "i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "UINT8": "u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = frozenset({*_NUMPY, "BYTES"})
"""Every tensor datatype podium reads (the OIP ones but ``BF16``)."""

_REMEDY = "see https://github.com/kserve/open-inference-protocol (binary tensor data)"


def unknown_datatype(name: str, datatype: object) -> InvalidInputError:
    """The 400 for a datatype podium does not read."""
    return InvalidInputError(
        f"tensor {name!r}: 'datatype' must be one of {', '.join(sorted(DATATYPES))}; "
        f"got {datatype!r}",
        field=name,
        remedy="send one of the Open Inference Protocol datatypes listed",
    )


def decode_raw(name: str, datatype: str, shape: Sequence[int], raw: bytes) -> list[Any]:
    """The flat Python values of tensor ``name`` held in ``raw``."""
    count = math.prod(shape)
    if datatype == "BYTES":
        return _decode_bytes(name, count, raw)
    code = _NUMPY.get(datatype)
    if code is None:
        raise unknown_datatype(name, datatype)
    dtype = np.dtype(code)
    if len(raw) != count * dtype.itemsize:
        raise InvalidInputError(
            f"tensor {name!r}: shape {list(shape)} of {datatype} needs "
            f"{count * dtype.itemsize} bytes; got {len(raw)}",
            field=name,
            remedy=_REMEDY,
        )
    values: list[Any] = np.frombuffer(raw, dtype=dtype).tolist()
    return values


def _decode_bytes(name: str, count: int, raw: bytes) -> list[Any]:
    values: list[Any] = []
    offset, end = 0, len(raw)
    while offset < end:
        if offset + 4 > end or len(values) >= count:
            break
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > end:
            break
        element = raw[offset : offset + length]
        offset += length
        try:
            values.append(element.decode())
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"tensor {name!r}: element {len(values)} is not UTF-8 text",
                field=name,
                remedy="send BYTES features as UTF-8 strings",
            ) from None
    if offset != end or len(values) != count:
        raise InvalidInputError(
            f"tensor {name!r}: BYTES data must hold {count} length-prefixed elements "
            f"exactly; it does not (read {len(values)} in {offset} of {end} bytes)",
            field=name,
            remedy=_REMEDY,
        )
    return values


def encode_raw(datatype: str, values: Sequence[Any]) -> bytes:
    """``values`` (flat, row-major) as the raw bytes of a ``datatype`` tensor."""
    if datatype == "BYTES":
        parts: list[bytes] = []
        for value in values:
            data = value if isinstance(value, bytes) else str(value).encode()
            parts.append(struct.pack("<I", len(data)))
            parts.append(data)
        return b"".join(parts)
    return np.asarray(values, dtype=np.dtype(_NUMPY[datatype])).tobytes()
