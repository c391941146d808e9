"""``podium features``: definitions, materialization, online reads and pushes.

``plan`` and ``apply`` take a Python file, like ``feast apply``: it is imported and every
module-level ``Entity``, ``FeatureView``, ``OnDemandFeatureView`` and ``FeatureService``
in it is applied. Embedded by default, on a server with ``--url``, like ``podium data``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from podium.cli.context import cli_state
from podium.cli.render import console, format_datetime, format_duration, table
from podium.data.inputs import to_arrow
from podium.errors import InvalidInputError, NotFoundError, PodiumError
from podium.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)
from podium.features.protocol import Features
from podium.features.stored import Change, StoredDefinition
from podium.platform import Platform

__all__ = ["app", "load_definitions", "parse_entity"]

app = typer.Typer(
    help="The feature store: ls, describe, plan, apply, materialize, get, search, push, ingest.",
    no_args_is_help=True,
)

DefinitionKind = Literal["entity", "feature_view", "on_demand_feature_view", "feature_service"]
_DEFINITION_TYPES = (Entity, FeatureView, OnDemandFeatureView, FeatureService)
_ACTION_STYLE = {"create": "green", "new_version": "yellow", "update": "cyan", "unchanged": "dim"}
_ACTION_WORDS = {
    "create": "to create",
    "new_version": "new versions",
    "update": "to update",
    "unchanged": "unchanged",
}
_LOADED_MARK = "_podium_definitions_file"
_STATUS_STYLE = {"present": "", "missing": "dim", "outside_ttl": "yellow"}

FileArgument = Annotated[
    Path,
    typer.Argument(
        help="A Python file defining Entity, FeatureView, OnDemandFeatureView and "
        "FeatureService objects at module level."
    ),
]


def _platform(ctx: typer.Context) -> Platform:
    return cli_state(ctx).platform()


# -- definitions -------------------------------------------------------------------------


def load_definitions(path: Path) -> list[Definition]:
    """Import the Python file ``path`` and return its module-level definitions, in order.

    The module is registered under the file's name (its folder first on ``sys.path``
    while it runs), so on-demand functions defined in it can be imported back by name.
    """
    if path.suffix != ".py" or not path.is_file():
        raise NotFoundError(
            f"no Python file at '{path}'",
            field="file",
            remedy="pass the path of a .py file defining the feature views, e.g. features.py",
        )
    name = path.stem
    known = sys.modules.get(name)
    if known is not None and not getattr(known, _LOADED_MARK, False):
        raise InvalidInputError(
            f"'{path.name}' has the name of the module '{name}' this process already uses",
            field="file",
            remedy="rename the file, e.g. to churn_features.py",
        )
    spec = importlib.util.spec_from_file_location(name, path.resolve())
    if spec is None or spec.loader is None:
        raise InvalidInputError(f"cannot import '{path}' as a Python module", field="file")
    module = importlib.util.module_from_spec(spec)
    setattr(module, _LOADED_MARK, True)  # a definitions file may be loaded again
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except PodiumError:
        raise
    except (SyntaxError, ImportError) as exc:
        sys.modules.pop(name, None)
        raise InvalidInputError(
            f"cannot import '{path}': {type(exc).__name__}: {exc}",
            field="file",
            remedy="fix the file so that `python FILE` runs",
        ) from exc
    finally:
        sys.path.remove(folder)
    found: list[Definition] = []
    for value in vars(module).values():
        if isinstance(value, _DEFINITION_TYPES) and not any(value is f for f in found):
            found.append(value)
    if not found:
        raise InvalidInputError(
            f"'{path}' defines no Entity, FeatureView, OnDemandFeatureView or FeatureService "
            "at module level",
            field="file",
            remedy="assign each definition to a module-level name, e.g. customer = Entity(...)",
        )
    return found


def _changes_table(title: str, changes: Sequence[Change]) -> Any:
    shown = table(title, "kind", "name", "action", "version", "details")
    for change in changes:
        version = str(change.version)
        if change.previous_version is not None and change.previous_version != change.version:
            version = f"{change.previous_version} -> {change.version}"
        shown.add_row(
            change.kind,
            change.name,
            Text(change.action, style=_ACTION_STYLE.get(change.action, "")),
            version,
            "; ".join(change.details) or "-",
        )
    return shown


def _summary(changes: Sequence[Change]) -> str:
    counts: Counter[str] = Counter(change.action for change in changes)
    return ", ".join(f"{counts[a]} {words}" for a, words in _ACTION_WORDS.items() if counts[a])


@app.command("plan")
def plan(
    ctx: typer.Context,
    file: FileArgument,
) -> None:
    """Show what `apply FILE` would change; stores nothing."""
    definitions = load_definitions(file)
    changes = _platform(ctx).features.plan(definitions)
    out = console()
    out.print(_changes_table(f"plan for {file.name}", changes))
    out.print(_summary(changes))


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: FileArgument,
) -> None:
    """Store the definitions of a Python file (a changed source or type: a new version)."""
    definitions = load_definitions(file)
    changes = _platform(ctx).features.apply(definitions)
    out = console()
    out.print(_changes_table(f"applied {file.name}", changes))
    if all(change.action == "unchanged" for change in changes):
        out.print("no changes: every definition is already stored as it is")
    else:
        out.print(f"applied: {_summary(changes).replace('to create', 'created')}")


def _details(item: StoredDefinition) -> str:
    spec = item.spec
    if item.kind == "entity":
        return f"keys {', '.join(spec['join_keys'])} ({spec.get('value_type') or '?'})"
    if item.kind == "feature_view":
        return f"{len(spec['features'])} features from {spec['source']}"
    if item.kind == "on_demand_feature_view":
        return f"{len(spec['features'])} features by {spec['function']}"
    return f"{len(spec['features'])} features"


@app.command("ls")
def list_definitions(
    ctx: typer.Context,
    kind: Annotated[
        DefinitionKind | None,
        typer.Option("--kind", "-k", help="Only this kind of definition.", show_default=False),
    ] = None,
) -> None:
    """List entities, feature views and services with their newest version."""
    platform = _platform(ctx)
    stored = platform.features.list_definitions(kind)
    out = console()
    if not stored:
        out.print(f"no feature definitions in project {platform.project!r} yet")
        out.print("  apply some with: podium features apply features.py")
        return
    listing = table(
        f"feature definitions of project {platform.project!r}",
        "kind",
        "name",
        "version",
        "details",
        "owner",
        "updated (UTC)",
        "description",
    )
    for item in stored:
        listing.add_row(
            item.kind,
            item.name,
            str(item.version),
            _details(item),
            item.owner or "-",
            format_datetime(item.updated_at),
            item.description or "-",
        )
    out.print(listing)


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A feature view, service or entity.")],
) -> None:
    """Show a definition: its spec, versions, features, users and freshness."""
    about = _platform(ctx).features.describe(name)
    spec: dict[str, Any] = about["spec"]
    out = console()
    facts = table(f"{about['kind'].replace('_', ' ')} {about['name']}", "", "", wide=True)
    facts.show_header = False
    versions = about.get("versions", [])
    facts.add_row("version", f"{about['version']} of {len(versions)}" if versions else "-")
    facts.add_row("owner", about.get("owner") or "-")
    facts.add_row("description", about.get("description") or "-")
    tags = about.get("tags") or {}
    facts.add_row("tags", ", ".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-")
    for key in ("join_keys", "entities", "inputs"):
        if key in spec:
            facts.add_row(key.replace("_", " "), ", ".join(spec[key]) or "-")
    for key in ("value_type", "source", "timestamp_field", "created_timestamp_field", "function"):
        if key in spec:
            facts.add_row(key.replace("_", " "), str(spec[key] or "-"))
    if "ttl_seconds" in spec:
        ttl = spec["ttl_seconds"]
        facts.add_row("ttl", "-" if ttl is None else format_duration(ttl))
        facts.add_row("online", "yes" if spec.get("online", True) else "no")
    if "fresh_until" in about:
        facts.add_row("fresh until", _shown_time(about["fresh_until"]))
    for key in ("used_by_services", "used_by_views"):
        if key in about:
            facts.add_row(key.replace("_", " "), ", ".join(about[key]) or "-")
    out.print(facts)
    features = spec.get("features", [])
    if features and isinstance(features[0], dict):
        listing = table("features", "name", "type", "description", long_text=("description",))
        for feature in features:
            listing.add_row(feature["name"], feature["dtype"], feature.get("description") or "-")
        out.print(listing)
    elif features:
        out.print(f"features: {', '.join(features)}")
    runs = about.get("materializations") or []
    if runs:
        history = table("materializations", "version", "start", "end", "rows", "at", "by")
        for run in runs:
            history.add_row(
                str(run["version"]),
                _shown_time(run["start"]),
                _shown_time(run["end"]),
                str(run["rows"]),
                _shown_time(run["at"]),
                run.get("by") or "-",
            )
        out.print(history)


@app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Text to find in names, descriptions, owners, tags.")],
) -> None:
    """Find definitions and features by name, description, owner or tag."""
    hits = _platform(ctx).features.search(text)
    out = console()
    if not hits:
        out.print(f"nothing matches {text!r}")
        return
    found = table(
        f"matching {text!r}", "kind", "name", "version", "matching features", "owner", "description"
    )
    for hit in hits:
        found.add_row(
            hit["kind"],
            hit["name"],
            str(hit["version"]),
            ", ".join(hit["matching_features"]) or "-",
            hit["owner"] or "-",
            hit["description"] or "-",
        )
    out.print(found)


# -- materialize, read, push --------------------------------------------------------------


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"{option} must be an ISO 8601 time, e.g. 2024-05-01T12:00:00; got {text!r} instead",
            field=option.lstrip("-"),
            remedy="times without an offset are UTC",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("materialize")
def materialize(
    ctx: typer.Context,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Earliest event time (ISO 8601, UTC unless an offset)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Latest event time (default: now).")
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option("--incremental", help="Each view from where its last run ended."),
    ] = False,
    view: Annotated[
        list[str] | None,
        typer.Option("--view", "-v", help="Only this feature view (repeat for several)."),
    ] = None,
) -> None:
    """Load each online view's latest values into the online store."""
    if incremental and start is not None:
        raise InvalidInputError(
            "--incremental starts each view where its last materialization ended; "
            "it takes no --start",
            field="start",
            remedy="drop --start, or drop --incremental",
        )
    began, until = _moment(start, "--start"), _moment(end, "--end")
    features = _platform(ctx).features
    out = console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=not out.is_terminal,
    )
    with progress:
        task = progress.add_task("materializing", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if incremental:
            runs = features.materialize_incremental(until, views=view, progress=advance)
        else:
            runs = features.materialize(began, until, views=view, progress=advance)
    if not runs:
        out.print("no online feature views to materialize")
        return
    shown = table("materialized", "view", "version", "start (UTC)", "end (UTC)", "rows")
    for run in runs:
        shown.add_row(
            run["view"],
            str(run["version"]),
            format_datetime(run["start"]),
            format_datetime(run["end"]),
            str(run["rows"]),
        )
    out.print(shown)


def _key_types(features: Features) -> dict[str, str]:
    types: dict[str, str] = {}
    for entity in features.list_definitions("entity"):
        for key in entity.spec.get("join_keys", []):
            types.setdefault(key, entity.spec.get("value_type") or "string")
    return types


def parse_entity(text: str, key_types: dict[str, str]) -> dict[str, Any]:
    """``customer_id=7,region=eu`` as an entity row, ints where the key is int64."""
    row: dict[str, Any] = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInputError(
                f"--entity must be KEY=VALUE (several joined by ','); got {text!r} instead",
                field="entity",
                remedy="e.g. --entity customer_id=7",
            )
        if key_types.get(key) == "int64":
            try:
                row[key] = int(value)
            except ValueError:
                raise InvalidInputError(
                    f"join key '{key}' is int64; got {value!r} instead",
                    field=key,
                    remedy=f"pass an integer, e.g. --entity {key}=7",
                ) from None
        else:
            row[key] = value
    return row


@app.command("get")
def get(
    ctx: typer.Context,
    feature: Annotated[
        list[str],
        typer.Argument(help="Features as view:feature (view:* for all), or one service name."),
    ],
    entity: Annotated[
        list[str],
        typer.Option(
            "--entity", "-e", help="An entity row, KEY=VALUE[,KEY=VALUE] (repeat for several)."
        ),
    ],
) -> None:
    """Read features from the online store for a few entities, with each value's status."""
    features = _platform(ctx).features
    key_types = _key_types(features)
    rows = [parse_entity(text, key_types) for text in entity]
    wanted: list[str] | str = feature[0] if len(feature) == 1 and ":" not in feature[0] else feature
    result = features.get_online_features(rows, wanted)
    keys = list(dict.fromkeys(key for row in rows for key in row))
    shown = table(None, *keys, "feature", "value", "status")
    for index, row in enumerate(rows):
        for name, values in result.values.items():
            status = result.statuses[name][index]
            value = values[index]
            shown.add_row(
                *(str(row.get(key, "-")) for key in keys),
                name,
                Text("-", style="dim") if value is None else str(value),
                Text(status, style=_STATUS_STYLE.get(status, "")),
            )
    console().print(shown)


@app.command("push")
def push(
    ctx: typer.Context,
    view: Annotated[str, typer.Argument(help="The feature view to push rows to.")],
    file: Annotated[Path, typer.Argument(help="A .parquet, .csv or .json/.jsonl (JSON lines).")],
) -> None:
    """Append a file's rows to a view's source table and write them to the online store."""
    rows = to_arrow(file)
    pushed = _platform(ctx).features.push(view, rows)
    console().print(
        f"pushed {pushed['rows']} row{'' if pushed['rows'] == 1 else 's'} to {pushed['view']}: "
        f"{pushed['online_rows']} to the online store, source {pushed['table']}"
    )


def _shown_time(value: Any) -> str:
    if value is None:
        return "-"
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return format_datetime(moment)


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    view: Annotated[str, typer.Argument(help="The feature view the events are rows of.")],
    from_url: Annotated[
        str,
        typer.Option(
            "--from",
            help="Stream of feature events: redis://HOST:PORT/DB?stream=NAME or "
            "nats://HOST:PORT?subject=NAME.",
        ),
    ],
    dead_letter: Annotated[
        str | None,
        typer.Option("--dead-letter", help="Dead-letter stream (default: the input's NAME.dead)."),
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Consumer group (default podium-features-VIEW).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="Most rows per push.")
    ] = 5_000,
    max_wait_ms: Annotated[
        int, typer.Option("--max-wait-ms", min=1, help="How long a read waits for a row.")
    ] = 200,
    until_idle: Annotated[
        bool,
        typer.Option(
            "--until-idle", help="Stop once the stream is drained (else run until Ctrl-C)."
        ),
    ] = False,
) -> None:
    """Push a stream of feature events into VIEW: offline table and online store at once."""
    # The stream engine (and redis-py or nats-py, extras) is loaded only by this command.
    from concurrent.futures import ThreadPoolExecutor

    from podium.streaming.features import ingest_stream
    from podium.streaming.predictor import ConsumerOptions
    from podium.streaming.redis_streams import default_consumer
    from podium.streaming.urls import parse_stream_url

    source = parse_stream_url(from_url, option="--from")
    dead = parse_stream_url(dead_letter, option="--dead-letter") if dead_letter else None
    features = _platform(ctx).features
    options = ConsumerOptions(
        group=group or f"podium-features-{view}",
        consumer=default_consumer(),
        batch_size=batch_size,
        max_wait_ms=max_wait_ms,
    )
    shown = console()
    with (
        ThreadPoolExecutor(1) as executor,
        shown.status(f"ingesting {source} into {view}") as status,
    ):
        final = ingest_stream(
            features, view, source, options=options, dead_letter=dead, executor=executor,
            on_progress=lambda p: status.update(
                f"{p.scored:,} rows pushed · {p.dead:,} dead letters · {p.per_second:,.0f} rows/s"
            ),
            stop_when_idle=until_idle,
        )  # fmt: skip
    shown.print(f"pushed {final.scored:,} rows to {view}; {final.dead:,} dead letters")
