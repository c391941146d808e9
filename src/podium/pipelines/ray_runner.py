"""The Ray runner (``podium[ray]``): each step a Ray task, with the resources it asks for.

::

    run = p.pipelines.run(churn, params={"C": 0.5}, runner="ray")

Where: the cluster at ``PODIUM_RAY_ADDRESS`` (``ray://host:10001`` or ``host:6379``), or,
when it is unset, a local Ray started on 127.0.0.1 with this machine's cores (no
dashboard, no usage stats, workers' output not echoed). A Ray already initialised in
this process is used as it is. Ray stays up for the life of the process, so only the
first run pays its start-up.

How: the driver (this process) keeps the plan's bookkeeping in one loop: it asks the
hooks for each ready step (cached steps never reach Ray), submits every computed step
as a task with ``num_cpus``, ``num_gpus``, ``memory`` and custom ``resources`` from
``@podium.step``, and waits on whichever ends first. Outputs stay by reference: the
driver loads a step's inputs from the project's artifact store (verified by sha256) and
Ray's object store carries them to the task; the task's value comes back the same way and
the driver stores it as a blob (only its digest reaches the metadata DB). So a local
folder artifact store works with a remote cluster too, at the cost of every input and
output passing through the driver.

Retries: each attempt is a task of its own (Ray's own retries are off, so a crashed
worker is an attempt that failed, and every attempt is in the step's log). Timeout: an
attempt still running after ``timeout`` seconds is cancelled with ``force=True``, which
kills its worker process (unlike the local runner's abandoned thread).

Tuning's ``runner="ray"`` runs trials in Ray actors through :class:`RayExecutor`.
"""

from __future__ import annotations

import concurrent.futures as futures
import io
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.errors import InvalidInputError, MissingDependencyError
from podium.pipelines.logs import capture, routing
from podium.pipelines.plan import Plan, PlannedStep
from podium.pipelines.resources import Resources, format_memory
from podium.pipelines.runner import Attempted, StepCall, StepHooks, StepResult
from podium.store.base import now_ms

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["RayExecutor", "RayRunner", "connect"]

_DONE_OK = ("succeeded", "cached")
_LOCAL_HOST = "127.0.0.1"
# Read by Ray when it is imported. Off, a node takes the loopback address instead of the
# machine's reachable one (Ray's single-node mode, its default on macOS and Windows), so
# a local Ray listens on 127.0.0.1 only. Never changes a given cluster.
_LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
_connect_lock = threading.Lock()


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", extra="ray") from None
    return ray


def connect(address: str | None = None) -> ModuleType:
    """Ray, initialised in this process: on the cluster at ``address``, or on a local Ray
    started on 127.0.0.1 when ``address`` is None. A Ray already initialised is kept.

    The local Ray stays on loopback only when Ray is first imported here (the switches it
    reads at import are set just before)."""
    if address is None:
        for name, value in _LOOPBACK_ONLY.items():
            os.environ.setdefault(name, value)
    ray = _ray()
    with _connect_lock:
        if ray.is_initialized():
            return ray
        if address is None:
            ray.init(
                address="local",
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
                _node_ip_address=_LOCAL_HOST,
            )
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


class RayRunner:
    """Runs a plan's steps as Ray tasks on a cluster (module docstring)."""

    name = "ray"

    def __init__(self, *, address: str | None = None) -> None:
        self.address = address

    def check(self, plan: Plan) -> None:
        """Refuse a step that no node of the cluster could ever run (connects to Ray)."""
        ray = connect(self.address)
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        for planned in plan.steps:
            _refuse_unschedulable(planned.name, planned.step.resources, nodes)

    def run(self, plan: Plan, hooks: StepHooks) -> dict[str, StepResult]:
        """Run every step as a task, independent ones at once; the result of each."""
        return _RayRun(connect(self.address), plan, hooks).run()


def _wanted(resources: Resources) -> dict[str, float]:
    """A step's request in Ray's resource names (memory in bytes)."""
    wanted = {"CPU": resources.cpus, "GPU": resources.gpus, "memory": float(resources.memory)}
    wanted.update(resources.custom)
    return {name: amount for name, amount in wanted.items() if amount > 0}


def _refuse_unschedulable(
    name: str, resources: Resources, nodes: list[Mapping[str, float]]
) -> None:
    wanted = _wanted(resources)
    if any(all(node.get(key, 0.0) >= amount for key, amount in wanted.items()) for node in nodes):
        return
    largest = {key: max((node.get(key, 0.0) for node in nodes), default=0.0) for key in wanted}
    short = ", ".join(
        f"{_shown(key, amount)} (the largest node has {_shown(key, largest[key])})"
        for key, amount in wanted.items()
        if largest[key] < amount
    ) or ", ".join(_shown(key, amount) for key, amount in wanted.items())
    raise InvalidInputError(
        f"step {name!r} asks for {short}: no node of the Ray cluster has that much, so it "
        "could never run",
        field="resources",
        remedy="ask for less in @podium.step(...), or add nodes with those resources to the "
        "cluster (a custom resource is declared with ray start --resources='{\"name\": 1}')",
    )


