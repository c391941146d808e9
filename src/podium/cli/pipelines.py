"""``podium pipelines``: run, resume and inspect pipelines, embedded or on a server.

``podium pipelines run churn.pipelines:churn --param C=0.5`` imports the pipeline from
the current folder (or ``sys.path``) and runs it here, showing each step as it ends;
with ``--url`` the server imports and runs it (``--no-wait`` returns once it started). A
``--param`` value is read as JSON when it is JSON (``0.5``, ``true``, ``[1, 2]``) and as
text otherwise. Every command taking a run id also takes a unique prefix of one (the 8
characters ``runs`` shows are enough).

``podium pipelines schedule MODULE:PIPELINE --cron "0 3 * * *"`` and ``podium pipelines
trigger MODULE:PIPELINE --on alert.fired --where rule=churn-drift`` record what
``podium up`` starts; ``schedules``, ``triggers`` and ``unschedule ID`` manage them.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

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
from podium.pipelines.protocol import Pipelines
from podium.pipelines.types import PipelineRun

__all__ = ["app"]

app = typer.Typer(
    help="Pipelines: ls, run (with --param), runs, show (steps, cached), logs, resume, "
    "schedule, trigger, schedules, triggers, unschedule.",
    no_args_is_help=True,
)

_STYLE = {
    "succeeded": "green",
    "cached": "cyan",
    "failed": "red",
    "skipped": "dim",
    "running": "yellow",
    "pending": "dim",
}
_FULL_ID = 32

RunId = Annotated[str, typer.Argument(help="A pipeline run id, or a unique prefix of one.")]
RunnerOption = Annotated[
    str, typer.Option("--runner", "-r", help="Where steps run: local (threads) or ray.")
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait/--no-wait",
        help="Follow the run to its end (default), or, with --url, print its id once the "
        "server has started it.",
    ),
]


def _pipelines(ctx: typer.Context) -> tuple[Pipelines, str]:
    platform = cli_state(ctx).platform()
    return platform.pipelines, platform.project


@app.command("ls")
def list_pipelines(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the pipelines the project has run, with their latest run."""
    pipelines, project = _pipelines(ctx)
    found = pipelines.list()
    if as_json:
        print_json([info.model_dump(mode="json") for info in found])
        return
    if not found:
        console().print(f"no pipeline has run in project {project!r} yet")
        return
    out = table(
        f"pipelines of project {project!r}",
        "name",
        "target",
        "runs",
        "last run",
        "status",
        "started",
    )
    for info in found:
        out.add_row(
            info.name,
            info.target,
            str(info.runs),
            short_id(info.last_run_id),
            _status(info.last_status),
            format_datetime(info.last_started_at),
        )
    console().print(out)


@app.command("run")
def run(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(metavar="MODULE:FUNCTION", help="The @podium.pipeline to run.")
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-P", help="A param as KEY=VALUE (repeat); JSON values are parsed."
        ),
    ] = None,
    runner: RunnerOption = "local",
    wait: WaitOption = True,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline and show its steps; exit 1 when a step failed."""
    params = _params(param or [])
    _importable_from_here()
    pipelines, _ = _pipelines(ctx)
    if not wait:
        _needs_server(pipelines)
        _started(pipelines.run(target, params=params, runner=runner, wait=False), as_json)
        return
    with _progress(f"running {target}") as report:
        done = pipelines.run(target, params=params, runner=runner, on_step=report)
    _finish(done, as_json)


@app.command("resume")
def resume(
    ctx: typer.Context,
    run_id: RunId,
    runner: Annotated[
        str | None, typer.Option("--runner", "-r", help="Where steps run (default: the run's).")
    ] = None,
    wait: WaitOption = True,
    as_json: JsonOption = False,
) -> None:
    """Continue a failed run: reuse its succeeded steps, rerun the failed one and after."""
    _importable_from_here()
    pipelines, _ = _pipelines(ctx)
    full = _resolve(pipelines, run_id)
    if not wait:
        _needs_server(pipelines)
        _started(pipelines.resume(full, runner=runner, wait=False), as_json)
        return
    with _progress(f"resuming {short_id(full)}") as report:
        done = pipelines.resume(full, runner=runner, on_step=report)
    _finish(done, as_json)


@app.command("runs")
def runs(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Argument(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="How many.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List pipeline runs, newest first."""
    pipelines, project = _pipelines(ctx)
    found = pipelines.runs(pipeline, limit=limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in found])
        return
    if not found:
        console().print(f"no runs of {pipeline or 'any pipeline'} in project {project!r}")
        return
    out = table(None, "run", "pipeline", "status", "steps", "cached", "started", "duration")
    for found_run in found:
        out.add_row(
            short_id(found_run.id),
            found_run.pipeline,
            _status(found_run.status),
            str(len(found_run.steps)),
            str(sum(s.status == "cached" for s in found_run.steps)),
            format_datetime(found_run.started_at),
            format_duration(found_run.duration),
        )
    console().print(out)


