"""How fast the runs page renders with 10,000 runs (a script, not a test).

    python -m tests.ui.measure_runs_page [--runs 10000] [--home DIR] [--browser]

Logs ``--runs`` runs of 5 params and 5 metrics each into a fresh installation under
``--home`` (reused when it has them already), then times, in process over httpx, the
runs page's first render, a filter round trip, a sort by a metric and the next page,
each the median of 5; with ``--browser`` also the first render and a filter round trip
as Chromium loads them from a real server on 127.0.0.1. Issue 16's benchmark against
MLflow (item 7) will build on this.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
from playwright.sync_api import sync_playwright
from rich.progress import Progress
from tests.conftest import loopback_server

from podium.access.roles import Role
from podium.api.app import create_app
from podium.config import Settings
from podium.platform import Installation
from podium.tracking.types import MetricPoint
from podium.ui.login_links import issue_login_link, login_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PROJECT = "bench"
EXPERIMENT = "bench"


def param_value(run: int, k: int) -> str:
    """Param ``p{k}`` of run number ``run`` (benchmarks/ui.py gives MLflow the same)."""
    return str((run * (k + 3)) % 17)


def metric_value(run: int, k: int) -> float:
    """Metric ``m{k}`` of run number ``run``."""
    return ((run * 7919 + k * 104729) % 1000) / 1000


def fill(installation: Installation, runs: int) -> None:
    tracking = installation.platform(PROJECT, user="local:bench").tracking
    known = {e.name for e in tracking.list_experiments()}
    have = (
        len(tracking.search_runs(EXPERIMENT, max_results=10_000).runs) if EXPERIMENT in known else 0
    )
    with Progress() as progress:
        task = progress.add_task("logging runs", total=runs, completed=have)
        for i in range(have, runs):
            # Two transactions a run (begin with params, complete with metrics), as tuning
            # trials log, rather than four.
            params = {f"p{k}": param_value(i, k) for k in range(5)}
            run = tracking.begin_run(EXPERIMENT, name=f"r{i:05d}", params=params)
            now = int(time.time() * 1000)
            points = [MetricPoint(key=f"m{k}", value=metric_value(i, k), step=0, timestamp=now)
                      for k in range(5)]  # fmt: skip
            tracking.complete_run(run.id, status="FINISHED", points=points)
            progress.advance(task)


async def measure(installation: Installation) -> dict[str, float]:
    installation.projects.ensure(PROJECT)
    _, key = installation.keys.create(PROJECT, Role.READER, name="bench")
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        form = await http.get("/ui/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        await http.post("/ui/login", data={"key": key, "csrf": csrf})
        first = await http.get("/ui/runs", params={"experiment": EXPERIMENT})
        token = re.search(r"page=([^\"&]+)\" rel=\"next\"", first.text)
        cases = {
            "first render (50 runs of 10,000)": {"experiment": EXPERIMENT},
            "filter round trip": {
                "experiment": EXPERIMENT,
                "filter": "metrics.m0 > 0.5 and params.p1 = '3'",
            },
            "sort by a metric": {"experiment": EXPERIMENT, "order": "metrics.m2 DESC"},
            "next page": {
                "experiment": EXPERIMENT,
                "page": unquote(token.group(1)) if token else "",
            },
            "500 runs a page": {"experiment": EXPERIMENT, "size": "500"},
        }
        timings = {}
        for name, params in cases.items():
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                response = await http.get("/ui/runs", params=params)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, f"{name}: {response.status_code}"
            timings[name] = statistics.median(samples)
    return timings


def measure_in_browser(installation: Installation) -> dict[str, float]:
    """The same pages loaded by Chromium from a real server (navigation to ``load``)."""
    timings: dict[str, float] = {}
    with loopback_server(create_app(installation), tls=False) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(login_url(url, issue_login_link(installation.settings.home, project=PROJECT)))
        cases = {
            "browser: first render": f"{url}/ui/runs?experiment={EXPERIMENT}",
            "browser: filter round trip": f"{url}/ui/runs?experiment={EXPERIMENT}"
            "&filter=metrics.m0+%3E+0.5+and+params.p1+%3D+%273%27",
        }
        for name, target in cases.items():
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                page.goto(target, wait_until="load")
                samples.append((time.perf_counter() - started) * 1000)
            timings[name] = statistics.median(samples)
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "podium-ui-10k")
    parser.add_argument("--browser", action="store_true", help="also time it in Chromium")
    args = parser.parse_args()
    installation = Installation(Settings(home=args.home))
    try:
        fill(installation, args.runs)
        timings = asyncio.run(measure(installation))
        if args.browser:
            timings.update(measure_in_browser(installation))
        for name, millis in timings.items():
            print(f"{name:40s} {millis:8.1f} ms")
    finally:
        installation.close()


if __name__ == "__main__":
    main()
