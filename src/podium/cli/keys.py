"""``podium keys``: API keys of a project, created, listed and revoked on the server side.

These are operator commands: they work on the metadata database directly, so they need
no key themselves. The project is ``--project`` or ``PODIUM_PROJECT`` (there is no
default: a key for the wrong project would be a leak). A secret is printed once, at
creation, and never stored.
"""

from __future__ import annotations

from typing import Annotated

import typer

from podium.access.ratelimit import parse_rate_limit
from podium.access.roles import parse_role
from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table
from podium.errors import InvalidInputError

__all__ = ["app"]

app = typer.Typer(help="API keys: create (the secret is shown once), ls, revoke.")


@app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", "-r", help="reader, writer or admin.")],
    name: Annotated[str, typer.Option("--name", "-n", help="What the key is for.")] = "",
    rate_limit: Annotated[
        str | None,
        typer.Option(
            "--rate-limit",
            help="Requests per second or minute, e.g. 20/s or 600/m (past it: 429).",
        ),
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option("--burst", help="Requests allowed at once (default: one second's worth)."),
    ] = None,
) -> None:
    """Create a key with a role in a project and print its secret, once."""
    state = cli_state(ctx)
    project = state.require_project()
    parsed = parse_role(role)
    if burst is not None and rate_limit is None:
        raise InvalidInputError(
            "--burst needs --rate-limit",
            field="burst",
            remedy="pass --rate-limit N/s (or N/m) with --burst",
        )
    limit = parse_rate_limit(rate_limit, burst=burst) if rate_limit is not None else None
    key, secret = state.installation().keys.create(
        project, parsed, name=name, created_by=state.actor, rate_limit=limit
    )
    state.record(project, action="create_key", target=f"/v1/keys/{key.id}")
    limited = f", limited to {limit.spec} (burst {limit.burst})" if limit else ""
    typer.echo(f"created {key.role.value} key {key.id} for project {project!r}{limited}")
    typer.echo(secret)
    typer.secho(
        "store this secret now: it is not shown again (only its hash is kept)",
        fg="yellow",
        err=True,
    )


@app.command("ls")
def list_keys(ctx: typer.Context) -> None:
    """List the keys of a project, newest first (secrets are never shown)."""
    state = cli_state(ctx)
    keys = state.installation().keys.list(state.require_project())
    out = table(
        None, "id", "name", "role", "rate limit", "created by", "created (UTC)", "revoked (UTC)"
    )
    for key in keys:
        revoked = format_datetime(key.revoked_at) if key.revoked_at else ""
        out.add_row(
            key.id,
            key.name,
            key.role.value,
            f"{key.rate_limit.spec} (burst {key.rate_limit.burst})" if key.rate_limit else "",
            key.created_by,
            format_datetime(key.created_at),
            revoked,
            style="dim" if key.revoked_at else None,
        )
    console().print(out)


app.command("list", hidden=True)(list_keys)  # the name before `ls`, kept working


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (see `podium keys ls`).")],
) -> None:
    """Revoke a key: every request with it fails from now on."""
    state = cli_state(ctx)
    project = state.require_project()
    key = state.installation().keys.revoke(project, key_id)
    state.record(project, action="revoke_key", target=f"/v1/keys/{key.id}")
    typer.echo(f"revoked key {key.id} of project {project!r}")