@app.command("show")
def show(ctx: typer.Context, run_id: RunId, as_json: JsonOption = False) -> None:
    """Show a run and a table of its steps: status, duration, cached, tracked run."""
    pipelines, _ = _pipelines(ctx)
    found = pipelines.get(_resolve(pipelines, run_id))
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    _print_run(found)


@app.command("logs")
def logs(
    ctx: typer.Context,
    run_id: RunId,
    step: Annotated[str | None, typer.Option("--step", "-s", help="Only this step.")] = None,
) -> None:
    """Print what the run's steps printed (and the traceback of a failed one)."""
    pipelines, _ = _pipelines(ctx)
    typer.echo(pipelines.logs(_resolve(pipelines, run_id), step=step), nl=False)


TargetArgument = Annotated[
    str,
    typer.Argument(
        metavar="MODULE:PIPELINE", help="The @podium.pipeline, importable by the server."
    ),
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-P", help="A param as KEY=VALUE (repeat); JSON values are parsed."),
]


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    target: TargetArgument,
    cron: Annotated[
        str, typer.Option("--cron", help='When to run, five cron fields in UTC ("0 3 * * *").')
    ],
    param: ParamOption = None,
    runner: RunnerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline on a cron schedule (UTC), started by `podium up`."""
    params = _params(param or [])
    _importable_from_here()
    pipelines, _ = _pipelines(ctx)
    made = pipelines.schedule(target, cron=cron, params=params, runner=runner)
    if as_json:
        print_json(made.model_dump(mode="json"))
        return
    console().print(f"scheduled {made.target} at {made.cron!r} (UTC): schedule {made.id}")


@app.command("trigger")
def trigger(
    ctx: typer.Context,
    target: TargetArgument,
    on: Annotated[
        str, typer.Option("--on", help="The event type that starts a run, e.g. alert.fired.")
    ],
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-w",
            help="Only events whose payload has KEY=VALUE (repeat; a dotted key reads "
            "nested objects; JSON values are parsed).",
        ),
    ] = None,
    param: ParamOption = None,
    runner: RunnerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline on every matching platform event, started by `podium up`."""
    params = _params(param or [])
    conditions = _params(where or [], option="where")
    _importable_from_here()
    pipelines, _ = _pipelines(ctx)
    made = pipelines.trigger(target, on=on, where=conditions, params=params, runner=runner)
    if as_json:
        print_json(made.model_dump(mode="json"))
        return
    console().print(f"{made.target} runs on every {made.on} event: trigger {made.id}")


