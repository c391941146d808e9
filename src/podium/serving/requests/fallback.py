"""Graceful degradation: a chain of ways to answer, tried in order until one answers well.

A deployment's chain is typically primary model → fallback model → rule-based function →
default response. A link is skipped when its circuit breaker refuses the call; the chain
moves on when a link raises, runs past its timeout, or returns output that fails
validation. A hung call is abandoned in its thread and never holds up the response. Only
when every link fails does :meth:`FallbackChain.run` raise
:class:`~podium.errors.BackendUnavailableError` (HTTP 503), naming each link's reason.

A chain may end in human escalation: a last link named :data:`ESCALATED` answers with a
default, and each of its outputs (a dict) carries why the links before it failed under
:data:`ESCALATION_REASON`, for the review queue (the answer body never shows it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import math
import numbers
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podium.errors import BackendUnavailableError, InvalidInputError, PodiumError
from podium.serving.requests.breaker import BreakerState, CircuitBreaker

__all__ = [
    "ESCALATED",
    "ESCALATION_REASON",
    "FallbackChain",
    "Link",
    "Served",
    "check_outputs",
    "check_present",
]

ESCALATED = "escalated"
"""The name of a chain's human-escalation link, and the ``served_by`` of its answers."""
ESCALATION_REASON = "escalation_reason"
"""The key of an escalated output holding why every earlier link failed."""

# A batch predict: one output per row, as a sequence or a numpy array.
BatchCall = Callable[[list[dict[str, Any]]], Sequence[Any] | np.ndarray[Any, Any]]
OutputCheck = Callable[[Sequence[Any], int], None]


@dataclass(frozen=True)
class Link:
    """One way to answer a batch of rows.

    ``call`` predicts a batch (one output per row) and runs in a worker thread; the last
    link of a chain may be a plain function returning a constant per row. ``timeout_seconds``
    bounds the call (``None``: no bound). ``breaker`` guards the link and is told each
    outcome. ``validate(outputs, n)`` raises when the output is unusable; whatever the
    validator, an output whose length is not the number of rows is refused.

    ``max_in_flight`` bounds how many calls of this link may run at once, counting hung
    calls the chain has given up on (a bulkhead: a hanging model cannot take every worker
    thread); when it is reached the link is skipped. ``inline=True`` runs the call on the
    event loop itself, for a constant default or cheap rules, so it answers even when every
    worker thread is taken; an inline call cannot time out.
    """

    name: str
    call: BatchCall
    timeout_seconds: float | None = None
    breaker: CircuitBreaker | None = None
    validate: OutputCheck | None = None
    max_in_flight: int | None = None
    inline: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInputError(
                "the 'name' of a fallback link must be a non-empty string; got '' instead",
                field="name",
                remedy="name each link, e.g. 'primary', 'fallback', 'rules', 'default'",
            )
        timeout = self.timeout_seconds
        if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
            raise InvalidInputError(
                f"the 'timeout_seconds' of link '{self.name}' must be a positive number "
                f"or None; got {timeout!r} instead",
                field="timeout_seconds",
                remedy="pass a timeout in seconds, e.g. 0.5",
            )
        if self.inline and timeout is not None:
            raise InvalidInputError(
                f"link '{self.name}' runs inline, so it cannot time out; got "
                f"timeout_seconds={timeout!r}",
                field="timeout_seconds",
                remedy="drop timeout_seconds, or run the link in a thread (inline=False)",
            )
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise InvalidInputError(
                f"the 'max_in_flight' of link '{self.name}' must be at least 1 or None; "
                f"got {self.max_in_flight!r} instead",
                field="max_in_flight",
                remedy="pass the most calls of this link that may run at once",
            )


@dataclass(frozen=True)
class Served:
    """A chain's answer: the outputs, which link gave them, and why earlier links did not.

    ``degraded`` is true when any link but the first answered. ``errors`` holds one
    ``(link name, reason)`` per link that was skipped or failed, in chain order.
    """

    outputs: list[Any]
    served_by: str
    degraded: bool
    errors: list[tuple[str, str]] = field(default_factory=list)


def check_outputs(outputs: Sequence[Any], n: int) -> None:
    """Raise unless ``outputs`` holds ``n`` finite numbers (or rows of finite numbers).

    Rejects a wrong length, ``None``, NaN, infinities, booleans and non-numbers: the
    validator for models whose outputs are scores or probabilities.
    """
    _check_length(outputs, n)
    for index, value in enumerate(outputs):
        row = value if isinstance(value, list | tuple | np.ndarray) else [value]
        if not all(_is_finite_number(item) for item in row):
            _garbage(index, value, "not a finite number")


def check_present(outputs: Sequence[Any], n: int) -> None:
    """Raise unless ``outputs`` holds ``n`` values with no ``None``, NaN or infinity in them.

    Labels, strings and nested lists or dicts pass; the validator for classifiers that
    return class names and for models with structured outputs.
    """
    _check_length(outputs, n)
    for index, value in enumerate(outputs):
        if not _present(value):
            _garbage(index, value, "missing or not finite")


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float | np.floating):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_present(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_present(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "fc" or bool(np.isfinite(value).all())
    return True


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))


def _check_length(outputs: Sequence[Any], n: int) -> None:
    if len(outputs) != n:
        raise InvalidInputError(
            f"the model returned {len(outputs)} outputs for {n} rows",
            code="invalid-model-output",
            field="outputs",
            remedy="return exactly one output per input row",
        )


