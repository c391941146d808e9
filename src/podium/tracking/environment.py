"""What a run captures about where it ran: git commit, Python, platform, packages."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["capture_environment"]

_PACKAGES = ("podium", "numpy", "pandas", "scikit-learn", "pyarrow", "torch", "xgboost")


def capture_environment(cwd: Path | None = None) -> dict[str, Any]:
    """A JSON-ready description of this process's environment."""
    packages: dict[str, str] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
    }
    commit = _git_commit(cwd or Path.cwd())
    if commit:
        env["git_commit"] = commit
    return env


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
