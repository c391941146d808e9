"""The suite ignores the user's podium settings: tests must pass with PODIUM_HOME set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tests


def test_the_settings_tests_pass_with_the_users_podium_variables(tmp_path: Path) -> None:
    root = Path(tests.__file__).parent.parent
    users = {
        "PODIUM_HOME": str(tmp_path / "elsewhere"),
        "PODIUM_PROJECT": "someone-elses",
        "PODIUM_PORT": "9999",
        "PODIUM_URL": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/config/test_settings.py",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=root,
        env={**os.environ, **users},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
