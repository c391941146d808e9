"""Running the server: first-start admin key, credentials file, uvicorn."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError as SQLAlchemyIntegrityError

from podium.access.roles import Role
from podium.access.tls import ServerTls
from podium.api.app import create_app
from podium.api.security_headers import StrictTransport
from podium.api.stopping import GRACEFUL_SHUTDOWN_SECONDS, sigterm_as_interrupt
from podium.errors import ConflictError, PodiumError
from podium.events import EventDispatcher
from podium.events.bus.opening import PLATFORM_TOPIC, open_bus
from podium.events.bus.protocol import BusMessage
from podium.events.outbox import Event
from podium.monitoring.alerts import AlertScheduler, projects_with_rules
from podium.pipelines.scheduler import PipelineScheduler
from podium.platform import Installation
from podium.serving.control.events import ServingEvents
from podium.serving.grpc import with_grpc
from podium.serving.requests.warmup import Warmup
from podium.store.periodic import Periodic

if TYPE_CHECKING:
    from podium.pipelines.service import PipelineService

__all__ = [
    "bootstrap_admin_key",
    "follow_serving_events",
    "serve",
    "write_credentials",
]

_BOOTSTRAP_LOCK = 728103  # a PostgreSQL advisory lock key (728102 serialises migrations)
_REMEMBERED = 10_000  # event ids handled, so the dispatcher's copy of one is skipped

_log = logging.getLogger(__name__)


def bootstrap_admin_key(installation: Installation) -> str | None:
    """On first start (no key exists), create an admin key of the default project.

    Returns the secret (to be shown once) or ``None`` when keys exist already. Servers
    starting at once on one fresh PostgreSQL database take turns (an advisory lock), so
    exactly one of them creates the key; a project created by another process meanwhile
    is read back, not an error.
    """
    with _bootstrap_turn(installation):
        if installation.keys.any_exist():
            return None
        project = installation.settings.project
        try:
            installation.projects.ensure(project)
        except (ConflictError, SQLAlchemyIntegrityError):  # created by another process
            installation.projects.get(project)
        _, secret = installation.keys.create(
            project, Role.ADMIN, name="bootstrap admin", created_by="podium up"
        )
        return secret


@contextlib.contextmanager
def _bootstrap_turn(installation: Installation) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while bootstrapping (SQLite: nothing to hold)."""
    db = installation.db
    if db.is_sqlite:
        yield
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _BOOTSTRAP_LOCK})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _BOOTSTRAP_LOCK})
            conn.commit()


def write_credentials(path: Path, *, url: str, api_key: str, project: str) -> None:
    """Write the credentials file readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # Narrow a file that existed with wider permissions before the secret goes into it.
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "api_key": api_key, "project": project}, handle, indent=2)


class _OncePerEvent:
    """Hands each platform event to ``subscriber`` once, from the bus or the dispatcher,
    whichever brings it first; the other copy is skipped (handling it again would be
    harmless, ServingEvents is idempotent, but it would reload a deployment twice)."""

    def __init__(self, subscriber: Callable[[Event], None]) -> None:
        self._subscriber = subscriber
        self._handled: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.id in self._handled:
                return
        self._subscriber(event)  # raising: not remembered, so the other copy retries
        with self._lock:
            self._handled[event.id] = None
            while len(self._handled) > _REMEMBERED:
                self._handled.popitem(last=False)

    def from_bus(self, message: BusMessage) -> None:
        """A bus subscription's handler: the message body is the event as JSON."""
        self(Event.model_validate(message.body))


def follow_serving_events(
    installation: Installation, dispatcher: EventDispatcher
) -> Callable[[], None]:
    """Make the deployments this process serves follow platform events: reload on a
    deployment change, follow a model's stage or alias (:class:`ServingEvents`).

    Events come from the event bus as they commit (milliseconds, ADR 0023), and from
    ``dispatcher`` as a safety net for what the bus missed; each is handled once. Returns
    a function that stops following the bus (the dispatcher stops with itself). When
    the bus cannot be opened, a warning is logged and the dispatcher alone is followed.
    """
    once = _OncePerEvent(
        ServingEvents(installation.loaded_runtime, installation.serving_deployments)
    )
    dispatcher.subscribe(once)
    try:
        bus = open_bus(installation.settings.events_url, database=installation.db)
    except PodiumError as exc:
        _log.warning("following the dispatcher only, the event bus did not open: %s", exc)
        return lambda: None
    try:
        subscription = bus.subscribe(PLATFORM_TOPIC, once.from_bus)
    except PodiumError as exc:
        bus.close()
        _log.warning("following the dispatcher only, the event bus refused: %s", exc)
        return lambda: None

    def stop() -> None:
        subscription.close()
        bus.close()

    return stop


