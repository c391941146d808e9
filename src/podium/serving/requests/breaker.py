"""A circuit breaker per model: stop calling a model that keeps failing, then ease it back in.

States and what moves between them::

    CLOSED ──(failures/calls over the window >= failure_rate, with >= min_calls)──► OPEN
    OPEN ──(cooldown_seconds elapsed)──► HALF_OPEN
    HALF_OPEN ──(a probe fails)──► OPEN (a new cool-down)
    HALF_OPEN ──(half_open_probes probes succeed)──► CLOSED, restoring

In HALF_OPEN one probe is admitted at a time; concurrent callers are refused while it is in
flight. After closing, the share of calls admitted ramps linearly from 10% to 100% over
``restore_seconds`` (gradual traffic restoration); refused calls go down the fallback
chain. Every method is thread-safe and O(1) amortized.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from podium.errors import InvalidInputError

__all__ = ["BreakerSettings", "BreakerState", "CircuitBreaker"]

# Share of calls admitted right after the breaker closes; the ramp rises from here to 1.
_RESTORE_START_SHARE = 0.1
# The window keeps at most this many time slots, so memory stays bounded at any call rate.
_WINDOW_SLOTS = 1000


class BreakerState(StrEnum):
    """Where a circuit breaker is in its cycle."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    """When a breaker opens, how long it stays open, and how it closes again.

    ``failure_rate``: open when failures/calls over the last ``window_seconds`` reach this,
    but never on fewer than ``min_calls`` calls in the window. ``cooldown_seconds``: time
    spent open before probing. ``half_open_probes``: successful probes needed to close.
    ``restore_seconds``: after closing, the admitted share ramps from 10% to 100% linearly
    over this time (0 restores all traffic at once). ``probe_timeout_seconds``: a probe
    whose result is never recorded (its caller was cancelled) is given up after this long,
    so another probe may go (``None``: ``cooldown_seconds``, at least one second).
    """

    failure_rate: float = 0.5
    window_seconds: float = 30.0
    min_calls: int = 10
    cooldown_seconds: float = 10.0
    half_open_probes: int = 5
    restore_seconds: float = 10.0
    probe_timeout_seconds: float | None = None

    def __post_init__(self) -> None:
        if not (0.0 < self.failure_rate <= 1.0):
            _invalid("failure_rate", "a number in (0, 1]", self.failure_rate)
        if not (self.window_seconds > 0 and math.isfinite(self.window_seconds)):
            _invalid("window_seconds", "a positive number of seconds", self.window_seconds)
        if self.min_calls < 1:
            _invalid("min_calls", "at least 1", self.min_calls)
        if not (self.cooldown_seconds >= 0 and math.isfinite(self.cooldown_seconds)):
            _invalid("cooldown_seconds", "a number of seconds >= 0", self.cooldown_seconds)
        if self.half_open_probes < 1:
            _invalid("half_open_probes", "at least 1", self.half_open_probes)
        if not (self.restore_seconds >= 0 and math.isfinite(self.restore_seconds)):
            _invalid("restore_seconds", "a number of seconds >= 0", self.restore_seconds)
        if self.probe_timeout_seconds is not None and not self.probe_timeout_seconds > 0:
            _invalid("probe_timeout_seconds", "a positive number of seconds or None",
                     self.probe_timeout_seconds)  # fmt: skip


def _invalid(name: str, expected: str, got: object) -> None:
    raise InvalidInputError(
        f"the '{name}' parameter of BreakerSettings must be {expected}; got {got!r} instead",
        field=name,
        remedy=f"pass a valid '{name}'",
    )


class _Window:
    """Calls and failures over the last ``seconds``, in at most ``_WINDOW_SLOTS`` slots."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._slot = seconds / _WINDOW_SLOTS
        # [slot index, calls, failures], oldest first
        self._slots: deque[list[int]] = deque()
        self.calls = 0
        self.failures = 0

    def add(self, now: float, *, ok: bool) -> None:
        index = math.floor(now / self._slot)
        if self._slots and self._slots[-1][0] >= index:
            last = self._slots[-1]
        else:
            last = [index, 0, 0]
            self._slots.append(last)
        last[1] += 1
        self.calls += 1
        if not ok:
            last[2] += 1
            self.failures += 1

    def expire(self, now: float) -> None:
        # A slot leaves once it starts before the window: exact to one slot (0.1%).
        oldest_kept = math.floor((now - self._seconds) / self._slot)
        slots = self._slots
        while slots and slots[0][0] <= oldest_kept:
            _, calls, failures = slots.popleft()
            self.calls -= calls
            self.failures -= failures

    def clear(self) -> None:
        self._slots.clear()
        self.calls = 0
        self.failures = 0


