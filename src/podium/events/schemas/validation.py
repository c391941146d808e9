"""JSON Schemas: checking one is valid, fingerprinting it, and validating documents.

A schema is checked against its draft's metaschema (``$schema``; Draft 2020-12 when it
names none), must be a JSON object of at most 512 KiB, and may only use local ``$ref``
(see :mod:`podium.events.schemas.refs`). Documents are validated with ``format``
asserted (``"format": "email"`` rejects ``"x"``, where a checker for the format is
installed). Compiled validators are cached by fingerprint, shared by every service of
the process: a producer validating each event compiles its schema once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from podium.errors import InvalidInputError
from podium.events.schemas.refs import local_refs, pointer

__all__ = [
    "MAX_SCHEMA_BYTES",
    "SCHEMA_VIOLATION",
    "canonical_json",
    "check_schema",
    "compiled",
    "fingerprint",
    "validate_document",
]

MAX_SCHEMA_BYTES = 512 * 1024
SCHEMA_VIOLATION = "schema-violation"
"""The error code of a document that does not match its schema (an InvalidInputError)."""
_INVALID_SCHEMA = "invalid-schema"
_SHOWN_ERRORS = 10
_CACHED = 512


def canonical_json(schema: Any) -> str:
    """``schema`` as canonical JSON: sorted keys, no spaces (what the fingerprint hashes)."""
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint(schema: Any) -> str:
    """The SHA-256 of :func:`canonical_json`: equal schemas, equal fingerprints."""
    return hashlib.sha256(canonical_json(schema).encode()).hexdigest()


def _invalid(message: str, *, field: str = "schema") -> InvalidInputError:
    return InvalidInputError(
        message,
        code=_INVALID_SCHEMA,
        field=field,
        remedy="fix the schema so it is a valid JSON Schema (Draft 2020-12 unless $schema "
        "names another draft); https://json-schema.org/draft/2020-12 describes it",
    )


def check_schema(schema: object) -> dict[str, Any]:
    """``schema`` if it is a valid JSON Schema object podium can store and validate with."""
    if not isinstance(schema, dict):
        raise _invalid(
            f"a schema must be a JSON object; got {type(schema).__name__} instead",
        )
    try:
        text = canonical_json(schema)
        json.loads(text)
        json.dumps(schema, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"the schema is not JSON: {exc}") from exc
    if len(text.encode()) > MAX_SCHEMA_BYTES:
        raise _invalid(f"the schema is {len(text.encode())} bytes; at most {MAX_SCHEMA_BYTES}")
    cls = _validator_class(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = exc.json_path.replace("$", "schema", 1)
        raise _invalid(
            f"the schema is not a valid JSON Schema at {where}: {_short(exc.message)}",
            field=where,
        ) from None
    for ref in local_refs(schema):
        if not ref.startswith("#"):
            raise _invalid(
                f"the schema refers to {ref!r}; only local references (#/$defs/...) are "
                "supported, podium never fetches schemas"
            )
        if pointer(schema, ref) is None:
            raise _invalid(f"the schema's $ref {ref!r} points at nothing in the schema")
    return schema


def _validator_class(schema: dict[str, Any]) -> type[Validator]:
    cls: type[Validator] = validator_for(schema, default=Draft202012Validator)
    named = schema.get("$schema")
    if named is not None:
        known = str(cls.META_SCHEMA.get("$id", "")).rstrip("#")
        if not isinstance(named, str) or named.rstrip("#") != known:
            raise _invalid(
                f"unknown $schema {named!r}; use a JSON Schema draft such as "
                "'https://json-schema.org/draft/2020-12/schema', or leave $schema out",
                field="schema.$schema",
            )
    return cls


class _Compiled:
    """A bounded LRU of compiled validators by schema fingerprint (thread-safe)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._found: OrderedDict[str, Validator] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str, schema: dict[str, Any]) -> Validator:
        with self._lock:
            found = self._found.get(digest)
            if found is not None:
                self._found.move_to_end(digest)
                return found
        cls = validator_for(schema, default=Draft202012Validator)
        built: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        with self._lock:
            self._found[digest] = built
            while len(self._found) > self._size:
                self._found.popitem(last=False)
        return built


_COMPILED = _Compiled(_CACHED)


def compiled(schema: dict[str, Any], digest: str | None = None) -> Validator:
    """The compiled validator of ``schema`` (cached by its fingerprint ``digest``)."""
    return _COMPILED.get(digest or fingerprint(schema), schema)


def validate_document(
    document: Any, schema: dict[str, Any], *, subject: str, version: int, digest: str
) -> None:
    """Raise an InvalidInputError (code ``schema-violation``) naming the JSON path and the
    reason of the first failure when ``document`` does not match ``schema``.

    The error's ``field`` is the JSON path (``$.features.tenure``); ``details["errors"]``
    lists up to ten failures as ``{"path", "message"}``.
    """
    validator = compiled(schema, digest)
    errors = sorted(validator.iter_errors(document), key=_relevance)
    if not errors:
        return
    shown = [{"path": e.json_path, "message": _short(e.message)} for e in errors[:_SHOWN_ERRORS]]
    first = shown[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InvalidInputError(
        f"the document does not match schema {subject!r} version {version}: at "
        f"{first['path']}: {first['message']}{more}",
        code=SCHEMA_VIOLATION,
        field=first["path"],
        remedy=f"fix the document to match the schema (`podium schemas show {subject}`), "
        "or register a schema version that accepts it",
        details={"subject": subject, "version": version, "errors": shown},
    )


def _relevance(error: Any) -> tuple[int, str]:
    # Shallow errors first (a missing required field before a bad nested value), then
    # by path, so the first error reported is stable.
    return (len(error.absolute_path), error.json_path)


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