def serve(
    installation: Installation,
    *,
    host: str,
    port: int,
    announce: Callable[[str], None] = print,
    grpc_port: int | None = None,
    tls: ServerTls | None = None,
) -> None:
    """Serve the API until interrupted; create and announce the first admin key if needed.

    With ``grpc_port``, the Open Inference Protocol's gRPC service listens there too.
    With ``tls``, both listen with TLS only (a plain-HTTP client gets no answer) and
    every HTTP answer carries ``Strict-Transport-Security``.

    uvicorn re-raises SIGINT after a graceful shutdown, so a caller sees KeyboardInterrupt
    once this returns from Ctrl-C, and from SIGTERM too; the CLI treats that as a clean
    stop (and closes the installation, which writes the last inference records).
    """
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    secret = bootstrap_admin_key(installation)
    creds = installation.settings.credentials_path
    if secret is not None:
        write_credentials(creds, url=url, api_key=secret, project=installation.settings.project)
        announce(f"Created the first admin key (shown once, also saved to {creds}):\n  {secret}")
    else:
        project = installation.settings.project
        another = f"`podium keys create --project {project} --role admin`"
        if creds.exists():
            announce(f"Clients use the key saved in {creds}; create another with {another}")
        else:
            announce(
                f"No admin key was created: this installation has keys already (`podium keys "
                f"ls --project {project}`). Clients read theirs from PODIUM_API_KEY or "
                f"{creds}; create one with {another} and export PODIUM_API_KEY=<its secret>"
            )
    announce(f"podium API on {url}  (docs: {url}/docs)")
    # The server delivers the outbox (webhooks, subscribers) for every project it serves;
    # a delivery that failed before a restart is retried by the next server.
    dispatcher = EventDispatcher(installation.db, keyring=installation.keyring)
    # Deployments reload, and follow registry stages, when their events arrive: from the
    # event bus at once, from the dispatcher's poll as the safety net.
    stop_following = follow_serving_events(installation, dispatcher)
    # Whatever no process announced on the event bus (it was down, the writer died after
    # its commit) is published from here; ids already sent are skipped.
    dispatcher.subscribe(installation.announcer.catch_up)
    dispatcher.start()
    # Alert rules are evaluated every minute; their events go out through the dispatcher.
    alerts = AlertScheduler(
        lambda: projects_with_rules(installation.db),
        lambda name: (
            installation.platform_for_existing(
                name, user="podium:alerts", role=Role.ADMIN
            ).monitoring
        ),
    )
    alerts.start()
    # Pipeline schedules and event triggers; a lease makes each run start on one server.
    scheduler = None
    if installation.settings.scheduler == "on":
        scheduler = PipelineScheduler(
            installation.db,
            lambda name: cast(
                "PipelineService",
                installation.platform_for_existing(
                    name, user="podium:scheduler", role=Role.WRITER
                ).pipelines,
            ),
        )
        scheduler.start()
    # `podium serve` replicas park their inference log; the server commits it to Delta,
    # every 5 s and once more when stopping, so what they parked last is committed too.
    spool = Periodic("podium-spool-commit", 5.0, installation.commit_spools, final_round=True)
    spool.start()
    # Deployments load and predict once before /readyz says ready: no request pays that.
    warmup = Warmup(installation.warm_deployments)
    app = create_app(installation, warmup=warmup)
    served: Any = app
    if grpc_port is not None:
        served = with_grpc(
            app,
            keys=installation.keys,
            runtime_for=lambda caller: installation.runtime(caller.project),
            host=host,
            port=grpc_port,
            max_message_bytes=installation.settings.max_body_bytes,
            ready=lambda: warmup.ready,
            tls=None if tls is None else tls.pem_pair(),
        )
        secured = " (TLS)" if tls else ""
        announce(f"Open Inference Protocol gRPC on {host}:{grpc_port}{secured}")
    if tls is not None:
        served = StrictTransport(served)
        if tls.ca is not None:
            announce(f"TLS certificate signed by the local CA {tls.ca} (trusted by this home)")
    warmup.start()
    # What is loaded now lives as long as the server: keep it out of the collector's full
    # passes, which otherwise pause requests for 100 ms and more on a large heap.
    gc.collect()
    gc.freeze()
    try:
        # SIGTERM, like Ctrl-C, ends in KeyboardInterrupt after a graceful shutdown, so
        # the caller closes the installation and flushes the inference log.
        with sigterm_as_interrupt():
            uvicorn.run(
                served,
                host=host,
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                ssl_certfile=None if tls is None else str(tls.cert),
                ssl_keyfile=None if tls is None else str(tls.key),
            )
    finally:
        spool.stop(timeout=30)
        alerts.stop(timeout=5)
        if scheduler is not None:
            scheduler.stop(timeout=5)
        stop_following()
        dispatcher.stop(timeout=5)
