"""Raw tensor bytes: every datatype round-trips, and a malformed buffer is a 400."""

from __future__ import annotations

import struct

import pytest

from podium.errors import InvalidInputError
from podium.serving.http.oip_raw import DATATYPES, decode_raw, encode_raw

SAMPLES = {
    "BOOL": [True, False, True, True],
    "FP16": [0.5, -2.0, 1.25, 0.0],
    "FP32": [0.5, -2.0, 1.25, 1024.0],
    "FP64": [0.1, -2.5, 89.99, 1e300],
    "BYTES": ["a", "", "naïve", "x" * 300],
    **{t: [0, 1, 7, 100] for t in ("UINT8", "UINT16", "UINT32", "UINT64")},
    **{t: [0, -1, 7, -100] for t in ("INT8", "INT16", "INT32", "INT64")},
}


@pytest.mark.parametrize("datatype", sorted(DATATYPES))
def test_every_datatype_round_trips_in_row_major_order(datatype: str) -> None:
    values = SAMPLES[datatype]
    raw = encode_raw(datatype, values)
    assert decode_raw("t", datatype, [2, 2], raw) == values


def test_raw_bytes_are_little_endian_and_bytes_are_length_prefixed() -> None:
    assert encode_raw("INT32", [1]) == b"\x01\x00\x00\x00"
    assert encode_raw("BYTES", ["ab"]) == struct.pack("<I", 2) + b"ab"


@pytest.mark.parametrize(
    ("datatype", "raw", "message"),
    [
        ("INT64", b"\0" * 12, "needs 16 bytes; got 12"),
        ("BYTES", struct.pack("<I", 1) + b"a", "must hold 2 length-prefixed elements"),
        ("BYTES", struct.pack("<I", 1) + b"a" + struct.pack("<I", 50), "must hold 2"),
        ("BYTES", (struct.pack("<I", 1) + b"\xff") * 2, "not UTF-8"),
        ("BF16", b"\0" * 4, "'datatype' must be one of"),
    ],
)
def test_a_malformed_buffer_is_an_invalid_input_naming_the_tensor(
    datatype: str, raw: bytes, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as error:
        decode_raw("t", datatype, [2], raw)
    assert error.value.field == "t"
