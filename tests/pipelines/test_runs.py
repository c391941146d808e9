"""Pipeline runs on SQLite and PostgreSQL: caching, failures, resume, parallel steps, tracking."""

from __future__ import annotations

import importlib
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import podium
from podium.errors import ConflictError
from podium.pipelines.resources import Machine, ResourcePool, Resources
from podium.platform import Platform
from tests.pipelines import flows


@pytest.fixture(autouse=True)
def _fresh_flows() -> Iterator[None]:
    flows.reset()
    yield
    flows.reset()


def statuses(run: podium.PipelineRun) -> dict[str, str]:
    return {step.name: step.status for step in run.steps}


def test_a_three_step_pipeline_runs_then_a_rerun_is_all_cached(platform: Platform) -> None:
    first = platform.pipelines.run(flows.three, params={"n": 4})
    assert first.status == "succeeded"
    assert first.output == 0 + 1 + 4 + 9
    assert statuses(first) == {
        "prepare": "succeeded",
        "featurize": "succeeded",
        "train": "succeeded",
    }
    assert all(step.duration is not None and step.run_id for step in first.steps)

    flows.CALLS.clear()
    again = platform.pipelines.run(flows.three, params={"n": 4})
    assert again.id != first.id and again.status == "succeeded"
    assert statuses(again) == dict.fromkeys(("prepare", "featurize", "train"), "cached")
    assert again.output == first.output
    assert flows.CALLS == []  # nothing ran

    changed = platform.pipelines.run(flows.three, params={"n": 4, "scale": 2.0})
    assert statuses(changed) == {"prepare": "cached", "featurize": "cached", "train": "succeeded"}
    assert changed.output == 2 * first.output


