"""Reading a Delta table's commit log into :class:`HistoryEntry` rows and resolving ``as_of``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from deltalake import DeltaTable

from podium.data.commits import ACTOR_KEY
from podium.data.types import HistoryEntry
from podium.errors import ConflictError, InvalidInputError

__all__ = ["HISTORY_READ_ATTEMPTS", "history_entries", "read_commits", "version_at"]

HISTORY_READ_ATTEMPTS = 8

_REMOVED = ("num_deleted_rows", "num_target_rows_deleted")
_UPDATED = ("num_updated_rows", "num_target_rows_updated")


def read_commits(target: DeltaTable, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The table's commit infos, newest first, each with its right ``version``.

    delta-rs (1.6) numbers ``history()`` down from the version the ``DeltaTable`` has
    loaded but reads the commits down from the newest one in storage, so a commit by
    another writer in between shifts every label (to -1 and below). Here the table is
    brought up to date before reading and checked after: if it moved, the read is redone.
    ``target`` is left at the newest version.
    """
    for _ in range(HISTORY_READ_ATTEMPTS):
        target.update_incremental()
        version = target.version()
        commits = target.history(limit)
        target.update_incremental()
        if target.version() == version:
            return commits
    raise ConflictError(
        f"the table kept changing while its history was read ({HISTORY_READ_ATTEMPTS} tries)",
        remedy="retry when fewer writers are committing",
    )


def _first_metric(metrics: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if key in metrics:
            return int(metrics[key])
    return None


def _timestamp(commit: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(commit["timestamp"]) / 1000, tz=UTC)


def _actor(commit: Mapping[str, Any]) -> str | None:
    actor = commit.get(ACTOR_KEY)
    return str(actor) if actor is not None else None


def history_entries(commits: list[dict[str, Any]]) -> list[HistoryEntry]:
    """Commits (as ``DeltaTable.history()`` returns them) as entries, oldest first."""
    entries = []
    for commit in sorted(commits, key=lambda c: int(c["version"])):
        metrics = commit.get("operationMetrics") or {}
        added = _first_metric(metrics, ("num_added_rows", "num_target_rows_inserted"))
        entries.append(
            HistoryEntry(
                version=int(commit["version"]),
                timestamp=_timestamp(commit),
                operation=str(commit.get("operation", "UNKNOWN")),
                rows_added=added,
                rows_removed=_first_metric(metrics, _REMOVED),
                rows_updated=_first_metric(metrics, _UPDATED),
                parameters={
                    str(k): str(v) for k, v in (commit.get("operationParameters") or {}).items()
                },
                actor=_actor(commit),
            )
        )
    return entries


def version_at(table: str, commits: list[dict[str, Any]], as_of: datetime) -> int:
    """The newest version committed at or before ``as_of`` (naive datetimes are UTC)."""
    moment = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    ordered = sorted(commits, key=lambda c: int(c["version"]))
    chosen = [int(c["version"]) for c in ordered if _timestamp(c) <= moment]
    if not chosen:
        first = _timestamp(ordered[0]).isoformat() if ordered else "never"
        raise InvalidInputError(
            f"table '{table}' did not exist yet at {moment.isoformat()}; "
            f"its first version was committed at {first}",
            field="as_of",
            remedy=f"pass an as_of at or after {first}",
        )
    return chosen[-1]
