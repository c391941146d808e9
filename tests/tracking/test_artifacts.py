"""Run artifacts: files and folders in, listed and read back, deduplicated, paths guarded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Platform
from podium.tracking.run import ActiveRun


@pytest.fixture
def run(platform: Platform) -> Iterator[ActiveRun]:
    with platform.tracking.start_run("exp") as active:
        yield active


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_log_a_file(platform: Platform, run: ActiveRun, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"\x00weights\xff")
    (info,) = run.log_artifact(source)
    assert info.path == "model.bin"
    assert info.size == 9
    assert info.digest == _sha(b"\x00weights\xff")
    assert platform.tracking.read_artifact(run.id, "model.bin") == b"\x00weights\xff"
    (under,) = run.log_artifact(str(source), "models/v1")
    assert under.path == "models/v1/model.bin"
    assert [a.path for a in platform.tracking.list_artifacts(run.id)] == [
        "model.bin",
        "models/v1/model.bin",
    ]


def test_log_a_nested_folder(
    platform: Platform, run: ActiveRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plots"
    (folder / "val" / "deep").mkdir(parents=True)
    (folder / "roc.png").write_bytes(b"roc")
    (folder / "val" / "pr.png").write_bytes(b"pr")
    (folder / "val" / "deep" / "x.txt").write_bytes(b"x")
    (folder / "empty").mkdir()
    infos = run.log_artifact(folder)
    expected = ["plots/roc.png", "plots/val/deep/x.txt", "plots/val/pr.png"]
    assert sorted(i.path for i in infos) == expected
    assert [a.path for a in platform.tracking.list_artifacts(run.id)] == expected
    assert platform.tracking.read_artifact(run.id, "plots/val/deep/x.txt") == b"x"
    run.log_artifact(folder, artifact_path="again")
    assert platform.tracking.read_artifact(run.id, "again/plots/val/pr.png") == b"pr"
    # "." is the folder it names, not a nameless one.
    monkeypatch.chdir(folder / "val")
    (dot,) = [i for i in run.log_artifact(".") if i.path.endswith("pr.png")]
    assert dot.path == "val/pr.png"


def test_log_a_missing_path_is_refused(run: ActiveRun, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        run.log_artifact(tmp_path / "nope.txt")
    assert info.value.field == "local_path"


def test_log_text_and_dict(platform: Platform, run: ActiveRun) -> None:
    text = run.log_text("héllo\n", "notes/readme.md")
    assert text.path == "notes/readme.md"
    assert platform.tracking.read_artifact(run.id, "notes/readme.md").decode() == "héllo\n"
    data = run.log_dict({"b": [1, 2], "a": {"nested": True}}, "config.json")
    stored = platform.tracking.read_artifact(run.id, data.path)
    assert json.loads(stored) == {"b": [1, 2], "a": {"nested": True}}
    assert stored.index(b'"a"') < stored.index(b'"b"')  # keys sorted, so stable digests


def test_list_and_read_round_trip(platform: Platform, run: ActiveRun) -> None:
    tracking = platform.tracking
    assert tracking.list_artifacts(run.id) == []
    payloads = {"z.txt": b"zz", "a/b.txt": b"", "a/c.bin": bytes(range(256)) * 100}
    for path, data in payloads.items():
        info = tracking.put_artifact(run.id, path, data)
        assert (info.size, info.digest) == (len(data), _sha(data))
    listed = tracking.list_artifacts(run.id)
    assert [a.path for a in listed] == ["a/b.txt", "a/c.bin", "z.txt"]
    for artifact in listed:
        assert tracking.read_artifact(run.id, artifact.path) == payloads[artifact.path]


def test_same_content_is_stored_once(platform: Platform, run: ActiveRun) -> None:
    first = run.log_text("same bytes", "one.txt")
    second = run.log_text("same bytes", "two/two.txt")
    assert first.digest == second.digest
    with platform.tracking.start_run("exp") as other:
        assert other.log_text("same bytes", "three.txt").digest == first.digest
    assert platform.tracking.read_artifact(run.id, "two/two.txt") == b"same bytes"


def test_relogging_a_path_replaces_it(platform: Platform, run: ActiveRun) -> None:
    run.log_text("v1", "model.txt")
    replaced = run.log_text("version two", "model.txt")
    (listed,) = platform.tracking.list_artifacts(run.id)
    assert listed == replaced
    assert listed.size == len("version two")
    assert platform.tracking.read_artifact(run.id, "model.txt") == b"version two"


def test_paths_are_normalised(platform: Platform, run: ActiveRun) -> None:
    info = run.log_text("x", "./plots//roc.txt")
    assert info.path == "plots/roc.txt"
    assert platform.tracking.read_artifact(run.id, "plots/./roc.txt") == b"x"


UNSAFE_PATHS = ["../escape.txt", "a/../../b", "/etc/passwd", "C:/x", "a\\b", "nul\x00", "."]


def test_path_traversal_is_refused(platform: Platform, run: ActiveRun) -> None:
    for path in [*UNSAFE_PATHS, ""]:
        with pytest.raises(InvalidInputError) as info:
            run.log_text("x", path)
        assert info.value.field == "path"
        with pytest.raises(InvalidInputError):
            platform.tracking.read_artifact(run.id, path)
    for path in UNSAFE_PATHS:  # an empty artifact_path means the run's root
        with pytest.raises(InvalidInputError):
            run.log_artifact(__file__, artifact_path=path)
    assert platform.tracking.list_artifacts(run.id) == []


def test_unknown_artifact_is_not_found(platform: Platform, run: ActiveRun) -> None:
    run.log_text("x", "known.txt")
    with pytest.raises(NotFoundError) as info:
        platform.tracking.read_artifact(run.id, "unknown.txt")
    assert info.value.remedy
    with pytest.raises(NotFoundError):
        platform.tracking.read_artifact(run.id, "known.txt/child")


def test_artifacts_of_another_run_are_not_read(platform: Platform, run: ActiveRun) -> None:
    run.log_text("mine", "a.txt")
    other = platform.tracking.create_run("exp")
    with pytest.raises(NotFoundError):
        platform.tracking.read_artifact(other.id, "a.txt")
