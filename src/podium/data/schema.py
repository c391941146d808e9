"""Schema enforcement: the column-by-column difference between a table and incoming data.

Types are compared after normalising representations Arrow treats as the same logical
type (``string``/``large_string``/``string_view``, and the like) and after widening that
loses nothing (an ``int32`` column appends to an ``int64`` table; a ``float32`` to a
``float64`` one). Anything else is a difference the user must resolve explicitly.
"""

from __future__ import annotations

import pyarrow as pa  # type: ignore[import-untyped]

__all__ = ["diff_schemas"]

_INTEGERS = [pa.int8(), pa.int16(), pa.int32(), pa.int64()]
_FLOATS = [pa.float16(), pa.float32(), pa.float64()]


def _normalise(dtype: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return pa.string()
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return pa.binary()
    if pa.types.is_dictionary(dtype):
        return _normalise(dtype.value_type)
    if pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype):
        return pa.list_(_normalise(dtype.value_type))
    if pa.types.is_list(dtype):
        return pa.list_(_normalise(dtype.value_type))
    if pa.types.is_timestamp(dtype):
        # Delta stores microseconds; any unit writes losslessly enough for comparison.
        return pa.timestamp("us", tz="UTC" if dtype.tz else None)
    return dtype


def _widens_to(incoming: pa.DataType, table: pa.DataType) -> bool:
    for family in (_INTEGERS, _FLOATS):
        if incoming in family and table in family:
            return family.index(incoming) <= family.index(table)
    return False


def _compatible(incoming: pa.DataType, table: pa.DataType) -> bool:
    a, b = _normalise(incoming), _normalise(table)
    return a == b or _widens_to(a, b)


def diff_schemas(table: pa.Schema, incoming: pa.Schema) -> list[str]:
    """Every difference between a table's schema and incoming data, one line per column.

    An empty list means the data can be written as is.
    """
    lines: list[str] = []
    incoming_names = set(incoming.names)
    for field in table:
        if field.name not in incoming_names:
            lines.append(f"missing column '{field.name}' ({field.type})")
    for field in incoming:
        if field.name not in table.names:
            lines.append(f"extra column '{field.name}' ({field.type})")
            continue
        expected = table.field(field.name).type
        if not _compatible(field.type, expected):
            lines.append(
                f"column '{field.name}' type changed: table has {expected}, got {field.type}"
            )
    return lines
