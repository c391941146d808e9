"""Artifact store in a local folder: ``<root>/blobs/ab/cdef...``, written atomically."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from podium.errors import NotFoundError
from podium.store.artifacts.base import (
    CHUNK_SIZE,
    BlobInfo,
    blob_key,
    open_source,
    verified,
)
from podium.store.paths import safe_relative_path

__all__ = ["LocalArtifactStore"]

_BINARY = getattr(os, "O_BINARY", 0)  # Windows needs it; POSIX has no such flag


class LocalArtifactStore:
    """Blobs in a folder (created on first write), one file per sha256.

    Every blob is written to a temporary file in the store, fsynced, then renamed into
    place with :func:`os.replace`, so a crash never leaves a partial blob under its final
    name and concurrent writers of the same bytes cannot corrupt each other.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()

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
        return verified(data, digest, self.url)

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""
        return self.path_for(digest).is_file()

    def delete(self, digest: str) -> None:
        """Remove the blob; a blob that is not there is fine."""
        self.path_for(digest).unlink(missing_ok=True)

    def child(self, prefix: str) -> LocalArtifactStore:
        """A store rooted at ``<root>/<prefix>``; the prefix may not leave this root."""
        return LocalArtifactStore(self.root / safe_relative_path(prefix))

    def _holds(self, info: BlobInfo) -> bool:
        # A blob of the wrong size is damaged: report it absent so a new put repairs it.
        try:
            return self.path_for(info.digest).stat().st_size == info.size
        except FileNotFoundError:
            return False

    def _store(self, chunks: Iterable[bytes]) -> BlobInfo:
        incoming = self.root / "blobs"
        incoming.mkdir(parents=True, exist_ok=True)
        temp = incoming / f".incoming-{uuid.uuid4().hex}"
        moved = False
        try:
            info = _write_synced(temp, chunks)
            if not self._holds(info):
                final = self.path_for(info.digest)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, final)
                moved = True
                _sync_folder(final.parent)
            return info
        finally:
            if not moved:
                temp.unlink(missing_ok=True)


def _write_synced(path: Path, chunks: Iterable[bytes]) -> BlobInfo:
    """Write chunks to a new file (mode 0666 less the umask), fsync it, and hash them."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    with open(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
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
