"""Checks on what users log: names, keys, values, steps, sizes.

Everything is checked where it is logged, before it is buffered, so a bad value fails at
the line that logs it rather than later in a background write.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from podium.errors import InvalidInputError

__all__ = [
    "check_input_refs",
    "check_key",
    "check_metric_value",
    "check_name",
    "check_step",
    "check_timestamp",
    "param_value",
]

# No leading or trailing space: " auc" and "auc" would look the same everywhere they show.
_KEY = re.compile(r"^(?! )[A-Za-z0-9_\-./: ]{1,250}(?<! )$")
_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,250}$")
_MAX_PARAM = 6000
_MAX_REF = 512
_INT64 = range(-(2**63), 2**63)  # what the BIGINT step and timestamp columns hold


def check_key(key: str, *, kind: str) -> str:
    """``key`` if it is a valid param/metric/tag key."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInputError(
            f"the {kind} key must be 1-250 letters, digits, spaces or _-./: , not starting "
            f"or ending with a space; got {key!r} instead",
            field=f"{kind}s",
            remedy=f"rename the {kind}, e.g. 'val_auc'",
        )
    return key


def check_name(name: str, *, kind: str) -> str:
    """``name`` if it is a valid experiment or run name."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"the {kind} name must be 1-250 characters without slashes or control "
            f"characters; got {name!r} instead",
            field=kind,
            remedy="use a name such as 'churn'",
        )
    return name


def param_value(key: str, value: Any) -> str:
    """A param or tag value as the string that is stored."""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise InvalidInputError(
            f"the value of {key!r} contains a NUL character, which is not stored",
            field=key,
            remedy="remove the NUL character (\\x00) from the value",
        )
    if len(text) > _MAX_PARAM:
        raise InvalidInputError(
            f"the value of {key!r} is {len(text)} characters; at most {_MAX_PARAM} are stored",
            field=key,
            remedy="log long values as an artifact instead",
        )
    return text


def check_metric_value(key: str, value: Any) -> float:
    """``value`` as a finite float, or an error naming the metric.

    Numbers of any kind (int, float, numpy scalars, Decimal) are accepted; booleans
    (Python's or numpy's) and strings are not, even though they would convert, because
    logging one is almost always a bug.
    """
    number: float | None = None
    is_bool = isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b"
    if not is_bool and not isinstance(value, str | bytes):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            number = None
    if number is None:
        raise InvalidInputError(
            f"the metric {key!r} must be a number; got {value!r} instead",
            field=key,
            remedy="log numbers; log text as a tag or an artifact",
        )
    if not math.isfinite(number):
        raise InvalidInputError(
            f"the metric {key!r} is {number}; only finite values are stored",
            field=key,
            remedy="skip or clip non-finite values before logging them",
        )
    return number


def check_step(key: str, step: Any) -> int:
    """``step`` if it is an integer a step column holds, or an error naming the metric."""
    if isinstance(step, bool) or not isinstance(step, int) or step not in _INT64:
        raise InvalidInputError(
            f"the step of metric {key!r} must be an integer between -2**63 and 2**63-1; "
            f"got {step!r} instead",
            field="step",
            remedy="pass the training step or epoch as an int, e.g. step=10",
        )
    return step


def check_timestamp(key: str, timestamp: Any) -> int:
    """``timestamp`` (milliseconds since the epoch) if it is a non-negative 64-bit int."""
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, int)
        or timestamp < 0
        or timestamp not in _INT64
    ):
        raise InvalidInputError(
            f"the timestamp of metric {key!r} must be integer milliseconds since the epoch; "
            f"got {timestamp!r} instead",
            field="timestamp",
            remedy="leave it out to use the current time",
        )
    return timestamp


def check_input_refs(refs: Sequence[str]) -> list[str]:
    """``refs`` without duplicates, if each is a non-empty string of at most 512 characters."""
    if isinstance(refs, str) or not isinstance(refs, Sequence):
        raise InvalidInputError(
            f"inputs must be a list of table references; got {refs!r} instead",
            field="inputs",
            remedy="pass a list such as ['raw.customers@3']",
        )
    for ref in refs:
        if not isinstance(ref, str) or not ref or len(ref) > _MAX_REF or "\x00" in ref:
            raise InvalidInputError(
                f"an input reference must be a non-empty string of at most {_MAX_REF} "
                f"characters; got {ref!r} instead",
                field="inputs",
                remedy="pass a table reference such as 'raw.customers@3'",
            )
    return list(dict.fromkeys(refs))
