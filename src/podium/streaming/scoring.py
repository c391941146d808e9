"""Scoring a micro-batch of events the way ``POST /v1/predictions`` answers each one.

The serving runtime answers one request at a time (and gathers concurrent ones with its
dynamic batcher, when the deployment turns it on). A stream hands over hundreds of events
at once, so :class:`BatchScorer` walks the runtime's own path for the whole batch: online
features merged in one lookup (values the event sends win), each row routed (stable or
canary) and checked against its version's signature, the response cache consulted, then
**one** call of each version's fallback chain for all its rows. Each answer is the body
``/v1/predictions`` would return for that row (``prediction``, ``probability``,
``model_version``, ``served_by``, ``cached``, ``latency_ms``, ``request_id``), counted in
the runtime's metrics and logged to its inference log; a shadow version gets its copy.

A row that cannot be answered (its features fail validation, its entity key is missing,
every link of the chain failed) gets the :class:`~podium.errors.PodiumError` the request
would have got, in its place in the result list: the other rows are answered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

from podium.errors import InvalidInputError, PodiumError
from podium.serving.http.body import answer_body, numeric_vector
from podium.serving.requests.cache import cache_key
from podium.serving.requests.online import OnlineFeatureMerge
from podium.serving.requests.recording import Recorder
from podium.serving.requests.router import Route, choose_route
from podium.serving.requests.runtime import ServingRuntime
from podium.serving.requests.state import DeploymentState

__all__ = ["Answer", "BatchScorer"]

Answer = dict[str, Any] | PodiumError
"""A row's answer body, or the error its request would have got."""

_Pending = tuple[int, Route, dict[str, Any], dict[str, Any]]  # index, route, clean, raw row


class BatchScorer:
    """Answers batches of feature rows for one deployment of a serving runtime."""

    def __init__(
        self,
        runtime: ServingRuntime,
        deployment: str,
        *,
        online: OnlineFeatureMerge | None,
        executor: Executor,
    ) -> None:
        self._runtime = runtime
        self._deployment = deployment
        self._online = online
        self._executor = executor
        self._recorder = Recorder(runtime.inference_log, executor)

    async def score(self, rows: Sequence[dict[str, Any]]) -> list[Answer]:
        """One answer per row, in order (see the module docstring)."""
        start = time.perf_counter()
        state = await self._runtime.astate(self._deployment)
        merged = await self._merge(state, rows)
        answers: list[Answer | None] = [None] * len(rows)
        waiting: dict[str, list[_Pending]] = {}
        for index, row in enumerate(merged):
            if isinstance(row, PodiumError):
                answers[index] = self._failed(state, row)
                continue
            route = (
                choose_route(state.policy, row) if state.policy.canary is not None
                else state.stable_route
            )  # fmt: skip
            path = state.paths[route.version]
            try:
                clean = path.validator.check(row, where="features")
            except InvalidInputError as exc:
                answers[index] = self._failed(state, exc)
                continue
            cached = self._cached(state, route.version, clean)
            if cached is not None:
                body = {**cached, "cached": True}
                answers[index] = self._finish(state, route, clean, row, body, start, False)
            else:
                waiting.setdefault(route.version, []).append((index, route, clean, row))
        for version, pending in waiting.items():
            for index, answer in zip(
                [item[0] for item in pending],
                await self._run(state, version, pending, start),
                strict=True,
            ):
                answers[index] = answer
        return [answer for answer in answers if answer is not None]

    async def _run(
        self, state: DeploymentState, version: str, pending: list[_Pending], start: float
    ) -> list[Answer]:
        path = state.paths[version]
        try:
            served = await path.chain.run([clean for _, _, clean, _ in pending])
        except PodiumError as exc:
            for _, route, clean, _ in pending:
                self._recorder.canary(state, route, ok=False, start=start, output=None)
                self._recorder.log(state, version, uuid.uuid4().hex, clean, None, "error", start)
            return [self._failed(state, exc) for _ in pending]
        self._runtime.metrics.batch(state.name, version, len(pending))
        answers: list[Answer] = []
        for (_, route, clean, row), output in zip(pending, served.outputs, strict=True):
            body = answer_body(output, version, served.served_by)
            if not served.degraded and state.cache is not None:
                self._store(state, version, clean, dict(body))
            answers.append(self._finish(state, route, clean, row, body, start, served.degraded))
        return answers

    def _finish(
        self,
        state: DeploymentState,
        route: Route,
        clean: dict[str, Any],
        row: dict[str, Any],
        body: dict[str, Any],
        start: float,
        degraded: bool,
    ) -> dict[str, Any]:
        latency = time.perf_counter() - start
        request_id = uuid.uuid4().hex
        body["latency_ms"] = round(latency * 1000.0, 3)
        body["request_id"] = request_id
        self._runtime.metrics.observe(
            state.name, route.version, body["served_by"], seconds=latency, degraded=degraded
        )
        self._recorder.canary(state, route, ok=not degraded, start=start, output=body)
        status = "degraded" if degraded else "ok"
        self._recorder.log(state, route.version, request_id, clean, body, status, start)
        if route.shadow is not None and route.shadow in state.paths:
            self._recorder.mirror(state, state.paths[route.shadow], row, body, request_id)
        return body

    def _failed(self, state: DeploymentState, exc: PodiumError) -> PodiumError:
        self._runtime.metrics.error(state.name, exc.code)
        return exc

    async def _merge(
        self, state: DeploymentState, rows: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any] | PodiumError]:
        spec = state.deployment.spec
        online = self._online
        if online is None or not spec.features:
            return list(rows)
        loop = asyncio.get_running_loop()
        try:
            return list(await loop.run_in_executor(self._executor, online.merge, spec, rows))
        except InvalidInputError:
            pass  # a row lacks its entity key: look the rows up one by one
        merged: list[dict[str, Any] | PodiumError] = []
        for row in rows:
            try:
                found = await loop.run_in_executor(self._executor, online.merge, spec, [row])
                merged.append(found[0])
            except InvalidInputError as exc:
                merged.append(exc)
        return merged

    def _cached(
        self, state: DeploymentState, version: str, row: dict[str, Any]
    ) -> dict[str, Any] | None:
        if state.cache is None:
            return None
        found = state.cache.get(cache_key(version, row))
        if found is None and state.similarity is not None:
            vector = numeric_vector(row)
            if vector is not None:
                found = state.similarity.get(version, vector)
        self._runtime.metrics.cache(state.name, version, hit=found is not None)
        return found

    def _store(
        self, state: DeploymentState, version: str, row: dict[str, Any], body: dict[str, Any]
    ) -> None:
        assert state.cache is not None
        state.cache.put(cache_key(version, row), body)
        if state.similarity is not None:
            vector = numeric_vector(row)
            if vector is not None:
                state.similarity.put(version, vector, body)
