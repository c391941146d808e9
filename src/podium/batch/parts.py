"""A source table version split into deterministic parts, each scanned in Arrow batches.

A part is a run of Parquet row groups: the version's data files sorted by path, each
file's row groups in order, packed into parts of at least ``part_rows`` rows (a row group
is never split). The same version and ``part_rows`` always give the same parts with the
same rows, so a resumed job knows which rows a part holds, and a row's number (its
position in that order) is stable within the version: it is the row key when the source
has no key column.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]

__all__ = ["Part", "part_dataset", "plan_parts", "scan_part"]


@dataclass(frozen=True)
class Part:
    """Part ``index``: ``rows`` rows from row number ``start``, read from ``pieces``
    (a data file's path and the row groups of it the part reads)."""

    index: int
    start: int
    rows: int
    pieces: tuple[tuple[str, tuple[int, ...]], ...]


def plan_parts(dataset: ds.FileSystemDataset, *, part_rows: int) -> list[Part]:
    """The parts of ``dataset`` (a table version), in row-number order."""
    parts: list[Part] = []
    pieces: list[tuple[str, tuple[int, ...]]] = []
    start = rows = 0

    def close() -> None:
        nonlocal pieces, start, rows
        if rows:
            parts.append(Part(len(parts), start, rows, tuple(pieces)))
        start, rows, pieces = start + rows, 0, []

    for fragment in sorted(dataset.get_fragments(), key=lambda found: found.path):
        metadata = fragment.metadata
        groups: list[int] = []
        for group in range(metadata.num_row_groups):
            groups.append(group)
            rows += metadata.row_group(group).num_rows
            if rows >= part_rows:
                pieces.append((fragment.path, tuple(groups)))
                groups = []
                close()
        if groups:
            pieces.append((fragment.path, tuple(groups)))
    close()
    return parts


def part_dataset(dataset: ds.FileSystemDataset, part: Part) -> ds.FileSystemDataset:
    """A dataset of only ``part``'s row groups (picklable: a Ray task can scan it)."""
    by_path = {fragment.path: fragment for fragment in dataset.get_fragments()}
    fragments = [by_path[path].subset(row_group_ids=list(groups)) for path, groups in part.pieces]
    return ds.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)


def scan_part(
    dataset: ds.FileSystemDataset, *, columns: Sequence[str], batch_size: int
) -> Iterator[pa.RecordBatch]:
    """The rows of a part's dataset, in order, in batches of at most ``batch_size`` rows.

    Few batches are read ahead, so memory stays bounded whatever the part's size."""
    yield from dataset.to_batches(
        columns=list(columns),
        batch_size=batch_size,
        batch_readahead=2,
        fragment_readahead=1,
    )
