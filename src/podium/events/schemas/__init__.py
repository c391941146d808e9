"""The schema registry: subjects with versioned JSON Schemas and compatibility modes.

``p.events.schemas.register("churn-in", json_schema, compatibility="backward")`` stores
version 1, 2, ... of a subject, refusing a version that breaks the subject's mode with a
409 naming the field; ``p.events.schemas.validate("churn-in", event)`` checks an event
against the latest version (or a pinned one). See docs/schemas.md and ADR 0024.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.lazy import lazy_exports

if TYPE_CHECKING:
    from podium.events.schemas.area import EventsArea
    from podium.events.schemas.compatibility import (
        COMPATIBILITY_MODES,
        DEFAULT_COMPATIBILITY,
        check_compatibility,
    )
    from podium.events.schemas.models import (
        CompatibilityCheck,
        SchemaSubject,
        SchemaValidation,
        SchemaVersion,
    )
    from podium.events.schemas.protocol import Schemas
    from podium.events.schemas.service import (
        INCOMPATIBLE_SCHEMA,
        SCHEMA_REGISTERED,
        SchemaRegistry,
    )
    from podium.events.schemas.validation import SCHEMA_VIOLATION

# jsonschema is loaded on first use: `podium schemas --help` needs none of it.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EventsArea": "podium.events.schemas.area",
        "COMPATIBILITY_MODES": "podium.events.schemas.compatibility",
        "DEFAULT_COMPATIBILITY": "podium.events.schemas.compatibility",
        "check_compatibility": "podium.events.schemas.compatibility",
        "CompatibilityCheck": "podium.events.schemas.models",
        "SchemaVersion": "podium.events.schemas.models",
        "SchemaSubject": "podium.events.schemas.models",
        "SchemaValidation": "podium.events.schemas.models",
        "Schemas": "podium.events.schemas.protocol",
        "INCOMPATIBLE_SCHEMA": "podium.events.schemas.service",
        "SCHEMA_REGISTERED": "podium.events.schemas.service",
        "SchemaRegistry": "podium.events.schemas.service",
        "SCHEMA_VIOLATION": "podium.events.schemas.validation",
    },
)

__all__ = [
    "COMPATIBILITY_MODES",
    "DEFAULT_COMPATIBILITY",
    "INCOMPATIBLE_SCHEMA",
    "SCHEMA_REGISTERED",
    "SCHEMA_VIOLATION",
    "CompatibilityCheck",
    "EventsArea",
    "SchemaRegistry",
    "SchemaSubject",
    "SchemaValidation",
    "SchemaVersion",
    "Schemas",
    "check_compatibility",
]
