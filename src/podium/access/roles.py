"""Roles and the principal (who is calling, for which project, with what role)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from podium.access.ratelimit import RateLimit
from podium.access.scopes import Scope
from podium.errors import InvalidInputError, PermissionDeniedError

__all__ = ["Principal", "Role", "parse_role"]


class Role(StrEnum):
    """What a key may do: readers read, writers also write, admins also manage keys."""

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.READER: 0, Role.WRITER: 1, Role.ADMIN: 2}


def parse_role(value: str) -> Role:
    """The role named ``value``; anything else is an :class:`InvalidInputError`."""
    try:
        return Role(value.lower())
    except ValueError:
        raise InvalidInputError(
            f"the role must be one of reader, writer, admin; got {value!r} instead",
            field="role",
            remedy="pass --role reader|writer|admin",
        ) from None


@dataclass(frozen=True)
class Principal:
    """The caller of one request: an API key (or the local user in embedded mode)."""

    actor: str
    project_id: int
    project: str
    role: Role
    key_id: str | None = None
    rate_limit: RateLimit | None = None
    # What a scoped key is limited to (empty: what its role allows), and its project's quota.
    scopes: tuple[Scope, ...] = ()
    project_rate_limit: RateLimit | None = None

    def require(self, role: Role, *, action: str) -> None:
        """Raise :class:`PermissionDeniedError` unless this principal holds ``role``."""
        if self.role.rank < role.rank:
            raise PermissionDeniedError(
                f"{action} needs the {role.value} role; this key has {self.role.value}",
                remedy=f"ask an admin of project {self.project!r} for a key with the "
                f"{role.value} role",
            )
