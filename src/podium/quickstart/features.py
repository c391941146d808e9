"""The quickstart's feature store: churn features as a feature view, a point-in-time
training set, and a materialized online store.

``customer_stats`` is a feature view over ``curated.churn_features`` (itself warehouse SQL
over ``raw.customers``); the service ``churn_model`` names the six features the models
use. The training set joins them, as of each customer's label time, onto the labels, and
is saved as ``curated.churn_train`` with lineage to the view and the table versions read.
Materialization then loads each customer's latest values into the online store, where the
serving runtime reads them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.features.definitions import Entity, Feature, FeatureService, FeatureView
from podium.platform import Platform
from podium.quickstart.show import Show

__all__ = [
    "CUSTOMER",
    "ONLINE_FEATURES",
    "SERVICE",
    "STATS",
    "TRAINING_TABLE",
    "build_training_set",
]

TRAINING_TABLE = "curated.churn_train"
_FEATURES = (
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "contract_one_year",
    "contract_two_year",
)

CUSTOMER = Entity(
    "customer", join_keys=["customer_id"], value_type="string", description="a telecom customer"
)
STATS = FeatureView(
    "customer_stats",
    entities=[CUSTOMER],
    source="curated.churn_features",
    timestamp_field="event_ts",
    ttl=timedelta(days=90),
    features=[Feature(name, "float64") for name in _FEATURES],
    owner="quickstart",
    description="Tenure, charges, support calls and contract of each customer.",
    tags={"team": "growth"},
)
ONLINE_FEATURES = tuple(f"customer_stats:{name}" for name in _FEATURES)
"""What the quickstart's deployment fetches by ``customer_id`` for a request that lacks it."""
SERVICE = FeatureService(
    "churn_model", features=[STATS], description="The inputs of the customer-churn model."
)


def build_training_set(
    show: Show, platform: Platform, labels: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """Apply the definitions, build, save and materialize; the training set and its ref."""
    out = show.console
    features = platform.features
    changes = features.apply([CUSTOMER, STATS, SERVICE])
    applied = ", ".join(f"{c.name} v{c.version} ({c.action})" for c in changes)
    out.print(f"   applied feature definitions: {applied}")
    now = datetime.now(UTC)
    entity_df = pd.DataFrame(
        {
            "customer_id": labels["customer_id"],
            "event_timestamp": now,
            "churned": labels["churned"],
        }
    )
    training = features.get_historical_features(entity_df, SERVICE.name)
    saved = training.save(TRAINING_TABLE)
    out.print(
        f"   point-in-time training set: {len(training):,} rows x {len(training.features)} "
        f"features -> {saved.ref} (read {', '.join(training.inputs)})"
    )
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    )
    with progress:
        task = progress.add_task("materializing", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        (loaded,) = features.materialize(end=now, progress=advance)
    first = str(labels["customer_id"].iloc[0])
    online = features.get_online_features([{"customer_id": first}], SERVICE.name)
    shown = show.table(f"online features of {first}", "feature", "value", "status")
    for name, values in online.values.items():
        shown.add_row(name, f"{values[0]}", online.statuses[name][0])
    out.print(f"   materialized {loaded['rows']:,} customers into the online store")
    out.print(shown)
    return training.to_pandas(), saved.ref