class CircuitBreaker:
    """Decides whether a call may go to the protected model, from the results it is told.

    Call :meth:`allow` before each call and, when it said yes, :meth:`record` with the
    outcome afterwards. ``clock`` (seconds, monotonic) is injectable for tests.
    """

    def __init__(
        self,
        settings: BreakerSettings = BreakerSettings(),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._window = _Window(settings.window_seconds)
        self._state = BreakerState.CLOSED
        self._opened_at: float | None = None
        self._closed_at: float | None = None
        self._probe_started: float | None = None
        self._probe_successes = 0
        self._restore_credit = 1.0
        self._times_opened = 0
        self._rejected = 0
        timeout = settings.probe_timeout_seconds
        self._probe_timeout = (
            timeout if timeout is not None else max(settings.cooldown_seconds, 1.0)
        )

    @property
    def settings(self) -> BreakerSettings:
        """The settings this breaker was built with."""
        return self._settings

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker reads half-open once its cool-down is over)."""
        with self._lock:
            self._advance(self._clock())
            return self._state

    def allow(self) -> bool:
        """Whether a call may go to the protected model now; if yes, record its outcome."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            if self._state is BreakerState.OPEN:
                admitted = False
            elif self._state is BreakerState.HALF_OPEN:
                admitted = self._probe_started is None
                if admitted:
                    self._probe_started = now
            else:
                admitted = self._admit_while_restoring(now)
            if not admitted:
                self._rejected += 1
            return admitted

    def record(self, ok: bool) -> None:
        """Record the outcome of a call :meth:`allow` admitted."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            if self._state is BreakerState.CLOSED:
                self._window.add(now, ok=ok)
                window = self._window
                if (
                    window.calls >= self._settings.min_calls
                    and window.failures >= self._settings.failure_rate * window.calls
                ):
                    self._open(now)
            elif self._state is BreakerState.HALF_OPEN and self._probe_started is not None:
                # Only a probe's result counts here; late results of calls admitted before
                # the breaker opened say nothing about the model's health now.
                self._probe_started = None
                if not ok:
                    self._open(now)
                    return
                self._probe_successes += 1
                if self._probe_successes >= self._settings.half_open_probes:
                    self._close(now)

    def admitted_share(self) -> float:
        """The share of calls admitted now: 1 when closed and fully restored, 0 when open."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            return self._share(now)

    def snapshot(self) -> dict[str, object]:
        """The breaker's state and counters, for metrics and status pages."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            calls, failures = self._window.calls, self._window.failures
            return {
                "state": str(self._state),
                "calls": calls,
                "failures": failures,
                "failure_rate": failures / calls if calls else 0.0,
                "opened_at": self._opened_at,
                "closed_at": self._closed_at,
                "probe_in_flight": self._probe_started is not None,
                "probe_successes": self._probe_successes,
                "admitted_share": self._share(now),
                "times_opened": self._times_opened,
                "rejected": self._rejected,
            }

    # -- transitions (the lock is held) ---------------------------------------------
    def _advance(self, now: float) -> None:
        if self._state is BreakerState.CLOSED:
            self._window.expire(now)
        elif self._state is BreakerState.OPEN:
            assert self._opened_at is not None
            if now - self._opened_at >= self._settings.cooldown_seconds:
                self._state = BreakerState.HALF_OPEN
                self._probe_started = None
                self._probe_successes = 0
        elif self._probe_started is not None and now - self._probe_started >= self._probe_timeout:
            self._probe_started = None  # its caller never reported back; let another probe go

    def _open(self, now: float) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = now
        self._closed_at = None
        self._probe_started = None
        self._probe_successes = 0
        self._times_opened += 1
        self._window.clear()

    def _close(self, now: float) -> None:
        self._state = BreakerState.CLOSED
        self._closed_at = now
        self._probe_started = None
        self._window.clear()
        self._restore_credit = 1.0

    def _share(self, now: float) -> float:
        if self._state is BreakerState.OPEN:
            return 0.0
        if self._state is BreakerState.HALF_OPEN:
            return 0.0  # only single probes go, one at a time
        restore = self._settings.restore_seconds
        if self._closed_at is None or restore == 0 or now - self._closed_at >= restore:
            return 1.0
        progress = (now - self._closed_at) / restore
        return _RESTORE_START_SHARE + (1.0 - _RESTORE_START_SHARE) * progress

    def _admit_while_restoring(self, now: float) -> bool:
        share = self._share(now)
        if share >= 1.0:
            self._closed_at = None  # restoration is over
            return True
        # Error diffusion: admits exactly ``share`` of calls, deterministically, no rng.
        self._restore_credit += share
        if self._restore_credit >= 1.0:
            self._restore_credit -= 1.0
            return True
        return False
