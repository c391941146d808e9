"""Pipelines and tuning, podium vs Metaflow and bare Optuna: same machine, same run.

    python benchmarks/pipelines.py            # full (a few minutes)
    python benchmarks/pipelines.py --quick    # smoke sizes
    python benchmarks/pipelines.py --json results.json

Pipelines: a chain of no-op steps (10, and 2 to separate the fixed cost from the cost of
a step) and a 3-step scikit-learn pipeline (read a CSV -> features -> fit a
LogisticRegression). podium runs embedded here (runner "local", SQLite, a fresh
PODIUM_HOME in a temporary folder), and once more through ``podium pipelines run`` in a
new process; Metaflow runs ``python flow.py run`` in its own cached venv (see
``_anchor_venv``) with local metadata and datastore in a temporary folder. The two sides
alternate run by run. Both sides run the same feature and model code, and their outputs
must be equal. Then a cached rerun of the 3-step pipeline (podium only).

Tuning: the same objective (a small LogisticRegression fit, two params) with bare Optuna
(in memory, and on a SQLite storage as ``p.tune`` always is) and with ``p.tune``, trials
one at a time, the same TPE sampler and seed. Per-trial overhead is the total wall time
minus the objective's own time (measured inside it), over the trials. Then ``p.tune``
with ``parallel=2`` against ``parallel=1`` on a CPU-bound objective (a GradientBoosting
fit) with a seeded random sampler, so both do the same trials. With ``ray`` installed,
the Ray runner's fixed start-up and per-step overhead are measured too.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread on every side, before numpy loads

import argparse  # noqa: E402
import functools  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir  # noqa: E402
from _machine import machine_info  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import podium  # noqa: E402

METAFLOW_REQUIREMENTS = [
    "metaflow==2.19.39",
    *(f"{name}=={version(name)}" for name in ("scikit-learn", "numpy", "pandas")),
]
console = Console(stderr=True)


@dataclass(frozen=True)
class Sizes:
    metaflow_runs: int = 3  # timed Metaflow runs of each flow (after one warm-up)
    podium_runs: int = 10  # timed podium runs of each pipeline (after one warm-up)
    cli_runs: int = 3  # timed `podium pipelines run` processes
    rows: int = 5_000  # rows of the CSV the scikit-learn pipeline reads
    tune_trials: int = 50  # sequential trials, each side
    tune_repeats: int = 3  # the sides alternate; the median overhead is reported
    parallel_trials: int = 20  # CPU-bound trials at parallel=1 and at parallel=2


QUICK = Sizes(
    metaflow_runs=1, podium_runs=3, cli_runs=1, rows=1_000, tune_trials=10, tune_repeats=1,
    parallel_trials=4,
)  # fmt: skip


# -- the work, the same code on both sides ------------------------------------------------
# These three functions are copied into the Metaflow flow's folder with inspect.getsource.
def load_table(path):  # type: ignore[no-untyped-def]
    return pd.read_csv(path)


def make_features(df):  # type: ignore[no-untyped-def]
    X = df.drop(columns="label")
    X = (X - X.mean()) / X.std()
    X["x0_x1"] = X["x0"] * X["x1"]
    X["x2_sq"] = X["x2"] ** 2
    X["label"] = df["label"]
    return X


def fit_model(df, C):  # type: ignore[no-untyped-def]
    X, y = df.drop(columns="label").to_numpy(), df["label"].to_numpy()
    model = LogisticRegression(C=C, max_iter=1_000).fit(X, y)
    return {
        "coef": [float(c) for c in model.coef_[0]],
        "intercept": float(model.intercept_[0]),
        "accuracy": float(model.score(X, y)),
    }


def write_table(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(rows, 8))
    y = (X @ rng.normal(size=8) + X[:, 0] * X[:, 1] + rng.normal(size=rows) > 0).astype(int)
    pd.DataFrame({**{f"x{i}": X[:, i] for i in range(8)}, "label": y}).to_csv(path, index=False)


# -- podium's pipelines ---------------------------------------------------------------------
@podium.step
def first(n: int) -> int:
    return n


@podium.step
def bump(x: int) -> int:
    return x + 1


@podium.pipeline("bench-noop")
def noop(n: int = 0, k: int = 10) -> Any:
    """``k`` no-op steps in a chain; returns ``n + k - 1``."""
    x = first(n)
    for _ in range(k - 1):
        x = bump(x)
    return x


# ``salt`` enters every step's cache key, so each timed run computes all three steps.
@podium.step
def load(path: str, salt: int = 0) -> pd.DataFrame:
    return load_table(path)  # type: ignore[no-any-return]


@podium.step
def features(df: pd.DataFrame, salt: int = 0) -> pd.DataFrame:
    return make_features(df)  # type: ignore[no-any-return]


@podium.step
def train(df: pd.DataFrame, C: float = 1.0, salt: int = 0) -> dict[str, Any]:
    return fit_model(df, C)  # type: ignore[no-any-return]


@podium.pipeline("bench-sklearn")
def sklearn3(path: str, C: float = 1.0, salt: int = 0) -> Any:
    return train(features(load(path, salt=salt), salt=salt), C=C, salt=salt)


# -- Metaflow's flows -----------------------------------------------------------------------
def noop_flow(k: int) -> str:
    """A Metaflow flow of ``k`` no-op steps in a chain (start, s1.., end)."""
    names = ["start", *(f"s{i}" for i in range(1, k - 1)), "end"]
    lines = [
        "import json",
        "from metaflow import FlowSpec, Parameter, step",
        "",
        "class NoopFlow(FlowSpec):",
        "    n = Parameter('n', type=int, default=0)",
        "    out = Parameter('out', default='result.json')",
    ]
    for i, name in enumerate(names):
        lines += ["", "    @step", f"    def {name}(self):"]
        lines.append("        self.x = self.n" if i == 0 else "        self.x = self.x + 1")
        if name == "end":
            lines.append("        json.dump(self.x, open(self.out, 'w'))")
        else:
            lines.append(f"        self.next(self.{names[i + 1]})")
    return "\n".join([*lines, "", "if __name__ == '__main__':", "    NoopFlow()", ""])


SKLEARN_FLOW = """
import json
from metaflow import FlowSpec, Parameter, step
from bench_model import fit_model, load_table, make_features

