"""Encryption at rest through the whole platform: nothing readable in clear under
PODIUM_HOME or in S3, a wrong key fails clearly, and rotation keeps every model loading."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select
from typer.testing import CliRunner

from podium.cli.app import app
from podium.config import Settings
from podium.events.dispatcher import EventDispatcher
from podium.events.outbox import record_event
from podium.events.signing import SIGNATURE_HEADER, sign
from podium.events.tables import WebhookRow
from podium.events.webhook_secrets import reseal_webhook_secrets
from podium.events.webhooks import WebhookService
from podium.platform import Installation, Platform
from podium.store.encryption import EncryptionKeyError, generate_key

MARKER = f"PLAINTEXT-MARKER-{uuid.uuid4().hex}"


def _model() -> LogisticRegression:
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.7], [0.9, 0.1]])
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    model.podium_marker = MARKER  # travels inside the serialised model bytes
    return model


def _write_secrets_and_artifacts(p: Platform, tmp_path: Path) -> tuple[str, str]:
    """A run artifact, a model version and a webhook, each holding MARKER."""
    artifact = tmp_path / "notes.txt"
    artifact.write_text(f"confidential {MARKER}\n" * 50)
    with p.tracking.start_run(experiment="enc") as run:
        run.log_artifact(str(artifact))
    example = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 0.0]})
    mv = p.registry.register("enc-model", _model(), run_id=run.id, input_example=example)
    p.webhooks.create(f"https://user:{MARKER}@hooks.example.com/in", secret=f"whsec_{MARKER}")
    return run.id, f"enc-model/{mv.version}"


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_nothing_is_readable_in_clear_under_podium_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _installation(home) as inst:
        p = inst.platform("enc", user="local:test")
        run_id, ref = _write_secrets_and_artifacts(p, tmp_path)
        # The marker is in the plaintext of both blobs, so the grep below can fail.
        assert p.tracking.read_artifact(run_id, "notes.txt").count(MARKER.encode()) == 50
        digest = p.registry.get_version(ref).artifact_digest
        assert MARKER.encode() in inst.storage.child("projects/enc").get(digest)
        assert p.registry.load(ref) is not None
        (hook,) = p.webhooks.list()
        assert MARKER in hook.url
    marker = MARKER.encode()
    assert _files_holding(home, marker) == []
    assert _files_holding(home, base64.b64encode(marker)) == []
    assert (home / "keys" / "encryption.key").stat().st_mode & 0o077 == 0


def test_a_wrong_key_fails_clearly_and_the_right_one_reads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = generate_key()
    with _installation(home, key=key.encoded()) as inst:
        _, ref = _write_secrets_and_artifacts(inst.platform("enc", user="local:test"), tmp_path)
    with _installation(home, key=generate_key().encoded()) as inst:
        p = inst.platform("enc", user="local:test")
        with pytest.raises(EncryptionKeyError) as caught:
            p.registry.load(ref)
        assert f"encrypted with key id {key.id}" in caught.value.message
        assert "PODIUM_ENCRYPTION_KEY" in (caught.value.remedy or "")
        with pytest.raises(EncryptionKeyError, match=key.id):
            p.webhooks.list()
    with _installation(home, key=key.material.hex()) as inst:
        assert inst.platform("enc", user="local:test").registry.load(ref) is not None


def test_cli_rotation_reseals_and_old_models_still_load(tmp_path: Path, monkeypatch: Any) -> None:
    home = tmp_path / "home"
    with _installation(home) as inst:
        old_id = inst.keyring.primary.id if inst.keyring else ""
        _, ref = _write_secrets_and_artifacts(inst.platform("enc", user="local:test"), tmp_path)
    monkeypatch.setenv("PODIUM_HOME", str(home))
    result = CliRunner().invoke(app, ["encryption", "rotate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "resealed" in result.output and f"retired old keys {old_id}" in result.output
    status = CliRunner().invoke(app, ["encryption", "status"], catch_exceptions=False)
    assert status.exit_code == 0 and old_id not in status.output
    with _installation(home) as inst:
        assert inst.keyring is not None and inst.keyring.key_ids() != [old_id]
        p = inst.platform("enc", user="local:test")
        assert p.registry.load(ref) is not None
        assert MARKER in p.webhooks.list()[0].url
        with inst.db.read() as session:
            row = session.scalars(select(WebhookRow)).one()
        assert row.secret.startswith("enc:v1:") and MARKER not in row.secret
    assert not list((home / "keys").glob("encryption.old/*.key"))


def test_cli_rotation_with_an_env_key_needs_the_new_key_set(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PODIUM_ENCRYPTION_KEY", generate_key().encoded())
    result = CliRunner().invoke(app, ["encryption", "rotate"])
    assert result.exit_code == 0, result.output
    assert "remove PODIUM_ENCRYPTION_OLD_KEYS" in result.output
    bad = CliRunner().invoke(app, ["encryption", "status"], env={"PODIUM_ENCRYPTION_KEY": "x"})
    assert bad.exit_code == 1 and "error: PODIUM_ENCRYPTION_KEY is not an encryption key" in (
        bad.output
    )
    assert "Traceback" not in bad.output


def test_plaintext_webhook_rows_still_work_and_get_sealed(tmp_path: Path) -> None:
    with _installation(tmp_path / "home") as inst:
        project = inst.projects.ensure("enc")
        clear = WebhookService(inst.db, project, allow_http=True)  # as before encryption
        hook, secret = clear.create("http://127.0.0.1:9/hook")
        sealed = WebhookService(inst.db, project, keyring=inst.keyring)
        assert sealed.list()[0].url == "http://127.0.0.1:9/hook"
        assert inst.keyring is not None
        assert reseal_webhook_secrets(inst.db, inst.keyring) == 1
        assert reseal_webhook_secrets(inst.db, inst.keyring) == 0
        with inst.db.read() as session:
            row = session.get(WebhookRow, hook.id)
            assert row is not None and row.secret.startswith("enc:v1:")
        # The dispatcher opens the sealed secret and signs with the clear one.
        seen: list[httpx.Request] = []

        def receive(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200)

        with inst.db.write() as session:
            record_event(
                session,
                project_id=project.id,
                type="model.version_registered",
                subject="model:m/1",
                payload={},
                actor="t",
            )
        dispatcher = EventDispatcher(
            inst.db, keyring=inst.keyring, transport=httpx.MockTransport(receive)
        )
        try:
            dispatcher.dispatch_once()
        finally:
            dispatcher.stop()
        (request,) = seen
        assert str(request.url) == "http://127.0.0.1:9/hook"
        assert request.headers[SIGNATURE_HEADER] == sign(secret, request.content)


@pytest.fixture(scope="module")
def moto_process() -> Iterator[str]:
    """A moto S3 server in a process of its own: deltalake's Rust client blocks the GIL
    while it waits, which would starve moto's in-process threaded server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_nothing_is_readable_in_clear_in_s3_and_sse_is_applied(
    tmp_path: Path, moto_process: str, make_s3_client: Any, monkeypatch: Any
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = make_s3_client(moto_process)
    bucket = f"enc-{uuid.uuid4().hex}"
    s3.create_bucket(Bucket=bucket)
    settings = Settings(
        home=tmp_path / "home",
        storage_url=f"s3://{bucket}/podium",
        s3_endpoint_url=moto_process,
        s3_sse="AES256",
    )
    with _installation_of(settings) as inst:
        p = inst.platform("enc", user="local:test")
        _, ref = _write_secrets_and_artifacts(p, tmp_path)
        p.data.write("raw.t", _frame(), mode="append")
        assert p.registry.load(ref) is not None
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for entry in page.get("Contents", [])
    ]
    assert [key for key in keys if "/blobs/" in key] and [key for key in keys if "/lake/" in key]
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert MARKER.encode() not in body, key
        assert s3.head_object(Bucket=bucket, Key=key).get("ServerSideEncryption") == "AES256", key
    assert _files_holding(tmp_path / "home", MARKER.encode()) == []


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [1, 2], "v": [0.5, 1.5]})


def _installation(home: Path, *, key: str | None = None) -> _Closing:
    settings = Settings(home=home, encryption_key=key)
    return _installation_of(settings)


def _installation_of(settings: Settings) -> _Closing:
    return _Closing(Installation(settings))


class _Closing:
    def __init__(self, inst: Installation) -> None:
        self.inst = inst

    def __enter__(self) -> Installation:
        return self.inst

    def __exit__(self, *exc: object) -> None:
        self.inst.close()
