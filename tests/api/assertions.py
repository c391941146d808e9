"""What every error answer of the API must look like."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_MEMBERS = ("type", "title", "status", "detail", "remedy")


def assert_problem(response: httpx.Response, status: int, *, code: str | None = None) -> Any:
    """``response`` is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    body = response.json()
    for member in PROBLEM_MEMBERS:
        assert body.get(member), f"problem member {member!r} missing in {body}"
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code
        assert body["type"].endswith("/" + code)
    return body
