"""The local runner: steps in threads of this process, within this machine's cores and memory.

Independent steps run at once. A step that is the only one able to run (the next link of
a chain) runs in the calling thread, with no thread to start and wait for. Each worker
thread asks the hooks whether its step must
run at all (a cached step takes no resources), then waits in the :class:`ResourcePool`
until the cores and memory the step asks for are free, computes it, and gives them back.
A thread per step costs microseconds, not the second a process or a pod costs; steps
that hold the GIL in pure Python do not speed up, steps in NumPy, pandas, Arrow or
scikit-learn mostly release it. GPUs are not scheduled here: a step asking for one is
refused before the run starts (use ``runner="ray"``).

After a failure the steps that depend on it are skipped; steps that do not keep going,
so a resumed run has as little left to do as possible.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Mapping

from podium.pipelines.plan import Plan, PlannedStep
from podium.pipelines.resources import Machine, ResourcePool
from podium.pipelines.runner import StepCall, StepHooks, StepResult, call_with_retries

__all__ = ["LocalRunner"]

_DONE_OK = ("succeeded", "cached")


class LocalRunner:
    """Runs a plan's steps in threads, as many at once as resources allow."""

    name = "local"

    def __init__(self, machine: Machine | None = None, *, max_threads: int | None = None) -> None:
        self.machine = machine or Machine.this()
        # Threads waiting for resources hold none; the cap only bounds idle threads.
        self.max_threads = max_threads or max(8, int(self.machine.cpus) * 4)

    def check(self, plan: Plan) -> None:
        """Refuse a step asking for more than this machine has (GPUs included)."""
        for planned in plan.steps:
            self.machine.refuse_larger(planned.name, planned.step.resources, runner=self.name)

    def run(self, plan: Plan, hooks: StepHooks) -> dict[str, StepResult]:
        """Run every step, independent ones in parallel; the result of each by name."""
        return _LocalRun(plan, hooks, ResourcePool(self.machine), self.max_threads).run()


class _LocalRun:
    def __init__(self, plan: Plan, hooks: StepHooks, pool: ResourcePool, max_threads: int):
        self.plan = plan
        self.hooks = hooks
        self.pool = pool
        self.max_threads = max_threads
        self.results: dict[str, StepResult] = {}
        self.running: set[str] = set()
        self.errors: list[BaseException] = []
        self.changed = threading.Condition()

    def run(self) -> dict[str, StepResult]:
        waiting = list(self.plan.steps)
        with self.changed:
            while waiting or self.running:
                waiting = self._skip_blocked(waiting)
                ready = [s for s in waiting if all(d in self.results for d in s.depends_on)]
                if len(ready) == 1 and not self.running:
                    # Nothing else could run meanwhile (a chain): no thread to hand it to.
                    planned = ready[0]
                    waiting.remove(planned)
                    self.running.add(planned.name)
                    upstream = {d: self.results[d] for d in planned.depends_on}
                    contextvars.copy_context().run(self._work, planned, upstream)
                    continue
                for planned in ready[: max(0, self.max_threads - len(self.running))]:
                    waiting.remove(planned)
                    self.running.add(planned.name)
                    upstream = {d: self.results[d] for d in planned.depends_on}
                    threading.Thread(
                        target=self._work,
                        args=(planned, upstream),
                        name=f"podium-step-{planned.name}",
                        daemon=True,
                    ).start()
                if self.running:
                    self.changed.wait()
        if self.errors:  # podium itself failed (the database, the store): not the step
            raise self.errors[0]
        return self.results

    def _skip_blocked(self, waiting: list[PlannedStep]) -> list[PlannedStep]:
        """Skip (in order, so a chain is skipped at once) steps after a failed one."""
        left: list[PlannedStep] = []
        for planned in waiting:
            blocked = next(
                (
                    d
                    for d in planned.depends_on
                    if d in self.results and self.results[d].status not in _DONE_OK
                ),
                None,
            )
            if blocked is None:
                left.append(planned)
                continue
            try:
                self.results[planned.name] = self.hooks.skip(planned, blocked)
            except Exception as exc:
                self.errors.append(exc)
                self.results[planned.name] = StepResult(planned.name, "skipped", error=str(exc))
        return left

    def _work(self, planned: PlannedStep, upstream: Mapping[str, StepResult]) -> None:
        try:
            prepared = self.hooks.prepare(planned, upstream)
            if isinstance(prepared, StepCall):
                resources = planned.step.resources
                self.pool.acquire(resources)
                try:
                    attempted = call_with_retries(prepared)
                finally:
                    self.pool.release(resources)
                prepared = self.hooks.finish(prepared, attempted)
            result = prepared
        except Exception as exc:
            self.errors.append(exc)
            result = StepResult(planned.name, "failed", error=f"podium failed: {exc}")
        with self.changed:
            self.results[planned.name] = result
            self.running.discard(planned.name)
            self.changed.notify_all()
