"""``podium tune``: a hyperparameter search over a Python objective, every trial a tracked run.

::

    podium tune train:objective --space 'C=loguniform(1e-3,10)' --trials 20 --parallel 2 \\
        --experiment churn --metric auc --direction maximize

The objective is ``module:function`` (the module is imported from the current folder
first, as ``uvicorn`` does); ``--space`` is repeated once per param. A progress bar
follows the trials; a table of the best ones ends the run. ``--study NAME`` resumes a
stored study until it has ``--trials`` in total.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.cli.context import cli_state
from podium.cli.render import (
    JsonOption,
    console,
    format_mapping,
    format_number,
    print_json,
    short_id,
    table,
)
from podium.errors import InvalidInputError
from podium.pipelines.space import Dimension, parse_dimension

if TYPE_CHECKING:
    from podium.pipelines.tuning_results import Study, StudyTrial

__all__ = ["load_objective", "tune"]

_STATE_STYLE = {"complete": "green", "pruned": "dim", "failed": "red"}


def tune(
    ctx: typer.Context,
    objective: Annotated[
        str, typer.Argument(help="The objective as module:function, e.g. train:objective.")
    ],
    space: Annotated[
        list[str],
        typer.Option(
            "--space",
            "-s",
            help="NAME=helper(args), repeatable: loguniform(1e-3,10), uniform(0,1), "
            "intuniform(2,12), choice(['a','b']).",
        ),
    ],
    trials: Annotated[int, typer.Option("--trials", "-n", help="Trials in total.")] = 20,
    parallel: Annotated[int, typer.Option("--parallel", "-p", help="Trials at once.")] = 1,
    experiment: Annotated[
        str, typer.Option("--experiment", "-e", help="The experiment of the runs.")
    ] = "default",
    metric: Annotated[str, typer.Option("--metric", "-m", help="The metric to optimise.")] = (
        "value"
    ),
    direction: Annotated[
        str, typer.Option("--direction", "-d", help="maximize or minimize.")
    ] = "minimize",
    study: Annotated[
        str | None, typer.Option("--study", help="A study name: resumed when it exists.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the sampler.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many trials to list.")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Search params for the best metric (Optuna); every trial is a tracked run."""
    dimensions = _space(space)
    function = load_objective(objective)
    platform = cli_state(ctx).platform()
    out = console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
        disable=not out.is_terminal,
    )
    with progress:
        task = progress.add_task("trials", total=trials)

        def advance(trial: StudyTrial, done: int, total: int) -> None:
            value = "" if trial.value is None else f" {format_number(trial.value)}"
            progress.update(
                task, completed=done, total=total, description=f"trial {trial.number}:{value}"
            )

        result = platform.tune(
            function,
            dimensions,
            trials=trials,
            parallel=parallel,
            experiment=experiment,
            metric=metric,
            direction=direction,
            study=study,
            seed=seed,
            on_trial=advance,
        )
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    _show(result, top)


def _space(entries: list[str]) -> dict[str, Dimension]:
    dimensions: dict[str, Dimension] = {}
    for entry in entries:
        name, dimension = parse_dimension(entry)
        if name in dimensions:
            raise InvalidInputError(
                f"the param {name!r} is given twice in --space",
                field="space",
                remedy="give each param one --space",
            )
        dimensions[name] = dimension
    return dimensions


def load_objective(reference: str) -> Callable[..., Any]:
    """The function ``module:function`` names (the current folder is searched first)."""
    module_name, sep, attribute = reference.partition(":")
    remedy = "pass the objective as module:function, e.g. train:objective"
    if not sep or not module_name or not attribute:
        raise InvalidInputError(
            f"the objective must be module:function; got {reference!r} instead",
            field="objective",
            remedy=remedy,
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # worker processes inherit it
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidInputError(
            f"the objective's module {module_name!r} cannot be imported ({exc})",
            field="objective",
            remedy=f"run podium tune from the folder holding {module_name}.py, or install it",
        ) from None
    function = module
    for part in attribute.split("."):
        function = getattr(function, part, None)  # type: ignore[assignment]
        if function is None:
            raise InvalidInputError(
                f"the module {module_name!r} has no {attribute!r}",
                field="objective",
                remedy=remedy,
            )
    if not callable(function):
        raise InvalidInputError(
            f"{reference!r} is not a function", field="objective", remedy=remedy
        )
    return function


def _show(result: Study, top: int) -> None:
    out = console()
    counts = ", ".join(
        f"{result.count(state)} {state}" for state in ("complete", "pruned", "failed")
    )
    out.print(
        f"study {result.name!r} in experiment {result.experiment!r}: {len(result.trials)} "
        f"trials ({counts}); run {short_id(result.run_id)}",
        markup=False,
    )
    shown = table(
        f"best trials by {result.metric} ({result.direction})",
        "trial",
        "run id",
        result.metric,
        "params",
        long_text=("params",),
    )
    for trial in result.top(top):
        shown.add_row(
            str(trial.number),
            short_id(trial.run_id or ""),
            format_number(trial.value or 0.0),
            format_mapping({k: _param(v) for k, v in trial.params.items()}),
            style="bold" if trial.run_id == result.best_run_id else None,
        )
    out.print(shown)
    out.print(
        f"best {result.metric}: {format_number(result.best_value)} with "
        f"{format_mapping({k: _param(v) for k, v in result.best_params.items()})}",
        markup=False,
    )


def _param(value: Any) -> str:
    return format_number(value) if isinstance(value, float) else str(value)
