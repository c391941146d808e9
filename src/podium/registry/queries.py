"""Reading registry rows in a session: find models and versions, resolve refs, convert rows.

Every query is filtered by the project; a model of another project is simply not found.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from podium.errors import NotFoundError
from podium.registry.policy import check_policy
from podium.registry.refs import ModelRef
from podium.registry.tables import (
    ApprovalRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
    TransitionRequestRow,
)
from podium.registry.types import (
    Approval,
    ModelVersion,
    RegisteredModel,
    Stage,
    TransitionRequest,
)

__all__ = [
    "aliases_by_version",
    "find_model",
    "find_version",
    "latest_version",
    "resolve",
    "to_model",
    "to_request",
    "to_version",
]


def find_model(
    session: Session, project_id: int, name: str, *, lock: bool = False
) -> RegisteredModelRow:
    """The model row ``name``; ``lock`` holds it (PostgreSQL) until the transaction ends."""
    query = select(RegisteredModelRow).where(
        RegisteredModelRow.project_id == project_id, RegisteredModelRow.name == name
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFoundError(
            f"there is no model {name!r} in this project",
            field="name",
            remedy="check the name against the project's registered models, or register a "
            "version first",
        )
    return row


def find_version(session: Session, project_id: int, name: str, version: int) -> ModelVersionRow:
    """The row of ``name/version``, else :class:`NotFoundError`."""
    row = session.scalar(
        select(ModelVersionRow).where(
            ModelVersionRow.project_id == project_id,
            ModelVersionRow.model_name == name,
            ModelVersionRow.version == version,
        )
    )
    if row is None:
        find_model(session, project_id, name)  # an unknown model says so first
        latest = latest_version(session, project_id, name)
        raise NotFoundError(
            f"model {name!r} has no version {version}",
            field="version",
            remedy=f"choose one of versions 1 to {latest}" if latest else "register one first",
        )
    return row


def latest_version(session: Session, project_id: int, name: str) -> int | None:
    """The highest version number of ``name`` (None before the first registration)."""
    value = session.scalar(
        select(func.max(ModelVersionRow.version)).where(
            ModelVersionRow.project_id == project_id, ModelVersionRow.model_name == name
        )
    )
    return None if value is None else int(value)


def resolve(session: Session, project_id: int, ref: ModelRef) -> ModelVersionRow:
    """The version row ``ref`` names (see :mod:`podium.registry.refs`), in one query."""
    if ref.version is not None:
        return find_version(session, project_id, ref.name, ref.version)
    query = select(ModelVersionRow).where(
        ModelVersionRow.project_id == project_id, ModelVersionRow.model_name == ref.name
    )
    if ref.alias is not None:
        query = query.join(
            ModelAliasRow,
            (ModelAliasRow.project_id == ModelVersionRow.project_id)
            & (ModelAliasRow.model_name == ModelVersionRow.model_name)
            & (ModelAliasRow.version == ModelVersionRow.version),
        ).where(ModelAliasRow.alias == ref.alias)
    elif ref.stage is not None:
        query = query.where(ModelVersionRow.stage == ref.stage)
    row = session.scalar(query.order_by(ModelVersionRow.version.desc()).limit(1))
    if row is None:
        find_model(session, project_id, ref.name)  # an unknown model says so first
        raise _no_such(ref)
    return row


def _no_such(ref: ModelRef) -> NotFoundError:
    if ref.alias is not None:
        return NotFoundError(
            f"model {ref.name!r} has no alias {ref.alias!r}",
            field="ref",
            remedy=f"point the alias {ref.alias!r} at one of its versions first",
        )
    if ref.stage is not None:
        return NotFoundError(
            f"model {ref.name!r} has no version in {ref.stage}",
            field="ref",
            remedy=f"request a transition of one of its versions to {ref.stage} first",
        )
    return NotFoundError(
        f"model {ref.name!r} has no versions", field="ref", remedy="register a version first"
    )


def aliases_by_version(session: Session, project_id: int, name: str) -> dict[int, list[str]]:
    """The aliases of each version of ``name``, sorted."""
    rows = session.execute(
        select(ModelAliasRow.version, ModelAliasRow.alias)
        .where(ModelAliasRow.project_id == project_id, ModelAliasRow.model_name == name)
        .order_by(ModelAliasRow.alias)
    ).all()
    found: dict[int, list[str]] = defaultdict(list)
    for version, alias in rows:
        found[version].append(alias)
    return dict(found)


def to_version(row: ModelVersionRow, aliases: list[str] | None = None) -> ModelVersion:
    """The :class:`ModelVersion` of a row."""
    stage: Stage = row.stage  # type: ignore[assignment]  # the column only holds stages
    return ModelVersion(
        name=row.model_name,
        version=row.version,
        flavor=row.flavor,
        artifact_digest=row.artifact_digest,
        artifact_size=row.artifact_size,
        signature=row.signature,
        run_id=row.run_id,
        metrics=dict(row.metrics or {}),
        inputs=list(row.inputs or []),
        code_version=row.code_version,
        derived_from=row.derived_from,
        stage=stage,
        aliases=aliases or [],
        description=row.description,
        tags=dict(row.tags or {}),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def to_model(session: Session, row: RegisteredModelRow) -> RegisteredModel:
    """The :class:`RegisteredModel` of a row, with its newest version and aliases."""
    aliases = {
        alias: version
        for version, names in aliases_by_version(session, row.project_id, row.name).items()
        for alias in names
    }
    return RegisteredModel(
        name=row.name,
        description=row.description,
        tags=dict(row.tags or {}),
        policy=check_policy(row.policy or {}),
        created_at=row.created_at,
        latest_version=latest_version(session, row.project_id, row.name),
        aliases=dict(sorted(aliases.items())),
    )


def to_request(session: Session, row: TransitionRequestRow) -> TransitionRequest:
    """The :class:`TransitionRequest` of a row, with its decisions in order."""
    decisions = session.scalars(
        select(ApprovalRow).where(ApprovalRow.request_id == row.id).order_by(ApprovalRow.id)
    ).all()
    return TransitionRequest.model_validate(
        {
            "id": row.id,
            "name": row.model_name,
            "version": row.version,
            "from_stage": row.from_stage,
            "to_stage": row.to_stage,
            "requested_by": row.requested_by,
            "comment": row.comment,
            "status": row.status,
            "message": row.message,
            "approvals": [
                Approval.model_validate(
                    {
                        "actor": d.actor,
                        "decision": d.decision,
                        "comment": d.comment,
                        "created_at": d.created_at,
                    }
                )
                for d in decisions
            ],
            "created_at": row.created_at,
            "decided_at": row.decided_at,
        }
    )
