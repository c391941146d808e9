"""``p.events``: the platform's event features, one attribute each.

Today it holds the schema registry (``p.events.schemas``); the event bus hangs here
too when it lands. Embedded and remote platforms build it the same way, from the area
objects of their side.
"""

from __future__ import annotations

from podium.events.schemas.protocol import Schemas

__all__ = ["EventsArea"]


class EventsArea:
    """What ``p.events`` is: ``schemas`` (:class:`~podium.events.schemas.protocol.Schemas`)."""

    def __init__(self, *, schemas: Schemas) -> None:
        self._schemas = schemas

    @property
    def schemas(self) -> Schemas:
        """The project's schema registry: subjects, versions, compatibility, validation."""
        return self._schemas

    def __repr__(self) -> str:
        return f"EventsArea(schemas={type(self._schemas).__name__})"
