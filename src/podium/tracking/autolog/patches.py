"""Replacing library methods with logging wrappers, and putting the originals back.

A patch is recorded with the attribute it replaced, so :func:`restore_all` undoes exactly
what :func:`patch` did, in reverse order, and patching twice is a no-op.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["is_patched", "patch", "restore_all"]

Wrapper = Callable[..., Any]
"""``wrapper(original, *args, **kwargs)``: does the logging around ``original``."""

_MARK = "__podium_autolog_original__"
_patched: list[tuple[object, str, object, bool]] = []
_lock = threading.Lock()


def is_patched(owner: object, name: str) -> bool:
    """Whether ``owner.name`` is an autolog wrapper now."""
    return hasattr(getattr(owner, name, None), _MARK)


def patch(owner: object, name: str, wrapper: Wrapper) -> None:
    """Replace ``owner.name`` (defined on ``owner`` itself) by ``wrapper`` around it."""
    with _lock:
        had_own = name in vars(owner)
        original = getattr(owner, name)
        if hasattr(original, _MARK):
            return

        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            return wrapper(original, *args, **kwargs)

        setattr(patched, _MARK, original)
        setattr(owner, name, patched)
        _patched.append((owner, name, original, had_own))


def restore_all() -> None:
    """Put back every original replaced by :func:`patch`."""
    with _lock:
        while _patched:
            owner, name, original, had_own = _patched.pop()
            if had_own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
