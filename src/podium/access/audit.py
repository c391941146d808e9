"""The audit log: who did what to which object of which project, and how it ended.

Each mutation is recorded once, by the service that makes it, whichever front door (SDK,
CLI, REST) called it: :class:`Auditor` is the service's handle, bound to one project and
one caller by the composition root. A service writes its entry in the transaction of the
change (:meth:`Auditor.note`, so the entry exists exactly when the change does) or, for an
attempt that may fail, after it (:meth:`Auditor.attempt` records ``ok`` or the error's
code). The API opens a :func:`request_scope` per mutating request: service entries made
within it carry the request's id, and the API writes its own per-request entry only when
no service recorded the request (a request refused before it reached a service, or a
route whose service does not audit itself).

Entries form a hash chain (:mod:`podium.access.audit_chain`): they are linked to the
chain head when their transaction commits, so ``podium audit verify`` detects an entry
edited or removed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, SessionTransaction

from podium.access.audit_chain import link
from podium.access.tables import AuditRow
from podium.errors import InvalidInputError, PodiumError
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = [
    "AuditAttempt",
    "AuditEntry",
    "AuditLog",
    "Auditor",
    "RequestAudit",
    "request_scope",
]


@dataclass(frozen=True)
class AuditEntry:
    """One mutation attempt. ``outcome`` is ``ok`` or the error code it ended with."""

    id: int
    project_id: int
    actor: str
    action: str
    target: str
    outcome: str
    request_id: str
    created_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class AuditLog:
    """Append to and read the audit log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        *,
        project_id: int,
        actor: str,
        action: str,
        target: str = "",
        outcome: str = "ok",
        request_id: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one entry (its own transaction, so a failed mutation is still recorded)."""
        row = _row(
            project_id=project_id,
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            request_id=request_id,
            detail=detail or {},
        )
        with self._db.write() as session:
            link(session, [row])

    def list(
        self, project_id: int, *, limit: int = 100, action: str | None = None
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries of a project, newest first."""
        if not 1 <= limit <= 10_000:
            raise InvalidInputError(
                f"limit must be between 1 and 10000; got {limit} instead", field="limit"
            )
        query = select(AuditRow).where(AuditRow.project_id == project_id)
        if action:
            query = query.where(AuditRow.action == action)
        with self._db.read() as session:
            rows = session.scalars(query.order_by(AuditRow.id.desc()).limit(limit)).all()
        return [
            AuditEntry(
                id=r.id,
                project_id=r.project_id,
                actor=r.actor,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                request_id=r.request_id,
                created_at=r.created_at,
                detail=dict(r.detail or {}),
            )
            for r in rows
        ]


def _row(
    *,
    project_id: int,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    request_id: str,
    detail: dict[str, Any],
) -> AuditRow:
    return AuditRow(
        project_id=project_id,
        actor=actor[:128],
        action=action[:128],
        target=_printable(target)[:512],
        outcome=outcome[:32],
        request_id=request_id[:64],
        detail=detail,
        created_at=utcnow(),
    )


_PENDING = "podium_audit_pending"


@event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    # Entries noted in a transaction join the chain as it commits, so the chain head is
    # held only for the last moment of the transaction (no lock is taken mid-change).
    pending: list[AuditRow] = session.info.pop(_PENDING, [])
    link(session, pending)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one: rolled back (or committed, linked)
        session.info.pop(_PENDING, None)


def _printable(text: str) -> str:
    # PostgreSQL cannot store a NUL; a target naming what a bad request sent must still be
    # written, so control characters are escaped.
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


@dataclass
class RequestAudit:
    """The API request whose mutations are being recorded, and how many services recorded.

    ``entries`` counts the entries services wrote for the request, ``failures`` those of
    them that record a failed attempt.
    """

    request_id: str
    detail: dict[str, Any] = field(default_factory=dict)
    entries: int = 0
    failures: int = 0


_CURRENT: ContextVar[RequestAudit | None] = ContextVar("podium_audit_request", default=None)


@contextmanager
def request_scope(request_id: str, detail: dict[str, Any]) -> Iterator[RequestAudit]:
    """Make service entries written in this context carry ``request_id`` and ``detail``.

    The context propagates to the worker threads a request's handler runs in.
    """
    scope = RequestAudit(request_id=request_id, detail=dict(detail))
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


@dataclass
class AuditAttempt:
    """What an :meth:`Auditor.attempt` records; set ``target`` once the object is known."""

    target: str
    detail: dict[str, Any] = field(default_factory=dict)


class Auditor:
    """The audit handle of one caller (``actor``) in one project, given to its services.

    An auditor built with ``log=None`` (:meth:`disabled`) records nothing: a service built
    on its own, outside an installation.
    """

    def __init__(self, log: AuditLog | None, *, project_id: int, actor: str) -> None:
        self._log = log
        self._project_id = project_id
        self._actor = actor

    @classmethod
    def disabled(cls) -> Auditor:
        """An auditor that records nothing."""
        return cls(None, project_id=0, actor="")

    def note(
        self, session: Session, action: str, target: str, *, detail: dict[str, Any] | None = None
    ) -> None:
        """Record the successful ``action`` in ``session``'s transaction (the change's own)."""
        if self._log is None:
            return
        session.info.setdefault(_PENDING, []).append(
            _row(**self._entry(action, target, "ok", detail))
        )

    def record(
        self,
        action: str,
        target: str,
        *,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record ``action`` in a transaction of its own (after the change, or its failure)."""
        if self._log is None:
            return
        self._log.record(**self._entry(action, target, outcome, detail))

    @contextmanager
    def attempt(self, action: str, target: str) -> Iterator[AuditAttempt]:
        """Record the block as ``action``: ``ok``, or the code of the error it raised.

        >>> with auditor.attempt("registry.approve", f"transition:{rid}"):  # doctest: +SKIP
        ...     transitions.decide(rid, "approve")
        """
        attempt = AuditAttempt(target=target)
        try:
            yield attempt
        except PodiumError as exc:
            self.record(action, attempt.target, outcome=exc.code, detail=attempt.detail)
            raise
        except DataError:  # a value the database refuses: the API answers 400 for it too
            self.record(action, attempt.target, outcome="invalid-input", detail=attempt.detail)
            raise
        except Exception:
            self.record(action, attempt.target, outcome="internal", detail=attempt.detail)
            raise
        self.record(action, attempt.target, detail=attempt.detail)

    def _entry(
        self, action: str, target: str, outcome: str, detail: dict[str, Any] | None
    ) -> dict[str, Any]:
        scope = _CURRENT.get()
        merged = {**(scope.detail if scope else {}), **(detail or {})}
        if scope is not None:
            scope.entries += 1
            scope.failures += outcome != "ok"
        return {
            "project_id": self._project_id,
            "actor": self._actor,
            "action": action,
            "target": target,
            "outcome": outcome,
            "request_id": scope.request_id if scope else "",
            "detail": merged,
        }
