"""Table maintenance: compaction of small files, and vacuum of files no version needs.

Vacuum deletes the data files that versions older than ``retain_hours`` still point at, so
those versions can no longer be read. The guard (:data:`MIN_RETAIN_HOURS`, Delta's own
default of 7 days) refuses a shorter retention unless ``enforce_retention=False`` is passed
on purpose: readers and writers still working on an old snapshot would lose their files.
A dry run lists every file the log marks removed before the retention window, including
files an earlier vacuum already deleted (that is how delta-rs answers it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from podium.data.commits import commit_properties, delta_call
from podium.data.names import TableName
from podium.data.types import OptimizeResult
from podium.errors import InvalidInputError

__all__ = ["MIN_RETAIN_HOURS", "Progress", "compact", "vacuum"]

MIN_RETAIN_HOURS = 168
Progress = Callable[[str], None]
"""Receives one human-readable line per step of a maintenance operation."""


def _total_size(summary: Any) -> int:
    """``totalSize`` of a delta-rs file summary (a JSON string or a mapping)."""
    parsed = json.loads(summary) if isinstance(summary, str) else summary or {}
    return int(parsed.get("totalSize", 0))


def compact(
    table: TableName,
    target: DeltaTable,
    *,
    target_size: int | None = None,
    progress: Progress | None = None,
    actor: str | None = None,
) -> OptimizeResult:
    """Rewrite the table's small files into files of about ``target_size`` bytes."""
    if target_size is not None and (
        isinstance(target_size, bool) or not isinstance(target_size, int) or target_size < 1
    ):
        raise InvalidInputError(
            f"target_size must be a positive number of bytes; got {target_size!r} instead",
            field="target_size",
            remedy="omit it for delta-rs's default of 100 MiB",
        )
    report = progress or (lambda line: None)
    properties = commit_properties(actor)
    report(f"compacting '{table}' at version {target.version()}")
    metrics = delta_call(
        lambda: target.optimize.compact(target_size=target_size, commit_properties=properties)
    )
    result = OptimizeResult(
        name=str(table),
        version=target.version(),
        files_removed=int(metrics.get("numFilesRemoved", 0)),
        files_added=int(metrics.get("numFilesAdded", 0)),
        bytes_removed=_total_size(metrics.get("filesRemoved")),
        bytes_added=_total_size(metrics.get("filesAdded")),
    )
    if result.files_removed:
        report(
            f"compacted '{table}': {result.files_removed} files into {result.files_added}, "
            f"version {result.version}"
        )
    else:
        report(f"'{table}' has nothing to compact")
    return result


def vacuum(
    table: TableName,
    target: DeltaTable,
    *,
    retain_hours: int = MIN_RETAIN_HOURS,
    dry_run: bool = True,
    enforce_retention: bool = True,
    actor: str | None = None,
) -> list[str]:
    """The files no longer needed by versions newer than ``retain_hours`` (deleted unless dry)."""
    if isinstance(retain_hours, bool) or not isinstance(retain_hours, int) or retain_hours < 0:
        raise InvalidInputError(
            f"retain_hours must be a whole number of hours >= 0; got {retain_hours!r} instead",
            field="retain_hours",
        )
    if enforce_retention and retain_hours < MIN_RETAIN_HOURS:
        raise InvalidInputError(
            f"retain_hours={retain_hours} is below the {MIN_RETAIN_HOURS}-hour retention guard: "
            f"versions of '{table}' older than {retain_hours} hours would become unreadable",
            field="retain_hours",
            remedy=f"keep retain_hours >= {MIN_RETAIN_HOURS}, or pass enforce_retention=False "
            "if no reader or writer still uses an older version",
        )
    try:
        return target.vacuum(
            retention_hours=retain_hours,
            dry_run=dry_run,
            enforce_retention_duration=enforce_retention,
            commit_properties=commit_properties(actor),
        )
    except DeltaError as exc:
        if "retention" not in str(exc).lower():
            raise
        raise InvalidInputError(
            f"cannot vacuum '{table}' with retain_hours={retain_hours}: {exc}",
            field="retain_hours",
            remedy="the table's own delta.deletedFileRetentionDuration is longer; "
            "raise retain_hours or pass enforce_retention=False",
        ) from exc
