"""Artifact store in a local folder: ``<root>/blobs/ab/cdef...``, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from podium.errors import NotFoundError
from podium.store.artifacts.base import (
    CHUNK_SIZE,
    BlobInfo,
    blob_key,
    check_digest,
    open_source,
    opened,
    sealed_stream,
    stored_size,
)
from podium.store.encryption import Keyring
from podium.store.envelope import HEADER_SIZE, read_header
from podium.store.paths import safe_relative_path

__all__ = ["LocalArtifactStore"]

_BINARY = getattr(os, "O_BINARY", 0)  # Windows needs it; POSIX has no such flag
_HEX = re.compile(r"[0-9a-f]+")


class LocalArtifactStore:
    """Blobs in a folder (created on first write), one file per sha256.

    Every blob is written to a temporary file in the store, fsynced, then renamed into
    place with :func:`os.replace`, so a crash never leaves a partial blob under its final
    name and concurrent writers of the same bytes cannot corrupt each other.

    With a ``keyring`` every blob is written sealed (AES-256-GCM, see
    :mod:`podium.store.envelope`) under the keyring's primary key and opened on read; the
    digest stays the sha256 of the plaintext, checked after decryption.
    """

    def __init__(self, root: Path, *, keyring: Keyring | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self.url!r})"

    def path_for(self, digest: str) -> Path:
        """The file a blob with this digest lives in (whether or not it exists)."""
        return self.root / blob_key(digest)

    def put(self, data: bytes) -> BlobInfo:
        """Store bytes under their sha256; a blob already stored is not rewritten."""
        info = BlobInfo(hashlib.sha256(data).hexdigest(), len(data))
        if not self._holds(info):
            self._store((data,))
        return info

    def put_file(self, path: Path) -> BlobInfo:
        """Store a file's content, copied and hashed in chunks of :data:`CHUNK_SIZE`."""
        with open_source(path) as source:
            return self._store(iter(lambda: source.read(CHUNK_SIZE), b""))

    def get(self, digest: str) -> bytes:
        """The blob's bytes after checking their sha256 (IntegrityError if damaged)."""
        try:
            data = self.path_for(digest).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"no blob {digest} in {self.url}",
                remedy="check the digest; the blob may never have been stored or was deleted",
            ) from exc
        return opened(data, digest, self.url, self.keyring)

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""
        return self.path_for(digest).is_file()

    def delete(self, digest: str) -> None:
        """Remove the blob; a blob that is not there is fine."""
        self.path_for(digest).unlink(missing_ok=True)

    def child(self, prefix: str) -> LocalArtifactStore:
        """A store rooted at ``<root>/<prefix>``; the prefix may not leave this root."""
        return LocalArtifactStore(self.root / safe_relative_path(prefix), keyring=self.keyring)

    def blob_digests(self) -> Iterator[tuple[str, str]]:
        """Every blob at any depth below the root, as ``(prefix, digest)`` pairs."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("blobs/??/*")):
            digest = path.parent.name + path.name
            if len(digest) != 64 or _HEX.fullmatch(digest) is None or not path.is_file():
                continue
            prefix = path.parent.parent.parent.relative_to(self.root).as_posix()
            yield ("" if prefix == "." else prefix), digest

    def key_id_of(self, digest: str) -> str | None:
        """The id of the key the blob is sealed with (None: plaintext); reads its header."""
        try:
            with open(self.path_for(digest), "rb") as blob:
                header = read_header(blob.read(HEADER_SIZE))
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"no blob {digest} in {self.url}", remedy="check the digest"
            ) from exc
        return None if header is None else header.key_id

    def reseal(self, digest: str) -> bool:
        """Re-encrypt the blob under the keyring's primary key (atomically); False if it was."""
        check_digest(digest)
        if self.keyring is None or self.key_id_of(digest) == self.keyring.primary.id:
            return False
        data = self.get(digest)  # opened with the old key and verified
        self._store((data,), force=True)
        return True

    def _holds(self, info: BlobInfo) -> bool:
        # A blob of the wrong size is damaged: report it absent so a new put repairs it.
        try:
            size = self.path_for(info.digest).stat().st_size
        except FileNotFoundError:
            return False
        return size == stored_size(info.size, self.keyring)

    def _store(self, chunks: Iterable[bytes], *, force: bool = False) -> BlobInfo:
        incoming = self.root / "blobs"
        incoming.mkdir(parents=True, exist_ok=True)
        temp = incoming / f".incoming-{uuid.uuid4().hex}"
        moved = False
        try:
            info = _write_synced(temp, chunks, self.keyring)
            if force or not self._holds(info):
                final = self.path_for(info.digest)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, final)
                moved = True
                _sync_folder(final.parent)
            return info
        finally:
            if not moved:
                temp.unlink(missing_ok=True)


def _write_synced(path: Path, chunks: Iterable[bytes], keyring: Keyring | None) -> BlobInfo:
    """Write chunks (sealed with a keyring) to a new file (mode 0666 less the umask), fsync
    it; the BlobInfo is the plaintext's sha256 and size."""
    digest = hashlib.sha256()
    size = 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            size += len(chunk)
            yield chunk

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    with open(fd, "wb") as out:
        for piece in sealed_stream(counted(), keyring, digest):
            out.write(piece)
        out.flush()
        os.fsync(out.fileno())
    return BlobInfo(digest.hexdigest(), size)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX only; Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
