"""``podium audit``: who changed what in a project, and proof that nobody edited it since.

``podium audit`` lists a project's newest entries; ``podium audit verify`` walks the
installation's hash chain (exit 0 when it holds, 1 naming the first broken entry);
``podium audit export --out F.jsonl`` writes every entry as a line of JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podium.access.audit_chain import export_lines, verify
from podium.cli.context import ProjectOption, cli_state
from podium.cli.render import console, format_datetime, table
from podium.errors import InvalidInputError

__all__ = ["app"]

app = typer.Typer(
    help="The audit log: show a project's newest entries; verify the hash chain; export.",
    invoke_without_command=True,
)


@app.callback()
def audit(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=10_000, help="How many entries.")
    ] = 50,
    action: Annotated[
        str | None, typer.Option("--action", "-a", help="Only this action, e.g. create_key.")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Show the newest entries of a project's audit log (every change is in it)."""
    state = cli_state(ctx)
    if project is not None:
        state.project = project
    if ctx.invoked_subcommand is not None:
        return
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


@app.command("verify")
def verify_chain(ctx: typer.Context) -> None:
    """Check the hash chain of the whole audit log: exit 1 naming the first broken entry."""
    report = verify(cli_state(ctx).installation().db)
    if not report.ok:
        typer.secho(f"error: the audit log's hash chain is broken: {report.problem}", err=True)
        typer.echo(
            "hint: restore the audit_log table from a backup, or export the intact part "
            "with `podium audit export` and investigate who wrote to the database",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain holds: {report.entries} entries, head {report.head or '(empty)'}")


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="The JSON lines file to write.")],
) -> None:
    """Write every audit entry, oldest first, with its chain hashes, as JSON lines."""
    if out.is_dir():
        raise InvalidInputError(
            f"--out must name a file; {str(out)!r} is a directory",
            field="out",
            remedy="pass a file path, e.g. --out audit.jsonl",
        )
    db = cli_state(ctx).installation().db
    count = 0
    with out.open("w", encoding="utf-8") as file:
        for line in export_lines(db):
            file.write(line + "\n")
            count += 1
    typer.echo(f"wrote {count} audit entries to {out}")
