"""``podium keys``: API keys of a project, created, listed, rotated and revoked server side.

These are operator commands: they work on the metadata database directly, so they need
no key themselves. The project is ``--project`` or ``PODIUM_PROJECT`` (there is no
default: a key for the wrong project would be a leak). A secret is printed once, at
creation (and rotation), and never stored. A revoked key stops working on every running
server within a few seconds (their key cache's lifetime, 2 s).
"""

from __future__ import annotations

from typing import Annotated

import typer

from podium.access.keys import parse_duration
from podium.access.ratelimit import parse_rate_limit
from podium.access.roles import parse_role
from podium.access.scopes import parse_scopes
from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table
from podium.errors import InvalidInputError

__all__ = ["app"]

app = typer.Typer(help="API keys: create (the secret is shown once), ls, rotate, revoke.")


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
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Stop working after this long, e.g. 30d, 12h, 2w."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Limit the key to predict:DEPLOYMENT or read:AREA (tracking, registry, data, "
            "features, serving, monitoring); repeat for more.",
        ),
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
    lifetime = parse_duration(expires, field="expires") if expires is not None else None
    scopes = parse_scopes(scope or [])
    key, secret = state.installation().keys.create(
        project,
        parsed,
        name=name,
        created_by=state.actor,
        rate_limit=limit,
        expires_in=lifetime,
        scopes=scopes,
    )
    state.record(project, action="create_key", target=f"/v1/keys/{key.id}")
    limited = f", limited to {limit.spec} (burst {limit.burst})" if limit else ""
    scoped = f", scoped to {' '.join(str(s) for s in key.scopes)}" if key.scopes else ""
    ending = f", expires {format_datetime(key.expires_at)} UTC" if key.expires_at else ""
    typer.echo(
        f"created {key.role.value} key {key.id} for project {project!r}{limited}{scoped}{ending}"
    )
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
        None,
        "id",
        "name",
        "role",
        "scopes",
        "rate limit",
        "state",
        "expires (UTC)",
        "last used (UTC)",
        "created (UTC)",
    )
    for key in keys:
        state_text = key.state
        if key.state == "rotating" and key.previous_valid_until:
            state_text = f"rotating (old secret until {format_datetime(key.previous_valid_until)})"
        out.add_row(
            key.id,
            key.name,
            key.role.value,
            " ".join(str(scope) for scope in key.scopes),
            f"{key.rate_limit.spec} (burst {key.rate_limit.burst})" if key.rate_limit else "",
            state_text,
            format_datetime(key.expires_at) if key.expires_at else "",
            format_datetime(key.last_used_at) if key.last_used_at else "",
            format_datetime(key.created_at),
            style="dim" if key.state in ("revoked", "expired") else None,
        )
    console().print(out)


app.command("list", hidden=True)(list_keys)  # the name before `ls`, kept working


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (see `podium keys ls`).")],
    overlap: Annotated[
        str,
        typer.Option("--overlap", help="How long the old secret keeps working, e.g. 1h, 0s."),
    ] = "1h",
) -> None:
    """Give a key a new secret (printed once); the old one works until the overlap ends."""
    state = cli_state(ctx)
    project = state.require_project()
    window = parse_duration(overlap, field="overlap")
    key, secret = state.installation().keys.rotate(project, key_id, overlap=window)
    state.record(project, action="rotate_key", target=f"/v1/keys/{key.id}")
    until = (
        f"the old secret works until {format_datetime(key.previous_valid_until)} UTC"
        if key.previous_valid_until
        else "the old secret stopped working"
    )
    typer.echo(f"rotated key {key.id} of project {project!r}; {until}")
    typer.echo(secret)
    typer.secho(
        "store this secret now: it is not shown again (only its hash is kept)",
        fg="yellow",
        err=True,
    )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (see `podium keys ls`).")],
) -> None:
    """Revoke a key: it fails everywhere within seconds (at once on this machine's CLI)."""
    state = cli_state(ctx)
    project = state.require_project()
    key = state.installation().keys.revoke(project, key_id)
    state.record(project, action="revoke_key", target=f"/v1/keys/{key.id}")
    typer.echo(f"revoked key {key.id} of project {project!r}")
