"""Prediction drift compares like with like: live predictions against the model's own
predictions on its reference rows, computed when the reference is made or given by the
user, embedded and over HTTP. A model that cannot predict keeps its feature reference and
says why prediction drift falls back to the window before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

import podium
from podium.access.roles import Role
from podium.errors import InvalidInputError
from podium.monitoring.tables import ReferenceRow
from podium.platform import Installation, Platform
from tests.conftest import LiveServer
from tests.monitoring.traffic import Churn, now, register_churn, traffic, training_frame

WINDOW = timedelta(minutes=15)


@pytest.fixture
def churn(platform: Platform) -> Churn:
    return register_churn(platform)


def _prediction_categories(profile: dict[str, object]) -> dict[str, int]:
    (column,) = profile["columns"]  # type: ignore[misc]
    assert column["name"] == "prediction"
    return {str(value): int(count) for value, count in column["categories"]}


def test_the_reference_holds_the_models_predictions_on_its_rows(
    churn: Churn, platform: Platform
) -> None:
    reference = platform.monitoring.reference("churn", 1)
    assert reference.predictions_source == "predicted by churn/1 on 600 reference rows"
    assert reference.predictions is not None and reference.predictions["rows"] == 600
    labels, _ = churn.predict(training_frame())
    expected = {"0.0": int((labels == 0).sum()), "1.0": int((labels == 1).sum())}
    assert _prediction_categories(reference.predictions) == expected
    assert "prediction" not in {c["name"] for c in reference.profile["columns"]}


def test_prediction_drift_needs_no_window_before(churn: Churn, platform: Platform) -> None:
    traffic(churn, 300, at=now(), seed=5)  # the first traffic ever: no window before it
    calm = platform.monitoring.drift("churn", window=WINDOW).prediction
    assert calm is not None and calm.score is not None, calm
    assert calm.status == "ok" and calm.reference_rows == 600

    later = now() + timedelta(hours=1)
    traffic(churn, 300, at=later, shift=2.0, seed=6)
    shifted = platform.monitoring.drift("churn", window=(later - WINDOW, later)).prediction
    assert shifted is not None and shifted.status == "drift", shifted


def test_predictions_given_with_the_reference(churn: Churn, platform: Platform) -> None:
    frame = training_frame(200, seed=2)
    frame["scored"] = 1  # as if the model had said 1 to everyone
    info = platform.monitoring.set_reference("churn", 1, frame, predictions="scored")
    assert info.predictions_source == "column 'scored' of the reference"
    assert "scored" not in {c["name"] for c in info.profile["columns"]}
    assert _prediction_categories(info.predictions or {}) == {"1.0": 200}
    traffic(churn, 200, at=now())  # the real model says 0 and 1
    drift = platform.monitoring.drift("churn", window=WINDOW)
    assert drift.prediction is not None and drift.prediction.status == "drift"

    values = [0] * 200
    info = platform.monitoring.set_reference(
        "churn", 1, frame.drop(columns="scored"), predictions=values
    )
    assert info.predictions_source == "given with the reference (200 values)"
    platform.data.write("raw.scored", frame)
    info = platform.monitoring.set_reference("churn", 1, "raw.scored", predictions="scored")
    assert info.source == "raw.scored" and _prediction_categories(info.predictions or {}) == {
        "1.0": 200
    }

    with pytest.raises(InvalidInputError) as bad:
        platform.monitoring.set_reference("churn", 1, frame, predictions="missing")
    assert bad.value.field == "predictions"
    with pytest.raises(InvalidInputError) as short:
        platform.monitoring.set_reference("churn", 1, frame, predictions=[1, 0])
    assert short.value.field == "predictions" and "200" in str(short.value)


def test_a_model_that_cannot_predict_falls_back_to_the_window_before(
    churn: Churn, platform: Platform
) -> None:
    rows = training_frame(300, seed=3)[["tenure", "charges"]]  # no 'plan': predict fails
    info = platform.monitoring.set_reference("churn", 1, rows)
    assert info.predictions is None
    assert info.predictions_source.startswith("none: churn/1 could not predict")
    assert "plan" in info.predictions_source

    traffic(churn, 100, at=now())
    alone = platform.monitoring.drift("churn", window=WINDOW).prediction
    assert alone is not None and alone.status == "n/a"
    assert "the window before logged none" in alone.reason
    traffic(churn, 100, at=now() - WINDOW)
    compared = platform.monitoring.drift("churn", window=WINDOW).prediction
    assert compared is not None and compared.score is not None
    assert "compared with the window before" in compared.reason


def test_a_reference_stored_without_predictions_gets_them(
    churn: Churn, platform: Platform, installation: Installation
) -> None:
    assert platform.monitoring.reference("churn", 1).predictions is not None
    with installation.db.write() as session:  # as a reference made before they were kept
        session.execute(update(ReferenceRow).values(predictions=None))
    again = platform.monitoring.reference("churn", 1)
    assert again.predictions_source == "predicted by churn/1 on 600 reference rows"


def test_reference_predictions_over_http(
    live_server: LiveServer, churn: Churn, platform: Platform, project_name: str
) -> None:
    frame = training_frame(100, seed=4)
    frame["scored"] = 0
    platform.data.write("raw.scored", frame)
    key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, project=project_name) as remote:
        info = remote.monitoring.set_reference("churn", 1, "raw.scored", predictions="scored")
        assert info.predictions_source == "column 'scored' of the reference"
        default = remote.monitoring.set_reference("churn", 1, "raw.scored")
        assert default.predictions_source == "predicted by churn/1 on 100 reference rows"
        with pytest.raises(InvalidInputError) as refused:
            remote.monitoring.set_reference("churn", 1, "raw.scored", predictions=[0, 1])  # type: ignore[arg-type]
        assert refused.value.field == "predictions"
        with pytest.raises(InvalidInputError):
            remote.monitoring.set_reference("churn", 1, "raw.scored", predictions="nope")
