"""What runs log: params (immutable), metrics (history and latest), tags, inputs."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from podium.errors import ConflictError, InvalidInputError
from podium.platform import Platform
from podium.tracking.types import MetricPoint
from tests.tracking.test_validation import (
    BAD_KEYS,
    BAD_REFS,
    BAD_STEPS,
    BAD_TIMESTAMPS,
    BAD_VALUES,
    GOOD_KEYS,
)


def _point(key: str, value: float, step: int = 0, timestamp: int = 1) -> MetricPoint:
    return MetricPoint(key=key, value=value, step=step, timestamp=timestamp)


# -- params -------------------------------------------------------------------------


def test_params_are_stored_as_strings(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_param("C", 0.5)
        run.log_params({"model": "rf", "depth": 3, "flag": True, "empty": ""})
    assert platform.tracking.get_run(run.id).params == {
        "C": "0.5",
        "model": "rf",
        "depth": "3",
        "flag": "True",
        "empty": "",
    }


def test_logging_the_same_param_value_again_is_fine(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_param("C", 0.5)
        run.log_param("C", 0.5)
        run.log_param("C", "0.5")  # the same stored string
        run.log_params({"C": 0.5, "new": 1})
    assert platform.tracking.get_run(run.id).params == {"C": "0.5", "new": "1"}


def test_another_param_value_is_a_conflict(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_param("C", 0.5)
        with pytest.raises(ConflictError) as info:
            run.log_param("C", 1.0)
        err = info.value
        assert isinstance(err, ValueError)
        assert err.details["old_value"] == "0.5"
        assert err.details["new_value"] == "1.0"
        assert err.field == "C"
        assert err.remedy
        # A batch with one conflicting param writes none of it.
        with pytest.raises(ConflictError):
            run.log_params({"fresh": "x", "C": 2})
    assert platform.tracking.get_run(run.id).params == {"C": "0.5"}


def test_too_long_param_value_is_refused(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_param("ok", "x" * 6000)
        with pytest.raises(InvalidInputError, match="long"):
            run.log_param("long", "x" * 6001)


def _refused(call: Callable[..., object], *args: Any, **kwargs: Any) -> bool:
    """Whether ``call(*args, **kwargs)`` raises InvalidInputError (other errors propagate)."""
    try:
        call(*args, **kwargs)
    except InvalidInputError:
        return True
    return False


def test_bad_keys_are_refused_everywhere(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        accepted = []
        for key in BAD_KEYS:
            bad = MetricPoint.model_construct(key=key, value=1.0, step=0, timestamp=1)
            refused = {
                "log_param": _refused(run.log_param, key, 1),
                "log_metric": _refused(run.log_metric, key, 1.0),
                "log_metrics": _refused(run.log_metrics, {key: 1.0}),
                "set_tag": _refused(run.set_tag, key, "v"),
                "log_metric_points": _refused(
                    platform.tracking.log_metric_points, run.id, [_point("ok", 1.0), bad]
                ),
            }
            accepted += [(call, key) for call, ok in refused.items() if not ok]
        assert accepted == []
    stored = platform.tracking.get_run(run.id)
    assert (stored.params, stored.tags, stored.metrics) == ({}, {}, {})


def test_good_keys_are_accepted(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        for key in GOOD_KEYS:
            run.log_param(key, 1)
            run.log_metric(key, 1.0)
            run.set_tag(key, "v")
    stored = platform.tracking.get_run(run.id)
    assert stored.params == dict.fromkeys(GOOD_KEYS, "1")
    assert stored.metrics == dict.fromkeys(GOOD_KEYS, 1.0)
    assert stored.tags == dict.fromkeys(GOOD_KEYS, "v")


# -- metrics ------------------------------------------------------------------------


def test_single_and_batched_metrics(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_metric("loss", 0.9, step=0)
        run.log_metric("loss", 0.5, step=1, timestamp=1_000)
        run.log_metrics({"loss": 0.3, "acc": 0.8}, step=2)
        run.log_metric("int", 3)
        run.log_metric("decimal", Decimal("0.25"))  # type: ignore[arg-type]
    history = platform.tracking.metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]
    assert history[1].timestamp == 1_000
    assert all(p.key == "loss" for p in history)
    stored = platform.tracking.get_run(run.id)
    assert stored.metrics == {"loss": 0.3, "acc": 0.8, "int": 3.0, "decimal": 0.25}
    assert platform.tracking.metric_history(run.id, "never") == []


def test_history_is_ordered_by_step_then_time(platform: Platform) -> None:
    run = platform.tracking.create_run("exp")
    platform.tracking.log_metric_points(
        run.id,
        [_point("m", 3.0, step=3, timestamp=5), _point("m", 1.0, step=1, timestamp=9)],
    )
    platform.tracking.log_metric_points(
        run.id,
        [_point("m", 2.0, step=2, timestamp=1), _point("m", 1.5, step=1, timestamp=10)],
    )
    history = platform.tracking.metric_history(run.id, "m")
    assert [(p.step, p.timestamp, p.value) for p in history] == [
        (1, 9, 1.0),
        (1, 10, 1.5),
        (2, 1, 2.0),
        (3, 5, 3.0),
    ]


def test_latest_metric_is_the_highest_step_even_out_of_order(platform: Platform) -> None:
    tracking = platform.tracking
    run = tracking.create_run("exp")
    tracking.log_metric_points(run.id, [_point("m", 10.0, step=10, timestamp=1)])
    tracking.log_metric_points(run.id, [_point("m", 5.0, step=5, timestamp=99)])  # older step
    assert tracking.get_run(run.id).metrics["m"] == 10.0
    # Same step: the later timestamp wins, whatever order the batches arrive in.
    tracking.log_metric_points(run.id, [_point("m", 11.0, step=10, timestamp=3)])
    tracking.log_metric_points(run.id, [_point("m", 12.0, step=10, timestamp=2)])
    assert tracking.get_run(run.id).metrics["m"] == 11.0
    # Within one batch too.
    tracking.log_metric_points(
        run.id,
        [
            _point("n", 3.0, step=3, timestamp=1),
            _point("n", 9.0, step=1, timestamp=5),
            _point("n", 4.0, step=3, timestamp=2),
            _point("n", 1.0, step=2, timestamp=9),
        ],
    )
    assert tracking.get_run(run.id).metrics["n"] == 4.0
    tracking.log_metric_points(run.id, [_point("n", 7.0, step=20, timestamp=0)])
    assert tracking.get_run(run.id).metrics == {"m": 11.0, "n": 7.0}


def test_latest_metric_through_the_buffer(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        for step in (3, 1, 2):
            run.log_metric("m", float(step), step=step)
            run.flush()
    assert platform.tracking.get_run(run.id).metrics == {"m": 3.0}


def test_negative_and_large_steps(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_metric("m", 1.0, step=-5)
        run.log_metric("m", 2.0, step=2**62)
    history = platform.tracking.metric_history(run.id, "m")
    assert [p.step for p in history] == [-5, 2**62]


def test_bad_steps_and_timestamps_are_refused(platform: Platform) -> None:
    log_points = platform.tracking.log_metric_points
    with platform.tracking.start_run("exp") as run:
        accepted: list[tuple[str, Any]] = []
        for step in BAD_STEPS:
            bad = MetricPoint.model_construct(key="m", value=1.0, step=step, timestamp=1)
            refused: tuple[bool, ...] = (
                _refused(run.log_metric, "m", 1.0, step=step),
                _refused(run.log_metrics, {"m": 1.0}, step=step),
                _refused(log_points, run.id, [bad]),
            )
            accepted += [] if all(refused) else [("step", step)]
        for ts in BAD_TIMESTAMPS[:-1]:  # None means "now" to log_metric
            bad = MetricPoint.model_construct(key="m", value=1.0, step=0, timestamp=ts)
            refused = (
                _refused(run.log_metric, "m", 1.0, timestamp=ts),
                _refused(log_points, run.id, [bad]),
            )
            accepted += [] if all(refused) else [("timestamp", ts)]
        assert accepted == []
    assert platform.tracking.get_run(run.id).metrics == {}


def test_explicit_timestamps_are_kept_even_zero(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_metric("m", 1.0, timestamp=0)
        run.log_metric("m", 2.0, step=1, timestamp=123)
    history = platform.tracking.metric_history(run.id, "m")
    assert [p.timestamp for p in history] == [0, 123]


def test_bad_metric_values_name_the_key(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        for value in BAD_VALUES:
            with pytest.raises(InvalidInputError, match="'val_auc'") as info:
                run.log_metric("val_auc", value)
            assert info.value.field == "val_auc"
            with pytest.raises(InvalidInputError, match="'val_auc'"):
                run.log_metrics({"ok": 1.0, "val_auc": value})
            if isinstance(value, float):  # what a MetricPoint can hold
                with pytest.raises(InvalidInputError, match="'val_auc'"):
                    platform.tracking.log_metric_points(
                        run.id, [_point("ok", 1.0), _point("val_auc", value)]
                    )
        run.log_metric("after", 1.0)  # the run still works
    # Nothing of a refused batch is written.
    assert platform.tracking.get_run(run.id).metrics == {"after": 1.0}


def test_empty_batch_is_a_no_op(platform: Platform) -> None:
    run = platform.tracking.create_run("exp")
    platform.tracking.log_metric_points(run.id, [])
    with platform.tracking.start_run("exp") as active:
        active.log_metrics({})
    assert platform.tracking.get_run(run.id).metrics == {}


def test_many_distinct_keys_in_one_batch(platform: Platform) -> None:
    run = platform.tracking.create_run("exp")
    points = [_point(f"k{i}", float(i), step=1) for i in range(14_000)]
    platform.tracking.log_metric_points(run.id, points)
    metrics = platform.tracking.get_run(run.id).metrics
    assert len(metrics) == 14_000
    assert metrics["k13999"] == 13999.0


def test_metrics_logged_after_end_are_not_lost(platform: Platform) -> None:
    run = platform.tracking.start_run("exp")
    run.end()
    run.log_metric("late", 1.0)  # no thread is left to write it, so it is written at once
    assert platform.tracking.get_run(run.id).metrics == {"late": 1.0}


# -- tags ---------------------------------------------------------------------------


def test_tags_can_change(platform: Platform) -> None:
    with platform.tracking.start_run("exp", tags={"stage": "dev"}) as run:
        run.set_tag("stage", "prod")
        run.set_tags({"owner": "ana", "n": 2})
        run.set_tags({"owner": "bo"})
        run.set_tags({})
    assert platform.tracking.get_run(run.id).tags == {"stage": "prod", "owner": "bo", "n": "2"}


def test_bad_tags_at_run_creation_create_nothing(platform: Platform) -> None:
    with pytest.raises(InvalidInputError):
        platform.tracking.create_run("fresh", tags={"bad key!": "v"})
    assert platform.tracking.list_experiments() == []
    assert platform.tracking.search_runs().runs == []


def test_too_long_tag_value_is_refused(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run, pytest.raises(InvalidInputError):
        run.set_tag("t", "x" * 6001)


# -- inputs -------------------------------------------------------------------------


def test_log_inputs_records_refs_once(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        run.log_input("raw.customers@3")
        run.log_input("raw.customers@3")
        platform.tracking.log_inputs(run.id, ["raw.orders@1", "raw.orders@1", "raw.customers@3"])
        run.log_input("raw.customers@4")
    assert platform.tracking.get_run(run.id).inputs == [
        "raw.customers@3",
        "raw.customers@4",
        "raw.orders@1",
    ]


def test_bad_input_refs_are_refused(platform: Platform) -> None:
    with platform.tracking.start_run("exp") as run:
        for ref in BAD_REFS:
            with pytest.raises(InvalidInputError):
                platform.tracking.log_inputs(run.id, ["ok@1", ref])
            with pytest.raises(InvalidInputError):
                run.log_input(ref)
        with pytest.raises(InvalidInputError, match="list"):
            platform.tracking.log_inputs(run.id, "raw.a@1")
    assert platform.tracking.get_run(run.id).inputs == []
