"""Table names of the lake: ``zone.name``, e.g. ``raw.customers``.

A name is validated before it ever becomes part of a storage path, so no user input can
climb out of the project's lake root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from podium.errors import InvalidInputError

__all__ = ["NAME_PART_PATTERN", "TableName", "parse_table_name"]

NAME_PART_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_PART = re.compile(NAME_PART_PATTERN)


@dataclass(frozen=True)
class TableName:
    """A validated table name: a zone (``raw``, ``curated``, ...) and a name in it."""

    zone: str
    name: str

    def __str__(self) -> str:
        return f"{self.zone}.{self.name}"


def parse_table_name(text: str) -> TableName:
    """Parse ``zone.name``; each part must match :data:`NAME_PART_PATTERN`."""
    parts = text.split(".") if isinstance(text, str) else []
    if len(parts) != 2 or not all(_PART.fullmatch(part) for part in parts):
        raise InvalidInputError(
            f"the table name must be 'zone.name' with each part matching "
            f"{NAME_PART_PATTERN}; got {text!r} instead",
            field="name",
            remedy="use lower-case letters, digits and '_', e.g. 'raw.customers'",
        )
    return TableName(parts[0], parts[1])
