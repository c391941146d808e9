"""The root ``podium`` command: every command group, and how errors reach the user.

A :class:`~podium.errors.PodiumError` (a user mistake, a missing extra, a server that does
not answer) never shows a traceback. It becomes, on stderr::

    error: the role must be one of reader, writer, admin; got 'x' instead
    hint: pass --role reader|writer|admin

and exit code 1. Messages that point into an expression (a run filter) keep their caret
lines under the ``error:`` line. Ctrl-C prints ``interrupted`` and exits with 130. Any
other exception is a bug in podium and shows its traceback (without local variables,
which could hold secrets).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from podium import __version__
from podium.cli import (
    audit,
    config,
    data,
    db,
    deploy,
    experiments,
    features,
    keys,
    models,
    monitor,
    projects,
    quickstart,
    runs,
    serve,
    up,
)
from podium.cli.context import CliState
from podium.errors import PodiumError

__all__ = ["app", "main", "report_error"]


class _PodiumGroup(TyperGroup):
    """The root group: every command runs inside its ``invoke``, so errors end here."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except PodiumError as exc:
            report_error(exc)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_PodiumGroup,
    name="podium",
    help="podium: the whole ML platform in one Python package. Start with `podium quickstart`.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"podium {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    state = CliState()
    ctx.obj = state
    ctx.call_on_close(state.close)


app.command("quickstart")(quickstart.quickstart)
app.command("up")(up.up)
app.command("config")(config.config)
app.command("audit")(audit.audit)
app.add_typer(runs.app, name="runs")
app.add_typer(experiments.app, name="experiments")
app.add_typer(projects.app, name="projects")
app.add_typer(keys.app, name="keys")
app.add_typer(db.app, name="db")
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.add_typer(deploy.app, name="deploy")
app.command("serve")(serve.serve)
app.add_typer(features.app, name="features")
app.add_typer(monitor.app, name="monitor")


def report_error(exc: PodiumError) -> None:
    """Print ``error: <message>`` and, when there is one, ``hint: <remedy>`` on stderr."""
    typer.secho(f"error: {exc.message}", fg="red", err=True)
    if exc.remedy:
        typer.echo(f"hint: {exc.remedy}", err=True)


def main() -> None:
    """Run the ``podium`` command line (the console script)."""
    try:
        app(prog_name="podium")
    except PodiumError as exc:  # raised outside a command, e.g. while parsing
        report_error(exc)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
