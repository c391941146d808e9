"""``podium config``: the effective settings, secrets redacted."""

from __future__ import annotations

import typer

from podium.cli.context import cli_state
from podium.cli.render import console, table
from podium.config import Settings

__all__ = ["config"]


def config(ctx: typer.Context) -> None:
    """Show every setting by its environment variable, its value (secrets redacted) and meaning."""
    settings = cli_state(ctx).settings
    out = table(None, "setting", "value", "meaning", wide=True, long_text=("value", "meaning"))
    fields = Settings.model_fields
    for name, value in settings.redacted().items():
        info = fields.get(name)
        shown = "-" if value is None else str(value)
        out.add_row(f"PODIUM_{name.upper()}", shown, (info.description or "") if info else "")
    console().print(out)