def test_editing_a_steps_code_reruns_it_and_its_dependants_only(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # the edit must be re-read
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"edited_{uuid.uuid4().hex[:8]}"
    source = textwrap.dedent(
        """
        import podium

        @podium.step
        def load(n: int) -> list:
            return list(range(n))

        @podium.step
        def double(xs: list) -> list:
            return [x * 2 for x in xs]

        @podium.step
        def add(xs: list) -> int:
            return sum(xs)

        @podium.pipeline("edited")
        def edited(n: int = 3):
            return add(double(load(n)))
        """
    )
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    module = importlib.import_module(name)
    assert platform.pipelines.run(module.edited).output == 6
    assert set(statuses(platform.pipelines.run(module.edited)).values()) == {"cached"}

    path.write_text(source.replace("x * 2", "x * 3"))
    module = importlib.reload(module)
    rerun = platform.pipelines.run(module.edited)
    assert rerun.output == 9
    assert statuses(rerun) == {"load": "cached", "double": "succeeded", "add": "succeeded"}


def test_a_failed_step_fails_the_run_skips_what_follows_and_resume_finishes_it(
    platform: Platform,
) -> None:
    flows.FAIL["featurize"] = True
    failed = platform.pipelines.run(flows.three, params={"n": 3})
    assert failed.status == "failed"
    assert statuses(failed) == {"prepare": "succeeded", "featurize": "failed", "train": "skipped"}
    assert "featurize was told to fail" in (failed.error or "")
    assert "featurize was told to fail" in platform.pipelines.logs(failed.id, step="featurize")
    assert platform.tracking.get_run(failed.id).status == "FAILED"
    prepared = failed.step("prepare")

    flows.FAIL["featurize"] = False
    flows.CALLS.clear()
    resumed = platform.pipelines.resume(failed.id)
    assert resumed.id == failed.id and resumed.status == "succeeded"
    assert resumed.output == 0 + 1 + 4
    assert flows.CALLS == ["featurize", "train"]  # prepare was reused, not rerun
    assert resumed.step("prepare").run_id == prepared.run_id
    assert statuses(resumed) == dict.fromkeys(("prepare", "featurize", "train"), "succeeded")
    assert platform.tracking.get_run(failed.id).status == "FINISHED"
    with pytest.raises(ConflictError, match="only a failed run can be resumed"):
        platform.pipelines.resume(failed.id)


def test_independent_steps_run_at_the_same_time(platform: Platform) -> None:
    # Each `meet` waits at a two-party barrier: it returns only if the other is running too.
    run = platform.pipelines.run(flows.pair)
    assert run.status == "succeeded", run.error
    assert run.output == "leftright"


def test_a_step_waits_until_the_cores_it_asks_for_are_free() -> None:
    pool = ResourcePool(Machine(cpus=2, memory=0))
    whole = Resources(cpus=2)
    pool.acquire(whole)
    acquired = threading.Event()

    def second() -> None:
        pool.acquire(Resources(cpus=1))
        acquired.set()

    threading.Thread(target=second, daemon=True).start()
    assert not acquired.wait(0.2)  # blocked while every core is taken
    pool.release(whole)
    assert acquired.wait(10)


def test_map_fans_out_one_step_per_item_in_order(platform: Platform) -> None:
    run = platform.pipelines.run(flows.fan_out, params={"items": [3, 1, 2]})
    assert run.output == {"squares": [9, 1, 4], "total": 14}
    assert [s.name for s in run.steps] == ["square[0]", "square[1]", "square[2]", "total"]
    assert podium.map(flows.square, [2, 3]) == [4, 9]  # outside a pipeline: just calls


def test_a_lake_table_is_pinned_and_a_new_version_reruns_the_step(platform: Platform) -> None:
    flows.PLATFORM["p"] = platform
    platform.data.write("raw.nums", pd.DataFrame({"v": [1, 2]}))
    first = platform.pipelines.run(flows.lake)
    assert first.output == 2
    assert first.step("count_rows").inputs == ["raw.nums@0"]
    assert platform.tracking.get_run(first.step("count_rows").run_id or "").inputs == ["raw.nums@0"]
    assert statuses(platform.pipelines.run(flows.lake)) == {"count_rows": "cached"}

    platform.data.write("raw.nums", pd.DataFrame({"v": [3]}), mode="append")
    after = platform.pipelines.run(flows.lake)
    assert after.output == 3 and statuses(after) == {"count_rows": "succeeded"}
    assert after.step("count_rows").inputs == ["raw.nums@1"]


def test_each_step_is_a_tracked_child_run_with_params_output_and_logs(
    platform: Platform,
) -> None:
    run = platform.pipelines.run(flows.three, params={"n": 2})
    parent = platform.tracking.get_run(run.id)
    assert parent.experiment == "three" and parent.status == "FINISHED"
    assert parent.params == {"n": "2", "scale": "1.0"}
    prepare = platform.tracking.get_run(run.step("prepare").run_id or "")
    assert prepare.parent_run_id == run.id and prepare.params == {"n": "2"}
    assert prepare.tags["podium.output_digest"] == run.step("prepare").output_digest
    logs = platform.tracking.read_artifact(prepare.id, "logs.txt").decode()
    assert "preparing 2 rows" in logs
    assert "preparing 2 rows" in platform.pipelines.logs(run.id)
    assert [r.id for r in platform.pipelines.runs("three")] == [run.id]
    listed = platform.pipelines.list()
    assert [(p.name, p.runs, p.last_status) for p in listed] == [("three", 1, "succeeded")]
    assert platform.pipelines.get(run.id).output == run.output


def test_an_unstorable_output_fails_its_step_naming_the_step_and_type(
    platform: Platform,
) -> None:
    @podium.step
    def make_lock() -> object:
        return threading.Lock()

    @podium.pipeline("locks")
    def locks() -> object:
        return make_lock()

    run = platform.pipelines.run(locks)
    assert run.status == "failed"
    error = run.step("make_lock").error or ""
    assert "make_lock" in error and "lock" in error and "cannot be stored" in error


def test_retries_rerun_a_failing_step_and_a_timeout_fails_it(platform: Platform) -> None:
    attempts: list[int] = []
    release = threading.Event()

    @podium.step(retries=2, cache=False)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("not yet")
        return len(attempts)

    @podium.step(timeout=0.2, cache=False)
    def slow() -> int:
        release.wait(30)
        return 1

    @podium.pipeline("retrying")
    def retrying() -> object:
        return flaky()

    @podium.pipeline("slow")
    def slow_pipeline() -> object:
        return slow()

    done = platform.pipelines.run(retrying)
    assert done.status == "succeeded" and done.output == 3
    assert done.step("flaky").attempts == 3

    timed_out = platform.pipelines.run(slow_pipeline)
    release.set()
    assert timed_out.status == "failed"
    assert "timed out after 0.2 s" in (timed_out.step("slow").error or "")
