"""``podium experiments``: the named groups runs belong to."""

from __future__ import annotations

import typer

from podium.cli.context import ApiKeyOption, ProjectOption, UrlOption, cli_state
from podium.cli.render import console, format_ms, table

__all__ = ["app"]

app = typer.Typer(help="Experiments: named groups of runs.")


@app.command("list")
def list_experiments(
    ctx: typer.Context,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    project: ProjectOption = None,
) -> None:
    """List the experiments of a project."""
    platform = cli_state(ctx).platform(url=url, api_key=api_key, project=project)
    out = table(
        f"experiments of project {platform.project!r}", "name", "id", "description", "created (UTC)"
    )
    for experiment in platform.tracking.list_experiments():
        out.add_row(
            experiment.name, experiment.id, experiment.description, format_ms(experiment.created_at)
        )
    console().print(out)
