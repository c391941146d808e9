"""Encryption at rest in the artifact store: the envelope, keys, wrong keys, rotation."""

from __future__ import annotations

import hashlib
import os
import random
import stat
from pathlib import Path
from typing import Any

import pytest

from podium.config import Settings
from podium.errors import IntegrityError, InvalidInputError
from podium.store.artifacts import (
    ArtifactStore,
    LocalArtifactStore,
    S3ArtifactStore,
    open_artifact_store,
)
from podium.store.artifacts.base import blob_key
from podium.store.encryption import (
    EncryptionKeyError,
    Keyring,
    generate_key,
    keyring_from_settings,
    open_secret,
    parse_key,
    seal_secret,
)
from podium.store.envelope import (
    HEADER_SIZE,
    UnsealError,
    read_header,
    seal,
    seal_chunks,
    sealed_size,
    unseal,
)
from podium.store.rotation import reseal_blobs, retire_old_keys, start_rotation
from podium.testing.artifact_store import ArtifactStoreContract

Overwrite = Any


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sealing_overwrite(write: Any) -> Overwrite:
    """Replace a blob's stored bytes with ``data`` sealed under the store's key."""

    def overwrite(store: Any, digest: str, data: bytes) -> None:
        write(store, digest, store.keyring.seal(data))

    return overwrite


# --- the artifact store contract, on both backends, encrypted ------------------------


class TestEncryptedLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ArtifactStore:
        return LocalArtifactStore(
            tmp_path / "artifacts", keyring=Keyring.from_home(tmp_path / "keys")
        )

    @pytest.fixture
    def overwrite_blob(self) -> Overwrite:
        def write(store: LocalArtifactStore, digest: str, data: bytes) -> None:
            path = store.path_for(digest)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        return _sealing_overwrite(write)


def test_a_damaged_sealed_s3_blob_is_an_integrity_error(s3_client: Any, s3_bucket: str) -> None:
    # The S3 backend's contract runs in test_artifacts.py; sealing adds only this.
    keyring = Keyring.from_keys(generate_key())
    store = S3ArtifactStore(s3_bucket, "podium", client=s3_client, keyring=keyring)
    info = store.put(b"the real model")
    imposter = keyring.seal(b"a fake model!!")  # same size: put() will not repair it
    s3_client.put_object(Bucket=s3_bucket, Key=store.key_for(info.digest), Body=imposter)
    store.put(b"the real model")
    with pytest.raises(IntegrityError, match=info.digest):
        store.get(info.digest)


# --- the envelope -----------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 33, 100])
def test_envelopes_round_trip_at_every_chunk_boundary(size: int) -> None:
    key = generate_key().material
    data = random.Random(size).randbytes(size)
    pieces = [data[i : i + 7] for i in range(0, len(data), 7)]
    sealed = b"".join(seal_chunks(key, pieces, chunk_size=16))
    assert len(sealed) == sealed_size(size, 16)
    assert unseal(key, sealed) == data
    # A plaintext of a few bytes may occur in random ciphertext by chance (one byte in
    # 1 of ~5 runs); from 8 bytes on, finding it would mean it was not encrypted.
    assert len(data) < 8 or data not in sealed


def test_an_envelope_names_its_key_and_hides_the_plaintext() -> None:
    key = generate_key()
    sealed = seal(key.material, b"attack at dawn")
    header = read_header(sealed)
    assert header is not None and header.key_id == key.id
    assert b"attack" not in sealed
    assert seal(key.material, b"attack at dawn") != sealed  # a fresh nonce each time


def test_cut_reordered_or_flipped_envelopes_do_not_open() -> None:
    key = generate_key().material
    sealed = b"".join(seal_chunks(key, [b"a" * 16 + b"b" * 16 + b"c" * 16], chunk_size=16))
    step = 16 + 16
    chunks = [sealed[HEADER_SIZE + i * step : HEADER_SIZE + (i + 1) * step] for i in range(3)]
    header = sealed[:HEADER_SIZE]
    damaged = [
        header + chunks[0] + chunks[1],  # cut at a chunk boundary
        header + chunks[1] + chunks[0] + chunks[2],  # reordered
        sealed[:-1] + bytes([sealed[-1] ^ 1]),  # one bit flipped
        sealed[:HEADER_SIZE],  # the header alone
    ]
    for data in damaged:
        with pytest.raises(UnsealError):
            unseal(key, data)
    with pytest.raises(UnsealError):
        unseal(generate_key().material, sealed)


# --- keys -------------------------------------------------------------------------


def test_the_home_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    keys = tmp_path / "home" / "keys"
    first = Keyring.from_home(keys)
    again = Keyring.from_home(keys)
    assert first.primary.id == again.primary.id
    path = keys / "encryption.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert parse_key(path.read_text()).id == first.primary.id
    assert "material" not in repr(first.primary) and first.primary.encoded() not in repr(
        first.primary
    )


