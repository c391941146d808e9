"""The artifact store contract: a content-addressed blob store behind a narrow Protocol.

A blob is stored under the sha256 of its bytes, at ``<root>/blobs/<d[:2]>/<d[2:]>``. The
same bytes always land at the same place, so storing twice is free, and every read is
checked against the digest, so damaged bytes are never handed out. Backends (a local
folder, an S3 bucket) are chosen by URL with
:func:`~podium.store.artifacts.open_artifact_store`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from podium.errors import IntegrityError, InvalidInputError
from podium.store.encryption import Keyring, encryption_is_off
from podium.store.envelope import UnsealError, read_header, seal_chunks, sealed_size

__all__ = [
    "CHUNK_SIZE",
    "ArtifactStore",
    "BlobInfo",
    "ResealableStore",
    "blob_key",
    "check_digest",
    "open_source",
    "opened",
    "sealed_stream",
    "stored_size",
    "verified",
]

CHUNK_SIZE = 1024 * 1024
"""Bytes read at a time when a file is hashed or copied, so big files never sit in memory."""

_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BlobInfo:
    """What a store reports for a stored blob: its sha256 (64 lowercase hex) and byte size."""

    digest: str
    size: int


@runtime_checkable
class ArtifactStore(Protocol):
    """A content-addressed blob store; every backend behaves the same (see the contract tests).

    Digests are 64 lowercase hex characters; anything else is refused with
    :class:`~podium.errors.InvalidInputError` (field ``digest``) before any I/O, so no
    digest can name a location outside the store's root.
    """

    @property
    def url(self) -> str:
        """The root URL, e.g. ``file:///abs/path`` or ``s3://bucket/prefix``."""
        ...

    def put(self, data: bytes) -> BlobInfo:
        """Store bytes under their sha256; storing the same bytes again rewrites nothing."""
        ...

    def put_file(self, path: Path) -> BlobInfo:
        """Store a file's content, streamed in chunks; a missing file is InvalidInputError."""
        ...

    def get(self, digest: str) -> bytes:
        """The blob's bytes, verified: IntegrityError if damaged, NotFoundError if absent."""
        ...

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""
        ...

    def delete(self, digest: str) -> None:
        """Remove the blob; removing a blob that is not there is not an error."""
        ...

    def child(self, prefix: str) -> ArtifactStore:
        """The same backend rooted at ``<url>/<prefix>``, e.g. ``child("projects/churn")``.

        The prefix goes through :func:`~podium.store.paths.safe_relative_path`, so it can
        not leave this store's root; blobs of sibling children never see each other.
        """
        ...


@runtime_checkable
class ResealableStore(Protocol):
    """The optional capability key rotation needs: list blobs, read their key, reseal them.

    Both built-in backends have it; ``podium encryption rotate`` uses it.
    """

    def blob_digests(self) -> Iterator[tuple[str, str]]:
        """Every blob under this root, at any depth: ``(prefix, digest)`` pairs, where
        ``prefix`` is the child (``""`` for this store itself) the blob belongs to."""
        ...

    def key_id_of(self, digest: str) -> str | None:
        """The id of the key the blob is sealed with; None for a plaintext blob."""
        ...

    def reseal(self, digest: str) -> bool:
        """Re-encrypt the blob under the primary key; False when it already was."""
        ...


def stored_size(size: int, keyring: Keyring | None) -> int:
    """How many bytes a blob of ``size`` plaintext bytes takes in a store with ``keyring``."""
    return size if keyring is None else sealed_size(size)


def sealed_stream(
    chunks: Iterable[bytes], keyring: Keyring | None, digest: hashlib._Hash
) -> Iterator[bytes]:
    """The bytes to store for plaintext ``chunks`` (sealed when there is a keyring), while
    ``digest`` is fed the plaintext, so the content address stays the plaintext's sha256."""

    def fed() -> Iterator[bytes]:
        for chunk in chunks:
            digest.update(chunk)
            yield chunk

    if keyring is None:
        return fed()
    return seal_chunks(keyring.primary.material, fed())


def opened(stored: bytes, digest: str, where: str, keyring: Keyring | None) -> bytes:
    """The verified plaintext of a blob's stored bytes.

    Sealed bytes are decrypted, then their sha256 is checked as for plaintext. A blob
    written before encryption (no envelope header) is read as it is. A blob sealed with a
    key not held is an EncryptionKeyError naming the key id, never garbage; bytes that do
    not open under their key are damaged: IntegrityError.
    """
    header = read_header(stored)
    if header is None:
        return verified(stored, digest, where)
    if hashlib.sha256(stored).hexdigest() == digest:
        return stored  # plaintext that merely starts like an envelope
    what = f"artifact {digest} in {where}"
    if keyring is None:
        raise encryption_is_off(what, header.key_id)
    try:
        plain = keyring.open(stored, what=what)
    except UnsealError as exc:
        raise IntegrityError(
            f"blob {digest} in {where} is damaged: it does not decrypt under its key "
            f"{header.key_id}, so it is not returned",
            remedy="delete the damaged copy (store.delete(digest)) and re-upload the "
            "original bytes with put() or put_file()",
            details={"digest": digest, "key_id": header.key_id},
        ) from exc
    return verified(plain, digest, where)


def check_digest(digest: str) -> str:
    """The digest if it is 64 lowercase hex characters, else InvalidInputError (``digest``)."""
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        shown = repr(digest)
        if len(shown) > 80:
            shown = shown[:80] + "..."
        raise InvalidInputError(
            f"{shown} is not a blob digest: expected 64 lowercase hex characters (a sha256)",
            field="digest",
            remedy="pass the digest exactly as put() or put_file() returned it",
        )
    return digest


def blob_key(digest: str) -> str:
    """Where a blob lives relative to a store's root: ``blobs/<d[:2]>/<d[2:]>``."""
    check_digest(digest)
    return f"blobs/{digest[:2]}/{digest[2:]}"


def verified(data: bytes, digest: str, where: str) -> bytes:
    """``data`` if its sha256 is ``digest``; else IntegrityError naming the blob and store."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise IntegrityError(
            f"blob {digest} in {where} is damaged: its {len(data)} stored bytes hash to "
            f"{actual}, so they are not returned",
            remedy="delete the damaged copy (store.delete(digest)) and re-upload the "
            "original bytes with put() or put_file()",
            details={"digest": digest, "actual_digest": actual},
        )
    return data


def open_source(path: Path) -> BinaryIO:
    """Open a file to store, for reading; a missing path or a folder is InvalidInputError."""
    try:
        return open(path, "rb")  # the caller closes it
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise InvalidInputError(
            f"cannot store {str(path)!r}: there is no file at that path",
            field="path",
            remedy="pass the path of an existing, readable file",
        ) from exc
