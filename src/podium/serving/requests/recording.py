"""What a prediction leaves behind: inference log records, canary samples, shadow runs.

The :class:`Recorder` is called by the runtime after each answer. Nothing here blocks
the response: records go onto the inference log's queue, canary samples into the
window's counters, and a shadow (or staged green) version's run is a background task
whose answer is compared with the one returned, counted in the deployment's
:class:`~podium.serving.requests.state.ShadowStats` and logged with ``served_by="shadow"`` and
status ``agree``, ``disagree`` or ``error``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from typing import Any

from podium.serving.log.writer import InferenceLogWriter, InferenceRecord, encode
from podium.serving.requests.router import Route
from podium.serving.requests.state import DeploymentState, VersionPath

__all__ = ["Recorder"]


class Recorder:
    """Records answers for the inference log, the canary window and the shadow."""

    def __init__(self, inference_log: InferenceLogWriter | None, executor: Executor) -> None:
        self._inference_log = inference_log
        self._executor = executor
        self._background: set[asyncio.Task[None]] = set()

    def canary(
        self,
        state: DeploymentState,
        route: Route,
        *,
        ok: bool,
        start: float,
        output: Mapping[str, Any] | None,
    ) -> None:
        """Count one answer of ``route`` in the deployment's canary window, if any."""
        if state.window is None:
            return
        score = None
        if output is not None:
            value = output.get("probability")
            value = output.get("prediction") if value is None else value
            if isinstance(value, int | float) and not isinstance(value, bool):
                score = float(value)
        latency_ms = (time.perf_counter() - start) * 1000.0
        state.window.record(route.role, ok=ok, latency_ms=latency_ms, prediction=score)

    def log(
        self,
        state: DeploymentState,
        version: str,
        request_id: str,
        row: dict[str, Any],
        body: Mapping[str, Any] | None,
        status: str,
        start: float,
        *,
        served_by: str | None = None,
    ) -> None:
        """Queue one inference log record (never blocks)."""
        log = self._inference_log
        if log is None or not state.deployment.spec.log_inferences:
            return
        # A plain tuple with the epoch time; the rest is encoded by the writer thread.
        log.append(
            InferenceRecord(
                request_id,
                time.time(),
                state.name,
                state.model_name,
                version,
                served_by or (str(body["served_by"]) if body else "none"),
                bool(body and body.get("cached")),
                (time.perf_counter() - start) * 1000.0,
                encode(row),  # bytes wait in the queue, not a dict of boxed numbers
                body.get("prediction") if body else None,
                body.get("probability") if body else None,
                status,
            )
        )

    def mirror(
        self,
        state: DeploymentState,
        path: VersionPath,
        row: dict[str, Any],
        answer: Mapping[str, Any],
        request_id: str,
    ) -> None:
        """Run ``path`` on ``row`` in the background and record how it compares."""
        task = asyncio.get_running_loop().create_task(
            self._shadow(state, path, row, answer.get("prediction"), request_id)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _shadow(
        self,
        state: DeploymentState,
        path: VersionPath,
        row: dict[str, Any],
        returned: Any,
        request_id: str,
    ) -> None:
        start = time.perf_counter()
        stats = state.shadow_stats
        timeout = state.deployment.spec.timeout_ms / 1000.0
        try:
            clean = path.validator.check(row)
            loop = asyncio.get_running_loop()
            outputs = await asyncio.wait_for(
                loop.run_in_executor(self._executor, path.model.predict, [clean]), timeout
            )
            output = outputs[0]
        # A shadow may fail in any way; that is recorded and never reaches the caller.
        except Exception:
            stats.failed += 1
            self.log(state, path.version, request_id, row, None, "error", start, served_by="shadow")
            return
        stats.compared += 1
        agreed = output.get("prediction") == returned
        stats.agreed += int(agreed)
        body = {**output, "served_by": "shadow", "cached": False}
        status = "agree" if agreed else "disagree"
        self.log(state, path.version, request_id, clean, body, status, start)