@app.command("schedules")
def schedules(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's schedules, with the last due time each started."""
    pipelines, project = _pipelines(ctx)
    found = pipelines.schedules()
    if as_json:
        print_json([s.model_dump(mode="json") for s in found])
        return
    if not found:
        console().print(f"no schedules in project {project!r}")
        return
    out = table(None, "id", "pipeline", "target", "cron", "params", "runner", "last due")
    for item in found:
        out.add_row(
            short_id(item.id),
            item.pipeline,
            item.target,
            item.cron,
            _pairs(item.params),
            item.runner,
            format_datetime(item.last_due),
        )
    console().print(out)


@app.command("triggers")
def triggers(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's event triggers."""
    pipelines, project = _pipelines(ctx)
    found = pipelines.triggers()
    if as_json:
        print_json([t.model_dump(mode="json") for t in found])
        return
    if not found:
        console().print(f"no triggers in project {project!r}")
        return
    out = table(None, "id", "pipeline", "target", "on", "where", "params", "runner")
    for item in found:
        out.add_row(
            short_id(item.id),
            item.pipeline,
            item.target,
            item.on,
            _pairs(item.where),
            _pairs(item.params),
            item.runner,
        )
    console().print(out)


@app.command("unschedule")
def unschedule(
    ctx: typer.Context,
    schedule_id: Annotated[
        str,
        typer.Argument(metavar="ID", help="A schedule or trigger id, or a unique prefix of one."),
    ],
) -> None:
    """Delete a schedule or trigger (the runs it started stay)."""
    pipelines, _ = _pipelines(ctx)
    full = _resolve_schedule(pipelines, schedule_id)
    pipelines.unschedule(full)
    console().print(f"deleted {full}")


# -- helpers ---------------------------------------------------------------------------
def _params(pairs: list[str], *, option: str = "param") -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            example = "C=0.5" if option == "param" else "rule=churn-drift"
            raise InvalidInputError(
                f"a --{option} is KEY=VALUE; got {pair!r} instead",
                field=option,
                remedy=f"pass e.g. --{option} {example}",
            )
        try:
            params[key.strip()] = json.loads(text)
        except ValueError:
            params[key.strip()] = text
    return params


def _importable_from_here() -> None:
    """Like `python -m`: the current folder's modules import."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


class _Reporter:
    def __init__(self, progress: Progress, task: Any, title: str) -> None:
        self._progress, self._task, self._title = progress, task, title
        self._done = 0

    def __call__(self, name: str, status: str) -> None:
        self._done += 1
        self._progress.update(
            self._task, description=f"{self._title}: {self._done} steps done ({name} {status})"
        )


class _progress:
    def __init__(self, title: str) -> None:
        out = console(stderr=True)
        self._live = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
            disable=not out.is_terminal,
        )
        self._title = title

    def __enter__(self) -> _Reporter:
        self._live.__enter__()
        task = self._live.add_task(self._title, total=None)
        return _Reporter(self._live, task, self._title)

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)


def _needs_server(pipelines: Pipelines) -> None:
    """--no-wait only makes sense when a server runs the pipeline: embedded, the run would
    stop with this command."""
    if not type(pipelines).__module__.startswith("podium.client"):
        raise InvalidInputError(
            "--no-wait needs a server: embedded, the run would stop when this command ends",
            field="wait",
            remedy="pass --url (or set PODIUM_URL) to run it on a server, or drop --no-wait",
        )


def _started(run: PipelineRun, as_json: bool) -> None:
    """What ``--no-wait`` prints: the running run, and how to follow it."""
    if as_json:
        print_json(run.model_dump(mode="json"))
        return
    typer.echo(f"started pipeline run {run.id} ({run.status})")
    typer.echo(f"hint: follow it with `podium pipelines show {short_id(run.id)}`", err=True)


def _finish(done: PipelineRun, as_json: bool) -> None:
    if as_json:
        print_json(done.model_dump(mode="json"))
    else:
        _print_run(done)
    if done.status == "failed":
        typer.secho(f"error: {done.error}", fg="red", err=True)
        typer.echo(
            f"hint: see `podium pipelines logs {short_id(done.id)}`, fix the step, then "
            f"`podium pipelines resume {short_id(done.id)}`",
            err=True,
        )
        raise typer.Exit(1)


def _print_run(found: PipelineRun) -> None:
    out = console()
    out.print(
        Text.assemble(
            f"run {found.id} of {found.pipeline} ({found.target}): ",
            _status(found.status),
            f", runner {found.runner}, {format_duration(found.duration)}",
        )
    )
    if found.params:
        out.print("params: " + ", ".join(f"{k}={v}" for k, v in found.params.items()))
    steps = table(
        None,
        "step",
        "status",
        "duration",
        "cached",
        "attempts",
        "tracked run",
        "error",
        long_text=("error",),
    )
    for step in found.steps:
        steps.add_row(
            step.name,
            _status(step.status),
            format_duration(step.duration),
            "yes" if step.cached else "",
            str(step.attempts),
            short_id(step.run_id) if step.run_id else "",
            step.error or "",
        )
    out.print(steps)


def _status(status: str) -> Text:
    return Text(status, style=_STYLE.get(status, ""))


def _resolve_schedule(pipelines: Pipelines, schedule_id: str) -> str:
    """The full id of the schedule or trigger ``schedule_id`` names (or a prefix of)."""
    ids = [s.id for s in pipelines.schedules()] + [t.id for t in pipelines.triggers()]
    matches = [found for found in ids if found.startswith(schedule_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(
            f"no schedule or trigger id starts with {schedule_id!r}",
            remedy="list them with `podium pipelines schedules` and `podium pipelines triggers`",
        )
    raise InvalidInputError(
        f"{len(matches)} schedules and triggers start with {schedule_id!r}",
        field="id",
        remedy="give more characters of the id",
    )


def _resolve(pipelines: Pipelines, run_id: str) -> str:
    """The full id of the run ``run_id`` names (itself, or a unique prefix of one)."""
    if len(run_id) >= _FULL_ID:
        return run_id
    matches = [r.id for r in pipelines.runs(limit=1000) if r.id.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(
            f"no pipeline run id starts with {run_id!r}",
            remedy="list the runs with `podium pipelines runs`",
        )
    raise InvalidInputError(
        f"{len(matches)} pipeline runs start with {run_id!r}",
        field="run_id",
        remedy=f"give more than {max(len(run_id), SHORT_ID)} characters of the id",
    )
