"""What the lake hands back: committed versions, history entries, table facts, maintenance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

__all__ = ["ColumnInfo", "HistoryEntry", "OptimizeResult", "TableInfo", "TableVersion"]


@dataclass(frozen=True)
class TableVersion:
    """The version a write, delete or restore committed, and how many rows it touched."""

    name: str
    version: int
    rows_written: int

    @property
    def ref(self) -> str:
        """The exact reference a tracking run records, e.g. ``raw.customers@3``."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class HistoryEntry:
    """One commit of a table; row counts are ``None`` where Delta's commit info lacks them.

    ``actor`` is who committed, as passed to the lake's ``actor=`` argument (``None`` when
    not given, or for commits made outside podium).
    """

    version: int
    timestamp: datetime
    operation: str
    rows_added: int | None
    rows_removed: int | None
    rows_updated: int | None
    parameters: dict[str, str]
    actor: str | None = None

    def _repr_html_(self) -> str:
        from podium.notebook.data import history_entry_html

        return history_entry_html(self)


class ColumnInfo(NamedTuple):
    """One column of a table: its name, its Arrow type as text (``int64``), nullability."""

    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class TableInfo:
    """The facts about a table's current version, read from its Delta log (no data scan).

    ``created_at`` is version 0's commit time, ``last_modified`` the newest commit's; both
    are timezone-aware (UTC).
    """

    name: str
    version: int
    schema: list[ColumnInfo]
    row_count: int
    size_bytes: int
    num_files: int
    partition_columns: list[str]
    created_at: datetime
    last_modified: datetime

    def __repr__(self) -> str:
        return (
            f"TableInfo({self.name!r}, version={self.version}, rows={self.row_count}, "
            f"{len(self.schema)} columns)"
        )

    def _repr_html_(self) -> str:
        from podium.notebook.data import table_info_html

        return table_info_html(self)


@dataclass(frozen=True)
class OptimizeResult:
    """What a compaction did: files removed and added, and the version it committed.

    When there was nothing to compact no commit is made and ``version`` is the table's
    current version.
    """

    name: str
    version: int
    files_removed: int
    files_added: int
    bytes_removed: int
    bytes_added: int