class SklearnFlow(FlowSpec):
    path = Parameter("path")
    out = Parameter("out")
    C = Parameter("C", type=float, default=1.0)

    @step
    def start(self):
        self.df = load_table(self.path)
        self.next(self.features)

    @step
    def features(self):
        self.feats = make_features(self.df)
        self.next(self.end)

    @step
    def end(self):
        self.result = fit_model(self.feats, self.C)
        json.dump(self.result, open(self.out, "w"))

if __name__ == "__main__":
    SklearnFlow()
"""


class MetaflowSide:
    """Runs the flows with ``python flow.py run`` in a folder of their own."""

    def __init__(self, python: Path, work: Path) -> None:
        self.python, self.work = python, work
        work.mkdir()
        for k in (2, 10):
            (work / f"noop{k}.py").write_text(noop_flow(k))
        (work / "sklearn3.py").write_text(SKLEARN_FLOW)
        helpers = [inspect.getsource(f) for f in (load_table, make_features, fit_model)]
        header = "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n\n"
        (work / "bench_model.py").write_text(header + "\n\n".join(helpers))
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        self.env.update(
            METAFLOW_DEFAULT_METADATA="local",
            METAFLOW_DEFAULT_DATASTORE="local",
            METAFLOW_DATASTORE_SYSROOT_LOCAL=str(work),
            USERNAME="bench",
        )
        done = subprocess.run(
            [str(python), "-c", "import metaflow; print(metaflow.__version__)"],
            capture_output=True, text=True, env=self.env, check=True,
        )  # fmt: skip
        self.version = done.stdout.strip().splitlines()[-1]

    def run(self, flow: str, **params: Any) -> tuple[float, Any]:
        """Seconds of ``python <flow>.py run --<param> ...`` and what its end step wrote."""
        out = self.work / "result.json"
        out.unlink(missing_ok=True)
        args = [f"--{k}={v}" for k, v in params.items()] + [f"--out={out}"]
        cmd = [str(self.python), f"{flow}.py", "--no-pylint", "run", *args]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=self.work)
        seconds = time.perf_counter() - t
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
            sys.exit(f"the Metaflow run of {flow} failed (exit {done.returncode}):\n{tail}")
        return seconds, json.loads(out.read_text())


# -- pipelines, both sides ------------------------------------------------------------------
def timed_run(p: podium.Platform, pipeline: Any, runner: str = "local", **params: Any) -> Any:
    t = time.perf_counter()
    run = p.pipelines.run(pipeline, params=params, runner=runner)
    seconds = time.perf_counter() - t
    if run.status != "succeeded":
        sys.exit(f"podium's run of {pipeline.name} {params} ended {run.status}: {run.error}")
    return seconds, run


def cli_run(home: Path, n: int) -> tuple[float, str]:
    """`podium pipelines run pipelines:noop` in a new process: seconds and the run id."""
    env = {**os.environ, "PODIUM_HOME": str(home)}
    cmd = [str(Path(sys.executable).parent / "podium"), "pipelines", "run", "pipelines:noop"]
    t = time.perf_counter()
    done = subprocess.run(
        [*cmd, "--param", f"n={n}", "--json"],
        capture_output=True, text=True, env=env, cwd=Path(__file__).parent,
    )  # fmt: skip
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"`podium pipelines run` failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, str(json.loads(done.stdout)["id"])


def bench_pipelines(
    p: podium.Platform, mf: MetaflowSide, sizes: Sizes, home: Path, csv: Path
) -> dict[str, Any]:
    """Raw seconds per side and measurement, and the checks of every output."""
    raw: dict[str, Any] = {"metaflow": {}, "podium": {}, "checks": []}

    def add(side: str, key: str, seconds: float) -> None:
        raw[side].setdefault(key, []).append(seconds)

    def check(what: str, ok: bool) -> None:
        raw["checks"].append([what, ok])
        if not ok:
            sys.exit(f"check failed: {what}")

    serial = iter(range(1_000, 10**9, 100))  # n far apart: no podium step is cached
    for rep in range(sizes.metaflow_runs + 1):  # rep 0 is the warm-up on both sides
        for k in (2, 10):
            n = next(serial)
            seconds, value = mf.run(f"noop{k}", n=n)
            check(f"Metaflow noop{k} returns n+{k - 1}", value == n + k - 1)
            if rep:
                add("metaflow", f"noop{k}", seconds)
            for _ in range(max(1, sizes.podium_runs // sizes.metaflow_runs) if rep else 1):
                n = next(serial)
                seconds, run = timed_run(p, noop, n=n, k=k)
                ok = run.output == n + k - 1 and [s.status for s in run.steps] == ["succeeded"] * k
                check(f"podium noop{k} returns n+{k - 1}, every step run", ok)
                if rep:
                    add("podium", f"noop{k}", seconds)
        seconds, mf_out = mf.run("sklearn3", path=csv, C=0.5)
        if rep:
            add("metaflow", "sklearn3", seconds)
        for _ in range(max(1, sizes.podium_runs // sizes.metaflow_runs) if rep else 1):
            seconds, run = timed_run(p, sklearn3, path=str(csv), C=0.5, salt=next(serial))
            check(
                "podium sklearn3 ran its 3 steps",
                [s.status for s in run.steps] == ["succeeded"] * 3,
            )
            same = np.allclose(run.output["coef"], mf_out["coef"], rtol=1e-9, atol=1e-12)
            check(
                "sklearn3: the same model on both sides",
                same and run.output["accuracy"] == mf_out["accuracy"],
            )
            if rep:
                add("podium", "sklearn3", seconds)
        raw["sklearn_accuracy"] = mf_out["accuracy"]
    last_salt = next(serial)
    timed_run(p, sklearn3, path=str(csv), C=0.5, salt=last_salt)
    for _ in range(sizes.podium_runs):
        seconds, run = timed_run(p, sklearn3, path=str(csv), C=0.5, salt=last_salt)
        check("cached rerun: every step cached", [s.status for s in run.steps] == ["cached"] * 3)
        check("cached rerun: the same output", run.output["accuracy"] == raw["sklearn_accuracy"])
        add("podium", "sklearn3_cached", seconds)
    for rep in range(sizes.cli_runs + 1):
        n = next(serial)
        seconds, run_id = cli_run(home, n)
        check("`podium pipelines run` noop returns n+9", p.pipelines.get(run_id).output == n + 9)
        if rep:
            add("podium", "noop10_cli", seconds)
    return raw


def bench_ray(p: podium.Platform, sizes: Sizes) -> dict[str, Any] | None:
    """The Ray runner's first run (start-up included) and later runs; None without Ray."""
    if importlib.util.find_spec("ray") is None:
        console.print("[yellow]ray is not installed: the Ray runner is not measured")
        return None
    if importlib.util.find_spec("podium.pipelines.ray_runner") is None:
        console.print("[yellow]podium has no Ray runner yet: the Ray runner is not measured")
        return None
    runs = []
    for i in range(sizes.podium_runs + 1):
        seconds, run = timed_run(p, noop, runner="ray", n=5_000_000 + i, k=10)
        if run.output != 5_000_000 + i + 9:
            sys.exit("the Ray runner's output differs from the local runner's")
        runs.append(seconds)
    import ray as ray_module

    ray_module.shutdown()
    return {"first": runs[0], "later": runs[1:]}


