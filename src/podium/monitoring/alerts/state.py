"""Alert rules and alert state in the metadata database, with their platform events.

A rule has at most one open alert. While its condition holds the alert is ``pending``
(until it has held ``for_seconds``) and then ``firing``; when the condition stops holding
a firing alert becomes ``resolved`` and the next breach opens a new alert. So an alert
fires once per breach, however often the rules are evaluated. Each transition to firing
or resolved writes an ``alert.fired`` / ``alert.resolved`` event to the outbox in the same
transaction, which the event dispatcher delivers to webhooks (signed, retried, logged)
and to the platform event stream. Evaluations of one rule are serialised by a row lock,
so two servers evaluating at once never fire twice.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from podium.access.projects import Project
from podium.access.tables import ProjectRow
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.events.outbox import record_event
from podium.monitoring.alerts.rules import AlertRule
from podium.monitoring.tables import AlertRow, AlertRuleRow
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["ALERT_STATES", "Alert", "AlertState", "AlertStore", "projects_with_rules"]

AlertState = Literal["pending", "firing", "resolved"]
ALERT_STATES: tuple[AlertState, ...] = ("pending", "firing", "resolved")
_OPEN = ("pending", "firing")


class Alert(BaseModel):
    """One breach of a rule: its state, the metric value last seen and when it changed."""

    model_config = ConfigDict(frozen=True)

    id: int
    rule: str
    deployment: str
    metric: str
    condition: str
    threshold: float
    severity: str
    state: AlertState
    value: float | None
    message: str
    since: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    evaluated_at: datetime


def _rule(row: AlertRuleRow) -> AlertRule:
    return AlertRule(
        name=row.name,
        deployment=row.deployment,
        metric=row.metric,
        condition=row.condition,
        threshold=row.threshold,
        window=timedelta(seconds=row.window_seconds),
        for_seconds=row.for_seconds,
        severity=row.severity,
        options=dict(row.options),
        min_requests=row.min_requests,
    )


def _alert(row: AlertRow, rule: AlertRuleRow) -> Alert:
    return Alert(
        id=row.id,
        rule=rule.name,
        deployment=rule.deployment,
        metric=rule.metric,
        condition=rule.condition,
        threshold=rule.threshold,
        severity=rule.severity,
        state=row.state,
        value=row.value,
        message=row.message,
        since=row.since,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        evaluated_at=row.evaluated_at,
    )


def projects_with_rules(db: Database) -> list[str]:
    """The names of the projects that have at least one alert rule."""
    query = (
        select(ProjectRow.name)
        .where(ProjectRow.id.in_(select(AlertRuleRow.project_id).distinct()))
        .order_by(ProjectRow.name)
    )
    with db.read() as session:
        return [str(name) for name in session.scalars(query)]


class AlertStore:
    """The alert rules and alerts of one project."""

    def __init__(self, db: Database, project: Project, *, actor: str) -> None:
        self._db = db
        self._project = project
        self._actor = actor

    # -- rules ---------------------------------------------------------------------
    def create_rule(self, rule: AlertRule) -> AlertRule:
        """Store ``rule``; a rule of the same name is a ConflictError."""
        try:
            with self._db.write() as session:
                session.add(
                    AlertRuleRow(
                        project_id=self._project.id,
                        name=rule.name,
                        deployment=rule.deployment,
                        metric=rule.metric,
                        condition=rule.condition,
                        threshold=rule.threshold,
                        window_seconds=int(rule.window.total_seconds()),
                        for_seconds=rule.for_seconds,
                        severity=rule.severity,
                        options=dict(rule.options),
                        min_requests=rule.min_requests,
                        created_by=self._actor,
                        created_at=utcnow(),
                    )
                )
        except sa_exc.IntegrityError:
            raise ConflictError(
                f"an alert rule named {rule.name!r} exists already",
                field="name",
                remedy="pick another name, or delete the existing rule first",
            ) from None
        return rule

    def rules(self) -> list[AlertRule]:
        """Every rule of the project, by name."""
        with self._db.read() as session:
            rows = session.scalars(
                select(AlertRuleRow)
                .where(AlertRuleRow.project_id == self._project.id)
                .order_by(AlertRuleRow.name)
            ).all()
        return [_rule(row) for row in rows]

    def delete_rule(self, name: str) -> None:
        """Delete rule ``name`` with its alerts."""
        with self._db.write() as session:
            row = self._find(session, name)
            session.execute(delete(AlertRow).where(AlertRow.rule_id == row.id))
            session.delete(row)

    def _find(self, session: Session, name: str, *, lock: bool = False) -> AlertRuleRow:
        query = select(AlertRuleRow).where(
            AlertRuleRow.project_id == self._project.id, AlertRuleRow.name == name
        )
        row = session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFoundError(
                f"there is no alert rule {name!r} in project {self._project.name!r}",
                field="name",
                remedy="list the rules with `podium monitor rules ls`",
            )
        return row

    # -- alerts --------------------------------------------------------------------
    def alerts(self, *, state: str | None = None, limit: int = 100) -> builtins.list[Alert]:
        """Alerts of the project, newest first, optionally only those in ``state``."""
        if state is not None and state not in ALERT_STATES:
            raise InvalidInputError(
                f"state must be one of {', '.join(ALERT_STATES)}; got {state!r} instead",
                field="state",
                remedy="pass firing, pending or resolved, or nothing for all",
            )
        query = (
            select(AlertRow, AlertRuleRow)
            .join(AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id)
            .where(AlertRow.project_id == self._project.id)
            .order_by(AlertRow.id.desc())
            .limit(limit)
        )
        if state is not None:
            query = query.where(AlertRow.state == state)
        with self._db.read() as session:
            return [_alert(alert, rule) for alert, rule in session.execute(query).all()]

    def observe(
        self,
        name: str,
        *,
        value: float | None,
        breached: bool,
        message: str,
        now: datetime | None = None,
    ) -> Alert | None:
        """Record one evaluation of rule ``name``; the alert if its state changed.

        ``value`` ``None`` means the metric could not be computed (no traffic, fewer
        requests than the rule's ``min_requests``, no labels): a firing alert stays firing
        and a pending one is dropped (its ``for_seconds`` start over at the next breach),
        since nothing says the condition still holds or stopped.
        """
        now = now or utcnow()
        with self._db.write() as session:
            rule = self._find(session, name, lock=True)
            alert = session.scalars(
                select(AlertRow)
                .where(AlertRow.rule_id == rule.id, AlertRow.state.in_(_OPEN))
                .order_by(AlertRow.id.desc())
            ).first()
            if breached:
                return self._breached(session, rule, alert, value, message, now)
            if alert is None:
                return None
            if alert.state == "pending":
                session.delete(alert)
                return None
            alert.evaluated_at = now
            if value is None:
                return None
            alert.state, alert.value, alert.resolved_at = "resolved", value, now
            alert.message = message
            self._event(session, "alert.resolved", alert, rule)
            session.flush()
            return _alert(alert, rule)

    def _breached(
        self,
        session: Session,
        rule: AlertRuleRow,
        alert: AlertRow | None,
        value: float | None,
        message: str,
        now: datetime,
    ) -> Alert | None:
        if alert is None:
            alert = AlertRow(
                project_id=self._project.id,
                rule_id=rule.id,
                state="pending",
                value=value,
                message=message,
                since=now,
                evaluated_at=now,
            )
            session.add(alert)
        alert.value, alert.message, alert.evaluated_at = value, message, now
        held = (now - alert.since).total_seconds()
        if alert.state == "pending" and held >= rule.for_seconds:
            alert.state, alert.fired_at = "firing", now
            session.flush()
            self._event(session, "alert.fired", alert, rule)
            return _alert(alert, rule)
        return None

    def _event(self, session: Session, type_: str, alert: AlertRow, rule: AlertRuleRow) -> None:
        record_event(
            session,
            project_id=self._project.id,
            type=type_,
            subject=f"{rule.deployment}/{rule.name}",
            payload={
                "alert_id": alert.id,
                "rule": rule.name,
                "deployment": rule.deployment,
                "metric": rule.metric,
                "condition": rule.condition,
                "threshold": rule.threshold,
                "severity": rule.severity,
                "value": alert.value,
                "message": alert.message,
                "state": alert.state,
            },
            actor=self._actor,
        )
