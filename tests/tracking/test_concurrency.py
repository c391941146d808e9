"""Tracking under concurrent use: no metric point, run or error may get lost."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from podium.errors import ConflictError, NotFoundError
from podium.platform import Installation, Platform
from podium.tracking.run import ActiveRun
from podium.tracking.types import MetricPoint

THREADS = 8
POINTS = 2_000


def _in_threads(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run ``work(i)`` for i in range(n) on n threads released together; re-raise errors."""
    barrier = threading.Barrier(n)

    def start(i: int) -> Any:
        barrier.wait(timeout=30)
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(start, range(n)))


def test_eight_threads_logging_metrics_lose_no_point(platform: Platform) -> None:
    shared = platform.tracking.start_run("load", name="shared")
    own: dict[int, ActiveRun] = {}

    def log(i: int) -> None:
        run = own[i] = platform.tracking.start_run("load", name=f"thread-{i}")
        for step in range(POINTS):
            value = float(i * POINTS + step)
            if step % 4 == 0:  # a quarter as batches of two keys, the rest one at a time
                shared.log_metrics({"loss": value, f"t{i}": value}, step=step)
                run.log_metrics({"loss": value, "extra": value}, step=step)
            else:
                shared.log_metric("loss", value, step=step)
                run.log_metric("loss", value, step=step)
            if step % 500 == 0:
                shared.flush()  # flushes from many threads at once, beside the background
        run.end()

    _in_threads(log)
    shared.end()

    history = platform.tracking.metric_history(shared.id, "loss")
    assert len(history) == THREADS * POINTS
    assert sorted(p.value for p in history) == [float(v) for v in range(THREADS * POINTS)]
    stored = platform.tracking.get_run(shared.id)
    assert stored.status == "FINISHED"
    assert stored.metrics["loss"] % POINTS == POINTS - 1  # some thread's last step
    for i in range(THREADS):
        batched = platform.tracking.metric_history(shared.id, f"t{i}")
        assert len(batched) == POINTS // 4
        mine = platform.tracking.metric_history(own[i].id, "loss")
        assert [p.value for p in mine] == [float(i * POINTS + s) for s in range(POINTS)]
        assert [p.step for p in mine] == list(range(POINTS))
        assert len(platform.tracking.metric_history(own[i].id, "extra")) == POINTS // 4
        run = platform.tracking.get_run(own[i].id)
        assert run.status == "FINISHED"
        assert run.metrics == {"loss": float(i * POINTS + POINTS - 1), "extra": mine[-4].value}


def test_concurrent_batches_to_one_run_with_keys_in_any_order(platform: Platform) -> None:
    run = platform.tracking.create_run("load")
    keys = [f"k{j}" for j in range(20)]

    def log(i: int) -> None:
        order = keys if i % 2 else list(reversed(keys))  # opposite lock orders
        for step in range(30):
            points = [MetricPoint(key=k, value=float(i), step=step, timestamp=i) for k in order]
            platform.tracking.log_metric_points(run.id, points)

    _in_threads(log)
    for key in keys:
        assert len(platform.tracking.metric_history(run.id, key)) == THREADS * 30
    metrics = platform.tracking.get_run(run.id).metrics
    assert metrics == dict.fromkeys(keys, float(THREADS - 1))  # step 29, latest timestamp


def test_parallel_active_runs_each_start_and_end(platform: Platform) -> None:
    def work(i: int) -> str:
        with platform.tracking.start_run("fresh", name=f"r{i}", params={"i": i}) as run:
            run.set_tag("thread", str(i))
            run.log_metric("m", float(i))
            if i % 4 == 3:
                raise_inside(run)
        return run.id

    def raise_inside(run: ActiveRun) -> None:
        run.set_tag("failing", "yes")
        raise RuntimeError("expected")

    ids: list[str] = []

    def collect(i: int) -> None:
        with contextlib.suppress(RuntimeError):  # the runs that raised inside their block
            ids.append(work(i))

    _in_threads(collect)
    runs = platform.tracking.search_runs("fresh", max_results=100).runs
    assert len(runs) == THREADS
    assert len(platform.tracking.list_experiments()) == 1  # created once, not per thread
    for run in runs:
        i = int(run.params["i"])
        assert run.name == f"r{i}"
        assert run.tags["thread"] == str(i)
        assert run.metrics == {"m": float(i)}
        assert run.end_time is not None
        assert run.status == ("FAILED" if i % 4 == 3 else "FINISHED")
    assert len(ids) == THREADS - THREADS // 4


