"""HMAC-SHA256 signatures of webhook bodies, for the sender and for receivers.

Every webhook request carries ``X-Podium-Signature: sha256=<hex>``, the HMAC-SHA256 of
the exact request body keyed with the webhook's secret. A receiver checks it with
:func:`verify_signature` before trusting the body::

    if not verify_signature(secret, request.body, request.headers["X-Podium-Signature"]):
        return 401
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Podium-Signature"
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex digest>``."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant time)."""
    if not header or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())