# -- tuning ---------------------------------------------------------------------------------
OBJECTIVE_SECONDS: list[float] = []  # the objective's own time, appended by each call


@functools.cache
def _tune_data() -> tuple[Any, ...]:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 8))
    y = (X @ rng.normal(size=8) + rng.normal(scale=1.5, size=400) > 0).astype(int)
    return X[:300], y[:300], X[300:], y[300:]


def lr_objective(params: dict[str, Any]) -> dict[str, float]:
    t = time.perf_counter()
    X_train, y_train, X_val, y_val = _tune_data()
    model = LogisticRegression(C=params["C"], fit_intercept=params["fit_intercept"], max_iter=500)
    acc = float(model.fit(X_train, y_train).score(X_val, y_val))
    OBJECTIVE_SECONDS.append(time.perf_counter() - t)
    return {"acc": acc}


@functools.cache
def _gb_data() -> tuple[Any, ...]:
    rng = np.random.default_rng(13)
    X = rng.normal(size=(2_000, 20))
    y = (X[:, :5].sum(axis=1) + X[:, 5] * X[:, 6] + rng.normal(size=2_000) > 0).astype(int)
    return X[:1_500], y[:1_500], X[1_500:], y[1_500:]


def gb_objective(params: dict[str, Any]) -> dict[str, float]:
    """About 0.3-0.5 s of one core, whatever the learning rate."""
    X_train, y_train, X_val, y_val = _gb_data()
    model = GradientBoostingClassifier(
        n_estimators=60, max_depth=3, learning_rate=params["learning_rate"], random_state=0
    )
    return {"acc": float(model.fit(X_train, y_train).score(X_val, y_val))}


