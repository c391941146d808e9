"""Key rotation for encryption at rest: a new key, every blob resealed, the old key retired.

The steps (``podium encryption rotate`` runs them in order; see ADR 0035):

1. :func:`start_rotation` (home-kept keys only): the current key moves to
   ``keys/encryption.old/<id>.key``, a new one becomes ``keys/encryption.key``. Running
   servers notice the changed files and seal new blobs with the new key while reading
   both, so nothing stops.
2. :func:`reseal_blobs`: every blob of the store not under the primary key (old key or
   plaintext from before encryption) is decrypted, verified and written again under it.
3. :func:`retire_old_keys`: once nothing needs them, the old key files are deleted.

With ``PODIUM_ENCRYPTION_KEY`` the operator makes the new key (``podium encryption
new-key``), sets it, and keeps the old one in ``PODIUM_ENCRYPTION_OLD_KEYS`` until step 2
is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from podium.errors import InvalidInputError, PodiumError
from podium.store.artifacts.base import ArtifactStore, ResealableStore
from podium.store.encryption import (
    EncryptionKey,
    Keyring,
    generate_key,
    parse_key,
    write_key_file,
)

__all__ = [
    "BlobResealing",
    "reseal_blobs",
    "retire_old_keys",
    "start_rotation",
]

Progress = Callable[[int, int], None]
"""``progress(done, total)``, called after each blob."""


@dataclass
class BlobResealing:
    """What :func:`reseal_blobs` did: blobs seen, resealed, and those it could not open."""

    total: int = 0
    resealed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "<prefix>/<digest>" → reason


def start_rotation(keyring: Keyring) -> EncryptionKey:
    """Make a new primary key in the keyring's home, keeping the current one readable.

    Raises:
        InvalidInputError: the keys come from ``PODIUM_ENCRYPTION_KEY`` (field
            ``encryption_key``): podium cannot change the environment.
    """
    keys_dir = keyring.home
    if keys_dir is None:
        raise InvalidInputError(
            "the encryption key comes from PODIUM_ENCRYPTION_KEY, so podium cannot replace it",
            field="encryption_key",
            remedy="make a key with `podium encryption new-key`, set it as "
            "PODIUM_ENCRYPTION_KEY with the old one in PODIUM_ENCRYPTION_OLD_KEYS, then run "
            "`podium encryption rotate` again",
        )
    current = keyring.primary
    write_key_file(keys_dir / "encryption.old" / f"{current.id}.key", current, replace=True)
    new = generate_key()
    write_key_file(keys_dir / "encryption.key", new, replace=True)
    if keyring.primary.id != new.id:  # re-read now, not at the next stat
        raise PodiumError("the new encryption key did not take effect")  # pragma: no cover
    return new


def reseal_blobs(store: ArtifactStore, *, progress: Progress | None = None) -> BlobResealing:
    """Reseal every blob below ``store``'s root under its keyring's primary key.

    A blob that cannot be opened (damaged, or sealed with a key not held) is reported in
    ``failed`` and left as it is; the others are still resealed.
    """
    if not isinstance(store, ResealableStore):
        raise InvalidInputError(
            f"the artifact store {store.url} cannot list and reseal its blobs",
            field="storage_url",
            remedy="rotate keys on a local folder or an S3 bucket store",
        )
    found = list(store.blob_digests())
    result = BlobResealing(total=len(found))
    children: dict[str, ArtifactStore] = {}
    for done, (prefix, digest) in enumerate(found, start=1):
        child: ArtifactStore = store
        if prefix:
            child = children.get(prefix) or children.setdefault(prefix, store.child(prefix))
        try:
            if cast(ResealableStore, child).reseal(digest):
                result.resealed += 1
        except PodiumError as exc:
            result.failed[f"{prefix}/{digest}" if prefix else digest] = exc.message
        if progress is not None:
            progress(done, result.total)
    return result


def retire_old_keys(keyring: Keyring) -> list[str]:
    """Delete the old key files of a home keyring; the ids of the keys retired."""
    if keyring.home is None:
        return []
    old_dir = keyring.home / "encryption.old"
    retired: list[str] = []
    for path in sorted(old_dir.glob("*.key")) if old_dir.is_dir() else []:
        retired.append(_id_of(path))
        path.unlink(missing_ok=True)
    return retired


def _id_of(path: Path) -> str:
    try:
        return parse_key(path.read_text(), source=str(path)).id
    except (PodiumError, OSError):
        return path.stem
