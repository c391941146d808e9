"""The audit log's hash chain: every entry proves the one before it.

An entry stores ``prev_hash``, the ``hash`` of the entry before it (``""`` for the first),
and its own ``hash``: SHA-256 over a canonical JSON encoding of its fields (project,
actor, action, target, outcome, request id, time, detail) and ``prev_hash``. There is one
chain per installation, in ``id`` order. Entries are linked by :func:`link` inside the
transaction that writes them, right before it commits, holding the chain head: on
PostgreSQL a transaction-scoped advisory lock (so ids, taken at insert, follow the chain),
on SQLite the write lock every write transaction takes (``BEGIN IMMEDIATE``).

:func:`verify` walks the chain and names the first entry that breaks it: one edited in
place (its fields no longer give its hash), or one that does not follow the entry before
it (an entry between them was removed, or entries were reordered). Removing the newest
entries leaves a shorter chain that still holds; compare :attr:`ChainReport.head` with a
copy kept elsewhere (``podium audit verify`` prints it) to detect that too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from podium.access.tables import AuditRow
from podium.store.database import Database

__all__ = ["ChainReport", "entry_hash", "export_lines", "link", "verify"]

_CHAIN_LOCK = 728103  # the advisory lock of the chain head (728102 guards migrations)


def entry_hash(
    prev_hash: str,
    *,
    project_id: int,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    request_id: str,
    created_at: datetime,
    detail: dict[str, Any],
) -> str:
    """The SHA-256 (hex) of an entry's canonical encoding, chained to ``prev_hash``."""
    encoded = json.dumps(
        {
            "prev_hash": prev_hash,
            "project_id": project_id,
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "request_id": request_id,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "detail": detail,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(encoded.encode()).hexdigest()


def _hash_of(row: AuditRow, prev_hash: str) -> str:
    return entry_hash(
        prev_hash,
        project_id=row.project_id,
        actor=row.actor,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        request_id=row.request_id,
        created_at=row.created_at,
        detail=dict(row.detail or {}),
    )


def link(session: Session, rows: list[AuditRow]) -> None:
    """Chain ``rows`` after the current head and add them to ``session``.

    Call it last in a write transaction: on PostgreSQL it holds the chain head's lock
    until that transaction ends.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK})
    with session.no_autoflush:
        head = session.scalar(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1))
    prev = head or ""
    for row in rows:
        row.prev_hash = prev
        row.hash = prev = _hash_of(row, prev)
        session.add(row)


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found: ``broken_id`` is ``None`` when the chain holds."""

    entries: int
    head: str
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Whether every entry checked out."""
        return self.broken_id is None


def _rows(db: Database) -> Iterator[AuditRow]:
    with db.read() as session:
        yield from session.scalars(
            select(AuditRow).order_by(AuditRow.id).execution_options(yield_per=1000)
        )


def verify(db: Database) -> ChainReport:
    """Walk the whole chain in ``id`` order; stop at the first entry that breaks it."""
    prev, prev_id, count = "", None, 0
    for row in _rows(db):
        count += 1
        if row.hash != _hash_of(row, row.prev_hash):
            return ChainReport(
                count,
                prev,
                row.id,
                f"entry {row.id} was changed after it was written: its fields "
                "no longer give its hash",
            )
        if row.prev_hash != prev:
            after = f"entry {prev_id}" if prev_id is not None else "the start of the log"
            return ChainReport(
                count,
                prev,
                row.id,
                f"entry {row.id} does not follow {after}: an entry between them was "
                "removed, or entries were reordered",
            )
        prev, prev_id = row.hash, row.id
    return ChainReport(count, prev)


def export_lines(db: Database) -> Iterator[str]:
    """Every entry as one line of JSON, oldest first, with its chain hashes."""
    for row in _rows(db):
        yield json.dumps(
            {
                "id": row.id,
                "project_id": row.project_id,
                "actor": row.actor,
                "action": row.action,
                "target": row.target,
                "outcome": row.outcome,
                "request_id": row.request_id,
                "created_at": row.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
                "detail": row.detail or {},
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            },
            ensure_ascii=False,
            default=str,
        )
