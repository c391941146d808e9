"""What keeps ``p.tune`` cheap: how worker processes start, and trials run in place.

Every start method must give the same trials as the others (a seeded random sampler),
each a tracked run written by a worker process; a forked worker never touches the
database connections it inherited. The objectives are module-level functions, which
spawned and forkserver workers import from this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import optuna
import pytest

import podium
from podium.pipelines import tuning
from podium.pipelines.tuning_trial import TuningTrial
from podium.platform import Platform

SPACE = {"x": podium.uniform(0.0, 1.0)}

_PARENT: dict[str, Any] = {}  # a platform of the parent's, seen by forked workers


# Libraries whose native thread pools (OpenMP) a forked child inherits locked.
_NATIVE_POOLS = ("torch", "xgboost", "lightgbm")
_FRESH = "PODIUM_TEST_FRESH_PROCESS"


@pytest.fixture
def ran_in_a_fresh_process(request: pytest.FixtureRequest) -> bool:
    """Tests that force ``fork`` must not run after an earlier test of this worker loaded
    a native thread pool (a fork would inherit it locked): they then run alone in a fresh
    interpreter, and this is True (the test's own body is skipped)."""
    if os.environ.get(_FRESH) or not any(name in sys.modules for name in _NATIVE_POOLS):
        return False
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        cwd=root, env={**os.environ, _FRESH: "1"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return True


def reporting(params: dict[str, Any], trial: TuningTrial) -> float:
    """Reports x twice (the threshold pruner stops it when x < 0.5), tags its pid."""
    trial.run.set_tag("pid", os.getpid())
    for step in range(2):
        trial.report(params["x"], step)
    return float(params["x"])


def quiet(params: dict[str, Any], trial: TuningTrial) -> float:
    """Logs nothing itself; records the thread it ran in and how many were running."""
    trial.run.set_tags({"thread": threading.get_ident(), "threads": threading.active_count()})
    return float(params["x"])


def using_the_parents_platform(params: dict[str, Any]) -> float:
    """Reads and writes through a platform object the worker inherited from its parent."""
    platform: Platform = _PARENT["platform"]
    platform.tracking.set_tags(_PARENT["run_id"], {f"seen-{os.getpid()}": "yes"})
    return float(params["x"])


def _tune(platform: Platform, objective: Any, **options: Any) -> podium.Study:
    return platform.tune(
        objective,
        SPACE,
        experiment="e",
        metric="x",
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=1),
        **options,
    )


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_every_start_method_gives_the_same_tracked_trials(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, ran_in_a_fresh_process: bool
) -> None:
    if ran_in_a_fresh_process:
        return
    seen: dict[str, list[tuple[Any, ...]]] = {}
    for method in ("fork", "forkserver"):  # spawn: where neither exists (not Linux)
        monkeypatch.setattr(tuning, "start_method", lambda method=method: method)
        study = _tune(
            platform,
            reporting,
            trials=4,
            parallel=2,
            pruner=optuna.pruners.ThresholdPruner(lower=0.5),
        )
        runs = {r.id: r for r in platform.tracking.search_runs("e", max_results=1000).runs}
        for trial in study.trials:
            run = runs[trial.run_id or ""]
            assert int(run.tags["pid"]) != os.getpid(), method  # run in a worker
            assert run.tags["podium.trial.state"] == trial.state
            assert run.status == ("KILLED" if trial.state == "pruned" else "FINISHED")
        seen[method] = [(t.number, t.params["x"], t.state, t.value) for t in study.trials]
    assert seen["fork"] == seen["forkserver"]
    assert {state for _, _, state, _ in seen["fork"]} == {"complete", "pruned"}


def test_fork_is_refused_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not tuning._fork_is_safe()
        assert tuning.start_method() in ("forkserver", "spawn")
    finally:
        stop.set()
        other.join()


@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"), reason="needs two cores and fork"
)
def test_a_forked_worker_reconnects_instead_of_sharing_the_parents_connections(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, ran_in_a_fresh_process: bool
) -> None:
    if ran_in_a_fresh_process:
        return
    monkeypatch.setattr(tuning, "start_method", lambda: "fork")
    marker = platform.tracking.create_run("marks")
    monkeypatch.setitem(_PARENT, "platform", platform)
    monkeypatch.setitem(_PARENT, "run_id", marker.id)

    study = _tune(platform, using_the_parents_platform, trials=4, parallel=2)

    assert study.count("complete") == 4
    seen = [k for k in platform.tracking.get_run(marker.id).tags if k.startswith("seen-")]
    assert seen and f"seen-{os.getpid()}" not in seen  # written by the workers
    platform.tracking.set_tags(marker.id, {"parent": "still fine"})  # the parent's pool works
    assert platform.tracking.get_run(marker.id).tags["parent"] == "still fine"


def test_one_trial_at_a_time_runs_in_the_callers_thread_without_a_metrics_thread(
    platform: Platform,
) -> None:
    before = threading.active_count()
    study = _tune(platform, quiet, trials=3)

    for trial in study.trials:
        run = platform.tracking.get_run(trial.run_id or "")
        assert run.tags["thread"] == str(threading.get_ident())
        assert run.tags["threads"] == str(before)  # no thread per trial or per run
        assert run.params == {"x": str(trial.params["x"])}
        assert run.metrics == {"x": trial.value}
        assert run.status == "FINISHED" and run.end_time is not None
