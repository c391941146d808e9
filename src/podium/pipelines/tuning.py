"""Hyperparameter tuning on Optuna, every trial a tracked run (``p.tune``, ``podium tune``).

::

    study = p.tune(objective, space={"C": podium.loguniform(1e-3, 10.0)}, trials=20,
                   parallel=2, experiment="churn", metric="auc", direction="maximize")
    study.best_params; study.best_value; study.best_run_id

The study is a tracked run tagged ``podium.study=<name>``; each trial is a child run of
it (:mod:`podium.pipelines.tuning_trial`). Everything is logged through the
:class:`~podium.tracking.protocol.Tracking` protocol only, so the same code tunes
embedded and against a server (ADR 0020).

Where Optuna keeps its studies: :mod:`podium.pipelines.tuning_storage` (never among
podium's tables). A study so survives a restart, and ``study="name"`` resumes it.

``parallel=N`` runs N trials at once. Embedded, in N worker processes (forked when that
is safe, else from a fork server, see :func:`start_method`; each with its own connection
to the same database: CPU-bound objectives scale past the GIL; the objective must be
picklable, i.e. a module-level function), or with ``runner="ray"``
in N Ray actors (:class:`~podium.pipelines.ray_runner.RayExecutor`; on a cluster the
database and artifact store must be reachable from its nodes). Against a server, in N
threads of the client. The sampler runs in the calling process (ask and tell), so the
number of trials is exact; pruning is asked from the worker through the storage.
``parallel=1`` runs each trial in the calling thread.

A trial costs little more than Optuna's own storage writes: its run opens and closes in
one write each (:mod:`podium.pipelines.tuning_trial`), its run id is found from the run's
tags at the end (not written to Optuna per trial), and Optuna is told the result without
reading the trial back.
"""

from __future__ import annotations

import concurrent.futures as futures
import functools
import gc
import json
import logging
import multiprocessing
import multiprocessing.util
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from podium.errors import ConflictError, InvalidInputError, MissingDependencyError, PodiumError
from podium.pipelines.space import Choice, Dimension, IntUniform, LogUniform, check_space, describe
from podium.pipelines.tuning_checks import (
    check_count,
    check_direction,
    check_picklable,
    new_study_name,
    takes_trial,
    usable_cpus,
)
from podium.pipelines.tuning_results import Direction, Study, StudyTrial, TrialState
from podium.pipelines.tuning_storage import TuningStorage
from podium.pipelines.tuning_trial import (
    NUMBER_TAG,
    STUDY_TAG,
    TrialJob,
    TrialOutcome,
    execute_trial,
)
from podium.tracking.validation import check_key, check_name

if TYPE_CHECKING:
    from types import ModuleType

    from optuna.study import Study as OptunaStudy
    from optuna.trial import FrozenTrial
    from optuna.trial import Trial as OptunaTrial

    from podium.tracking.protocol import Tracking

__all__ = ["OnTrial", "TrackingOpener", "Tuning", "TuningStorage"]

TrackingOpener = Callable[[], "tuple[Tracking, Callable[[], None]]"]
"""Opens, in a worker process, its own tracking connection and a function closing it."""

OnTrial = Callable[[StudyTrial, int, int], None]
"""Called as each trial ends: the trial, how many trials are done and the study's total."""

RUN_ID_ATTR = "podium.run_id"
ERROR_ATTR = "podium.error"
_KIND_TAG = "podium.kind"
_PAGE = 1_000  # runs per page when finding the trials' runs
_RUNNERS = ("local", "ray")
_STATES: dict[str, TrialState] = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "running",
}


def _optuna() -> ModuleType:
    try:
        import optuna
    except ImportError:
        raise MissingDependencyError("optuna", extra="tune") from None
    return optuna


