"""Encryption at rest: the installation's keys, and sealing of stored secrets.

One key (32 random bytes) encrypts everything podium writes at rest: artifact blobs
(:mod:`podium.store.artifacts`) and secrets in the metadata database (webhook URLs and
signing secrets). It comes from, in order:

* ``PODIUM_ENCRYPTION_KEY`` (base64 or hex of 32 bytes), with ``PODIUM_ENCRYPTION_OLD_KEYS``
  (comma-separated) still readable during a rotation: for servers, whose key lives in a
  secret manager;
* ``PODIUM_HOME/keys/encryption.key`` (mode 0600, made on first use), with the keys of a
  rotation under way in ``PODIUM_HOME/keys/encryption.old/``.

A :class:`Keyring` seals with its primary key and opens with any key it holds; each
envelope names its key by id (:func:`~podium.store.envelope.key_id`), so a missing key is
an :class:`EncryptionKeyError` naming the id, never garbage. A home keyring re-reads its
files when they change, so a rotation (``podium encryption rotate``) reaches running
servers without a restart.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from podium.config import Settings
from podium.errors import IntegrityError, InvalidInputError
from podium.store.envelope import UnsealError, key_id, read_header, seal, unseal

__all__ = [
    "SEALED_PREFIX",
    "EncryptionKey",
    "EncryptionKeyError",
    "Keyring",
    "encryption_is_off",
    "generate_key",
    "keyring_from_settings",
    "open_secret",
    "parse_key",
    "seal_secret",
]

KEY_SIZE = 32
SEALED_PREFIX = "enc:v1:"
"""How a sealed secret in the metadata database starts; a value without it is plaintext
written before encryption existed, read as it is until ``podium encryption rotate``."""

_KEY_FILE = "encryption.key"
_OLD_KEYS = "encryption.old"


class EncryptionKeyError(IntegrityError):
    """Stored bytes were sealed with a key this installation does not hold."""

    default_code = "encryption-key"


@dataclass(frozen=True, repr=False)
class EncryptionKey:
    """A 32-byte AES-256 key and its public id; its repr never shows the key."""

    material: bytes

    @property
    def id(self) -> str:
        """16 hex characters naming the key in envelopes, errors and file names."""
        return key_id(self.material)

    def encoded(self) -> str:
        """The key as base64 text: what ``PODIUM_ENCRYPTION_KEY`` takes."""
        return base64.b64encode(self.material).decode()

    def __repr__(self) -> str:
        return f"EncryptionKey(id={self.id!r})"


def generate_key() -> EncryptionKey:
    """A new random key."""
    return EncryptionKey(os.urandom(KEY_SIZE))


def parse_key(text: str, *, source: str = "PODIUM_ENCRYPTION_KEY") -> EncryptionKey:
    """A key from base64 or hex text of 32 bytes; InvalidInputError naming ``source``."""
    value = text.strip()
    decoded = _decoded(value)
    if decoded is None or len(decoded) != KEY_SIZE:
        raise InvalidInputError(
            f"{source} is not an encryption key: expected 32 bytes as base64 (44 characters) "
            f"or hex (64 characters); got {len(value)} characters",
            field="encryption_key",
            remedy="make one with `podium encryption new-key` (or `openssl rand -base64 32`)",
        )
    return EncryptionKey(decoded)


class Keyring:
    """The keys of an installation: one primary that seals, every one of them opens.

    Build it with :func:`keyring_from_settings`, :meth:`from_home` or :meth:`from_keys`.
    Thread-safe. ``source`` says where the keys come from, for messages.
    """

    def __init__(
        self,
        primary: EncryptionKey,
        readable: Sequence[EncryptionKey] = (),
        *,
        source: str = "given keys",
        home: Path | None = None,
    ) -> None:
        self._primary = primary
        self._keys = {key.id: key for key in (primary, *readable)}
        self.source = source
        self._home = home
        self._stamp = _stamp(home) if home is not None else None
        self._lock = threading.Lock()

    @classmethod
    def from_keys(cls, primary: EncryptionKey, *readable: EncryptionKey) -> Keyring:
        """A keyring of given keys (``PODIUM_ENCRYPTION_KEY`` and old keys, or tests)."""
        return cls(primary, readable, source="PODIUM_ENCRYPTION_KEY")

    @classmethod
    def from_home(cls, keys_dir: Path) -> Keyring:
        """The keyring kept in ``keys_dir`` (``PODIUM_HOME/keys``); the key is made if absent."""
        primary, old = _load_home(keys_dir, create=True)
        return cls(primary, old, source=str(keys_dir / _KEY_FILE), home=keys_dir)

    @property
    def home(self) -> Path | None:
        """The folder the keys are kept in, or None when they come from the environment."""
        return self._home

    @property
    def primary(self) -> EncryptionKey:
        """The key new envelopes are sealed with (re-read when its file changed)."""
        self._refresh()
        return self._primary

    def key(self, kid: str) -> EncryptionKey | None:
        """The key with id ``kid``, or None (after re-reading the key files once)."""
        found = self._keys.get(kid)
        if found is None and self._home is not None:
            self._refresh(force=True)
            found = self._keys.get(kid)
        return found

    def key_ids(self) -> list[str]:
        """The ids of every key held, the primary first."""
        primary = self.primary.id
        return [primary, *sorted(k for k in self._keys if k != primary)]

    def seal(self, data: bytes) -> bytes:
        """``data`` sealed with the primary key."""
        return seal(self.primary.material, data)

    def open(self, data: bytes, *, what: str) -> bytes:
        """The plaintext of an envelope; EncryptionKeyError when its key is not held.

        Raises:
            EncryptionKeyError: the envelope names a key this keyring lacks.
            UnsealError: the key is held but the envelope does not open (damaged).
        """
        header = read_header(data)
        if header is None:
            raise UnsealError("the bytes are not a podium envelope")
        key = self.key(header.key_id)
        if key is None:
            raise self.missing_key(what, header.key_id)
        return unseal(key.material, data)

    def missing_key(self, what: str, kid: str) -> EncryptionKeyError:
        """The error for ``what`` sealed with key ``kid`` that this keyring lacks."""
        return EncryptionKeyError(
            f"{what} was encrypted with key id {kid}; this installation holds "
            f"{', '.join(self.key_ids())} (from {self.source})",
            remedy=f"set PODIUM_ENCRYPTION_KEY to the key with id {kid} (or add it to "
            "PODIUM_ENCRYPTION_OLD_KEYS), or restore that key into PODIUM_HOME/keys",
            details={"key_id": kid},
        )

    def _refresh(self, *, force: bool = False) -> None:
        if self._home is None:
            return
        stamp = _stamp(self._home)
        if stamp == self._stamp and not force:
            return
        with self._lock:
            primary, old = _load_home(self._home, create=False)
            keys = {key.id: key for key in (primary, *old)}
            # A key once held stays readable for this process: a blob read mid-rotation
            # may still carry the retired key for a moment.
            self._keys = {**self._keys, **keys}
            self._primary = primary
            self._stamp = stamp


def keyring_from_settings(settings: Settings) -> Keyring | None:
    """The installation's keyring, or None when ``PODIUM_ENCRYPTION=off``."""
    if settings.encryption == "off":
        return None
    if settings.encryption_key is not None and settings.encryption_key.get_secret_value():
        primary = parse_key(settings.encryption_key.get_secret_value())
        old: list[EncryptionKey] = []
        if settings.encryption_old_keys is not None:
            for text in settings.encryption_old_keys.get_secret_value().split(","):
                if text.strip():
                    old.append(parse_key(text, source="PODIUM_ENCRYPTION_OLD_KEYS"))
        return Keyring.from_keys(primary, *old)
    return Keyring.from_home(settings.home / "keys")


