"""Fixtures of the Open Inference Protocol tests: deployment ``churn`` (version 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.platform import Platform


@pytest.fixture
def deployed_churn(churn_models: Platform) -> None:
    """Deployment ``churn`` serving ``churn/1`` alone."""
    churn_models.deployments.create("churn", model="churn/1")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the protocol does not touch the metadata database."""
    return f"sqlite:///{tmp_path / 'podium.db'}"
