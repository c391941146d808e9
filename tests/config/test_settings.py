"""Settings: zero configuration, env prefix PODIUM_, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.config import Settings


def test_everything_is_embedded_under_home_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.home == Path(".podium")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / '.podium' / 'podium.db'}"
    assert settings.resolved_storage_url == (tmp_path / ".podium" / "artifacts").as_uri()
    assert settings.credentials_path == Path(".podium") / "credentials"


def test_env_vars_with_the_prefix_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_DATABASE_URL", "postgresql://u:hunter2@db/podium")
    monkeypatch.setenv("PODIUM_API_KEY", "pdm_x_secret")
    monkeypatch.setenv("PODIUM_PORT", "9000")
    settings = Settings()
    assert settings.port == 9000
    shown = settings.redacted()
    assert "hunter2" not in str(shown) and "pdm_x_secret" not in str(shown)
    assert shown["database_url"] == "postgresql://u:********@db/podium"
    assert shown["api_key"] == "********"