def test_concurrent_create_experiment_has_one_winner(platform: Platform) -> None:
    def create(i: int) -> str:
        try:
            platform.tracking.create_experiment("race", description=str(i))
        except ConflictError:
            return "conflict"
        return "created"

    outcomes = _in_threads(create)
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["created"]


def test_concurrent_params_have_one_winner(platform: Platform) -> None:
    run = platform.tracking.create_run("race")

    def log(i: int) -> str:
        try:
            platform.tracking.log_params(run.id, {"lr": i, "same": "x"})
        except ConflictError as exc:
            assert exc.details["new_value"] == str(i)
            return "conflict"
        return "logged"

    outcomes = _in_threads(log)
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["logged"]
    assert set(platform.tracking.get_run(run.id).params) == {"lr", "same"}


def test_concurrent_tags_inputs_and_artifacts(platform: Platform) -> None:
    run = platform.tracking.create_run("race")
    keys = [f"t{j}" for j in range(10)]

    def log(i: int) -> None:
        order = keys if i % 2 else list(reversed(keys))
        platform.tracking.set_tags(run.id, {k: str(i) for k in order})
        platform.tracking.log_inputs(run.id, ["raw.a@1", f"raw.b@{i}"])
        platform.tracking.put_artifact(run.id, "same.txt", f"{i}".encode())

    _in_threads(log)
    stored = platform.tracking.get_run(run.id)
    assert set(stored.tags) == set(keys)
    assert stored.inputs == sorted({"raw.a@1"} | {f"raw.b@{i}" for i in range(THREADS)})
    (artifact,) = platform.tracking.list_artifacts(run.id)
    assert platform.tracking.read_artifact(run.id, "same.txt").decode() in {
        str(i) for i in range(THREADS)
    }
    assert artifact.size == 1


def test_a_failed_background_flush_is_raised_not_lost(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = platform.tracking.start_run("exp")
    failures = threading.Event()
    real = platform.tracking.log_metric_points

    def broken(run_id: str, points: Any) -> None:
        failures.set()
        raise ConnectionError("database went away")

    # The buffer holds the service's bound method through a lambda; patch what it calls.
    monkeypatch.setattr(platform.tracking, "log_metric_points", broken)
    run.log_metric("m", 1.0)
    assert failures.wait(timeout=10)  # the background thread tried and failed
    monkeypatch.setattr(platform.tracking, "log_metric_points", real)
    with pytest.raises(ConnectionError, match="went away"):
        run.flush()
    # The point of the failed write was kept and written by that flush.
    assert platform.tracking.metric_history(run.id, "m")[0].value == 1.0
    run.log_metric("m", 2.0, step=1)  # the error was raised once; the run goes on
    assert run.end().metrics == {"m": 2.0}
    assert len(platform.tracking.metric_history(run.id, "m")) == 2


def test_a_background_write_to_a_missing_run_is_raised(
    installation: Installation, platform: Platform
) -> None:
    """Points for a run the backend does not know fail loudly at the next call, not never."""
    stored = platform.tracking.create_run("exp")
    elsewhere = installation.platform(f"{platform.project}-x", user="local:test").tracking
    run = ActiveRun(elsewhere, stored, flush_interval=0.01)  # that project has no such run
    run.log_metric("m", 1.0)
    with pytest.raises(NotFoundError):
        for _ in range(1_000):  # until the background write has failed
            run.log_metric("m", 1.0)
            time.sleep(0.01)
    with pytest.raises(NotFoundError):
        run.end()
