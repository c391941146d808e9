"""Checks on what users log: names, keys, values, sizes."""

from __future__ import annotations

import math
import re
from typing import Any

from podium.errors import InvalidInputError

__all__ = ["check_key", "check_metric_value", "check_name", "param_value"]

_KEY = re.compile(r"^[A-Za-z0-9_\-./: ]{1,250}$")
_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,250}$")
_MAX_PARAM = 6000


def check_key(key: str, *, kind: str) -> str:
    """``key`` if it is a valid param/metric/tag key."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInputError(
            f"the {kind} key must be 1-250 letters, digits, spaces or _-./: ; got {key!r} "
            "instead",
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
            remedy=f"use a name such as 'churn'",
        )
    return name


def param_value(key: str, value: Any) -> str:
    """A param or tag value as the string that is stored."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > _MAX_PARAM:
        raise InvalidInputError(
            f"the value of {key!r} is {len(text)} characters; at most {_MAX_PARAM} are stored",
            field=key,
            remedy="log long values as an artifact instead",
        )
    return text


def check_metric_value(key: str, value: Any) -> float:
    """``value`` as a finite float, or an error naming the metric."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"the metric {key!r} must be a number; got {value!r} instead",
                field=key,
                remedy="log numbers; log text as a tag or an artifact",
            ) from None
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(
            f"the metric {key!r} is {number}; only finite values are stored",
            field=key,
            remedy="skip or clip non-finite values before logging them",
        )
    return number
