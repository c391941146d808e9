"""What the event bus accepts: topic, group and consumer names, and message bodies.

One set of rules for every backend, so a name that works on the embedded bus works on
Redis and NATS too: letters, digits, ``_``, ``-`` and ``.`` (a NATS subject token
separator), starting with a letter or digit, at most 200 characters.
"""

from __future__ import annotations

import json
import re
from typing import Any

from podium.errors import InvalidInputError

__all__ = ["NAME_PATTERN", "check_body", "check_group_settings", "check_name", "encode_body"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$"
_NAME = re.compile(NAME_PATTERN)


def check_name(value: object, *, kind: str) -> str:
    """``value`` if it is a valid ``kind`` name (``topic``, ``group``, ``consumer``)."""
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value or value.endswith("."):
        raise InvalidInputError(
            f"the {kind} name must match {NAME_PATTERN} (no empty '.'-separated part); "
            f"got {value!r} instead",
            field=kind,
            remedy=f"name the {kind} with letters, digits, '_', '-' and '.', "
            "e.g. 'podium.events' or 'churn-scores'",
        )
    return value


def check_body(body: object) -> dict[str, Any]:
    """``body`` if it is a JSON object (a dict of JSON values)."""
    if not isinstance(body, dict):
        raise InvalidInputError(
            f"a message body must be a JSON object; got {body.__class__.__name__} instead",
            field="body",
            remedy='wrap the value in an object, e.g. {"value": ...}',
        )
    return body


def encode_body(body: object) -> str:
    """The compact JSON text of a checked ``body``."""
    try:
        return json.dumps(check_body(body), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the message body is not JSON-serialisable: {exc}",
            field="body",
            remedy="convert datetimes to ISO strings and numpy values to Python numbers",
        ) from exc


def check_group_settings(visibility_timeout: float, max_deliveries: int) -> None:
    """Raise ``InvalidInputError`` unless both settings of a consumer group are valid."""
    if not visibility_timeout > 0:
        raise InvalidInputError(
            f"the visibility_timeout must be positive seconds; got {visibility_timeout!r}",
            field="visibility_timeout",
            remedy="pass the seconds a consumer has to acknowledge, e.g. 30",
        )
    if not isinstance(max_deliveries, int) or max_deliveries < 1:
        raise InvalidInputError(
            f"max_deliveries must be an integer of at least 1; got {max_deliveries!r}",
            field="max_deliveries",
            remedy="pass how many deliveries a message gets before it is a dead letter, e.g. 5",
        )