def trivial_objective(params: dict[str, Any]) -> dict[str, float]:
    """No work: what is left of a parallel=2 run is the workers' start-up."""
    return {"acc": float(params["learning_rate"])}


def wal_storage(url: str) -> Any:
    """Optuna's RDBStorage on ``url`` with the SQLite settings ``p.tune`` gives its own
    (WAL, ``synchronous=NORMAL``): bare Optuna as fast as podium's storage can make it."""
    import optuna
    from sqlalchemy import event

    storage = optuna.storages.RDBStorage(url)

    def configure(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    event.listen(storage.engine, "connect", configure)
    storage.engine.dispose()
    return storage


def bare_optuna(trials: int, storage: Any) -> tuple[float, float, dict[str, Any], float]:
    """Wall seconds, objective seconds, best params and value of a bare Optuna study
    (``storage``: None for memory, a URL, or a storage object)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial

    def objective(trial: Any) -> float:
        params = {
            "C": trial.suggest_float("C", 1e-3, 10.0, log=True),
            "fit_intercept": trial.suggest_categorical("fit_intercept", [True, False]),
        }
        return lr_objective(params)["acc"]

    OBJECTIVE_SECONDS.clear()
    t = time.perf_counter()
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(objective, n_trials=trials)
    wall = time.perf_counter() - t
    if len(study.trials) != trials:
        sys.exit(f"bare Optuna ran {len(study.trials)} trials, not {trials}")
    return wall, sum(OBJECTIVE_SECONDS), study.best_params, float(study.best_value)


def podium_tune(p: podium.Platform, trials: int) -> tuple[float, float, dict[str, Any], float]:
    OBJECTIVE_SECONDS.clear()
    space = {"C": podium.loguniform(1e-3, 10.0), "fit_intercept": podium.choice([True, False])}
    t = time.perf_counter()
    study = p.tune(
        lr_objective, space, trials=trials, experiment="bench-tune", metric="acc",
        direction="maximize", seed=0,
    )  # fmt: skip
    wall = time.perf_counter() - t
    check_study(p, study, trials)
    return wall, sum(OBJECTIVE_SECONDS), study.best_params, study.best_value


def bare_pool(params: list[dict[str, Any]]) -> dict[str, float]:
    """The machine's ceiling: the same fits in this process, then in 2 warm spawned
    worker processes (their start-up left out)."""
    import concurrent.futures
    import multiprocessing

    t = time.perf_counter()
    for one in params:
        gb_objective(one)
    alone = time.perf_counter() - t
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(gb_objective, params[:2]))  # both workers up and warm
        t = time.perf_counter()
        list(pool.map(gb_objective, params))
        pooled = time.perf_counter() - t
    return {"pool_1": alone, "pool_2": pooled}


def trial_seconds(p: podium.Platform, study: podium.Study) -> float:
    """The median duration of the study's trial runs (the objective and its logging)."""
    runs = p.tracking.search_runs(
        study.experiment, filter=f"attributes.parent_run_id = '{study.run_id}'", max_results=1_000
    ).runs
    return statistics.median((run.duration_ms or 0) / 1000 for run in runs)


def check_study(p: podium.Platform, study: podium.Study, trials: int) -> None:
    """Every trial complete and tracked; the best trial is the best tracked run."""
    runs = p.tracking.search_runs(
        study.experiment, filter=f"attributes.parent_run_id = '{study.run_id}'", max_results=1_000
    ).runs
    problems = []
    if study.count("complete") != trials or len(runs) != trials:
        problems.append(
            f"{study.count('complete')} complete trials, {len(runs)} runs, not {trials}"
        )
    best = max(run.metrics["acc"] for run in runs)
    if best != study.best_value:
        problems.append(f"best value {study.best_value} but the best tracked run has {best}")
    if problems:
        sys.exit("p.tune failed verification: " + "; ".join(problems))


def bench_tuning(p: podium.Platform, sizes: Sizes, tmp: Path) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "optuna_memory": [], "optuna_sqlite": [], "optuna_sqlite_wal": [], "podium": []
    }  # fmt: skip
    n = sizes.tune_trials
    for rep in range(sizes.tune_repeats):
        raw["optuna_memory"].append(bare_optuna(n, None))
        raw["optuna_sqlite"].append(bare_optuna(n, f"sqlite:///{tmp}/optuna-{rep}.db"))
        wal = wal_storage(f"sqlite:///{tmp}/optuna-wal-{rep}.db")
        raw["optuna_sqlite_wal"].append(bare_optuna(n, wal))
        raw["podium"].append(podium_tune(p, n))
    bests = {side: runs[-1][3] for side, runs in raw.items()}
    params = {side: runs[-1][2] for side, runs in raw.items()}
    raw["same_best"] = len(set(bests.values())) == 1
    raw["best"] = {"value": bests, "params": params}
    c_values = [prm["C"] for prm in params.values()]
    if max(bests.values()) - min(bests.values()) > 0.02 or max(c_values) / min(c_values) > 10:
        sys.exit(f"the sides found different best regions: {raw['best']}")
    from optuna.samplers import RandomSampler

    from podium.pipelines.tuning import start_method

    space = {"learning_rate": podium.loguniform(0.01, 0.5)}
    par: dict[str, Any] = {"start_method": start_method()}
    console.print(
        f"parallel=2: worker processes start by {par['start_method']} (threads here: "
        f"{', '.join(t.name for t in threading.enumerate())})"
    )
    for parallel in (1, 2):  # the fixed cost of parallel=2: its workers' start-up
        t = time.perf_counter()
        study = p.tune(
            trivial_objective, space, trials=2, parallel=parallel, experiment="bench-start",
            metric="acc", direction="maximize", sampler=RandomSampler(seed=0),
        )  # fmt: skip
        par[f"trivial_{parallel}"] = time.perf_counter() - t
        check_study(p, study, 2)
    for parallel in (1, 2):
        t = time.perf_counter()
        study = p.tune(
            gb_objective, space, trials=sizes.parallel_trials, parallel=parallel,
            experiment=f"bench-parallel-{parallel}", metric="acc", direction="maximize",
            sampler=RandomSampler(seed=0),
        )  # fmt: skip
        par[str(parallel)] = time.perf_counter() - t
        check_study(p, study, sizes.parallel_trials)
        par[f"best_{parallel}"] = study.best_value
        par[f"trial_{parallel}"] = trial_seconds(p, study)
        learning_rates = [{"learning_rate": t.params["learning_rate"]} for t in study.trials]
    par.update(bare_pool(learning_rates))
    if par["best_1"] != par["best_2"]:
        sys.exit(f"parallel=1 and parallel=2 found different bests: {par}")
    t = time.perf_counter()
    gb_objective({"learning_rate": 0.1})
    par["one_trial"] = time.perf_counter() - t
    raw["parallel"] = par
    return raw


