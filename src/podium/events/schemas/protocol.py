"""The schema registry's interface (``p.events.schemas``), embedded and over HTTP.

Subjects (``churn-in``) hold numbered, immutable JSON Schema versions; a subject's
compatibility mode decides which new versions it accepts (see
:mod:`podium.events.schemas.compatibility`). Producers and the stream predictor call
:meth:`Schemas.validate` on every event; it compiles each schema once and looks the
latest version up at most once per ``cache_seconds`` (1 s by default).
"""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from podium.events.schemas.models import (
    CompatibilityCheck,
    SchemaSubject,
    SchemaValidation,
    SchemaVersion,
)

__all__ = ["Schemas"]


class Schemas(Protocol):
    """A project's schema registry: subjects, their versions and compatibility modes.

    Readers read, check and validate; writers register; admins change a subject's
    compatibility and delete subjects. Over HTTP any method may also raise
    :class:`~podium.errors.AuthenticationError`,
    :class:`~podium.errors.PermissionDeniedError` or
    :class:`~podium.errors.BackendUnavailableError`.
    """

    def register(
        self, subject: str, schema: dict[str, Any], *, compatibility: str | None = None
    ) -> SchemaVersion:
        """Register ``schema`` (a JSON Schema object) as the next version of ``subject``
        (created on first use, version 1) and return that version.

        Registering a schema the subject already holds returns the existing version
        (idempotent). ``compatibility`` sets the mode of a new subject (default
        ``backward``); for an existing one it must equal its mode (change it with
        :meth:`set_compatibility`). Raises :class:`~podium.errors.InvalidInputError`
        (code ``invalid-schema``) for a schema that is not a valid JSON Schema or a bad
        subject name or mode, and :class:`~podium.errors.ConflictError` (code
        ``incompatible-schema``, 409) when the schema breaks the subject's mode: the
        message names each field and why, ``details["problems"]`` lists them all.
        Records a ``schema.registered`` event.
        """
        ...

    def check(self, subject: str, schema: dict[str, Any]) -> CompatibilityCheck:
        """Whether ``schema`` could be registered under ``subject`` now, without
        registering it: the mode, the versions compared and every problem found (a new
        subject is always compatible). Raises :class:`~podium.errors.InvalidInputError`
        for an invalid schema."""
        ...

    def validate(
        self, subject: str, document: Any, *, version: int | None = None
    ) -> SchemaValidation:
        """Check ``document`` against version ``version`` of ``subject`` (default: the
        latest) and return which version it matched.

        Raises :class:`~podium.errors.InvalidInputError` (code ``schema-violation``)
        naming the JSON path and the reason (``field`` is the path, e.g.
        ``$.features.tenure``; ``details["errors"]`` lists up to ten failures), and
        :class:`~podium.errors.NotFoundError` for an unknown subject or version.
        """
        ...

    def get(self, subject: str, version: int | None = None) -> SchemaVersion:
        """Version ``version`` of ``subject`` (default: the latest), with its schema.
        Raises :class:`~podium.errors.NotFoundError` for an unknown subject or version."""
        ...

    def versions(self, subject: str) -> builtins.list[SchemaVersion]:
        """Every version of ``subject``, oldest first. Raises
        :class:`~podium.errors.NotFoundError` for an unknown subject."""
        ...

    def subject(self, subject: str) -> SchemaSubject:
        """The subject: its compatibility mode and latest version. Raises
        :class:`~podium.errors.NotFoundError` for an unknown subject."""
        ...

    def subjects(self) -> builtins.list[SchemaSubject]:
        """Every subject of the project, by name."""
        ...

    def set_compatibility(self, subject: str, compatibility: str) -> SchemaSubject:
        """Change the compatibility mode of ``subject`` (any of
        ``podium.events.schemas.COMPATIBILITY_MODES``); later registrations are checked
        with it, existing versions stay. Needs the admin role. Raises
        :class:`~podium.errors.InvalidInputError` for an unknown mode and
        :class:`~podium.errors.NotFoundError` for an unknown subject."""
        ...

    def delete(self, subject: str) -> None:
        """Delete ``subject`` and every version of it (producers validating against it
        then get :class:`~podium.errors.NotFoundError`). Needs the admin role. Raises
        :class:`~podium.errors.NotFoundError` for an unknown subject."""
        ...
