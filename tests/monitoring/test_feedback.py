"""Feedback labels: checked as a whole against the inference log, then one append."""

from __future__ import annotations

from typing import Any

import pytest

from podium.access.roles import Role
from podium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from podium.platform import Installation, Platform
from tests.monitoring.traffic import Churn, now, register_churn, traffic

FEEDBACK = "monitoring.feedback"


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def _labels_written(platform: Platform) -> int:
    if FEEDBACK not in platform.data.tables():
        return 0
    return int(platform.data.sql(f"SELECT count(*) AS n FROM {FEEDBACK}").column("n")[0].as_py())


def test_a_label_is_stored_as_json_with_its_request(churn: Churn, platform: Platform) -> None:
    (request_id, prediction), *_ = traffic(churn, 3, at=now())
    receipt = platform.monitoring.feedback(request_id, prediction)
    assert receipt.recorded == 1 and receipt.request_ids == [request_id]
    stored = platform.data.read(FEEDBACK).to_pylist()
    assert [(r["request_id"], r["label"]) for r in stored] == [(request_id, str(prediction))]
    assert stored[0]["ts"].tzinfo is not None


def test_an_unknown_request_id_is_not_found_and_nothing_is_written(
    churn: Churn, platform: Platform
) -> None:
    traffic(churn, 3, at=now())
    with pytest.raises(NotFoundError) as missing:
        platform.monitoring.feedback("no-such-request", 1)
    assert "no-such-request" in missing.value.message
    assert missing.value.field == "request_id"
    assert _labels_written(platform) == 0


def test_feedback_before_any_prediction_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFoundError):
        platform.monitoring.feedback("abc", 1)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("churned", "must be a number"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (None, "number or text"),
        ([1], "number or text"),
        ("", "1 to 256"),
    ],
)
def test_labels_of_the_wrong_type_are_refused(
    churn: Churn, platform: Platform, label: Any, message: str
) -> None:
    (request_id, _), *_ = traffic(churn, 2, at=now())
    with pytest.raises(InvalidInputError) as bad:
        platform.monitoring.feedback(request_id, label)
    assert message in bad.value.message
    assert bad.value.field == "label"
    assert _labels_written(platform) == 0


def test_one_bad_label_in_a_batch_writes_none(churn: Churn, platform: Platform) -> None:
    sent = traffic(churn, 5, at=now())
    labels: list[tuple[str, Any]] = [(rid, pred) for rid, pred in sent]
    labels.append(("unknown-id", 1))
    with pytest.raises(NotFoundError) as missing:
        platform.monitoring.feedback_many(labels)
    assert missing.value.field == "labels[5].request_id"
    labels[-1] = (sent[0][0], "yes")
    with pytest.raises(InvalidInputError) as bad:
        platform.monitoring.feedback_many(labels)
    assert bad.value.field == "labels[5].label"
    assert _labels_written(platform) == 0

    with pytest.raises(InvalidInputError):
        platform.monitoring.feedback_many([])
    receipt = platform.monitoring.feedback_many(dict(sent))
    assert receipt.recorded == 5 and _labels_written(platform) == 5


def test_readers_cannot_record_feedback(
    churn: Churn, installation: Installation, project_name: str
) -> None:
    (request_id, prediction), *_ = traffic(churn, 1, at=now())
    reader = installation.platform(project_name, user="local:reader", role=Role.READER)
    with pytest.raises(PermissionDeniedError):
        reader.monitoring.feedback(request_id, prediction)
