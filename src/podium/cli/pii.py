"""``podium data detokenize`` and ``podium data pii``: the pii columns of a table.

Registered in the ``podium data`` group (:mod:`podium.cli.data`). Detokenizing needs an
admin (embedded: the local user is one; on a server: an admin key); every call is audited.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from podium.cli.catalog import TableArgument
from podium.cli.context import cli_state
from podium.cli.render import console

__all__ = ["detokenize", "pii_columns"]


def detokenize(
    ctx: typer.Context,
    name: TableArgument,
    column: Annotated[str, typer.Argument(help="The pii column the tokens come from.")],
    tokens: Annotated[list[str], typer.Argument(help="Tokens (tok_...) to turn into values.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON object {token: value}.")
    ] = False,
) -> None:
    """Print the clear values of pii tokens (admins only; audited)."""
    values = cli_state(ctx).platform().data.detokenize(name, column, tokens)
    if as_json:
        typer.echo(json.dumps(dict(zip(tokens, values, strict=True)), indent=2))
        return
    out = console()
    for token, value in zip(tokens, values, strict=True):
        out.print(f"{token}\t{'(unknown token)' if value is None else value}", markup=False)


def pii_columns(ctx: typer.Context, name: TableArgument) -> None:
    """List the columns of a table stored as pii tokens."""
    columns = cli_state(ctx).platform().data.pii_columns(name)
    console().print("\n".join(columns) if columns else f"{name} has no pii columns", markup=False)
