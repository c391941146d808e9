"""``podium quickstart``: the product's main job, on a fresh machine, with zero arguments.

The loop itself (data, features, tracked training, registry, serving, monitoring) is
:mod:`podium.quickstart`; this command checks the port, runs it on the embedded platform
with the terminal as its :class:`~podium.quickstart.show.Show`, prints what to try next,
and then serves the API so the same runs can be queried over HTTP.

``--rows`` (hidden) shrinks the data set; the tests use it to stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from podium.cli.context import cli_state
from podium.cli.monitor import print_accuracy, print_alerts, print_drift
from podium.cli.render import console, format_number, short_id, table
from podium.cli.up import PortOption, check_port_free, serve_until_stopped
from podium.config import Settings
from podium.monitoring.alerts.state import Alert
from podium.monitoring.protocol import AccuracyResult, DriftResult
from podium.quickstart import EXPERIMENT, MODEL, MODEL_ALIAS, TABLE
from podium.tracking.types import Run

__all__ = ["TerminalShow", "quickstart"]

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TerminalShow:
    """The quickstart's :class:`~podium.quickstart.show.Show` on a terminal: the command
    line's tables and the renderers of ``podium runs`` and ``podium monitor``."""

    console: Console

    def table(self, title: str | None, *columns: str) -> Table:
        """An empty table in the command line's style."""
        return table(title, *columns)

    def ranking(self, runs: Sequence[Run]) -> None:
        """The runs ranked by held-out AUC, the best one marked."""
        self.console.print(_ranking(runs))

    def drift(self, result: DriftResult) -> None:
        """As ``podium monitor drift`` shows it."""
        print_drift(result)

    def accuracy(self, result: AccuracyResult) -> None:
        """As ``podium monitor accuracy`` shows it."""
        print_accuracy(result)

    def alerts(self, alerts: Sequence[Alert]) -> None:
        """As ``podium monitor alerts`` shows them."""
        print_alerts(list(alerts))


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
    # not every `podium ...` invocation (the one reason for an import inside a function here).
    from podium.quickstart.run import run_quickstart

    state = cli_state(ctx)
    settings = state.settings
    port = port or settings.port
    if serve_api:
        check_port_free(HOST, port)  # fail before training, not after
    out = console()
    out.rule("[bold]podium quickstart")
    installation = state.installation()
    result = run_quickstart(
        installation,
        settings.project,
        TerminalShow(out),
        rows=rows,
        report_dir=settings.home / "reports",
    )
    _print_next_steps(out, result.ranked)

    if serve_api:
        _print_howto(out, settings, port)
        serve_until_stopped(installation, host=HOST, port=port)


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
    out.print("  podium pipelines runs churn-retraining")


def _print_howto(out: Console, settings: Settings, port: int) -> None:
    from podium.quickstart.data import FIRST_CUSTOMER_ID  # see quickstart()

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
