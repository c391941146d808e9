"""Several serving processes on one port: ``podium serve DEPLOYMENT --workers N``.

A supervisor (the process ``podium serve`` became) starts ``N`` worker processes, each a
full serving replica (its own runtime, model, event-bus subscription and inference log),
and each listening on the same port with ``SO_REUSEPORT``: the kernel spreads new
connections over the workers' listening sockets, so a busy worker is not handed every
connection of a burst (one shared socket would let the first worker to wake accept them
all). A worker binds its socket only once its model is loaded and warm, as a single
replica does, and its socket closes with it: a worker that dies takes no new connections
while it restarts.

The supervisor holds the port too (bound, never listening: it reserves the address
before any worker starts, and takes no connections), restarts a worker that dies, and on
SIGTERM or SIGINT stops every worker gracefully (SIGTERM: they finish the requests in
flight and park their inference log), killing those still running after ``grace_seconds``.
Workers that keep dying at start (a broken deployment) end the supervisor with an error
rather than a restart loop. A worker whose supervisor disappears stops too
(:func:`exit_with_supervisor`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from podium.errors import InvalidInputError

__all__ = [
    "WORKER_ENV",
    "WorkerPool",
    "exit_with_supervisor",
    "reserve_port",
    "reuse_port_socket",
]

WORKER_ENV = "PODIUM_SERVE_WORKER"
"""Set in a worker's environment to its index (0 .. N-1)."""

_FAST_EXIT_SECONDS = 15.0
_POLL_SECONDS = 0.2


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind ``host:port`` with ``SO_REUSEPORT`` without listening: the workers' port,
    held by the supervisor so nothing else takes it (raises ``OSError`` when in use)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A worker's socket on ``host:port``, sharing the port with the other workers (the
    server starts listening on it)."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def exit_with_supervisor(supervisor: int, *, interval: float = 1.0) -> None:
    """Send this process SIGTERM once its parent is no longer ``supervisor`` (it died and
    the process was re-parented), so no worker outlives a killed supervisor."""

    def watch() -> None:
        while os.getppid() == supervisor:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="podium-supervisor-watch", daemon=True).start()


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


class WorkerPool:
    """``workers`` processes running ``command(index)``, kept running until :meth:`stop`.

    ``command`` gives the argument vector of worker ``index``; each worker's environment
    is this process's plus :data:`WORKER_ENV`.
    """

    def __init__(
        self,
        command: Callable[[int], Sequence[str]],
        *,
        workers: int,
        grace_seconds: float = 30.0,
        max_fast_exits: int | None = None,
    ) -> None:
        if workers < 1:
            raise InvalidInputError(
                f"the 'workers' parameter of WorkerPool must be at least 1; got {workers!r} "
                "instead",
                field="workers",
                remedy="pass --workers 1 or more",
            )
        self._command = command
        self._size = workers
        self._grace = grace_seconds
        self._max_fast_exits = max_fast_exits if max_fast_exits is not None else 2 * workers
        self._workers: dict[int, _Worker] = {}
        self._stopping = threading.Event()
        self._fast_exits = 0
        self.restarts = 0
        """Workers restarted after they died."""

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers running now, by index."""
        return [self._workers[i].process.pid for i in sorted(self._workers)]

    def start(self) -> None:
        """Start every worker."""
        for index in range(self._size):
            self._spawn(index)

    def request_stop(self) -> None:
        """Ask :meth:`supervise` to return (safe from a signal handler)."""
        self._stopping.set()

    def supervise(self) -> bool:
        """Restart workers that die until :meth:`request_stop`; ``False`` when workers kept
        dying at start (then they are all stopped)."""
        while not self._stopping.wait(_POLL_SECONDS):
            for index, worker in list(self._workers.items()):
                code = worker.process.poll()
                if code is None:
                    continue
                if time.monotonic() - worker.started < _FAST_EXIT_SECONDS:
                    self._fast_exits += 1
                else:
                    self._fast_exits = 0
                if self._fast_exits > self._max_fast_exits:
                    return False
                print(f"worker {index} (pid {worker.process.pid}) exited with {code}; restarting",
                      file=sys.stderr, flush=True)  # fmt: skip
                self.restarts += 1
                self._spawn(index)
        return True

    def stop(self) -> None:
        """SIGTERM every worker, wait up to the grace period, then SIGKILL the rest."""
        self._stopping.set()
        for worker in self._workers.values():
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._grace
        for worker in self._workers.values():
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()

    def run(self) -> bool:
        """Start, supervise until SIGTERM or SIGINT, stop; ``False`` when workers kept
        dying at start. Call from the main thread (it handles the two signals)."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.request_stop()

        previous = {
            signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            healthy = self.supervise()
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return healthy

    def _spawn(self, index: int) -> None:
        env = {**os.environ, WORKER_ENV: str(index)}
        # Its own process group: a Ctrl-C in the terminal reaches the supervisor only,
        # which stops the workers in order.
        process = subprocess.Popen(list(self._command(index)), env=env, start_new_session=True)
        self._workers[index] = _Worker(index, process)
