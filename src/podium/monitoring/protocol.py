"""The monitoring interface (``p.monitoring``) and the results it hands back.

:class:`~podium.monitoring.service.Monitoring` implements it in process and
:class:`~podium.client.monitoring.HttpMonitoring` over the REST API, with the same
arguments, results and errors. Every result is a pydantic model that round-trips through
JSON. A number that cannot be computed (an empty window, one class only) is ``None`` with
a ``reason`` ("not enough data: ..."), never NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, computed_field

from podium.monitoring.alerts.rules import AlertRule
from podium.monitoring.alerts.state import Alert
from podium.monitoring.drift.status import DriftStatus, drift_status
from podium.monitoring.feedback import FeedbackReceipt, Label
from podium.monitoring.inference import Window

__all__ = [
    "AccuracyResult",
    "ColumnDriftResult",
    "DriftResult",
    "FairnessResult",
    "Metric",
    "MonitoringAPI",
    "PerformanceResult",
    "QualityResult",
    "ReferenceInfo",
    "VersionPerformance",
]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class Metric(_Result):
    """One metric: ``value``, or ``None`` with the ``reason`` it could not be computed."""

    value: float | None
    reason: str | None = None


class ColumnDriftResult(_Result):
    """The drift decision of one column, and which test decided it.

    ``status`` is what every renderer shows: ``drift``, ``ok``, or ``n/a`` when the test
    could not run (``score`` is None; ``reason`` says why).
    """

    column: str
    kind: str
    test: str
    score: float | None
    threshold: float
    drifted: bool
    statistic_kind: str
    reason: str
    reference_rows: int
    current_rows: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> DriftStatus:
        """``drift``, ``ok`` or ``n/a``, from ``score`` and ``drifted``."""
        return drift_status(self.score, self.drifted)


class DriftResult(_Result):
    """Feature and prediction drift of a deployment's window against its reference.

    ``prediction`` compares the window's predictions with the model's predictions on the
    reference rows (or, when the reference has none, with the window just before).
    ``status`` is the dataset verdict every renderer shows: ``drift``, ``ok``, or ``n/a``
    when no feature could be tested.
    """

    deployment: str
    start: datetime
    end: datetime
    reference: str
    rows: int
    enough_data: bool
    reason: str = ""
    columns: list[ColumnDriftResult] = Field(default_factory=list)
    drifted_columns: list[str] = Field(default_factory=list)
    share_drifted: float | None = None
    dataset_drift: bool = False
    prediction: ColumnDriftResult | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> DriftStatus:
        """``drift`` or ``ok`` for the dataset, ``n/a`` when no feature could be tested."""
        if not self.enough_data or all(c.score is None for c in self.columns):
            return "n/a"
        return "drift" if self.dataset_drift else "ok"

    def __repr__(self) -> str:
        return (
            f"DriftResult({self.deployment!r}, status={self.status!r}, "
            f"{len(self.drifted_columns)} of {len(self.columns)} columns drifted, rows={self.rows})"
        )

    def _repr_html_(self) -> str:
        from podium.notebook.monitoring import drift_html

        return drift_html(self)


class QualityResult(_Result):
    """Contract violations and completeness of a deployment's window."""

    deployment: str
    start: datetime
    end: datetime
    reference: str
    rows: int
    ok: bool
    violations: list[dict[str, Any]] = Field(default_factory=list)
    completeness: dict[str, float | None] = Field(default_factory=dict)
    reason: str = ""


class VersionPerformance(_Result):
    """Traffic and latency of one version (``version`` ``None``: all versions)."""

    version: str | None
    requests: int
    throughput_rps: float
    error_rate: float
    degraded_rate: float
    cached_rate: float
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class PerformanceResult(_Result):
    """Latency percentiles, throughput, error and degraded rates, overall and per version."""

    deployment: str
    start: datetime
    end: datetime
    overall: VersionPerformance | None
    versions: list[VersionPerformance] = Field(default_factory=list)
    timeline: list[dict[str, Any]] = Field(default_factory=list)
    reason: str = ""


class AccuracyResult(_Result):
    """Metrics from feedback labels joined on request id, overall and per version."""

    deployment: str
    start: datetime
    end: datetime
    task: Literal["classification", "regression", "unknown"]
    labeled: int
    overall: dict[str, Metric] = Field(default_factory=dict)
    versions: dict[str, dict[str, Metric]] = Field(default_factory=dict)
    labeled_by_version: dict[str, int] = Field(default_factory=dict)
    reason: str = ""

    def __repr__(self) -> str:
        shown = {k: m.value for k, m in self.overall.items()}
        return f"AccuracyResult({self.deployment!r}, labeled={self.labeled}, overall={shown})"

    def _repr_html_(self) -> str:
        from podium.notebook.monitoring import accuracy_html

        return accuracy_html(self)


