"""Entity keys: checked against the entity's key types and encoded for the online store.

A key is the join key values as text, joined by ``\\x1f`` (materialization builds the
same text in DuckDB with ``CAST(key AS VARCHAR)``). Types are checked first, so the
integer 7 and the string "7" can never be confused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

from podium.errors import InvalidInputError

__all__ = ["KEY_SEPARATOR", "encode_key"]

KEY_SEPARATOR = "\x1f"
_MISSING = object()


def _text(value: Any, key: str, key_type: str) -> str:
    if key_type == "int64":
        if isinstance(value, Integral) and not isinstance(value, bool):
            if not -(2**63) <= int(value) < 2**63:
                raise InvalidInputError(
                    f"join key '{key}' is outside the int64 range: {value}", field=key
                )
            return str(int(value))
    elif isinstance(value, str):
        if KEY_SEPARATOR in value:
            raise InvalidInputError(
                f"join key '{key}' contains a control character (\\x1f)", field=key
            )
        return value
    expected = "an integer" if key_type == "int64" else "a string"
    raise InvalidInputError(
        f"join key '{key}' must be {expected} ({key_type}); got {value!r} "
        f"({type(value).__name__}) instead",
        field=key,
        remedy=f"pass {key} as {expected}",
    )


def encode_key(row: Mapping[str, Any], join_keys: Sequence[str], key_types: Sequence[str]) -> str:
    """The online key of ``row``; raises naming the join key that is missing or mistyped."""
    if len(join_keys) == 1:  # the common case, kept short: it runs once per entity row
        value = row.get(join_keys[0], _MISSING)
        if type(value) is int and key_types[0] == "int64" and -(2**63) <= value < 2**63:
            return str(value)
        if type(value) is str and key_types[0] == "string" and KEY_SEPARATOR not in value:
            return value
    parts = []
    for key, key_type in zip(join_keys, key_types, strict=True):
        if key not in row:
            raise InvalidInputError(
                f"entity row {dict(row)!r} has no join key '{key}'",
                field=key,
                remedy=f"add '{key}' to every entity row",
            )
        parts.append(_text(row[key], key, key_type))
    return KEY_SEPARATOR.join(parts)
