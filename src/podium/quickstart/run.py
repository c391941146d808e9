"""The quickstart's orchestration: each step of the loop, in order, on one platform.

:func:`run_quickstart` is what ``podium quickstart`` runs before it serves the API;
running it again writes new table versions and adds new runs and model versions next to
the old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.platform import Installation
from podium.quickstart import EXPERIMENT, FEATURES_TABLE, MODEL, MODEL_ALIAS, TABLE
from podium.quickstart.data import DESCRIPTION, generate_customers
from podium.quickstart.features import CUSTOMER, ONLINE_FEATURES, build_training_set
from podium.quickstart.monitoring import show_monitoring
from podium.quickstart.registry import register_best
from podium.quickstart.serving import serve_burst
from podium.quickstart.show import Show
from podium.quickstart.training import FEATURES, FEATURES_SQL, GRID, Dataset, Trained, split, train
from podium.tracking.protocol import Tracking
from podium.tracking.types import Run

__all__ = ["QuickstartResult", "run_quickstart"]


@dataclass(frozen=True)
class QuickstartResult:
    """What a quickstart left behind: its runs ranked by held-out AUC, best first."""

    ranked: list[Run]


def run_quickstart(
    installation: Installation,
    project: str,
    show: Show,
    *,
    rows: int | None = None,
    report_dir: Path,
) -> QuickstartResult:
    """Walk the whole loop in ``project``: data, features, training, registry, serving and
    monitoring, printing each step on ``show``; ``rows`` customers (default 2,000), the
    monitoring report into ``report_dir``."""
    out = show.console
    platform = installation.platform(project)
    generated = generate_customers(rows) if rows else generate_customers()
    written = platform.data.write(TABLE, generated, mode="overwrite", schema_mode="overwrite")
    platform.catalog.update(TABLE, description=DESCRIPTION, tags=["churn", "quickstart"])
    out.print(
        f"[bold]1.[/] wrote {len(generated):,} customers to the lake table {written.ref} "
        f"({generated['churned'].mean():.0%} churned)"
    )

    # The features are a view over the raw table (lineage raw -> curated), declared as a
    # feature view; training reads a point-in-time join of them onto the labels.
    features = platform.data.create_view(FEATURES_TABLE, FEATURES_SQL)
    out.print(f"   derived the features as {features.ref} (warehouse SQL over {written.ref})")
    frame, training_ref = build_training_set(show, platform, generated[["customer_id", "churned"]])
    tracking = platform.tracking
    data = split(frame)
    out.print(f"[bold]2.[/] training {len(GRID)} models in experiment {EXPERIMENT!r}")
    trained = _train_grid(show, tracking, data_ref=training_ref, data=data)
    run_ids = [t.run_id for t in trained]

    ranked = tracking.search_runs(
        EXPERIMENT,
        filter="attributes.run_id IN (" + ", ".join(f"'{r}'" for r in run_ids) + ")",
        order_by=["metrics.auc DESC"],
        max_results=len(run_ids),
    ).runs
    out.print("[bold]3.[/] runs ranked by held-out AUC")
    show.ranking(ranked)
    if ranked:
        models = {t.run_id: t.model for t in trained}
        best = ranked[0].id
        register_best(
            show, installation, platform, name=MODEL, run_id=best, model=models[best], data=data
        )
        # Serve the production model (with a canary of the ONNX version, whose promotion
        # waits for approval), fetching online features by customer_id for requests that
        # lack them; then send it drifted traffic with delayed labels and show what
        # monitoring makes of it.
        serve_burst(
            show,
            installation,
            platform,
            model=MODEL,
            rows=[dict(zip(FEATURES, row, strict=True)) for row in data.x_test[:100].tolist()],
            features=ONLINE_FEATURES,
            entity_keys=CUSTOMER.join_keys,
            aliases=[MODEL_ALIAS],
        )
        sample = frame.sample(min(200, len(frame)), random_state=7)
        show_monitoring(
            show,
            platform,
            deployment=MODEL,
            inputs=sample[list(FEATURES)],
            labels=sample["churned"].tolist(),
            report_dir=report_dir,
            shift_column="tenure_months",
            model=f"{MODEL}@production",
            installation=installation,
            retrain_candidate=ranked[0].name,
        )
    return QuickstartResult(ranked=list(ranked))


def _train_grid(show: Show, tracking: Tracking, *, data_ref: str, data: Dataset) -> list[Trained]:
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=show.console,
    )
    trained: list[Trained] = []
    with progress:
        task = progress.add_task("training", total=len(GRID))
        for candidate in GRID:
            progress.update(task, description=f"training {candidate.name}")
            trained.append(
                train(tracking, candidate, data, experiment=EXPERIMENT, input_ref=data_ref)
            )
            progress.advance(task)
        progress.update(task, description="trained")
    return trained