class Tuning:
    """Hyperparameter search for one project, on any :class:`Tracking` (embedded or remote).

    ``worker_tracking`` (embedded only) lets worker processes open their own connection;
    without it parallel trials run in threads. ``cpus`` bounds ``parallel`` (default: the
    cores this process may use).
    """

    def __init__(
        self,
        tracking: Tracking,
        *,
        project: str,
        storage: TuningStorage | None = None,
        worker_tracking: TrackingOpener | None = None,
        cpus: int | None = None,
        ray_address: str | None = None,
    ) -> None:
        self._tracking = tracking
        self._project = project
        self._storage = storage or TuningStorage()
        self._worker_tracking = worker_tracking
        self._cpus = cpus or usable_cpus()
        self._ray_address = ray_address

    def tune(
        self,
        objective: Callable[..., Any],
        space: Mapping[str, Dimension],
        *,
        trials: int = 20,
        parallel: int = 1,
        experiment: str = "default",
        metric: str = "value",
        direction: str = "minimize",
        study: str | None = None,
        seed: int | None = None,
        sampler: Any = None,
        pruner: Any = None,
        runner: str = "local",
        storage: str | None = None,
        on_trial: OnTrial | None = None,
    ) -> Study:
        """Search ``space`` for the params that optimise ``metric``; see :meth:`Platform.tune
        <podium.platform.Platform.tune>`. Every argument is checked before anything runs."""
        dims = check_space(space)
        with_trial = takes_trial(objective)
        checked_direction = check_direction(direction)
        check_count("trials", trials, 1, None, "the number of trials to run in total")
        if runner not in _RUNNERS:
            raise InvalidInputError(
                f"the runner must be 'local' or 'ray'; got {runner!r} instead",
                field="runner",
                remedy="pass runner='local' (the default) or runner='ray'",
            )
        on_ray = runner == "ray"
        if on_ray and self._worker_tracking is None:
            raise InvalidInputError(
                "runner='ray' tunes from an embedded installation only (Ray workers open "
                "its database); against a server trials run in the client",
                field="runner",
                remedy="pass runner='local', or tune where the database is reachable",
            )
        # On Ray the cluster's CPUs bound it (RayExecutor checks), not this machine's.
        check_count("parallel", parallel, 1, None if on_ray else self._cpus, "trials at once")
        check_name(experiment, kind="experiment")
        check_key(metric, kind="metric")
        name = check_name(study, kind="study") if study is not None else new_study_name()
        in_processes = (parallel > 1 or on_ray) and self._worker_tracking is not None
        if in_processes and not on_ray:  # Ray pickles by value what it cannot import
            check_picklable(objective)
        optuna = _optuna()
        target = TuningStorage(storage) if storage is not None else self._storage
        search = _Search(
            optuna, target, self._tracking, self._project, name, experiment, metric,
            checked_direction, dims, sampler or optuna.samplers.TPESampler(seed=seed),
            pruner or optuna.pruners.MedianPruner(),
        )  # fmt: skip
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(logging.WARNING)  # each trial is a run: no log line each
        ray_pool: Callable[..., futures.Executor] | None = None
        if on_ray:  # connected (and parallel checked) before the study exists
            from podium.pipelines.ray_runner import RayExecutor

            RayExecutor.check(parallel, address=self._ray_address)
            ray_pool = functools.partial(RayExecutor, address=self._ray_address)
        try:
            search.open()
            remaining = trials - search.finished()
            if remaining > 0:
                pool: futures.Executor
                if ray_pool is not None:
                    pool = ray_pool(
                        min(parallel, remaining),
                        initializer=_start_worker,
                        initargs=(self._worker_tracking, target, search.optuna_name, search.pruner),
                    )
                elif in_processes:
                    assert self._worker_tracking is not None
                    method = start_method()
                    if method == "fork":
                        _mark_fork()
                    elif method == "forkserver":
                        _preload_in_forkserver()
                    pool = futures.ProcessPoolExecutor(
                        max_workers=min(parallel, remaining),
                        mp_context=multiprocessing.get_context(method),
                        initializer=_start_worker,
                        initargs=(self._worker_tracking, target, search.optuna_name, search.pruner),
                    )
                elif parallel == 1:  # one at a time: no thread to hand each trial to
                    pool = _InlineExecutor()
                else:
                    pool = futures.ThreadPoolExecutor(max_workers=parallel)
                with pool:
                    search.run(
                        objective,
                        with_trial,
                        remaining,
                        parallel,
                        pool,
                        in_processes,
                        trials,
                        on_trial,
                    )
            return search.finish()
        finally:
            optuna.logging.set_verbosity(verbosity)


