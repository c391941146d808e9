"""Monitoring: the project's monitoring service (``p.monitoring``).

It reads the deployment's inference log and feedback labels (:mod:`.inference`), compares
a window of live traffic with the reference of the model version that served it
(:mod:`.references`), and hands the numbers to the statistics modules (drift, quality,
accuracy, fairness). Alert rules and alerts live in :mod:`.alerts`. A window is the last
``timedelta`` up to now, or a ``(start, end)`` pair; the default is the last hour::

    p.monitoring.drift("customer-churn", window=timedelta(hours=6))
    p.monitoring.feedback(request_id, label=1)
    p.monitoring.accuracy("customer-churn")      # overall and per version (canary/stable)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from podium.access.audit import Auditor
from podium.access.projects import Project
from podium.access.roles import Principal, Role
from podium.data.names import TableRef
from podium.data.protocol import Data
from podium.errors import InvalidInputError, NotFoundError
from podium.monitoring.alerts.evaluator import evaluate_rules
from podium.monitoring.alerts.rules import AlertRule, parse_rule
from podium.monitoring.alerts.state import Alert, AlertStore
from podium.monitoring.drift.detect import detect_drift, drift_from_profiles
from podium.monitoring.feedback import FeedbackReceipt, FeedbackStore, Label
from podium.monitoring.frames import Frame
from podium.monitoring.inference import ColumnKind, InferenceLogReader, TimeWindow, Window
from podium.monitoring.labels import accuracy_metrics, fairness_result
from podium.monitoring.profile import Profile, build_profile
from podium.monitoring.protocol import (
    AccuracyResult,
    ColumnDriftResult,
    DriftResult,
    FairnessResult,
    PerformanceResult,
    QualityResult,
    ReferenceInfo,
    VersionPerformance,
)
from podium.monitoring.quality import check_contract
from podium.monitoring.reference_predictions import PREDICTION, ReferencePredictions
from podium.monitoring.references import Reference, ReferenceStore
from podium.monitoring.report import distributions, report_document
from podium.registry.protocol import Registry
from podium.serving.control.names import find_by_alias
from podium.serving.control.tables import DeploymentRow
from podium.store.database import Database

__all__ = ["BreakerProbe", "Monitoring"]

BreakerProbe = Callable[[str], bool | None]
"""Whether the breaker of a deployment's primary model is open (``None``: unknown)."""

_PROFILE_KINDS: dict[str, ColumnKind] = {
    "numeric": "numeric",
    "categorical": "categorical",
    "boolean": "boolean",
}


def _columns(profile: Profile) -> dict[str, ColumnKind]:
    """The profiled columns the inference log can be compared on, with their kind."""
    return {
        name: _PROFILE_KINDS[col.kind]
        for name, col in profile.columns.items()
        if col.kind in _PROFILE_KINDS
    }


def _column(drift: Any) -> ColumnDriftResult:
    return ColumnDriftResult(
        column=drift.column,
        kind=drift.kind,
        test=drift.test,
        score=drift.score,
        threshold=drift.threshold,
        drifted=drift.drifted,
        statistic_kind=drift.statistic_kind,
        reason=drift.reason,
        reference_rows=drift.reference_rows,
        current_rows=drift.current_rows,
    )


def _no_data(deployment: str, window: TimeWindow) -> str:
    return (
        f"not enough data: deployment {deployment!r} logged no predictions from "
        f"{window.start:%Y-%m-%d %H:%M:%S} to {window.end:%Y-%m-%d %H:%M:%S} UTC"
    )


def _info(reference: Reference) -> ReferenceInfo:
    predictions = reference.predictions
    profile = predictions.profile if predictions is not None else None
    return ReferenceInfo(
        model=reference.model,
        version=reference.version,
        source=reference.source,
        rows=reference.profile.rows,
        profile=reference.profile.to_dict(),
        contract=reference.contract.to_dict(),
        updated_at=reference.updated_at,
        predictions=profile.to_dict() if profile is not None else None,
        predictions_source=predictions.source if predictions is not None else "",
    )


def _rate(part: Any, whole: int) -> float:
    return float(part or 0) / whole if whole else 0.0


def _performance(row: Mapping[str, Any], seconds: float) -> VersionPerformance:
    requests = int(row["requests"])
    return VersionPerformance(
        version=row["version"],
        requests=requests,
        throughput_rps=requests / seconds if seconds else 0.0,
        error_rate=_rate(row["errors"], requests),
        degraded_rate=_rate(row["degraded"], requests),
        cached_rate=_rate(row["cached"], requests),
        p50_ms=row["p50_ms"],
        p90_ms=row["p90_ms"],
        p95_ms=row["p95_ms"],
        p99_ms=row["p99_ms"],
        max_ms=row["max_ms"],
    )


