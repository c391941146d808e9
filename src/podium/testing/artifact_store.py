"""The artifact store contract suite: what every :class:`ArtifactStore` backend must do.

Run it against a backend by subclassing :class:`ArtifactStoreContract` in a test module
under a name pytest collects, with a ``store`` fixture that returns a fresh, empty store::

    import pytest
    from podium.testing.artifact_store import ArtifactStoreContract

    class TestMyArtifactStore(ArtifactStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return MyArtifactStore(tmp_path / "artifacts")

        @pytest.fixture
        def overwrite_blob(self):
            def overwrite(store, digest, data):
                ...  # write ``data`` where ``store`` keeps ``blobs/<d[:2]>/<d[2:]>``
            return overwrite

``overwrite_blob`` is optional: it replaces a blob's stored bytes behind the store's back,
which the integrity checks need (damaged bytes are refused, a put repairs a short blob).
Without it those checks are skipped, not failed. Each ``test_*`` method is one check, so a
failure names the rule that broke. The module needs nothing but podium; pytest only runs
it.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from podium.errors import IntegrityError, InvalidInputError, NotFoundError
from podium.store.artifacts.base import ArtifactStore, BlobInfo

__all__ = ["ArtifactStoreContract"]

OverwriteBlob = Callable[[ArtifactStore, str, bytes], None]

BAD_DIGESTS = [
    "../../etc/passwd",
    "abc",
    "",
    "A" * 64,  # upper case
    "g" * 64,  # not hex
    "a" * 63,
    "a" * 65,
    "ab/" + "c" * 61,
    "a" * 64 + "\n",
    "../" + "a" * 61,
]
"""Strings that are not digests; some would name a place outside the root if joined."""

ESCAPING_PREFIXES = ["../x", "..", "a/../../x", "/abs", "", "   ", "a\\..\\x", "a/\x00/b"]
"""Child prefixes that are refused: each could leave the store's root or is no path."""

