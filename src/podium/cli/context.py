"""How a command gets its settings, its installation or a platform (the CLI's composition root).

Settings are read once per invocation, on first use, by the :class:`CliState` the root
callback puts on the Click context. A command asks it for what it needs:

* :meth:`CliState.installation` for operator commands (``db``, ``projects``, ``keys``,
  ``audit``, ``up``) that work on the metadata database directly (their changes are
  audited through :meth:`CliState.record`, like the API's);
* :meth:`CliState.platform` for SDK-like commands (``runs``, ``data``, ``models``,
  ``webhooks``...): embedded by default, remote through :func:`podium.connect` when
  ``--url`` or ``PODIUM_URL`` is given.

Where to connect is declared once, here: :data:`CONNECTION_OPTIONS` (``--url``,
``--api-key``, ``--project``) are options of the root command (``podium --url X runs ls``)
and, added by :func:`add_connection_options`, of every command that uses them
(``podium runs ls --url X``); either way they land on the :class:`CliState`, so a
command never passes them around. Unset, they default to ``PODIUM_URL``,
``PODIUM_API_KEY`` and ``PODIUM_PROJECT``.

Whatever is opened is closed when the command ends.

The settings, the platform and the client are imported when a command first asks for
them, not when ``podium`` starts (``podium --help`` must not pay for them; ADR 0015).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
import typer.main
from typer.core import TyperOption

from podium.errors import InvalidInputError

if TYPE_CHECKING:
    from podium.config import Settings
    from podium.platform import Installation, Platform

__all__ = [
    "CONNECTION_OPTIONS",
    "ApiKeyOption",
    "CliState",
    "ConnectionOption",
    "ProjectOption",
    "UrlOption",
    "add_connection_options",
    "cli_state",
    "connection_params",
]

Connection = Literal["url", "api_key", "project"]


@dataclass(frozen=True)
class ConnectionOption:
    """One option saying where a command works: stored on the :class:`CliState`."""

    name: Connection
    decls: tuple[str, ...]
    help: str


CONNECTION_OPTIONS: tuple[ConnectionOption, ...] = (
    ConnectionOption(
        "url",
        ("--url",),
        "A podium server, e.g. http://127.0.0.1:8000 (default PODIUM_URL; unset means "
        "embedded under PODIUM_HOME).",
    ),
    ConnectionOption(
        "api_key",
        ("--api-key",),
        "Key for the server (default PODIUM_API_KEY, then $PODIUM_HOME/credentials). "
        "Prefer the environment variable: options show up in the process list.",
    ),
    ConnectionOption(
        "project",
        ("--project", "-p"),
        "Project to work in (default PODIUM_PROJECT, or the key's project).",
    ),
)
"""The connection options, declared once for every command."""

_PANEL = "Connection"


def _store(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> None:
    """Put a connection option given on the command line on the invocation's state."""
    if value is not None and param.name is not None:
        setattr(cli_state(ctx), param.name, value)


def _declared(option: ConnectionOption, *, stored: bool) -> Any:
    """``option`` as a typer parameter: stored on the state, or passed to the command."""
    if not stored:
        return typer.Option(*option.decls, help=option.help, show_default=False)
    return typer.Option(
        *option.decls,
        help=option.help,
        show_default=False,
        expose_value=False,
        callback=_store,
        rich_help_panel=_PANEL,
    )


_URL, _API_KEY, _PROJECT = CONNECTION_OPTIONS


def _connection(
    url: Annotated[str | None, _declared(_URL, stored=True)] = None,
    api_key: Annotated[str | None, _declared(_API_KEY, stored=True)] = None,
    project: Annotated[str | None, _declared(_PROJECT, stored=True)] = None,
) -> None:
    """Only its parameters matter: the Click options typer builds from them."""


def connection_params(names: Iterable[Connection] | None = None) -> list[TyperOption]:
    """Fresh Click options for ``names`` (default: all three), stored on the state."""
    wanted = set(names) if names is not None else {o.name for o in CONNECTION_OPTIONS}
    holder = typer.Typer(add_completion=False)
    holder.command()(_connection)
    built = typer.main.get_command(holder)
    return [p for p in built.params if isinstance(p, TyperOption) and p.name in wanted]


def add_connection_options(command: Any, names: Iterable[Connection] | None = None) -> None:
    """Give every command under ``command`` (itself included when it is no group) the
    connection options ``names``, unless it declares an option of that name itself."""
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for sub in subcommands.values():
            add_connection_options(sub, names)
        return
    taken = {param.name for param in command.params}
    command.params.extend(p for p in connection_params(names) if p.name not in taken)


