"""Data quality: counting how a frame breaks its data contract.

:func:`check_contract` counts, per column and with vectorised Arrow kernels, the values
that break each rule: a missing or unexpected column, values of the wrong type, values
out of range, categories the contract does not allow, and a null rate above the
allowed one. It also reports completeness (the non-null share of each column)::

    report = check_contract(contract, live_df)
    report.ok                         # False
    report.violations[0]              # Violation(column='age', kind='range', count=3, ...)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from podium.errors import InvalidInputError
from podium.monitoring.contract import ColumnRule, DataContract
from podium.monitoring.frames import Frame, column_names, get_column, materialize, row_count

__all__ = ["QualityReport", "Violation", "ViolationKind", "check_contract"]

ViolationKind = Literal[
    "missing_column", "unexpected_column", "type", "range", "unseen_category", "null_rate"
]


@dataclass(frozen=True)
class Violation:
    """``count`` values (or rows) of ``column`` break a rule; ``rate`` is count / rows."""

    column: str
    kind: ViolationKind
    count: int
    rate: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True)
class QualityReport:
    """Contract violations of a frame, and each column's non-null share.

    ``completeness`` is None for a column when there are no rows to judge.
    """

    rows: int
    violations: list[Violation]
    completeness: dict[str, float | None]

    @property
    def ok(self) -> bool:
        """True when nothing breaks the contract."""
        return not self.violations

    def count(self, kind: ViolationKind | None = None) -> int:
        """Total values breaking rules (of one ``kind``, or of all)."""
        return sum(v.count for v in self.violations if kind is None or v.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "rows": self.rows,
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
            "completeness": dict(self.completeness),
        }


def check_contract(contract: DataContract, frame: Frame) -> QualityReport:
    """Count the violations of ``contract`` in ``frame``."""
    if not isinstance(contract, DataContract):
        raise InvalidInputError(
            f"the 'contract' parameter must be a DataContract; got "
            f"{type(contract).__name__} instead",
            field="contract",
            remedy="build one with derive_contract(profile) or DataContract.from_dict(...)",
        )
    contract.validate()
    table = materialize(frame, field="frame")
    rows = row_count(table)
    present = column_names(table)
    violations: list[Violation] = []
    completeness: dict[str, float | None] = {}
    for name, rule in contract.columns.items():
        if name not in present:
            violations.append(
                Violation(name, "missing_column", rows, 1.0, f"column '{name}' is missing")
            )
            completeness[name] = 0.0 if rows else None
            continue
        array = get_column(table, name)
        nulls = _null_count(array)
        completeness[name] = (rows - nulls) / rows if rows else None
        violations.extend(_check_column(rule, array, rows, nulls))
    if not contract.allow_extra_columns:
        for name in present:
            if name not in contract.columns:
                detail = f"column '{name}' is not in the contract"
                violations.append(Violation(name, "unexpected_column", rows, 1.0, detail))
    return QualityReport(rows=rows, violations=violations, completeness=completeness)


def _null_count(array: pa.Array) -> int:
    nulls = int(array.null_count)
    if pa.types.is_floating(array.type):
        nulls += int(pc.sum(pc.is_nan(array)).as_py() or 0)
    return nulls


def _check_column(rule: ColumnRule, array: pa.Array, rows: int, nulls: int) -> list[Violation]:
    out: list[Violation] = []
    name = rule.name
    rate = nulls / rows if rows else 0.0
    if nulls and rate > rule.max_null_rate:
        detail = f"null rate {rate:.3g} > allowed {rule.max_null_rate:.3g}"
        out.append(Violation(name, "null_rate", nulls, rate, detail))
    expected, actual = _family(rule.dtype, rule.kind), _arrow_family(array.type)
    if expected != actual:
        values = rows - nulls
        if values:
            detail = f"expected {rule.dtype}, got {array.type}"
            out.append(Violation(name, "type", values, values / rows, detail))
        return out
    if actual == "number" and (rule.min is not None or rule.max is not None):
        out.extend(_range(rule, array, rows))
    if rule.allowed is not None:
        out.extend(_categories(rule, array, rows))
    return out


def _range(rule: ColumnRule, array: pa.Array, rows: int) -> list[Violation]:
    values = pc.cast(array, pa.float64()) if pa.types.is_decimal(array.type) else array
    outside = None
    if rule.min is not None:
        outside = pc.less(values, rule.min)
    if rule.max is not None:
        above = pc.greater(values, rule.max)
        outside = above if outside is None else pc.or_(outside, above)
    count = int(pc.sum(outside).as_py() or 0) if outside is not None else 0
    if not count:
        return []
    low = "-inf" if rule.min is None else f"{rule.min:g}"
    high = "inf" if rule.max is None else f"{rule.max:g}"
    detail = f"{count} values outside [{low}, {high}]"
    return [Violation(rule.name, "range", count, count / rows, detail)]


def _categories(rule: ColumnRule, array: pa.Array, rows: int) -> list[Violation]:
    assert rule.allowed is not None
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    try:
        allowed = pa.array(rule.allowed, type=array.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array, allowed = pc.cast(array, pa.string()), pa.array([str(v) for v in rule.allowed])
    unseen = pc.and_(pc.invert(pc.is_in(array, value_set=allowed)), pc.is_valid(array))
    count = int(pc.sum(unseen).as_py() or 0)
    if not count:
        return []
    examples = pc.unique(pc.filter(array, unseen)).slice(0, 5).to_pylist()
    detail = f"{count} values of categories not allowed, e.g. {examples}"
    return [Violation(rule.name, "unseen_category", count, count / rows, detail)]


def _family(dtype: str, kind: str) -> str:
    """The type family an Arrow type name belongs to (numbers of any width are one)."""
    text = dtype.lower()
    if text.startswith(("int", "uint", "float", "double", "halffloat", "decimal")):
        return "number"
    if text.startswith("bool"):
        return "boolean"
    if text.startswith(("string", "large_string", "utf8", "large_utf8")) or (
        text.startswith("dictionary") and "string" in text
    ):
        return "string"
    if text.startswith(("timestamp", "date")):
        return "time"
    return {"numeric": "number", "categorical": "string", "boolean": "boolean"}.get(kind, text)


def _arrow_family(arrow_type: pa.DataType) -> str:
    if pa.types.is_dictionary(arrow_type):
        return _arrow_family(arrow_type.value_type)
    if pa.types.is_null(arrow_type):
        return "null"
    return _family(str(arrow_type), "other")
