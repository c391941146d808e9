"""Fixtures for the events tests: a project, its webhooks, and a real loopback receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from podium.access.projects import Project
from podium.events import EventDispatcher, WebhookService
from podium.platform import Installation


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """A real HTTP server on loopback that records POSTs and answers scripted statuses."""

    port: int
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events_of(self, project: str) -> list[Received]:
        """What arrived for ``project`` (a shared test DB may hold other tests' events)."""
        return [r for r in self.received if r.event["project"] == project]


def drain(dispatcher: EventDispatcher, until: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Run ``dispatch_once`` until ``until()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold before the timeout")
        if not dispatcher.dispatch_once():
            time.sleep(0.01)


@pytest.fixture
def project(installation: Installation, project_name: str) -> Project:
    return installation.projects.ensure(project_name)


@pytest.fixture
def webhooks(installation: Installation, project: Project) -> WebhookService:
    # The receivers are plain-HTTP servers on loopback: allowed here, refused by default.
    return WebhookService(installation.db, project, allow_http=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def make_dispatcher(installation: Installation) -> Iterator[Callable[..., EventDispatcher]]:
    """Build dispatchers with fast test defaults; all are stopped at the end."""
    made: list[EventDispatcher] = []

    def make(**options: Any) -> EventDispatcher:
        options.setdefault("timeout", 2.0)
        options.setdefault("base_delay", 0.001)
        dispatcher = EventDispatcher(installation.db, keyring=installation.keyring, **options)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.stop()