WEIRD_PREFIXES = [
    "with space",
    "ünïcödé/表/🙂",
    "percent%41%2F",
    "plus+and=equals",
    "semi;colon",
    'quote\'d/"double"',
    "hash#and?query",
    "MixedCase",
    "*glob?[x]",
    "a" * 200,
]
"""Child prefixes that are odd but safe: each is a root of its own."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStoreContract:
    """Checks every artifact store backend passes; subclass with a ``store`` fixture."""

    @pytest.fixture
    def overwrite_blob(self) -> OverwriteBlob:
        """Override to run the integrity checks: ``overwrite(store, digest, data)``."""
        pytest.skip("the backend's test gives no overwrite_blob fixture to damage blobs")

    # --- basics -----------------------------------------------------------------------

    def test_is_an_artifact_store(self, store: ArtifactStore) -> None:
        assert isinstance(store, ArtifactStore)
        assert isinstance(store.url, str) and "://" in store.url

    def test_put_then_get_round_trips(self, store: ArtifactStore) -> None:
        data = b"hello, podium\x00\xff"
        info = store.put(data)
        assert info == BlobInfo(digest=_sha256(data), size=len(data))
        assert store.exists(info.digest)
        assert store.get(info.digest) == data

    def test_empty_blob_round_trips(self, store: ArtifactStore) -> None:
        info = store.put(b"")
        assert info == BlobInfo(_sha256(b""), 0)
        assert store.exists(info.digest)
        assert store.get(info.digest) == b""

    def test_every_byte_value_round_trips(self, store: ArtifactStore) -> None:
        data = bytes(range(256)) * 4 + b"\r\n\r\n" + "ünïcödé 表 🙂".encode()
        info = store.put(data)
        assert store.get(info.digest) == data

    def test_put_is_idempotent(self, store: ArtifactStore) -> None:
        first = store.put(b"same bytes")
        second = store.put(b"same bytes")
        assert first == second
        assert store.get(first.digest) == b"same bytes"

    def test_blobs_are_independent(self, store: ArtifactStore) -> None:
        infos = [store.put(f"blob {i}".encode()) for i in range(20)]
        assert len({info.digest for info in infos}) == 20
        store.delete(infos[3].digest)
        for i, info in enumerate(infos):
            if i == 3:
                assert not store.exists(info.digest)
            else:
                assert store.get(info.digest) == f"blob {i}".encode()

    def test_a_large_payload_round_trips(self, store: ArtifactStore) -> None:
        data = random.Random(5).randbytes(5 * 1024 * 1024 + 3)
        info = store.put(data)
        assert info == BlobInfo(_sha256(data), len(data))
        assert store.get(info.digest) == data

    # --- files --------------------------------------------------------------------------

    def test_put_file_streams_a_large_file(self, store: ArtifactStore, tmp_path: Path) -> None:
        data = random.Random(7).randbytes(3 * 1024 * 1024 + 17)
        source = tmp_path / "model.bin"
        source.write_bytes(data)
        info = store.put_file(source)
        assert info == BlobInfo(_sha256(data), len(data))
        assert store.get(info.digest) == data
        assert store.put_file(source) == info
        assert store.put(data) == info

    def test_put_file_of_an_empty_file(self, store: ArtifactStore, tmp_path: Path) -> None:
        source = tmp_path / "empty.bin"
        source.write_bytes(b"")
        assert store.put_file(source) == BlobInfo(_sha256(b""), 0)
        assert store.get(_sha256(b"")) == b""

    def test_put_file_of_a_missing_path_or_a_folder_is_invalid_input(
        self, store: ArtifactStore, tmp_path: Path
    ) -> None:
        for path in (tmp_path / "nope.bin", tmp_path):
            with pytest.raises(InvalidInputError) as caught:
                store.put_file(path)
            assert caught.value.field == "path"

    # --- missing and deleted blobs ------------------------------------------------------

    def test_get_of_an_unknown_digest_is_not_found(self, store: ArtifactStore) -> None:
        unknown = _sha256(b"never stored")
        assert not store.exists(unknown)
        with pytest.raises(NotFoundError, match=unknown) as caught:
            store.get(unknown)
        assert isinstance(caught.value, LookupError)
        assert caught.value.code == "not-found"
        assert caught.value.remedy

    def test_delete(self, store: ArtifactStore) -> None:
        info = store.put(b"short-lived")
        store.delete(info.digest)
        assert not store.exists(info.digest)
        with pytest.raises(NotFoundError):
            store.get(info.digest)
        store.delete(info.digest)  # deleting again is fine

    def test_delete_of_a_never_stored_blob_is_fine(self, store: ArtifactStore) -> None:
        store.delete(_sha256(b"never stored"))

    def test_a_deleted_blob_can_be_stored_again(self, store: ArtifactStore) -> None:
        info = store.put(b"again")
        store.delete(info.digest)
        assert store.put(b"again") == info
        assert store.get(info.digest) == b"again"

    # --- digests: refused before any I/O -------------------------------------------------

    @pytest.mark.parametrize("digest", BAD_DIGESTS)
    def test_a_bad_digest_is_refused_everywhere(self, store: ArtifactStore, digest: str) -> None:
        operations: list[Callable[[str], object]] = [store.get, store.exists, store.delete]
        for operation in operations:
            with pytest.raises(InvalidInputError) as caught:
                operation(digest)
            assert caught.value.field == "digest"

    def test_a_digest_that_is_not_a_string_is_refused(self, store: ArtifactStore) -> None:
        for digest in (None, 7, b"a" * 64):
            with pytest.raises(InvalidInputError) as caught:
                store.get(digest)  # type: ignore[arg-type]
            assert caught.value.field == "digest"

    # --- integrity (needs overwrite_blob) -----------------------------------------------

    def test_the_blob_layout_is_blobs_ab_rest(
        self, store: ArtifactStore, overwrite_blob: OverwriteBlob
    ) -> None:
        # Bytes written at the documented location must be what get() reads.
        digest = _sha256(b"where am I")
        overwrite_blob(store, digest, b"where am I")
        assert store.exists(digest)
        assert store.get(digest) == b"where am I"

    def test_a_damaged_blob_is_an_integrity_error(
        self, store: ArtifactStore, overwrite_blob: OverwriteBlob
    ) -> None:
        info = store.put(b"the real model")
        overwrite_blob(store, info.digest, b"a poisoned model")
        with pytest.raises(IntegrityError) as caught:
            store.get(info.digest)
        error = caught.value
        assert error.code == "integrity"
        assert info.digest in error.message
        assert error.remedy is not None and "re-upload" in error.remedy

    def test_put_does_not_rewrite_a_stored_blob(
        self, store: ArtifactStore, overwrite_blob: OverwriteBlob
    ) -> None:
        # Same-size stand-in bytes survive a second put: proof nothing was rewritten.
        info = store.put(b"original")
        overwrite_blob(store, info.digest, b"imposter")
        store.put(b"original")
        with pytest.raises(IntegrityError):
            store.get(info.digest)

    def test_a_damaged_blob_is_repaired_by_delete_and_put(
        self, store: ArtifactStore, overwrite_blob: OverwriteBlob
    ) -> None:
        info = store.put(b"the real model")
        overwrite_blob(store, info.digest, b"the fake model")  # same size
        store.delete(info.digest)
        store.put(b"the real model")
        assert store.get(info.digest) == b"the real model"

    def test_a_blob_of_the_wrong_size_is_repaired_by_put(
        self, store: ArtifactStore, overwrite_blob: OverwriteBlob, tmp_path: Path
    ) -> None:
        info = store.put(b"the real model")
        overwrite_blob(store, info.digest, b"truncated")
        assert store.put(b"the real model") == info
        assert store.get(info.digest) == b"the real model"
        overwrite_blob(store, info.digest, b"cut")
        source = tmp_path / "model.bin"
        source.write_bytes(b"the real model")
        assert store.put_file(source) == info
        assert store.get(info.digest) == b"the real model"

    # --- children -----------------------------------------------------------------------

    def test_children_are_isolated(self, store: ArtifactStore) -> None:
        a = store.child("projects/a")
        b = store.child("projects/b")
        info = a.put(b"only in a")
        assert a.exists(info.digest)
        assert not b.exists(info.digest)
        assert not store.exists(info.digest)
        with pytest.raises(NotFoundError):
            b.get(info.digest)
        b.delete(info.digest)  # a delete in b leaves a alone
        assert a.get(info.digest) == b"only in a"

    def test_a_child_is_the_same_kind_of_store(self, store: ArtifactStore) -> None:
        child = store.child("projects/churn")
        assert isinstance(child, ArtifactStore)
        assert type(child) is type(store)

    def test_child_url_and_nesting(self, store: ArtifactStore) -> None:
        child = store.child("projects/churn/")
        assert child.url == store.url + "/projects/churn"
        assert store.child("./projects//churn").url == child.url
        nested = store.child("projects").child("churn")
        assert nested.url == child.url
        info = nested.put(b"shared root")
        assert child.get(info.digest) == b"shared root"

    @pytest.mark.parametrize("prefix", ESCAPING_PREFIXES)
    def test_child_refuses_prefixes_that_could_escape(
        self, store: ArtifactStore, prefix: str
    ) -> None:
        with pytest.raises(InvalidInputError) as caught:
            store.child(prefix)
        assert caught.value.field == "path"

    def test_odd_child_prefixes_are_roots_of_their_own(self, store: ArtifactStore) -> None:
        children = [store.child(prefix) for prefix in WEIRD_PREFIXES]
        assert len({child.url for child in children}) == len(children)
        for i, child in enumerate(children):
            info = child.put(f"in child {i}".encode())
            assert child.get(info.digest) == f"in child {i}".encode()
        for i, child in enumerate(children):
            for j, _ in enumerate(children):
                assert child.exists(_sha256(f"in child {j}".encode())) == (i == j)

    # --- concurrency --------------------------------------------------------------------

    def test_concurrent_writers_and_readers(self, store: ArtifactStore) -> None:
        # Eight threads store the same blob and blobs of their own, and read each other's:
        # no write is lost, no read ever returns other bytes than were stored.
        shared = random.Random(1).randbytes(256 * 1024)
        failures: list[BaseException] = []
        start = threading.Barrier(8)

        def work(worker: int) -> None:
            try:
                start.wait()
                for i in range(10):
                    assert store.put(shared).digest == _sha256(shared)
                    own = f"worker {worker} blob {i}".encode() * 100
                    info = store.put(own)
                    assert store.get(info.digest) == own
                    assert store.get(_sha256(shared)) == shared
            except BaseException as exc:  # reported by the main thread below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a writer hung"
        assert failures == []
        assert store.get(_sha256(shared)) == shared
        for worker in range(8):
            for i in range(10):
                own = f"worker {worker} blob {i}".encode() * 100
                assert store.get(_sha256(own)) == own
