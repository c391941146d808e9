"""Schedules and event triggers of one project: what ``p.pipelines.schedule`` and
``p.pipelines.trigger`` record, checked before anything is stored.

A schedule runs a pipeline at every time its ``cron`` expression names (UTC); a trigger
runs it on every platform event of one type (``alert.fired``, ``model.stage_changed``,
...) whose payload matches ``where``. Both name the pipeline by ``module:qualname``,
because the server imports and runs it (``podium up``, see
:mod:`podium.pipelines.scheduler`), so the module must be importable there: a pipeline
defined in ``__main__`` or a notebook cannot be scheduled.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from croniter import croniter
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select

from podium.access.projects import Project
from podium.errors import InvalidInputError, NotFoundError
from podium.events.tables import EventRow
from podium.events.webhooks import EVENT_TYPES
from podium.pipelines.definitions import Pipeline
from podium.pipelines.runner import runner_named
from podium.pipelines.tables import LeaseRow, ScheduleRow, TriggerRow
from podium.pipelines.targets import check_target
from podium.store.database import Database

__all__ = ["Activation", "Schedule", "ScheduleBook", "Trigger", "importable_pipeline"]


class Schedule(BaseModel):
    """A pipeline run on a cron schedule (evaluated in UTC by ``podium up``)."""

    id: str
    pipeline: str
    target: str
    cron: str
    params: dict[str, Any] = Field(default_factory=dict)
    runner: str = "local"
    last_due: datetime | None = None
    created_by: str = ""
    created_at: datetime


class Trigger(BaseModel):
    """A pipeline run on each event of type ``on`` whose payload matches ``where``."""

    id: str
    pipeline: str
    target: str
    on: str
    where: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    runner: str = "local"
    created_by: str = ""
    created_at: datetime


class Activation(BaseModel):
    """One run a schedule or trigger started (or failed to start): the claimed lease.

    ``occurrence`` is the due time (ISO, UTC) of a schedule or the event id of a trigger;
    ``status`` is ``claimed`` while the run goes on, then ``succeeded``, ``failed`` (the
    run failed) or ``error`` (it could not start: ``error`` says why).
    """

    source: Literal["schedule", "trigger"]
    source_id: str
    occurrence: str
    status: str
    holder: str
    run_id: str | None = None
    error: str | None = None
    claimed_at: datetime
    ended_at: datetime | None = None


def importable_pipeline(target: str) -> Pipeline[..., Any]:
    """The pipeline at ``module:qualname`` imported as a server would import it.

    Unlike a resume, the pipelines defined in this process do not count: a schedule is
    run by the server, which has only what it can import.
    """
    module_name, _, qualname = check_target(target).partition(":")
    if module_name == "__main__":
        raise InvalidInputError(
            f"the pipeline {target!r} is defined in __main__, which the server cannot import",
            field="pipeline",
            remedy="move the @podium.pipeline function into a module (e.g. churn/pipelines.py) "
            "and import it from there",
        )
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError(
            f"the pipeline {target!r} cannot be imported: {exc}",
            field="pipeline",
            remedy="name a @podium.pipeline in a module on the server's sys.path",
        ) from None
    if not isinstance(found, Pipeline):
        raise InvalidInputError(
            f"{target!r} is a {type(found).__name__}, not a pipeline",
            field="pipeline",
            remedy="name a function decorated with @podium.pipeline(...)",
        )
    return found


def check_cron(cron: object) -> str:
    """``cron`` if it is a five-field cron expression, else InvalidInputError."""
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise InvalidInputError(
            "the cron of a schedule must be five fields 'minute hour day month weekday'; "
            f"got {cron!r} instead",
            field="cron",
            remedy="pass e.g. cron='0 3 * * *' (every day at 03:00 UTC)",
        )
    return cron


def check_event_type(on: object) -> str:
    """``on`` if the platform records events of that type, else InvalidInputError."""
    if not isinstance(on, str) or on not in EVENT_TYPES:
        raise InvalidInputError(
            f"a trigger's event type must be one of {sorted(EVENT_TYPES)}; got {on!r} instead",
            field="on",
            remedy="pass e.g. on='alert.fired'",
        )
    return on


def _json_object(value: Mapping[str, Any] | None, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidInputError(
            f"the {field!r} of a schedule or trigger must be a mapping with str keys; "
            f"got {value!r} instead",
            field=field,
            remedy=f"pass e.g. {field}={{'name': 'value'}}",
        )
    try:
        return dict(json.loads(json.dumps(dict(value), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"the {field!r} of a schedule or trigger must be JSON: {exc}",
            field=field,
            remedy="use str, numbers, booleans, lists and dicts (they are stored as JSON)",
        ) from None


class ScheduleBook:
    """The schedules, triggers and activations of one project (rows, checked)."""

    def __init__(self, db: Database, project: Project, *, actor: str = "") -> None:
        self._db = db
        self._project = project
        self._actor = actor

    def add_schedule(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        cron: str,
        params: Mapping[str, Any] | None,
        runner: str,
    ) -> Schedule:
        """Store a checked schedule (see :meth:`Pipelines.schedule`)."""
        cron = check_cron(cron)
        found, stored, runner = self._checked(pipeline, params, runner)
        row = ScheduleRow(
            id=uuid.uuid4().hex,
            project_id=self._project.id,
            pipeline=found.name,
            target=found.target,
            cron=cron,
            params=stored,
            runner=runner,
            created_by=self._actor,
        )
        with self._db.write() as session:
            session.add(row)
            session.flush()
            return _schedule(row)

    def add_trigger(
        self,
        pipeline: Pipeline[..., Any] | str,
        *,
        on: str,
        params: Mapping[str, Any] | None,
        where: Mapping[str, Any] | None,
        runner: str,
    ) -> Trigger:
        """Store a checked trigger; it reacts to events recorded from now on."""
        on = check_event_type(on)
        condition = _json_object(where, "where")
        found, stored, runner = self._checked(pipeline, params, runner)
        with self._db.write() as session:
            latest = session.scalar(select(func.max(EventRow.id))) or 0
            row = TriggerRow(
                id=uuid.uuid4().hex,
                project_id=self._project.id,
                pipeline=found.name,
                target=found.target,
                event_type=on,
                where=condition,
                params=stored,
                runner=runner,
                cursor=latest,
                created_by=self._actor,
            )
            session.add(row)
            session.flush()
            return _trigger(row)

    def schedules(self) -> list[Schedule]:
        query = select(ScheduleRow).where(ScheduleRow.project_id == self._project.id)
        with self._db.read() as session:
            return [_schedule(r) for r in session.scalars(query.order_by(ScheduleRow.created_at))]

    def triggers(self) -> list[Trigger]:
        query = select(TriggerRow).where(TriggerRow.project_id == self._project.id)
        with self._db.read() as session:
            return [_trigger(r) for r in session.scalars(query.order_by(TriggerRow.created_at))]

    def activations(self, source_id: str | None = None, *, limit: int = 100) -> list[Activation]:
        """The newest runs schedules and triggers started, of one of them or of all."""
        query = select(LeaseRow).where(LeaseRow.project_id == self._project.id)
        if source_id is not None:
            query = query.where(LeaseRow.source_id == source_id)
        query = query.order_by(LeaseRow.id.desc()).limit(limit)
        with self._db.read() as session:
            return [_activation(row) for row in session.scalars(query)]

    def remove(self, schedule_id: str) -> str:
        """Delete the schedule or trigger ``schedule_id``; which kind it was."""
        with self._db.write() as session:
            for kind, table in (("schedule", ScheduleRow), ("trigger", TriggerRow)):
                done = session.execute(
                    delete(table).where(
                        table.id == schedule_id, table.project_id == self._project.id
                    )
                )
                if getattr(done, "rowcount", 0):
                    return kind
        raise NotFoundError(
            f"no schedule or trigger {schedule_id!r} in project {self._project.name!r}",
            remedy="list them with `podium pipelines schedules` and `podium pipelines triggers`",
        )

    def _checked(
        self, pipeline: Pipeline[..., Any] | str, params: Mapping[str, Any] | None, runner: str
    ) -> tuple[Pipeline[..., Any], dict[str, Any], str]:
        target = pipeline.target if isinstance(pipeline, Pipeline) else pipeline
        found = importable_pipeline(target)
        stored = _json_object(params, "params")
        found.bind(stored)  # unknown or missing params are refused now, not at 03:00
        runner_named(runner)
        return found, stored, runner


def _schedule(row: ScheduleRow) -> Schedule:
    return Schedule(
        id=row.id,
        pipeline=row.pipeline,
        target=row.target,
        cron=row.cron,
        params=dict(row.params or {}),
        runner=row.runner,
        last_due=row.last_due,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _trigger(row: TriggerRow) -> Trigger:
    return Trigger(
        id=row.id,
        pipeline=row.pipeline,
        target=row.target,
        on=row.event_type,
        where=dict(row.where or {}),
        params=dict(row.params or {}),
        runner=row.runner,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _activation(row: LeaseRow) -> Activation:
    return Activation(
        source=row.source,
        source_id=row.source_id,
        occurrence=row.occurrence,
        status=row.status,
        holder=row.holder,
        run_id=row.run_id,
        error=row.error,
        claimed_at=row.claimed_at,
        ended_at=row.ended_at,
    )
