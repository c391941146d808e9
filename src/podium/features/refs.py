"""Feature references: ``view:feature``, pinned as ``view@2:feature``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from podium.errors import InvalidInputError

__all__ = ["FeatureRef", "parse_ref", "parse_refs"]

_REF = re.compile(r"^([a-z][a-z0-9_]{0,62})(?:@(\d+))?:([A-Za-z_][A-Za-z0-9_]{0,62}|\*)$")


@dataclass(frozen=True)
class FeatureRef:
    """One requested feature; ``version`` None means the view's latest version."""

    view: str
    feature: str
    version: int | None = None

    def __str__(self) -> str:
        pin = "" if self.version is None else f"@{self.version}"
        return f"{self.view}{pin}:{self.feature}"


def parse_ref(text: object) -> FeatureRef:
    """Parse ``"customer_stats:tenure_months"`` (``view@3:feature`` pins a version)."""
    match = _REF.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError(
            f"a feature reference must look like 'view:feature' or 'view@2:feature'; "
            f"got {text!r} instead",
            field="features",
            remedy="name features as '<feature view>:<feature>', e.g. 'customer_stats:tenure'",
        )
    view, version, feature = match.groups()
    return FeatureRef(view, feature, None if version is None else int(version))


def parse_refs(refs: Sequence[str] | str) -> list[FeatureRef]:
    """Parse a list of references, refusing an empty list and duplicates."""
    if isinstance(refs, str):
        refs = [refs]
    if not refs:
        raise InvalidInputError(
            "no features requested", field="features", remedy="pass features=['view:feature']"
        )
    parsed = [parse_ref(ref) for ref in refs]
    seen: set[tuple[str, str]] = set()
    for ref in parsed:
        if (ref.view, ref.feature) in seen:
            raise InvalidInputError(
                f"feature '{ref.view}:{ref.feature}' is requested twice", field="features"
            )
        seen.add((ref.view, ref.feature))
    return parsed
