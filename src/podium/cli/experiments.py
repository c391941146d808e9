"""``podium experiments``: the named groups runs belong to."""

from __future__ import annotations

import typer

from podium.cli.context import cli_state
from podium.cli.render import console, format_ms, table

__all__ = ["app"]

app = typer.Typer(help="Experiments: named groups of runs.")


@app.command("ls")
def list_experiments(
    ctx: typer.Context,
) -> None:
    """List the experiments of a project."""
    platform = cli_state(ctx).platform()
    out = table(
        f"experiments of project {platform.project!r}", "name", "id", "description", "created (UTC)"
    )
    for experiment in platform.tracking.list_experiments():
        out.add_row(
            experiment.name, experiment.id, experiment.description, format_ms(experiment.created_at)
        )
    console().print(out)


app.command("list", hidden=True)(list_experiments)  # the name before `ls`, kept working
