"""The remote SDK over a real socket: what it logs and reads equals the embedded service."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import podium
from podium.access.roles import Role
from podium.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from podium.platform import Installation, Platform
from podium.tracking.protocol import Tracking
from tests.conftest import LiveServer


@pytest.fixture
def remote(live_server: LiveServer, project_name: str, tmp_path: Path) -> Iterator[Platform]:
    """The SDK against the live server with a writer key (project taken from the key)."""
    key = live_server.key(project_name, Role.WRITER)
    with podium.connect(live_server.url, api_key=key, home=tmp_path / "client") as platform:
        yield platform


@pytest.fixture
def embedded(installation: Installation, project_name: str) -> Tracking:
    """The same project's tracking, in process, to compare with."""
    return installation.platform(project_name, user="local:test").tracking


def _connect(live_server: LiveServer, tmp_path: Path, **kwargs: str | None) -> Platform:
    return podium.connect(live_server.url, home=tmp_path / "client", **kwargs)


def test_connect_takes_the_project_from_the_key(remote: Platform, project_name: str) -> None:
    assert remote.project == project_name


def test_a_run_logged_remotely_reads_back_as_embedded(
    remote: Platform, embedded: Tracking, tmp_path: Path
) -> None:
    model = tmp_path / "model.txt"
    model.write_text("weights")
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")
    (folder / "sub" / "pr.csv").write_bytes(b"\x00\x01binary")

    with remote.tracking.start_run("churn", name="remote-1", params={"C": 0.5, "k": 3}) as run:
        for step in range(50):
            run.log_metrics({"auc": 0.5 + step / 100, "loss/train": 1 / (step + 1)}, step=step)
        run.set_tags({"team": "ml", "attempt": 2})
        run.log_artifact(model)
        run.log_artifact(folder, artifact_path="figures")
        run.log_input("raw.customers@3")
        run_id = run.id

    got = remote.tracking.get_run(run_id)
    assert got == embedded.get_run(run_id)
    assert got.status == "FINISHED"
    assert got.params == {"C": "0.5", "k": "3"}
    assert got.tags == {"team": "ml", "attempt": "2"}
    assert got.metrics == {"auc": pytest.approx(0.99), "loss/train": pytest.approx(1 / 50)}
    assert got.inputs == ["raw.customers@3"]

    artifacts = remote.tracking.list_artifacts(run_id)
    assert artifacts == embedded.list_artifacts(run_id)
    assert [a.path for a in artifacts] == [
        "figures/plots/roc.csv",
        "figures/plots/sub/pr.csv",
        "model.txt",
    ]
    for artifact in artifacts:
        data = remote.tracking.read_artifact(run_id, artifact.path)
        assert data == embedded.read_artifact(run_id, artifact.path)
    assert remote.tracking.read_artifact(run_id, "figures/plots/sub/pr.csv") == b"\x00\x01binary"

    for key in ("auc", "loss/train"):  # a key with '/' travels in the URL path
        history = remote.tracking.metric_history(run_id, key)
        assert history == embedded.metric_history(run_id, key)
        assert [p.step for p in history] == list(range(50))


def test_search_compare_and_pages_equal_embedded(remote: Platform, embedded: Tracking) -> None:
    ids = []
    for i in range(7):
        params = {"model": "rf" if i % 2 else "lr", "i": i}
        with remote.tracking.start_run("search", params=params, capture_env=False) as run:
            run.log_metric("auc", i / 10)
            ids.append(run.id)

    query = {
        "filter": "metrics.auc >= 0.2 and params.model = 'rf'",
        "order_by": ["metrics.auc DESC"],
    }
    page = remote.tracking.search_runs("search", **query)  # type: ignore[arg-type]
    assert page == embedded.search_runs("search", **query)  # type: ignore[arg-type]
    assert [r.id for r in page.runs] == [ids[5], ids[3]]

    seen, token, pages = [], None, 0
    while True:
        remote_page = remote.tracking.search_runs(
            ["search"], order_by=["params.i"], max_results=3, page_token=token
        )
        local_page = embedded.search_runs(
            ["search"], order_by=["params.i"], max_results=3, page_token=token
        )
        assert remote_page == local_page
        seen += [r.id for r in remote_page.runs]
        pages += 1
        token = remote_page.next_page_token
        if token is None:
            break
    assert seen == ids and pages == 3

    comparison = remote.tracking.compare_runs(ids[:3])
    assert comparison == embedded.compare_runs(ids[:3])
    assert comparison.differing_params == ["i", "model"]
    assert remote.tracking.list_experiments() == embedded.list_experiments()
    assert remote.tracking.get_experiment("search") == embedded.get_experiment("search")


