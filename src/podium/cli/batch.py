"""``podium batch``: score lake tables with registered models, embedded or on a server.

``podium batch predict churn@production --source curated.churn_features@4 --output
scores.churn`` scores every row of the source version, showing a progress bar with rows/s,
and prints the job; ``--runner ray`` scores parts on Ray. A killed job continues with
``podium batch resume JOB`` (or the same ``predict`` with ``--resume``). ``jobs`` lists the
project's jobs and ``show JOB`` one of them; every command taking a job id also takes a
unique prefix of one.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from podium.batch.protocol import Batch
from podium.batch.types import BatchJob
from podium.cli.context import cli_state
from podium.cli.render import (
    SHORT_ID,
    JsonOption,
    console,
    format_datetime,
    format_duration,
    print_json,
    short_id,
    table,
)
from podium.errors import InvalidInputError, NotFoundError

__all__ = ["app"]

app = typer.Typer(
    help="Batch inference: predict (a table version with a model), jobs, show, resume.",
    no_args_is_help=True,
)

_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow"}
_FULL_ID = 32

JobId = Annotated[str, typer.Argument(help="A batch job id, or a unique prefix of one.")]


def _batch(ctx: typer.Context) -> tuple[Batch, str]:
    platform = cli_state(ctx).platform()
    return platform.batch, platform.project


@app.command("predict")
def predict(
    ctx: typer.Context,
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL", help="A model version (churn@production, churn/3) or a deployment."
        ),
    ],
    source: Annotated[
        str, typer.Option("--source", "-s", help="The table to score: zone.table[@VERSION].")
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="The Delta table the predictions go to.")
    ],
    runner: Annotated[
        str, typer.Option("--runner", "-r", help="Where parts are scored: local or ray.")
    ] = "local",
    key: Annotated[
        str | None, typer.Option("--key", "-k", help="The source's row key column.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per Arrow batch.")
    ] = 65_536,
    part_rows: Annotated[
        int, typer.Option("--part-rows", min=1, help="Rows per committed (resumable) part.")
    ] = 1_000_000,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the newest unfinished job like this one.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score every row of a table version; exit 1 when the job failed."""
    batch, _ = _batch(ctx)
    with _RowsProgress(f"scoring {source} with {model}") as progress:
        job = batch.predict(
            model,
            source=source,
            output=output,
            runner=runner,
            key=key,
            batch_size=batch_size,
            part_rows=part_rows,
            resume=resume,
            on_progress=progress.update,
        )
    _finish(job, as_json)


@app.command("resume")
def resume(
    ctx: typer.Context,
    job_id: JobId,
    runner: Annotated[
        str | None,
        typer.Option("--runner", "-r", help="Where parts are scored (default: the job's)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Continue a killed or failed job: committed parts are kept, the rest scored."""
    batch, _ = _batch(ctx)
    full = _resolve(batch, job_id)
    with _RowsProgress(f"resuming {short_id(full)}") as progress:
        job = batch.resume(full, runner=runner, on_progress=progress.update)
    _finish(job, as_json)


@app.command("jobs")
def jobs(
    ctx: typer.Context,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", min=1, max=1000, help="How many jobs to list, newest first."),
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """List the project's batch jobs, newest first."""
    batch, project = _batch(ctx)
    found = batch.jobs(limit=limit)
    if as_json:
        print_json([job.model_dump(mode="json") for job in found])
        return
    if not found:
        console().print(f"no batch job in project {project!r} yet")
        return
    out = table(
        f"batch jobs of project {project!r}",
        "job",
        "status",
        "model",
        "source",
        "output",
        "rows",
        "rows/s",
        "started",
    )
    for job in found:
        out.add_row(
            short_id(job.id),
            _status(job.status),
            job.model_version,
            job.source,
            _output(job),
            _rows(job),
            _rate(job),
            format_datetime(job.started_at),
        )
    console().print(out)


@app.command("show")
def show(ctx: typer.Context, job_id: JobId, as_json: JsonOption = False) -> None:
    """Show one job: model, source and output versions, rows, speed, error."""
    batch, _ = _batch(ctx)
    _finish(batch.get(_resolve(batch, job_id)), as_json, exit_on_failure=False)


class _RowsProgress:
    """A progress bar of rows scored, with rows/s (on a terminal only)."""

    def __init__(self, description: str) -> None:
        out = console()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            console=out,
            transient=True,  # the job's summary replaces it
            disable=not out.is_terminal,
        )
        self._task = self._progress.add_task(description, total=None, rate="-")

    def __enter__(self) -> _RowsProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def update(self, rows: int, total: int) -> None:
        speed = self._progress.tasks[0].speed
        rate = f"{speed:,.0f}" if speed else "-"
        self._progress.update(self._task, completed=rows, total=total, rate=rate)


def _finish(job: BatchJob, as_json: bool, *, exit_on_failure: bool = True) -> None:
    if as_json:
        print_json(job.model_dump(mode="json"))
    else:
        out = table(f"batch job {job.id}", "field", "value")
        for field, value in (
            ("status", _status(job.status)),
            ("model", f"{job.model} ({job.model_version})"),
            ("source", job.source),
            ("output", _output(job)),
            ("key", job.key or "row_number"),
            ("runner", job.runner),
            ("rows", _rows(job)),
            ("parts", f"{job.parts_done}/{job.parts}"),
            ("seconds", format_duration(job.seconds)),
            ("rows/s", _rate(job)),
            ("started", format_datetime(job.started_at)),
        ):
            out.add_row(field, value)
        if job.error:
            out.add_row("error", Text(job.error, style="red"))
        console().print(out)
    if exit_on_failure and job.status == "failed":
        raise typer.Exit(1)


def _status(status: str) -> Text:
    return Text(status, style=_STYLE.get(status, ""))


def _output(job: BatchJob) -> str:
    return job.output if job.output_version is None else f"{job.output}@{job.output_version}"


def _rows(job: BatchJob) -> str:
    return f"{job.rows:,}/{job.rows_total:,}"


def _rate(job: BatchJob) -> str:
    rate = job.rows_per_second
    return "-" if rate is None else f"{rate:,.0f}"


def _resolve(batch: Batch, job_id: str) -> str:
    """The full id of the job ``job_id`` names (itself, or a unique prefix of one)."""
    if len(job_id) >= _FULL_ID:
        return job_id
    matches = [job.id for job in batch.jobs(limit=1000) if job.id.startswith(job_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(
            f"no batch job id starts with {job_id!r}",
            remedy="list the jobs with `podium batch jobs`",
        )
    raise InvalidInputError(
        f"{len(matches)} batch jobs start with {job_id!r}",
        field="job_id",
        remedy=f"give more than {max(len(job_id), SHORT_ID)} characters of the id",
    )
