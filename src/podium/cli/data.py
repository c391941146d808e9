"""``podium data``: the project's lake tables, its warehouse SQL and its catalog.

The lake and warehouse commands are here (``history``, ``sql``, ``ingest``, ``optimize``,
``vacuum``, ``restore``); the catalog's (``ls``, ``describe``, ``search``, ``lineage``)
are in :mod:`podium.cli.catalog`, registered in this same group. Embedded by default, on
a server with ``--url``, like ``podium runs``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from podium.cli import catalog, pii
from podium.cli.catalog import TableArgument, format_bytes, format_rows
from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, table
from podium.data.lake import SchemaMode, WriteMode
from podium.data.maintenance import MIN_RETAIN_HOURS
from podium.errors import InvalidInputError
from podium.platform import Platform

__all__ = ["app"]

app = typer.Typer(
    help="Lake tables, warehouse SQL and the catalog: ls, describe, history, sql, ingest, "
    "optimize, vacuum, restore, search, lineage, pii, detokenize.",
    no_args_is_help=True,
)

SqlFormat = Literal["table", "csv", "json"]
_NUMERIC = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
_INGEST_VERB = {"append": "appended", "overwrite": "wrote", "merge": "merged"}


def _platform(ctx: typer.Context) -> Platform:
    return cli_state(ctx).platform()


app.command("ls")(catalog.list_tables)
app.command("describe")(catalog.describe)


@app.command("history")
def history(
    ctx: typer.Context,
    name: TableArgument,
) -> None:
    """Show every commit of a table, newest first (read an old one with name@N in sql)."""
    entries = _platform(ctx).data.history(name)
    commits = table(
        f"history of {name}",
        "version",
        "time (UTC)",
        "operation",
        "+rows",
        "-rows",
        "~rows",
        "actor",
    )
    for entry in reversed(entries):
        commits.add_row(
            str(entry.version),
            format_datetime(entry.timestamp),
            entry.operation,
            _count(entry.rows_added),
            _count(entry.rows_removed),
            _count(entry.rows_updated),
            entry.actor or "-",
        )
    commits.caption = "+ added, - removed, ~ updated rows"
    console().print(commits)


@app.command("sql")
def sql(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            help="One read-only query; tables by name, past versions as name@N, e.g. "
            '"SELECT contract, avg(churned) FROM raw.customers GROUP BY 1".'
        ),
    ],
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Rows to show (0 shows every row).")
    ] = 50,
    output: Annotated[
        SqlFormat, typer.Option("--format", "-f", help="table, csv or json (a list of rows).")
    ] = "table",
) -> None:
    """Run warehouse SQL (DuckDB) over the project's tables and show the result."""
    result = _platform(ctx).data.sql(query)
    shown = result if limit == 0 else result.slice(0, limit)
    more = result.num_rows - shown.num_rows
    note = f"{_rows_text(result.num_rows)} returned"
    if more:
        note += f"; showing the first {format_rows(shown.num_rows)} (raise --limit, 0 for all)"
    if output == "csv":
        typer.echo(_as_csv(shown), nl=False)
    elif output == "json":
        typer.echo(json.dumps(shown.to_pylist(), default=str, indent=2))
    else:
        console().print(_as_table(shown))
    if output == "table":
        console().print(note)
    elif more:  # csv and json stay parseable: the note goes to stderr
        console(stderr=True).print(note)


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    name: TableArgument,
    file: Annotated[Path, typer.Argument(help="A .parquet, .csv or .jsonl (JSON lines) file.")],
    mode: Annotated[
        WriteMode, typer.Option("--mode", "-m", help="append, overwrite or merge (upsert).")
    ] = "append",
    key: Annotated[
        list[str] | None,
        typer.Option("--key", "-k", help="A column identifying a row, for --mode merge (repeat)."),
    ] = None,
    partition_by: Annotated[
        list[str] | None,
        typer.Option("--partition-by", help="Partition a new table by this column (repeat)."),
    ] = None,
    schema_mode: Annotated[
        SchemaMode | None,
        typer.Option(
            "--schema-mode",
            help="merge adds the file's new columns; overwrite (with --mode overwrite) "
            "replaces the schema. Without it a schema mismatch is refused.",
            show_default=False,
        ),
    ] = None,
    pii_column: Annotated[
        list[str] | None,
        typer.Option(
            "--pii", help="Store this column as pii tokens, now and in later writes (repeat)."
        ),
    ] = None,
) -> None:
    """Write a file into a table in one atomic commit and print the new version."""
    if mode == "merge" and not key:
        raise InvalidInputError(
            "--mode merge upserts on key columns; --key is missing",
            field="keys",
            remedy="add --key COLUMN (repeatable) naming the columns that identify a row",
        )
    data = _platform(ctx).data
    out = console()
    with out.status(f"ingesting {file.name} into {name} ({mode})"):
        try:
            written = data.write(
                name,
                file,
                mode=mode,
                keys=key,
                partition_by=partition_by,
                schema_mode=schema_mode,
                pii=pii_column,
            )
        except InvalidInputError as exc:
            if "differences" not in exc.details:  # only a schema mismatch gets a CLI hint
                raise
            raise InvalidInputError(
                exc.message,
                field=exc.field,
                remedy="make the file match the table, or add --schema-mode merge to add "
                "its new columns",
                details=exc.details,
            ) from exc
    out.print(f"{_INGEST_VERB[mode]} {_rows_text(written.rows_written)}: {written.ref}")


