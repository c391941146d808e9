"""The scheduler ``podium up`` runs: due schedules and matching events start pipeline runs.

Every second (:class:`~podium.store.periodic.Periodic`) one round, over every project:

- **Schedules.** The latest time a schedule's cron names at or before now (UTC) is due
  when it is after the schedule was created and after its ``last_due``. Only the latest
  due time counts: a server that was down at 03:00 runs the 03:00 run once when it comes
  back, it does not replay every missed time.
- **Triggers.** The outbox events (:mod:`podium.events.outbox`) of the trigger's project
  and type after its ``cursor`` whose payload matches ``where``. The cursor moves past
  events older than :data:`SETTLE_SECONDS` only, because a transaction that took an
  event id may commit after a later one; until then they are read again, and their
  leases say they were handled.

Each due time or event is claimed with a lease (:mod:`podium.pipelines.leases`), so with
two servers on one database exactly one of them starts the run; the run executes in a
worker thread of that server (the round never waits for it), tagged with what started
it (``podium.schedule`` and ``podium.due``, or ``podium.trigger`` and ``podium.event_id``).
Reads come first, so idle rounds take no write lock (SQLite has only one).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from croniter import croniter
from sqlalchemy import select, update

from podium.access.tables import ProjectRow
from podium.errors import PodiumError
from podium.events.tables import EventRow
from podium.pipelines.leases import Claim, claim, release
from podium.pipelines.tables import LeaseRow, ScheduleRow, TriggerRow
from podium.store.base import utcnow
from podium.store.database import Database
from podium.store.periodic import Periodic

if TYPE_CHECKING:
    from podium.pipelines.service import PipelineService

__all__ = ["SETTLE_SECONDS", "PipelineScheduler", "matches"]

SETTLE_SECONDS = 60.0
"""How long an event may take to commit after it took its id; see the module."""

_EVENT_BATCH = 200
_log = logging.getLogger(__name__)


class PipelineScheduler:
    """Starts the runs schedules and triggers ask for, each at most once; see the module.

    ``pipelines_of(project name)`` is the service that runs a project's pipelines (the
    server's own, as the ``podium:scheduler`` writer). ``workers`` runs go on at once.
    """

    def __init__(
        self,
        db: Database,
        pipelines_of: Callable[[str], PipelineService],
        *,
        interval: float = 1.0,
        workers: int = 2,
        holder: str | None = None,
    ) -> None:
        self._db = db
        self._pipelines_of = pipelines_of
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="podium-pipeline-run")
        self._loop = Periodic("podium-pipeline-scheduler", interval, self.tick, wait_first=False)

    def start(self) -> None:
        """Run :meth:`tick` every ``interval`` seconds in a background thread."""
        self._loop.start()

    def stop(self, *, timeout: float | None = None) -> None:
        """Stop the rounds; runs already started finish in their threads."""
        self._loop.stop(timeout=timeout)
        self._pool.shutdown(wait=False)

    def tick(self, now: datetime | None = None, *, wait: bool = False) -> list[Claim]:
        """One round: claim what is due at ``now`` (default: the clock) and start it.

        With ``wait`` the round returns when the runs it started have ended (tests).
        """
        moment = now or utcnow()
        claims = [*self._due_schedules(moment), *self._matching_events(moment)]
        futures = [self._pool.submit(self._start, found) for found in claims]
        if wait:
            for future in futures:
                future.result()
        return claims

    # -- what is due ----------------------------------------------------------------------
    def _due_schedules(self, now: datetime) -> list[Claim]:
        with self._db.read() as session:
            rows = list(session.scalars(select(ScheduleRow)))
            session.expunge_all()
        claims = []
        for row in rows:
            due: datetime = croniter(row.cron, now).get_prev(datetime)
            if due < row.created_at or (row.last_due is not None and due <= row.last_due):
                continue
            won = claim(self._db, row, occurrence=due.isoformat(), holder=self.holder, due=due)
            if won is not None:
                claims.append(won)
        return claims

    def _matching_events(self, now: datetime) -> list[Claim]:
        with self._db.read() as session:
            triggers = list(session.scalars(select(TriggerRow)))
            session.expunge_all()
        claims: list[Claim] = []
        settled = now - timedelta(seconds=SETTLE_SECONDS)
        for trigger in triggers:
            with self._db.read() as session:
                events = session.execute(
                    select(EventRow.id, EventRow.payload, EventRow.created_at)
                    .where(
                        EventRow.project_id == trigger.project_id,
                        EventRow.type == trigger.event_type,
                        EventRow.id > trigger.cursor,
                    )
                    .order_by(EventRow.id)
                    .limit(_EVENT_BATCH)
                ).all()
                if not events:
                    continue
                handled = set(
                    session.scalars(
                        select(LeaseRow.occurrence).where(
                            LeaseRow.source_id == trigger.id,
                            LeaseRow.occurrence.in_([str(e.id) for e in events]),
                        )
                    )
                )
            for event in events:
                if str(event.id) in handled or not matches(trigger.where, event.payload):
                    continue
                won = claim(self._db, trigger, occurrence=str(event.id), holder=self.holder)
                if won is not None:
                    claims.append(won)
            old = [e.id for e in events if e.created_at <= settled]
            if old:
                with self._db.write() as session:
                    session.execute(
                        update(TriggerRow)
                        .where(TriggerRow.id == trigger.id, TriggerRow.cursor < max(old))
                        .values(cursor=max(old))
                    )
        return claims

    # -- running --------------------------------------------------------------------------
    def _start(self, found: Claim) -> None:
        try:
            with self._db.read() as session:
                project = session.get(ProjectRow, found.project_id)
                name = project.name if project is not None else ""
            run = self._pipelines_of(name).run(
                found.target, params=found.params, runner=found.runner, tags=found.tags
            )
        except PodiumError as exc:  # the run could not start: say why on the lease
            _log.warning(
                "the %s %s could not start its run: %s", found.source, found.source_id, exc
            )
            release(self._db, found.lease_id, status="error", run_id=None, error=str(exc))
            return
        except Exception as exc:  # recorded on the lease and logged, never lost silently
            _log.exception("the %s %s failed to start its run", found.source, found.source_id)
            release(
                self._db, found.lease_id, status="error", run_id=None, error=f"podium failed: {exc}"
            )
            return
        release(self._db, found.lease_id, status=run.status, run_id=run.id, error=run.error)


def matches(where: Mapping[str, Any], payload: Mapping[str, Any]) -> bool:
    """Whether every ``key: value`` of ``where`` equals the payload's value at ``key``
    (a dotted key reads into nested objects: ``"labels.team"``)."""
    for key, expected in where.items():
        value: Any = payload
        for part in key.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return False
            value = value[part]
        if value != expected:
            return False
    return True
