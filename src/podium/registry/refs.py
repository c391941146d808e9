"""Model names, aliases and references (``churn/3``, ``churn@production``, ``churn``).

A reference names one version of a model:

- ``name/3``: version 3;
- ``name@production``, ``name@staging``: the version in that stage (the newest one, as
  only ``production`` is unique);
- ``name@champion``: the version an alias points to;
- ``name`` or ``name@latest``: the newest version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from podium.errors import InvalidInputError

__all__ = [
    "ALIAS_PATTERN",
    "MODEL_NAME_PATTERN",
    "RESERVED_ALIASES",
    "ModelRef",
    "check_alias",
    "check_model_name",
    "parse_ref",
]

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
RESERVED_ALIASES = frozenset({"none", "staging", "production", "archived", "latest"})
"""Words a ref resolves as stages or "newest", so no alias may take them."""

_NAME = re.compile(MODEL_NAME_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)
_VERSION = re.compile(r"^[1-9][0-9]{0,8}$")
_REF_FORMS = "'name/3', 'name@production', 'name@staging', 'name@<alias>' or 'name'"


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: exactly one of ``version``, ``stage``, ``alias`` or neither
    (the newest version)."""

    name: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}/{self.version}"
        if self.stage is not None:
            return f"{self.name}@{self.stage}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def check_model_name(name: object, *, field: str = "name") -> str:
    """``name`` if it is a valid model name, else an :class:`InvalidInputError`."""
    if not isinstance(name, str) or _NAME.match(name) is None:
        raise InvalidInputError(
            f"a model name must match {MODEL_NAME_PATTERN}; got {name!r} instead",
            field=field,
            remedy="use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a "
            "letter or digit, e.g. 'customer-churn'",
            details={"pattern": MODEL_NAME_PATTERN},
        )
    return name


def check_alias(alias: object, *, field: str = "alias") -> str:
    """``alias`` if it is a valid alias name (not a stage, not ``latest``)."""
    if not isinstance(alias, str) or _ALIAS.match(alias) is None:
        raise InvalidInputError(
            f"an alias must match {ALIAS_PATTERN}; got {alias!r} instead",
            field=field,
            remedy="use lowercase letters, digits, '_' or '-', e.g. 'champion'",
            details={"pattern": ALIAS_PATTERN},
        )
    if alias in RESERVED_ALIASES:
        raise InvalidInputError(
            f"{alias!r} cannot be an alias: refs already use it for a stage or the newest version",
            field=field,
            remedy="pick another word, e.g. 'champion' or 'challenger'; move a version "
            "between stages with request_transition",
        )
    return alias


def check_version(version: object, *, field: str = "version") -> int:
    """``version`` if it is a positive integer."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(
            f"a model version must be a positive integer; got {version!r} instead",
            field=field,
            remedy="pass the number registration returned, e.g. 3",
        )
    return version


def parse_ref(ref: object, *, field: str = "ref") -> ModelRef:
    """The :class:`ModelRef` of ``ref``; anything malformed is an :class:`InvalidInputError`."""
    if not isinstance(ref, str) or not ref:
        raise _bad_ref(ref, field)
    name, slash, version = ref.partition("/")
    if slash:
        if _NAME.match(name) is None or _VERSION.match(version) is None:
            raise _bad_ref(ref, field)
        return ModelRef(name, version=int(version))
    name, at, label = ref.partition("@")
    if _NAME.match(name) is None:
        raise _bad_ref(ref, field)
    if not at or label == "latest":
        return ModelRef(name)
    if label in ("staging", "production", "archived", "none"):
        return ModelRef(name, stage=label)
    if _ALIAS.match(label) is None:
        raise _bad_ref(ref, field)
    return ModelRef(name, alias=label)


def _bad_ref(ref: object, field: str) -> InvalidInputError:
    return InvalidInputError(
        f"{ref!r} is not a model reference: expected {_REF_FORMS}",
        field=field,
        remedy=f"name a version as {_REF_FORMS}; model names match {MODEL_NAME_PATTERN}",
    )