class _Search:
    """One ``tune`` call: the Optuna study, its tracked run, asking and telling."""

    def __init__(
        self,
        optuna: ModuleType,
        storage: TuningStorage,
        tracking: Tracking,
        project: str,
        name: str,
        experiment: str,
        metric: str,
        direction: Direction,
        space: dict[str, Dimension],
        sampler: Any,
        pruner: Any,
    ) -> None:
        self.optuna = optuna
        self.storage = storage
        self.tracking = tracking
        self.name = name
        self.optuna_name = f"{project}/{name}"  # one storage serves every project
        self.experiment = experiment
        self.metric = metric
        self.direction = direction
        self.space = space
        self.distributions = {key: _distribution(optuna, dim) for key, dim in space.items()}
        self.sampler = sampler
        self.pruner = pruner
        self.run_id = ""
        self.study: OptunaStudy | None = None

    def open(self) -> None:
        """Create the study, or load it by name and check it is the same search."""
        optuna = self.optuna
        study = optuna.create_study(
            storage=self.storage.open(optuna),
            study_name=self.optuna_name,
            direction=self.direction,
            sampler=self.sampler,
            pruner=self.pruner,
            load_if_exists=True,
        )
        self.study = study
        wanted = {
            "podium.experiment": self.experiment,
            "podium.metric": self.metric,
            "podium.space": json.dumps(describe(self.space), sort_keys=True),
        }
        attrs = study.user_attrs
        if RUN_ID_ATTR in attrs:
            differs = {k: (attrs.get(k), v) for k, v in wanted.items() if attrs.get(k) != v}
            if study.direction.name.lower() != self.direction:
                differs["direction"] = (study.direction.name.lower(), self.direction)
            if differs:
                raise ConflictError(
                    f"the study {self.name!r} exists with other settings: "
                    + "; ".join(
                        f"{k} was {old!r}, now {new!r}" for k, (old, new) in differs.items()
                    ),
                    field="study",
                    remedy="resume it with the same experiment, metric, direction and space, "
                    "or pass another study name",
                )
            self.run_id = str(attrs[RUN_ID_ATTR])
            self._fail_interrupted()
            return
        run = self.tracking.create_run(
            self.experiment,
            name=f"study-{self.name}",
            tags={
                STUDY_TAG: self.name,
                _KIND_TAG: "study",
                "podium.study.metric": self.metric,
                "podium.study.direction": self.direction,
                "podium.study.space": wanted["podium.space"],
            },
        )
        self.run_id = run.id
        for key, value in {**wanted, RUN_ID_ATTR: run.id}.items():
            study.set_user_attr(key, value)

    def _fail_interrupted(self) -> None:
        """Trials left running by a process that stopped are failed (one tune per study
        at a time), and so are their runs."""
        assert self.study is not None
        running = self.optuna.trial.TrialState.RUNNING
        left = self.study.get_trials(deepcopy=False, states=(running,))
        runs = self.trial_runs() if left else {}
        for frozen in left:
            error = "interrupted: the process running it stopped"
            self.study._storage.set_trial_user_attr(frozen._trial_id, ERROR_ATTR, error)
            self.study.tell(frozen.number, state=self.optuna.trial.TrialState.FAIL)
            run_id = frozen.user_attrs.get(RUN_ID_ATTR) or runs.get(frozen.number)
            if run_id and self.tracking.get_run(run_id).status == "RUNNING":
                self.tracking.set_tags(run_id, {"podium.trial.state": "failed"})
                self.tracking.end_run(run_id, status="FAILED")

    def trial_runs(self) -> dict[int, str]:
        """The tracked run of each trial, by trial number (the children of the study's
        run, by their tag ``podium.trial.number``): one search, not a write per trial."""
        found: dict[int, str] = {}
        token: str | None = None
        while True:
            page = self.tracking.search_runs(
                self.experiment,
                filter=f"attributes.parent_run_id = '{self.run_id}'",
                max_results=_PAGE,
                page_token=token,
            )
            for run in page.runs:
                number = run.tags.get(NUMBER_TAG)
                if number is not None and number.isdigit():
                    found[int(number)] = run.id
            token = page.next_page_token
            if not token:
                return found

    def finished(self) -> int:
        """How many trials of the study have ended."""
        assert self.study is not None
        state = self.optuna.trial.TrialState
        return len(self.study.get_trials(deepcopy=False, states=_ended(state)))

    def run(
        self,
        objective: Callable[..., Any],
        with_trial: bool,
        remaining: int,
        parallel: int,
        pool: futures.Executor,
        in_processes: bool,
        total: int,
        on_trial: OnTrial | None,
    ) -> None:
        """Run ``remaining`` trials, ``parallel`` at once, telling Optuna as each ends."""
        assert self.study is not None
        asked = 0
        done = total - remaining
        running: dict[futures.Future[TrialOutcome], OptunaTrial] = {}
        while asked < remaining or running:
            while asked < remaining and len(running) < parallel:
                trial = self.study.ask(self.distributions)
                job = TrialJob(
                    number=trial.number,
                    trial_id=trial._trial_id,
                    params=dict(trial.params),
                    experiment=self.experiment,
                    study=self.name,
                    study_run_id=self.run_id,
                    metric=self.metric,
                    with_trial=with_trial,
                )
                if in_processes:
                    future = pool.submit(_run_in_worker, job, objective)
                else:
                    link = _OptunaLink(trial)
                    pruned = (self.optuna.TrialPruned,)
                    future = pool.submit(
                        execute_trial, job, objective, self.tracking, link, pruned=pruned
                    )
                running[future] = trial
                asked += 1
            ended, _ = futures.wait(running, return_when=futures.FIRST_COMPLETED)
            for future in ended:
                trial = running.pop(future)
                outcome = self._tell(trial, future)
                done += 1
                if on_trial is not None:
                    on_trial(_study_trial(outcome, trial), done, total)

    def _tell(self, trial: OptunaTrial, future: futures.Future[TrialOutcome]) -> TrialOutcome:
        assert self.study is not None
        state = self.optuna.trial.TrialState
        try:
            outcome = future.result()
        except futures.process.BrokenProcessPool as exc:
            raise PodiumError(
                f"a tuning worker process died ({exc})",
                code="tuning-worker-died",
                remedy="check the objective does not exit the process or run out of memory; "
                "resume the study by name to continue it",
            ) from exc
        except Exception as exc:  # logging the trial failed (not the objective): recorded
            error = f"{type(exc).__name__}: {exc}"
            outcome = TrialOutcome(trial.number, "failed", None, {}, None, error)
        if outcome.state == "complete":
            _tell(self.study, trial, outcome.value, state.COMPLETE)
        elif outcome.state == "pruned":
            _tell(self.study, trial, None, state.PRUNED)
        else:
            trial.set_user_attr(ERROR_ATTR, outcome.error or "failed")
            _tell(self.study, trial, None, state.FAIL)
        return outcome

    def finish(self) -> Study:
        """The study's result; its run ends FINISHED (FAILED when no trial completed)."""
        assert self.study is not None
        runs = self.trial_runs()
        trials = [_frozen_trial(t, runs) for t in self.study.get_trials(deepcopy=False)]
        complete = [t for t in trials if t.state == "complete"]
        if not complete:
            self.tracking.end_run(self.run_id, status="FAILED")
            errors = [t.error for t in trials if t.error]
            raise InvalidInputError(
                f"every trial of the study {self.name!r} failed"
                + (f"; the first error: {errors[0]}" if errors else ""),
                field="objective",
                remedy="fix the objective (each trial's error is in its run's tag "
                "podium.trial.error), then resume the study by name",
            )
        best = self.study.best_trial
        best_run = str(best.user_attrs.get(RUN_ID_ATTR) or runs.get(best.number, ""))
        value = float(cast(float, best.value))
        self.tracking.set_tags(
            self.run_id, {"podium.study.best_run_id": best_run, "podium.study.best_value": value}
        )
        self.tracking.end_run(self.run_id, status="FINISHED")
        return Study(
            name=self.name,
            experiment=self.experiment,
            metric=self.metric,
            direction=self.direction,
            run_id=self.run_id,
            best_params=dict(best.params),
            best_value=value,
            best_run_id=best_run,
            trials=trials,
        )


