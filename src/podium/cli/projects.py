"""``podium projects``: the tenants of the installation (operator commands)."""

from __future__ import annotations

from typing import Annotated

import typer

from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table

__all__ = ["app"]

app = typer.Typer(help="Projects: the tenants every run, key and artifact belongs to.")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits and dashes.")],
    description: Annotated[str, typer.Option("--description", "-d", help="What it is for.")] = "",
) -> None:
    """Create a project."""
    state = cli_state(ctx)
    project = state.installation().projects.create(name, description=description)
    state.record(project.name, action="create_project", target=f"/v1/projects/{project.name}")
    typer.echo(f"created project {project.name!r}")


@app.command("ls")
def list_projects(ctx: typer.Context) -> None:
    """List every project of the installation."""
    projects = cli_state(ctx).installation().projects.list()
    out = table(None, "name", "description", "created (UTC)", long_text=("description",))
    for project in projects:
        out.add_row(project.name, project.description, format_datetime(project.created_at))
    console().print(out)


app.command("list", hidden=True)(list_projects)  # the name before `ls`, kept working
