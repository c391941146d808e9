"""Scoring a table against a catalog search: which fields match the words, and how well.

Matching is case-insensitive substring matching; every word of the search must match
somewhere. Per word, the best match in each field counts: the table's name weighs most,
then tags, then column names, then descriptions (of the table and of its columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from podium.data.catalog.models import CatalogHit, MatchedField

__all__ = ["SearchableTable", "score_table", "search_terms"]

_EXACT_NAME, _IN_NAME = 10.0, 5.0
_EXACT_TAG, _IN_TAG = 4.0, 2.0
_EXACT_COLUMN, _IN_COLUMN = 3.0, 1.5
_IN_DESCRIPTION, _IN_COLUMN_DESCRIPTION = 2.0, 1.0
_FIELD_ORDER: tuple[MatchedField, ...] = ("name", "description", "tag", "column")


@dataclass(frozen=True)
class SearchableTable:
    """The text of one table that a search looks at."""

    name: str
    description: str = ""
    tags: Sequence[str] = ()
    columns: Sequence[str] = ()
    column_descriptions: Sequence[str] = field(default=())


def search_terms(text: str) -> list[str]:
    """The lower-cased words of a search, without duplicates."""
    return list(dict.fromkeys(text.lower().split()))


def _best(term: str, values: Sequence[str], exact: float, inside: float) -> float:
    best = 0.0
    for value in values:
        value = value.lower()
        if value == term:
            return exact
        if term in value:
            best = inside
    return best


def _term_scores(term: str, table: SearchableTable) -> dict[MatchedField, float]:
    short = table.name.partition(".")[2]
    scores: dict[MatchedField, float] = {
        "name": _best(term, [table.name, short], _EXACT_NAME, _IN_NAME),
        "tag": _best(term, table.tags, _EXACT_TAG, _IN_TAG),
        "column": max(
            _best(term, table.columns, _EXACT_COLUMN, _IN_COLUMN),
            _best(term, table.column_descriptions, 0.0, _IN_COLUMN_DESCRIPTION),
        ),
        "description": _IN_DESCRIPTION if term in table.description.lower() else 0.0,
    }
    return {name: score for name, score in scores.items() if score > 0}


def score_table(terms: Sequence[str], table: SearchableTable) -> CatalogHit | None:
    """The hit for ``table`` if every term matches one of its fields, else ``None``."""
    total = 0.0
    matched: set[MatchedField] = set()
    for term in terms:
        scores = _term_scores(term, table)
        if not scores:
            return None
        total += sum(scores.values())
        matched |= scores.keys()
    return CatalogHit(
        name=table.name,
        score=round(total, 3),
        matched=[name for name in _FIELD_ORDER if name in matched],
    )
