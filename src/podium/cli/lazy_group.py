"""A command group whose commands are imported when they run, not when ``podium`` starts.

Each command module imports what its commands use (the platform, the client, pyarrow,
the registry...): about two seconds before the first line of output if ``podium --help``
imported them all. :class:`LazyGroup` knows each command by its module path and a
one-line summary, which is all ``podium --help`` shows; ``podium runs ls`` imports
``podium.cli.runs`` alone (ADR 0015). ``tests/cli/test_lazy_group.py`` checks that every
summary is its command's own. A command that works on a platform or a project gets its
connection options (``--url``, ``--api-key``, ``--project``) here, when it is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup, TyperOption

from podium.cli.context import Connection, add_connection_options

__all__ = ["LazyCommand", "LazyGroup", "hide_flag_types"]


@dataclass(frozen=True)
class LazyCommand:
    """A command known by ``summary`` until it runs, then loaded from ``target``.

    ``target`` is ``"module:attribute"``: a :class:`typer.Typer` (a command group) or a
    function (one command). ``connection`` names the connection options every command
    of it takes (see :func:`~podium.cli.context.add_connection_options`).
    """

    target: str
    summary: str
    connection: tuple[Connection, ...] = ()

    def load(self, name: str) -> TyperCommand | TyperGroup:
        """Import the target and build its command, named ``name``."""
        module, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        command: TyperCommand | TyperGroup
        if isinstance(found, typer.Typer):
            command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)
            single.command(name)(found)
            command = cast(TyperCommand, typer.main.get_command(single))
        command.name = name
        if self.connection:
            add_connection_options(command, self.connection)
        hide_flag_types(command)
        return command


class _Summary(TyperCommand):
    """What ``podium --help`` lists for a command not loaded yet: its name and summary."""


class LazyGroup(TyperGroup):
    """A :class:`TyperGroup` that also holds the commands of :attr:`lazy_commands`."""

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, lazy in self.lazy_commands.items():
            self.commands.setdefault(name, _Summary(name=name, help=lazy.summary))
        self._listing = False

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        found = self.commands.get(cmd_name)
        if isinstance(found, _Summary) and not self._listing:
            found = self.commands[cmd_name] = self.lazy_commands[cmd_name].load(cmd_name)
        return found

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        hide_flag_types(self)  # here: typer adds --install-completion after __init__
        self._listing = True  # the list of commands needs their summaries only
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def hide_flag_types(command: Any) -> None:
    """Show no value type after a flag, nor after ``--help`` (typer's help says ``<bool>``,
    as if ``--evaluate`` took a value), in ``command`` and every command below it."""
    options = list(command.params)
    help_option = command.get_help_option(typer.Context(command))
    if help_option is not None:
        options.append(help_option)
    for option in options:
        if isinstance(option, TyperOption) and option.is_flag and option.metavar is None:
            option.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        if not isinstance(sub, _Summary):
            hide_flag_types(sub)