def _tell(study: OptunaStudy, trial: OptunaTrial, value: float | None, state: Any) -> None:
    """``study.tell`` without what the caller never reads: Optuna's public ``tell`` reads
    the trial back and deep-copies it to return it (a storage read per trial)."""
    try:
        from optuna.study._tell import _tell_with_warning
    except ImportError:  # another Optuna: the public call, one read more
        study.tell(trial, value, state=state)
        return
    _tell_with_warning(study, trial, value, state, suppress_warning=True)


class _InlineExecutor(futures.Executor):
    """Runs each submitted call at once in the caller's thread (one trial at a time)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        future: futures.Future[Any] = futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the trial's; an interrupt stops the search at once
            future.set_exception(exc)
        return future


def _ended(state: Any) -> tuple[Any, ...]:
    """Optuna's trial states that mean "ended"."""
    return (state.COMPLETE, state.PRUNED, state.FAIL)


class _OptunaLink:
    """A :class:`~podium.pipelines.tuning_trial.TrialLink` onto an Optuna trial."""

    def __init__(self, trial: OptunaTrial) -> None:
        self._trial = trial

    def report(self, value: float, step: int) -> None:
        self._trial.report(value, step)

    def should_prune(self) -> bool:
        return self._trial.should_prune()

    def set_run_id(self, run_id: str) -> None:
        """Nothing to store: the run is found by its tags (one Optuna write less a trial)."""


