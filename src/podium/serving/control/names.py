"""What ``model_id`` names: a deployment's name or one of its aliases, unique per project.

A deployment may carry ``aliases`` (other names clients predict against, e.g. the name
an older client already sends). Names and aliases share one namespace in a project, so
a ``model_id`` always names one deployment; both are checked when a deployment is
created or its aliases change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from podium.errors import ConflictError
from podium.serving.control.spec import DeploymentSpec
from podium.serving.control.tables import DeploymentRow

__all__ = ["check_names_free", "find_by_alias"]


def _rows(session: Session, project_id: int) -> list[DeploymentRow]:
    query = select(DeploymentRow).where(DeploymentRow.project_id == project_id)
    return list(session.scalars(query).all())


def find_by_alias(session: Session, project_id: int, alias: str) -> DeploymentRow | None:
    """The deployment of the project with ``alias`` among its aliases, if any."""
    return next(
        (row for row in _rows(session, project_id) if alias in row.spec.get("aliases", [])),
        None,
    )


def check_names_free(
    session: Session, project_id: int, spec: DeploymentSpec, *, row_id: str
) -> None:
    """A :class:`ConflictError` when another deployment (not ``row_id``) already goes by
    ``spec``'s name or one of its aliases."""
    taken: dict[str, str] = {}
    for other in _rows(session, project_id):
        if other.id != row_id:
            taken[other.name] = other.name
            taken.update(dict.fromkeys(other.spec.get("aliases", []), other.name))
    wanted = [("name", spec.name)] + [("aliases", alias) for alias in spec.aliases]
    for field, value in wanted:
        owner = taken.get(value)
        if owner is not None:
            raise ConflictError(
                f"{value!r} already names deployment {owner!r} in this project",
                field=field,
                remedy="pick another name or alias; names and aliases are unique in a project",
            )
