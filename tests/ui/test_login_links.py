"""One-time login links: they work once, and not after they expire."""

from __future__ import annotations

from pathlib import Path

from podium.ui.login_links import consume_login_link, issue_login_link, login_url


def test_a_link_logs_in_once(tmp_path: Path) -> None:
    token = issue_login_link(tmp_path, project="default")
    grant = consume_login_link(tmp_path, token)
    assert grant is not None and grant.project == "default"
    assert consume_login_link(tmp_path, token) is None


def test_an_expired_or_unknown_link_logs_nobody_in(tmp_path: Path) -> None:
    expired = issue_login_link(tmp_path, project="default", seconds=-1)
    assert consume_login_link(tmp_path, expired) is None
    assert consume_login_link(tmp_path, "made-up") is None
    assert consume_login_link(tmp_path, "") is None


def test_only_the_token_s_hash_is_kept(tmp_path: Path) -> None:
    token = issue_login_link(tmp_path, project="default")
    stored = list((tmp_path / "ui-login").iterdir())
    assert len(stored) == 1
    assert token not in stored[0].name and token not in stored[0].read_text()


def test_the_link_points_at_the_login_page() -> None:
    assert login_url("http://127.0.0.1:8000/", "abc") == "http://127.0.0.1:8000/ui/login?token=abc"
