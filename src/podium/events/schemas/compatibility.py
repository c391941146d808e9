"""Compatibility of JSON Schemas: can a reader holding one schema read data of another?

The question behind every mode is *reader/writer*: every document valid under the
writer's schema must be valid under the reader's. ``backward`` (the default, as in
Confluent's Schema Registry) means the new schema reads data written under the old one;
``forward`` means old readers read data written under the new one; ``full`` is both;
``none`` checks nothing. A ``_transitive`` mode compares with every earlier version, the
others with the latest only.

The check is sound for the keywords it understands (a change it accepts never makes a
valid document invalid for the reader) and conservative for the rest (a reader-side
keyword it cannot reason about must be unchanged). Understood: ``type`` (with
``integer`` read as a ``number``), ``enum`` and ``const`` (each value of a finite writer
is validated against the reader), ``properties``, ``required``, ``additionalProperties``
(``false``, ``true`` or a schema; an *open* object may carry any extra field with any
value), nested objects, ``items`` and ``prefixItems``, numeric and length bounds
(``minimum``, ``exclusiveMaximum``, ``maxLength``, ``minItems``, ``maxProperties``, ...),
``multipleOf``, ``uniqueItems``, ``pattern`` and ``format`` (equal or absent on the
reader), and local ``$ref`` (``#/$defs/...``; siblings of a ``$ref`` are merged into its
target). Compared only for equality, on the reader's side: ``allOf``, ``anyOf``,
``oneOf``, ``not``, ``if``/``then``/``else``, ``patternProperties``, ``propertyNames``,
``dependentRequired``, ``dependentSchemas``, ``contains``, ``unevaluated*``. Annotations
(``title``, ``description``, ``default``, ``examples``, ...) never matter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from referencing.exceptions import Unresolvable

from podium.errors import InvalidInputError
from podium.events.schemas.refs import resolve_local

__all__ = [
    "COMPATIBILITY_MODES",
    "DEFAULT_COMPATIBILITY",
    "check_compatibility",
    "check_mode",
    "reader_problems",
]

COMPATIBILITY_MODES: dict[str, str] = {
    "backward": "the new schema reads data written under the latest version",
    "backward_transitive": "the new schema reads data written under every earlier version",
    "forward": "readers of the latest version read data written under the new schema",
    "forward_transitive": "readers of every earlier version read data of the new schema",
    "full": "backward and forward against the latest version",
    "full_transitive": "backward and forward against every earlier version",
    "none": "any new schema is accepted",
}
"""Every compatibility mode a subject can have, with what it guarantees."""

DEFAULT_COMPATIBILITY = "backward"

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$id",
        "$schema",
        "$defs",
        "definitions",
        "$anchor",
        "$dynamicAnchor",
        "$vocabulary",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
    }
)
# Reader-side keywords the checker cannot reason about: they must be unchanged.
_EQUALITY_ONLY = (
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "contains",
    "minContains",
    "maxContains",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
)
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum")
_BOUNDS_BY_TYPE = {
    "number": ((), ()),  # numbers use _LOWER_BOUNDS/_UPPER_BOUNDS, see _numbers
    "string": (("minLength",), ("maxLength",)),
    "array": (("minItems",), ("maxItems",)),
    "object": (("minProperties",), ("maxProperties",)),
}


def check_mode(mode: object) -> str:
    """``mode`` if it is one of :data:`COMPATIBILITY_MODES` (any case, ``-`` for ``_``)."""
    if isinstance(mode, str) and mode.lower().replace("-", "_") in COMPATIBILITY_MODES:
        return mode.lower().replace("-", "_")
    raise InvalidInputError(
        f"the compatibility must be one of {', '.join(COMPATIBILITY_MODES)}; got {mode!r} instead",
        field="compatibility",
        remedy="pass e.g. compatibility='backward' (new readers read old data)",
    )


def check_compatibility(
    mode: str, new: dict[str, Any], earlier: Sequence[tuple[int, dict[str, Any]]]
) -> tuple[list[int], list[str]]:
    """The versions ``new`` is compared with under ``mode`` and every problem found.

    ``earlier`` holds ``(version, schema)`` pairs, oldest first. Each problem reads
    ``<mode> incompatible with version <n>: <what changed and why>``.
    """
    if mode == "none" or not earlier:
        return [], []
    against = list(earlier) if mode.endswith("_transitive") else list(earlier[-1:])
    base = mode.removesuffix("_transitive")
    problems: list[str] = []
    for version, old in reversed(against):
        if base in ("backward", "full"):
            found = reader_problems(new, old, reader_is_new=True)
            problems += [f"backward incompatible with version {version}: {p}" for p in found]
        if base in ("forward", "full"):
            found = reader_problems(old, new, reader_is_new=False)
            problems += [f"forward incompatible with version {version}: {p}" for p in found]
    return [version for version, _ in against], problems


def reader_problems(reader: Any, writer: Any, *, reader_is_new: bool) -> list[str]:
    """Why a document valid under ``writer`` might be invalid under ``reader``.

    Empty when the reader reads everything the writer writes (as far as the checked
    keywords tell). ``reader_is_new`` words each problem as a change from the old schema
    to the new one.
    """
    comparison = _Comparison(reader, writer, reader_is_new=reader_is_new)
    comparison.compare(writer, reader, ())
    return comparison.problems


def _where(path: tuple[str, ...]) -> str:
    if not path:
        return "the document"
    text = ""
    for part in path:
        text += part if part.startswith("[") or not text else f".{part}"
    return f"{text!r}"


def _field(path: tuple[str, ...]) -> str:
    return f"field {_where(path)}" if path else "the document"


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return frozenset([declared] if isinstance(declared, str) else declared)


def _reads(kind: str, reader: frozenset[str] | None) -> bool:
    if reader is None or kind in reader:
        return True
    return kind == "integer" and "number" in reader


def _show_types(types: frozenset[str] | None) -> str:
    if types is None:
        return "any type"
    return " or ".join(sorted(types))


def _accepts_anything(schema: Any) -> bool:
    return schema is True or (isinstance(schema, dict) and set(schema) <= _ANNOTATIONS)


def _finite_values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if isinstance(schema.get("enum"), list):
        return list(schema["enum"])
    return None


class _Comparison:
    """One reader/writer comparison: the two roots (for ``$ref``) and what it found."""

    def __init__(self, reader_root: Any, writer_root: Any, *, reader_is_new: bool) -> None:
        self.reader_root = reader_root
        self.writer_root = writer_root
        self.reader_is_new = reader_is_new
        self.problems: list[str] = []
        self._seen: set[tuple[int, int, tuple[str, ...]]] = set()

    def _old_new(self, writer: Any, reader: Any) -> tuple[Any, Any]:
        return (writer, reader) if self.reader_is_new else (reader, writer)

    def _note(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def compare(self, writer: Any, reader: Any, path: tuple[str, ...]) -> None:
        writer = resolve_local(writer, self.writer_root)
        reader = resolve_local(reader, self.reader_root)
        if _accepts_anything(reader) or writer is False:
            return
        key = (id(writer), id(reader), path[-4:])
        if key in self._seen or len(path) > 64:  # a recursive schema: compared once
            return
        self._seen.add(key)
        if reader is False or not isinstance(reader, dict):
            side = "new" if self.reader_is_new else "old"
            self._note(f"{_where(path)} accepts no value in the {side} schema")
            return
        if writer is True or not isinstance(writer, dict):
            writer = {}
        if "$ref" in reader or "$ref" in writer:  # a reference that is not local
            if reader.get("$ref") != writer.get("$ref"):
                old, new = self._old_new(writer.get("$ref"), reader.get("$ref"))
                self._note(
                    f"'$ref' of {_where(path)} changed from {old!r} to {new!r} "
                    "(references outside the schema are compared as text)"
                )
            return
        values = _finite_values(writer)
        if values is not None:
            self._finite_writer(values, reader, path)
            return
        allowed = _finite_values(reader)
        if allowed is not None:
            if self.reader_is_new:
                self._note(f"{_field(path)} became restricted to the values {allowed!r}")
            else:
                self._note(f"{_field(path)} lost its restriction to the values {allowed!r}")
            return
        shared = self._types(writer, reader, path)
        if not shared:
            return
        if shared & {"number", "integer"}:
            self._numbers(writer, reader, path)
        for kind, (lower, upper) in _BOUNDS_BY_TYPE.items():
            if kind in shared and kind != "number":
                self._bounds(writer, reader, path, lower, upper)
        if "string" in shared:
            for keyword in ("pattern", "format"):
                self._same_or_absent(writer, reader, path, keyword)
        if "array" in shared:
            self._arrays(writer, reader, path)
        if "object" in shared:
            self._objects(writer, reader, path)
        for keyword in _EQUALITY_ONLY:
            if keyword in reader and reader[keyword] != writer.get(keyword):
                self._note(
                    f"'{keyword}' of {_where(path)} changed; podium compares '{keyword}' "
                    "only for equality"
                )

    def _finite_writer(
        self, values: list[Any], reader: dict[str, Any], path: tuple[str, ...]
    ) -> None:
        rejected = [value for value in values if not self._valid(value, reader)]
        if rejected:
            shown = ", ".join(repr(value) for value in rejected[:5])
            more = f" and {len(rejected) - 5} more" if len(rejected) > 5 else ""
            if self.reader_is_new:
                self._note(f"{_field(path)} no longer accepts {shown}{more}")
            else:
                self._note(f"{_field(path)} now allows {shown}{more}, which old readers reject")

    def _valid(self, value: Any, reader: dict[str, Any]) -> bool:
        # The reader's definitions come along, so local $refs inside it still resolve.
        root = self.reader_root if isinstance(self.reader_root, dict) else {}
        schema = dict(reader)
        for defs in ("$defs", "definitions"):
            if defs in root and defs not in schema:
                schema[defs] = root[defs]
        try:
            cls = validator_for(root, default=Draft202012Validator)
            return bool(cls(schema).is_valid(value))
        except (SchemaError, Unresolvable):
            return False

    def _types(
        self, writer: dict[str, Any], reader: dict[str, Any], path: tuple[str, ...]
    ) -> frozenset[str]:
        """The writer's types the reader reads (noting those it does not)."""
        written, read = _types(writer), _types(reader)
        kinds = written if written is not None else _ALL_TYPES
        shared = frozenset(kind for kind in kinds if _reads(kind, read))
        if (written is None and read is not None) or shared != kinds:
            old, new = self._old_new(written, read)
            self._note(
                f"type of {_where(path)} changed from {_show_types(old)} to {_show_types(new)}"
            )
        return shared

    def _numbers(
        self, writer: dict[str, Any], reader: dict[str, Any], path: tuple[str, ...]
    ) -> None:
        self._bounds(writer, reader, path, _LOWER_BOUNDS, _UPPER_BOUNDS)
        step = reader.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            own = writer.get("multipleOf")
            ratio = own / step if isinstance(own, (int, float)) and own > 0 else 0.5
            if not math.isclose(ratio, round(ratio)) or round(ratio) == 0:
                self._changed(writer, reader, path, "multipleOf")

    def _bounds(
        self,
        writer: dict[str, Any],
        reader: dict[str, Any],
        path: tuple[str, ...],
        lower: tuple[str, ...],
        upper: tuple[str, ...],
    ) -> None:
        for keyword in lower + upper:
            limit = reader.get(keyword)
            if not isinstance(limit, (int, float)) or isinstance(limit, bool):
                continue
            own = writer.get(keyword)
            if not isinstance(own, (int, float)) or isinstance(own, bool):
                own = _implied_bound(writer, keyword)
            if own is None or (own < limit if keyword in lower else own > limit):
                self._changed(writer, reader, path, keyword)

    def _changed(
        self, writer: dict[str, Any], reader: dict[str, Any], path: tuple[str, ...], keyword: str
    ) -> None:
        old, new = self._old_new(writer.get(keyword), reader.get(keyword))
        shown = "none" if old is None else repr(old)
        self._note(
            f"{keyword} of {_where(path)} changed from {shown} to "
            f"{'none' if new is None else repr(new)}"
        )

    def _same_or_absent(
        self, writer: dict[str, Any], reader: dict[str, Any], path: tuple[str, ...], keyword: str
    ) -> None:
        if keyword in reader and reader[keyword] != writer.get(keyword):
            self._changed(writer, reader, path, keyword)

    def _arrays(
        self, writer: dict[str, Any], reader: dict[str, Any], path: tuple[str, ...]
    ) -> None:
        if reader.get("uniqueItems") is True and writer.get("uniqueItems") is not True:
            self._changed(writer, reader, path, "uniqueItems")
        written_prefix = _prefix(writer)
        read_prefix = _prefix(reader)
        written_rest = _rest(writer)
        read_rest = _rest(reader)
        for index in range(max(len(written_prefix), len(read_prefix))):
            own = written_prefix[index] if index < len(written_prefix) else written_rest
            other = read_prefix[index] if index < len(read_prefix) else read_rest
            self.compare(own, other, (*path, f"[{index}]"))
        self.compare(written_rest, read_rest, (*path, "[]"))

    def _objects(
        self, writer: dict[str, Any], reader: dict[str, Any], path: tuple[str, ...]
    ) -> None:
        written = _properties(writer)
        read = _properties(reader)
        written_extra = writer.get("additionalProperties", True)
        read_extra = reader.get("additionalProperties", True)
        for name in _required(reader) - _required(writer):
            if self.reader_is_new:
                self._note(f"{_field((*path, name))} became required")
            else:
                self._note(f"{_field((*path, name))} is no longer required (old readers need it)")
        for name, own in written.items():
            field_path = (*path, name)
            if name in read:
                self.compare(own, read[name], field_path)
            elif read_extra is False:
                if self.reader_is_new:
                    self._note(
                        f"{_field(field_path)} was removed while the new schema closes "
                        "additionalProperties (old data may carry it)"
                    )
                else:
                    self._note(
                        f"{_field(field_path)} was added while the old schema closes "
                        "additionalProperties (old readers reject it)"
                    )
            else:
                self.compare(own, read_extra, field_path)
        for name, other in read.items():
            if name in written or written_extra is False or _accepts_anything(other):
                continue
            field_path = (*path, name)
            if written_extra is True or _accepts_anything(written_extra):
                if self.reader_is_new:
                    self._note(
                        f"{_field(field_path)} was added with constraints while the old schema "
                        "leaves additionalProperties open (old data may carry it with any "
                        "value); close the old schema with additionalProperties: false, or "
                        "add the field without constraints"
                    )
                else:
                    self._note(
                        f"{_field(field_path)} was removed while the new schema leaves "
                        "additionalProperties open (new data may carry it with any value)"
                    )
            else:
                self.compare(written_extra, other, field_path)
        if read_extra is False and written_extra is not False:
            if self.reader_is_new:
                self._note(
                    f"additionalProperties of {_where(path)} became false (old data may carry "
                    "other fields)"
                )
            else:
                self._note(
                    f"additionalProperties of {_where(path)} was false and is now open "
                    "(old readers reject other fields)"
                )
        elif read_extra is not False and not _accepts_anything(read_extra):
            self.compare(written_extra, read_extra, (*path, "*"))


_ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})


def _implied_bound(schema: dict[str, Any], keyword: str) -> float | None:
    """A bound the writer's other keyword implies (``exclusiveMinimum: 0`` bounds
    ``minimum: 0`` too), so switching between the two is not reported."""
    pairs = {
        "minimum": "exclusiveMinimum",
        "exclusiveMinimum": "minimum",
        "maximum": "exclusiveMaximum",
        "exclusiveMaximum": "maximum",
    }
    other = pairs.get(keyword)
    value = schema.get(other) if other else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if keyword == "minimum" and other == "exclusiveMinimum":
        return float(value)  # x > v implies x >= v
    if keyword == "maximum" and other == "exclusiveMaximum":
        return float(value)
    return None  # x >= v does not imply x > v


def _prefix(schema: dict[str, Any]) -> list[Any]:
    found = schema.get("prefixItems")
    if isinstance(found, list):
        return found
    legacy = schema.get("items")
    return legacy if isinstance(legacy, list) else []


def _rest(schema: dict[str, Any]) -> Any:
    if isinstance(schema.get("items"), list):  # draft 7: items as a list, then additionalItems
        return schema.get("additionalItems", True)
    return schema.get("items", True)


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    found = schema.get("properties")
    return found if isinstance(found, dict) else {}


def _required(schema: dict[str, Any]) -> set[str]:
    found = schema.get("required")
    return {name for name in found if isinstance(name, str)} if isinstance(found, list) else set()
