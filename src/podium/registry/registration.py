"""Writing a new version: the model row on first use, the next number, the provenance.

Numbers are allocated as ``max(version) + 1`` under a lock on the model's row
(PostgreSQL; SQLite serialises writers anyway). The unique index on
``(project, model, version)`` is the backstop: a registration that loses a race anyway
(for instance when two create the model at the same moment) fails with an IntegrityError
and the caller retries the whole transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.errors import InvalidInputError
from podium.registry.queries import latest_version
from podium.registry.tables import ModelVersionRow, RegisteredModelRow
from podium.registry.types import ModelPolicy
from podium.store.base import utcnow
from podium.tracking.types import Run

__all__ = ["ALLOCATION_ATTEMPTS", "add_version", "check_tags", "provenance"]

ALLOCATION_ATTEMPTS = 8
"""Transactions tried before a registration that keeps colliding gives up."""


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """``tags`` as a dict of text to text, else an :class:`InvalidInputError`."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise InvalidInputError(
            f"tags must map text to text; got {tags!r} instead",
            field="tags",
            remedy="pass tags={'team': 'growth'}; convert values with str()",
        )
    return dict(tags)


def provenance(run: Run | None) -> dict[str, Any]:
    """What a version copies from its run: id, metrics, input tables, code version."""
    if run is None:
        return {"run_id": None, "metrics": {}, "inputs": [], "code_version": None}
    commit = run.environment.get("git_commit")
    return {
        "run_id": run.id,
        "metrics": dict(run.metrics),
        "inputs": list(run.inputs),
        "code_version": str(commit)[:64] if commit else None,
    }


def add_version(
    session: Session, project_id: int, name: str, *, description: str, **fields: Any
) -> ModelVersionRow:
    """Insert the next version of ``name`` (creating the model) and flush it."""
    _ensure_model(session, project_id, name, description)
    row = ModelVersionRow(
        id=uuid.uuid4().hex,
        project_id=project_id,
        model_name=name,
        version=(latest_version(session, project_id, name) or 0) + 1,
        stage="none",
        description=description,
        created_at=utcnow(),
        **fields,
    )
    session.add(row)
    session.flush()  # a number taken concurrently fails here, and the caller retries
    return row


def _ensure_model(session: Session, project_id: int, name: str, description: str) -> None:
    existing = session.scalar(
        select(RegisteredModelRow.id)
        .where(RegisteredModelRow.project_id == project_id, RegisteredModelRow.name == name)
        .with_for_update()
    )
    if existing is None:
        session.add(
            RegisteredModelRow(
                project_id=project_id,
                name=name,
                description=description,
                tags={},
                policy=ModelPolicy().model_dump(mode="json"),
                created_at=utcnow(),
            )
        )
        session.flush()  # a concurrent creator makes this an IntegrityError: retried