def seal_secret(keyring: Keyring | None, value: str) -> str:
    """``value`` as stored: sealed, prefixed with :data:`SEALED_PREFIX` (as is without keyring)."""
    if keyring is None:
        return value
    return SEALED_PREFIX + base64.urlsafe_b64encode(keyring.seal(value.encode())).decode()


def open_secret(keyring: Keyring | None, stored: str, *, what: str) -> str:
    """The clear value of a stored secret; plaintext rows (no prefix) come back as they are.

    Raises:
        EncryptionKeyError: sealed with a key not held, or no keyring (encryption off).
        IntegrityError: the sealed value is damaged.
    """
    if not stored.startswith(SEALED_PREFIX):
        return stored
    data = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :])
    header = read_header(data)
    if keyring is None:
        raise encryption_is_off(what, header.key_id if header else "?")
    try:
        return keyring.open(data, what=what).decode()
    except UnsealError as exc:
        raise IntegrityError(
            f"{what} is damaged: it does not decrypt under key {header.key_id if header else '?'}",
            remedy="set the secret again (e.g. delete and re-create the webhook)",
        ) from exc


def encryption_is_off(what: str, kid: str) -> EncryptionKeyError:
    """The error for ``what``, sealed with key ``kid``, read with encryption off."""
    return EncryptionKeyError(
        f"{what} was encrypted with key id {kid}, but encryption is off (PODIUM_ENCRYPTION=off)",
        remedy="unset PODIUM_ENCRYPTION and set PODIUM_ENCRYPTION_KEY to the key with id "
        f"{kid} (or keep it in PODIUM_HOME/keys/encryption.key)",
        details={"key_id": kid},
    )


def _decoded(value: str) -> bytes | None:
    if len(value) == KEY_SIZE * 2:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(value, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    return None


def _stamp(keys_dir: Path) -> tuple[int, int, int] | None:
    try:
        st = (keys_dir / _KEY_FILE).stat()
    except FileNotFoundError:
        return None
    try:
        old = (keys_dir / _OLD_KEYS).stat().st_mtime_ns
    except FileNotFoundError:
        old = 0
    return (st.st_mtime_ns, st.st_ino, old)


def _load_home(keys_dir: Path, *, create: bool) -> tuple[EncryptionKey, list[EncryptionKey]]:
    path = keys_dir / _KEY_FILE
    if not path.exists():
        if not create:
            raise EncryptionKeyError(
                f"the encryption key {path} is gone",
                remedy="restore PODIUM_HOME/keys/encryption.key from a backup, or set "
                "PODIUM_ENCRYPTION_KEY",
            )
        write_key_file(path, generate_key(), replace=False)
    primary = parse_key(path.read_text(), source=str(path))
    old: list[EncryptionKey] = []
    old_dir = keys_dir / _OLD_KEYS
    if old_dir.is_dir():
        for entry in sorted(old_dir.glob("*.key")):
            try:
                old.append(parse_key(entry.read_text(), source=str(entry)))
            except FileNotFoundError:  # retired meanwhile
                continue
    return primary, old


def write_key_file(path: Path, key: EncryptionKey, *, replace: bool) -> None:
    """Write ``key`` to ``path`` (mode 0600, folder 0700) atomically.

    With ``replace=False`` an existing file wins (two processes creating the first key at
    once agree on one); with ``replace=True`` the file is swapped in one rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.parent / f".{path.name}.{uuid.uuid4().hex}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(fd, "w") as out:
            out.write(key.encoded() + "\n")
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temp, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
