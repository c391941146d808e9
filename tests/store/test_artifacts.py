"""The artifact store contract on the local and S3 backends, plus what is backend-specific."""

from __future__ import annotations

import hashlib
import os
import random
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.errors import (
    BackendUnavailableError,
    InvalidInputError,
    MissingDependencyError,
)
from podium.store.artifacts import (
    ArtifactStore,
    BlobInfo,
    LocalArtifactStore,
    S3ArtifactStore,
    open_artifact_store,
)
from podium.testing.artifact_store import ArtifactStoreContract

Overwrite = Callable[[ArtifactStore, str, bytes], None]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the contract (podium.testing.artifact_store), on every backend ------------------


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")

    @pytest.fixture
    def overwrite_blob(self) -> Overwrite:
        def overwrite(store: ArtifactStore, digest: str, data: bytes) -> None:
            assert isinstance(store, LocalArtifactStore)
            path = store.path_for(digest)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        return overwrite


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, s3_client: Any, s3_bucket: str) -> ArtifactStore:
        return S3ArtifactStore(s3_bucket, "podium", client=s3_client)

    @pytest.fixture
    def overwrite_blob(self, s3_client: Any) -> Overwrite:
        def overwrite(store: ArtifactStore, digest: str, data: bytes) -> None:
            assert isinstance(store, S3ArtifactStore)
            s3_client.put_object(Bucket=store.bucket, Key=store.key_for(digest), Body=data)

        return overwrite


# --- local folder -----------------------------------------------------------------


def test_local_layout_and_url(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "a store")
    info = store.put(b"x")
    d = info.digest
    assert (tmp_path / "a store" / "blobs" / d[:2] / d[2:]).read_bytes() == b"x"
    assert store.url == (tmp_path / "a store").resolve().as_uri()
    assert "%20" in store.url


def test_local_root_is_created_on_first_write(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "later")
    assert not store.exists(sha256(b"x"))
    assert not (tmp_path / "later").exists()
    store.put(b"x")
    assert (tmp_path / "later").is_dir()


def test_local_put_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    store.put(b"one")
    store.put(b"one")
    source = tmp_path / "src.bin"
    source.write_bytes(b"two")
    store.put_file(source)
    store.put_file(source)
    leftovers = [p for p in (tmp_path / "blobs").rglob(".incoming-*")]
    assert leftovers == []


@pytest.mark.parametrize("how", ["put", "put_file"])
def test_local_crash_before_rename_leaves_no_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    source = tmp_path / "src.bin"
    source.write_bytes(b"precious")

    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        store.put(b"precious") if how == "put" else store.put_file(source)
    monkeypatch.undo()
    digest = sha256(b"precious")
    assert not store.exists(digest)
    assert [p for p in (tmp_path / "store" / "blobs").rglob("*") if not p.is_dir()] == []


