"""A model that cannot be loaded where it is served is a failing link, never a 500.

The model here is a pyfunc whose class lives in a module written for the test: it is
importable when the model is registered, then removed, as when a server runs where the
model's code is not installed.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.replica_server import create_serving_app
from podium.errors import InvalidInputError
from podium.platform import Installation, Platform
from podium.registry.signature import infer_signature
from podium.replica import open_replica
from tests.conftest import loopback_server
from tests.serving.conftest import FEATURES, churn_frame

NO_CACHE = {"enabled": False}
PROBLEM = "application/problem+json"


@dataclass
class Vanishing:
    """A pyfunc model class in a module of its own, which :meth:`vanish` makes unimportable."""

    platform: Platform
    folder: Path
    module: str

    def register(self, name: str) -> int:
        cls = importlib.import_module(self.module).VanishingModel
        signature = infer_signature(churn_frame(5)[0])
        return self.platform.registry.register(name, cls(), signature=signature).version

    def vanish(self) -> None:
        (self.folder / f"{self.module}.py").unlink()
        sys.modules.pop(self.module, None)
        importlib.invalidate_caches()


@pytest.fixture
def vanishing(churn_models: Platform, tmp_path: Path) -> Iterator[Vanishing]:
    module = f"vanishing_{uuid.uuid4().hex[:10]}"
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / f"{module}.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            class VanishingModel:
                def predict(self, rows):
                    return np.ones(len(rows))
            """
        )
    )
    sys.path.insert(0, str(folder))
    try:
        yield Vanishing(churn_models, folder, module)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)


@pytest.fixture
def elsewhere(installation: Installation) -> Iterator[Installation]:
    """Another process's view of the same installation: nothing loaded yet."""
    fresh = Installation(installation.settings, migrate=False)
    yield fresh
    fresh.close()


def _client(installation: Installation, project: str) -> tuple[dict[str, str], object]:
    _, secret = installation.keys.create(project, Role.READER, name="reader")
    return {"authorization": f"Bearer {secret}"}, create_app(installation)


def test_an_unloadable_primary_is_answered_by_its_fallback_and_counted_by_its_breaker(
    churn_models: Platform, vanishing: Vanishing, elsewhere: Installation
) -> None:
    version = vanishing.register("gone")
    churn_models.deployments.create(
        "gone", model=f"gone/{version}", fallback={"model": "churn/1"}, cache=NO_CACHE
    )
    vanishing.vanish()
    headers, app = _client(elsewhere, churn_models.project)
    body = {"model_id": "gone", "features": FEATURES}
    with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        answers = [http.post("/v1/predictions", json=body, headers=headers) for _ in range(3)]
        described = http.get("/v1/deployments/gone", headers=headers)
    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
    assert {a.json()["served_by"] for a in answers} == {"fallback"}
    assert described.status_code == 200, described.text
    status = described.json()["status"]
    assert status["load_errors"][f"gone/{version}"].startswith("ModuleNotFoundError")
    assert status["breakers"][f"{version}/primary"]["failures"] == 3


def test_with_no_fallback_an_unloadable_model_is_a_503_with_a_remedy(
    churn_models: Platform, vanishing: Vanishing, elsewhere: Installation
) -> None:
    version = vanishing.register("gone")
    churn_models.deployments.create("gone", model=f"gone/{version}", cache=NO_CACHE)
    vanishing.vanish()
    headers, app = _client(elsewhere, churn_models.project)
    with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        answer = http.post(
            "/v1/predictions", json={"model_id": "gone", "features": FEATURES}, headers=headers
        )
        described = http.get("/v1/deployments/gone", headers=headers)
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert f"model gone/{version} could not be loaded: ModuleNotFoundError" in problem["detail"]
    assert "importable" in problem["remedy"]
    assert described.status_code == 200, described.text
    assert list(described.json()["status"]["load_errors"]) == [f"gone/{version}"]


def test_a_replica_starts_and_answers_with_the_fallback(
    churn_models: Platform, vanishing: Vanishing, installation: Installation
) -> None:
    version = vanishing.register("gone")
    churn_models.deployments.create(
        "gone", model=f"gone/{version}", fallback={"default": {"prediction": 0}}, cache=NO_CACHE
    )
    vanishing.vanish()
    _, secret = installation.keys.create(churn_models.project, Role.READER, name="reader")
    replica = open_replica(installation.settings, churn_models.project, "gone")
    try:
        app = create_serving_app(
            replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
        )
        with loopback_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
            answer = http.post(
                "/v1/predictions",
                json={"model_id": "gone", "features": FEATURES},
                headers={"authorization": f"Bearer {secret}"},
            )
    finally:
        replica.close()
    assert answer.status_code == 200, answer.text
    assert (answer.json()["served_by"], answer.json()["prediction"]) == ("default", 0)


def test_an_unloadable_fallback_model_is_skipped_for_the_next_link(
    churn_models: Platform, vanishing: Vanishing, elsewhere: Installation
) -> None:
    version = vanishing.register("gone")
    churn_models.deployments.create(
        "churn",
        model="churn/1",
        fallback={"model": f"gone/{version}", "default": {"prediction": 0}},
        cache=NO_CACHE,
    )
    vanishing.vanish()
    platform = elsewhere.platform(churn_models.project, user="local:test")
    assert platform.predict("churn", features=FEATURES)["served_by"] == "primary"
    status = elsewhere.runtime(churn_models.project).describe("churn")
    assert list(status["load_errors"]) == [f"gone/{version}"]


def test_create_and_update_refuse_a_model_that_cannot_load(
    churn_models: Platform, vanishing: Vanishing
) -> None:
    version = vanishing.register("gone")
    vanishing.vanish()
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.create("gone", model=f"gone/{version}")
    assert caught.value.code == "model-not-loadable"
    assert caught.value.field == "model"
    assert "ModuleNotFoundError" in caught.value.message and caught.value.remedy
    assert [d.name for d in churn_models.deployments.list()] == []
    churn_models.deployments.create("churn", model="churn/1")
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.update("churn", model=f"gone/{version}")
    assert caught.value.field == "model"
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.update("churn", fallback={"model": f"gone/{version}"})
    assert caught.value.field == "fallback.model"
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.update("churn", fallback={"rules": "tests.serving.faulty:nope"})
    assert caught.value.field == "fallback.rules"
    assert churn_models.deployments.get("churn").spec.model == "churn/1"


def test_creating_over_the_api_refuses_it_as_problem_json(
    churn_models: Platform, vanishing: Vanishing, installation: Installation
) -> None:
    version = vanishing.register("gone")
    vanishing.vanish()
    _, secret = installation.keys.create(churn_models.project, Role.WRITER, name="writer")
    with (
        loopback_server(create_app(installation)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        answer = http.post(
            "/v1/deployments",
            json={"name": "gone", "model": f"gone/{version}"},
            headers={"authorization": f"Bearer {secret}"},
        )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] == "model-not-loadable"
