"""``podium schemas``: the schema registry's subjects, versions and compatibility modes.

Embedded by default, on a server with ``--url``, like every area: the commands call
``p.events.schemas`` (:class:`podium.events.schemas.protocol.Schemas`). Schemas and
documents are JSON files (``-`` reads stdin); ``validate`` also takes JSON Lines
(``.jsonl``, one event a line) and reports every line that fails. ``check`` and
``validate`` exit 1 when the answer is no, so scripts and CI can gate on them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from podium.cli.context import cli_state
from podium.cli.render import JsonOption, console, format_datetime, print_json, table
from podium.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:  # `podium schemas --help` loads neither the client nor jsonschema
    from podium.events.schemas.protocol import Schemas

__all__ = ["app"]

app = typer.Typer(
    help="Schema registry: ls, register, show, versions, check, compatibility, validate, delete.",
    no_args_is_help=True,
)

SubjectArg = Annotated[str, typer.Argument(help="The subject, e.g. churn-in.")]
FileArg = Annotated[str, typer.Argument(metavar="FILE", help="A JSON file ('-' reads stdin).")]
_SHOWN_FAILURES = 20


def _schemas(ctx: typer.Context) -> tuple[Schemas, str]:
    platform = cli_state(ctx).platform()
    return platform.events.schemas, platform.project


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(
            f"no file {source!r}", field="FILE", remedy="give the path of a JSON file, or '-'"
        )
    return path.read_text(encoding="utf-8")


def _json(text: str, source: str, *, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line}" if line is not None else f"line {exc.lineno}"
        raise InvalidInputError(
            f"{source} is not JSON at {where}: {exc}",
            field="FILE",
            remedy="check the file with e.g. `python -m json.tool FILE`",
        ) from None


def _schema_file(source: str) -> Any:
    return _json(_read_text(source), source)


@app.command("ls")
def list_subjects(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's subjects with their compatibility mode and latest version."""
    schemas, project = _schemas(ctx)
    found = schemas.subjects()
    if as_json:
        print_json([s.model_dump(mode="json") for s in found])
        return
    out = table(
        f"schema subjects of project {project!r}",
        "subject",
        "compatibility",
        "latest",
        "versions",
        "updated",
    )
    for s in found:
        out.add_row(
            s.name,
            s.compatibility,
            str(s.latest_version),
            str(s.versions),
            format_datetime(s.updated_at),
        )
    console().print(out)


app.command("list", hidden=True)(list_subjects)


@app.command("register")
def register(
    ctx: typer.Context,
    subject: SubjectArg,
    source: FileArg,
    compatibility: Annotated[
        str | None,
        typer.Option(
            "--compatibility",
            "-c",
            help="Mode of a new subject: backward (default), forward, full, none, *_transitive.",
        ),
    ] = None,
) -> None:
    """Register FILE's JSON Schema as SUBJECT's next version, if compatible (idempotent)."""
    schema = _schema_file(source)
    schemas, _ = _schemas(ctx)
    before = _latest(schemas, subject)
    registered = schemas.register(subject, schema, compatibility=compatibility)
    if before is not None and registered.version <= before:
        typer.echo(f"{subject} already holds this schema as version {registered.version}")
        return
    typer.echo(f"registered {subject} version {registered.version}")


def _latest(schemas: Schemas, subject: str) -> int | None:
    try:
        return schemas.subject(subject).latest_version
    except NotFoundError:
        return None