_STEP_NAMES = {"CPU": "cpus", "GPU": "gpus"}


def _shown(key: str, amount: float) -> str:
    """A Ray resource amount as @podium.step spells it: ``cpus=2``, ``memory=1GB``."""
    if key == "memory":
        return f"memory={format_memory(int(amount))}"
    return f"{_STEP_NAMES.get(key, key)}={amount:g}"


@dataclass
class _Outcome:
    """What one attempt in a Ray worker gave back."""

    value: Any
    error: str | None
    logs: str
    pid: int


def _attempt(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """One attempt of a step, in a Ray worker: its value or traceback, and what it printed."""
    buffer = io.StringIO()
    with routing(), capture(buffer):
        try:
            value, error = function(*args, **kwargs), None
        except Exception:  # the step's failure is its result, recorded in full
            value, error = None, traceback.format_exc()
    return _Outcome(value, error, buffer.getvalue(), os.getpid())


@dataclass
class _Running:
    """A step being computed: its call, the attempt in flight and what came so far."""

    call: StepCall
    attempted: Attempted
    logs: io.StringIO
    deadline: float | None = None


class _RayRun:
    """One run on Ray: a loop in the driver submitting ready steps and collecting ends."""

    def __init__(self, ray: ModuleType, plan: Plan, hooks: StepHooks) -> None:
        self.ray = ray
        self.plan = plan
        self.hooks = hooks
        self.remote = ray.remote(_attempt)
        self.results: dict[str, StepResult] = {}
        self.running: dict[Any, _Running] = {}  # ObjectRef -> its step
        self.errors: list[BaseException] = []

    def run(self) -> dict[str, StepResult]:
        waiting = list(self.plan.steps)
        try:
            while waiting or self.running:
                waiting = self._start_ready(waiting)
                if self.running:
                    self._collect()
        finally:
            for ref in self.running:  # podium itself failed: leave nothing running
                self.ray.cancel(ref, force=True)
        if self.errors:  # podium itself failed (the database, the store): not the step
            raise self.errors[0]
        return self.results

    def _start_ready(self, waiting: list[PlannedStep]) -> list[PlannedStep]:
        """Skip what follows a failure, settle cached steps, submit the computed ones;
        repeated until no step becomes ready without waiting on Ray."""
        while True:
            progressed = False
            left: list[PlannedStep] = []
            for planned in waiting:
                deps = [self.results.get(d) for d in planned.depends_on]
                if any(r is None for r in deps):
                    left.append(planned)
                    continue
                failed = next((r.name for r in deps if r and r.status not in _DONE_OK), None)
                progressed = True
                if failed is not None:
                    self._skip(planned, failed)
                else:
                    self._prepare(planned)
            waiting = left
            if not progressed:
                return waiting

    def _prepare(self, planned: PlannedStep) -> None:
        upstream = {d: self.results[d] for d in planned.depends_on}
        try:
            prepared = self.hooks.prepare(planned, upstream)
        except Exception as exc:
            self._failed_podium(planned.name, exc)
            return
        if isinstance(prepared, StepResult):
            self.results[planned.name] = prepared
            return
        running = _Running(prepared, Attempted(started_ms=now_ms()), io.StringIO())
        self._submit(running)

    def _submit(self, running: _Running) -> None:
        call = running.call
        step = call.planned.step
        running.attempted.attempts += 1
        if running.attempted.attempts > 1:
            running.logs.write(
                f"[podium] attempt {running.attempted.attempts} of {step.retries + 1}\n"
            )
        resources = step.resources
        options: dict[str, Any] = {
            "num_cpus": resources.cpus,
            "num_gpus": resources.gpus,
            "max_retries": 0,  # podium retries, so every attempt is logged
            "name": f"podium-step-{call.planned.name}",
        }
        if resources.memory:
            options["memory"] = resources.memory
        if resources.custom:
            options["resources"] = dict(resources.custom)
        ref = self.remote.options(**options).remote(step.function, call.args, call.kwargs)
        running.deadline = None if step.timeout is None else time.monotonic() + step.timeout
        self.running[ref] = running

    def _collect(self) -> None:
        """Wait for the first attempt to end (or time out) and settle it."""
        deadlines = [r.deadline for r in self.running.values() if r.deadline is not None]
        timeout = None if not deadlines else max(0.0, min(deadlines) - time.monotonic())
        ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=timeout)
        now = time.monotonic()
        for ref in ready:
            running = self.running.pop(ref)
            self._ended(running, *self._outcome(ref, running))
        for ref, running in list(self.running.items()):
            if running.deadline is not None and running.deadline <= now:
                del self.running[ref]
                self.ray.cancel(ref, force=True)  # kills the worker: the step stops for real
                timeout_s = running.call.planned.step.timeout or 0
                error = (
                    f"step {running.call.planned.name!r} timed out after {timeout_s:g} s; its "
                    "Ray task was cancelled (its worker process killed)"
                )
                self._ended(running, None, error, "")

    def _outcome(self, ref: Any, running: _Running) -> tuple[Any, str | None, str]:
        name = running.call.planned.name
        try:
            outcome: _Outcome = self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            # _attempt catches the step's own errors: this one is Ray moving values.
            cause = exc.cause
            return (
                None,
                (
                    f"step {name!r}: its arguments or its returned value could not be sent "
                    f"between this process and its Ray worker ({type(cause).__name__}: {cause}); "
                    "return plain data, a DataFrame or a picklable object"
                ),
                "",
            )
        except self.ray.exceptions.RayError as exc:  # the worker died, or its node
            return None, f"step {name!r}: its Ray worker failed: {type(exc).__name__}: {exc}", ""
        running.attempted.extra["pid"] = outcome.pid
        return outcome.value, outcome.error, outcome.logs

    def _ended(self, running: _Running, value: Any, error: str | None, logs: str) -> None:
        running.logs.write(logs)
        step = running.call.planned.step
        if error is not None:
            running.logs.write(error if error.endswith("\n") else error + "\n")
            if running.attempted.attempts <= step.retries:
                self._submit(running)
                return
        attempted = running.attempted
        attempted.value, attempted.error = value, error
        attempted.ended_ms = now_ms()
        attempted.logs = running.logs.getvalue()
        name = running.call.planned.name
        try:
            self.results[name] = self.hooks.finish(running.call, attempted)
        except Exception as exc:
            self._failed_podium(name, exc)

    def _skip(self, planned: PlannedStep, failed: str) -> None:
        try:
            self.results[planned.name] = self.hooks.skip(planned, failed)
        except Exception as exc:
            self.errors.append(exc)
            self.results[planned.name] = StepResult(planned.name, "skipped", error=str(exc))

    def _failed_podium(self, name: str, exc: Exception) -> None:
        self.errors.append(exc)
        self.results[name] = StepResult(name, "failed", error=f"podium failed: {exc}")


