"""API keys: created per project with a role, stored hashed, shown once; their lifecycle.

A key reads ``pdm_<id>_<secret>``. Only its sha256 is stored; the ``id`` part finds the
row, and the hash is compared in constant time. A key may:

- **expire** (``expires_at``): from then on it is refused as a revoked one is;
- **be rotated** with an overlap: a new secret for the same key id (same role, scopes,
  limits, audit actor), while the old secret keeps working until the overlap ends;
- **carry scopes** (:mod:`podium.access.scopes`) narrowing it to predicting with one
  deployment or reading one area;
- **carry a rate limit** (:mod:`podium.access.ratelimit`); its project's quota applies
  on top, both enforced by :meth:`KeyService.admit` for every authenticated request.

Verified keys are cached for :data:`CACHE_SECONDS` so a request does not pay a database
round trip. That lifetime is what bounds how long a key revoked (or a quota changed) in
another process keeps working here: every replica re-reads a key at least that often.
Revoking in this process drops it from the cache at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from podium.access.projects import ProjectService
from podium.access.ratelimit import Buckets, RateLimit, TokenBuckets, parse_rate_limit
from podium.access.roles import Principal, Role
from podium.access.scopes import Scope, format_scopes, parse_scopes
from podium.access.tables import ApiKeyRow, ProjectRow
from podium.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PodiumError,
)
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["CACHE_SECONDS", "ApiKey", "KeyService", "parse_duration"]

_log = logging.getLogger(__name__)

#: How long a verified key is trusted without reading it again (see the module docstring).
CACHE_SECONDS = 2.0
# "Last used" is written at most this often per key and process: it is a hint, not a log.
_LAST_USED_EVERY = timedelta(seconds=60)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_MAX_EXPIRY = timedelta(days=3650)
_MAX_OVERLAP = timedelta(days=30)


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key after creation; the secret itself is never stored.

    ``state`` is ``active``, ``rotating`` (its previous secret still works until
    ``previous_valid_until``), ``expired`` or ``revoked``.
    """

    id: str
    project: str
    role: Role
    name: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    rate_limit: RateLimit | None = None
    expires_at: datetime | None = None
    scopes: tuple[Scope, ...] = field(default=())
    rotated_at: datetime | None = None
    previous_valid_until: datetime | None = None
    last_used_at: datetime | None = None
    state: str = "active"


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s`` or ``2w`` as a :class:`timedelta`; ``field``
    names the value in the error."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInputError(
            f"the {field!r} value must be a whole number followed by s, m, h, d or w; "
            f"got {text!r} instead",
            field=field,
            remedy="write e.g. 30d, 12h, 90m or 2w",
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(key_id: str) -> str:
    return f"pdm_{key_id}_{secrets.token_urlsafe(32)}"


