"""The autolog switch: what ``podium.autolog()`` set, read by every patched fit.

Autologging is process-wide by nature (it patches library classes), so its settings are
one object behind a lock, replaced whole by :func:`configure` and cleared by
:func:`clear`. Everything else about a fit (its run, its nesting) is per thread, in
:mod:`podium.tracking.autolog.target`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.platform import Platform

__all__ = ["AutologSettings", "clear", "configure", "current"]


@dataclass
class AutologSettings:
    """What autolog records and where (see :func:`podium.autolog`)."""

    connect: Callable[[], Platform]
    experiment: str = "default"
    log_models: bool = True
    log_inputs: bool = True
    log_training_metrics: bool = True
    register_best: str | None = None
    _platform: Platform | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def platform(self) -> Platform:
        """The platform runs go to, connected on the first fit when none was given."""
        with self._lock:
            if self._platform is None:
                self._platform = self.connect()
            return self._platform


_settings: AutologSettings | None = None


def configure(settings: AutologSettings) -> None:
    """Turn autolog on with ``settings`` (replacing earlier ones)."""
    global _settings
    _settings = settings


def clear() -> None:
    """Turn autolog off: patched fits then call straight through."""
    global _settings
    _settings = None


def current() -> AutologSettings | None:
    """The settings in force, or None when autolog is off."""
    return _settings
