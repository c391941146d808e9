"""How the quickstart shows what it does: the front door that runs it passes its own.

The steps print progress lines and Rich progress bars on :attr:`Show.console` and build
their tables with :meth:`Show.table`; the results a user reads (the ranking of runs,
drift, accuracy, alerts) go to the renderers of the front door, so ``podium quickstart``
shows them exactly as ``podium runs ls`` and ``podium monitor ...`` do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.table import Table

from podium.monitoring.alerts.state import Alert
from podium.monitoring.protocol import AccuracyResult, DriftResult
from podium.tracking.types import Run

__all__ = ["Show"]


class Show(Protocol):
    """Where the quickstart's steps print; ``podium quickstart`` passes its terminal."""

    @property
    def console(self) -> Console:
        """The console for progress lines and bars."""
        ...

    def table(self, title: str | None, *columns: str) -> Table:
        """An empty table with ``columns``, in the house style, to add rows to and print."""
        ...

    def ranking(self, runs: Sequence[Run]) -> None:
        """The runs ranked by held-out AUC, best first."""
        ...

    def drift(self, result: DriftResult) -> None:
        """The drift table of a deployment and its verdict."""
        ...

    def accuracy(self, result: AccuracyResult) -> None:
        """The accuracy of a deployment, overall and per version."""
        ...

    def alerts(self, alerts: Sequence[Alert]) -> None:
        """The alerts that fired."""
        ...