class KeyService:
    """Create, list, rotate, revoke, verify and admit API keys."""

    def __init__(
        self, db: Database, projects: ProjectService, *, buckets: Buckets | None = None
    ) -> None:
        self._db = db
        self._projects = projects
        # secret -> (when to read it again, the principal, when the key itself expires)
        self._cache: dict[str, tuple[float, Principal, float]] = {}
        self._lock = threading.Lock()
        self._buckets: Buckets = buckets if buckets is not None else TokenBuckets()

    def create(
        self,
        project: str,
        role: Role,
        *,
        name: str = "",
        created_by: str = "",
        rate_limit: RateLimit | None = None,
        expires_in: timedelta | None = None,
        scopes: Sequence[Scope] = (),
    ) -> tuple[ApiKey, str]:
        """Create a key; returns its record and the secret, which is shown only now.

        ``rate_limit`` (from :func:`~podium.access.ratelimit.parse_rate_limit`) caps the
        key's requests; past it the API answers 429 with ``Retry-After``. ``expires_in``
        ends the key by itself; ``scopes`` narrow it below its role.
        """
        if len(name) > 64 or any(ord(c) < 32 for c in name):
            raise InvalidInputError(
                f"a key name is at most 64 printable characters; got {name!r} instead",
                field="name",
                remedy="name the key after its user, e.g. 'ci' or 'alice-notebook'",
            )
        if expires_in is not None and not timedelta(0) < expires_in <= _MAX_EXPIRY:
            raise InvalidInputError(
                f"a key expires between 1 s and 3650 days from now; got {expires_in} instead",
                field="expires",
                remedy="pass --expires 30d (or 12h, 2w ...)",
            )
        stored_scopes = format_scopes(parse_scopes(str(s) for s in scopes))
        proj = self._projects.get(project)
        key_id = secrets.token_hex(6)
        secret = _new_secret(key_id)
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
                expires_at=utcnow() + expires_in if expires_in else None,
                scopes=stored_scopes,
            )
            session.add(row)
            session.flush()
            return self._key(row, project), secret

    def list(self, project: str) -> list[ApiKey]:
        """Every key of ``project``, revoked and expired ones included, newest first."""
        proj = self._projects.get(project)
        with self._db.read() as session:
            rows = session.scalars(
                select(ApiKeyRow)
                .where(ApiKeyRow.project_id == proj.id)
                .order_by(ApiKeyRow.created_at.desc())
            ).all()
        return [self._key(row, project) for row in rows]

    def get(self, project: str, key_id: str) -> ApiKey:
        """Key ``key_id`` of ``project``, or a :class:`NotFoundError`."""
        proj = self._projects.get(project)
        with self._db.read() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.project_id != proj.id:
                raise _missing(key_id, project)
            return self._key(row, project)

    def rotate(
        self, project: str, key_id: str, *, overlap: timedelta = timedelta(hours=1)
    ) -> tuple[ApiKey, str]:
        """Give key ``key_id`` a new secret (returned, shown only now); the old secret keeps
        working for ``overlap`` (0: stops at once), so its users can switch without a gap.

        A revoked or expired key cannot be rotated (a :class:`ConflictError`).
        """
        if not timedelta(0) <= overlap <= _MAX_OVERLAP:
            raise InvalidInputError(
                f"a rotation overlap is between 0 s and 30 days; got {overlap} instead",
                field="overlap",
                remedy="pass --overlap 1h (or 0s to stop the old secret at once)",
            )
        proj = self._projects.get(project)
        secret = _new_secret(key_id)
        with self._db.write() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.project_id != proj.id:
                raise _missing(key_id, project)
            state = _state(row, utcnow())
            if state in ("revoked", "expired"):
                raise ConflictError(
                    f"key {key_id!r} is {state} and cannot be rotated",
                    remedy="create a new key with `podium keys create`",
                )
            now = utcnow()
            row.previous_secret_sha256 = row.secret_sha256 if overlap else None
            row.previous_valid_until = now + overlap if overlap else None
            row.secret_sha256 = _hash(secret)
            row.rotated_at = now
            session.flush()
            key = self._key(row, project)
        self._drop_cached(key_id)
        return key, secret

    def revoke(self, project: str, key_id: str) -> ApiKey:
        """Revoke a key of ``project`` (both secrets, if it is rotating).

        It stops working at once in this process, and within :data:`CACHE_SECONDS` in
        every other process on the same metadata database.
        """
        proj = self._projects.get(project)
        with self._db.write() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.project_id != proj.id:
                raise _missing(key_id, project)
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            row.previous_secret_sha256 = None
            row.previous_valid_until = None
            key = self._key(row, project)
        self._drop_cached(key_id)
        self._buckets.forget(f"key:{key_id}")
        return key

    def any_exist(self) -> bool:
        """Whether any key exists at all, in any project (a server's first start has none)."""
        with self._db.read() as session:
            return session.scalar(select(ApiKeyRow.id).limit(1)) is not None

    def authenticate(self, secret: str | None) -> Principal:
        """The principal a key stands for; missing, unknown, revoked or expired keys raise."""
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
        try:
            principal, valid_for = self._lookup(secret)
        except BackendUnavailableError:
            # The database is down: a key verified before the outage keeps working until
            # it would expire (a revocation during the outage could not be read anyway),
            # so predictions go on; a key never seen gets the 503.
            if cached and cached[2] > now:
                return cached[1]
            raise
        with self._lock:
            self._cache[secret] = (now + min(CACHE_SECONDS, valid_for), principal, now + valid_for)
        return principal

    def admit(self, principal: Principal) -> None:
        """Count one request of ``principal`` against its key's limit and its project's quota.

        Raises :class:`~podium.errors.RateLimitedError` (429, with ``retry_after``) when
        either bucket is empty; without a limit or quota a request is always admitted.
        """
        if principal.rate_limit is not None and principal.key_id is not None:
            self._buckets.take(f"key:{principal.key_id}", principal.rate_limit)
        if principal.project_rate_limit is not None:
            self._buckets.take(
                f"project:{principal.project}",
                principal.project_rate_limit,
                subject=f"project {principal.project}'s quota",
            )

    def _drop_cached(self, key_id: str) -> None:
        with self._lock:
            self._cache = {s: v for s, v in self._cache.items() if v[1].key_id != key_id}

    def _lookup(self, secret: str) -> tuple[Principal, float]:
        """The principal of ``secret`` and for how many seconds it stays valid at most."""
        invalid = AuthenticationError(
            "the API key is unknown or revoked, or has expired",
            remedy="check the key, or create a new one with `podium keys create`",
        )
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != "pdm":
            raise invalid
        with self._db.read() as session:
            found = session.execute(
                select(ApiKeyRow, ProjectRow)
                .join(ProjectRow, ProjectRow.id == ApiKeyRow.project_id)
                .where(ApiKeyRow.id == parts[1])
            ).first()
        if found is None:
            raise invalid
        row, project = found
        now = utcnow()
        digest = _hash(secret)
        ends = [row.expires_at]
        if hmac.compare_digest(row.secret_sha256, digest):
            pass
        elif (
            row.previous_secret_sha256 is not None
            and row.previous_valid_until is not None
            and row.previous_valid_until > now
            and hmac.compare_digest(row.previous_secret_sha256, digest)
        ):
            ends.append(row.previous_valid_until)
        else:
            raise invalid
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            raise invalid
        self._mark_used(row, now)
        valid_for = min(((end - now).total_seconds() for end in ends if end), default=3600.0)
        principal = Principal(
            actor=f"key:{row.id}" + (f" ({row.name})" if row.name else ""),
            project_id=row.project_id,
            project=project.name,
            role=Role(row.role),
            key_id=row.id,
            rate_limit=_limit(row.rate_limit, row.rate_burst),
            scopes=parse_scopes([row.scopes or ""]),
            project_rate_limit=_limit(project.rate_limit, project.rate_burst),
        )
        return principal, valid_for

    def _mark_used(self, row: ApiKeyRow, now: datetime) -> None:
        if row.last_used_at is not None and now - row.last_used_at < _LAST_USED_EVERY:
            return
        try:
            with self._db.write() as session:
                session.execute(
                    update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=now)
                )
        except (SQLAlchemyError, PodiumError) as exc:  # a hint: never fails a request
            _log.warning("could not note the last use of key %s: %s", row.id, exc)

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
            rate_limit=_limit(row.rate_limit, row.rate_burst),
            expires_at=row.expires_at,
            scopes=parse_scopes([row.scopes or ""]),
            rotated_at=row.rotated_at,
            previous_valid_until=row.previous_valid_until,
            last_used_at=row.last_used_at,
            state=_state(row, utcnow()),
        )


def _state(row: ApiKeyRow, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if row.previous_valid_until is not None and row.previous_valid_until > now:
        return "rotating"
    return "active"


def _missing(key_id: str, project: str) -> NotFoundError:
    return NotFoundError(
        f"key {key_id!r} does not exist in project {project!r}",
        remedy="list keys with `podium keys ls --project P`",
    )


def _limit(spec: str | None, burst: int | None) -> RateLimit | None:
    return parse_rate_limit(spec, burst=burst) if spec else None
