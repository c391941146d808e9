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

from podium import __version__
from podium.cli.context import CliState, Connection, connection_params
from podium.cli.lazy_group import LazyCommand, LazyGroup
from podium.errors import PodiumError

__all__ = ["COMMANDS", "app", "main", "report_error"]


_REMOTE: tuple[Connection, ...] = ("url", "api_key", "project")
"""Commands on a platform: embedded, or on a server with --url."""
_PROJECT: tuple[Connection, ...] = ("project",)
"""Operator commands on one project of the installation under PODIUM_HOME."""

COMMANDS = {
    "quickstart": LazyCommand(
        "podium.cli.quickstart:quickstart",
        "Train and rank a grid of churn models with tracking, then serve the API.",
    ),
    "up": LazyCommand(
        "podium.cli.up:up", "Serve the REST API and the web UI (at /ui/) until Ctrl-C."
    ),
    "config": LazyCommand(
        "podium.cli.config:config",
        "Show every setting by its environment variable, its value (secrets redacted) and meaning.",
    ),
    "audit": LazyCommand(
        "podium.cli.audit:app",
        "The audit log: show a project's newest entries; verify the hash chain; export.",
        connection=_PROJECT,
    ),
    "runs": LazyCommand(
        "podium.cli.runs:app",
        "Tracked runs: ls (search), show one, compare several.",
        connection=_REMOTE,
    ),
    "experiments": LazyCommand(
        "podium.cli.experiments:app", "Experiments: named groups of runs.", connection=_REMOTE
    ),
    "projects": LazyCommand(
        "podium.cli.projects:app",
        "Projects: the tenants every run, key and artifact belongs to.",
    ),
    "encryption": LazyCommand(
        "podium.cli.encryption:app",
        "Encryption at rest: status, rotate the key (reseals every artifact), new-key.",
    ),
    "keys": LazyCommand(
        "podium.cli.keys:app",
        "API keys: create (the secret is shown once), ls, rotate, revoke.",
        connection=_PROJECT,
    ),
    "db": LazyCommand(
        "podium.cli.db:app", "The metadata database: apply migrations, show the revision."
    ),
    "data": LazyCommand(
        "podium.cli.data:app",
        "Lake tables, warehouse SQL and the catalog: ls, describe, history, sql, ingest, "
        "optimize, vacuum, restore, search, lineage, pii, detokenize.",
        connection=_REMOTE,
    ),
    "models": LazyCommand(
        "podium.cli.models:app",
        "Registered models: versions, stages and approvals, aliases, lineage, optimization.",
        connection=_REMOTE,
    ),
    "deploy": LazyCommand(
        "podium.cli.deploy:app",
        "Deployments: create, roll out (canary, blue-green, shadow), roll back.",
        connection=_REMOTE,
    ),
    "serve": LazyCommand(
        "podium.cli.serve:serve",
        "Serve only the prediction routes of DEPLOYMENT (stateless; run several replicas).",
        connection=_PROJECT,
    ),
    "stream": LazyCommand(
        "podium.cli.stream:stream",
        "Score the events of a stream with DEPLOYMENT into another stream (micro-batched).",
        connection=_PROJECT,
    ),
    "features": LazyCommand(
        "podium.cli.features:app",
        "The feature store: ls, describe, plan, apply, materialize, get, search, push, ingest.",
        connection=_REMOTE,
    ),
    "monitor": LazyCommand(
        "podium.cli.monitor:app",
        "Monitoring: drift, quality, performance, accuracy, fairness, alerts and reports.",
        connection=_REMOTE,
    ),
    "pipelines": LazyCommand(
        "podium.cli.pipelines:app",
        "Pipelines: ls, run (with --param), runs, show (steps, cached), logs, resume, "
        "schedule, trigger, schedules, triggers, unschedule.",
        connection=_REMOTE,
    ),
    "batch": LazyCommand(
        "podium.cli.batch:app",
        "Batch inference: predict (a table version with a model), jobs, show, resume.",
        connection=_REMOTE,
    ),
    "tune": LazyCommand(
        "podium.cli.tune:tune",
        "Search params for the best metric (Optuna); every trial is a tracked run.",
        connection=_REMOTE,
    ),
    "webhooks": LazyCommand(
        "podium.cli.webhooks:app",
        "Webhooks: add (the secret is shown once), ls, rm, test, deliveries, events.",
        connection=_REMOTE,
    ),
    "schemas": LazyCommand(
        "podium.cli.schemas:app",
        "Schema registry: ls, register, show, versions, check, compatibility, validate, delete.",
        connection=_REMOTE,
    ),
}
"""Every command of ``podium``: its module is imported only when it runs (see
:mod:`podium.cli.lazy_group`), so ``podium --help`` and ``--version`` stay fast."""


class _PodiumGroup(LazyGroup):
    """The root group: every command runs inside its ``invoke``, so errors end here."""

    lazy_commands = COMMANDS

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # `podium --url X runs ls` as well as `podium runs ls --url X`.
        self.params.extend(connection_params())

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
    state = ctx.ensure_object(CliState)  # the connection options may have made it
    ctx.call_on_close(state.close)


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
