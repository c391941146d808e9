"""Packages whose public names are imported on first use (PEP 562).

A package ``__init__`` that imports its modules eagerly makes every ``import
podium.x.anything`` pay for all of them: the lake and warehouse, scipy, the whole
platform. A serving replica and every ``podium`` command would carry them. Such a package
lists its exports instead::

    __getattr__, __dir__ = lazy_exports(__name__, {"DataLake": "podium.data.lake"})

and keeps the real imports under ``if TYPE_CHECKING:`` for type checkers and editors.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each public name
    to the module defining it, imported when the name is first looked up."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