# The same options as parameters, for a command that wants a value itself (none does now).
UrlOption = Annotated[str | None, _declared(_URL, stored=False)]
ApiKeyOption = Annotated[str | None, _declared(_API_KEY, stored=False)]
ProjectOption = Annotated[str | None, _declared(_PROJECT, stored=False)]


class CliState:
    """What one CLI invocation has opened; closed by :meth:`close` when it ends."""

    def __init__(self) -> None:
        self.url: str | None = None
        """The server given with ``--url`` (``None``: ``PODIUM_URL``, else embedded)."""
        self.api_key: str | None = None
        """The key given with ``--api-key`` (``None``: ``PODIUM_API_KEY``, credentials)."""
        self.project: str | None = None
        """The project given with ``--project`` (``None``: ``PODIUM_PROJECT``)."""
        self._settings: Settings | None = None
        self._installation: Installation | None = None
        self._remote: list[Platform] = []

    @property
    def settings(self) -> Settings:
        """The settings, read from the environment on first use."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def project_name(self) -> str:
        """The project an operator command works on: ``--project``, else PODIUM_PROJECT."""
        return self.project or self.settings.project

    def require_project(self) -> str:
        """The project named by ``--project`` or ``PODIUM_PROJECT``, never a default one
        (for commands where a wrong project would do harm, like ``podium keys``)."""
        if self.project is not None:
            return self.project
        if "project" in self.settings.model_fields_set:
            return self.settings.project
        raise InvalidInputError(
            "this command needs a project; got none",
            field="project",
            remedy="pass --project NAME (or set PODIUM_PROJECT)",
        )

    def installation(self, *, migrate: bool = True) -> Installation:
        """The installation under the settings, migrated on open unless ``migrate=False``.

        Operator commands work on the metadata database directly, so a ``--url`` given
        on the command line is refused rather than ignored.
        """
        if self.url is not None:
            raise InvalidInputError(
                f"this command works on the installation under PODIUM_HOME, not on a server; "
                f"got --url {self.url} instead",
                field="url",
                remedy="run it on the server's machine (same PODIUM_HOME or "
                "PODIUM_DATABASE_URL) without --url",
            )
        return self._open_installation(migrate=migrate)

    def _open_installation(self, *, migrate: bool = True) -> Installation:
        if self._installation is None:
            from podium.platform import Installation  # on first use: see the module doc

            self._installation = Installation(self.settings, migrate=migrate)
        return self._installation

    def platform(
        self, *, url: str | None = None, api_key: str | None = None, project: str | None = None
    ) -> Platform:
        """A platform: embedded unless ``--url`` (or ``PODIUM_URL``) names a server.

        ``url``, ``api_key`` and ``project`` override the command line's options.
        """
        settings = self.settings
        url = url or self.url or settings.url
        api_key = api_key or self.api_key
        project = project or self.project
        if url is None:
            installation = self._open_installation()
            if project is not None:
                installation.projects.get(project)  # reading never creates a project
            return installation.platform(project)
        key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
        from podium.connection import connect  # on first use: see the module doc

        remote = connect(url, api_key=key, project=project, home=settings.home)
        self._remote.append(remote)
        return remote

    @property
    def actor(self) -> str:
        """Who the audit log names for changes made from this command line."""
        try:
            return f"local:{getpass.getuser()}"
        except (KeyError, OSError):
            return "local:unknown"

    def record(self, project: str, *, action: str, target: str) -> None:
        """Audit a change an operator command made (the API audits its own requests)."""
        installation = self.installation()
        installation.audit.record(
            project_id=installation.projects.get(project).id,
            actor=self.actor,
            action=action,
            target=target,
            detail={"via": "cli"},
        )

    def close(self) -> None:
        """Close every platform and the installation this invocation opened."""
        for remote in self._remote:
            remote.close()
        self._remote.clear()
        if self._installation is not None:
            self._installation.close()
            self._installation = None


def cli_state(ctx: typer.Context) -> CliState:
    """The state of this invocation (the root callback creates it)."""
    return ctx.ensure_object(CliState)


def load_settings() -> Settings:
    """Read :class:`Settings` from the environment; a bad value is an InvalidInputError."""
    from pydantic import ValidationError  # on first use: see the module doc

    from podium.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "PODIUM_" + "_".join(str(part) for part in first["loc"]).upper()
        raise InvalidInputError(
            f"the setting {name} is invalid ({first['msg'].lower()}); "
            f"got {first.get('input')!r} instead",
            field=name,
            remedy=f"fix or unset {name}",
        ) from None
