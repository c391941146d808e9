"""Every command explains itself: each option has help, and no flag looks like it takes a
value (typer's help showed ``--evaluate <bool>``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
import typer.main
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from podium.cli.app import app


def _commands() -> Iterator[tuple[list[str], typer.core.TyperCommand | TyperGroup]]:
    root = typer.main.get_command(app)
    context = typer.Context(root)

    def walk(path: list[str], command: object) -> Iterator[tuple[list[str], object]]:
        yield path, command
        if isinstance(command, TyperGroup):
            for name in command.list_commands(context):
                yield from walk([*path, name], command.get_command(context, name))

    yield from walk([], root)  # type: ignore[misc]


COMMANDS = list(_commands())


def test_the_walk_reaches_every_command() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"runs ls", "monitor rules add", "webhooks add", "deploy create"} <= paths
    assert {"runs list", "models webhooks add"} <= paths  # the hidden names before


@pytest.mark.parametrize(
    "path, command", COMMANDS, ids=[" ".join(p) or "podium" for p, _ in COMMANDS]
)
def test_every_option_has_help(path: list[str], command: typer.core.TyperCommand) -> None:
    missing = [
        param.opts[0]
        for param in command.params
        if isinstance(param, TyperOption) and not param.hidden and not (param.help or "").strip()
    ]
    assert missing == [], f"podium {' '.join(path)}: options without help"


@pytest.mark.parametrize(
    "path, command", COMMANDS, ids=[" ".join(p) or "podium" for p, _ in COMMANDS]
)
def test_no_flag_shows_a_value_type(
    path: list[str], command: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    shown = CliRunner().invoke(app, [*path, "--help"])
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
