"""Params and metric names as tracking accepts them.

Estimator params become strings (an estimator inside another shows its class name, as
its own params are logged beside it under ``step__param``); keys tracking would refuse
(characters outside ``A-Z a-z 0-9 _-./:`` and space) are left out rather than failing
the fit, and long values are cut.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["metric_key", "param_values", "scalar_metrics"]

_KEY = re.compile(r"^(?! )[A-Za-z0-9_\-./: ]{1,250}(?<! )$")
_NOT_KEY = re.compile(r"[^A-Za-z0-9_\-./: ]")
_MAX_VALUE = 500


def _as_text(value: Any) -> str:
    if hasattr(value, "get_params") and not isinstance(value, type):
        return type(value).__name__
    if callable(value) and hasattr(value, "__name__"):
        return str(value.__name__)
    text = str(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def param_values(params: Mapping[str, Any], *, prefix: str = "") -> dict[str, str]:
    """``params`` as loggable strings, keys prefixed with ``prefix``."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if _KEY.match(name):
            out[name] = _as_text(value)
    return out


def metric_key(name: str) -> str:
    """``name`` with characters tracking refuses replaced by ``_``."""
    return _NOT_KEY.sub("_", name).strip()[:250] or "metric"


def scalar_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers among ``values``, by their loggable names."""
    out: dict[str, float] = {}
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[metric_key(key)] = number
    return out
