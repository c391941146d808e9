"""How loaded a serving replica is: requests in flight, queued, and against capacity.

These are the autoscaling signals of ``GET /metrics`` (an HPA's target, see
``docs/serving.md``). :class:`InFlight` counts the requests a runtime is answering per
deployment (two dictionary updates a request and no lock: a server touches them from its
one event loop; a gauge needs no more than that). :func:`capacity` is how many requests one replica
process can work on at once: a full batch when dynamic batching is on (the batcher runs
one batch at a time, so more waiting means queueing), else the prediction threads.
Saturation is in-flight requests over capacity: above 1 requests queue.
"""

from __future__ import annotations

from podium.serving.control.spec import DeploymentSpec

__all__ = ["InFlight", "capacity"]


class InFlight:
    """Requests being answered now, per deployment."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def enter(self, deployment: str) -> None:
        """A request for ``deployment`` started."""
        self._counts[deployment] = self._counts.get(deployment, 0) + 1

    def leave(self, deployment: str) -> None:
        """A request for ``deployment`` ended (answered or failed)."""
        self._counts[deployment] = max(0, self._counts.get(deployment, 0) - 1)

    def count(self, deployment: str) -> int:
        """Requests of ``deployment`` in flight now."""
        return self._counts.get(deployment, 0)

    def deployments(self) -> list[str]:
        """Every deployment a request has been counted for."""
        return list(self._counts)


def capacity(spec: DeploymentSpec, *, threads: int) -> int:
    """Requests one process answers at once without queueing: a batch, or ``threads``."""
    if spec.batching.enabled:
        return spec.batching.max_batch_size
    return max(1, threads)
