"""The AES-GCM envelope podium stores encrypted bytes in: a header, then sealed chunks.

Layout (all integers big-endian)::

    magic    7 bytes   b"PDMENC" + version 0x01
    key id   8 bytes   which key sealed it (see :func:`key_id`), so a reader can say which
    nonce    7 bytes   random per envelope
    chunk    4 bytes   plaintext bytes per chunk (the last chunk may be shorter, or empty)
    chunks   each AES-256-GCM(plaintext chunk) + its 16-byte tag

Chunk ``i`` is sealed under the nonce ``nonce || i (4 bytes) || last (1 byte)`` with the
header as associated data (the STREAM construction): chunks cannot be reordered, dropped,
moved between envelopes, nor the envelope cut short at a chunk boundary. Chunking lets big
files be encrypted as a stream, never whole in memory. The sealed size of ``n`` plaintext
bytes is a function of ``n`` alone (:func:`sealed_size`), so a store can tell whether a
blob is already stored without reading it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "CHUNK_SIZE",
    "HEADER_SIZE",
    "MAGIC",
    "Header",
    "UnsealError",
    "key_id",
    "read_header",
    "seal",
    "seal_chunks",
    "sealed_size",
    "unseal",
]

MAGIC = b"PDMENC\x01"
KEY_ID_SIZE = 8
_NONCE_PREFIX = 7
HEADER_SIZE = len(MAGIC) + KEY_ID_SIZE + _NONCE_PREFIX + 4
CHUNK_SIZE = 1024 * 1024
"""Plaintext bytes per sealed chunk."""
TAG_SIZE = 16


class UnsealError(Exception):
    """The envelope does not open under the key given: wrong key, or damaged bytes."""


@dataclass(frozen=True)
class Header:
    """The readable part of an envelope: who sealed it and how it is chunked."""

    key_id: str
    nonce_prefix: bytes
    chunk_size: int
    raw: bytes


def key_id(key: bytes) -> str:
    """The public id of a key: 16 hex characters of a hash of it (it reveals nothing)."""
    return hashlib.sha256(b"podium-encryption-key-id\x00" + key).hexdigest()[: KEY_ID_SIZE * 2]


def sealed_size(plain_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """How many bytes an envelope of ``plain_size`` plaintext bytes takes."""
    chunks = max(1, -(-plain_size // chunk_size))
    return HEADER_SIZE + plain_size + chunks * TAG_SIZE


def read_header(data: bytes) -> Header | None:
    """The header at the start of ``data``, or None when ``data`` is no envelope."""
    if len(data) < HEADER_SIZE or not data.startswith(MAGIC):
        return None
    at = len(MAGIC)
    kid = data[at : at + KEY_ID_SIZE].hex()
    at += KEY_ID_SIZE
    prefix = data[at : at + _NONCE_PREFIX]
    chunk_size = int.from_bytes(data[at + _NONCE_PREFIX : HEADER_SIZE], "big")
    if chunk_size == 0:
        return None
    return Header(kid, prefix, chunk_size, bytes(data[:HEADER_SIZE]))


def seal_chunks(
    key: bytes, plaintext: Iterable[bytes], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """The envelope of the concatenated ``plaintext`` pieces, as a stream of byte strings.

    Holds at most two chunks in memory whatever the input's size.
    """
    prefix = os.urandom(_NONCE_PREFIX)
    header = MAGIC + bytes.fromhex(key_id(key)) + prefix + chunk_size.to_bytes(4, "big")
    aead = AESGCM(key)
    yield header
    index = 0
    pending: bytes | None = None
    for piece in _rechunked(plaintext, chunk_size):
        if pending is not None:
            yield aead.encrypt(_nonce(prefix, index, last=False), pending, header)
            index += 1
        pending = piece
    yield aead.encrypt(_nonce(prefix, index, last=True), pending or b"", header)


def seal(key: bytes, plaintext: bytes) -> bytes:
    """The envelope of ``plaintext`` under ``key`` (32 bytes), in one piece."""
    return b"".join(seal_chunks(key, (plaintext,)))


def unseal(key: bytes, data: bytes) -> bytes:
    """The plaintext of the envelope ``data``; UnsealError if it does not open under ``key``."""
    header = read_header(data)
    if header is None:
        raise UnsealError("the bytes are not a podium envelope")
    aead = AESGCM(key)
    step = header.chunk_size + TAG_SIZE
    body = memoryview(data)[HEADER_SIZE:]
    if len(body) < TAG_SIZE:
        raise UnsealError("the envelope is cut short")
    out: list[bytes] = []
    index = 0
    at = 0
    try:
        while True:
            last = len(body) - at <= step
            piece = body[at : at + step] if not last else body[at:]
            out.append(
                aead.decrypt(_nonce(header.nonce_prefix, index, last=last), piece, header.raw)
            )
            if last:
                return out[0] if len(out) == 1 else b"".join(out)
            at += step
            index += 1
    except InvalidTag as exc:
        raise UnsealError(f"chunk {index} does not open under this key") from exc


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _rechunked(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The bytes of ``pieces`` again, in chunks of exactly ``size`` (the last may be short)."""
    buffer = bytearray()
    for piece in pieces:
        if not buffer and len(piece) == size:
            yield bytes(piece)
            continue
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
