"""Open the artifact store a URL names: a local folder or an S3 bucket."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from podium.errors import InvalidInputError
from podium.store.artifacts.base import ArtifactStore
from podium.store.artifacts.local import LocalArtifactStore
from podium.store.artifacts.s3 import S3ArtifactStore, sse_extra_args
from podium.store.encryption import Keyring

__all__ = ["open_artifact_store"]

_SCHEMES = "file:///absolute/path, a plain folder path, or s3://bucket/prefix"


def open_artifact_store(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    keyring: Keyring | None = None,
    s3_sse: str | None = None,
    s3_sse_kms_key_id: str | None = None,
) -> ArtifactStore:
    """The store at ``url`` (usually ``Settings.resolved_storage_url``).

    With a ``keyring`` (``podium.store.encryption.keyring_from_settings``) every blob is
    encrypted at rest. ``s3_sse`` (``AES256``, ``aws:kms``) and ``s3_sse_kms_key_id`` ask S3
    for its own server-side encryption as well; they are ignored for local folders.

    * ``file:///abs/path`` (percent-encoded, host empty or ``localhost``) or a plain
      path such as ``./artifacts`` or ``~/podium``: a :class:`LocalArtifactStore`.
    * ``s3://bucket/prefix``: an :class:`S3ArtifactStore`, at ``s3_endpoint_url`` when
      given (MinIO, moto; ``PODIUM_S3_ENDPOINT_URL``), else AWS.

    Raises:
        InvalidInputError: (field ``storage_url``) for any other scheme or a malformed URL.
        MissingDependencyError: an s3 URL without boto3 installed.
    """
    if not isinstance(url, str) or not url.strip():
        _refuse(url, "it is empty")
    if "://" not in url:
        return LocalArtifactStore(Path(url), keyring=keyring)
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            _refuse(url, f"it names the remote host {parts.netloc!r}")
        if parts.query or parts.fragment:
            _refuse(url, "it has a '?' or '#' part (percent-encode them as %3F and %23)")
        path = Path(url2pathname(parts.path))
        if not path.is_absolute():
            _refuse(url, "its path is not absolute")
        return LocalArtifactStore(path, keyring=keyring)
    if parts.scheme == "s3":
        if parts.query or parts.fragment:
            _refuse(url, "it has a '?' or '#' part")
        prefix = unquote(parts.path).lstrip("/")
        return S3ArtifactStore(
            parts.netloc,
            prefix,
            endpoint_url=s3_endpoint_url,
            keyring=keyring,
            extra_args=sse_extra_args(s3_sse, s3_sse_kms_key_id),
        )
    _refuse(url, f"the scheme {parts.scheme!r} is not supported")


def _refuse(url: object, reason: str) -> NoReturn:
    raise InvalidInputError(
        f"cannot open an artifact store at {url!r}: {reason}",
        field="storage_url",
        remedy=f"set PODIUM_STORAGE_URL to {_SCHEMES}",
    )
