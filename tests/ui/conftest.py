"""UI fixtures: the app in process over httpx, logging in as a browser does, and a
small project to look at (runs, a model with a pending move to production, a deployment).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.api.app import create_app
from podium.platform import Installation, Platform

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the UI reads through the services, whose own tests cover PostgreSQL."""
    return f"sqlite:///{tmp_path / 'podium.db'}"


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def log_in(http: httpx.AsyncClient, key: str) -> None:
    """Log ``http`` in through the login form, as a browser does."""
    form = await http.get("/ui/login")
    done = await http.post("/ui/login", data={"key": key, "csrf": csrf_of(form.text)})
    assert done.status_code == 303, done.text


@dataclass
class Shop:
    """A project with something on every page: its name, runs and a pending request."""

    project: str
    platform: Platform
    run_ids: list[str]
    request_id: str

    def key(self, role: Role) -> str:
        installation = self.platform_installation
        _, secret = installation.keys.create(self.project, role, name=f"ui-{role.value}")
        return secret

    platform_installation: Installation


def build_shop(installation: Installation, project: str, *, runs: int = 6) -> Shop:
    """Runs in experiment 'churn', model 'churn-model' v1 in production via the
    registry's default policy pending approval, and a deployment of it."""
    platform = installation.platform(project, user="local:builder", role=Role.ADMIN)
    ids = []
    for i in range(runs):
        params = {"C": str(10 ** (i % 3 - 1)), "model": "rf" if i % 2 else "logreg"}
        with platform.tracking.start_run(experiment="churn", name=f"run-{i}", params=params) as run:
            for step in range(3):
                run.log_metrics({"auc": 0.6 + i * 0.05 + step * 0.01, "loss": 1.0 - step * 0.2},
                                step=step)  # fmt: skip
            ids.append(run.id)
    frame = pd.DataFrame({"tenure": [1, 2, 30, 40, 3, 50], "charges": [90.0, 80, 20, 25, 95, 18]})
    platform.data.write("raw.customers", frame)
    model = LogisticRegression().fit(frame, [1, 1, 0, 0, 1, 0])
    version = platform.registry.register("churn-model", model, run_id=ids[-1],
                                         input_example=frame.head(2))  # fmt: skip
    request = platform.registry.request_transition("churn-model", version.version, "production")
    # A generous timeout: on a loaded CI machine a model call can take seconds.
    platform.deployments.create("churn-model", model="churn-model/1", timeout_ms=30_000)
    return Shop(project, platform, ids, request.id, installation)


def send_drifted_traffic(shop: Shop, *, rows: int = 60, timeout: float = 30.0) -> dict[str, int]:
    """Give 'churn-model' a reference, then predict ``rows`` shifted rows and wait until
    the inference log has them, so its drift page has something to show. Returns a true
    label for each request id (1 for tenure under 30), to send as feedback."""
    rng = np.random.default_rng(7)
    reference = pd.DataFrame(
        {"tenure": rng.integers(1, 60, rows), "charges": rng.normal(50.0, 10.0, rows)}
    )
    monitoring = shop.platform.monitoring
    monitoring.set_reference("churn-model", 1, reference)
    live = reference.assign(charges=reference["charges"] + 40.0)
    answer = shop.platform.predict("churn-model", instances=live.to_dict("records"))
    deadline = time.monotonic() + timeout
    while True:
        seen = monitoring.performance("churn-model", window=timedelta(hours=1)).overall
        if seen is not None and seen.requests >= rows:
            break
        assert time.monotonic() < deadline, "the inference log did not get the predictions"
        time.sleep(0.1)
    tenure = live["tenure"].tolist()
    return {f"{answer['request_id']}/{i}": int(t < 30) for i, t in enumerate(tenure)}


@pytest.fixture
def shop(installation: Installation) -> Shop:
    return build_shop(installation, f"ui-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def http(installation: Installation) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app (API and UI) in process; an escaping exception fails the test."""
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as client:
        yield client
