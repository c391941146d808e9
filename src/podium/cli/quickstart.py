"""``podium quickstart``: the product's main job, on a fresh machine, with zero arguments.

It writes a synthetic customer-churn data set into the lake table ``raw.customers`` (a
Delta table, described in the catalog), derives the features as the view
``curated.churn_features`` (warehouse SQL, with lineage to the raw version), reads them
back through the lake, and trains a small grid of models with every run tracked in the
experiment ``churn`` and pinned to the table version it read. It ranks the runs by
held-out AUC, registers the best model as ``customer-churn`` (promoted to production with
a second identity's approval, and optimized to ONNX beside it; see
:mod:`podium.cli.quickstart_registry`), and then serves the API so the same runs can be
queried over HTTP. Running it again writes new table versions and adds new runs and model
versions next to the old ones.

``--rows`` (hidden) shrinks the data set; the tests use it to stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from podium.cli.context import cli_state
from podium.cli.render import console, format_number, short_id, table
from podium.cli.up import PortOption, check_port_free, serve_until_stopped
from podium.config import Settings
from podium.tracking.protocol import Tracking
from podium.tracking.types import Run

if TYPE_CHECKING:
    from podium.cli.quickstart_training import Dataset, Trained

__all__ = ["EXPERIMENT", "FEATURES_TABLE", "MODEL", "MODEL_ALIAS", "TABLE", "quickstart"]

EXPERIMENT = "churn"
TABLE = "raw.customers"
FEATURES_TABLE = "curated.churn_features"
MODEL = "customer-churn"
MODEL_ALIAS = "customer-churn-v2"
"""Another name of the quickstart's deployment: the ``model_id`` the README's request sends."""
HOST = "127.0.0.1"


def quickstart(
    ctx: typer.Context,
    serve_api: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve the API afterwards, until Ctrl-C."),
    ] = True,
    port: PortOption = None,
    rows: Annotated[int | None, typer.Option("--rows", min=100, max=1_000_000, hidden=True)] = None,
) -> None:
    """Train and rank a grid of churn models with tracking, then serve the API.

    Everything lives under PODIUM_HOME (default ./.podium): the data set in the lake
    tables raw.customers and curated.churn_features, runs in the experiment 'churn' and
    the model customer-churn of the default project.
    """
    # pandas and scikit-learn take over a second to import: only this command pays for them,
    # not every `podium ...` invocation (the one reason for imports inside a function here).
    from podium.cli.quickstart_data import DESCRIPTION, generate_customers
    from podium.cli.quickstart_features import CUSTOMER, ONLINE_FEATURES, build_training_set
    from podium.cli.quickstart_monitoring import show_monitoring
    from podium.cli.quickstart_registry import register_best
    from podium.cli.quickstart_serving import serve_burst
    from podium.cli.quickstart_training import FEATURES, FEATURES_SQL, GRID, split

    state = cli_state(ctx)
    settings = state.settings
    port = port or settings.port
    if serve_api:
        check_port_free(HOST, port)  # fail before training, not after
    out = console()
    out.rule("[bold]podium quickstart")

    installation = state.installation()
    platform = installation.platform(settings.project)
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
    frame, training_ref = build_training_set(out, platform, generated[["customer_id", "churned"]])
    tracking = platform.tracking
    data = split(frame)
    out.print(f"[bold]2.[/] training {len(GRID)} models in experiment {EXPERIMENT!r}")
    trained = _train_grid(out, tracking, data_ref=training_ref, data=data)
    run_ids = [t.run_id for t in trained]

    ranked = tracking.search_runs(
        EXPERIMENT,
        filter="attributes.run_id IN (" + ", ".join(f"'{r}'" for r in run_ids) + ")",
        order_by=["metrics.auc DESC"],
        max_results=len(run_ids),
    ).runs
    out.print("[bold]3.[/] runs ranked by held-out AUC")
    out.print(_ranking(ranked))
    if ranked:
        models = {t.run_id: t.model for t in trained}
        best = ranked[0].id
        register_best(
            out, installation, platform, name=MODEL, run_id=best, model=models[best], data=data
        )
        # Serve the production model (with a canary of the ONNX version, whose promotion
        # waits for approval), fetching online features by customer_id for requests that
        # lack them; then send it drifted traffic with delayed labels and show what
        # monitoring makes of it.
        serve_burst(
            out,
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
            platform,
            deployment=MODEL,
            inputs=sample[list(FEATURES)],
            labels=sample["churned"].tolist(),
            report_dir=settings.home / "reports",
            shift_column="tenure_months",
            model=f"{MODEL}@production",
        )
    _print_next_steps(out, ranked)

    if serve_api:
        _print_howto(out, settings, port)
        serve_until_stopped(installation, host=HOST, port=port)


def _train_grid(out: Console, tracking: Tracking, *, data_ref: str, data: Dataset) -> list[Trained]:
    from podium.cli.quickstart_training import GRID, train  # see quickstart()

    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
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


def _ranking(runs: Sequence[Run]) -> Table:
    ranking = table(None, "rank", "run id", "name", "auc", "accuracy", "f1", "log_loss")
    for rank, run in enumerate(runs, start=1):
        best = rank == 1
        ranking.add_row(
            f"{rank} *" if best else str(rank),
            short_id(run.id),
            run.name,
            *(
                format_number(run.metrics[key]) if key in run.metrics else "-"
                for key in ("auc", "accuracy", "f1", "log_loss")
            ),
            style="bold green" if best else None,
        )
    ranking.caption = "* best held-out AUC"
    return ranking


def _print_next_steps(out: Console, ranked: Sequence[Run]) -> None:
    if not ranked:
        return
    best = short_id(ranked[0].id)
    others = " ".join(short_id(run.id) for run in ranked[1:3])
    out.print("next:")
    out.print(f'  podium runs ls --experiment {EXPERIMENT} --order-by "metrics.auc DESC"')
    out.print(f"  podium runs show {best}")
    out.print(f"  podium runs compare {best} {others}")
    out.print(f"  podium data describe {TABLE}")
    out.print(f"  podium models show {MODEL}@production")
    out.print(f"  podium models lineage {MODEL}@production")
    out.print("  podium features describe customer_stats")
    out.print(f"  podium deploy status {MODEL}")
    out.print(f"  podium monitor drift {MODEL}")


def _print_howto(out: Console, settings: Settings, port: int) -> None:
    from podium.cli.quickstart_data import FIRST_CUSTOMER_ID  # see quickstart()

    url = f"http://{HOST}:{port}"
    creds = _shown_path(settings.credentials_path)
    out.print(f"[bold]7.[/] serving the API on {url} (Ctrl-C stops it); query it with:")
    out.print(
        f'  curl -H "Authorization: Bearer $(jq -r .api_key {creds})" '
        f"{url}/v1/runs/search -X POST -H 'content-type: application/json' "
        f'-d \'{{"experiments":["{EXPERIMENT}"]}}\'',
        soft_wrap=True,
        markup=False,
    )
    out.print(
        f'  curl -H "Authorization: Bearer $(jq -r .api_key {creds})" {url}/v1/predictions '
        f'-H \'content-type: application/json\' -d \'{{"model_id": "{MODEL_ALIAS}", '
        f'"features": {{"customer_id": "{FIRST_CUSTOMER_ID}", "tenure_months": 24, '
        '"monthly_charges": 89.99}}\'',
        soft_wrap=True,
        markup=False,
    )
    out.print(f"  podium runs ls --url {url} --experiment {EXPERIMENT}", markup=False)


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())
