"""Webhook signatures: receivers can tell a genuine body from a forged one."""

from __future__ import annotations

import hashlib
import hmac

from podium.events import sign, verify_signature


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = b'{"id":1}'
    expected = hmac.new(b"s3cret-s3cret-s3cret", body, hashlib.sha256).hexdigest()
    assert sign("s3cret-s3cret-s3cret", body) == f"sha256={expected}"


def test_verify_signature_accepts_the_right_one_only() -> None:
    header = sign("right-secret-0123", b"body")
    assert verify_signature("right-secret-0123", b"body", header)
    assert not verify_signature("wrong-secret-0123", b"body", header)
    assert not verify_signature("right-secret-0123", b"body!", header)
    assert not verify_signature("right-secret-0123", b"body", header.removeprefix("sha256="))
    assert not verify_signature("right-secret-0123", b"body", "")
    assert not verify_signature("right-secret-0123", b"body", None)
