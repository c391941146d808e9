"""p.tune: every trial a tracked run, pruning, resuming a study, parallel trials, bad input.

The objectives are module-level functions: with ``parallel > 1`` embedded, trials run in
spawned worker processes, which import them from this module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import optuna
import pytest

import podium
from podium.access.roles import Role
from podium.config import Settings
from podium.errors import ConflictError, InvalidInputError
from podium.pipelines.space import (
    Choice,
    IntUniform,
    LogUniform,
    Uniform,
    choice,
    intuniform,
    loguniform,
    parse_dimension,
    uniform,
)
from podium.pipelines.tuning_storage import TuningStorage
from podium.pipelines.tuning_trial import TuningTrial
from podium.platform import Installation, Platform
from podium.tracking.types import Run

if TYPE_CHECKING:  # not at run time: worker processes import this module for objectives
    from tests.conftest import LiveServer

SPACE = {"x": podium.uniform(0.0, 1.0), "kind": podium.choice(["a", "b"])}


def peak(params: dict[str, Any]) -> dict[str, float]:
    """Best at x = 0.3 (maximize ``auc``); also returns a second metric."""
    return {"auc": 1 - (params["x"] - 0.3) ** 2, "loss": (params["x"] - 0.3) ** 2}


def learning(params: dict[str, Any], trial: TuningTrial) -> float:
    """Reports x at three steps (the pruner may stop it), then returns it."""
    trial.run.set_tag("pid", os.getpid())
    for step in range(3):
        trial.report(params["x"], step)
    return float(params["x"])


def flaky(params: dict[str, Any]) -> float:
    if params["x"] < 0.5:
        raise RuntimeError("x too small")
    return float(params["x"])


def broken(params: dict[str, Any]) -> float:
    raise RuntimeError("boom")


def _trial_runs(platform: Platform, experiment: str, study_run: str, **search: Any) -> list[Run]:
    where = f"attributes.parent_run_id = '{study_run}'"
    extra = search.pop("filter", None)
    return platform.tracking.search_runs(
        experiment,
        filter=f"{where} and {extra}" if extra else where,
        max_results=1000,
        **search,
    ).runs


def test_parallel_trials_are_tracked_runs_and_the_best_is_the_best_run(
    platform: Platform,
) -> None:
    study = platform.tune(
        learning,
        SPACE,
        trials=20,
        parallel=2,
        experiment="churn",
        metric="auc",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),  # params independent of timing
        pruner=optuna.pruners.ThresholdPruner(lower=0.5),  # pruned exactly when x < 0.5
    )

    runs = _trial_runs(platform, "churn", study.run_id)
    assert len(runs) == len(study.trials) == 20
    assert {run.id for run in runs} == {trial.run_id for trial in study.trials}
    by_id = {run.id: run for run in runs}
    for trial in study.trials:
        run = by_id[trial.run_id or ""]
        assert run.params == {"x": str(trial.params["x"]), "kind": trial.params["kind"]}
        assert "auc" in run.metrics
        assert run.tags["podium.study"] == study.name
        assert int(run.tags["pid"]) != os.getpid()  # run in a worker process
        if trial.params["x"] < 0.5:  # the pruner's rule: stopped at its first report
            assert (trial.state, run.status) == ("pruned", "KILLED")
            assert run.tags["podium.trial.state"] == "pruned"
            assert platform.tracking.metric_history(run.id, "auc")[-1].step == 0
        else:
            assert (trial.state, run.status) == ("complete", "FINISHED")
            assert run.tags["podium.trial.state"] == "complete"
            assert run.metrics["auc"] == trial.value
    assert 0 < study.count("pruned") < 20

    best_run = _trial_runs(
        platform,
        "churn",
        study.run_id,
        filter="tags.`podium.trial.state` = 'complete'",
        order_by=["metrics.auc DESC"],
    )[0]
    assert study.best_run_id == best_run.id
    assert study.best_value == best_run.metrics["auc"]
    assert {k: str(v) for k, v in study.best_params.items()} == best_run.params

    parent = platform.tracking.get_run(study.run_id)
    assert parent.status == "FINISHED"
    assert parent.tags["podium.study"] == study.name
    assert parent.tags["podium.study.best_run_id"] == best_run.id


def test_the_default_pruner_stops_bad_trials_and_optuna_marks_them(
    installation: Installation, platform: Platform
) -> None:
    study = platform.tune(
        learning,
        {"x": podium.uniform(0.0, 1.0)},
        trials=12,
        experiment="e",
        metric="auc",
        direction="maximize",
        seed=3,
    )
    pruned = [trial for trial in study.trials if trial.state == "pruned"]
    assert pruned, "the median pruner stopped no trial"
    for trial in pruned:
        run = platform.tracking.get_run(trial.run_id or "")
        assert run.status == "KILLED"
        assert run.tags["podium.trial.state"] == "pruned"
    # Optuna's own record says the same (what a resumed study and its sampler see).
    stored = optuna.load_study(
        study_name=f"{platform.project}/{study.name}",
        storage=TuningStorage.beside(installation.db.url).open(optuna),
    )
    states = {t.number: t.state.name for t in stored.trials}
    assert {states[t.number] for t in pruned} == {"PRUNED"}


def test_a_study_survives_a_restart_and_resumes_by_name(
    settings: Settings, project_name: str
) -> None:
    options: dict[str, Any] = {"experiment": "e", "metric": "auc", "direction": "maximize"}
    first = Installation(settings)
    try:
        study = first.platform(project_name).tune(peak, SPACE, trials=3, study="s", **options)
        # A process that died mid-trial leaves a RUNNING trial behind.
        optuna.load_study(
            study_name=f"{project_name}/s",
            storage=TuningStorage.beside(first.db.url).open(optuna),
        ).ask()
    finally:
        first.close()

    second = Installation(settings)  # a restart
    try:
        platform = second.platform(project_name)
        resumed = platform.tune(peak, SPACE, trials=6, study="s", **options)
        assert resumed.run_id == study.run_id
        assert [t.number for t in resumed.trials] == [0, 1, 2, 3, 4, 5]
        assert [t.state for t in resumed.trials].count("complete") == 5
        interrupted = resumed.trials[3]
        assert interrupted.state == "failed" and "interrupted" in (interrupted.error or "")
        assert len(_trial_runs(platform, "e", study.run_id)) == 5
        best = max(resumed.top(6), key=lambda t: t.value or 0.0)
        assert (resumed.best_value, resumed.best_run_id) == (best.value, best.run_id)

        again = platform.tune(peak, SPACE, trials=6, study="s", **options)  # nothing left
        assert len(again.trials) == 6

        with pytest.raises(ConflictError, match="metric was 'auc', now 'loss'"):
            platform.tune(peak, SPACE, trials=7, study="s", **{**options, "metric": "loss"})
    finally:
        second.close()


def test_a_trial_that_raises_fails_and_the_study_goes_on(platform: Platform) -> None:
    study = platform.tune(
        flaky,
        {"x": podium.uniform(0.0, 1.0)},
        trials=8,
        experiment="e",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    failed = [t for t in study.trials if t.state == "failed"]
    assert failed and len(failed) < 8
    for trial in failed:
        run = platform.tracking.get_run(trial.run_id or "")
        assert run.status == "FAILED"
        assert run.tags["podium.trial.error"] == "RuntimeError: x too small"
    assert study.best_value >= 0.5


def test_every_trial_failing_is_a_clear_error(platform: Platform) -> None:
    with pytest.raises(InvalidInputError, match="the first error: RuntimeError: boom") as caught:
        platform.tune(broken, {"x": podium.uniform(0.0, 1.0)}, trials=2, experiment="e")
    assert caught.value.field == "objective"
    study_run = platform.tracking.search_runs("e", filter="tags.`podium.kind` = 'study'").runs
    assert [run.status for run in study_run] == ["FAILED"]


def test_an_objective_returning_no_metric_fails_its_trials(platform: Platform) -> None:
    with pytest.raises(InvalidInputError, match="without the study's metric 'f1'"):
        platform.tune(peak, {"x": podium.uniform(0.0, 1.0)}, trials=1, experiment="e", metric="f1")


def three_args(params: Any, trial: Any, extra: Any) -> float:
    return 0.0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"direction": "up"}, "direction", "the direction must be 'maximize' or 'minimize'"),
        ({"trials": 0}, "trials", "trials must be an integer at least 1"),
        ({"parallel": 0}, "parallel", "parallel must be an integer between 1 and"),
        ({"parallel": 10_000}, "parallel", "parallel must be an integer between 1 and"),
        ({"space": {}}, "space", "the search space must be a non-empty dict"),
        ({"space": {"x": [1, 2]}}, "space.x", "the search space entry 'x' must be"),
        ({"runner": "spark"}, "runner", "the runner must be 'local' or 'ray'"),
        ({"metric": "a!b"}, "metrics", "the metric key must be"),
        ({"objective": three_args}, "objective", "must take (params) or (params, trial)"),
        (
            {"objective": lambda params: 0.0, "parallel": 2},
            "objective",
            "parallel trials run in worker processes, which need a picklable objective",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_runs(
    platform: Platform, change: dict[str, Any], field: str, message: str
) -> None:
    if change.get("parallel") == 2 and (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores")
    arguments: dict[str, Any] = {"objective": peak, "space": SPACE, "experiment": "e"}
    arguments |= change
    with pytest.raises(InvalidInputError) as caught:
        platform.tune(arguments.pop("objective"), arguments.pop("space"), **arguments)
    assert message in caught.value.message
    assert caught.value.field == field
    assert platform.tracking.list_experiments() == []  # nothing ran, nothing was created


def test_tuning_against_a_server_logs_every_trial_there(live_server: LiveServer) -> None:
    project = "tune-remote"
    key = live_server.key(project, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, project=project) as remote:
        study = remote.tune(
            peak, SPACE, trials=4, parallel=2, experiment="e", metric="auc",
            direction="maximize", seed=1,
        )  # fmt: skip
    server = live_server.installation.platform(project, user="local:test")
    runs = _trial_runs(server, "e", study.run_id)
    assert sorted(run.id for run in runs) == sorted(t.run_id or "" for t in study.trials)
    assert all(run.metrics["auc"] and run.params["kind"] in "ab" for run in runs)


# -- the search-space helpers ---------------------------------------------------------


def test_the_helpers_build_dimensions() -> None:
    assert loguniform(1e-3, 10) == LogUniform(0.001, 10.0)
    assert uniform(0, 1) == Uniform(0.0, 1.0)
    assert intuniform(2, 12, step=2) == IntUniform(2, 12, 2, False)
    assert choice(["a", None, 3]) == Choice(("a", None, 3))


@pytest.mark.parametrize(
    ("build", "parameter", "message"),
    [
        (lambda: loguniform(0, 1), "low", "must be greater than 0 (a log scale)"),
        (lambda: loguniform(1, 1), "high", "must be greater than low (1)"),
        (lambda: uniform(2, 1), "high", "must be greater than low (2)"),
        (lambda: uniform(0, float("nan")), "high", "must be a finite number"),
        (lambda: intuniform(1, 5, step=0), "step", "must be at least 1"),
        (lambda: intuniform(0, 5, log=True), "low", "must be at least 1 on a log scale"),
        (lambda: intuniform(1.5, 5), "low", "must be an integer"),  # type: ignore[arg-type]
        (lambda: choice([]), "options", "must be a non-empty list"),
        (lambda: choice(["a", "a"]), "options", "must be distinct values"),
        (lambda: choice([object()]), "options", "must be None, booleans, numbers or strings"),
    ],
)
def test_a_bad_dimension_names_its_parameter(build: Any, parameter: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        build()
    assert caught.value.field == parameter
    assert f"the {parameter!r} parameter of" in caught.value.message
    assert message in caught.value.message


def test_the_cli_form_of_a_dimension_is_read_without_running_code() -> None:
    assert parse_dimension("C=loguniform(1e-3,10)") == ("C", LogUniform(0.001, 10.0))
    assert parse_dimension("depth = intuniform(2, 8, step=2)") == ("depth", IntUniform(2, 8, 2))
    assert parse_dimension("s=choice(['a','b'])") == ("s", Choice(("a", "b")))
    for bad in ("C", "C=loguniform", "C=__import__('os')", "C=normal(0,1)", "C=uniform(x, 1)"):
        with pytest.raises(InvalidInputError, match=r"NAME=helper|cannot be read"):
            parse_dimension(bad)
    with pytest.raises(InvalidInputError, match="wrong arguments"):
        parse_dimension("C=uniform(1)")
