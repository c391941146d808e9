"""What the schema registry hands out: subjects, versions, compatibility verdicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["CompatibilityCheck", "SchemaSubject", "SchemaValidation", "SchemaVersion"]


class SchemaSubject(BaseModel):
    """A named, versioned JSON Schema of a project (e.g. the events of ``churn-in``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    compatibility: str
    """How a new version must relate to the earlier ones: see :data:`COMPATIBILITY_MODES`."""
    latest_version: int
    versions: int
    created_at: datetime
    updated_at: datetime


class SchemaVersion(BaseModel):
    """One immutable version of a subject's JSON Schema (versions count from 1)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    version: int
    json_schema: dict[str, Any]
    fingerprint: str
    """SHA-256 of the schema's canonical JSON: equal schemas have equal fingerprints."""
    created_by: str
    created_at: datetime


class CompatibilityCheck(BaseModel):
    """Whether a schema could be registered under a subject now, and why not."""

    model_config = ConfigDict(frozen=True)

    subject: str
    compatibility: str
    compatible: bool
    against: list[int]
    """The versions the schema was compared with (none for a new subject or mode none)."""
    problems: list[str]
    """One line per incompatibility, naming the field and why, e.g. ``backward
    incompatible with version 1: field 'tenure' became required``."""
    existing_version: int | None = None
    """The version that already holds this very schema (registering returns it)."""


class SchemaValidation(BaseModel):
    """A document matched a subject's schema: which version it was checked against."""

    model_config = ConfigDict(frozen=True)

    subject: str
    version: int
