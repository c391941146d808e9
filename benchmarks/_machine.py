"""What every benchmark reports beside its figures: the machine, the date, the versions."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
from pathlib import Path
from typing import Any

import podium


def machine_info(load_before: float, **versions: str) -> dict[str, Any]:
    """Where and when the figures were taken; ``versions`` names the anchors' versions."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    return {
        "date": dt.date.today().isoformat(),
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_1m_before": round(load_before, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
        **versions,
        "podium": podium.__version__,
    }


def p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