def _study_trial(outcome: TrialOutcome, trial: OptunaTrial) -> StudyTrial:
    return StudyTrial(
        number=outcome.number,
        run_id=outcome.run_id,
        state=outcome.state,
        value=outcome.value,
        params=dict(trial.params),
        error=outcome.error,
    )


def _frozen_trial(frozen: FrozenTrial, runs: Mapping[int, str]) -> StudyTrial:
    state = _STATES.get(frozen.state.name, "running")
    value = frozen.value if state == "complete" else None
    if state == "pruned" and frozen.intermediate_values:
        value = frozen.intermediate_values[max(frozen.intermediate_values)]
    return StudyTrial(
        number=frozen.number,
        run_id=frozen.user_attrs.get(RUN_ID_ATTR) or runs.get(frozen.number),
        state=state,
        value=value,
        params=dict(frozen.params),
        error=frozen.user_attrs.get(ERROR_ATTR),
    )


def _distribution(optuna: ModuleType, dimension: Dimension) -> Any:
    dist = optuna.distributions
    if isinstance(dimension, LogUniform):
        return dist.FloatDistribution(dimension.low, dimension.high, log=True)
    if isinstance(dimension, IntUniform):
        return dist.IntDistribution(
            dimension.low, dimension.high, log=dimension.log, step=dimension.step
        )
    if isinstance(dimension, Choice):
        return dist.CategoricalDistribution(dimension.options)
    return dist.FloatDistribution(dimension.low, dimension.high)


# -- worker processes ------------------------------------------------------------------
# Each worker process holds its own tracking connection, opened once by the pool's
# initializer, and opens the Optuna study only when a trial first reports (an objective
# that never does needs no Optuna in the worker); these globals exist only there.
_worker_tracking: Tracking | None = None
_worker_study: Callable[[], Any] | None = None


