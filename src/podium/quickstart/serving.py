"""The quickstart's serving step: deploy the production model and send it a burst.

:func:`serve_burst` deploys ``MODEL@production`` with a fallback chain (ending in a
default response), sends ~200 predictions through the serving runtime (concurrently, as
a server would see them), halfway puts a canary of another version (the ONNX one) on a
quarter of the traffic, then prints latency percentiles and who served.

The deployment follows the production stage, so the canary is not promoted on the
quickstart's say-so: promoting it requests its transition to production, and the canary
keeps its quarter of the traffic until an approver (another identity than the
requester) approves, when the deployment follows the stage to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from podium.errors import ConflictError, NotFoundError
from podium.platform import Installation, Platform
from podium.quickstart.show import Show

__all__ = ["serve_burst"]

_CONCURRENCY = 16


def serve_burst(
    show: Show,
    installation: Installation,
    platform: Platform,
    *,
    model: str,
    rows: Sequence[Mapping[str, Any]] | None = None,
    canary: int | str | None = None,
    requests: int = 200,
    features: Sequence[str] = (),
    entity_keys: Sequence[str] = (),
    aliases: Sequence[str] = (),
) -> dict[str, Any]:
    """Deploy ``model`` (its production version) and send ``requests`` predictions.

    ``rows`` are feature rows to sample from (default: random values fitting the
    signature); ``canary`` the version to canary halfway (default: the newest other one);
    ``features``, ``entity_keys`` and ``aliases`` go to the deployment as they are.
    Returns the latencies (ms), ``served_by`` and version counts, and the id of the
    transition request the canary's promotion waits for (``None`` when promoted).
    """
    out = show.console
    deployments = platform.deployments
    with contextlib.suppress(NotFoundError):
        deployments.delete(model)  # a second quickstart starts afresh
    deployed = deployments.create(
        model=f"{model}@production",
        fallback={"default": {"prediction": 0, "probability": None}},
        timeout_ms=500,
        cache={"enabled": True, "ttl_seconds": 60},
        features=features,
        entity_keys=entity_keys,
        aliases=aliases,
    )
    stable = deployed.traffic.stable
    if canary is None:
        others = [v.version for v in platform.registry.list_versions(model) if v.version != stable]
        canary = max(others) if others else None
    named = f" (alias {', '.join(map(repr, aliases))})" if aliases else ""
    out.print(
        f"[bold]5.[/] deployed {model}/{stable} as {deployed.name!r}{named} "
        "(fallback chain: primary → default response)"
    )
    runtime = installation.runtime(platform.project)
    samples = list(rows) if rows else _random_rows(platform, model, count=50)
    rng = random.Random(7)
    bodies = [
        {"model_id": deployed.name, "features": dict(rng.choice(samples))} for _ in range(requests)
    ]
    half = requests // 2
    answers = runtime.run(_burst(runtime.predict, bodies[:half]))
    waiting: str | None = None
    if canary is not None:
        deployments.canary(deployed.name, canary, weight=0.25, auto=False)
        runtime.reload(deployed.name).result()
        answers += runtime.run(_burst(runtime.predict, bodies[half:]))
        out.print(f"   canary of version {canary} at 25% for {requests - half} requests")
        try:
            deployments.promote(deployed.name, reason="quickstart: canary answered every request")
            out.print(f"   version {canary} promoted")
        except ConflictError as refused:
            waiting = refused.details.get("transition_request_id")
            if waiting is None:
                raise
            out.print(
                f"   promoting it waits for approval: {deployed.name!r} follows "
                f"{model}@production, so the transition of version {canary} to production "
                "is requested; the canary keeps 25% until another identity approves it "
                "(e.g. with the admin key `podium up` prints), and the deployment then "
                "follows production to it:",
                markup=False,
            )
            out.print(f"     podium models approve {waiting}", soft_wrap=True, markup=False)
    else:
        answers += runtime.run(_burst(runtime.predict, bodies[half:]))
    latencies = [float(a["latency_ms"]) for a in answers]
    served = Counter(str(a["served_by"]) for a in answers)
    versions = Counter(str(a["model_version"]) for a in answers)
    cached = sum(1 for a in answers if a["cached"])
    summary = show.table(
        f"{len(answers)} predictions in process ({_CONCURRENCY} concurrent)",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "served by",
        "versions",
        "cached",
    )
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    summary.add_row(
        f"{p50:.2f}",
        f"{p95:.2f}",
        f"{p99:.2f}",
        ", ".join(f"{k} {v}" for k, v in served.most_common()),
        ", ".join(f"v{k} {v}" for k, v in sorted(versions.items())),
        str(cached),
    )
    out.print(summary)
    return {
        "latencies_ms": latencies,
        "served_by": dict(served),
        "versions": dict(versions),
        "waiting_for": waiting,
    }


async def _burst(predict: Any, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one(body: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            answer: dict[str, Any] = await predict(body)
            return answer

    return list(await asyncio.gather(*(one(body) for body in bodies)))


def _random_rows(platform: Platform, model: str, *, count: int) -> list[dict[str, Any]]:
    version = platform.registry.get_version(f"{model}@production")
    rng = random.Random(3)
    columns = (version.signature or {}).get("inputs", [])
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        row: dict[str, Any] = {}
        for column in columns:
            kind = column.get("type")
            if kind == "int64":
                row[column["name"]] = rng.randint(0, 60)
            elif kind == "bool":
                row[column["name"]] = rng.random() < 0.5
            elif kind == "string":
                row[column["name"]] = rng.choice(["a", "b"])
            else:
                row[column["name"]] = round(rng.uniform(0, 100), 2)
        rows.append(row)
    return rows
