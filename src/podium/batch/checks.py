"""Everything a job is checked for before anything runs, and what the checks find.

:func:`prepare` resolves the source version, loads the model once, scores a few source
rows with it (so a model that cannot read the source fails here, not mid-job) and plans
the parts; it raises the error a caller can act on, naming the argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]

from podium.batch.features import OnlineJoin
from podium.batch.model import ModelChoice
from podium.batch.output import ROW_NUMBER, OutputTable, output_schema
from podium.batch.parts import Part, plan_parts
from podium.batch.runners import RUNNERS
from podium.batch.scoring import Scorer
from podium.data.names import TableRef
from podium.data.service import DataService
from podium.errors import InvalidInputError, NotFoundError, PodiumError
from podium.registry.protocol import Registry

if TYPE_CHECKING:  # the feature store loads its online stores; used only when joining
    from podium.features.protocol import Features

__all__ = ["Prepared", "prepare"]

_PROBE_ROWS = 16


@dataclass
class Prepared:
    """A checked job: what it reads, with what, and where it writes."""

    choice: ModelChoice
    source: TableRef
    source_version: int
    dataset: ds.FileSystemDataset
    columns: list[str]
    key: str | None
    scorer: Scorer
    join: OnlineJoin | None
    output: OutputTable
    schema: pa.Schema
    parts: list[Part]
    runner: str
    batch_size: int
    part_rows: int

    @property
    def source_ref(self) -> str:
        """``zone.table@N``: exactly what the job reads."""
        return f"{self.source.table}@{self.source_version}"


def prepare(
    choice: ModelChoice,
    *,
    source: str,
    output: str,
    runner: str,
    key: str | None,
    batch_size: int,
    part_rows: int,
    data: DataService,
    registry: Registry,
    features: Callable[[], Features],
    table: OutputTable,
) -> Prepared:
    """Check a job completely; :class:`PodiumError` naming the argument otherwise."""
    _check_options(runner, batch_size, part_rows)
    ref = TableRef.parse(source, field="source")
    if TableRef.parse(output, field="output").version is not None:
        raise InvalidInputError(
            f"the output must be a table name without a version; got {output!r} instead",
            field="output",
            remedy="name the table the predictions are appended to, e.g. 'scores.churn'",
        )
    if table.name == ref.table:
        raise InvalidInputError(
            f"the output table must differ from the source; both are '{ref.table}'",
            field="output",
            remedy="write the predictions to a table of their own, e.g. 'scores.churn'",
        )
    version = _source_version(data, ref)
    _, dataset = data.dataset(ref.table, version)
    if not isinstance(dataset, ds.FileSystemDataset):
        raise InvalidInputError(f"table '{ref.table}' cannot be scanned by file", field="source")
    scorer = Scorer(registry.load(choice.version.ref), ref=choice.version.ref)
    join = None
    if choice.features:
        join = OnlineJoin(features(), refs=choice.features, entity_keys=choice.entity_keys)
    columns = _columns(dataset.schema, scorer, join, choice, key, ref.table, runner)
    prediction = _probe(dataset, columns, scorer, join, ref.table)
    key_field = dataset.schema.field(key) if key is not None else pa.field(ROW_NUMBER, pa.int64())
    schema = output_schema(key_field, prediction)
    table.check(schema)
    return Prepared(
        choice=choice,
        source=ref,
        source_version=version,
        dataset=dataset,
        columns=columns,
        key=key,
        scorer=scorer,
        join=join,
        output=table,
        schema=schema,
        parts=plan_parts(dataset, part_rows=part_rows),
        runner=runner,
        batch_size=batch_size,
        part_rows=part_rows,
    )


def _check_options(runner: str, batch_size: int, part_rows: int) -> None:
    if runner not in RUNNERS:
        raise InvalidInputError(
            f"the 'runner' parameter must be one of {', '.join(RUNNERS)}; got {runner!r} instead",
            field="runner",
        )
    for name, value in (("batch_size", batch_size), ("part_rows", part_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError(
                f"the '{name}' parameter must be a positive integer; got {value!r} instead",
                field=name,
            )


def _source_version(data: DataService, ref: TableRef) -> int:
    if ref.table not in data.tables():
        known = data.tables()
        raise NotFoundError(
            f"no table '{ref.table}' in this project's lake",
            field="source",
            remedy=f"existing tables: {', '.join(known)}" if known else "write it first",
        )
    latest = data.version(ref.table)
    if ref.version is None:
        return latest
    if ref.version > latest:
        raise NotFoundError(
            f"table '{ref.table}' has versions 0 to {latest}; there is no version {ref.version}",
            field="source",
            remedy=f"use '{ref.table}' for the newest version or '{ref.table}@{latest}'",
        )
    return ref.version


def _columns(
    schema: pa.Schema,
    scorer: Scorer,
    join: OnlineJoin | None,
    choice: ModelChoice,
    key: str | None,
    source: str,
    runner: str,
) -> list[str]:
    """The source columns a job reads; refuses a source lacking one."""
    names = schema.names
    joined = set(choice.feature_names) - set(names) if join is not None else set()
    if joined and runner == "ray":
        raise InvalidInputError(
            f"deployment {choice.deployment!r} joins online features "
            f"{sorted(joined)} the source lacks; the Ray runner does not join them yet",
            field="runner",
            remedy="use runner='local', or score a table that has those columns",
        )
    missing = [name for name in scorer.inputs if name not in names and name not in joined]
    if missing:
        raise InvalidInputError(
            f"the source '{source}' has no column {missing}; model {scorer.ref} reads "
            f"{scorer.inputs}",
            field="source",
            remedy=f"score a table with those columns (this one has {names})",
        )
    if key is not None and key not in names:
        raise InvalidInputError(
            f"the source '{source}' has no key column {key!r}",
            field="key",
            remedy=f"choose the key among {names}, or omit it to key rows by their number",
        )
    if join is not None:
        join.check(names, choice.deployment or choice.asked)
    wanted = [name for name in scorer.inputs if name in names]
    wanted += [key] if key is not None else []
    wanted += join.entity_keys if join is not None and joined else []
    return list(dict.fromkeys(wanted))


def _probe(
    dataset: ds.FileSystemDataset,
    columns: list[str],
    scorer: Scorer,
    join: OnlineJoin | None,
    source: str,
) -> pa.DataType:
    """The prediction's type, from scoring the source's first rows (or the classes)."""
    # The first rows of the first file only: a dataset's head reads ahead over many files.
    first = next(iter(dataset.get_fragments()), None)
    head = None
    if first is not None:
        alone = ds.FileSystemDataset([first], dataset.schema, dataset.format, dataset.filesystem)
        head = alone.head(_PROBE_ROWS, columns=columns)
    if head is None or head.num_rows == 0:
        classes = scorer.classes
        return pa.array(classes).type if classes else pa.float64()
    batch = head.combine_chunks().to_batches()[0]
    try:
        if join is not None:
            batch = join.join(batch)
        prediction, _ = scorer.score(batch)
    except PodiumError:
        raise
    except Exception as exc:  # the model's own code: any failure means it cannot score
        raise InvalidInputError(
            f"model {scorer.ref} cannot score the rows of '{source}': {type(exc).__name__}: {exc}",
            field="source",
            remedy="check that the source's columns have the types the model was trained on",
        ) from exc
    return prediction.type
