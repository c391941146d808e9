"""Human escalation on the request path: queue an escalated answer for review.

When a deployment's chain ends in ``escalate`` and every model failed, the caller gets
the default answer marked ``served_by: "escalated"`` (see
:mod:`podium.serving.requests.fallback`) and the :class:`Escalator` queues the request,
its features, that answer and the reason in the project's review queue
(:mod:`podium.serving.control.reviews`). The write runs in a worker thread and is done
before the answer is returned, so an answered escalation is always in the queue; if the
queue cannot be written the caller still gets the default answer and the failure is
logged (a degradation path must not fail the request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from podium.serving.requests.fallback import ESCALATION_REASON

__all__ = ["Enqueue", "Escalator"]

_log = logging.getLogger(__name__)

Enqueue = Callable[..., str]
"""``enqueue(deployment=, request_id=, features=, answer=, reason=)``: the review's id."""


class Escalator:
    """Queues escalated requests for human review, off the event loop."""

    def __init__(self, enqueue: Enqueue, executor: Executor) -> None:
        self._enqueue = enqueue
        self._executor = executor

    async def escalate(
        self,
        deployment: str,
        request_id: str,
        features: Mapping[str, Any],
        output: Mapping[str, Any],
        body: Mapping[str, Any],
    ) -> str | None:
        """Queue one escalated request; the review id, or ``None`` if it could not be."""
        answer = {key: body.get(key) for key in ("prediction", "probability", "model_version")}
        reason = str(output.get(ESCALATION_REASON) or "every link of the chain failed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor,
                lambda: self._enqueue(
                    deployment=deployment,
                    request_id=request_id,
                    features=dict(features),
                    answer=answer,
                    reason=reason,
                ),
            )
        # The caller already has its default answer; losing the review must not fail it.
        except Exception:
            _log.exception("could not queue escalated request %s for review", request_id)
            return None
