"""Filter and order-by expressions for searching runs.

A filter is clauses joined by ``AND`` (keywords are case-insensitive)::

    metrics.auc > 0.8 AND params.model = 'rf' AND tags.team LIKE 'ml-%'

Each clause is ``entity.key comparator value``:

* **entity** is ``metrics`` (or ``metric``), ``params`` (``param``), ``tags`` (``tag``) or
  ``attributes`` (``attribute``, ``attr``).
* **key** is a bare name such as ``auc``, ``val.auc`` or ``loss/train`` (letters, digits and
  ``_ . : / -``, not starting with a digit), or quoted: ``metrics.`my key``` or
  ``metrics."my key"``.
* **comparator** is one of ``= != < <= > >= LIKE ILIKE IN NOT IN`` (``==`` means ``=`` and
  ``<>`` means ``!=``).
* **value** is a number (``3``, ``-0.5``, ``1e-3``), a string in single or double quotes
  (double the quote or use a backslash to include it: ``'it''s'``, ``'it\\'s'``; ``\\\\`` is
  one backslash) or, after ``IN`` / ``NOT IN``, a parenthesised list ``('a', 'b')``.

What may be compared with what:

* metrics compare with numbers using ``= != < <= > >=``.
* params and tags compare with strings using ``= != LIKE ILIKE IN NOT IN``; a bare number is
  taken as the string it is written as (``params.C = 0.5`` means ``params.C = '0.5'``).
* attributes are ``run_id`` (alias ``id``), ``run_name`` (``name``), ``status``,
  ``experiment_id``, ``parent_run_id`` and ``user``, which compare like params, and
  ``start_time`` and ``end_time`` (milliseconds since the epoch), which compare like metrics.

``OR`` and parentheses for grouping are not supported. An empty filter matches every run.
Errors are :class:`~podium.errors.InvalidInputError` with ``field="filter"``; the message
names the 0-based position and points at it with a caret, and ``details["position"]`` holds it.

Order-by items are ``entity.key`` optionally followed by ``ASC`` (the default) or ``DESC``,
e.g. ``["metrics.auc DESC", "attributes.start_time"]``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

from podium.errors import InvalidInputError

__all__ = ["Clause", "Comparator", "Entity", "OrderKey", "parse_filter", "parse_order_by"]

Entity = Literal["metrics", "params", "tags", "attributes"]
Comparator = Literal["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN"]
_Value = float | str | tuple[float | str, ...]


@dataclass(frozen=True)
class Clause:
    """One ``entity.key comparator value`` condition; all clauses of a filter must hold."""

    entity: Entity
    key: str
    comparator: Comparator
    value: float | str | tuple[float | str, ...]


@dataclass(frozen=True)
class OrderKey:
    """One sort key of a search, e.g. ``metrics.auc DESC``."""

    entity: Entity
    key: str
    descending: bool


_ENTITIES: dict[str, Entity] = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
}
_ATTRIBUTES = {
    "run_id": "run_id",
    "id": "run_id",
    "run_name": "run_name",
    "name": "run_name",
    "status": "status",
    "start_time": "start_time",
    "end_time": "end_time",
    "experiment_id": "experiment_id",
    "parent_run_id": "parent_run_id",
    "user": "user",
}
_ATTRIBUTE_LIST = (
    "run_id (id), run_name (name), status, start_time, end_time, experiment_id, parent_run_id, user"
)
_NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
_OPERATORS: dict[str, Comparator] = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
    "IN": "IN",
}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")

_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
_SYMBOL = re.compile(r"<=|>=|<>|!=|==|=|<|>")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]")
_CHUNK = {"'": re.compile(r"[^'\\]*"), '"': re.compile(r'[^"\\]*')}
_TOKEN = re.compile(r"[A-Za-z0-9_.:/+-]+|[<>=!]+|'[^']*'?|\"[^\"]*\"?|\S")
_BLANKS = str.maketrans("\t\n\r\v\f", "     ")

_FILTER_REMEDY = (
    "join clauses with AND, e.g. metrics.auc > 0.8 AND params.model = 'rf' "
    "AND tags.team LIKE 'ml-%'"
)
_ORDER_REMEDY = "give entity.key and optionally ASC or DESC, e.g. 'metrics.auc DESC'"


class _Parser:
    """A cursor over one filter or order-by item that raises positioned errors."""

    __slots__ = ("field", "n", "pos", "remedy", "text", "where")

    def __init__(self, text: str, *, field: str, where: str, remedy: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.field = field
        self.where = where
        self.remedy = remedy

    def fail(self, pos: int, tail: str, head: str | None = None) -> NoReturn:
        if head is None:
            match = _TOKEN.match(self.text, pos)
            if match is None:
                head = "unexpected end" if pos >= self.n else f"unexpected {self.text[pos]!r}"
            else:
                token = match.group()
                token = token if len(token) <= 24 else token[:21] + "..."
                quoted = token[0] in ("'", '"')
                head = f"unexpected string {token}" if quoted else f"unexpected {token!r}"
        shown = self.text.translate(_BLANKS)
        raise InvalidInputError(
            f"{head} at position {pos} in {self.where}: {tail}\n  {shown}\n  {' ' * pos}^",
            field=self.field,
            remedy=self.remedy,
            details={"position": pos},
        )

    def skip_space(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= self.n

    def word(self) -> str:
        """The keyword at the cursor (upper-cased, consumed), or '' if there is none."""
        match = _WORD.match(self.text, self.pos)
        if match is None:
            return ""
        self.pos = match.end()
        return match.group().upper()

    def identifier(self) -> tuple[Entity, str]:
        self.skip_space()
        start = self.pos
        match = _WORD.match(self.text, start)
        if match is None:
            self.fail(start, "expected entity.key, e.g. metrics.auc or params.model")
        name = match.group()
        entity = _ENTITIES.get(name.lower())
        if entity is None:
            tail = "expected metrics, params, tags or attributes, e.g. metrics.auc"
            self.fail(start, tail, head=f"unknown entity {name!r}")
        self.pos = match.end()
        if not self.text.startswith(".", self.pos):
            tail = f"expected '.' and a key after {name!r}, e.g. {name}.auc"
            self.fail(self.pos, tail, head="missing '.'")
        self.pos += 1
        key_start = self.pos
        quote = self.text[key_start] if key_start < self.n else ""
        if quote == "`":
            end = self.text.find("`", key_start + 1)
            if end < 0:
                self.fail(key_start, "close it with `", head="unterminated key")
            key = self.text[key_start + 1 : end]
            self.pos = end + 1
        elif quote == '"':
            key = self.string()
        else:
            match = _KEY.match(self.text, key_start)
            if match is None:
                self.fail(
                    key_start,
                    f"expected a key after '{name}.'; backquote other keys, e.g. {name}.`my key`",
                )
            key = match.group()
            self.pos = match.end()
        if not key:
            self.fail(key_start, "give the key a name", head="empty key")
        if entity == "attributes":
            attribute = _ATTRIBUTES.get(key.lower())
            if attribute is None:
                tail = f"expected one of {_ATTRIBUTE_LIST}"
                self.fail(key_start, tail, head=f"unknown attribute {key!r}")
            key = attribute
        return entity, key

    def comparator(self) -> Comparator:
        self.skip_space()
        start = self.pos
        match = _SYMBOL.match(self.text, start)
        if match is not None:
            self.pos = match.end()
            return _OPERATORS[match.group()]
        word = self.word()
        if word in ("LIKE", "ILIKE", "IN"):
            return _OPERATORS[word]
        if word == "NOT":
            self.skip_space()
            after = self.pos
            if self.word() == "IN":
                return "NOT IN"
            self.fail(after, "expected IN after NOT")
        self.fail(start, "expected a comparator: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN")

    def string(self) -> str:
        """The quoted string at the cursor, unescaped."""
        text, start = self.text, self.pos
        quote = text[start]
        chunk = _CHUNK[quote]
        parts: list[str] = []
        i = start + 1
        while True:
            match = chunk.match(text, i)
            assert match is not None
            parts.append(match.group())
            i = match.end()
            if i >= self.n:
                self.fail(start, f"close it with {quote}", head="unterminated string")
            if text[i] == "\\":
                escaped = i + 1 < self.n and text[i + 1] in (quote, "\\")
                parts.append(text[i + 1] if escaped else "\\")
                i += 2 if escaped else 1
            elif text.startswith(quote, i + 1):
                parts.append(quote)
                i += 2
            else:
                self.pos = i + 1
                return "".join(parts)

    def scalar(self, numeric: bool, subject: str) -> float | str:
        self.skip_space()
        start = self.pos
        first = self.text[start] if start < self.n else ""
        if first in ("'", '"'):
            value = self.string()
            if numeric:
                self.fail(start, f"{subject} with numbers")
            return value
        match = _NUMBER.match(self.text, start)
        if match is None:
            tail = "expected a number" if numeric else "expected a quoted string or a number"
            self.fail(start, tail)
        if _NUMBER_TAIL.match(self.text, match.end()):
            self.fail(start, "expected a number")
        self.pos = match.end()
        return float(match.group()) if numeric else match.group()

    def value(self, comparator: Comparator, numeric: bool, subject: str) -> _Value:
        self.skip_space()
        start = self.pos
        is_list = self.text.startswith("(", start)
        if comparator not in ("IN", "NOT IN"):
            if is_list:
                self.fail(start, "a parenthesised list may only follow IN or NOT IN")
            return self.scalar(numeric, subject)
        if not is_list:
            self.fail(start, f"expected '(' to start the {comparator} list, e.g. ('a', 'b')")
        self.pos += 1
        items: list[float | str] = []
        while True:
            items.append(self.scalar(numeric, subject))
            self.skip_space()
            if self.text.startswith(")", self.pos):
                self.pos += 1
                return tuple(items)
            if not self.text.startswith(",", self.pos):
                self.fail(self.pos, "expected ',' or ')' in the list")
            self.pos += 1

    def clause(self) -> Clause:
        entity, key = self.identifier()
        self.skip_space()
        op_start = self.pos
        comparator = self.comparator()
        numeric = entity == "metrics" or (entity == "attributes" and key in _NUMERIC_ATTRIBUTES)
        subject = f"attributes.{key} compares" if entity == "attributes" else f"{entity} compare"
        allowed = _NUMERIC_OPS if numeric else _STRING_OPS
        if comparator not in allowed:
            self.fail(op_start, f"{subject} with {', '.join(allowed)}")
        value = self.value(comparator, numeric, subject)
        return Clause(entity, key, comparator, value)


MAX_CLAUSES = 100
"""More clauses than this are refused (the database's expression depth is finite)."""


def parse_filter(text: str | None) -> tuple[Clause, ...]:
    """Parse a search filter into its clauses; ``None`` or blank means no filter."""
    if text is None or not text.strip():
        return ()
    parser = _Parser(text, field="filter", where="filter", remedy=_FILTER_REMEDY)
    clauses = [parser.clause()]
    while not parser.at_end():
        start = parser.pos
        word = parser.word()
        if word == "OR":
            parser.fail(start, "OR is not supported; combine clauses with AND")
        if word != "AND":
            parser.fail(start, "expected AND")
        if len(clauses) == MAX_CLAUSES:
            parser.fail(start, f"a filter holds at most {MAX_CLAUSES} clauses")
        clauses.append(parser.clause())
    return tuple(clauses)


def parse_order_by(items: Sequence[str] | None) -> tuple[OrderKey, ...]:
    """Parse order-by items such as ``"metrics.auc DESC"``; a lone string is one item."""
    if items is None:
        return ()
    if isinstance(items, str):
        items = [items]
    keys: list[OrderKey] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInputError(
                f"order_by items must be strings, got {type(item).__name__}",
                field="order_by",
                remedy=_ORDER_REMEDY,
            )
        where = f"order_by item {item!r}"
        parser = _Parser(item, field="order_by", where=where, remedy=_ORDER_REMEDY)
        entity, key = parser.identifier()
        descending = False
        if not parser.at_end():
            start = parser.pos
            direction = parser.word()
            if direction not in ("ASC", "DESC"):
                parser.fail(start, "expected ASC or DESC")
            descending = direction == "DESC"
            if not parser.at_end():
                parser.fail(parser.pos, "expected nothing after ASC or DESC")
        keys.append(OrderKey(entity, key, descending))
    return tuple(keys)