def test_remote_errors_are_the_podium_errors_with_remedies(remote: Platform) -> None:
    tracking = remote.tracking
    with pytest.raises(NotFoundError) as missing:
        tracking.get_run("no-such-run")
    assert isinstance(missing.value, LookupError)
    assert missing.value.remedy and missing.value.field == "run_id"
    assert missing.value.details["request_id"]

    run = tracking.start_run("errors", params={"C": "1"}, capture_env=False)
    with pytest.raises(ConflictError) as conflict:
        run.log_param("C", "2")
    assert isinstance(conflict.value, ValueError)
    assert conflict.value.details["old_value"] == "1"
    assert conflict.value.details["new_value"] == "2"
    assert conflict.value.remedy

    with pytest.raises(InvalidInputError) as bad_filter:
        tracking.search_runs("errors", filter="metrics.auc >> 1")
    assert isinstance(bad_filter.value, ValueError)
    assert bad_filter.value.field == "filter"
    assert bad_filter.value.details["position"] == 13
    assert bad_filter.value.remedy

    with pytest.raises(InvalidInputError):
        tracking.put_artifact(run.id, "../../etc/passwd", b"x")  # refused before sending
    with pytest.raises(NotFoundError):
        tracking.metric_history("..", "auc")  # sent as the id '..', not resolved away
    run.end()


def test_reader_key_write_is_permission_denied(
    live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    key = live_server.key(project_name, Role.READER)
    with _connect(live_server, tmp_path, api_key=key) as reader:
        assert reader.tracking.search_runs().runs == []
        with pytest.raises(PermissionDeniedError) as denied:
            reader.tracking.create_run("e")
        assert isinstance(denied.value, PermissionError)
        assert "writer" in str(denied.value) and denied.value.remedy


@pytest.mark.parametrize("api_key", [None, "pdm_000000000000_wrong"])
def test_missing_or_bad_key_is_authentication_error(
    live_server: LiveServer,
    project_name: str,
    tmp_path: Path,
    api_key: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PODIUM_API_KEY", raising=False)
    anonymous = _connect(live_server, tmp_path, api_key=api_key, project=project_name)
    with anonymous, pytest.raises(AuthenticationError) as failed:
        anonymous.tracking.list_experiments()
    assert isinstance(failed.value, PermissionError)
    assert failed.value.remedy


def test_another_projects_runs_are_not_found(
    live_server: LiveServer, remote: Platform, project_name: str, tmp_path: Path
) -> None:
    other = f"{project_name}-b"
    with _connect(live_server, tmp_path, api_key=live_server.key(other)) as theirs:
        their_run = theirs.tracking.create_run("e")
        with pytest.raises(NotFoundError):
            remote.tracking.get_run(their_run.id)
        with pytest.raises(NotFoundError):
            remote.tracking.log_params(their_run.id, {"C": "1"})
        assert theirs.tracking.get_run(their_run.id).params == {}

    mine = live_server.key(project_name)
    wrong_project = _connect(live_server, tmp_path, api_key=mine, project=other)
    with wrong_project, pytest.raises(NotFoundError):
        wrong_project.tracking.list_experiments()


def test_server_not_running_is_backend_unavailable(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, with nobody on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    platform = podium.connect(url, api_key="pdm_x_y", project="p", home=tmp_path)
    with platform, pytest.raises(BackendUnavailableError) as down:
        platform.tracking.list_experiments()
    assert isinstance(down.value, ConnectionError)
    assert "podium up" in (down.value.remedy or "")
    with pytest.raises(BackendUnavailableError):  # finding the project needs the server too
        podium.connect(url, api_key="pdm_x_y", home=tmp_path)


def test_a_failed_background_flush_is_raised_not_lost(
    live_server: LiveServer, remote: Platform, installation: Installation, project_name: str
) -> None:
    run = remote.tracking.start_run("flush", capture_env=False)
    run.log_metric("auc", 0.5)
    run.flush()
    assert remote.tracking.get_run(run.id).metrics == {"auc": 0.5}
    installation.keys.revoke(project_name, installation.keys.list(project_name)[0].id)
    run.log_metric("auc", 0.6)
    with pytest.raises(AuthenticationError):
        run.flush()
    with pytest.raises(AuthenticationError):  # the point is still there, and still refused
        run.end()


def test_a_closed_platform_says_so(remote: Platform) -> None:
    remote.close()
    with pytest.raises(BackendUnavailableError) as closed:
        remote.tracking.list_experiments()
    assert "closed" in str(closed.value) and closed.value.remedy