class Monitoring:
    """Drift, data quality, performance, accuracy and fairness of one project's deployments.

    ``breaker`` tells whether a deployment's circuit breaker is open (the serving runtime
    knows); without it the ``breaker_open`` metric is unknown.

    Asking about a deployment the project neither has (by name or alias) nor ever logged a
    prediction for raises :class:`~podium.errors.NotFoundError`; a deleted deployment
    whose predictions are still in the log can be monitored.
    """

    def __init__(
        self,
        db: Database,
        project: Project,
        *,
        data: Data,
        registry: Registry,
        actor: str,
        role: Role,
        breaker: BreakerProbe | None = None,
        refresh: Callable[[], object] | None = None,
        audit: Auditor | None = None,
    ) -> None:
        self._data = data
        self._audit = audit or Auditor.disabled()
        self._registry = registry
        self._principal = Principal(actor, project.id, project.name, role)
        self.log = InferenceLogReader(data, refresh=refresh)
        self._feedback = FeedbackStore(data, self.log)
        self._references = ReferenceStore(db, project, data=data, registry=registry)
        self._alerts = AlertStore(db, project, actor=actor)
        self._db = db
        self._project = project
        self._known: set[str] = set()
        self.breaker = breaker

    def _require_deployment(self, deployment: str) -> None:
        """:class:`NotFoundError` unless the project has ``deployment`` (a name or alias)
        or its inference log holds a prediction of it: one indexed lookup, and one log
        query that stops at the first row only for a name that is no deployment."""
        if deployment in self._known:
            return
        with self._db.read() as session:
            found = (
                session.scalars(
                    select(DeploymentRow.id).where(
                        DeploymentRow.project_id == self._project.id,
                        DeploymentRow.name == deployment,
                    )
                ).first()
                is not None
                or find_by_alias(session, self._project.id, deployment) is not None
            )
        if not found and not self.log.logged(deployment):
            raise NotFoundError(
                f"deployment {deployment!r} does not exist in project "
                f"{self._project.name!r} and logged no predictions",
                field="deployment",
                remedy="list deployments with `podium deploy ls`, or check the project",
            )
        self._known.add(deployment)

    # -- drift and quality ---------------------------------------------------------------
    def drift(
        self,
        deployment: str,
        *,
        window: Window | None = None,
        reference: str | Frame | None = None,
    ) -> DriftResult:
        """Drift of each feature and of the prediction in ``window``.

        Features are compared with ``reference``: by default the reference profile of the
        model version that served most of the window; or a model ref (``churn/3``), a lake
        table (``raw.customers@3``) or a frame. Predictions are compared with that model
        version's predictions on its reference rows; a table or frame given as
        ``reference``, or a reference without predictions, compares them with the window
        just before instead (the prediction's ``reason`` says which). Defaults follow
        Evidently: KS / chi-square up to 1,000 reference rows, normed Wasserstein /
        Jensen-Shannon above, dataset drift at half the columns.
        """
        span = TimeWindow.resolve(window)  # a bad window is refused first, as over HTTP
        self._require_deployment(deployment)
        served = self.log.versions(deployment, span)
        if not served:
            return DriftResult(
                deployment=deployment,
                start=span.start,
                end=span.end,
                reference="",
                rows=0,
                enough_data=False,
                reason=_no_data(deployment, span),
            )
        model, version, _ = served[0]
        label, profile, predicted = self._profile_for(model, version, reference)
        current = self.log.features(deployment, span, _columns(profile))
        report = drift_from_profiles(profile, current)
        return DriftResult(
            deployment=deployment,
            start=span.start,
            end=span.end,
            reference=label,
            rows=current.num_rows,
            enough_data=True,
            columns=[_column(c) for c in report.columns],
            drifted_columns=list(report.drifted_columns),
            share_drifted=report.share_drifted,
            dataset_drift=report.dataset_drift,
            prediction=self._prediction_drift(deployment, span, predicted),
        )

    def _prediction_drift(
        self, deployment: str, span: TimeWindow, expected: ReferencePredictions | None
    ) -> ColumnDriftResult:
        now = self.log.predictions(deployment, span)
        if expected is not None and expected.profile is not None:
            report = drift_from_profiles(expected.profile, now, columns=[PREDICTION])
            return _column(report.columns[0])
        before = self.log.predictions(deployment, span.previous())
        if before.schema != now.schema:
            before = before.cast(now.schema) if before.num_rows == 0 else before
        report = detect_drift(before, now, columns=[PREDICTION])
        column = _column(report.columns[0])
        why = (
            expected.source
            if expected is not None
            else "a table or frame was given as the reference"
        )
        reason = f"compared with the window before, as the reference has no predictions ({why})"
        if column.score is None:
            reason = f"not enough data: {reason}, and the window before logged none"
        else:
            reason = f"{column.reason}; {reason}"
        return column.model_copy(update={"reason": reason})

    def _profile_for(
        self, model: str, version: str, reference: str | Frame | None
    ) -> tuple[str, Profile, ReferencePredictions | None]:
        """The label, feature profile and predictions profile to compare the window with."""
        if reference is None:
            found = self._reference(model, version)
            label = f"{model}/{found.version} ({found.source})"
            return label, found.profile, found.predictions
        if isinstance(reference, str):
            table = TableRef.find(reference)
            if table is not None:
                frame = self._data.read(table.table, version=table.version)
                return reference, build_profile(frame), None
            ref = self._registry.get_version(reference)
            found = self._references.get(ref.name, ref.version)
            return f"{ref.ref} ({found.source})", found.profile, found.predictions
        return "the given frame", build_profile(reference), None

    def _reference(self, model: str, version: str) -> Reference:
        if not version.isdigit():
            raise InvalidInputError(
                f"the inference log names version {version!r} of {model!r}, which is not a "
                "registry version number",
                field="version",
                remedy="pass reference='<model>/<version>' explicitly",
            )
        return self._references.get(model, int(version))

    def quality(self, deployment: str, *, window: Window | None = None) -> QualityResult:
        """Contract violations (schema, type, range, unseen category, nulls) and completeness."""
        span = TimeWindow.resolve(window)  # a bad window is refused first, as over HTTP
        self._require_deployment(deployment)
        served = self.log.versions(deployment, span)
        if not served:
            return QualityResult(
                deployment=deployment,
                start=span.start,
                end=span.end,
                reference="",
                rows=0,
                ok=True,
                reason=_no_data(deployment, span),
            )
        model, version, _ = served[0]
        found = self._reference(model, version)
        current = self.log.features(deployment, span, self.log.feature_kinds(deployment, span))
        report = check_contract(found.contract, current)
        body = report.to_dict()
        return QualityResult(
            deployment=deployment,
            start=span.start,
            end=span.end,
            reference=f"{model}/{found.version}",
            rows=current.num_rows,
            ok=report.ok,
            violations=list(body.get("violations", [])),
            completeness=dict(report.completeness),
        )

    # -- performance, accuracy, fairness ----------------------------------------------------
    def performance(
        self, deployment: str, *, window: Window | None = None, by_version: bool = True
    ) -> PerformanceResult:
        """Latency percentiles, throughput, error and degraded rates, and their timeline."""
        span = TimeWindow.resolve(window)  # a bad window is refused first, as over HTTP
        self._require_deployment(deployment)
        rows = self.log.performance(deployment, span)
        overall = next((r for r in rows if r["version"] is None), None)
        if overall is None or not overall["requests"]:
            return PerformanceResult(
                deployment=deployment,
                start=span.start,
                end=span.end,
                overall=None,
                reason=_no_data(deployment, span),
            )
        versions = [r for r in rows if r["version"] is not None] if by_version else []
        return PerformanceResult(
            deployment=deployment,
            start=span.start,
            end=span.end,
            overall=_performance(overall, span.seconds),
            versions=[_performance(r, span.seconds) for r in versions],
            timeline=self.log.timeline(deployment, span),
        )

    def accuracy(self, deployment: str, *, window: Window | None = None) -> AccuracyResult:
        """Accuracy metrics of the window's predictions that got feedback, overall and per
        version, so a canary can be compared with the stable version."""
        span = TimeWindow.resolve(window)  # a bad window is refused first, as over HTTP
        self._require_deployment(deployment)
        return accuracy_metrics(deployment, span, self.log.labeled(deployment, span))

    def fairness(
        self,
        deployment: str,
        attribute: str,
        *,
        window: Window | None = None,
        positive: Label = 1,
        privileged: str | None = None,
    ) -> FairnessResult:
        """Demographic parity and equal opportunity differences and the disparate impact
        ratio between the groups of the feature ``attribute``, from labeled predictions."""
        span = TimeWindow.resolve(window)  # a bad window is refused first, as over HTTP
        self._require_deployment(deployment)
        labeled = self.log.labeled(deployment, span, attribute=attribute)
        return fairness_result(
            deployment, attribute, span, labeled, positive=positive, privileged=privileged
        )

    # -- feedback ------------------------------------------------------------------------
    def feedback(self, request_id: str, label: Label) -> FeedbackReceipt:
        """Record ``label`` as the true outcome of the prediction ``request_id``."""
        self._principal.require(Role.WRITER, action="recording feedback")
        return self._feedback.record(request_id, label)

    def feedback_many(
        self, labels: Mapping[str, Label] | Iterable[tuple[str, Label]]
    ) -> FeedbackReceipt:
        """Record many outcomes in one write; nothing is recorded if any one is refused."""
        self._principal.require(Role.WRITER, action="recording feedback")
        return self._feedback.record_many(labels)

    # -- references and contracts -------------------------------------------------------
    def reference(self, model: str, version: int) -> ReferenceInfo:
        """The reference of ``model/version``, profiled from its training table if new."""
        return _info(self._references.get(model, version))

    def set_reference(
        self,
        model: str,
        version: int,
        data: Frame | str,
        *,
        predictions: str | Sequence[Any] | None = None,
    ) -> ReferenceInfo:
        """Make a profile of ``data`` (a frame or ``zone.table[@version]``) the reference.

        Prediction drift compares live predictions with the model's predictions on these
        rows: ``model/version`` predicts them, or ``predictions`` names the column of
        ``data`` holding them (it is not profiled as a feature), or holds one per row.
        """
        with self._audit.attempt("monitoring.set_reference", f"model:{model}/{version}"):
            self._principal.require(Role.WRITER, action="setting a reference profile")
            return _info(self._references.set(model, version, data, predictions=predictions))

    def contract(self, model: str, version: int) -> dict[str, Any]:
        """The data contract of ``model/version`` as plain data (edit it, then set it)."""
        return self._references.get(model, version).contract.to_dict()

    def set_contract(self, model: str, version: int, contract: Mapping[str, Any]) -> ReferenceInfo:
        """Replace the data contract of ``model/version``."""
        with self._audit.attempt("monitoring.set_contract", f"model:{model}/{version}"):
            self._principal.require(Role.WRITER, action="editing a data contract")
            return _info(self._references.set_contract(model, version, contract))

    # -- alerts ----------------------------------------------------------------------------
    def rules(self) -> list[AlertRule]:
        """Every alert rule of the project, by name."""
        return self._alerts.rules()

    def create_rule(self, rule: AlertRule | Mapping[str, Any]) -> AlertRule:
        """Add an alert rule; see :mod:`podium.monitoring.alerts.rules` for ready-made ones."""
        with self._audit.attempt("monitoring.create_rule", "rule") as attempt:
            self._principal.require(Role.WRITER, action="creating an alert rule")
            parsed = parse_rule(rule)
            attempt.target = f"rule:{parsed.name}"
            return self._alerts.create_rule(parsed)

    def delete_rule(self, name: str) -> None:
        """Delete the alert rule ``name`` and its alerts."""
        with self._audit.attempt("monitoring.delete_rule", f"rule:{name}"):
            self._principal.require(Role.WRITER, action="deleting an alert rule")
            self._alerts.delete_rule(name)

    def alerts(self, *, state: str | None = None) -> list[Alert]:
        """Alerts, newest first; ``state`` is ``firing``, ``pending`` or ``resolved``."""
        return self._alerts.alerts(state=state)

    def evaluate_alerts(self, *, now: datetime | None = None) -> list[Alert]:
        """Evaluate every rule now (or as of ``now``; naive is UTC, as in windows); the
        alerts that fired or resolved. Windows are ``rule.window`` up to ``now``; a rule's
        ``min_requests`` counts the requests of that same window."""
        if now is not None and not isinstance(now, datetime):
            raise InvalidInputError(
                f"the 'now' parameter must be a datetime; got {type(now).__name__} instead",
                field="now",
                remedy="pass e.g. datetime.now(timezone.utc)",
            )
        return evaluate_rules(self, self._alerts, now=now)

    def report(self, deployment: str, *, window: Window | None = None) -> dict[str, Any]:
        """Everything the HTML report shows, as JSON (see :mod:`podium.monitoring.report`)."""
        span = TimeWindow.resolve(window)  # a bad window is refused first, as over HTTP
        self._require_deployment(deployment)
        bounds = (span.start, span.end)
        drift = self.drift(deployment, window=bounds)
        shown: dict[str, Any] = {}
        if drift.enough_data:
            model, version, _ = self.log.versions(deployment, span)[0]
            found = self._reference(model, version)
            current = self.log.features(deployment, span, _columns(found.profile))
            shown = distributions(found.profile.to_dict(), current)
            expected = found.predictions.profile if found.predictions is not None else None
            if expected is not None:
                predicted = self.log.predictions(deployment, span)
                pair = distributions(expected.to_dict(), predicted).get(PREDICTION)
                if pair is not None:  # shown beside the features, named as the CLI does
                    shown[f"({PREDICTION})"] = pair
        alerts = [a for a in self.alerts() if a.deployment == deployment]
        sections = {
            "drift": drift.model_dump(mode="json"),
            "distributions": shown,
            "quality": self.quality(deployment, window=bounds).model_dump(mode="json"),
            "performance": self.performance(deployment, window=bounds).model_dump(mode="json"),
            "accuracy": self.accuracy(deployment, window=bounds).model_dump(mode="json"),
            "alerts": [a.model_dump(mode="json") for a in alerts[:50]],
        }
        return report_document(deployment, start=span.start, end=span.end, sections=sections)
