"""The root command lists every command by a summary and loads it only when it runs."""

from __future__ import annotations

import inspect

import pytest
import typer
import typer.main

from podium.cli.app import COMMANDS, app
from podium.cli.lazy_group import LazyCommand


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_summary_is_the_commands_own(name: str) -> None:
    """``podium --help`` shows the summary written in app.py; it must not drift from the
    help the command itself has (its Typer help or its docstring)."""
    loaded = COMMANDS[name].load(name)
    own = inspect.cleandoc(loaded.help or "").split("\n\n")[0].replace("\n", " ")
    assert COMMANDS[name].summary == own


def test_every_command_module_is_in_the_table() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    assert root.list_commands(typer.Context(root)) == list(COMMANDS)


def test_a_function_and_a_group_load_as_commands() -> None:
    single = LazyCommand("podium.cli.config:config", "x").load("config")
    assert single.name == "config" and not isinstance(single, typer.core.TyperGroup)
    group = LazyCommand("podium.cli.experiments:app", "x").load("experiments")
    assert isinstance(group, typer.core.TyperGroup) and group.name == "experiments"
    assert "list" in group.commands  # a one-command group stays a group
