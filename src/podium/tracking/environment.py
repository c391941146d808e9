"""What a run captures about where it ran: git commit, Python, platform, packages."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["capture_environment"]

_PACKAGES = ("podium", "numpy", "pandas", "scikit-learn", "pyarrow", "torch", "xgboost")


def capture_environment(cwd: Path | None = None) -> dict[str, Any]:
    """A JSON-ready description of this process's environment."""
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": dict(_package_versions()),
    }
    commit = _git_commit_cached(cwd or Path.cwd())
    if commit:
        env["git_commit"] = commit
    return env


@functools.cache
def _package_versions() -> tuple[tuple[str, str], ...]:
    # Installed versions do not change under a running process; looking up a missing
    # package scans every installed one, so this is done once.
    found = []
    for name in _PACKAGES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)


_GIT_TTL_SECONDS = 10.0
_git_cache: dict[Path, tuple[float, str | None]] = {}


def _git_commit_cached(cwd: Path) -> str | None:
    # A subprocess per run is ~3 ms; a commit made in the last few seconds may be missed.
    now = time.monotonic()
    cached = _git_cache.get(cwd)
    if cached is not None and now - cached[0] < _GIT_TTL_SECONDS:
        return cached[1]
    commit = _git_commit(cwd)
    _git_cache[cwd] = (now, commit)
    return commit


def _git_commit(cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None
