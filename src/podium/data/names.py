"""Table names of the lake: ``zone.name``, e.g. ``raw.customers``, and references to
them, ``zone.name@N`` (version ``N``) or ``zone.name`` (the latest).

A name is validated before it ever becomes part of a storage path, so no user input can
climb out of the project's lake root. :class:`TableRef` is the one parser of a table
reference: run inputs, training sets, references and samples all go through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from podium.errors import InvalidInputError

__all__ = ["NAME_PART_PATTERN", "TableName", "TableRef", "parse_table_name"]

NAME_PART_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_PART = re.compile(NAME_PART_PATTERN)
_PART_TEXT = NAME_PART_PATTERN.strip("^$")
_REF = re.compile(rf"^({_PART_TEXT})\.({_PART_TEXT})(?:@(\d+))?$")


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


@dataclass(frozen=True)
class TableRef:
    """A lake table at a version (``raw.customers@3``), or at its latest (``version`` is
    ``None``: ``raw.customers``). ``str()`` gives the text back."""

    zone: str
    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str, *, field: str = "table") -> TableRef:
        """Parse ``zone.name`` or ``zone.name@N``; :class:`InvalidInputError` (naming
        ``field``) for anything else."""
        found = cls.find(text)
        if found is None:
            raise InvalidInputError(
                f"a table reference must be 'zone.name' or 'zone.name@VERSION' with each part "
                f"matching {NAME_PART_PATTERN}; got {text!r} instead",
                field=field,
                remedy="name a lake table, optionally at a version: 'raw.customers@3'",
            )
        return found

    @classmethod
    def find(cls, text: object) -> TableRef | None:
        """The reference ``text`` spells, or ``None`` when it is no table reference (a run
        input may be a file path or a URL instead)."""
        match = _REF.match(text) if isinstance(text, str) else None
        if match is None:
            return None
        zone, name, version = match.groups()
        return cls(zone, name, int(version) if version is not None else None)

    @property
    def table(self) -> str:
        """The table's name without the version: ``zone.name``."""
        return f"{self.zone}.{self.name}"

    def __str__(self) -> str:
        return self.table if self.version is None else f"{self.table}@{self.version}"