def test_keys_parse_from_base64_and_hex_and_bad_ones_are_refused() -> None:
    key = generate_key()
    assert parse_key(key.encoded()).id == key.id
    assert parse_key(key.material.hex()).id == key.id
    assert parse_key(key.encoded().replace("+", "-").replace("/", "_")).id == key.id
    for bad in ("", "short", "a" * 63, key.encoded()[:-4]):
        with pytest.raises(InvalidInputError) as caught:
            parse_key(bad)
        assert caught.value.field == "encryption_key"
        assert caught.value.remedy is not None and "new-key" in caught.value.remedy


def test_settings_choose_the_env_key_over_the_home(tmp_path: Path) -> None:
    key, old = generate_key(), generate_key()
    settings = Settings(
        home=tmp_path,
        encryption_key=key.encoded(),
        encryption_old_keys=f"{old.material.hex()}, ",
    )
    keyring = keyring_from_settings(settings)
    assert keyring is not None and keyring.home is None
    assert keyring.key_ids() == [key.id, old.id]
    assert not (tmp_path / "keys").exists()
    home = keyring_from_settings(Settings(home=tmp_path))
    assert home is not None and home.home == tmp_path / "keys"
    assert keyring_from_settings(Settings(home=tmp_path, encryption="off")) is None


# --- wrong keys, plaintext blobs ----------------------------------------------------


def test_a_wrong_key_is_a_clear_error_naming_the_key_id(tmp_path: Path) -> None:
    right = Keyring.from_keys(generate_key())
    info = LocalArtifactStore(tmp_path, keyring=right).put(b"model bytes")
    wrong = LocalArtifactStore(tmp_path, keyring=Keyring.from_keys(generate_key()))
    with pytest.raises(EncryptionKeyError) as caught:
        wrong.get(info.digest)
    error = caught.value
    assert isinstance(error, IntegrityError) and error.code == "encryption-key"
    assert f"artifact {info.digest}" in error.message
    assert f"encrypted with key id {right.primary.id}" in error.message
    assert error.remedy is not None and "PODIUM_ENCRYPTION_KEY" in error.remedy
    off = LocalArtifactStore(tmp_path)
    with pytest.raises(EncryptionKeyError, match="encryption is off"):
        off.get(info.digest)


def test_a_wrong_key_on_s3_is_a_clear_error(s3_client: Any, s3_bucket: str) -> None:
    key = generate_key()
    store = S3ArtifactStore(s3_bucket, "p", client=s3_client, keyring=Keyring.from_keys(key))
    info = store.put(b"weights")
    other = S3ArtifactStore(
        s3_bucket, "p", client=s3_client, keyring=Keyring.from_keys(generate_key())
    )
    with pytest.raises(EncryptionKeyError, match=key.id):
        other.get(info.digest)


def test_plaintext_blobs_from_before_encryption_still_read(tmp_path: Path) -> None:
    plain = LocalArtifactStore(tmp_path)
    info = plain.put(b"written in clear")
    sealed = LocalArtifactStore(tmp_path, keyring=Keyring.from_keys(generate_key()))
    assert sealed.get(info.digest) == b"written in clear"
    assert sealed.key_id_of(info.digest) is None
    # Bytes that merely start like an envelope are plaintext when their hash says so.
    lookalike = b"PDMENC\x01" + bytes(40)
    assert sealed.get(plain.put(lookalike).digest) == lookalike


def test_a_sealed_blob_with_a_bad_tag_is_damaged_not_a_key_error(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path, keyring=Keyring.from_keys(generate_key()))
    info = store.put(b"x" * 100)
    path = store.path_for(info.digest)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError) as caught:
        store.get(info.digest)
    assert not isinstance(caught.value, EncryptionKeyError)
    assert "does not decrypt" in caught.value.message


def test_put_file_streams_and_seals_in_chunks(
    tmp_path: Path, s3_client: Any, s3_bucket: str
) -> None:
    data = random.Random(3).randbytes(2 * 1024 * 1024 + 11)
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    keyring = Keyring.from_keys(generate_key())
    local = LocalArtifactStore(tmp_path / "store", keyring=keyring)
    s3 = S3ArtifactStore(s3_bucket, "p", client=s3_client, keyring=keyring)
    for store in (local, s3):
        info = store.put_file(source)
        assert info.digest == sha256(data) and info.size == len(data)
        assert store.get(info.digest) == data
    stored = local.path_for(sha256(data)).read_bytes()
    assert len(stored) == sealed_size(len(data)) and data[:64] not in stored
    body = s3_client.get_object(Bucket=s3_bucket, Key=s3.key_for(sha256(data)))["Body"].read()
    assert body == body[:0] + body and len(body) == sealed_size(len(data))
    assert data[:64] not in body


# --- secrets ------------------------------------------------------------------------


