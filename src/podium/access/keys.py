"""API keys: created per project with a role, stored hashed, shown once, revocable.

A key reads ``pdm_<id>_<secret>``. Only its sha256 is stored; the ``id`` part finds the
row, and the hash is compared in constant time. Verified keys are cached for a few
seconds so a request does not pay a database round trip; revoking a key in this process
drops it from the cache at once. A key may carry a rate limit (:mod:`podium.access.ratelimit`),
enforced by :meth:`KeyService.admit` for every authenticated request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from podium.access.projects import ProjectService
from podium.access.ratelimit import RateLimit, TokenBuckets, parse_rate_limit
from podium.access.roles import Principal, Role
from podium.access.tables import ApiKeyRow, ProjectRow
from podium.errors import AuthenticationError, InvalidInputError, NotFoundError
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["ApiKey", "KeyService"]

_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key after creation; the secret itself is never stored."""

    id: str
    project: str
    role: Role
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    rate_limit: RateLimit | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Create, list, revoke and verify API keys."""

    def __init__(self, db: Database, projects: ProjectService) -> None:
        self._db = db
        self._projects = projects
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()
        self._buckets = TokenBuckets()

    def create(
        self,
        project: str,
        role: Role,
        *,
        name: str = "",
        created_by: str = "",
        rate_limit: RateLimit | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key; returns its record and the secret, which is shown only now.

        ``rate_limit`` (from :func:`~podium.access.ratelimit.parse_rate_limit`) caps the
        key's requests; past it the API answers 429 with ``Retry-After``.
        """
        if len(name) > 64 or any(ord(c) < 32 for c in name):
            raise InvalidInputError(
                f"a key name is at most 64 printable characters; got {name!r} instead",
                field="name",
                remedy="name the key after its user, e.g. 'ci' or 'alice-notebook'",
            )
        proj = self._projects.get(project)
        key_id = secrets.token_hex(6)
        secret = f"pdm_{key_id}_{secrets.token_urlsafe(32)}"
        with self._db.write() as session:
            row = ApiKeyRow(
                id=key_id,
                project_id=proj.id,
                name=name,
                role=role.value,
                secret_sha256=_hash(secret),
                created_by=created_by,
                rate_limit=rate_limit.spec if rate_limit else None,
                rate_burst=rate_limit.burst if rate_limit else None,
            )
            session.add(row)
            session.flush()
            return self._key(row, project), secret

    def list(self, project: str) -> list[ApiKey]:
        """Every key of ``project``, revoked ones included, newest first."""
        proj = self._projects.get(project)
        with self._db.read() as session:
            rows = session.scalars(
                select(ApiKeyRow)
                .where(ApiKeyRow.project_id == proj.id)
                .order_by(ApiKeyRow.created_at.desc())
            ).all()
        return [self._key(row, project) for row in rows]

    def revoke(self, project: str, key_id: str) -> ApiKey:
        """Revoke a key of ``project``; it stops working at once in this process."""
        proj = self._projects.get(project)
        with self._db.write() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.project_id != proj.id:
                raise NotFoundError(
                    f"key {key_id!r} does not exist in project {project!r}",
                    remedy="list keys with `podium keys ls --project P`",
                )
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            key = self._key(row, project)
        with self._lock:
            self._cache = {s: v for s, v in self._cache.items() if v[1].key_id != key_id}
        self._buckets.forget(key_id)
        return key

    def any_exist(self) -> bool:
        """Whether any key exists at all, in any project (a server's first start has none)."""
        with self._db.read() as session:
            return session.scalar(select(ApiKeyRow.id).limit(1)) is not None

    def authenticate(self, secret: str | None) -> Principal:
        """The principal a key stands for; missing, unknown or revoked keys raise."""
        if not secret:
            raise AuthenticationError(
                "this request needs an API key",
                remedy="send 'Authorization: Bearer <key>'; the first admin key is in "
                "$PODIUM_HOME/credentials, more come from `podium keys create`",
            )
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(secret)
        if cached and cached[0] > now:
            return cached[1]
        principal = self._lookup(secret)
        with self._lock:
            self._cache[secret] = (now + _CACHE_SECONDS, principal)
        return principal

    def admit(self, principal: Principal) -> None:
        """Count one request of ``principal`` against its key's rate limit.

        Raises :class:`~podium.errors.RateLimitedError` (429, with ``retry_after``) when
        the key's bucket is empty; a key without a limit is always admitted.
        """
        if principal.rate_limit is not None and principal.key_id is not None:
            self._buckets.take(principal.key_id, principal.rate_limit)

    def _lookup(self, secret: str) -> Principal:
        invalid = AuthenticationError(
            "the API key is unknown or revoked",
            remedy="check the key, or create a new one with `podium keys create`",
        )
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != "pdm":
            raise invalid
        with self._db.read() as session:
            found = session.execute(
                select(ApiKeyRow, ProjectRow.name)
                .join(ProjectRow, ProjectRow.id == ApiKeyRow.project_id)
                .where(ApiKeyRow.id == parts[1])
            ).first()
        if found is None:
            raise invalid
        row, project = found
        if row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, _hash(secret)):
            raise invalid
        return Principal(
            actor=f"key:{row.id}" + (f" ({row.name})" if row.name else ""),
            project_id=row.project_id,
            project=project,
            role=Role(row.role),
            key_id=row.id,
            rate_limit=_limit_of(row),
        )

    @staticmethod
    def _key(row: ApiKeyRow, project: str) -> ApiKey:
        return ApiKey(
            id=row.id,
            project=project,
            role=Role(row.role),
            name=row.name,
            created_by=row.created_by,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            rate_limit=_limit_of(row),
        )


def _limit_of(row: ApiKeyRow) -> RateLimit | None:
    return parse_rate_limit(row.rate_limit, burst=row.rate_burst) if row.rate_limit else None
