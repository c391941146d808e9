"""Deployment aliases (another ``model_id`` for a deployment) and ``status`` everywhere.

An alias answers predictions and reads as the deployment's name does, over the platform
server and a ``podium serve`` replica; names and aliases are one namespace per project.
The embedded service's ``status`` is the body ``GET /v1/deployments/{name}`` returns.
"""

from __future__ import annotations

import httpx
import pytest

import podium
from podium.access.roles import Role
from podium.api.replica_server import create_serving_app
from podium.errors import ConflictError, InvalidInputError
from podium.platform import Installation, Platform
from podium.replica import open_replica
from tests.conftest import LiveServer, loopback_server
from tests.serving.conftest import FEATURES


def test_an_alias_predicts_and_reads_as_the_name(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    created = deployments.create("churn", model="churn/1", aliases=["churn-v2"])
    assert created.spec.aliases == ["churn-v2"]
    by_alias = churn_models.predict("churn-v2", features=FEATURES)
    assert by_alias["model_version"] == "1"
    assert by_alias["prediction"] == churn_models.predict("churn", features=FEATURES)["prediction"]
    assert deployments.get("churn-v2") == deployments.get("churn")
    assert deployments.history("churn-v2") == deployments.history("churn")
    assert deployments.status("churn-v2")["status"]["name"] == "churn"


def test_names_and_aliases_are_one_namespace(churn_models: Platform) -> None:
    deployments = churn_models.deployments
    deployments.create("churn", model="churn/1", aliases=["churn-v2"])
    with pytest.raises(ConflictError) as taken:
        deployments.create("other", model="churn/2", aliases=["churn"])
    assert taken.value.field == "aliases"
    with pytest.raises(ConflictError) as taken:
        deployments.create("churn-v2", model="churn/2")
    assert taken.value.field == "name"
    deployments.create("other", model="churn/2")
    with pytest.raises(ConflictError):
        deployments.update("other", aliases=["churn-v2"])
    moved = deployments.update("churn", aliases=["churn-next"])
    assert moved.spec.aliases == ["churn-next"]
    assert deployments.update("other", aliases=["churn-v2"]).spec.aliases == ["churn-v2"]


@pytest.mark.parametrize("aliases", [["Not A Name"], ["churn"], ["a", "a"]])
def test_bad_aliases_name_the_field(churn_models: Platform, aliases: list[str]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        churn_models.deployments.create("churn", model="churn/1", aliases=aliases)
    assert caught.value.field == "aliases"


def test_the_platform_server_answers_an_alias(
    churn_models: Platform, live_server: LiveServer
) -> None:
    churn_models.deployments.create("churn", model="churn/1", aliases=["churn-v2"])
    key = live_server.key(churn_models.project, Role.READER)
    with httpx.Client(
        base_url=live_server.url, headers={"authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        answer = http.post("/v1/predictions", json={"model_id": "churn-v2", "features": FEATURES})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == "1"
        shown = http.get("/v1/deployments/churn-v2")
        assert shown.status_code == 200 and shown.json()["spec"]["name"] == "churn"


def test_a_replica_answers_the_alias_of_its_deployment(
    churn_models: Platform, installation: Installation
) -> None:
    churn_models.deployments.create("churn", model="churn/1", aliases=["churn-v2"])
    churn_models.deployments.create("other", model="churn/2", aliases=["other-v2"])
    project = churn_models.project
    _, secret = installation.keys.create(project, Role.READER, name="reader")
    replica = open_replica(installation.settings, project, "churn")
    app = create_serving_app(
        replica.runtime, keys=replica.keys, max_body_bytes=replica.max_body_bytes
    )
    try:
        with (
            loopback_server(app) as url,
            httpx.Client(base_url=url, headers={"authorization": f"Bearer {secret}"}) as http,
        ):
            body = {"model_id": "churn-v2", "features": FEATURES}
            assert http.post("/v1/predictions", json=body).status_code == 200
            other = http.post(
                "/v1/predictions", json={"model_id": "other-v2", "features": FEATURES}
            )
            assert other.status_code == 404 and other.json()["field"] == "model_id"
    finally:
        replica.close()


def test_embedded_and_remote_status_agree(churn_models: Platform, live_server: LiveServer) -> None:
    churn_models.deployments.create("churn", model="churn/1")
    churn_models.predict("churn", features=FEATURES)
    embedded = churn_models.deployments.status("churn")
    project = churn_models.project
    remote = podium.connect(
        live_server.url, api_key=live_server.key(project, Role.READER), project=project
    )
    try:
        remote.predict("churn", features=FEATURES)
        over_http = remote.deployments.status("churn")
    finally:
        remote.close()
    assert type(embedded) is type(over_http) and "status" in embedded
    # The same body both ways: the same fields came in, at the top and under status.
    assert embedded.model_fields_set == over_http.model_fields_set
    assert embedded.status.model_fields_set == over_http.status.model_fields_set
    assert embedded["status"]["versions"] == over_http["status"]["versions"] == ["1"]
    assert embedded["traffic"] == over_http["traffic"]
