"""``podium audit``: who changed what in a project, and how it ended."""

from __future__ import annotations

from typing import Annotated

import typer

from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table

__all__ = ["audit"]


def audit(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many entries.")
    ] = 50,
    action: Annotated[
        str | None, typer.Option("--action", "-a", help="Only this action, e.g. create_key.")
    ] = None,
) -> None:
    """Show the newest entries of a project's audit log (every change is in it)."""
    state = cli_state(ctx)
    installation = state.installation()
    name = state.project_name
    entries = installation.audit.list(
        installation.projects.get(name).id, limit=limit, action=action
    )
    out = table(
        f"audit log of project {name!r}",
        "time (UTC)",
        "actor",
        "action",
        "target",
        "outcome",
        "request id",
    )
    for entry in entries:
        out.add_row(
            format_datetime(entry.created_at),
            entry.actor,
            entry.action,
            entry.target,
            entry.outcome,
            entry.request_id,
            style=None if entry.outcome == "ok" else "red",
        )
    console().print(out)
