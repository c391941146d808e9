"""``podium config``: every setting, secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.assertions import Invoke


def test_config_redacts_passwords_and_keys(
    invoke: Invoke, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_DATABASE_URL", "postgresql://bob:s3cret-pw@db:5432/podium")
    monkeypatch.setenv("PODIUM_API_KEY", "pdm_abc_very-secret")
    result = invoke("config")
    assert result.exit_code == 0, result.output
    assert "postgresql://bob:********@db:5432/podium" in result.stdout
    assert "s3cret-pw" not in result.output
    assert "very-secret" not in result.output
    assert "PODIUM_DATABASE_URL" in result.stdout
    assert str(home) in result.stdout
    assert not home.exists()  # showing settings opens nothing