class FairnessResult(_Result):
    """Group fairness of the window's labeled predictions for one sensitive attribute."""

    deployment: str
    attribute: str
    start: datetime
    end: datetime
    labeled: int
    metrics: dict[str, Metric] = Field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = Field(default_factory=dict)
    reason: str = ""

    def __repr__(self) -> str:
        shown = {k: m.value for k, m in self.metrics.items()}
        return (
            f"FairnessResult({self.deployment!r}, attribute={self.attribute!r}, "
            f"labeled={self.labeled}, metrics={shown})"
        )

    def _repr_html_(self) -> str:
        from podium.notebook.monitoring import fairness_html

        return fairness_html(self)


class ReferenceInfo(_Result):
    """The reference of a model version: where it came from, its profile and contract.

    ``predictions`` is the profile of the model's predictions on the reference rows (one
    column, ``prediction``), which prediction drift compares live predictions with;
    ``predictions_source`` says where they came from, or why there are none.
    """

    model: str
    version: int
    source: str
    rows: int
    profile: dict[str, Any]
    contract: dict[str, Any]
    updated_at: datetime
    predictions: dict[str, Any] | None = None
    predictions_source: str = ""


class MonitoringAPI(Protocol):
    """What ``p.monitoring`` offers: drift, quality, performance, accuracy, fairness, alerts."""

    def drift(
        self,
        deployment: str,
        *,
        window: Window | None = None,
        reference: str | None = None,
    ) -> DriftResult:
        """Drift of each feature and of the prediction in ``window`` (default: last hour)."""
        ...

    def quality(self, deployment: str, *, window: Window | None = None) -> QualityResult:
        """Contract violations (schema, type, range, category, nulls) and completeness."""
        ...

    def performance(
        self, deployment: str, *, window: Window | None = None, by_version: bool = True
    ) -> PerformanceResult:
        """Latency percentiles, throughput, error and degraded rates."""
        ...

    def accuracy(self, deployment: str, *, window: Window | None = None) -> AccuracyResult:
        """Accuracy metrics from feedback labels, overall and per version."""
        ...

    def fairness(
        self,
        deployment: str,
        attribute: str,
        *,
        window: Window | None = None,
        positive: Label = 1,
        privileged: str | None = None,
    ) -> FairnessResult:
        """Demographic parity, equal opportunity and disparate impact for ``attribute``."""
        ...

    def feedback(self, request_id: str, label: Label) -> FeedbackReceipt:
        """Record the true outcome of one prediction."""
        ...

    def feedback_many(
        self, labels: Mapping[str, Label] | Iterable[tuple[str, Label]]
    ) -> FeedbackReceipt:
        """Record many outcomes at once; nothing is recorded if any one is refused."""
        ...

    def reference(self, model: str, version: int) -> ReferenceInfo:
        """The reference of ``model/version`` (profiled from its training table if new)."""
        ...

    def set_reference(
        self, model: str, version: int, data: Any, *, predictions: Any = None
    ) -> ReferenceInfo:
        """Profile ``data`` as the reference of ``model/version`` (its data contract is
        derived anew): a lake table (``raw.customers@3``), a pandas DataFrame or a pyarrow
        Table (over HTTP uploaded as Arrow, within the server's body size limit).
        ``predictions`` names the column of ``data`` that holds the model's predictions on
        it (embedded also: one value per row); by default the model version predicts
        them. Prediction drift compares live predictions with these."""
        ...

    def set_contract(self, model: str, version: int, contract: Mapping[str, Any]) -> ReferenceInfo:
        """Replace the data contract of ``model/version`` (an edited ``contract(...)``)."""
        ...

    def contract(self, model: str, version: int) -> dict[str, Any]:
        """The data contract of ``model/version``, as plain data to edit."""
        ...

    def rules(self) -> list[AlertRule]:
        """Every alert rule of the project."""
        ...

    def create_rule(self, rule: AlertRule | Mapping[str, Any]) -> AlertRule:
        """Add an alert rule (its name is unique in the project)."""
        ...

    def delete_rule(self, name: str) -> None:
        """Delete an alert rule and its alerts."""
        ...

    def alerts(self, *, state: str | None = None) -> list[Alert]:
        """Alerts, newest first; ``state`` is ``firing``, ``pending`` or ``resolved``."""
        ...

    def evaluate_alerts(self, *, now: datetime | None = None) -> list[Alert]:
        """Evaluate every rule now, or as of ``now`` (a naive datetime is UTC); the alerts
        that fired or resolved. Each rule's window ends at that time."""
        ...

    def report(self, deployment: str, *, window: Window | None = None) -> dict[str, Any]:
        """Everything the HTML report shows, as JSON (the report's JSON twin)."""
        ...