def _garbage(index: int, value: object, what: str) -> None:
    raise InvalidInputError(
        f"output {index} of the model is {value!r}, {what}",
        code="invalid-model-output",
        field=f"outputs[{index}]",
        remedy="fix the model so it returns a usable value for every row",
    )


class FallbackChain:
    """Tries each link in order; the first good answer wins.

    ``executor`` runs the link calls (``None``: the event loop's default executor). A call
    that times out keeps its thread until it returns by itself; bound such links with
    ``max_in_flight`` and make the last link ``inline`` so a hanging model can never leave
    the chain without a thread to answer with.
    """

    def __init__(
        self,
        links: Sequence[Link],
        *,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        if not links:
            raise InvalidInputError(
                "a fallback chain needs at least one link; got none",
                field="links",
                remedy="pass links such as [primary, default]",
            )
        names = [link.name for link in links]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InvalidInputError(
                f"fallback link names must be unique; {', '.join(duplicates)} repeated",
                field="links",
                remedy="give each link its own name",
            )
        self._links = tuple(links)
        self._executor = executor
        self._lock = threading.Lock()
        self._in_flight = dict.fromkeys(names, 0)

    @property
    def links(self) -> tuple[Link, ...]:
        """The links in the order they are tried."""
        return self._links

    def in_flight(self) -> dict[str, int]:
        """Calls running in worker threads now, per link (hung calls included)."""
        with self._lock:
            return dict(self._in_flight)

    async def run(self, rows: list[dict[str, Any]]) -> Served:
        """Answer ``rows`` with the first link that succeeds; 503 when none does."""
        first = self._links[0].name
        if not rows:
            return Served(outputs=[], served_by=first, degraded=False, errors=[])
        errors: list[tuple[str, str]] = []
        remedies: list[str] = []  # what the failing links' own errors advise, in order
        for link in self._links:
            reason = self._bulkhead_full(link) or _refusal(link.breaker)
            if reason is not None:
                errors.append((link.name, reason))
                continue
            try:
                outputs = await self._call(link, rows)
            except _TimedOut:
                reason = f"timed out after {link.timeout_seconds:g} s"
            # A link may fail in any way its code can; the chain exists to absorb that.
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                advice = exc.remedy if isinstance(exc, PodiumError) else None
                if advice and advice not in remedies:
                    remedies.append(advice)
            else:
                if link.breaker is not None:
                    link.breaker.record(True)
                if link.name == ESCALATED:
                    outputs = _with_reason(outputs, errors)
                return Served(
                    outputs=outputs, served_by=link.name, degraded=link.name != first, errors=errors
                )
            if link.breaker is not None:
                link.breaker.record(False)
            errors.append((link.name, reason))
        summary = "; ".join(f"{name}: {why}" for name, why in errors)
        raise BackendUnavailableError(
            f"every link of the fallback chain failed ({summary})",
            code="all-fallbacks-failed",
            remedy="; ".join(
                [*remedies, "check the model's logs; add a default response as the last link"]
            ),
            details={"errors": [{"link": name, "reason": why} for name, why in errors]},
        )

    def _bulkhead_full(self, link: Link) -> str | None:
        limit = link.max_in_flight
        if limit is None:
            return None
        with self._lock:
            running = self._in_flight[link.name]
        if running < limit:
            return None
        return f"{running} calls still running (max_in_flight {limit})"

    def _counted(self, link: Link, rows: list[dict[str, Any]]) -> Any:
        # Runs in the worker thread: counts the call while it really runs, hung or not.
        # A call cancelled before a thread picked it up never runs and is never counted.
        with self._lock:
            self._in_flight[link.name] += 1
        try:
            return link.call(rows)
        finally:
            with self._lock:
                self._in_flight[link.name] -= 1

    async def _call(self, link: Link, rows: list[dict[str, Any]]) -> list[Any]:
        if link.inline:
            raw = link.call(rows)
        else:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self._executor, functools.partial(self._counted, link, rows)
            )
            try:
                raw = await asyncio.wait_for(future, link.timeout_seconds)
            except TimeoutError:
                if future.cancelled():  # our deadline, not a TimeoutError the call raised
                    raise _TimedOut from None
                raise
        outputs = raw.tolist() if isinstance(raw, np.ndarray) else list(raw)
        _check_length(outputs, len(rows))
        if link.validate is not None:
            link.validate(outputs, len(rows))
        return outputs


def _with_reason(outputs: list[Any], errors: list[tuple[str, str]]) -> list[Any]:
    reason = "; ".join(f"{name}: {why}" for name, why in errors) or "escalated"
    return [{**out, ESCALATION_REASON: reason} if isinstance(out, dict) else out for out in outputs]


class _TimedOut(Exception):
    """A link's call ran past its ``timeout_seconds``; its thread is left to finish alone."""


def _refusal(breaker: CircuitBreaker | None) -> str | None:
    if breaker is None or breaker.allow():
        return None
    state = breaker.state
    if state is BreakerState.OPEN:
        return "circuit breaker open"
    if state is BreakerState.HALF_OPEN:
        return "circuit breaker half-open, a probe is in flight"
    return f"circuit breaker restoring traffic ({breaker.admitted_share():.0%} admitted)"