def _start_worker(
    opener: TrackingOpener, storage: TuningStorage, optuna_name: str, pruner: Any
) -> None:
    global _worker_tracking, _worker_study
    if _forked_from not in (None, os.getpid()):
        _forget_parent_connections()
    tracking, close = opener()
    # Run as the worker exits, forked (which skips atexit) or spawned alike.
    multiprocessing.util.Finalize(None, close, exitpriority=10)
    _worker_tracking = tracking

    @functools.cache
    def study() -> Any:
        optuna = _optuna()
        optuna.logging.set_verbosity(logging.WARNING)
        # The parent created the tables; the sampler runs there, the worker asks the pruner.
        return optuna.load_study(
            study_name=optuna_name,
            storage=storage.open(optuna, existing=True),
            pruner=pruner,
            sampler=optuna.samplers.RandomSampler(),
        )

    _worker_study = study


def _run_in_worker(job: TrialJob, objective: Callable[..., Any]) -> TrialOutcome:
    assert _worker_tracking is not None and _worker_study is not None, "by _start_worker"
    # Optuna's own TrialPruned counts only if the objective could raise it (imported it).
    optuna = sys.modules.get("optuna")
    pruned = (optuna.TrialPruned,) if optuna is not None else ()
    link = _WorkerLink(_worker_study, job.trial_id)
    return execute_trial(job, objective, _worker_tracking, link, pruned=pruned)


class _WorkerLink:
    """A worker's :class:`~podium.pipelines.tuning_trial.TrialLink`: the Optuna trial of
    ``trial_id`` in the study, opened at the first report."""

    def __init__(self, study: Callable[[], Any], trial_id: int) -> None:
        self._study = study
        self._trial_id = trial_id

    @functools.cached_property
    def _link(self) -> _OptunaLink:
        return _OptunaLink(_optuna().trial.Trial(self._study(), self._trial_id))

    def report(self, value: float, step: int) -> None:
        self._link.report(value, step)

    def should_prune(self) -> bool:
        return self._link.should_prune()

    def set_run_id(self, run_id: str) -> None:
        """Nothing to store (see :class:`_OptunaLink`)."""


def start_method() -> str:
    """How worker processes start: ``fork`` when it is safe (Linux, and this process runs
    no other thread that could hold a lock the child inherits: no Python thread, no
    OpenMP or BLAS pool, no Ray), so a worker starts in milliseconds with everything
    already imported; otherwise ``forkserver`` (a clean server process, started once per
    process, forks the workers of every later ``tune``), or ``spawn`` where there is none."""
    if _fork_is_safe():
        return "fork"
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


_forked_from: int | None = None
"""In a forked worker: the pid of the process it was forked from (set there first)."""


# What a worker needs, imported once by the fork server rather than by every worker.
_PRELOAD = ("podium.pipelines.tuning", "podium.platform")


def _preload_in_forkserver() -> None:
    """Add what workers import to the fork server's preloads (``__main__``, the
    objective's usual home, stays); no effect once the server runs."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    current = list(getattr(server, "_preload_modules", None) or ["__main__"])
    if not all(name in current for name in _PRELOAD):
        forkserver.set_forkserver_preload([*current, *_PRELOAD])


def _mark_fork() -> None:
    global _forked_from
    _forked_from = os.getpid()


def _forget_parent_connections() -> None:
    """A forked child must never use the database connections it inherited (SQLite and
    PostgreSQL both break when two processes share one): drop every SQLAlchemy pool's
    without closing them (the parent's stay open), as SQLAlchemy advises after a fork.
    An objective using a platform of the parent's then reconnects in the worker."""
    from sqlalchemy.engine import Engine

    for obj in gc.get_objects():
        if isinstance(obj, Engine):
            obj.dispose(close=False)


# Threads known to survive a fork harmlessly (they register fork handlers).
_FORK_SAFE_THREADS = frozenset({"jemalloc_bg_thd"})


def _fork_is_safe() -> bool:
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    try:
        tasks = os.listdir("/proc/self/task")
        names = []
        for task in tasks:
            with open(f"/proc/self/task/{task}/comm") as comm:
                names.append(comm.read().strip())
    except OSError:
        return False
    return sum(1 for name in names if name not in _FORK_SAFE_THREADS) == 1