# -- the table ------------------------------------------------------------------------------
FASTER = "x faster"  # a row without a target whose ratio is baseline / podium


def summarise(
    pipes: dict[str, Any], tune: dict[str, Any], ray: dict[str, Any] | None
) -> list[list[Any]]:
    """Rows: measurement, baseline, podium, ratio, target, ok (None: no target)."""
    mf = {k: statistics.median(v) for k, v in pipes["metaflow"].items()}
    po = {k: statistics.median(v) for k, v in pipes["podium"].items()}
    step = po["noop10"] / mf["noop10"]
    marginal = {side: (m["noop10"] - m["noop2"]) * 125 for side, m in (("mf", mf), ("po", po))}
    rows: list[list[Any]] = [
        ["10-step no-op pipeline, wall s", mf["noop10"], po["noop10"], 1 / step, FASTER, None],
        ["per-step overhead (wall / 10), ms", mf["noop10"] * 100, po["noop10"] * 100, step,
         "<= 0.05x", step <= 0.05],
        ["2-step no-op pipeline, wall s", mf["noop2"], po["noop2"], mf["noop2"] / po["noop2"],
         FASTER, None],
        ["marginal cost of a step ((10-step - 2-step) / 8), ms", marginal["mf"], marginal["po"],
         marginal["mf"] / marginal["po"], FASTER, None],
        ["10-step no-op, `podium pipelines run` (new process), wall s", mf["noop10"],
         po["noop10_cli"], mf["noop10"] / po["noop10_cli"], FASTER, None],
        ["3-step scikit-learn pipeline, wall s", mf["sklearn3"], po["sklearn3"],
         mf["sklearn3"] / po["sklearn3"], FASTER, None],
        ["3-step pipeline, cached rerun, wall s", None, po["sklearn3_cached"], None, "< 0.3 s",
         po["sklearn3_cached"] < 0.3],
    ]  # fmt: skip
    n = tune["trials"]
    over = {
        side: statistics.median(wall - own for wall, own, *_ in tune[side]) / n * 1000
        for side in ("optuna_memory", "optuna_sqlite", "optuna_sqlite_wal", "podium")
    }
    for side, label in (
        ("optuna_sqlite", "Optuna on SQLite"),
        ("optuna_sqlite_wal", "Optuna on SQLite in WAL mode"),
        ("optuna_memory", "Optuna in memory"),
    ):
        ratio = over["podium"] / over[side]
        rows.append([f"tuning overhead per trial vs {label}, ms", over[side], over["podium"],
                     ratio, "<= 1.2x", ratio <= 1.2])  # fmt: skip
    par = tune["parallel"]
    speedup = par["1"] / par["2"]
    startup = par["trivial_2"] - par["trivial_1"]
    rows += [
        [f"p.tune, {tune['parallel_trials']} trials: parallel=1 -> 2, wall s", par["1"],
         par["2"], speedup, ">= 1.6x", speedup >= 1.6],
        [f"parallel=2: workers' start-up by {par['start_method']} (2 no-op trials, 2 minus 1), s",
         None, startup, None, "-", None],
        ["parallel=2 speed-up, start-up left out", par["1"], par["2"] - startup,
         par["1"] / (par["2"] - startup), FASTER, None],
        ["median trial run, parallel=1 -> 2, s", par["trial_1"], par["trial_2"],
         par["trial_2"] / par["trial_1"], "-", None],
        ["ceiling: the same fits, this process -> 2 warm bare workers, s", par["pool_1"],
         par["pool_2"], par["pool_1"] / par["pool_2"], FASTER, None],
    ]  # fmt: skip
    if ray is not None:
        later = statistics.median(ray["later"])
        rows += [
            ["Ray runner: fixed start-up (first run - later runs), s", None,
             ray["first"] - later, None, "-", None],
            ["Ray runner: per-step overhead (wall / 10), ms; baseline: local runner",
             po["noop10"] * 100, later * 100, later / po["noop10"], "-", None],
        ]  # fmt: skip
    return rows


