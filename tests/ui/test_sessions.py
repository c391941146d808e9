"""The signed session cookie, its CSRF token and the server secret."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from podium.access.roles import Principal, Role
from podium.ui.sessions import Session, SessionCodec, load_server_secret

ALICE = Principal(actor="key:abc (alice)", project_id=3, project="churn", role=Role.READER,
                  key_id="abc")  # fmt: skip


def test_a_session_survives_the_round_trip_and_names_the_same_principal() -> None:
    codec = SessionCodec(b"s" * 32)
    session = Session.start(ALICE)
    assert codec.decode(codec.encode(session)) == session
    assert session.principal == ALICE


def test_a_tampered_session_is_no_session() -> None:
    codec = SessionCodec(b"s" * 32)
    value = codec.encode(Session.start(ALICE))
    body, signature = value.split(".")
    admin = Session.start(Principal("x", 3, "churn", Role.ADMIN))
    forged = codec.encode(admin).split(".")[0] + "." + signature
    assert codec.decode(forged) is None
    assert SessionCodec(b"t" * 32).decode(value) is None  # another server's secret
    assert codec.decode(body) is None
    assert codec.decode("") is None


def test_an_expired_session_is_no_session() -> None:
    codec = SessionCodec(b"s" * 32)
    value = codec.encode(Session.start(ALICE, seconds=60))
    assert codec.decode(value, now=time.time() + 61) is None


def test_the_csrf_token_belongs_to_one_session() -> None:
    codec = SessionCodec(b"s" * 32)
    token = codec.csrf_token("session-1")
    assert codec.check_csrf("session-1", token)
    assert not codec.check_csrf("session-2", token)
    assert not codec.check_csrf("session-1", None)
    assert not codec.check_csrf("session-1", "")


def test_the_server_secret_is_made_once_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    first = load_server_secret(tmp_path)
    assert load_server_secret(tmp_path) == first
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / "ui-secret").stat().st_mode) == 0o600
