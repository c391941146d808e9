"""Reading an MLflow request: a JSON body (POST, PATCH, DELETE) or query parameters (GET).

The MLflow client sends protobuf messages as JSON with the proto's field names. Every
accessor checks one field and raises :class:`~podium.errors.InvalidInputError` (MLflow's
``INVALID_PARAMETER_VALUE``) naming it, so a malformed request is a 400 that says which
field and what was expected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from podium.errors import InvalidInputError

__all__ = ["Fields", "read_fields"]

_INT64 = 2**63


class Fields:
    """The fields of one request, with typed accessors."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def has(self, name: str) -> bool:
        """Whether the request sets ``name`` (to anything but null)."""
        return self._values.get(name) is not None

    def text(self, name: str, *, default: str | None = None) -> str:
        """The string ``name``; required unless ``default`` is given."""
        value = self._values.get(name)
        if value is None or value == "":
            if default is None:
                raise _missing(name)
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str):
            raise _wrong(name, "a string", value)
        return value

    def integer(self, name: str, *, default: int | None = None) -> int:
        """The 64-bit integer ``name`` (a number, or its text as protobuf JSON allows)."""
        value = self._values.get(name)
        if value is None:
            if default is None:
                raise _missing(name)
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise _wrong(name, "an integer", value) from None
        if isinstance(value, bool) or not isinstance(value, int) or not -_INT64 <= value < _INT64:
            raise _wrong(name, "a 64-bit integer", value)
        return value

    def number(self, name: str) -> float:
        """The finite number ``name`` (required)."""
        value = self._values.get(name)
        if value is None:
            raise _missing(name)
        if isinstance(value, str):  # protobuf JSON may quote a double ("NaN" aside)
            try:
                value = float(value)
            except ValueError:
                raise _wrong(name, "a number", value) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(name, "a number", value)
        if not math.isfinite(value):
            raise _wrong(name, "a finite number", value)
        return float(value)

    def flag(self, name: str) -> bool:
        """The boolean ``name`` (false when absent)."""
        value = self._values.get(name, False)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise _wrong(name, "true or false", value)
        return value

    def texts(self, name: str) -> list[str]:
        """The repeated string ``name`` (empty when absent)."""
        value = self._values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            raise _wrong(name, "a list of strings", value)
        return list(items)

    def messages(self, name: str, *, limit: int | None = None) -> list[Fields]:
        """The repeated message ``name`` (empty when absent), at most ``limit`` of them."""
        return [Fields(item) for item in self.objects(name, limit=limit)]

    def objects(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The repeated message ``name`` as plain dicts, for callers that check every
        field themselves (the metric points of a batch)."""
        value = self._values.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise _wrong(name, "a list of objects", value)
        if limit is not None and len(value) > limit:
            raise InvalidInputError(
                f"'{name}' holds {len(value)} items; at most {limit} are allowed per request",
                field=name,
                remedy=f"send at most {limit} per request",
            )
        return value

    def message(self, name: str) -> Fields:
        """The nested message ``name`` (empty when absent)."""
        value = self._values.get(name)
        if value is None:
            return Fields({})
        if not isinstance(value, dict):
            raise _wrong(name, "an object", value)
        return Fields(value)

    def pairs(self, name: str) -> dict[str, str]:
        """A repeated ``{"key": ..., "value": ...}`` message (tags, params) as a dict."""
        return {item.text("key"): item.text("value", default="") for item in self.messages(name)}


async def read_fields(request: Request) -> Fields:
    """The request's fields: its query parameters for GET, else its JSON body."""
    if request.method in ("GET", "HEAD"):
        values: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in values:
                previous = values[key]
                values[key] = (
                    [*previous, value] if isinstance(previous, list) else [previous, value]
                )
            else:
                values[key] = value
        return Fields(values)
    raw = await request.body()
    if not raw.strip():
        return Fields({})
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(
            "the request body is not valid JSON",
            remedy="send the request message as a JSON object",
        ) from None
    if not isinstance(body, dict):
        raise InvalidInputError(
            "the request body must be a JSON object",
            remedy="send the request message as a JSON object",
        )
    return Fields(body)


def _missing(name: str) -> InvalidInputError:
    return InvalidInputError(
        f"Missing value for required parameter '{name}'",
        field=name,
        remedy=f"set '{name}' in the request",
    )


def _wrong(name: str, expected: str, value: Any) -> InvalidInputError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return InvalidInputError(
        f"the '{name}' parameter must be {expected}; got {shown} instead",
        field=name,
        remedy=f"send '{name}' as {expected}",
    )