def report(rows: list[list[Any]], info: dict[str, Any]) -> None:
    table = Table(
        title=f"Pipelines and tuning: podium vs Metaflow {info['metaflow']} "
        f"and Optuna {info['optuna']}",
        caption="baseline: Metaflow (pipelines), bare Optuna (overhead), parallel=1 (parallel); "
        "ratio: podium/baseline, or baseline/podium where it says faster; medians",
    )
    for col in ("measurement", "baseline", "podium", "ratio", "target", "result"):
        table.add_column(col, justify="left" if col in ("measurement", "target") else "right")
    for label, base, po, ratio, target, ok in rows:
        shown_ratio = "-" if ratio is None else f"{ratio:,.3g}x"
        if target == FASTER:
            shown_ratio += " faster"
        result = "-" if ok is None else ("[green]pass" if ok else "[red]FAIL")
        shown_base = "-" if base is None else f"{base:,.3g}"
        shown_target = target if ok is not None else "-"
        table.add_row(label, shown_base, f"{po:,.3g}", shown_ratio, shown_target, result)
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument(
        "--venv",
        type=Path,
        default=default_venv_dir("metaflow"),
        help="where the Metaflow venv is cached (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    try:
        python = anchor_python(args.venv, METAFLOW_REQUIREMENTS)
    except AnchorVenvError as exc:
        console.print(f"[red]cannot set up Metaflow:[/] {exc}")
        return 2
    for var in ("PODIUM_URL", "PODIUM_DATABASE_URL", "PODIUM_STORAGE_URL", "PODIUM_HOME"):
        os.environ.pop(var, None)  # embedded, on SQLite, in a fresh home
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp_name:
        tmp = Path(tmp_name)
        csv = tmp / "table.csv"
        write_table(csv, sizes.rows)
        mf = MetaflowSide(python, tmp / "metaflow")
        console.print(f"Metaflow {mf.version} and podium, run by run: {sizes}")
        with podium.connect(home=tmp / "podium") as p:
            pipes = bench_pipelines(p, mf, sizes, tmp / "podium", csv)
            console.print("tuning: bare Optuna and p.tune")
            tune = bench_tuning(p, sizes, tmp)
            tune.update(trials=sizes.tune_trials, parallel_trials=sizes.parallel_trials)
            ray = bench_ray(p, sizes)  # last: Ray's processes stay up until shutdown
    info = machine_info(load_before, metaflow=mf.version, optuna=version("optuna"))
    Console().print(", ".join(f"{k}: {v}" for k, v in info.items()))
    rows = summarise(pipes, tune, ray)
    report(rows, info)
    if args.json:
        doc = {"machine": info, "sizes": asdict(sizes), "rows": rows}
        args.json.write_text(
            json.dumps({**doc, "raw": {"pipelines": pipes, "tuning": tune, "ray": ray}})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