@app.command("show")
def show(
    ctx: typer.Context,
    subject: SubjectArg,
    version: Annotated[
        int | None, typer.Option("--version", "-v", min=1, help="A version; default the latest.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one version of SUBJECT (default the latest) and its JSON Schema."""
    schemas, _ = _schemas(ctx)
    found = schemas.get(subject, version)
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    mode = schemas.subject(subject).compatibility
    typer.echo(
        f"{found.subject} version {found.version} (compatibility {mode}, "
        f"registered {format_datetime(found.created_at)} by {found.created_by or '-'}, "
        f"sha256 {found.fingerprint[:12]})"
    )
    typer.echo(json.dumps(found.json_schema, indent=2))


@app.command("versions")
def versions(ctx: typer.Context, subject: SubjectArg, as_json: JsonOption = False) -> None:
    """List every version of SUBJECT, oldest first."""
    schemas, _ = _schemas(ctx)
    found = schemas.versions(subject)
    if as_json:
        print_json([v.model_dump(mode="json") for v in found])
        return
    out = table(f"versions of {subject!r}", "version", "fingerprint", "registered by", "at")
    for v in found:
        out.add_row(str(v.version), v.fingerprint[:12], v.created_by, format_datetime(v.created_at))
    console().print(out)


@app.command("check")
def check(ctx: typer.Context, subject: SubjectArg, source: FileArg) -> None:
    """Tell whether FILE's schema could be registered under SUBJECT, and why not (exit 1)."""
    schema = _schema_file(source)
    schemas, _ = _schemas(ctx)
    found = schemas.check(subject, schema)
    if found.existing_version is not None:
        typer.echo(f"{subject} already holds this schema as version {found.existing_version}")
        return
    against = ", ".join(str(v) for v in found.against) or "none"
    if found.compatible:
        typer.echo(f"compatible ({found.compatibility}; compared with versions: {against})")
        return
    out = table(
        f"incompatible with {subject!r} ({found.compatibility})", "problem", long_text=("problem",)
    )
    for problem in found.problems:
        out.add_row(problem)
    console().print(out)
    raise typer.Exit(1)


@app.command("compatibility")
def compatibility(
    ctx: typer.Context,
    subject: SubjectArg,
    mode: Annotated[
        str | None,
        typer.Argument(help="New mode: backward, forward, full, none, *_transitive; omit to show."),
    ] = None,
) -> None:
    """Show SUBJECT's compatibility mode, or change it to MODE (needs the admin role)."""
    schemas, _ = _schemas(ctx)
    if mode is None:
        typer.echo(schemas.subject(subject).compatibility)
        return
    changed = schemas.set_compatibility(subject, mode)
    typer.echo(f"{subject} compatibility is now {changed.compatibility}")


@app.command("validate")
def validate(
    ctx: typer.Context,
    subject: SubjectArg,
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="A JSON document, or JSON Lines (.jsonl: one per line); '-'."
        ),
    ],
    version: Annotated[
        int | None, typer.Option("--version", "-v", min=1, help="A version; default the latest.")
    ] = None,
    lines: Annotated[
        bool, typer.Option("--lines", help="Read FILE as JSON Lines whatever its name.")
    ] = False,
) -> None:
    """Validate a document, or each line of a .jsonl file, against SUBJECT (exit 1 if any fails)."""
    schemas, _ = _schemas(ctx)
    text = _read_text(source)
    if not (lines or source.endswith((".jsonl", ".ndjson"))):
        checked = schemas.validate(subject, _json(text, source), version=version)
        typer.echo(f"valid against {checked.subject} version {checked.version}")
        return
    _validate_lines(schemas, subject, text, source, version)


def _validate_lines(
    schemas: Schemas, subject: str, text: str, source: str, version: int | None
) -> None:
    documents = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    failures: list[tuple[int, str, str]] = []
    used: int | None = None
    out = console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
        disable=not console(stderr=True).is_terminal,
    )
    with progress:
        task = progress.add_task("validating", total=len(documents))
        for number, line in documents:
            try:
                used = schemas.validate(
                    subject, _json(line, source, line=number), version=version
                ).version
            except InvalidInputError as exc:
                failures.append((number, exc.field or "$", exc.message))
            progress.advance(task)
    valid = len(documents) - len(failures)
    which = f" version {used}" if used is not None else ""
    typer.echo(f"{valid} of {len(documents)} documents valid against {subject}{which}")
    if not failures:
        return
    shown = table(None, "line", "path", "reason", long_text=("reason",))
    for number, path, message in failures[:_SHOWN_FAILURES]:
        shown.add_row(str(number), path, message.split(": at ", 1)[-1])
    out.print(shown)
    if len(failures) > _SHOWN_FAILURES:
        typer.echo(f"... and {len(failures) - _SHOWN_FAILURES} more")
    raise typer.Exit(1)


@app.command("delete")
def delete(
    ctx: typer.Context,
    subject: SubjectArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete SUBJECT and every version of it (needs the admin role)."""
    if not yes:
        typer.confirm(f"delete subject {subject!r} and all its versions?", abort=True)
    schemas, _ = _schemas(ctx)
    schemas.delete(subject)
    typer.echo(f"deleted subject {subject}")
