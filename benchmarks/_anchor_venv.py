"""A cached, throwaway virtualenv holding the tool a benchmark compares podium against.

The venv lives outside the repository (``~/.cache/podium-bench/<name>``) and is built once
with the interpreter running the benchmark, so both sides use the same Python. A marker
file records the Python version and the requirements it was built with; if either
changes, the venv is rebuilt.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["AnchorVenvError", "anchor_python", "default_venv_dir"]

_MARKER = ".podium-bench"


class AnchorVenvError(RuntimeError):
    """The venv could not be built (no network, package not found, ...)."""


def default_venv_dir(name: str) -> Path:
    """``~/.cache/podium-bench/<name>-venv``."""
    return Path.home() / ".cache" / "podium-bench" / f"{name}-venv"


def anchor_python(venv: Path, requirements: list[str], *, log: bool = True) -> Path:
    """The interpreter of ``venv`` with ``requirements`` installed (built on first use)."""
    python = venv / "bin" / "python"
    wanted = "\n".join([sys.version.split()[0], *requirements])
    marker = venv / _MARKER
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    if log:
        print(f"building {venv} with {' '.join(requirements)} (one-time)", file=sys.stderr)
    _run([sys.executable, "-m", "venv", str(venv)], "create the venv")
    _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *requirements],
        f"pip install {' '.join(requirements)}",
    )
    marker.write_text(wanted)  # written last: a half-built venv is rebuilt next time
    return python


def _run(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AnchorVenvError(f"could not {what}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise AnchorVenvError(
            f"could not {what} (exit {done.returncode}). This needs access to PyPI; "
            f"check the network or pip's index settings.\n--- last output ---\n{tail}"
        )
