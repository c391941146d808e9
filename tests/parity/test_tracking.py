"""``p.tracking`` both ways: every method of the Tracking protocol, the same assertions."""

from __future__ import annotations

import time

from podium.errors import ConflictError, InvalidInputError, NotFoundError
from podium.platform import Platform
from podium.tracking.types import MetricPoint
from tests.parity.assertions import fails


def _ms() -> int:
    return int(time.time() * 1000)


def test_experiments(platform: Platform) -> None:
    made = platform.tracking.create_experiment("churn", description="who leaves")
    assert (made.name, made.description) == ("churn", "who leaves")
    assert platform.tracking.get_experiment("churn") == made
    assert [e.name for e in platform.tracking.list_experiments()] == ["churn"]
    with fails(ConflictError):
        platform.tracking.create_experiment("churn")
    with fails(NotFoundError):
        platform.tracking.get_experiment("nope")


def test_a_run_logged_through_the_backend_calls(platform: Platform) -> None:
    tracking = platform.tracking
    run = tracking.create_run("churn", name="first", tags={"team": "growth"})
    assert (run.experiment, run.name, run.status) == ("churn", "first", "RUNNING")
    tracking.log_params(run.id, {"C": 0.5, "penalty": "l2"})
    now = _ms()
    points = [
        MetricPoint(key="auc", value=v, step=i, timestamp=now) for i, v in enumerate([0.8, 0.9])
    ]
    tracking.log_metric_points(run.id, points)
    tracking.set_tags(run.id, {"stage": 2})
    tracking.log_inputs(run.id, ["s3://bucket/train.csv"])
    info = tracking.put_artifact(run.id, "notes/readme.txt", b"hello")
    assert (info.path, info.size) == ("notes/readme.txt", 5)
    assert tracking.list_artifacts(run.id) == [info]
    assert tracking.read_artifact(run.id, "notes/readme.txt") == b"hello"
    assert tracking.metric_history(run.id, "auc") == points
    ended = tracking.end_run(run.id, status="FINISHED")
    assert ended.status == "FINISHED" and ended.end_time is not None
    got = tracking.get_run(run.id)
    assert got.params == {"C": "0.5", "penalty": "l2"}
    assert got.metrics == {"auc": 0.9}
    assert got.tags["team"] == "growth" and got.tags["stage"] == "2"
    assert got.inputs == ["s3://bucket/train.csv"]


def test_start_run_search_and_compare(platform: Platform) -> None:
    ids = []
    for c, auc in ((0.5, 0.91), (1.0, 0.85)):
        with platform.tracking.start_run("churn", params={"C": c}, capture_env=False) as run:
            run.log_metrics({"auc": auc}, step=0)
            ids.append(run.id)
    page = platform.tracking.search_runs(
        "churn", filter="metrics.auc > 0.8", order_by=["metrics.auc DESC"]
    )
    assert [r.id for r in page.runs] == ids and page.next_page_token is None
    first = platform.tracking.search_runs(["churn"], max_results=1, order_by=["metrics.auc ASC"])
    assert [r.id for r in first.runs] == [ids[1]] and first.next_page_token is not None
    rest = platform.tracking.search_runs("churn", max_results=1, page_token=first.next_page_token)
    assert len(rest.runs) == 1
    compared = platform.tracking.compare_runs(ids)
    assert [r.id for r in compared.runs] == ids
    assert compared.differing_params == ["C"] and compared.metric_keys == ["auc"]


def test_bad_input_fails_the_same_way(platform: Platform) -> None:
    tracking = platform.tracking
    with fails(NotFoundError):
        tracking.get_run("0" * 32)
    with fails(NotFoundError):
        tracking.search_runs("churn")
    run = tracking.create_run("churn")
    with fails(NotFoundError):
        tracking.create_run("churn", parent_run_id="0" * 32)
    with fails(InvalidInputError):
        tracking.search_runs("churn", filter="metrics.auc >>> 1")
    with fails(InvalidInputError):
        tracking.compare_runs([])
    with fails(InvalidInputError):
        tracking.put_artifact(run.id, "../escape.txt", b"x")
    with fails(NotFoundError):
        tracking.read_artifact(run.id, "missing.txt")
    with fails(InvalidInputError):
        tracking.end_run(run.id, status="BOGUS")  # type: ignore[arg-type]
