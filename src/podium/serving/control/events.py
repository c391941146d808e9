"""Keeping serving processes in step with the platform, without restarts.

Two ways, for two kinds of process:

- :class:`ServingEvents` subscribes to the platform event stream of a server (the
  :class:`~podium.events.dispatcher.EventDispatcher` that ``podium up`` runs). A
  ``deployment.updated`` or ``deployment.deleted`` event reloads that deployment in the
  background; a ``model.stage_changed`` or ``model.alias_changed`` event makes every
  deployment that follows the model's stage or alias (``churn@production``) move to the
  version it names now (:meth:`~podium.serving.control.deployments.Deployments.sync`), which in
  turn is a deployment change every process follows. A sync moves a deployment only
  when its ref names another version than when it last followed it, so the backlog of
  stage events a server delivers when it starts never undoes a rollout or a rollback.
- :class:`GenerationWatcher` serves ``podium serve`` replicas, which do not claim the
  outbox (the server's dispatcher does). A replica subscribes to platform events on the
  event bus (``podium.events``, ADR 0023) and hands each to :meth:`GenerationWatcher.notify`:
  an event about its deployment, or about the model whose stage or alias it follows,
  makes the watcher check at once, so a promotion reaches every replica within
  milliseconds. Besides, every ``interval`` seconds (30 with a bus, as a safety net; 1
  without) it reads the deployment's generation and the version its ref names, and reloads
  on a change. That is one small query per check, never one per request.

A reload builds the new state beside the old one and swaps it in with one assignment,
so requests in flight finish on the old version and none is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from podium.errors import PodiumError
from podium.events.bus.protocol import BusMessage
from podium.events.outbox import Event
from podium.serving.control.deployments import Deployments
from podium.serving.requests.runtime import ServingRuntime
from podium.store.periodic import Periodic

__all__ = ["DEPLOYMENT_EVENTS", "MODEL_EVENTS", "GenerationWatcher", "ServingEvents"]

DEPLOYMENT_EVENTS = frozenset({"deployment.updated", "deployment.deleted"})
MODEL_EVENTS = frozenset({"model.stage_changed", "model.alias_changed"})

_log = logging.getLogger(__name__)

LoadedRuntime = Callable[[str], ServingRuntime | None]
"""The runtime of a project when this process has built one, else None."""

DeploymentsOf = Callable[[str], Deployments]
"""The deployments service of a project, as the serving identity sees it."""


class ServingEvents:
    """An event subscriber: ``dispatcher.subscribe(ServingEvents(...))``."""

    def __init__(self, loaded_runtime: LoadedRuntime, deployments_of: DeploymentsOf) -> None:
        self._loaded_runtime = loaded_runtime
        self._deployments_of = deployments_of

    def __call__(self, event: Event) -> None:
        if event.type in DEPLOYMENT_EVENTS:
            # Only what this process serves reloads; a project it has not served yet (no
            # runtime) or a deployment not loaded yet reads fresh state when first asked.
            runtime = self._loaded_runtime(event.project)
            if runtime is not None and event.subject in runtime.names():
                runtime.reload(event.subject)
        elif event.type in MODEL_EVENTS:
            self._follow(event.project, str(event.payload.get("model", "")))

    def _follow(self, project: str, model: str) -> None:
        deployments = self._deployments_of(project)
        for deployment in deployments.list():
            if deployment.model_name != model or "@" not in deployment.spec.model:
                continue
            try:
                deployments.sync(deployment.name)
            except PodiumError as exc:  # e.g. the stage is empty now; keep serving
                _log.warning("deployment %r did not follow %s: %s", deployment.name, model, exc)


class GenerationWatcher:
    """Checks one deployment's generation (and its ref) and reloads the runtime on a change:
    at once on :meth:`notify` of an event about it, and every ``interval`` seconds."""

    def __init__(
        self,
        runtime: ServingRuntime,
        deployments: Deployments,
        name: str,
        *,
        interval: float = 1.0,
    ) -> None:
        self._runtime = runtime
        self._deployments = deployments
        self._name = name
        self._loop = Periodic("podium-watch", interval, self.check, on_error=self._check_failed)

    def check(self) -> bool:
        """Compare once; reload (and wait for it) when the stored deployment moved on."""
        current = self._runtime.state(self._name).deployment
        stored = self._deployments.get(self._name)
        if "@" in stored.spec.model:
            stored = self._deployments.sync(self._name)
        if stored.generation == current.generation:
            return False
        self._runtime.reload(self._name).result()
        return True

    def concerns(self, event: dict[str, object]) -> bool:
        """Whether a platform event (the JSON of an :class:`~podium.events.outbox.Event`)
        may change what this deployment serves."""
        if event.get("project") != self._runtime.project:
            return False
        kind = event.get("type")
        if kind in DEPLOYMENT_EVENTS:
            return event.get("subject") == self._name
        if kind in MODEL_EVENTS:
            payload = event.get("payload")
            model = payload.get("model") if isinstance(payload, dict) else None
            deployment = self._runtime.state(self._name).deployment
            return model == deployment.model_name and "@" in deployment.spec.model
        return False

    def notify(self, message: BusMessage) -> None:
        """A bus subscription's handler: check now when the event concerns this deployment
        (the check runs in the watcher's thread; this returns at once)."""
        if self.concerns(message.body):
            self.check_soon()

    def check_soon(self) -> None:
        """Run a check in the watcher's thread now rather than at the end of the interval."""
        self._loop.run_now()

    def start(self) -> None:
        """Check every ``interval`` seconds in a background thread (idempotent)."""
        self._loop.start()

    def stop(self) -> None:
        """Stop checking, waiting up to 5 s for the current check."""
        self._loop.stop(timeout=5)

    def _check_failed(self, exc: Exception) -> None:
        # Logged with its traceback; a database hiccup must not end the watcher.
        _log.exception("checking deployment %r for changes failed", self._name)
