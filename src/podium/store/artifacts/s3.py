"""Artifact store in an S3 bucket, or any S3-compatible server (MinIO, moto): needs boto3.

Blobs live at ``s3://<bucket>/<prefix>/blobs/ab/cdef...``. boto3 is imported when a store
is built, so podium imports without it; ``pip install 'podium[s3]'`` adds it.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from podium.errors import (
    BackendUnavailableError,
    InvalidInputError,
    MissingDependencyError,
    NotFoundError,
    PodiumError,
)
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

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client

__all__ = ["S3ArtifactStore", "lake_sse_options", "sse_extra_args"]

_REACH_REMEDY = (
    "check that the S3 endpoint runs and is reachable, and that PODIUM_STORAGE_URL "
    "(s3://bucket/prefix) and PODIUM_S3_ENDPOINT_URL (for MinIO or another S3-compatible "
    "server) point at it"
)
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_BLOB_KEY = re.compile(r"(?:(.*)/)?blobs/([0-9a-f]{2})/([0-9a-f]{62})")
_SSE = {"AES256": "AES256", "aws:kms": "aws:kms", "aws:kms:dsse": "aws:kms:dsse"}


def sse_extra_args(sse: str | None, kms_key_id: str | None = None) -> dict[str, str]:
    """The boto3 ``ExtraArgs`` for S3 server-side encryption ``sse`` (``PODIUM_S3_SSE``).

    Raises:
        InvalidInputError: (field ``s3_sse``) for a mode S3 does not know.
    """
    if not sse:
        return {}
    mode = _SSE.get(sse) or _SSE.get(sse.lower()) or _SSE.get(sse.upper())
    if mode is None:
        raise InvalidInputError(
            f"PODIUM_S3_SSE must be one of {', '.join(_SSE)}; got {sse!r} instead",
            field="s3_sse",
            remedy="set PODIUM_S3_SSE=AES256 (S3-managed keys) or aws:kms (with "
            "PODIUM_S3_SSE_KMS_KEY_ID for a key of your own), or unset it",
        )
    extra = {"ServerSideEncryption": mode}
    if kms_key_id and mode.startswith("aws:kms"):
        extra["SSEKMSKeyId"] = kms_key_id
    return extra


def lake_sse_options(sse: str | None, kms_key_id: str | None = None) -> dict[str, str]:
    """The deltalake (object_store) ``storage_options`` for the same server-side encryption."""
    extra = sse_extra_args(sse, kms_key_id)
    if not extra:
        return {}
    options = {"AWS_SERVER_SIDE_ENCRYPTION": extra["ServerSideEncryption"]}
    if "SSEKMSKeyId" in extra:
        options["AWS_SSE_KMS_KEY_ID"] = extra["SSEKMSKeyId"]
    return options


class S3ArtifactStore:
    """Blobs in ``s3://<bucket>/<prefix>``, one object per sha256.

    Args:
        bucket: an existing bucket.
        prefix: a folder inside the bucket ("" for its top); it goes through
            :func:`~podium.store.paths.safe_relative_path`.
        endpoint_url: an S3-compatible server, e.g. ``http://localhost:9000`` for MinIO;
            ``None`` means AWS. Ignored when ``client`` is given.
        client: a ready boto3 S3 client (tests, custom credentials or timeouts). Without
            one, a client is made from the usual AWS credential chain, with a 5 s connect
            timeout and 3 attempts per request.
        keyring: seal every blob (AES-256-GCM) under its primary key and open on read;
            digests stay the plaintext's sha256, checked after decryption.
        extra_args: added to every upload, e.g. :func:`sse_extra_args` for S3's own
            server-side encryption.

    Raises:
        MissingDependencyError: boto3 is not installed.

    An unreachable endpoint, a missing bucket or refused credentials raise
    :class:`~podium.errors.BackendUnavailableError` from any operation.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: Any = None,
        keyring: Keyring | None = None,
        extra_args: dict[str, str] | None = None,
    ) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise MissingDependencyError("boto3", extra="s3") from exc
        if not isinstance(bucket, str) or _BUCKET.fullmatch(bucket) is None:
            raise InvalidInputError(
                f"{bucket!r} is not an S3 bucket name",
                field="bucket",
                remedy="use s3://<bucket>/<prefix> with a bucket name of letters, digits, "
                "'.', '-' or '_'",
            )
        self.bucket = bucket
        self.prefix = safe_relative_path(prefix) if prefix else ""
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        if client is None:
            config = Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            )
            client = boto3.client("s3", endpoint_url=endpoint_url, config=config)
        self._client: S3Client = client
        self.keyring = keyring
        self.extra_args = dict(extra_args or {})

    def __repr__(self) -> str:
        return f"S3ArtifactStore({self.url!r}, endpoint_url={self._endpoint!r})"

    @property
    def _endpoint(self) -> str:
        return str(self._client.meta.endpoint_url)

    def key_for(self, digest: str) -> str:
        """The object key a blob with this digest lives under (whether or not it exists)."""
        key = blob_key(digest)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, data: bytes) -> BlobInfo:
        """Store bytes under their sha256; skipped when the object is already there."""
        info = BlobInfo(hashlib.sha256(data).hexdigest(), len(data))
        key = self.key_for(info.digest)
        with self._translated(info.digest):
            if self._size_of(key) != stored_size(info.size, self.keyring):
                self._put_object(key, data)
        return info

    def _put_object(self, key: str, data: bytes) -> None:
        body = self.keyring.seal(data) if self.keyring is not None else data
        self._client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            **self.extra_args,  # type: ignore[arg-type]
        )

    def put_file(self, path: Path) -> BlobInfo:
        """Store a file's content: hashed in chunks, then uploaded (multipart when large).

        The bytes sent are hashed again on the way; if the file changed in between, the
        upload is removed and InvalidInputError (field ``path``) is raised.
        """
        info = _hash_file(path)
        key = self.key_for(info.digest)
        with self._translated(info.digest):
            if self._size_of(key) == stored_size(info.size, self.keyring):
                return info
            with open_source(path) as source:
                sent = _SealingReader(source, self.keyring)
                self._client.upload_fileobj(
                    cast("IO[Any]", sent), self.bucket, key, ExtraArgs=self.extra_args or None
                )
            if sent.hexdigest() != info.digest:
                self._client.delete_object(Bucket=self.bucket, Key=key)
                raise InvalidInputError(
                    f"{str(path)!r} changed while it was being stored",
                    field="path",
                    remedy="store a file nothing is writing to (copy it first), then retry",
                )
        return info

    def get(self, digest: str) -> bytes:
        """The blob's bytes after checking their sha256 (IntegrityError if damaged)."""
        key = self.key_for(digest)
        with self._translated(digest):
            body = self._client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                data = body.read()
            finally:
                body.close()
        return opened(data, digest, self.url, self.keyring)

    def exists(self, digest: str) -> bool:
        """Whether a blob with this digest is stored."""
        key = self.key_for(digest)
        with self._translated(digest):
            return self._size_of(key) is not None

    def delete(self, digest: str) -> None:
        """Remove the blob; a blob that is not there is fine."""
        key = self.key_for(digest)
        with self._translated(digest):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def child(self, prefix: str) -> S3ArtifactStore:
        """A store at ``<prefix>/<child prefix>`` in the same bucket, sharing the client."""
        below = safe_relative_path(prefix)
        joined = f"{self.prefix}/{below}" if self.prefix else below
        return S3ArtifactStore(
            self.bucket,
            joined,
            client=self._client,
            keyring=self.keyring,
            extra_args=self.extra_args,
        )

    def blob_digests(self) -> Iterator[tuple[str, str]]:
        """Every blob at any depth below the prefix, as ``(prefix, digest)`` pairs."""
        root = f"{self.prefix}/" if self.prefix else ""
        with self._translated("(listing)"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root
            )
            for page in pages:
                for entry in page.get("Contents", []):
                    found = _BLOB_KEY.fullmatch(entry["Key"][len(root) :])
                    if found is not None:
                        yield found.group(1) or "", found.group(2) + found.group(3)

    def key_id_of(self, digest: str) -> str | None:
        """The id of the key the blob is sealed with (None: plaintext); a ranged GET."""
        key = self.key_for(digest)
        with self._translated(digest):
            body = self._client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes=0-{HEADER_SIZE - 1}"
            )["Body"]
            try:
                header = read_header(body.read())
            finally:
                body.close()
        return None if header is None else header.key_id

    def reseal(self, digest: str) -> bool:
        """Re-encrypt the blob under the keyring's primary key; False if it already was."""
        check_digest(digest)
        if self.keyring is None or self.key_id_of(digest) == self.keyring.primary.id:
            return False
        data = self.get(digest)  # opened with the old key and verified
        with self._translated(digest):
            self._put_object(self.key_for(digest), data)
        return True

    def _size_of(self, key: str) -> int | None:
        """The stored object's size, or None when there is none."""
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _NOT_FOUND:
                return None
            raise
        return head["ContentLength"]

    @contextmanager
    def _translated(self, digest: str) -> Iterator[None]:
        """Turn botocore's errors into podium's: not found, or backend unavailable."""
        from botocore.exceptions import (
            ClientError,
            HTTPClientError,
            IncompleteReadError,
            NoCredentialsError,
            PartialCredentialsError,
        )
        from botocore.exceptions import ConnectionError as EndpointError

        try:
            yield
        except ClientError as exc:
            raise self._refusal(exc, digest) from exc
        except (EndpointError, HTTPClientError, IncompleteReadError) as exc:
            raise BackendUnavailableError(
                f"the S3 endpoint {self._endpoint} of {self.url} does not answer: {exc}",
                remedy=_REACH_REMEDY,
            ) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise BackendUnavailableError(
                f"no usable AWS credentials to reach {self.url}: {exc}",
                remedy="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, "
                "or run with an IAM role",
            ) from exc

    def _refusal(self, exc: ClientError, digest: str) -> PodiumError:
        code = _error_code(exc)
        if code == "NoSuchBucket":
            return BackendUnavailableError(
                f"the bucket {self.bucket!r} of {self.url} does not exist at {self._endpoint}",
                remedy="create the bucket, or point PODIUM_STORAGE_URL at an existing one "
                "(and PODIUM_S3_ENDPOINT_URL at the server that has it)",
            )
        if code in _NOT_FOUND:
            return NotFoundError(
                f"no blob {digest} in {self.url}",
                remedy="check the digest; the blob may never have been stored or was deleted",
            )
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return BackendUnavailableError(
            f"S3 at {self._endpoint} refused a request for blob {digest} in {self.url}: "
            f"{code or 'error'} (HTTP {status})",
            remedy="check the credentials and their permissions on the bucket, and "
            "PODIUM_STORAGE_URL / PODIUM_S3_ENDPOINT_URL",
            details={"s3_error": code},
        )


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _hash_file(path: Path) -> BlobInfo:
    digest = hashlib.sha256()
    size = 0
    with open_source(path) as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return BlobInfo(digest.hexdigest(), size)


class _SealingReader(io.RawIOBase):
    """A forward-only, unseekable view of a file, sealed with a keyring when there is one,
    that hashes every plaintext byte read from it.

    Being unseekable makes boto3 read it once, in order, which is what the hash needs; the
    file is read and sealed a chunk at a time, never whole.
    """

    def __init__(self, source: BinaryIO, keyring: Keyring | None) -> None:
        super().__init__()
        self._sha256 = hashlib.sha256()
        plain = iter(lambda: source.read(CHUNK_SIZE), b"")
        self._pieces = sealed_stream(plain, keyring, self._sha256)
        self._buffer = bytearray()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def hexdigest(self) -> str:
        """The sha256 of everything read so far."""
        return self._sha256.hexdigest()
