"""The pii vault of one project: which columns are tokenized, and detokenization.

A column marked pii (``p.data.write(name, rows, pii=["email"])``; the mark is kept here,
so every later write to the table tokenizes it too) is written to the lake as keyed
tokens (:mod:`podium.data.tokens`): the clear values never reach a Parquet file, the
feature store's offline tables or the online store. Each distinct value is kept once per
project in ``pii_tokens``, sealed; :meth:`PiiVault.detokenize` opens them for the roles
allowed to (admin), and records every detokenization in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from podium.access.audit import Auditor
from podium.access.roles import Role
from podium.data.pii_tables import PiiColumnRow, PiiTokenRow
from podium.data.tokens import Tokenizer, is_token
from podium.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from podium.store.base import utcnow
from podium.store.database import Database

__all__ = ["DETOKENIZE_ROLE", "MAX_DETOKENIZE", "PiiVault"]

DETOKENIZE_ROLE = Role.ADMIN
"""The least role that may turn tokens back into values."""
MAX_DETOKENIZE = 10_000
"""Tokens one detokenize call may ask for."""
_CHUNK = 500  # tokens per IN (...) query


class PiiVault:
    """The pii columns and vault of one project, for one caller (``actor``, ``role``).

    ``tokenizer`` is called when first needed, so a project without pii columns never
    reads (or makes) the tokenization key.
    """

    def __init__(
        self,
        db: Database,
        project_id: int,
        tokenizer: Callable[[], Tokenizer],
        *,
        actor: str,
        role: Role,
        audit: Auditor | None = None,
    ) -> None:
        self._db = db
        self._project_id = project_id
        self._tokenizer_factory = tokenizer
        self._tokenizer: Tokenizer | None = None
        self._actor = actor
        self._role = role
        self._audit = audit or Auditor.disabled()

    def _tok(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = self._tokenizer_factory()
        return self._tokenizer

    # -- marks ---------------------------------------------------------------------
    def columns(self, table: str) -> list[str]:
        """The columns of ``table`` marked pii, sorted."""
        with self._db.read() as session:
            rows = session.scalars(
                select(PiiColumnRow.column_name).where(
                    PiiColumnRow.project_id == self._project_id,
                    PiiColumnRow.table_name == table,
                )
            )
            return sorted(rows)

    def mark(self, table: str, columns: Iterable[str]) -> list[str]:
        """Mark ``columns`` of ``table`` pii (kept for every later write); the new marks."""
        known = set(self.columns(table))
        new = sorted(set(columns) - known)
        if new:
            rows = [
                {
                    "project_id": self._project_id,
                    "table_name": table,
                    "column_name": column,
                    "marked_by": self._actor,
                    "created_at": utcnow(),
                }
                for column in new
            ]
            with self._db.write() as session:  # two writers marking at once agree
                session.execute(self._insert(PiiColumnRow).values(rows).on_conflict_do_nothing())
        return new

    def _insert(self, table: type[PiiColumnRow] | type[PiiTokenRow]) -> Any:
        return sqlite_insert(table) if self._db.is_sqlite else pg_insert(table)

    def forget_table(self, table: str) -> None:
        """Drop the marks of ``table`` (the vault keeps its values: other tables share them)."""
        with self._db.write() as session:
            session.execute(
                delete(PiiColumnRow).where(
                    PiiColumnRow.project_id == self._project_id,
                    PiiColumnRow.table_name == table,
                )
            )

    # -- tokenizing ----------------------------------------------------------------
    def tokenize(self, data: pa.Table, columns: Sequence[str]) -> pa.Table:
        """``data`` with each of ``columns`` it has replaced by tokens (strings); each new
        clear value sealed into the vault first. Values already tokens stay as they are,
        so rows copied from one pii column to another are not tokenized twice."""
        tokenizer = self._tok()
        pairs: dict[str, str] = {}
        for column in columns:
            index = data.schema.get_field_index(column)
            if index < 0:
                continue
            tokens: list[str | None] = []
            for value in data.column(index).to_pylist():
                if value is None:
                    tokens.append(None)
                    continue
                text = value if isinstance(value, str) else str(value)
                if is_token(text):
                    tokens.append(text)
                    continue
                token = tokenizer.token(text)
                pairs[token] = text
                tokens.append(token)
            data = data.set_column(
                index, pa.field(column, pa.string()), pa.array(tokens, pa.string())
            )
        self._store(pairs)
        return data

    def _store(self, pairs: dict[str, str]) -> None:
        if not pairs:
            return
        tokenizer = self._tok()
        have = self._existing(list(pairs))
        rows = [
            {
                "project_id": self._project_id,
                "token": token,
                "sealed_value": tokenizer.seal(value),
                "created_at": utcnow(),
            }
            for token, value in pairs.items()
            if token not in have
        ]
        if not rows:
            return
        with self._db.write() as session:
            for start in range(0, len(rows), _CHUNK):
                # Two writers may seal the same new value at once: the first row wins.
                statement = self._insert(PiiTokenRow).values(rows[start : start + _CHUNK])
                session.execute(statement.on_conflict_do_nothing())

    def _existing(self, tokens: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._db.read() as session:
            for start in range(0, len(tokens), _CHUNK):
                chunk = tokens[start : start + _CHUNK]
                for token, sealed in session.execute(
                    select(PiiTokenRow.token, PiiTokenRow.sealed_value).where(
                        PiiTokenRow.project_id == self._project_id,
                        PiiTokenRow.token.in_(chunk),
                    )
                ):
                    found[token] = sealed
        return found

    # -- detokenizing --------------------------------------------------------------
    def detokenize(self, table: str, column: str, tokens: Sequence[str]) -> list[str | None]:
        """The clear values of ``tokens`` of pii column ``column`` of ``table``, in order
        (None for a token the vault does not hold). Admins only; audited.

        Raises:
            PermissionDeniedError: the caller's role is below admin.
            NotFoundError: ``column`` of ``table`` is not marked pii.
            InvalidInputError: more than :data:`MAX_DETOKENIZE` tokens.
        """
        target = f"table:{table}.{column}"
        if self._role.rank < DETOKENIZE_ROLE.rank:
            self._audit.record("data.detokenize", target, outcome="permission-denied")
            raise PermissionDeniedError(
                f"detokenizing pii needs the {DETOKENIZE_ROLE.value} role; this key has "
                f"{self._role.value}",
                remedy="ask a project admin to detokenize, or for an admin key",
            )
        if column not in self.columns(table):
            raise NotFoundError(
                f"column '{column}' of table '{table}' is not a pii column",
                field="column",
                remedy=f"pii columns of '{table}': {', '.join(self.columns(table)) or 'none'}; "
                "mark one with p.data.write(..., pii=[column])",
            )
        if len(tokens) > MAX_DETOKENIZE:
            raise InvalidInputError(
                f"detokenize takes at most {MAX_DETOKENIZE} tokens; got {len(tokens)} instead",
                field="tokens",
                remedy="split the tokens into several calls",
            )
        bad = [t for t in tokens if not isinstance(t, str) or not is_token(t)]
        if bad:
            raise InvalidInputError(
                f"a token is 'tok_' and 32 hex characters; got {str(bad[0])[:80]!r} instead",
                field="tokens",
            )
        sealed = self._existing(list(dict.fromkeys(tokens)))
        tokenizer = self._tok()
        values = [
            tokenizer.open(sealed[token], token=token) if token in sealed else None
            for token in tokens
        ]
        self._audit.record("data.detokenize", target, detail={"tokens": len(tokens)})
        return values
