"""Names in URL paths: every client escapes them one way, and they arrive as they were sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import podium
import podium.client
from podium.access.roles import Role
from podium.client.http import segment, url_path
from podium.errors import NotFoundError
from podium.platform import Installation, Platform
from tests.conftest import LiveServer

NAMES = ["100% sure", "churn ü 模型", "a#b?c&d=e", "..", "%2E%2E", "plus+semi;colon:at@"]


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("churn", "churn"),
        ("a/b", "a%2Fb"),
        ("..", "%2E%2E"),
        ("100% sure", "100%25%20sure"),
        ("ü", "%C3%BC"),
        ("a#b?c", "a%23b%3Fc"),
        ("model:churn/1", "model%3Achurn%2F1"),
        (3, "3"),
    ],
)
def test_a_segment_escapes_everything_that_could_split_or_end_it(value: object, sent: str) -> None:
    assert segment(value) == sent


def test_url_path_escapes_each_segment_and_keeps_the_route() -> None:
    path = url_path("/v1/models/{}/aliases/{}", "churn.v2", "a/b")
    assert path == "/v1/models/churn%2Ev2/aliases/a%2Fb"


def test_no_client_quotes_paths_its_own_way() -> None:
    for source in Path(podium.client.__path__[0]).glob("*.py"):
        if source.name != "http.py":
            assert "quote(" not in source.read_text(), f"{source.name}: use url_path()"


@pytest.fixture
def remote(live_server: LiveServer, project_name: str, tmp_path: Path) -> Iterator[Platform]:
    key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, home=tmp_path / "client") as platform:
        yield platform


@pytest.fixture
def embedded(installation: Installation, project_name: str) -> Platform:
    return installation.platform(project_name, user="local:test")


@pytest.mark.parametrize("name", NAMES)
def test_experiment_names_round_trip(remote: Platform, embedded: Platform, name: str) -> None:
    made = remote.tracking.create_experiment(name)
    assert made.name == name
    assert remote.tracking.get_experiment(name) == embedded.tracking.get_experiment(name) == made


def test_a_name_with_a_slash_is_not_found_both_ways(remote: Platform, embedded: Platform) -> None:
    remote.tracking.create_experiment("a")
    for platform in (remote, embedded):
        with pytest.raises(NotFoundError):
            platform.tracking.get_experiment("a/b")


def test_artifact_paths_and_metric_keys_round_trip(remote: Platform, embedded: Platform) -> None:
    path = "dir one/100% ü/a#b?c.txt"
    with remote.tracking.start_run("paths") as run:
        run.log_metric("loss/train: a.b", 0.5)
    remote.tracking.put_artifact(run.id, path, b"bytes")
    assert remote.tracking.read_artifact(run.id, path) == b"bytes"
    assert [a.path for a in remote.tracking.list_artifacts(run.id)] == [path]
    assert embedded.tracking.read_artifact(run.id, path) == b"bytes"
    history = remote.tracking.metric_history(run.id, "loss/train: a.b")
    assert history == embedded.tracking.metric_history(run.id, "loss/train: a.b")
    assert [point.value for point in history] == [0.5]
