"""XGBoost and LightGBM versions through every door: uploaded and loaded over HTTP,
served by ``/v1/predictions`` and OIP ``/v2``, scored by batch and by a Redis stream, and
converted to ONNX by ``optimize``; a pickle upload claiming either flavor is refused."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import redis

import podium
from podium.access.roles import Role
from podium.config import Settings
from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.registry.optimization import optimize_version
from podium.replica import open_replica
from podium.streaming.consumer import StreamConsumer
from podium.streaming.predictor import ConsumerOptions, open_stream_predictor
from podium.streaming.urls import parse_stream_url
from tests.api.assertions import assert_problem
from tests.conftest import LiveServer
from tests.streaming.conftest import REDIS_ENV, add_redis_events, redis_outputs, server_url

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FLAVORS = ["xgboost", "lightgbm"]
COLUMNS = ["tenure", "spend", "calls"]


class MarkerPayload:
    """A pickle whose loading creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def churn(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.uniform(0, 72, rows),
            "spend": rng.uniform(10, 120, rows),
            "calls": rng.integers(0, 10, rows),
        }
    )
    noise = rng.normal(0, 0.3, rows)
    labels = frame["spend"] / 120 - frame["tenure"] / 72 + frame["calls"] / 20 + noise > 0
    return frame, labels.astype(np.int64).to_numpy()


def fit(flavor: str, frame: pd.DataFrame, labels: np.ndarray[Any, Any]) -> Any:
    if flavor == "xgboost":
        return xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(frame, labels)
    return lgb.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1, n_jobs=1).fit(
        frame, labels
    )


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"tenure": float(r.tenure), "spend": float(r.spend), "calls": int(r.calls)}
        for r in frame.itertuples()
    ]


@SQLITE
@pytest.mark.parametrize("flavor", FLAVORS)
def test_uploaded_over_http_it_loads_and_serves_like_the_source(
    flavor: str, live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    frame, labels = churn(300)
    model = fit(flavor, frame, labels)
    sample = frame.iloc[:8]
    writer_key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=writer_key, home=tmp_path / "w") as remote:
        version = remote.registry.register("boosted", model, input_example=frame[:5])
        assert version.flavor == flavor
        loaded = remote.registry.load("boosted/1")
        np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
        np.testing.assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame))
        remote.deployments.create("boosted", model="boosted/1")

    reader = {"authorization": f"Bearer {live_server.key(project_name, Role.READER)}"}
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        answer = http.post(
            "/v1/predictions",
            json={"model_id": "boosted", "instances": rows_of(sample)},
            headers=reader,
        )
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert [p["prediction"] for p in predictions] == model.predict(sample).tolist()
        expected = model.predict_proba(sample)[:, 1]
        assert [p["probability"] for p in predictions] == pytest.approx(expected, rel=1e-6)
        assert {p["model_version"] for p in predictions} == {"1"}

        one = http.post(
            "/v1/predictions",
            json={"model_id": "boosted", "features": rows_of(sample)[0]},
            headers=reader,
        )
        assert one.status_code == 200, one.text
        assert one.json()["prediction"] == model.predict(sample.iloc[:1])[0]

        inputs = [
            {
                "name": column,
                "shape": [len(sample)],
                "datatype": "INT64" if column == "calls" else "FP64",
                "data": sample[column].tolist(),
            }
            for column in COLUMNS
        ]
        oip = http.post("/v2/models/boosted/infer", json={"inputs": inputs}, headers=reader)
        assert oip.status_code == 200, oip.text
        outputs = {o["name"]: o["data"] for o in oip.json()["outputs"]}
        assert outputs["predict"] == model.predict(sample).tolist()
        assert outputs["probability"] == pytest.approx(expected, rel=1e-6)


