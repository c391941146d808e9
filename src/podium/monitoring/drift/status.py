"""The status of a drift decision, the one source every renderer shows it from.

The CLI tables, the JSON results (``status`` of a column and of the dataset), the HTML
report and its charts all say ``drift``, ``ok`` or ``n/a``: a test that could not run
(no score: too few values on one side) is ``n/a``, never ``ok``.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DriftStatus", "drift_status"]

DriftStatus = Literal["drift", "ok", "n/a"]
"""What a drift decision is shown as, everywhere."""


def drift_status(score: float | None, drifted: bool) -> DriftStatus:
    """``n/a`` when the test could not run (no score: neither drift nor ok), else ``drift``
    or ``ok``."""
    if score is None:
        return "n/a"
    return "drift" if drifted else "ok"
