"""``podium db``: the metadata database's migrations."""

from __future__ import annotations

import typer

from podium.cli.context import cli_state

__all__ = ["app"]

app = typer.Typer(help="The metadata database: apply migrations, show the revision.")


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations (safe to run again) and print the revision reached."""
    db = cli_state(ctx).installation(migrate=False).db
    before = db.revision()
    after = db.upgrade()
    if before == after:
        typer.echo(f"already at revision {after}")
    else:
        typer.echo(f"upgraded from revision {before or '(empty)'} to {after}")


@app.command("revision")
def revision(ctx: typer.Context) -> None:
    """Print the migration revision the database is at (empty before the first upgrade)."""
    db = cli_state(ctx).installation(migrate=False).db
    current = db.revision()
    if current:
        typer.echo(current)
    else:
        typer.echo("no migration applied yet; run `podium db upgrade`", err=True)