@SQLITE
@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_pickle_uploaded_as_either_flavor_is_refused_unrun(
    flavor: str, live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    key = live_server.key(project_name, Role.WRITER)
    signature = {"inputs": [{"name": "x", "type": "float64"}]}
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        answer = http.post(
            "/v1/models/boosted/versions",
            params={"flavor": flavor, "signature": json.dumps(signature)},
            content=pickle.dumps(MarkerPayload(marker)),
            headers={"authorization": f"Bearer {key}"},
        )
    body = assert_problem(answer, 400, code="not-a-model-file")
    assert body["field"] == "model" and "never loads pickles" in body["remedy"]
    assert not marker.exists()


@SQLITE
@pytest.mark.parametrize("flavor", FLAVORS)
def test_batch_scores_like_the_source(flavor: str, platform: Platform) -> None:
    frame, labels = churn(1_500, seed=1)
    platform.data.write("curated.customers", frame.assign(customer_id=np.arange(len(frame))))
    model = fit(flavor, frame, labels)
    version = platform.registry.register("boosted", model, input_example=frame[:5])
    job = platform.batch.predict(
        version.ref, source="curated.customers", output="scores.boosted", key="customer_id"
    )
    assert job.status == "succeeded", job.error
    out = platform.data.read("scores.boosted").to_pandas().sort_values("customer_id")
    np.testing.assert_array_equal(out["prediction"].to_numpy(), model.predict(frame))
    np.testing.assert_allclose(out["probability"], model.predict_proba(frame)[:, 1], rtol=1e-6)


@SQLITE
@pytest.mark.parametrize("flavor", FLAVORS)
def test_optimize_converts_it_to_onnx_that_agrees(flavor: str, platform: Platform) -> None:
    pytest.importorskip("onnxmltools")
    frame, labels = churn(1_000, seed=2)
    model = fit(flavor, frame.iloc[:700], labels[:700])
    platform.registry.register("boosted", model, input_example=frame[:5])
    optimized, comparison = optimize_version(
        platform.registry, "boosted/1", sample=frame.iloc[700:], labels=labels[700:]
    )
    assert optimized.flavor == "onnx" and optimized.derived_from == "boosted/1"
    assert optimized.tags == {"optimized": "onnx"}
    assert comparison.agreement >= 0.99
    onnx = platform.registry.load(optimized.ref)
    assert onnx.classes == [0, 1]
    held_out = frame.iloc[700:]
    assert np.mean(onnx.predict(held_out) == model.predict(held_out)) >= 0.99
    np.testing.assert_allclose(
        onnx.predict_proba(held_out), model.predict_proba(held_out), atol=1e-5
    )


@SQLITE
def test_optimize_refuses_a_regressor_booster_or_quantization_clearly(platform: Platform) -> None:
    pytest.importorskip("onnxmltools")
    frame, labels = churn(400, seed=3)
    booster = xgb.train(
        {"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(frame, label=labels), 5
    )
    platform.registry.register("raw", booster, input_example=frame[:5])
    with pytest.raises(InvalidInputError, match="only xgboost models saved from the scikit"):
        optimize_version(platform.registry, "raw/1", sample=frame)
    platform.registry.register("boosted", fit("lightgbm", frame, labels), input_example=frame[:5])
    with pytest.raises(InvalidInputError, match="int8 quantization applies to scikit-learn"):
        optimize_version(platform.registry, "boosted/1", sample=frame, quantize="int8")
    regressor = lgb.LGBMRegressor(n_estimators=10, verbose=-1, n_jobs=1).fit(frame, frame["spend"])
    platform.registry.register("spend", regressor, input_example=frame[:5])
    optimized, comparison = optimize_version(platform.registry, "spend/1", sample=frame)
    assert comparison.agreement >= 0.99 and optimized.flavor == "onnx"


@pytest.fixture
def redis_url() -> str:
    return server_url(REDIS_ENV)


@pytest.fixture
def stream_key(redis_url: str) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    name = f"t-boosted-{np.random.default_rng().integers(1 << 40):x}"
    yield client, name
    keys = list(client.scan_iter(match=f"{name}*"))
    if keys:
        client.unlink(*keys)
    client.close()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_redis_stream_scores_like_the_source(
    flavor: str, tmp_path: Path, redis_url: str, stream_key: tuple[redis.Redis, str]
) -> None:
    client, name = stream_key
    installation = Installation(Settings(home=tmp_path / "home", project="shop"))
    try:
        platform = installation.platform("shop", user="local:test")
        frame, labels = churn(300, seed=4)
        model = fit(flavor, frame, labels)
        platform.registry.register("boosted", model, input_example=frame[:5])
        platform.deployments.create("boosted", model="boosted/1", cache={"enabled": False})
        sample = frame.iloc[:50]
        events = [
            {"id": f"e{i}", "features": json.dumps(row)} for i, row in enumerate(rows_of(sample))
        ]
        add_redis_events(client, name, events)
        replica = open_replica(installation.settings, "shop", "boosted")
        try:
            asyncio.run(_drain(replica.runtime, redis_url, name, len(events)))
        finally:
            replica.close()
    finally:
        installation.close()
    outputs = {o["id"]: json.loads(o["result"]) for o in redis_outputs(client, f"{name}.out")}
    assert len(outputs) == len(events)
    expected = model.predict(sample)
    assert [outputs[f"e{i}"]["prediction"] for i in range(len(sample))] == expected.tolist()


async def _drain(runtime: Any, redis_url: str, name: str, total: int) -> None:
    joint = "&" if "?" in redis_url else "?"
    with ThreadPoolExecutor(2) as executor:
        consumer: StreamConsumer = await open_stream_predictor(
            runtime,
            "boosted",
            source=parse_stream_url(f"{redis_url}{joint}stream={name}"),
            output=parse_stream_url(f"{redis_url}{joint}stream={name}.out"),
            dead_letter=None,
            options=ConsumerOptions(group="g", consumer="c1", batch_size=100),
            executor=executor,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while consumer.metrics.scored + consumer.metrics.dead < total:
            assert loop.time() < deadline, "the consumer did not get through the stream"
            await consumer.step()
        assert consumer.metrics.dead == 0
        await consumer.close()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_the_runtime_answers_boosted_trees_on_its_array_fast_path(flavor: str) -> None:
    from podium.registry.flavors import PodiumModel, get_flavor
    from podium.registry.signature import infer_signature
    from podium.serving.requests.loaded import LoadedModel

    frame, labels = churn(200)
    model = fit(flavor, frame, labels)
    wrapped = PodiumModel.from_bytes(
        get_flavor(flavor).save(model),
        flavor=flavor,
        signature=infer_signature(frame[:5]),
        classes=list(model.classes_),
    )
    loaded = LoadedModel(wrapped, name="boosted", version=1)
    assert loaded.fast
    outputs = loaded.predict(rows_of(frame.iloc[:20]))
    assert [o["prediction"] for o in outputs] == model.predict(frame.iloc[:20]).tolist()
    expected = model.predict_proba(frame.iloc[:20])[:, 1]
    assert [o["probability"] for o in outputs] == pytest.approx(expected, rel=1e-6)
