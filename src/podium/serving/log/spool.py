"""The inference-log spool: serving replicas park batches, a platform process commits them.

A ``podium serve`` replica does not write Delta tables itself (the deltalake library costs
~70 MB per process, and N replicas committing to one table contend). Instead it hands
:meth:`InferenceSpool.park` to its :class:`~podium.serving.log.writer.InferenceLogWriter` as
the ``write`` callable, and a platform process calls :meth:`InferenceSpool.commit` with
the real lake writer. A batch's life:

1. **Parked.** :meth:`~InferenceSpool.park` stores the batch as a JSON-lines blob in the
   artifact store (content-addressed; building Arrow arrays in the replica would cost it
   ~35 MB more) and inserts one ``inference_spool`` row (project, blob digest, row
   count). Nothing is written to the lake yet.
2. **Claimed.** :meth:`~InferenceSpool.commit` claims up to ``limit`` parked batches of
   the project, oldest first, in one write transaction: it leases them to ``holder`` for
   ``lease_seconds``. On PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets several
   committers share the work; on SQLite write transactions are serialised already.
3. **Committed.** The claimed blobs are read and concatenated, ``write`` is called once
   with the whole table, then the rows (if still held by ``holder``) and their blobs are
   deleted. If ``write`` raises, the claims are released and the error re-raised: nothing
   is lost, the next commit retries.

Delivery is **at least once**: a committer killed (or stalled past its lease) between its
lake write and deleting the rows leaves a lease that expires, after which another commit
appends those batches again. Every row keeps its ``request_id``, so such duplicates can be
told apart and dropped by readers. A batch parked from a dead replica's journal
(``replayed``, ADR 0046) may repeat rows the replica had parked itself: with a
``committed`` check, its rows already in the log, or in an earlier batch of the same
round, are not written again. A blob that has vanished (or is damaged) can never be
committed; its row is logged and deleted rather than block the spool forever.

This module must stay cheap to import: a serving replica imports it, so it uses the
metadata database and the artifact store only, never the lake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, delete, func, or_, select, update

from podium.access.projects import Project
from podium.access.tables import ProjectRow
from podium.errors import IntegrityError, InvalidInputError, NotFoundError
from podium.serving.log.spool_tables import InferenceSpoolRow
from podium.serving.log.writer import read_json_lines, record_keys
from podium.store.artifacts.base import ArtifactStore
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["InferenceSpool", "parked_projects", "spool_store"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Claim:
    """A parked batch this committer holds until it is committed or released."""

    id: int
    digest: str
    rows: int
    replayed: bool


class InferenceSpool:
    """Parked inference-log batches of one project, and the step that commits them.

    ``artifacts`` holds the parked blobs; give it a store of its own (for example
    ``storage.child("spool/<project>")``), since committed blobs are deleted from it.
    """

    def __init__(self, db: Database, artifacts: ArtifactStore, project: Project) -> None:
        self._db = db
        self._artifacts = artifacts
        self._project = project

    def park(self, lines: bytes, *, replayed: bool = False) -> None:
        """Park a batch of inference records until a :meth:`commit` takes it.

        ``lines`` is what :func:`~podium.serving.log.writer.to_json_lines` makes of the
        batch, so this fits :class:`~podium.serving.log.writer.InferenceLogWriter` as its
        ``write`` callable with ``encode=to_json_lines``. An empty batch parks nothing.
        ``replayed`` marks a batch from a dead replica's journal, whose rows the commit
        checks against the log.
        """
        rows = lines.count(b"\n")
        if rows == 0:
            return
        blob = self._artifacts.put(lines)
        with self._db.write() as session:
            session.add(
                InferenceSpoolRow(
                    project_id=self._project.id, digest=blob.digest, rows=rows, replayed=replayed
                )
            )

    def pending(self) -> int:
        """Rows parked and not committed yet, whether a committer holds them or not."""
        query = select(func.coalesce(func.sum(InferenceSpoolRow.rows), 0)).where(
            InferenceSpoolRow.project_id == self._project.id
        )
        with self._db.read() as session:
            return int(session.scalar(query) or 0)

    def commit(
        self,
        write: Callable[[pa.Table], object],
        *,
        holder: str,
        limit: int = 50,
        lease_seconds: float = 300.0,
        committed: Callable[[pa.Table], set[str]] | None = None,
    ) -> int:
        """Hand every parked batch to ``write``, ``limit`` batches per call; rows written.

        ``holder`` names this committer (say, host and process id); ``lease_seconds`` is
        how long it may take to write one round before another committer may take the
        batches over, so keep it well above the time ``write`` needs. Loops until the
        spool is drained. When ``write`` raises, this round's batches are released and
        the error propagates; rounds committed before stay committed. ``committed`` (see
        :func:`~podium.serving.log.writer.replay_journals`) answers which record keys of a
        table the log holds already; the rows of replayed batches it names are skipped.
        """
        if limit < 1:
            raise InvalidInputError(
                f"the 'limit' parameter of InferenceSpool.commit must be at least 1; "
                f"got {limit!r} instead",
                field="limit",
                remedy="pass how many parked batches one round may commit, e.g. 50",
            )
        if lease_seconds <= 0:
            raise InvalidInputError(
                f"the 'lease_seconds' parameter of InferenceSpool.commit must be positive; "
                f"got {lease_seconds!r} instead",
                field="lease_seconds",
                remedy="pass well more than the seconds one write takes, e.g. 300",
            )
        total = 0
        while True:
            claims = self._claim(holder=holder, limit=limit, lease_seconds=lease_seconds)
            if not claims:
                return total
            total += self._commit_claimed(claims, write, holder=holder, committed=committed)
            if len(claims) < limit:
                return total

    def _claim(self, *, holder: str, limit: int, lease_seconds: float) -> list[_Claim]:
        with self._db.read() as session:
            idle = select(InferenceSpoolRow.id).where(*self._claimable(utcnow())).limit(1)
            if session.scalar(idle) is None:
                return []  # idle rounds take no write lock (SQLite has only one)
        with self._db.write() as session:
            now = utcnow()  # after the lock is taken: waiting for it must not shorten the lease
            rows = session.scalars(
                select(InferenceSpoolRow)
                .where(*self._claimable(now))
                .order_by(InferenceSpoolRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            until = now + timedelta(seconds=lease_seconds)
            for row in rows:
                row.claimed_by = holder
                row.claimed_until = until
            return [_Claim(row.id, row.digest, row.rows, bool(row.replayed)) for row in rows]

    def _claimable(self, now: datetime) -> tuple[ColumnElement[bool], ...]:
        """This project's rows nobody holds, or whose holder's lease ran out."""
        return (
            InferenceSpoolRow.project_id == self._project.id,
            or_(InferenceSpoolRow.claimed_until.is_(None), InferenceSpoolRow.claimed_until <= now),
        )

    def _commit_claimed(
        self,
        claims: list[_Claim],
        write: Callable[[pa.Table], object],
        *,
        holder: str,
        committed: Callable[[pa.Table], set[str]] | None = None,
    ) -> int:
        readable: list[_Claim] = []
        unreadable: list[_Claim] = []
        try:
            tables = []
            for claim in claims:
                try:
                    data = self._artifacts.get(claim.digest)
                except (NotFoundError, IntegrityError):
                    # Retrying cannot bring the bytes back, and the row would block the spool.
                    _log.exception(
                        "parked inference batch %d (%d rows, blob %s) of project %r cannot be "
                        "read; dropping it",
                        claim.id,
                        claim.rows,
                        claim.digest,
                        self._project.name,
                    )
                    unreadable.append(claim)
                    continue
                tables.append(read_json_lines(data, skip_invalid=claim.replayed))
                readable.append(claim)
            if committed is not None and any(claim.replayed for claim in readable):
                tables = _without_repeats(tables, [c.replayed for c in readable], committed)
            if tables:
                write(pa.concat_tables(tables, promote_options="default"))
        except BaseException:
            # Nothing reached the lake (or the store failed): let the next commit retry now
            # rather than after the lease.
            self._release([c for c in claims if c not in unreadable], holder=holder)
            self._delete(unreadable, holder=holder)
            raise
        self._delete(claims, holder=holder)
        return sum(table.num_rows for table in tables)

    def _release(self, claims: Sequence[_Claim], *, holder: str) -> None:
        if not claims:
            return
        with self._db.write() as session:
            session.execute(
                update(InferenceSpoolRow)
                .where(
                    InferenceSpoolRow.id.in_([claim.id for claim in claims]),
                    InferenceSpoolRow.claimed_by == holder,
                )
                .values(claimed_by=None, claimed_until=None)
            )

    def _delete(self, claims: Sequence[_Claim], *, holder: str) -> None:
        """Delete the rows still held by ``holder``, then the blobs no row references."""
        if not claims:
            return
        with self._db.write() as session:
            deleted = set(
                session.scalars(
                    delete(InferenceSpoolRow)
                    .where(
                        InferenceSpoolRow.id.in_([claim.id for claim in claims]),
                        InferenceSpoolRow.claimed_by == holder,
                    )
                    .returning(InferenceSpoolRow.digest)
                )
            )
            # Any project's row counts: two spools may share one artifact store.
            referenced = set(
                session.scalars(
                    select(InferenceSpoolRow.digest).where(InferenceSpoolRow.digest.in_(deleted))
                )
            )
        # After the commit, so the write lock is not held across blob I/O; a crash here
        # leaves an unreferenced blob behind, never a row without its blob.
        for digest in deleted - referenced:
            self._artifacts.delete(digest)


def _without_repeats(
    tables: list[pa.Table], replayed: list[bool], committed: Callable[[pa.Table], set[str]]
) -> list[pa.Table]:
    """``tables`` with the rows of replayed ones that the log, or an earlier table of the
    round, holds already."""
    seen: set[str] = set()
    for table, again in zip(tables, replayed, strict=True):
        if not again:
            seen.update(record_keys(table))
    kept = []
    for table, again in zip(tables, replayed, strict=True):
        if again and table.num_rows:
            keys = record_keys(table)
            logged = committed(table)
            keep = []
            for key in keys:
                keep.append(key not in seen and key not in logged)
                seen.add(key)
            table = table.filter(pa.array(keep, type=pa.bool_()))
        kept.append(table)
    return kept


def parked_projects(db: Database) -> list[str]:
    """Names of the projects with parked batches, sorted: the ones a commit loop visits."""
    query = (
        select(ProjectRow.name)
        .where(ProjectRow.id.in_(select(InferenceSpoolRow.project_id).distinct()))
        .order_by(ProjectRow.name)
    )
    with db.read() as session:
        return list(session.scalars(query))


def spool_store(storage: ArtifactStore, project: str) -> ArtifactStore:
    """Where ``project``'s parked batches are kept: apart from its models and run
    artifacts, so deleting a committed batch can never remove one of theirs."""
    return storage.child(f"spool/{project}")
