"""Runs and experiments: start_run, statuses, nesting, names, environment capture."""

from __future__ import annotations

import os
import platform as stdlib_platform
import subprocess
import sys
from pathlib import Path

import pytest

from podium.config import Settings
from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.platform import Platform
from podium.tracking.environment import capture_environment
from tests.tracking.test_validation import BAD_NAMES


def test_start_run_as_context_manager_ends_finished(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        assert platform.tracking.get_run(run.id).status == "RUNNING"
    stored = platform.tracking.get_run(run.id)
    assert stored.status == "FINISHED"
    assert stored.end_time is not None
    assert stored.end_time >= stored.start_time
    assert stored.duration_ms is not None and stored.duration_ms >= 0
    assert stored.experiment == "exp"
    assert stored.user == "local:test"


def test_exception_in_block_fails_the_run_and_propagates(platform: Platform) -> None:
    with pytest.raises(RuntimeError, match="boom"), platform.tracking.start_run("exp") as run:
        run.log_metric("loss", 1.0)
        raise RuntimeError("boom")
    stored = platform.tracking.get_run(run.id)
    assert stored.status == "FAILED"
    assert stored.end_time is not None
    assert stored.metrics == {"loss": 1.0}  # buffered points are still written


def test_end_is_idempotent_and_takes_a_status(platform: Platform) -> None:
    run = platform.tracking.start_run("exp")
    ended = run.end("KILLED")
    assert ended.status == "KILLED"
    assert run.end("FINISHED").status == "KILLED"  # later calls do nothing
    assert platform.tracking.get_run(run.id).status == "KILLED"


def test_end_run_refuses_running_and_unknown_statuses(platform: Platform) -> None:
    run = platform.tracking.create_run("exp")
    for status in ("RUNNING", "DONE"):
        with pytest.raises(InvalidInputError) as info:
            platform.tracking.end_run(run.id, status=status)  # type: ignore[arg-type]
        assert info.value.field == "status"


def test_nested_runs_record_their_parent(platform: Platform) -> None:
    with platform.tracking.start_run("exp", name="parent") as parent:
        with platform.tracking.start_run("exp", name="child", parent=parent) as child:
            pass
        with platform.tracking.start_run("exp", parent=parent.id) as by_id:
            pass
    assert platform.tracking.get_run(child.id).parent_run_id == parent.id
    assert platform.tracking.get_run(by_id.id).parent_run_id == parent.id
    assert platform.tracking.get_run(parent.id).parent_run_id is None


def test_unknown_parent_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFoundError):
        platform.tracking.start_run("exp", parent="0" * 32)


def test_run_names(platform: Platform) -> None:
    with platform.tracking.start_run("exp", name="baseline v1") as named:
        assert named.name == "baseline v1"
    with platform.tracking.start_run("exp") as unnamed:
        pass
    assert platform.tracking.get_run(named.id).name == "baseline v1"
    assert unnamed.name.startswith("run-")
    assert unnamed.name.removeprefix("run-") in unnamed.id
    for bad in BAD_NAMES[:-1]:  # None means "name it for me"
        with pytest.raises(InvalidInputError):
            platform.tracking.start_run("exp", name=bad)


def test_start_run_with_params_and_tags(platform: Platform) -> None:
    with platform.tracking.start_run("exp", params={"C": 0.5}, tags={"team": "ml", "n": 3}) as run:
        pass
    stored = platform.tracking.get_run(run.id)
    assert stored.params == {"C": "0.5"}
    assert stored.tags == {"team": "ml", "n": "3"}


def test_bad_params_at_start_fail_the_run_they_created(platform: Platform) -> None:
    with pytest.raises(InvalidInputError):
        platform.tracking.start_run("exp", params={"bad key!": 1})
    (run,) = platform.tracking.search_runs("exp").runs
    assert run.status == "FAILED"


def test_experiments_are_created_on_first_use(platform: Platform) -> None:
    assert platform.tracking.list_experiments() == []
    with platform.tracking.start_run("churn"):
        pass
    with platform.tracking.start_run("churn"):
        pass
    with platform.tracking.start_run():  # the default experiment
        pass
    names = [e.name for e in platform.tracking.list_experiments()]
    assert names == ["churn", "default"]
    churn = platform.tracking.get_experiment("churn")
    assert platform.tracking.get_experiment(churn.id) == churn  # by id too
    assert len(platform.tracking.search_runs("churn").runs) == 2


