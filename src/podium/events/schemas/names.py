"""Names and numbers callers give the registry: subject names and version numbers."""

from __future__ import annotations

import re

from podium.errors import InvalidInputError

__all__ = ["check_subject", "check_version"]

_SUBJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_subject(name: object) -> str:
    """``name`` if it is a subject name: 1 to 128 letters, digits, ``.``, ``_``, ``-``."""
    if isinstance(name, str) and _SUBJECT.fullmatch(name):
        return name
    raise InvalidInputError(
        "a subject name must be 1 to 128 letters, digits, '.', '_' or '-', starting with a "
        f"letter or digit; got {name!r} instead",
        field="subject",
        remedy="name the subject after its stream, e.g. 'churn-in'",
    )


def check_version(version: object) -> int | None:
    """``version`` if it is a version number (from 1), or ``None`` for the latest."""
    if version is None:
        return None
    if isinstance(version, int) and not isinstance(version, bool) and version >= 1:
        return version
    raise InvalidInputError(
        f"a schema version must be an integer from 1; got {version!r} instead",
        field="version",
        remedy="leave the version out for the latest, or list them with `podium schemas versions`",
    )
