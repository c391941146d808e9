"""Tokens for pii columns: the tokenization key, keyed HMAC tokens, and sealed clear values.

A pii value is replaced by ``tok_`` and 32 hex characters: the first 128 bits of
HMAC-SHA256 of the value under the installation's tokenization key. The same value always
gives the same token, so equality, joins, counts, cardinality, drift and quality checks
still work on the tokens; without the key a token says nothing about its value. The
clear value is kept only in the vault (:mod:`podium.data.pii`), sealed with AES-256-GCM
under a second key derived from the same tokenization key (ADR 0045).

The key (32 bytes) comes from ``PODIUM_TOKENIZATION_KEY`` (base64 or hex) or from
``PODIUM_HOME/keys/tokenization.key`` (mode 0600, made on first use), kept like the
encryption key (:mod:`podium.store.encryption`) but separate from it: rotating the
encryption key must not change every token in the lake.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from podium.errors import IntegrityError
from podium.store.encryption import (
    EncryptionKey,
    generate_key,
    parse_key,
    write_key_file,
)
from podium.store.envelope import UnsealError, seal, unseal

__all__ = ["TOKEN_PREFIX", "Tokenizer", "is_token", "load_tokenization_key"]

TOKEN_PREFIX = "tok_"
_TOKEN_HEX = 32
_KEY_FILE = "tokenization.key"


def load_tokenization_key(keys_dir: Path, given: str | None = None) -> EncryptionKey:
    """The tokenization key: ``given`` (``PODIUM_TOKENIZATION_KEY``) or the key file in
    ``keys_dir``, made (0600) on first use."""
    if given:
        return parse_key(given, source="PODIUM_TOKENIZATION_KEY")
    path = keys_dir / _KEY_FILE
    if not path.exists():
        write_key_file(path, generate_key(), replace=False)
    return parse_key(path.read_text(), source=str(path))


def is_token(value: object) -> bool:
    """Whether ``value`` is a string shaped like a token (``tok_`` and 32 hex characters)."""
    if not isinstance(value, str):
        return False
    body = value.removeprefix(TOKEN_PREFIX)
    return (
        value.startswith(TOKEN_PREFIX)
        and len(body) == _TOKEN_HEX
        and all(c in "0123456789abcdef" for c in body)
    )


class Tokenizer:
    """Tokens and sealed values under one tokenization key; its repr never shows the key."""

    def __init__(self, key: EncryptionKey) -> None:
        self._token_key = _derive(key.material, b"podium pii token v1")
        self._vault_key = _derive(key.material, b"podium pii vault v1")
        self.key_id = key.id

    def token(self, value: str) -> str:
        """The deterministic token of ``value``."""
        digest = hmac.new(self._token_key, value.encode(), hashlib.sha256).hexdigest()
        return TOKEN_PREFIX + digest[:_TOKEN_HEX]

    def seal(self, value: str) -> bytes:
        """``value`` encrypted (AES-256-GCM envelope) for the vault."""
        return seal(self._vault_key, value.encode())

    def open(self, sealed: bytes, *, token: str) -> str:
        """The clear value of a vault entry; IntegrityError when it does not decrypt."""
        try:
            return unseal(self._vault_key, sealed).decode()
        except UnsealError as exc:
            raise IntegrityError(
                f"the vault entry of token {token} does not decrypt under tokenization key "
                f"{self.key_id}",
                remedy="set PODIUM_TOKENIZATION_KEY (or PODIUM_HOME/keys/tokenization.key) "
                "to the key the values were tokenized with",
                details={"key_id": self.key_id},
            ) from exc

    def __repr__(self) -> str:
        return f"Tokenizer(key_id={self.key_id!r})"


def _derive(material: bytes, label: bytes) -> bytes:
    return hmac.new(material, label, hashlib.sha256).digest()
