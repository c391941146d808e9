"""The serving runtime of one project: loaded deployments and the prediction path.

A request goes: JSON parsed once → deployment state from memory → online features merged
(request features win) → route (stable or canary, sticky by a key) → features checked
against that version's signature → response cache → dynamic batcher (when on) →
fallback chain → the answer, while a shadow version (or a staged green one) gets a
mirrored copy in the background. The metrics are updated and the inference log gets one
record per row, off the request path. Nothing on this path reads the metadata database:
deployment states are built by :meth:`ServingRuntime.reload` (on a change event, or the
first time a name is asked for) and swapped in atomically.

The same object serves the ASGI app (``await runtime.predict(body)``) and the SDK
(``runtime.predict_sync(...)``, which runs on the runtime's own event loop thread).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from podium.errors import InvalidInputError, NotFoundError, PodiumError
from podium.registry.protocol import Registry
from podium.registry.signature import Signature
from podium.serving.control.deployments import Deployments
from podium.serving.control.rollout import CanaryJudge
from podium.serving.control.spec import DeploymentSpec
from podium.serving.http.body import (
    Envelope,
    answer_body,
    check_envelope,
    model_id_of,
    numeric_vector,
    parse_json,
)
from podium.serving.log.writer import (
    INFERENCE_LOG_TABLE,
    InferenceLogWriter,
    logged_keys,
    replay_journals,
)
from podium.serving.requests.batcher import DynamicBatcher
from podium.serving.requests.breaker import CircuitBreaker
from podium.serving.requests.cache import cache_key
from podium.serving.requests.escalation import Enqueue, Escalator
from podium.serving.requests.fallback import ESCALATED
from podium.serving.requests.loaded import LoadedModel, Output, ServedModel, UnloadableModel
from podium.serving.requests.metrics import ServingMetrics
from podium.serving.requests.online import OnlineFeatureMerge
from podium.serving.requests.recording import Recorder
from podium.serving.requests.router import choose_route
from podium.serving.requests.saturation import InFlight, capacity
from podium.serving.requests.state import (
    DeploymentState,
    VersionPath,
    breaker_settings,
    build_state,
    load_rules,
)

if TYPE_CHECKING:
    from podium.data.protocol import Data

__all__ = ["ServingRuntime", "open_runtime"]

_log = logging.getLogger(__name__)
_UNKNOWN_TTL = 1.0
T = TypeVar("T")
Batched = tuple[Output, str, bool]


class ServingRuntime:
    """Serves every deployment of one project (or only ``only``) from memory."""

    def __init__(
        self,
        project: str,
        *,
        deployments: Deployments,
        registry: Registry,
        inference_log: InferenceLogWriter | None = None,
        online: OnlineFeatureMerge | None = None,
        only: str | None = None,
        canary_interval: float = 1.0,
        workers: int = 16,
        escalate: Enqueue | None = None,
    ) -> None:
        self.project = project
        self.metrics = ServingMetrics()
        self.inference_log = inference_log
        self._deployments = deployments
        self._registry = registry
        self._online = online
        self._only = only
        self._states: dict[str, DeploymentState] = {}
        self._aliases: dict[str, str] = {}  # deployment alias -> name (model_id may be either)
        self._unknown: dict[str, float] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._models: dict[str, LoadedModel] = {}
        self.model_loads = 0
        """Model artifacts loaded so far (a load that failed is not counted)."""
        self._breakers: dict[tuple[str, str, str], CircuitBreaker] = {}
        self._batchers: dict[tuple[str, str, int], DynamicBatcher[dict[str, Any], Batched]] = {}
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="podium-predict")
        self._threads = workers
        self.in_flight = InFlight()
        """Requests being answered now, per deployment (the autoscaling signals)."""
        self._reloader = ThreadPoolExecutor(1, thread_name_prefix="podium-reload")
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._recorder = Recorder(inference_log, self._executor)
        self._escalator = Escalator(escalate, self._executor) if escalate is not None else None
        self.judge = CanaryJudge(self.states, deployments, interval=canary_interval)

    # -- state ------------------------------------------------------------------------

    @property
    def deployments(self) -> Deployments:
        """The Deployments service the runtime reads (and applies canary verdicts with)."""
        return self._deployments

    def names(self) -> list[str]:
        """The deployments loaded in memory now."""
        return sorted(self._states)

    def states(self) -> list[DeploymentState]:
        """The states in memory now."""
        with self._lock:
            return list(self._states.values())

    def state(self, name: str) -> DeploymentState:
        """The in-memory state of ``name`` (or of the deployment with that alias), loaded
        from the database on first use."""
        found = self._states.get(name) or self._states.get(self._aliases.get(name, ""))
        if found is not None:
            return found
        if self._only is not None and name != self._only:
            only = self.state(self._only)
            if name in only.deployment.spec.aliases:
                return only
            raise self._not_served(name)
        missed = self._unknown.get(name)
        if missed is not None and time.monotonic() - missed < _UNKNOWN_TTL:
            raise self._not_served(name)
        with self._lock:
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:  # concurrent first requests load it once
            found = self._states.get(name) or self._states.get(self._aliases.get(name, ""))
            if found is not None:
                return found
            try:
                return self._load(name)
            except NotFoundError:
                self._unknown[name] = time.monotonic()
                raise self._not_served(name) from None

    async def astate(self, name: str) -> DeploymentState:
        """:meth:`state` for async code: a load (first use) runs in a worker thread."""
        found = self._states.get(name) or self._states.get(self._aliases.get(name, ""))
        if found is not None:
            return found
        return await self._in_thread(self.state, name)

    def reload(self, name: str) -> Future[DeploymentState | None]:
        """Rebuild ``name`` in the background and swap it in; ``None`` when it is gone."""
        return self._reloader.submit(self._reload_quietly, name)

    def reload_all(self) -> None:
        """Reload every deployment in memory (e.g. after the registry moved a stage)."""
        for name in self.names():
            self.reload(name)

    def _reload_quietly(self, name: str) -> DeploymentState | None:
        try:
            return self._load(name)
        except NotFoundError:
            with self._lock:
                self._states.pop(name, None)
            return None
        except Exception:
            # A failed reload keeps the state that serves now; the next event retries.
            _log.exception("reloading deployment %r failed; still serving the old state", name)
            raise

    def _load(self, name: str) -> DeploymentState:
        deployment = self._deployments.get(name)
        name = deployment.name  # ``name`` may have been an alias
        settings = breaker_settings(deployment)

        def breaker_for(version: str, link: str) -> CircuitBreaker:
            # Breakers outlive reloads (a canary step must not forget a failing stable).
            key = (name, version, link)
            found = self._breakers.get(key)
            if found is None or found.settings != settings:
                found = self._breakers[key] = CircuitBreaker(settings)
            return found

        state = build_state(
            deployment,
            model_of=self._model,
            fallback_model=(
                self._model(deployment.spec.fallback.model)
                if deployment.spec.fallback.model
                else None
            ),
            breaker_for=breaker_for,
            executor=self._executor,
            previous=self._states.get(name),
        )
        with self._lock:
            self._states[name] = state
            self._unknown.pop(name, None)
            for alias in [a for a, n in self._aliases.items() if n == name]:
                del self._aliases[alias]
            self._aliases.update(dict.fromkeys(deployment.spec.aliases, name))
        canary = deployment.traffic.canary
        if canary is not None and canary.auto:
            self.judge.start()
        return state

    def loaded(self) -> list[str]:
        """The model versions (``name/version``) loaded in memory now."""
        with self._lock:
            return sorted(self._models)

    def _model(self, ref: str) -> ServedModel:
        with self._lock:
            found = self._models.get(ref)
        if found is not None:
            return found
        version = self._registry.get_version(ref)
        with self._lock:
            found = self._models.get(version.ref)  # a stage or alias ref, loaded already
        if found is not None:
            return found
        try:
            loaded = LoadedModel(
                self._registry.load(version.ref), name=version.name, version=version.version
            )
        # Loading runs the model's own code (unpickling imports its module) and reads its
        # artifact; whatever fails makes the version a failing link, not a failed request.
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            _log.warning("model %s cannot be loaded (%s); its links will fail", version.ref, reason)
            return UnloadableModel(
                name=version.name,
                version=version.version,
                signature=Signature.model_validate(version.signature or {"inputs": []}),
                error=reason,
            )
        with self._lock:
            self.model_loads += 1
            return self._models.setdefault(version.ref, loaded)

    def verify(self, spec: DeploymentSpec) -> None:
        """Raise :class:`InvalidInputError` unless what ``spec`` serves loads here: its
        model, its fallback model and its rules. The models stay loaded for serving."""
        for field, ref in (("model", spec.model), ("fallback.model", spec.fallback.model)):
            if ref is None:
                continue
            model = self._model(ref)
            if model.load_error is not None:
                raise InvalidInputError(
                    f"model {model.ref} cannot be loaded: {model.load_error}",
                    code="model-not-loadable",
                    field=field,
                    remedy="make it loadable where it is served (a pyfunc model's class "
                    "must be importable there), or deploy another version",
                )
        if spec.fallback.rules:
            load_rules(spec.fallback.rules)  # raises naming fallback.rules

    def warm(self, name: str) -> DeploymentState:
        """Load ``name`` now and predict once with each model it serves, off the record
        (no inference log, metrics, cache or breaker): the first request finds it warm.

        A warm-up prediction that fails, or runs past the deployment's timeout, is
        logged and left behind; requests then go down the chain as usual.
        """
        state = self.state(name)
        models = {id(path.model): path.model for path in state.paths.values()}
        if state.fallback_model is not None:
            models[id(state.fallback_model)] = state.fallback_model
        timeout = state.deployment.spec.timeout_ms / 1000.0
        for model in models.values():
            try:
                self._executor.submit(model.warm).result(timeout=timeout)
            except TimeoutError:
                _log.warning("warming model %s took over %g s; going on", model.ref, timeout)
            # A model's own code may fail in any way; requests then go down its chain.
            except Exception:
                _log.warning("warming model %s failed", model.ref, exc_info=True)
        return state

    def _not_served(self, name: str) -> NotFoundError:
        return NotFoundError(
            f"no deployment named {name!r} is served here",
            field="model_id",
            remedy="check the name with `podium deploy ls`; model_id names a deployment",
        )

    # -- predicting -------------------------------------------------------------------

    async def handle(self, raw: bytes, *, request_id: str | None = None) -> dict[str, Any]:
        """Parse a ``POST /v1/predictions`` body and answer it."""
        return await self.predict(parse_json(raw), request_id=request_id)

    async def predict(self, body: object, *, request_id: str | None = None) -> dict[str, Any]:
        """Answer a prediction body (``model_id`` and ``features`` or ``instances``)."""
        start = time.perf_counter()
        request_id = request_id or uuid.uuid4().hex
        model_id = model_id_of(body)
        state = await self.astate(model_id)
        self.in_flight.enter(state.name)
        try:
            assert isinstance(body, dict)  # model_id_of checked it
            return await self._predict(state, check_envelope(body), request_id, start)
        except PodiumError as exc:
            self.metrics.error(model_id, exc.code)
            raise
        finally:
            self.in_flight.leave(state.name)

    async def _predict(
        self, state: DeploymentState, envelope: Envelope, request_id: str, start: float
    ) -> dict[str, Any]:
        _, features, instances = envelope
        rows = [features] if features is not None else instances or []
        if self._online is not None and state.deployment.spec.features:
            rows = await self._in_thread(self._online.merge, state.deployment.spec, rows)
        if features is not None:
            return await self._answer(state, rows[0], request_id, start, where="features")
        answers = await asyncio.gather(
            *(
                self._answer(state, row, f"{request_id}/{i}", start, where=f"instances[{i}]")
                for i, row in enumerate(rows)
            )
        )
        for answer in answers:
            answer.pop("request_id", None)
            answer.pop("latency_ms", None)
        latency_ms = round((time.perf_counter() - start) * 1000.0, 3)
        return {"predictions": answers, "latency_ms": latency_ms, "request_id": request_id}

    async def _answer(
        self,
        state: DeploymentState,
        row: dict[str, Any],
        request_id: str,
        start: float,
        *,
        where: str,
    ) -> dict[str, Any]:
        route = (
            choose_route(state.policy, row) if state.policy.canary is not None
            else state.stable_route
        )  # fmt: skip
        path = state.paths[route.version]
        try:
            clean = path.validator.check(row, where=where)
        except InvalidInputError as exc:
            if where != "features" and exc.field is not None and exc.field != where:
                exc.field = f"{where}.{exc.field}"
            raise
        cached = self._cached(state, route.version, clean)
        if cached is not None:
            body = {**cached, "cached": True}
            served_by, degraded = body["served_by"], False
        else:
            try:
                output, served_by, degraded = await self._run(state, path, clean)
            except PodiumError:
                self._recorder.canary(state, route, ok=False, start=start, output=None)
                self._recorder.log(state, route.version, request_id, clean, None, "error", start)
                raise
            body = answer_body(output, route.version, served_by)
            if not degraded and state.cache is not None:
                self._store(state, route.version, clean, body)
            if served_by == ESCALATED and self._escalator is not None:
                body["request_id"] = request_id
                await self._escalator.escalate(state.name, request_id, clean, output, body)
        latency = time.perf_counter() - start
        body["latency_ms"] = round(latency * 1000.0, 3)
        body["request_id"] = request_id
        self.metrics.observe(
            state.name, route.version, served_by, seconds=latency, degraded=degraded
        )
        self._recorder.canary(state, route, ok=not degraded, start=start, output=body)
        status = "degraded" if degraded else "ok"
        self._recorder.log(state, route.version, request_id, clean, body, status, start)
        if route.shadow is not None and route.shadow in state.paths:
            self._recorder.mirror(state, state.paths[route.shadow], row, body, request_id)
        return body

    async def _run(self, state: DeploymentState, path: VersionPath, row: dict[str, Any]) -> Batched:
        batching = state.deployment.spec.batching
        if batching.enabled:
            return await self._batcher(state, path).submit(row)
        served = await path.chain.run([row])
        self.metrics.batch(state.name, path.version, 1)
        return served.outputs[0], served.served_by, served.degraded

    def _batcher(
        self, state: DeploymentState, path: VersionPath
    ) -> DynamicBatcher[dict[str, Any], Batched]:
        loop = asyncio.get_running_loop()
        key = (state.name, path.version, id(loop))
        found = self._batchers.get(key)
        if found is not None:
            return found
        name, version = state.name, path.version

        async def run_batch(rows: list[dict[str, Any]]) -> list[Batched]:
            # The chain of the state serving now, so a reload's new settings apply at once.
            current = self._states.get(name)
            chain = (
                current.paths[version].chain
                if current is not None and version in current.paths
                else path.chain
            )
            served = await chain.run(rows)
            self.metrics.batch(name, version, len(rows))
            return [(out, served.served_by, served.degraded) for out in served.outputs]

        batching = state.deployment.spec.batching
        batcher: DynamicBatcher[dict[str, Any], Batched] = DynamicBatcher(
            run_batch, max_batch_size=batching.max_batch_size, max_wait_ms=batching.max_wait_ms
        )
        return self._batchers.setdefault(key, batcher)

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
        self.metrics.cache(state.name, version, hit=found is not None)
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

    # -- the SDK's synchronous door ---------------------------------------------------

    def predict_sync(
        self,
        model_id: str,
        *,
        features: Mapping[str, Any] | None = None,
        instances: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """:meth:`predict` from synchronous code, on the runtime's own event loop."""
        body: dict[str, Any] = {"model_id": model_id}
        if features is not None:
            body["features"] = dict(features)
        if instances is not None:
            body["instances"] = [dict(row) for row in instances]
        return self.run(self.predict(body))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the runtime's event loop thread and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._own_loop()).result()

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="podium-serving-loop", daemon=True
                )
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    async def _in_thread(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    # -- observability and shutdown ---------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        """What ``GET /v1/deployments/{name}`` shows: config, traffic, live counters."""
        state = self.state(name)
        name = state.name
        breakers = {
            f"{version}/{link}": breaker.snapshot()
            for (dep, version, link), breaker in list(self._breakers.items())
            if dep == name
        }
        stats = state.shadow_stats
        models = [path.model for path in state.paths.values()] + [state.fallback_model]
        return {
            "name": name,
            "deployment": state.deployment.model_dump(mode="json"),
            "versions": sorted(state.paths),
            "load_errors": {
                model.ref: model.load_error
                for model in models
                if model is not None and model.load_error is not None
            },
            "breakers": breakers,
            "shadow": {"compared": stats.compared, "agreed": stats.agreed, "failed": stats.failed},
            "cache": _cache_stats(state),
        }

    def render_metrics(self) -> bytes:
        """The Prometheus exposition, with breaker gauges read now."""
        for (name, version, link), breaker in list(self._breakers.items()):
            self.metrics.breaker(name, version, link, str(breaker.state))
        self._render_load()
        return self.metrics.render()

    def _render_load(self) -> None:
        """Set the load gauges (in flight, queue depth, saturation) of every deployment."""
        queued: dict[str, int] = {}
        for (name, _, _), batcher in list(self._batchers.items()):
            queued[name] = queued.get(name, 0) + batcher.pending
        for state in self.states():
            self.metrics.load(
                state.name,
                in_flight=self.in_flight.count(state.name),
                queued=queued.get(state.name, 0),
                capacity=capacity(state.deployment.spec, threads=self._threads),
            )

    def close(self) -> None:
        """Stop the background work and flush the inference log."""
        self.judge.stop()
        loop = self._loop
        if loop is not None:
            for (_, _, loop_id), batcher in list(self._batchers.items()):
                if loop_id == id(loop):  # the others end with their own loop (the server's)
                    asyncio.run_coroutine_threadsafe(batcher.close(), loop).result(timeout=5)
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(timeout=5)
            loop.close()
            self._loop = None
        self._reloader.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.inference_log is not None:
            self.inference_log.close()


def _cache_stats(state: DeploymentState) -> dict[str, Any] | None:
    if state.cache is None:
        return None
    stats = state.cache.stats
    return {"hits": stats.hits, "misses": stats.misses, "size": stats.size}


def open_runtime(
    project: str,
    *,
    deployments: Deployments,
    registry: Registry,
    data: Data | None,
    features: object | None = None,
    only: str | None = None,
    escalate: Enqueue | None = None,
    journal: Path | None = None,
) -> ServingRuntime:
    """A runtime over a project's services: inference log into ``data``, online features
    from ``features`` (when the platform has a feature store), escalated requests queued
    for review through ``escalate`` (see :mod:`podium.serving.requests.escalation`).

    With ``journal`` (a folder; servers pass ``PODIUM_HOME/journal/inference/<project>``)
    every logged record is journaled before its answer leaves (ADR 0046), and the
    journals of this project's processes that died are committed first."""
    log = None
    if data is not None:
        lake = data

        def write(table: Any) -> None:
            lake.write(INFERENCE_LOG_TABLE, table, mode="append")

        opened = None
        if journal is not None:
            from podium.serving.log.journal import InferenceJournal

            try:
                replayed = replay_journals(journal, write, lambda t: logged_keys(lake, t))
            except Exception:  # the journals stay for the next start; serving goes on
                _log.exception("replaying the inference-log journals under %s failed", journal)
            else:
                if replayed:
                    _log.warning("committed %d inference records a killed process left", replayed)
            try:
                opened = InferenceJournal(journal)
            except OSError:  # a read-only or full home: log from memory, as before
                _log.exception(
                    "no inference-log journal under %s; answers are only in memory until written",
                    journal,
                )
        log = InferenceLogWriter(write, flush_seconds=5.0, batch_size=5_000, journal=opened)
    return ServingRuntime(
        project,
        deployments=deployments,
        registry=registry,
        inference_log=log,
        online=OnlineFeatureMerge(features) if features is not None else None,
        only=only,
        escalate=escalate,
    )