def test_create_experiment_and_conflict(platform: Platform) -> None:
    exp = platform.tracking.create_experiment("churn", description="who leaves")
    assert exp.description == "who leaves"
    assert platform.tracking.get_experiment("churn") == exp
    with pytest.raises(ConflictError) as info:
        platform.tracking.create_experiment("churn")
    assert isinstance(info.value, ValueError)
    assert info.value.field == "name"
    with platform.tracking.start_run("churn") as run:
        pass
    assert platform.tracking.get_run(run.id).experiment_id == exp.id


def test_unknown_experiment_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFoundError) as info:
        platform.tracking.get_experiment("nope")
    assert isinstance(info.value, LookupError)
    with pytest.raises(NotFoundError):
        platform.tracking.search_runs("nope")
    with pytest.raises(NotFoundError):
        platform.tracking.search_runs(["default", "nope"])


def test_bad_experiment_names_are_refused(platform: Platform) -> None:
    for bad in BAD_NAMES:
        with pytest.raises(InvalidInputError):
            platform.tracking.create_experiment(bad)
        with pytest.raises(InvalidInputError):
            platform.tracking.start_run(bad)
    assert platform.tracking.list_experiments() == []


def test_unknown_run_is_not_found(platform: Platform) -> None:
    tracking = platform.tracking
    for call in (
        lambda: tracking.get_run("0" * 32),
        lambda: tracking.end_run("0" * 32),
        lambda: tracking.log_params("0" * 32, {"a": 1}),
        lambda: tracking.set_tags("0" * 32, {"a": 1}),
        lambda: tracking.metric_history("0" * 32, "a"),
        lambda: tracking.list_artifacts("0" * 32),
        lambda: tracking.get_run(123),  # type: ignore[arg-type]
    ):
        with pytest.raises(NotFoundError):
            call()


def test_environment_is_captured(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        pass
    env = platform.tracking.get_run(run.id).environment
    assert env["python"] == stdlib_platform.python_version()
    assert env["platform"]
    assert "podium" in env["packages"]
    with platform.tracking.start_run("exp", capture_env=False) as bare:
        pass
    assert platform.tracking.get_run(bare.id).environment == {}


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_git_commit_is_captured_in_a_repo(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    head = _git(repo, "rev-parse", "HEAD")
    monkeypatch.chdir(repo)
    with platform.tracking.start_run("exp") as run:
        pass
    assert platform.tracking.get_run(run.id).environment["git_commit"] == head


def test_no_git_commit_outside_a_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert "git_commit" not in capture_environment()


def test_no_git_commit_when_git_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    env = capture_environment(tmp_path)
    assert "git_commit" not in env
    assert env["python"]


def test_active_run_describes_itself(platform: Platform) -> None:
    with platform.tracking.start_run("exp", name="r") as run:
        assert run.experiment == "exp"
        assert "exp" in repr(run) and run.id in repr(run)
        run.log_metric("m", 2.0)
        info = run.info()  # flushes first
        assert info.metrics == {"m": 2.0}
        assert info.status == "RUNNING"


def test_points_of_a_run_never_ended_are_written_at_exit(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    script = tmp_path / "forgetful.py"
    script.write_text(
        "import podium\n"
        f"p = podium.connect(project={platform.project!r})\n"
        "run = p.tracking.start_run('exp', capture_env=False)\n"
        "print(run.id)\n"
        "for step in range(100):\n"
        "    run.log_metric('loss', 1.0 / (step + 1), step=step)\n"
        "# no run.end(): the process just exits\n"
    )
    env = {
        **os.environ,
        "PODIUM_HOME": str(settings.home),
        "PODIUM_DATABASE_URL": settings.resolved_database_url,
        "PODIUM_METRIC_FLUSH_INTERVAL": "3600",  # only the exit can write them
    }
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    run_id = out.stdout.strip()
    assert len(platform.tracking.metric_history(run_id, "loss")) == 100
    assert platform.tracking.get_run(run_id).status == "RUNNING"  # it was never ended
