"""Input events of a stream: decoded and checked, or rejected with a reason.

An input event carries ``id`` (the event id, a non-empty string or an integer) and
``features`` (a JSON object, as in ``POST /v1/predictions``). On Redis these are the
stream entry's fields, ``features`` holding JSON text; on NATS the message body is one
JSON object ``{"id": ..., "features": {...}}``. Anything else is a :class:`Rejected`
event, which goes to the dead-letter stream with its ``reason``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from podium.streaming.streams import Message

__all__ = ["Event", "Rejected", "dead_letter", "decode", "fields_of"]


@dataclass(frozen=True)
class Event:
    """A well-formed input event."""

    id: str
    features: dict[str, Any]
    message: Message


@dataclass(frozen=True)
class Rejected:
    """An event that cannot be scored, and why."""

    message: Message
    reason: str
    id: str | None = None


def decode(message: Message) -> Event | Rejected:
    """``message`` as an :class:`Event`, or :class:`Rejected` with the reason."""
    if message.body is not None:
        try:
            document = orjson.loads(message.body)
        except orjson.JSONDecodeError as exc:
            return Rejected(message, f"invalid-json: the message body is not JSON ({exc})")
        if not isinstance(document, dict):
            return Rejected(message, "invalid-event: the message body must be a JSON object")
        raw_id, features = document.get("id"), document.get("features")
    else:
        fields = message.fields or {}
        raw_id, text = fields.get("id"), fields.get("features")
        features = None
        if text is not None:
            try:
                features = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                return Rejected(
                    message, f"invalid-json: the 'features' field is not JSON ({exc})", _id(raw_id)
                )
    event_id = _id(raw_id)
    if event_id is None:
        return Rejected(message, "missing-id: the event has no 'id' (a non-empty string)")
    if features is None:
        return Rejected(message, "missing-features: the event has no 'features'", event_id)
    if not isinstance(features, dict):
        return Rejected(message, "invalid-features: 'features' must be a JSON object", event_id)
    return Event(event_id, features, message)


def _id(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def dead_letter(rejected: Rejected) -> dict[str, Any]:
    """The dead-letter document: ``reason``, ``id`` (when the event had one), the stream
    position ``key`` and the original ``event`` as text."""
    message = rejected.message
    if message.body is not None:
        original = message.body.decode("utf-8", errors="replace")
    else:
        original = json.dumps(dict(message.fields or {}), sort_keys=True)
    document: dict[str, Any] = {"reason": rejected.reason, "key": message.key, "event": original}
    if rejected.id is not None:
        document["id"] = rejected.id
    return document


def fields_of(document: Mapping[str, Any]) -> dict[str, str]:
    """A document as Redis stream entry fields: strings as they are, the rest as JSON."""
    return {
        name: value if isinstance(value, str) else orjson.dumps(value).decode()
        for name, value in document.items()
    }
