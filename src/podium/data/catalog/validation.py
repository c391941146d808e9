"""Checking what users pass to the catalog: owners, descriptions, tags, column docs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from podium.errors import InvalidInputError

__all__ = ["MAX_OWNER", "MAX_TAG", "check_column_docs", "check_tags", "check_text"]

MAX_OWNER = 128
MAX_TAG = 64


def check_text(parameter: str, value: object, *, max_length: int | None = None) -> None:
    if value is None:
        return
    if not isinstance(value, str) or (max_length is not None and len(value) > max_length):
        limit = f" of at most {max_length} characters" if max_length else ""
        raise InvalidInputError(
            f"the '{parameter}' parameter must be a string{limit}; got {value!r} instead",
            field=parameter,
        )


def check_tags(tags: object) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise InvalidInputError(
            f"the 'tags' parameter must be a list of strings; got {tags!r} instead",
            field="tags",
            remedy="pass e.g. tags=['churn', 'pii']",
        )
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG:
            raise InvalidInputError(
                f"every tag must be a non-empty string of at most {MAX_TAG} characters; "
                f"got {tag!r} instead",
                field="tags",
            )
        clean.append(tag.strip())
    return list(dict.fromkeys(clean))


def check_column_docs(table: str, docs: object, columns: list[str]) -> dict[str, str]:
    """``docs`` as a dict if it maps columns of ``table`` to strings, else an error."""
    if not isinstance(docs, Mapping):
        raise InvalidInputError(
            f"the 'column_descriptions' parameter must map column names to descriptions; "
            f"got {docs!r} instead",
            field="column_descriptions",
            remedy="pass e.g. column_descriptions={'spend': 'Monthly spend in EUR'}",
        )
    unknown = [column for column in docs if column not in columns]
    if unknown:
        raise InvalidInputError(
            f"table '{table}' has no column {', '.join(map(repr, unknown))}",
            field="column_descriptions",
            remedy=f"describe one of its columns: {', '.join(columns)}",
        )
    for column, text in docs.items():
        if not isinstance(text, str):
            raise InvalidInputError(
                f"the description of column '{column}' must be a string; got {text!r} instead",
                field="column_descriptions",
            )
    return {str(column): text for column, text in docs.items()}
