"""Reading and writing a project's catalog entries and column descriptions in a session."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from podium.data.catalog.rows import CatalogColumnRow, CatalogTableRow
from podium.store.base import utcnow

__all__ = ["column_docs", "ensure_entry", "entry", "set_column_docs"]


def entry(session: Session, project_id: int, table: str) -> CatalogTableRow | None:
    """The catalog entry of ``table``, if it has one."""
    return session.scalar(
        select(CatalogTableRow).where(
            CatalogTableRow.project_id == project_id, CatalogTableRow.name == table
        )
    )


def ensure_entry(
    session: Session, project_id: int, table: str, *, owner: str, is_sqlite: bool
) -> None:
    """Create the entry of ``table`` with ``owner`` unless it exists (race-free)."""
    now = utcnow()
    values = {
        "project_id": project_id,
        "name": table,
        "owner": owner,
        "description": "",
        "tags": [],
        "created_at": now,
        "updated_at": now,
    }
    dialect_insert = sqlite.insert if is_sqlite else postgresql.insert
    session.execute(dialect_insert(CatalogTableRow).values(values).on_conflict_do_nothing())


def column_docs(session: Session, project_id: int, table: str) -> dict[str, str]:
    """The column descriptions of ``table``, by column name."""
    rows = session.scalars(
        select(CatalogColumnRow).where(
            CatalogColumnRow.project_id == project_id, CatalogColumnRow.table_name == table
        )
    )
    return {row.column_name: row.description for row in rows}


def set_column_docs(session: Session, project_id: int, table: str, docs: Mapping[str, str]) -> None:
    """Set the descriptions of columns of ``table``; an empty text removes one."""
    for column, text in docs.items():
        row = session.get(CatalogColumnRow, (project_id, table, column))
        if not text:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(
                CatalogColumnRow(
                    project_id=project_id, table_name=table, column_name=column, description=text
                )
            )
        else:
            row.description = text