class RayExecutor(futures.Executor):
    """A :class:`concurrent.futures.Executor` on ``max_workers`` Ray actors (one CPU each),
    each set up once by ``initializer(*initargs)``, like a process pool's workers.

    Tuning runs its trials here with ``runner="ray"``; each call goes to the actor with
    the fewest calls in flight.
    """

    def __init__(
        self,
        max_workers: int,
        *,
        address: str | None = None,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        ray = self.check(max_workers, address=address)
        actor = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self._ray = ray
        self._actors = [actor.remote(initializer, initargs) for _ in range(max_workers)]
        self._busy = [0] * max_workers
        self._pending: set[futures.Future[Any]] = set()
        self._lock = threading.Lock()

    @staticmethod
    def check(max_workers: int, *, address: str | None = None) -> ModuleType:
        """Connect to Ray and refuse more workers than the cluster has CPUs (each actor
        holds one, so more would wait forever); Ray, connected."""
        ray = connect(address)
        cpus = ray.cluster_resources().get("CPU", 0.0)
        if max_workers > cpus:
            raise InvalidInputError(
                f"{max_workers} parallel workers need {max_workers} CPUs, but the Ray "
                f"cluster has {cpus:g}",
                field="parallel",
                remedy=f"pass parallel={max(int(cpus), 1)} or fewer, or add nodes to the cluster",
            )
        return ray

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        """Call ``fn(*args, **kwargs)`` on the least busy actor."""
        with self._lock:
            index = self._busy.index(min(self._busy))
            self._busy[index] += 1
            future: futures.Future[Any] = self._actors[index].call.remote(fn, args, kwargs).future()
            self._pending.add(future)

        def done(ended: futures.Future[Any]) -> None:
            with self._lock:
                self._busy[index] -= 1
                self._pending.discard(ended)

        future.add_done_callback(done)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """End the actors (their processes exit), after the calls in flight when ``wait``."""
        with self._lock:
            pending = list(self._pending)
        if cancel_futures:
            for future in pending:
                future.cancel()
        if wait:
            futures.wait(pending)
        for actor in self._actors:
            self._ray.kill(actor)
        self._actors = []


class _Worker:
    """A Ray actor holding whatever its initializer set up (a tracking connection)."""

    def __init__(self, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
        if initializer is not None:
            initializer(*initargs)

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)