def test_local_blob_files_are_not_private_temp_files(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    info = store.put(b"readable")
    mode = store.path_for(info.digest).stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


# --- S3 ----------------------------------------------------------------------------


def test_s3_layout_and_url(s3_client: Any, s3_bucket: str) -> None:
    store = S3ArtifactStore(s3_bucket, "root/", client=s3_client)
    assert store.url == f"s3://{s3_bucket}/root"
    info = store.put(b"x")
    d = info.digest
    body = s3_client.get_object(Bucket=s3_bucket, Key=f"root/blobs/{d[:2]}/{d[2:]}")["Body"]
    assert body.read() == b"x"
    assert S3ArtifactStore(s3_bucket, client=s3_client).url == f"s3://{s3_bucket}"


@pytest.fixture
def s3_uploads(s3_client: Any) -> Iterator[list[str]]:
    """The S3 operations that upload, in the order the client sent them."""
    sent: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        sent.append(event_name.split(".")[-1])

    events = s3_client.meta.events
    for operation in ("PutObject", "CreateMultipartUpload"):
        events.register(f"before-call.s3.{operation}", record)
    yield sent
    for operation in ("PutObject", "CreateMultipartUpload"):
        events.unregister(f"before-call.s3.{operation}", record)


def test_s3_skips_upload_of_existing_blob(
    s3_client: Any, s3_bucket: str, s3_uploads: list[str], tmp_path: Path
) -> None:
    store = S3ArtifactStore(s3_bucket, client=s3_client)
    store.put(b"once")
    store.put(b"once")
    source = tmp_path / "src.bin"
    source.write_bytes(b"twice")
    store.put_file(source)
    store.put_file(source)
    store.put(b"twice")
    assert s3_uploads == ["PutObject", "PutObject"]


def test_s3_put_file_of_a_big_file_goes_multipart(
    s3_client: Any, s3_bucket: str, s3_uploads: list[str], tmp_path: Path
) -> None:
    # boto3 switches to multipart uploads above 8 MiB: the streamed hash must still hold.
    data = random.Random(8).randbytes(9 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    store = S3ArtifactStore(s3_bucket, client=s3_client)
    info = store.put_file(source)
    assert s3_uploads == ["CreateMultipartUpload"]
    assert info == BlobInfo(sha256(data), len(data))
    assert store.get(info.digest) == data


def test_s3_put_file_refuses_a_file_that_changes_during_upload(
    s3_client: Any, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = S3ArtifactStore(s3_bucket, client=s3_client)
    source = tmp_path / "growing.log"
    source.write_bytes(b"first version")
    # Simulate a writer that changes the file after it was hashed, before it is sent.
    from podium.store.artifacts import s3 as s3_module

    hash_file = s3_module._hash_file

    def hash_then_change(path: Path) -> BlobInfo:
        info = hash_file(path)
        path.write_bytes(b"second version")
        return info

    monkeypatch.setattr(s3_module, "_hash_file", hash_then_change)
    with pytest.raises(InvalidInputError, match="changed while it was being stored"):
        store.put_file(source)
    assert not store.exists(sha256(b"first version"))


def test_s3_missing_bucket_is_backend_unavailable(s3_client: Any) -> None:
    store = S3ArtifactStore("podium-no-such-bucket-here", client=s3_client)
    with pytest.raises(BackendUnavailableError, match="does not exist") as caught:
        store.put(b"x")
    assert caught.value.remedy is not None and "PODIUM_STORAGE_URL" in caught.value.remedy
    with pytest.raises(BackendUnavailableError):
        store.get(sha256(b"x"))


@pytest.fixture
def dead_endpoint() -> Iterator[str]:
    """An http URL on loopback where nothing listens (the port is held, so none will)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


def test_s3_unreachable_endpoint_is_backend_unavailable(
    dead_endpoint: str, make_s3_client: Callable[..., Any]
) -> None:
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    client = make_s3_client(dead_endpoint, config)
    store = S3ArtifactStore("bucket", "prefix", client=client)
    digest = sha256(b"x")
    started = time.monotonic()
    operations: list[Callable[[], object]] = [
        lambda: store.put(b"x"),
        lambda: store.get(digest),
        lambda: store.exists(digest),
        lambda: store.delete(digest),
    ]
    for operation in operations:
        with pytest.raises(BackendUnavailableError) as caught:
            operation()
        error = caught.value
        assert error.code == "unavailable"
        assert dead_endpoint in error.message
        assert error.remedy is not None
        assert "PODIUM_STORAGE_URL" in error.remedy
        assert "PODIUM_S3_ENDPOINT_URL" in error.remedy
    assert time.monotonic() - started < 10


def test_s3_without_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingDependencyError) as caught:
        S3ArtifactStore("bucket")
    assert caught.value.remedy == "pip install 'podium[s3]'"
    with pytest.raises(MissingDependencyError):
        open_artifact_store("s3://bucket/prefix")


@pytest.mark.parametrize("bucket", ["", "a/b", "bucket name", "-x", "x" * 300])
def test_s3_refuses_bad_bucket_names(s3_client: Any, bucket: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        S3ArtifactStore(bucket, client=s3_client)
    assert caught.value.field == "bucket"


# --- open_artifact_store -------------------------------------------------------------


def test_open_file_url_decodes_percent_escapes(tmp_path: Path) -> None:
    root = tmp_path / "my store %41 #1"
    store = LocalArtifactStore(root)
    reopened = open_artifact_store(store.url)
    assert isinstance(reopened, LocalArtifactStore)
    assert reopened.root == root.resolve()
    assert reopened.url == store.url


def test_open_file_url_with_localhost(tmp_path: Path) -> None:
    store = open_artifact_store(f"file://localhost{tmp_path.resolve().as_posix()}")
    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path.resolve()


def test_open_plain_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = open_artifact_store(str(tmp_path / "abs"))
    assert isinstance(absolute, LocalArtifactStore)
    assert absolute.root == (tmp_path / "abs").resolve()
    monkeypatch.chdir(tmp_path)
    relative = open_artifact_store("rel/store")
    assert isinstance(relative, LocalArtifactStore)
    assert relative.root == (tmp_path / "rel" / "store").resolve()


@pytest.mark.parametrize(
    ("url", "prefix"),
    [
        ("s3://bucket/team/podium", "team/podium"),
        ("s3://bucket/team/podium/", "team/podium"),
        ("s3://bucket", ""),
        ("s3://bucket/", ""),
        ("s3://bucket/with%20space", "with space"),
    ],
)
def test_open_s3_url(moto_server: str, url: str, prefix: str) -> None:
    store = open_artifact_store(url, s3_endpoint_url=moto_server)
    assert isinstance(store, S3ArtifactStore)
    assert (store.bucket, store.prefix) == ("bucket", prefix)
    assert store.url == ("s3://bucket/" + prefix if prefix else "s3://bucket")


def test_opened_s3_store_works_end_to_end(
    moto_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_artifact_store(f"s3://{s3_bucket}/podium", s3_endpoint_url=moto_server)
    info = store.put(b"through the factory")
    assert store.child("projects/x").exists(info.digest) is False
    assert store.get(info.digest) == b"through the factory"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "http://example.com/artifacts",
        "ftp://host/x",
        "gs://bucket/x",
        "file://otherhost/x",
        "file:///tmp/x?version=2",
        "s3:///prefix-but-no-bucket",
        "s3://bucket/../escape",
    ],
)
def test_open_refuses_unsupported_or_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_artifact_store(url)
    error = caught.value
    if error.field == "storage_url":
        assert error.remedy is not None
        assert "file://" in error.remedy and "s3://" in error.remedy
