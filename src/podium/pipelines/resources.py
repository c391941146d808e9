"""What a step asks for (cpus, memory, gpus), what this machine has, and a pool to share it.

Memory sizes follow the Kubernetes convention: ``KB``/``MB``/``GB``/``TB`` are powers of
1000, ``KiB``/``MiB``/``GiB``/``TiB`` powers of 1024, a bare number is bytes.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass

from podium.errors import InvalidInputError

__all__ = ["Machine", "ResourcePool", "Resources", "format_memory", "parse_memory"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


@dataclass(frozen=True)
class Resources:
    """What one step reserves while it runs: cpus, memory in bytes, gpus, and custom
    resources by name (``(("accelerator", 1.0),)``, scheduled by Ray)."""

    cpus: float = 1.0
    memory: int = 0
    gpus: float = 0.0
    custom: tuple[tuple[str, float], ...] = ()

    def __str__(self) -> str:
        shown = f"cpus={self.cpus:g}"
        if self.memory:
            shown += f", memory={format_memory(self.memory)}"
        if self.gpus:
            shown += f", gpus={self.gpus:g}"
        for name, amount in self.custom:
            shown += f", {name}={amount:g}"
        return shown


def parse_memory(value: int | str | None, *, step: str) -> int:
    """Bytes from ``"1GB"``, ``"512MiB"``, ``1_000_000`` or None (0: nothing reserved)."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInputError(
            f"the 'memory' parameter of step {step!r} must be a size such as '512MB', "
            f"'2GiB' or a number of bytes; got {value!r} instead",
            field="memory",
            remedy="pass e.g. memory='1GB'",
        )
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])


def format_memory(size: int) -> str:
    """``size`` bytes for people: ``1.5GB``."""
    for unit in ("TB", "GB", "MB", "KB"):
        if size >= _UNITS[unit]:
            return f"{size / _UNITS[unit]:.4g}{unit}"
    return f"{size}B"


@dataclass(frozen=True)
class Machine:
    """What this machine offers steps: its cores and physical memory (0 = unknown)."""

    cpus: float
    memory: int
    gpus: float = 0.0

    @classmethod
    def this(cls) -> Machine:
        """This machine, as the operating system reports it."""
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # not POSIX: memory is not limited
            memory = 0
        return cls(cpus=float(os.cpu_count() or 1), memory=max(memory, 0))

    def refuse_larger(self, name: str, wants: Resources, *, runner: str) -> None:
        """InvalidInputError when step ``name`` asks for more than the machine has."""
        if wants.cpus > self.cpus:
            self._refuse(name, f"cpus={wants.cpus:g}", f"{self.cpus:g} cores", runner)
        if self.memory and wants.memory > self.memory:
            shown = f"{format_memory(self.memory)} of memory"
            self._refuse(name, f"memory={format_memory(wants.memory)}", shown, runner)
        if wants.gpus > self.gpus:
            self._refuse(name, f"gpus={wants.gpus:g}", f"{self.gpus:g} GPUs", runner)
        for resource, amount in wants.custom:  # custom resources exist on Ray clusters only
            self._refuse(name, f"{resource}={amount:g}", f"no {resource!r} resource", runner)

    @staticmethod
    def _refuse(name: str, asked: str, has: str, runner: str) -> None:
        raise InvalidInputError(
            f"step {name!r} asks for {asked}, but the {runner!r} runner's machine has {has}, "
            "so it could never run",
            field="resources",
            remedy="ask for less in @podium.step(...), or choose a runner with more "
            "(runner='ray' schedules GPUs on a cluster)",
        )


class ResourcePool:
    """Cores and memory shared by the steps of one run: a step waits until it fits."""

    def __init__(self, machine: Machine) -> None:
        self._free_cpus = machine.cpus
        self._free_memory = machine.memory
        self._limit_memory = machine.memory > 0
        self._changed = threading.Condition()

    def acquire(self, wants: Resources) -> None:
        """Block until ``wants`` fits, then reserve it."""
        with self._changed:
            self._changed.wait_for(lambda: self._fits(wants))
            self._free_cpus -= wants.cpus
            self._free_memory -= wants.memory

    def release(self, wants: Resources) -> None:
        """Give back what :meth:`acquire` reserved."""
        with self._changed:
            self._free_cpus += wants.cpus
            self._free_memory += wants.memory
            self._changed.notify_all()

    def _fits(self, wants: Resources) -> bool:
        memory_ok = not self._limit_memory or wants.memory <= self._free_memory
        return wants.cpus <= self._free_cpus + 1e-9 and memory_ok
