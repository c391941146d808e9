"""The runs page with 10,000 runs in Chromium: podium's UI against MLflow's (issue 16).

    python benchmarks/ui.py [--runs 10000] [--work DIR] [--samples 5]

Logs ``--runs`` runs of 5 params and 5 metrics each (the same values on both sides) into
an embedded podium installation and into the SQLite store of a full ``mlflow server``
(from the cached venv ``~/.cache/podium-bench/mlflow-server-venv``), both reused from
``--work`` when already filled. Then Chromium (Playwright, ``/usr/bin/chromium``) times,
on each side, what a user waits for:

- first render: from navigating to the experiment's runs page in a fresh page until the
  newest run's name is on screen;
- filter round trip: from pressing Enter in the filter box with
  ``metrics.m0 > 0.5 and params.p1 = '3'`` until the newest matching run is on screen
  and the unfiltered newest one is gone.

Each is the median of ``--samples``; both servers run on 127.0.0.1 on this machine, one
after the other. Prints a table and, with ``--markdown PATH``, writes it as Markdown with
the date and the load average. ``--podium-only`` times podium alone against the targets
(no ratio), when the MLflow venv is not at hand.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _anchor_venv import default_venv_dir
from tests.ui.measure_runs_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXPERIMENT,
    PROJECT,
    fill,
    metric_value,
    param_value,
)
from tracking_mlflow_client import _clean_env, _free_port, _server

console = Console()
FILTER = "metrics.m0 > 0.5 and params.p1 = '3'"
TARGETS = {"first render": 1000.0, "filter round trip": 300.0}
SPEEDUP = 5.0

MLFLOW_FILL = r"""
import sys, time
from mlflow.entities import ExperimentTag, Metric, Param, RunStatus, RunTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

db, artifacts, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = SqlAlchemyStore(f"sqlite:///{db}", artifacts)
found = store.get_experiment_by_name("bench")
experiment = found.experiment_id if found else store.create_experiment("bench")
# A classic (not GenAI) experiment, so the UI opens on its runs table.
kind = ExperimentTag("mlflow.experimentKind", "custom_model_development")
store.set_experiment_tag(experiment, kind)
have = len(store.search_runs([experiment], "", 1, max_results=50000))
base = 1_700_000_000_000
for i in range(have, runs):
    name = f"r{i:05d}"
    at = base + i * 1000
    run = store.create_run(experiment, "bench", at, [RunTag(MLFLOW_RUN_NAME, name)], name)
    rid = run.info.run_id
    store.log_batch(
        rid,
        metrics=[Metric(f"m{k}", ((i * 7919 + k * 104729) % 1000) / 1000, at, 0)
                 for k in range(5)],
        params=[Param(f"p{k}", str((i * (k + 3)) % 17)) for k in range(5)],
        tags=[],
    )
    store.update_run_info(rid, RunStatus.FINISHED, at + 500, name)
    if i % 500 == 0:
        print(f"PROGRESS {i}", flush=True)
print(f"EXPERIMENT {experiment}", flush=True)
"""


def expected_names(runs: int) -> tuple[str, str]:
    """The newest run's name, and the newest one the filter keeps."""
    matching = [i for i in range(runs) if metric_value(i, 0) > 0.5 and param_value(i, 1) == "3"]
    return f"r{runs - 1:05d}", f"r{max(matching):05d}"


def fill_mlflow(python: Path, work: Path, runs: int) -> str:
    """Fill MLflow's SQLite store through its own store API (fast; no server yet)."""
    script = work / "mlflow_fill.py"
    script.write_text(MLFLOW_FILL)
    cmd = [str(python), str(script), str(work / "mlflow.db"), str(work / "mlflow-artifacts"),
           str(runs)]  # fmt: skip
    experiment = ""
    with console.status("logging runs into MLflow's store") as status:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_clean_env())
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("PROGRESS"):
                status.update(f"logging runs into MLflow's store: {line.split()[1]} of {runs}")
            elif line.startswith("EXPERIMENT"):
                experiment = line.split()[1]
        if proc.wait() != 0 or not experiment:
            sys.exit("filling MLflow's store failed")
    return experiment


def timed(samples: int, one: Callable[[], float]) -> float:
    return statistics.median(one() for _ in range(samples))


