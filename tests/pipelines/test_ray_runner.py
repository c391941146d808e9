"""runner="ray": steps as Ray tasks on a local Ray kept on 127.0.0.1, and tuning on Ray.

One Ray (2 CPUs, a custom ``accelerator`` resource standing in for a GPU) serves the
whole module and is shut down at its end. The steps are module-level functions, so Ray
workers import them from this module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import podium
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.pipelines.definitions import Pipeline
from podium.pipelines.ray_runner import RayRunner
from podium.pipelines.runner import runner_named
from podium.pipelines.tuning_trial import TuningTrial
from podium.platform import Platform
from tests.pipelines import flows

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback, read at import
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """A local Ray on loopback for this module; the runner finds it initialised."""
    if ray.is_initialized():  # another module's runner left its Ray up in this worker
        ray.shutdown()
    ray.init(
        address="local",
        num_cpus=2,
        resources={"accelerator": 1},
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )
    try:
        yield
    finally:
        ray.shutdown()


# -- steps and pipelines ------------------------------------------------------------------
@podium.step(cache=False)
def numbers(n: int) -> pd.DataFrame:
    print(f"making {n} numbers")
    return pd.DataFrame({"x": list(range(n))})


@podium.step(cache=False, cpus=1, memory="10MB")
def squares(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(y=df["x"] ** 2)


@podium.step(cache=False)
def summary(df: pd.DataFrame, scale: float = 1.0) -> dict[str, Any]:
    return {"total": float(df["y"].sum()) * scale, "rows": len(df), "ys": df["y"].tolist()}


@podium.pipeline("ray-three")
def three(n: int = 5, scale: float = 1.0) -> Any:
    return summary(squares(numbers(n)), scale=scale)


@podium.step(cache=False)
def where() -> int:
    return os.getpid()


@podium.pipeline("ray-where")
def where_pipeline() -> Any:
    return where()


@podium.step(cache=False, resources={"accelerator": 1})
def accelerated() -> dict[str, float]:
    return dict(ray.get_runtime_context().get_assigned_resources())


@podium.pipeline("ray-accelerated")
def accelerated_pipeline() -> Any:
    return accelerated()


@podium.step(cache=False, gpus=1)
def on_gpu() -> int:
    return 1


@podium.pipeline("ray-gpu")
def gpu_pipeline() -> Any:
    return on_gpu()


@podium.step(cache=False, resources={"tpu": 2})
def on_tpu() -> int:
    return 1


@podium.pipeline("ray-tpu")
def tpu_pipeline() -> Any:
    return on_tpu()


def _count(marker: Path) -> int:
    """Record one call in ``marker`` (a file shared by every worker); calls so far."""
    with marker.open("a") as out:
        out.write("x")
    return len(marker.read_text())


@podium.step(cache=False, retries=2)
def flaky(marker: str) -> str:
    if _count(Path(marker)) < 2:
        raise RuntimeError("not yet")
    return "ok"


@podium.pipeline("ray-flaky")
def flaky_pipeline(marker: str) -> Any:
    return flaky(marker)


@podium.step
def first(folder: str) -> int:
    return _count(Path(folder) / "first")


@podium.step
def second(value: int, folder: str) -> int:
    if not (Path(folder) / "fixed").exists():
        raise RuntimeError("second was told to fail")
    return value + 10


@podium.pipeline("ray-resume")
def resume_pipeline(folder: str) -> Any:
    return second(first(folder), folder)


@podium.step(cache=False, timeout=0.5)
def sleepy() -> int:
    import time

    time.sleep(60)
    return 1


@podium.pipeline("ray-sleepy")
def sleepy_pipeline() -> Any:
    return sleepy()


def objective(params: dict[str, Any], trial: TuningTrial) -> float:
    trial.run.set_tag("pid", os.getpid())
    return float((params["x"] - 0.3) ** 2)


def statuses(run: podium.PipelineRun) -> dict[str, str]:
    return {step.name: step.status for step in run.steps}


# -- tests ---------------------------------------------------------------------------------
def test_local_and_ray_give_identical_outputs(platform: Platform) -> None:
    local = platform.pipelines.run(three, params={"n": 6, "scale": 2.0}, runner="local")
    on_ray = platform.pipelines.run(three, params={"n": 6, "scale": 2.0}, runner="ray")
    assert local.status == on_ray.status == "succeeded"
    assert on_ray.output == local.output == {"total": 110.0, "rows": 6, "ys": [0, 1, 4, 9, 16, 25]}
    assert statuses(on_ray) == dict.fromkeys(("numbers", "squares", "summary"), "succeeded")
    assert "making 6 numbers" in platform.pipelines.logs(on_ray.id, step="numbers")
    assert platform.tracking.get_run(on_ray.id).tags["podium.runner"] == "ray"


def test_ray_steps_run_in_ray_worker_processes_on_loopback(platform: Platform) -> None:
    run = platform.pipelines.run(where_pipeline, runner="ray")
    assert run.status == "succeeded"
    assert run.output != os.getpid()
    assert [node["NodeManagerAddress"] for node in ray.nodes()] == ["127.0.0.1"]


def test_a_rerun_on_ray_is_cached_and_map_fans_out(platform: Platform) -> None:
    run = platform.pipelines.run(flows.fan_out, params={"items": [1, 2, 3, 4]}, runner="ray")
    assert run.status == "succeeded"
    assert run.output == {"squares": [1, 4, 9, 16], "total": 30}
    assert set(statuses(run)) == {"square[0]", "square[1]", "square[2]", "square[3]", "total"}
    again = platform.pipelines.run(flows.fan_out, params={"items": [1, 2, 3, 4]}, runner="ray")
    assert set(statuses(again).values()) == {"cached"}
    assert again.output == run.output


def test_a_custom_resource_is_scheduled_on_ray_and_refused_locally(platform: Platform) -> None:
    run = platform.pipelines.run(accelerated_pipeline, runner="ray")
    assert run.status == "succeeded"
    assert run.output["accelerator"] == 1.0
    with pytest.raises(InvalidInputError, match="accelerator=1") as caught:
        platform.pipelines.run(accelerated_pipeline, runner="local")
    assert caught.value.field == "resources"


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [(gpu_pipeline, "gpus=1 .the largest node has gpus=0"), (tpu_pipeline, "tpu=2")],
)
def test_a_resource_the_cluster_lacks_is_refused_before_anything_runs(
    platform: Platform, pipeline: Pipeline[..., Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        platform.pipelines.run(pipeline, runner="ray")
    assert "could never run" in str(caught.value)
    assert platform.pipelines.runs(pipeline.name) == []


def test_a_failing_attempt_is_retried_as_a_new_task(platform: Platform, tmp_path: Path) -> None:
    marker = tmp_path / "calls"
    run = platform.pipelines.run(flaky_pipeline, params={"marker": str(marker)}, runner="ray")
    assert run.status == "succeeded" and run.output == "ok"
    assert run.steps[0].attempts == 2
    assert "attempt 2 of 3" in platform.pipelines.logs(run.id, step="flaky")


def test_a_failed_run_on_ray_resumes_without_rerunning_what_succeeded(
    platform: Platform, tmp_path: Path
) -> None:
    params = {"folder": str(tmp_path)}
    run = platform.pipelines.run(resume_pipeline, params=params, runner="ray")
    assert run.status == "failed"
    assert statuses(run) == {"first": "succeeded", "second": "failed"}
    assert "second was told to fail" in platform.pipelines.logs(run.id, step="second")

    (tmp_path / "fixed").touch()
    resumed = platform.pipelines.resume(run.id)
    assert resumed.id == run.id and resumed.status == "succeeded"
    assert resumed.output == 11
    assert (tmp_path / "first").read_text() == "x"  # first ran once, on the first run


def test_a_step_past_its_timeout_is_cancelled(platform: Platform) -> None:
    run = platform.pipelines.run(sleepy_pipeline, runner="ray")
    assert run.status == "failed"
    assert "timed out after 0.5 s" in (run.steps[0].error or "")


def test_tune_runs_trials_as_ray_tasks(platform: Platform) -> None:
    study = platform.tune(
        objective,
        space={"x": podium.uniform(0.0, 1.0)},
        trials=4,
        parallel=2,
        experiment="ray-tune",
        direction="minimize",
        seed=1,
        runner="ray",
    )
    assert len(study.trials) == 4 and all(t.state == "complete" for t in study.trials)
    runs = [platform.tracking.get_run(t.run_id or "") for t in study.trials]
    assert {run.params["x"] for run in runs} == {str(t.params["x"]) for t in study.trials}
    assert all(run.tags["pid"] != str(os.getpid()) for run in runs)
    best = min(study.trials, key=lambda t: t.value or 0.0)
    assert study.best_run_id == best.run_id and study.best_value == best.value


def test_tune_on_ray_refuses_more_workers_than_the_cluster_has_cpus(platform: Platform) -> None:
    with pytest.raises(InvalidInputError, match="the Ray cluster has 2"):
        platform.tune(objective, space={"x": podium.uniform(0, 1)}, parallel=3, runner="ray")


@podium.step(cache=False)
def locked() -> Any:
    import threading

    return threading.Lock()


@podium.pipeline("ray-locked")
def locked_pipeline() -> Any:
    return locked()


def test_an_output_that_cannot_travel_back_fails_its_step(platform: Platform) -> None:
    run = platform.pipelines.run(locked_pipeline, runner="ray")
    assert run.status == "failed"
    error = run.steps[0].error or ""
    assert "could not be sent between this process and its Ray worker" in error
    assert "cannot pickle '_thread.lock' object" in error


def test_the_cluster_comes_from_podium_ray_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_RAY_ADDRESS", "ray://10.0.0.5:10001")
    address = Settings().ray_address
    assert address == "ray://10.0.0.5:10001"
    runner = runner_named("ray", ray_address=address)
    assert isinstance(runner, RayRunner) and runner.address == address
