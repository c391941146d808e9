"""Warming up before taking traffic: every deployment loaded and tried once.

A model loads lazily on the first request that names it, and that request pays for the
load (about a second for a small scikit-learn model, with its imports). A server that
takes traffic therefore warms up first: :class:`Warmup` runs the warm-up work in a
background thread while the server already answers, and the server's readiness probes
(``/readyz``, ``/v2/health/ready``) say "not ready" (503) until it is done, so a load
balancer sends no request before the models are loaded and have predicted once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from podium.access.tables import ProjectRow
from podium.serving.control.tables import DeploymentRow
from podium.store.database import Database

__all__ = ["Warmup", "deployed_projects"]

_log = logging.getLogger(__name__)


class Warmup:
    """Runs ``work`` once in a background thread; :attr:`ready` once it has returned.

    Warming is best effort: when ``work`` raises, the error is logged and the server is
    ready anyway (its deployments then load on first use, as without a warm-up).
    """

    def __init__(self, work: Callable[[], object]) -> None:
        self._work = work
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="podium-warmup", daemon=True)

    @property
    def ready(self) -> bool:
        """Whether the warm-up has finished (or failed)."""
        return self._done.is_set()

    def start(self) -> None:
        """Start warming up in the background."""
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until :attr:`ready` (at most ``timeout`` seconds); whether it is."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        try:
            self._work()
        except Exception:  # logged; serving on demand is still better than never ready
            _log.exception("warming up the deployments failed; they load on first use")
        finally:
            self._done.set()


def deployed_projects(db: Database) -> list[str]:
    """Names of the projects that have deployments, sorted: the ones a server warms."""
    query = (
        select(ProjectRow.name)
        .where(ProjectRow.id.in_(select(DeploymentRow.project_id).distinct()))
        .order_by(ProjectRow.name)
    )
    with db.read() as session:
        return list(session.scalars(query))
