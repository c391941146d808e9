"""How a command gets its settings, its installation or a platform (the CLI's composition root).

Settings are read once per invocation, on first use, by the :class:`CliState` the root
callback puts on the Click context. A command asks it for what it needs:

* :meth:`CliState.installation` for operator commands (``db``, ``projects``, ``keys``,
  ``audit``, ``up``) that work on the metadata database directly (their changes are
  audited through :meth:`CliState.record`, like the API's);
* :meth:`CliState.platform` for SDK-like commands (``runs``, ``experiments``): embedded by
  default, remote through :func:`podium.connect` when ``--url`` or ``PODIUM_URL`` is given.

Whatever is opened is closed when the command ends.

The settings, the platform and the client are imported when a command first asks for
them, not when ``podium`` starts (``podium --help`` must not pay for them; ADR 0015).
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from podium.errors import InvalidInputError

if TYPE_CHECKING:
    from podium.config import Settings
    from podium.platform import Installation, Platform

__all__ = ["ApiKeyOption", "CliState", "ProjectOption", "UrlOption", "cli_state"]

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="A podium server, e.g. http://127.0.0.1:8000 (default PODIUM_URL; unset means "
        "embedded under PODIUM_HOME).",
        show_default=False,
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="Key for the server (default PODIUM_API_KEY, then $PODIUM_HOME/credentials). "
        "Prefer the environment variable: options show up in the process list.",
        show_default=False,
    ),
]
ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        help="Project to work in (default PODIUM_PROJECT, or the key's project).",
        show_default=False,
    ),
]


class CliState:
    """What one CLI invocation has opened; closed by :meth:`close` when it ends."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._installation: Installation | None = None
        self._remote: list[Platform] = []

    @property
    def settings(self) -> Settings:
        """The settings, read from the environment on first use."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def installation(self, *, migrate: bool = True) -> Installation:
        """The installation under the settings, migrated on open unless ``migrate=False``."""
        if self._installation is None:
            from podium.platform import Installation  # on first use: see the module doc

            self._installation = Installation(self.settings, migrate=migrate)
        return self._installation

    def platform(
        self, *, url: str | None = None, api_key: str | None = None, project: str | None = None
    ) -> Platform:
        """A platform: embedded unless ``url`` (or ``PODIUM_URL``) names a server."""
        settings = self.settings
        url = url or settings.url
        if url is None:
            installation = self.installation()
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
