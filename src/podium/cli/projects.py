"""``podium projects``: the tenants of the installation (operator commands)."""

from __future__ import annotations

from typing import Annotated

import typer

from podium.access.ratelimit import RateLimit, parse_rate_limit
from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table
from podium.errors import InvalidInputError

__all__ = ["app"]

app = typer.Typer(help="Projects: the tenants every run, key and artifact belongs to.")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits and dashes.")],
    description: Annotated[str, typer.Option("--description", "-d", help="What it is for.")] = "",
    rate_limit: Annotated[
        str | None,
        typer.Option("--rate-limit", help="Quota of all its keys together, e.g. 100/s (429)."),
    ] = None,
    burst: Annotated[
        int | None, typer.Option("--burst", help="Requests at once (default: 1 s worth).")
    ] = None,
) -> None:
    """Create a project."""
    state = cli_state(ctx)
    project = state.installation().projects.create(
        name, description=description, rate_limit=_limit(rate_limit, burst)
    )
    state.record(project.name, action="create_project", target=f"/v1/projects/{project.name}")
    typer.echo(f"created project {project.name!r}")


@app.command("update")
def update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project.")],
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What it is for.")
    ] = None,
    rate_limit: Annotated[
        str | None,
        typer.Option("--rate-limit", help="Quota of all its keys together, e.g. 100/s (429)."),
    ] = None,
    burst: Annotated[
        int | None, typer.Option("--burst", help="Requests at once (default: 1 s worth).")
    ] = None,
    no_rate_limit: Annotated[
        bool, typer.Option("--no-rate-limit", help="Remove the project's quota.")
    ] = False,
) -> None:
    """Change a project's description or quota; running servers follow within seconds."""
    state = cli_state(ctx)
    project = state.installation().projects.update(
        name,
        description=description,
        rate_limit=_limit(rate_limit, burst),
        unlimited=no_rate_limit,
    )
    state.record(project.name, action="update_project", target=f"/v1/projects/{project.name}")
    quota = (
        f"{project.rate_limit.spec} (burst {project.rate_limit.burst})"
        if project.rate_limit
        else "unlimited"
    )
    typer.echo(f"updated project {project.name!r}: quota {quota}")


def _limit(spec: str | None, burst: int | None) -> RateLimit | None:
    if spec is None:
        if burst is not None:
            raise InvalidInputError(
                "--burst needs --rate-limit",
                field="burst",
                remedy="pass --rate-limit N/s (or N/m) with --burst",
            )
        return None
    return parse_rate_limit(spec, burst=burst)


@app.command("ls")
def list_projects(ctx: typer.Context) -> None:
    """List every project of the installation."""
    projects = cli_state(ctx).installation().projects.list()
    out = table(None, "name", "description", "quota", "created (UTC)", long_text=("description",))
    for project in projects:
        limit = project.rate_limit
        out.add_row(
            project.name,
            project.description,
            f"{limit.spec} (burst {limit.burst})" if limit else "",
            format_datetime(project.created_at),
        )
    console().print(out)


app.command("list", hidden=True)(list_projects)  # the name before `ls`, kept working
