"""Stream addresses: ``redis://HOST:PORT/DB?stream=NAME`` and ``nats://HOST:PORT?subject=NAME``.

A :class:`StreamUrl` names one stream (Redis) or subject (NATS) on one server. The
dead-letter stream of ``NAME`` is ``NAME.dead`` on the same server unless another URL is
given (:meth:`StreamUrl.dead_letter`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from podium.errors import InvalidInputError

__all__ = ["StreamUrl", "parse_stream_url"]

Scheme = Literal["redis", "nats"]
_PARAMETER: dict[str, str] = {"redis": "stream", "nats": "subject"}
_EXAMPLES = "redis://127.0.0.1:6379/0?stream=churn-in or nats://127.0.0.1:4222?subject=churn-in"


@dataclass(frozen=True)
class StreamUrl:
    """One stream on one server."""

    scheme: Scheme
    server: str
    """The server's own URL without the stream part (what redis-py or nats-py connect to)."""
    name: str
    """The Redis stream key or the NATS subject."""

    def __str__(self) -> str:
        joint = "&" if "?" in self.server else "?"
        return f"{self.server}{joint}{_PARAMETER[self.scheme]}={self.name}"

    def dead_letter(self) -> StreamUrl:
        """The default dead-letter stream: ``NAME.dead`` on the same server."""
        return replace(self, name=f"{self.name}.dead")


def parse_stream_url(url: str, *, option: str = "url") -> StreamUrl:
    """``url`` parsed, or :class:`InvalidInputError` naming ``option`` and the fix."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _PARAMETER:
        raise InvalidInputError(
            f"the {option} must be a redis:// or nats:// stream URL; got {url!r} instead",
            field=option,
            remedy=f"pass e.g. {_EXAMPLES}",
        )
    parameter = _PARAMETER[scheme]
    query = parse_qs(parts.query, keep_blank_values=True)
    names = query.pop(parameter, [])
    if len(names) != 1 or not names[0].strip():
        raise InvalidInputError(
            f"the {option} {url!r} names no {parameter}",
            field=option,
            remedy=f"add ?{parameter}=NAME, e.g. {_EXAMPLES}",
        )
    if not parts.hostname:
        raise InvalidInputError(
            f"the {option} {url!r} names no host", field=option, remedy=f"pass e.g. {_EXAMPLES}"
        )
    rest = "&".join(f"{key}={value}" for key, values in query.items() for value in values)
    server = urlunsplit((scheme, parts.netloc, parts.path, rest, ""))
    return StreamUrl(scheme=scheme, server=server, name=names[0].strip())  # type: ignore[arg-type]
