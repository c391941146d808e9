"""``podium stream DEPLOYMENT --from URL --to URL``: a deployment's answers for a stream.

Each input event ``{"id", "features"}`` of the ``--from`` stream gets one output event
``{"id", "result"}`` on the ``--to`` stream (``result`` is what ``POST /v1/predictions``
answers); events that cannot be scored go to ``NAME.dead`` (or ``--dead-letter URL``)
with a ``reason``. Run several with the same ``--group`` to share a stream. Stop with
Ctrl-C or SIGTERM: the batch in progress is finished and the inference log flushed.
See docs/streaming.md.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from podium.access.roles import Role
from podium.cli.context import cli_state
from podium.cli.up import check_port_free
from podium.streaming.predictor import ConsumerOptions
from podium.streaming.process import Progress, run_stream_predictor
from podium.streaming.redis_streams import default_consumer
from podium.streaming.urls import parse_stream_url

__all__ = ["stream"]


def stream(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(help="The deployment that scores the events.")],
    from_url: Annotated[
        str,
        typer.Option(
            "--from",
            help="Input stream: redis://HOST:PORT/DB?stream=NAME or nats://HOST:PORT?subject=NAME.",
        ),
    ],
    to_url: Annotated[str, typer.Option("--to", help="Output stream (same URL forms).")],
    dead_letter: Annotated[
        str | None,
        typer.Option("--dead-letter", help="Dead-letter stream (default: the input's NAME.dead)."),
    ] = None,
    group: Annotated[
        str | None,
        typer.Option("--group", help="Consumer group (default podium-DEPLOYMENT)."),
    ] = None,
    consumer: Annotated[
        str | None, typer.Option("--consumer", help="Consumer name (default HOST-PID).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Most events per micro-batch.")
    ] = 500,
    max_wait_ms: Annotated[
        int,
        typer.Option("--max-wait-ms", min=1, help="How long a read waits for the first event."),
    ] = 50,
    claim_idle_ms: Annotated[
        int,
        typer.Option(
            "--claim-idle-ms",
            min=1,
            help="Take over events another consumer left unacknowledged this long.",
        ),
    ] = 30_000,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus /metrics here."),
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option("--schema", help="Schema registry subject every input event must match."),
    ] = None,
) -> None:
    """Score the events of a stream with DEPLOYMENT into another stream (micro-batched)."""
    source = parse_stream_url(from_url, option="--from")
    output = parse_stream_url(to_url, option="--to")
    dead = parse_stream_url(dead_letter, option="--dead-letter") if dead_letter else None
    state = cli_state(ctx)
    settings = state.settings
    host = settings.host
    if metrics_port is not None:
        check_port_free(host, metrics_port)
    installation = state.installation()  # migrates the database when it is behind
    project = state.project_name
    installation.projects.get(project)
    platform = installation.platform_for_existing(project, user="podium:stream", role=Role.READER)
    platform.deployments.get(deployment)  # a missing one is an error here, in one line
    validate = None
    if schema is not None:
        schemas = platform.events.schemas
        subject = schema
        schemas.get(subject)  # a missing subject is an error now, not per event

        def validate(document: dict[str, object]) -> None:
            schemas.validate(subject, document)

    options = ConsumerOptions(
        group=group or f"podium-{deployment}",
        consumer=consumer or default_consumer(),
        batch_size=batch_size,
        max_wait_ms=max_wait_ms,
        claim_idle_ms=claim_idle_ms,
    )
    typer.echo(
        f"streaming {source} through deployment {deployment!r} of project {project!r} "
        f"to {output} (group {options.group!r}, consumer {options.consumer!r})"
    )
    if metrics_port is not None:
        typer.echo(f"metrics on http://{host}:{metrics_port}/metrics")
    sys.stdout.flush()
    console = Console(stderr=True)
    status = console.status("starting") if console.is_terminal else None

    def show(progress: Progress) -> None:
        if status is not None:
            status.update(_line(progress))

    if status is not None:
        status.start()
    try:
        final = run_stream_predictor(
            settings, project, deployment, source=source, output=output, dead_letter=dead,
            options=options, validate=validate, metrics_host=host, metrics_port=metrics_port,
            on_progress=show,
        )  # fmt: skip
    finally:
        if status is not None:
            status.stop()
    typer.echo(f"stopped: {final.scored:,} events scored, {final.dead:,} dead letters")


def _line(progress: Progress) -> str:
    return (
        f"{progress.scored:,} scored · {progress.dead:,} dead letters · "
        f"{progress.per_second:,.0f} events/s · lag {progress.lag:,}"
    )