def test_secrets_seal_and_plaintext_rows_still_read() -> None:
    keyring = Keyring.from_keys(generate_key())
    stored = seal_secret(keyring, "whsec_abc")
    assert stored.startswith("enc:v1:") and "whsec_abc" not in stored
    assert open_secret(keyring, stored, what="x") == "whsec_abc"
    assert open_secret(keyring, "old clear value", what="x") == "old clear value"
    assert seal_secret(None, "clear") == "clear"
    with pytest.raises(EncryptionKeyError, match="the secret of webhook w1"):
        open_secret(Keyring.from_keys(generate_key()), stored, what="the secret of webhook w1")


# --- rotation -----------------------------------------------------------------------


def test_rotation_reseals_every_blob_and_old_data_still_reads(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keyring = Keyring.from_home(keys)
    store = LocalArtifactStore(tmp_path / "artifacts", keyring=keyring)
    running = LocalArtifactStore(tmp_path / "artifacts", keyring=Keyring.from_home(keys))
    plaintext = LocalArtifactStore(tmp_path / "artifacts").child("projects/old")
    blobs = {
        store.child("projects/a").put(b"model a").digest: ("projects/a", b"model a"),
        store.child("projects/b").put(b"model b").digest: ("projects/b", b"model b"),
        plaintext.put(b"from before").digest: ("projects/old", b"from before"),
    }
    old_id = keyring.primary.id
    new = start_rotation(keyring)
    assert keyring.primary.id == new.id != old_id
    # A server started before the rotation reads both keys and seals with the new one.
    assert running.child("projects/a").get(sha256(b"model a")) == b"model a"
    fresh = running.child("projects/a").put(b"written mid-rotation")
    assert running.child("projects/a").key_id_of(fresh.digest) == new.id
    seen: list[tuple[int, int]] = []
    result = reseal_blobs(store, progress=lambda done, total: seen.append((done, total)))
    assert result.failed == {}
    assert (result.total, result.resealed) == (4, 3)
    assert seen[-1] == (4, 4)
    assert retire_old_keys(keyring) == [old_id]
    assert list((keys / "encryption.old").glob("*.key")) == []
    only_new = LocalArtifactStore(
        tmp_path / "artifacts", keyring=Keyring.from_keys(parse_key(new.encoded()))
    )
    for digest, (prefix, data) in blobs.items():
        child = only_new.child(prefix)
        assert child.key_id_of(digest) == new.id
        assert child.get(digest) == data
    assert reseal_blobs(store).resealed == 0  # nothing left to do


def test_rotation_reseals_s3_blobs(s3_client: Any, s3_bucket: str) -> None:
    old, new = generate_key(), generate_key()
    before = S3ArtifactStore(s3_bucket, "", client=s3_client, keyring=Keyring.from_keys(old))
    info = before.child("projects/p").put(b"in s3")
    after = S3ArtifactStore(s3_bucket, "", client=s3_client, keyring=Keyring.from_keys(new, old))
    result = reseal_blobs(after)
    assert (result.total, result.resealed, result.failed) == (1, 1, {})
    only_new = S3ArtifactStore(s3_bucket, "", client=s3_client, keyring=Keyring.from_keys(new))
    assert only_new.child("projects/p").get(info.digest) == b"in s3"


def test_rotation_reports_blobs_it_cannot_open(tmp_path: Path) -> None:
    lost = LocalArtifactStore(tmp_path, keyring=Keyring.from_keys(generate_key()))
    info = lost.put(b"sealed with a lost key")
    result = reseal_blobs(LocalArtifactStore(tmp_path, keyring=Keyring.from_keys(generate_key())))
    assert list(result.failed) == [info.digest]
    assert "encrypted with key id" in result.failed[info.digest]


def test_rotation_needs_a_home_key(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="PODIUM_ENCRYPTION_KEY"):
        start_rotation(Keyring.from_keys(generate_key()))


# --- S3 server-side encryption ----------------------------------------------------------


def test_s3_server_side_encryption_is_passed_to_every_upload(
    moto_server: str, s3_client: Any, s3_bucket: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_artifact_store(
        f"s3://{s3_bucket}/podium",
        s3_endpoint_url=moto_server,
        keyring=Keyring.from_keys(generate_key()),
        s3_sse="AES256",
    ).child("projects/x")
    source = tmp_path / "f.bin"
    source.write_bytes(os.urandom(1000))
    for info in (store.put(b"small"), store.put_file(source)):
        key = f"podium/projects/x/{blob_key(info.digest)}"
        head = s3_client.head_object(Bucket=s3_bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"


def test_an_unknown_s3_sse_mode_is_refused(moto_server: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        open_artifact_store("s3://b/p", s3_endpoint_url=moto_server, s3_sse="rot13")
    assert caught.value.field == "s3_sse"
    assert caught.value.remedy is not None and "AES256" in caught.value.remedy