def measure(
    open_runs: Callable[[Page], None],
    filter_box: Callable[[Page], Any],
    newest: str,
    newest_matching: str,
    samples: int,
) -> dict[str, float]:
    """First render and filter round trip in Chromium, each the median of ``samples``."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        warm = context.new_page()
        open_runs(warm)  # log in, and let the browser cache static files, as a user has
        warm.get_by_text(newest, exact=True).first.wait_for(timeout=120_000)

        def first_render() -> float:
            page = context.new_page()
            started = time.perf_counter()
            open_runs(page)
            page.get_by_text(newest, exact=True).first.wait_for(timeout=120_000)
            took = (time.perf_counter() - started) * 1000
            page.close()
            return took

        def filter_round_trip() -> float:
            # A fresh context each time: MLflow keeps the last filter in local storage.
            fresh = browser.new_context(viewport={"width": 1400, "height": 900})
            page = fresh.new_page()
            open_runs(page)
            page.get_by_text(newest, exact=True).first.wait_for(timeout=120_000)
            box = filter_box(page)
            box.fill(FILTER)
            started = time.perf_counter()
            box.press("Enter")
            page.get_by_text(newest_matching, exact=True).first.wait_for(timeout=120_000)
            page.get_by_text(newest, exact=True).first.wait_for(state="detached", timeout=120_000)
            took = (time.perf_counter() - started) * 1000
            fresh.close()
            return took

        result = {
            "first render": timed(samples, first_render),
            "filter round trip": timed(samples, filter_round_trip),
        }
        browser.close()
    return result


def bench_podium(work: Path, runs: int, samples: int, names: tuple[str, str]) -> dict[str, float]:
    from tests.conftest import loopback_server

    from podium.api.app import create_app
    from podium.config import Settings
    from podium.platform import Installation
    from podium.ui.login_links import issue_login_link, login_url

    installation = Installation(Settings(home=work / "podium"))
    try:
        fill(installation, runs)
        # Plain HTTP, as the MLflow server it is compared with.
        with loopback_server(create_app(installation), tls=False) as url:
            logged_in: list[Any] = []  # the contexts themselves: an id could be reused

            def open_runs(page: Page) -> None:
                if not any(c is page.context for c in logged_in):
                    home = installation.settings.home  # a login link works once
                    page.goto(login_url(url, issue_login_link(home, project=PROJECT)))
                    logged_in.append(page.context)
                page.goto(f"{url}/ui/runs?experiment={EXPERIMENT}", wait_until="commit")

            def filter_box(page: Page) -> Any:
                return page.locator("input[name=filter]:not([type=hidden])")

            return measure(open_runs, filter_box, *names, samples)
    finally:
        installation.close()


def bench_mlflow(
    venv: Path, work: Path, runs: int, samples: int, names: tuple[str, str]
) -> tuple[dict[str, float], str]:
    python = venv / "bin" / "python"
    experiment = fill_mlflow(python, work, runs)
    version = subprocess.run(
        [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True, text=True, check=True, env=_clean_env(),
    ).stdout.strip()  # fmt: skip
    port = _free_port()
    cmd = [
        str(venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
        "--artifacts-destination", str(work / "mlflow-artifacts"),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with _server(cmd, _clean_env(), f"{url}/health", "mlflow server", work / "mlflow.log"):

        def open_runs(page: Page) -> None:
            page.goto(f"{url}/#/experiments/{experiment}/runs", wait_until="commit")

        def filter_box(page: Page) -> Any:
            return page.locator("[data-testid=search-box]").first

        return measure(open_runs, filter_box, *names, samples), version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "podium-bench-ui"
    )
    parser.add_argument("--venv", type=Path, default=default_venv_dir("mlflow-server"))
    parser.add_argument("--markdown", type=Path, help="also write the results here")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--podium-only",
        action="store_true",
        help="time podium alone against the targets (no MLflow venv needed): no ratio",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    names = expected_names(args.runs)
    load_before = Path("/proc/loadavg").read_text().strip()
    podium = bench_podium(args.work, args.runs, args.samples, names)
    console.print(f"podium: {podium}")
    if args.podium_only:
        load_after = Path("/proc/loadavg").read_text().strip()
        for case, target in TARGETS.items():
            verdict = "met" if podium[case] < target else "NOT met"
            console.print(f"{case}: {podium[case]:.0f} ms (target < {target:.0f} ms: {verdict})")
        console.print(f"/proc/loadavg before: {load_before}; after: {load_after}")
        return
    mlflow, version = bench_mlflow(args.venv, args.work, args.runs, args.samples, names)
    load_after = Path("/proc/loadavg").read_text().strip()

    table = Table(title=f"runs page, {args.runs:,} runs (median of {args.samples}, Chromium)")
    for column in ("", "podium", f"MLflow {version}", "speedup", "target", "met"):
        table.add_column(column, justify="right" if column else "left")
    lines = [
        "| | podium | MLflow " + version + " | speedup | target | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    for case, target in TARGETS.items():
        ours, theirs = podium[case], mlflow[case]
        speedup = theirs / ours if ours else float("inf")
        met = ours < target and speedup >= SPEEDUP
        cells = [case, f"{ours:.0f} ms", f"{theirs:.0f} ms", f"{speedup:.1f}x",
                 f"< {target:.0f} ms, >= {SPEEDUP:.0f}x", "yes" if met else "NO"]  # fmt: skip
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    console.print(f"{when}; /proc/loadavg before: {load_before}; after: {load_after}")
    if args.markdown:
        args.markdown.write_text(
            f"# Runs page benchmark ({when})\n\n" + "\n".join(lines)
            + f"\n\n`cat /proc/loadavg` before: `{load_before}`, after: `{load_after}`\n"
        )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"podium": podium, "mlflow": mlflow, "mlflow_version":
                                         version, "load": [load_before, load_after]}))  # fmt: skip


if __name__ == "__main__":
    main()
