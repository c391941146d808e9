"""The torch flavor: TorchScript round trips embedded and over HTTP, serves through
``/v1/predictions``, and a pickle disguised as a torch model is refused without running."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import podium
from podium.access.roles import Role
from podium.errors import InvalidInputError
from podium.platform import Platform
from podium.registry.flavors import get_flavor
from tests.api.assertions import assert_problem
from tests.conftest import LiveServer

if os.environ.get("CI") == "true":
    import torch  # .ci/run installs it: the torch flavor's tests must not skip in CI
else:
    torch = pytest.importorskip("torch")

from podium.registry.flavors.torch import TorchModel

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
COLUMNS = ["tenure", "spend", "calls"]


class MarkerPayload:
    """A pickle whose loading creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


class Lambdas(torch.nn.Module):  # type: ignore[misc]
    """A module TorchScript cannot compile (a lambda attribute), but can trace."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.activation = lambda t: t.tanh()

    def forward(self, x: Any) -> Any:
        return self.activation(self.linear(x))


def frame(rows: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(rows, 3)), columns=COLUMNS)


def net(outputs: int) -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, outputs)
    ).eval()


def forward(module: Any, rows: pd.DataFrame) -> np.ndarray[Any, Any]:
    with torch.no_grad():
        return np.asarray(module(torch.tensor(rows.to_numpy(np.float32))).numpy())


def softmax(logits: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


@SQLITE
def test_a_classifier_round_trips_embedded_with_softmax_probabilities(
    platform: Platform,
) -> None:
    source, rows = net(3), frame()
    version = platform.registry.register(
        "net", TorchModel(source, classes=["low", "mid", "high"]), input_example=rows[:5]
    )
    assert version.flavor == "torch"
    assert [c["name"] for c in version.signature["inputs"]] == COLUMNS

    loaded = platform.registry.load("net/1")

    expected = softmax(forward(source, rows).astype(np.float64))
    np.testing.assert_allclose(loaded.predict_proba(rows), expected, rtol=1e-5)
    labels = np.array(["low", "mid", "high"])[expected.argmax(axis=1)]
    assert loaded.predict(rows).tolist() == labels.tolist()
    assert loaded.classes == ["low", "mid", "high"]


@SQLITE
def test_a_regressor_and_a_traced_module_round_trip(platform: Platform) -> None:
    rows = frame()
    source = net(1)
    platform.registry.register("reg", source, input_example=rows[:5])
    loaded = platform.registry.load("reg/1")
    np.testing.assert_allclose(
        loaded.predict(rows), forward(source, rows)[:, 0], rtol=1e-5, atol=1e-6
    )
    assert not loaded.supports_predict_proba
    with pytest.raises(InvalidInputError, match=r"\(TorchModel\) has no predict_proba"):
        loaded.predict_proba(rows)

    odd = Lambdas().eval()
    with pytest.raises(InvalidInputError, match=r"torch\.jit\.script cannot compile Lambdas") as e:
        platform.registry.register("odd", odd, input_example=rows[:5])
    assert e.value.remedy is not None and "example=" in e.value.remedy
    platform.registry.register("odd", TorchModel(odd, example=rows[:5]), input_example=rows[:5])
    np.testing.assert_allclose(
        platform.registry.load("odd/1").predict(rows), forward(odd, rows), rtol=1e-5, atol=1e-6
    )


def test_a_pickle_or_checkpoint_disguised_as_torch_is_refused_unrun(tmp_path: Path) -> None:
    flavor = get_flavor("torch")
    marker = tmp_path / "pwned"
    checkpoint = io.BytesIO()
    torch.save({"weights": MarkerPayload(marker)}, checkpoint)
    genuine = flavor.save(net(2))
    tampered = io.BytesIO()  # a real archive whose data.pkl is the payload
    with zipfile.ZipFile(io.BytesIO(genuine)) as source, zipfile.ZipFile(tampered, "w") as out:
        for name in source.namelist():
            payload = pickle.dumps(MarkerPayload(marker), protocol=2)
            out.writestr(name, payload if name.endswith("/data.pkl") else source.read(name))

    for data in (pickle.dumps(MarkerPayload(marker)), checkpoint.getvalue(), tampered.getvalue()):
        with pytest.raises(InvalidInputError) as caught:
            flavor.load(data)
        assert caught.value.code == "not-a-model-file"
        assert "never loads pickles" in (caught.value.remedy or "")
    assert not marker.exists()


@SQLITE
def test_uploaded_over_http_it_loads_and_serves_like_the_source(
    live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    source, rows = net(2), frame(6)
    expected = softmax(forward(source, rows).astype(np.float64))
    writer = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=writer, home=tmp_path / "w") as remote:
        version = remote.registry.register(
            "net", TorchModel(source, classes=[0, 1]), input_example=rows[:5]
        )
        assert version.flavor == "torch"
        loaded = remote.registry.load("net/1")
        np.testing.assert_allclose(loaded.predict_proba(rows), expected, rtol=1e-5)
        assert loaded.predict(rows).tolist() == expected.argmax(axis=1).tolist()
        remote.deployments.create("net", model="net/1")

    reader = {"authorization": f"Bearer {live_server.key(project_name, Role.READER)}"}
    instances = [dict(zip(COLUMNS, map(float, row), strict=True)) for row in rows.to_numpy()]
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        answer = http.post(
            "/v1/predictions", json={"model_id": "net", "instances": instances}, headers=reader
        )
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        assert [p["prediction"] for p in predictions] == expected.argmax(axis=1).tolist()
        assert [p["probability"] for p in predictions] == pytest.approx(expected[:, 1], rel=1e-5)

        marker = tmp_path / "pwned"
        refused = http.post(
            "/v1/models/net/versions",
            params={
                "flavor": "torch",
                "signature": json.dumps({"inputs": [{"name": "x", "type": "float64"}]}),
            },
            content=pickle.dumps(MarkerPayload(marker)),
            headers={"authorization": f"Bearer {writer}"},
        )
    body = assert_problem(refused, 400, code="not-a-model-file")
    assert body["field"] == "model" and "never loads pickles" in body["remedy"]
    assert not marker.exists()
