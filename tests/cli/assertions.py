"""What every CLI test checks the same way: the shape of an error."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

__all__ = ["Invoke", "assert_one_error"]

Invoke = Callable[..., Result]


def assert_one_error(result: Result, message: str) -> None:
    """Exit code 1, ``error: <message>`` then an optional ``hint:``, and no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {message}"
    assert len(lines) <= 2
    assert all(line.startswith("hint: ") for line in lines[1:])
    assert "Traceback" not in result.output