@app.command("optimize")
def optimize(
    ctx: typer.Context,
    name: TableArgument,
) -> None:
    """Compact a table's small files into larger ones; its content stays the same."""
    data = _platform(ctx).data
    out = console()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=out,
        transient=True,  # the summary below replaces it
        disable=not out.is_terminal,  # a live display only makes sense on a terminal
    )
    with progress:
        task = progress.add_task(f"optimizing {name}", total=None)
        result = data.optimize(name, progress=lambda line: progress.update(task, description=line))
    if not result.files_removed:
        out.print(f"nothing to compact: {result.name}@{result.version} is unchanged")
        return
    out.print(
        f"files removed: {result.files_removed} ({format_bytes(result.bytes_removed)}), "
        f"files added: {result.files_added} ({format_bytes(result.bytes_added)}); "
        f"now {result.name}@{result.version}"
    )


@app.command("vacuum")
def vacuum(
    ctx: typer.Context,
    name: TableArgument,
    retain_hours: Annotated[
        int,
        typer.Option("--retain-hours", min=0, help="Keep every file versions this recent use."),
    ] = MIN_RETAIN_HOURS,
    apply: Annotated[
        bool, typer.Option("--apply", help="Delete the files (without it: a dry run).")
    ] = False,
    no_retention_guard: Annotated[
        bool,
        typer.Option(
            "--no-retention-guard",
            help=f"Allow --retain-hours below {MIN_RETAIN_HOURS}, when no reader or writer "
            "still uses an older version.",
        ),
    ] = False,
) -> None:
    """List (or with --apply delete) files only versions older than --retain-hours use."""
    if retain_hours < MIN_RETAIN_HOURS and not no_retention_guard:
        raise InvalidInputError(
            f"--retain-hours {retain_hours} is below the {MIN_RETAIN_HOURS}-hour retention "
            f"guard: versions of '{name}' older than {retain_hours} hours would become unreadable",
            field="retain_hours",
            remedy=f"keep --retain-hours >= {MIN_RETAIN_HOURS}, or add --no-retention-guard "
            "if no reader or writer still uses an older version",
        )
    files = _platform(ctx).data.vacuum(
        name, retain_hours=retain_hours, dry_run=not apply, enforce_retention=not no_retention_guard
    )
    out = console()
    if not files:
        out.print(f"nothing to vacuum in {name}: no file is older than {retain_hours} hours")
        return
    listing = table(None, "file")
    for path in sorted(files):
        listing.add_row(path)
    out.print(listing)
    count = f"{len(files)} file{'' if len(files) == 1 else 's'}"
    if apply:
        out.print(f"deleted {count} from {name}")
    else:
        out.print(f"dry run: would delete {count} from {name}; add --apply to delete them")


@app.command("restore")
def restore(
    ctx: typer.Context,
    name: TableArgument,
    version: Annotated[int, typer.Argument(min=0, help="The version whose content to restore.")],
) -> None:
    """Make an old version's content the table's newest version (history is kept)."""
    restored = _platform(ctx).data.restore(name, version)
    if restored.version == version:
        console().print(f"{name} is already at version {version}; nothing to restore")
        return
    console().print(
        f"restored {name} to the content of version {version} "
        f"({_rows_text(restored.rows_written)}): {restored.ref}"
    )


app.command("search")(catalog.search)
app.command("detokenize")(pii.detokenize)
app.command("pii")(pii.pii_columns)
app.command("lineage")(catalog.lineage)


def _rows_text(count: int) -> str:
    return f"{format_rows(count)} row{'' if count == 1 else 's'}"


def _count(value: int | None) -> str:
    return "-" if value is None else format_rows(value)


def _rows(result: pa.Table) -> Iterator[tuple[object, ...]]:
    # By position, not as dicts: a query may return two columns of the same name.
    return zip(*(column.to_pylist() for column in result.columns), strict=True)


def _as_table(result: pa.Table) -> Table:
    out = table(None, *result.column_names)
    for column, field in zip(out.columns, result.schema, strict=True):
        if any(check(field.type) for check in _NUMERIC):
            column.justify = "right"
    for row in _rows(result):
        out.add_row(*(_cell(value) for value in row))
    return out


def _cell(value: object) -> Text | str:
    if value is None:
        return Text("NULL", style="dim")
    return str(value)


def _as_csv(result: pa.Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.column_names)
    for row in _rows(result):
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()
