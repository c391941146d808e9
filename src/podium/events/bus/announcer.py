"""Platform events on the bus: each committed outbox event, published on ``podium.events``.

The outbox (:mod:`podium.events.outbox`) stays the source of truth: an area records its
event in its own transaction. The :class:`EventAnnouncer` of the writing process hears
of the commit (:func:`~podium.events.outbox.on_commit`) and publishes the event from a
background thread a moment later, so subscribers such as serving replicas learn of a
promotion within milliseconds, not at the dispatcher's next poll. Anything it missed (the
process died after the commit, the bus was down) the server's dispatcher publishes when
it fans the event out: subscribe :meth:`EventAnnouncer.catch_up` to it. A message carries
the outbox ``id``, so one published twice is recognisable and harmless.

A message's body is the :class:`~podium.events.outbox.Event` as JSON: ``id``, ``project``,
``type``, ``subject``, ``payload``, ``actor``, ``created_at``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable

from podium.errors import PodiumError
from podium.events.bus.opening import PLATFORM_TOPIC, open_bus
from podium.events.bus.protocol import EventBus
from podium.events.outbox import Event, load_events, on_commit
from podium.store.database import Database

__all__ = ["EventAnnouncer"]

_log = logging.getLogger(__name__)
_REMEMBERED = 10_000  # ids announced, so the dispatcher's catch-up skips them
_BATCH = 100


class EventAnnouncer:
    """Publishes the platform events committed on ``db`` to the bus, as they commit.

    ``bus`` is used as given (and not closed); otherwise the bus at ``url`` (unset: the
    embedded bus on ``db``) is opened on the first event and closed by :meth:`close`.
    The thread starts on the first committed event, so a process that writes none pays
    nothing but a listener.
    """

    def __init__(
        self,
        db: Database,
        *,
        url: str | None = None,
        bus: EventBus | None = None,
        topic: str = PLATFORM_TOPIC,
    ) -> None:
        self._db = db
        self._url = url
        self._bus = bus
        self._owns_bus = bus is None
        self.topic = topic
        self._queue: queue.Queue[list[int] | threading.Event | None] = queue.Queue()
        self._announced: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stop_listening: Callable[[], None] | None = on_commit(db, self._committed)

    def catch_up(self, event: Event) -> None:
        """Publish ``event`` unless this process announced it already (a dispatcher
        subscriber: ``dispatcher.subscribe(announcer.catch_up)``)."""
        with self._lock:
            if event.id in self._announced:
                return
        self._publish([event])

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event committed so far was handed to the bus (tests, shutdown)."""
        if not self._start():
            return True
        done = threading.Event()
        self._queue.put(done)  # set by the thread when it gets this far
        return done.wait(timeout)

    def close(self) -> None:
        """Stop listening, publish what is queued, stop the thread, close an owned bus."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            stop, self._stop_listening = self._stop_listening, None
            thread = self._thread
        if stop is not None:
            stop()
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)
        if self._owns_bus and self._bus is not None:
            self._bus.close()

    # --- internals ----------------------------------------------------------------------

    def _committed(self, ids: list[int]) -> None:
        self._queue.put(ids)
        self._start()

    def _start(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="podium-announce", daemon=True
                )
                self._thread.start()
            return True

    def _run(self) -> None:
        ids: list[int] = []
        while True:
            item = self._queue.get() if not ids else self._next_nowait()
            if isinstance(item, list):
                ids += item
                if len(ids) < _BATCH:
                    continue  # gather what else is queued into one read
            self._announce(ids)
            ids = []
            if isinstance(item, threading.Event):
                item.set()
            elif item is None and self._closed:
                return

    def _next_nowait(self) -> list[int] | threading.Event | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _announce(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            self._publish(load_events(self._db, ids))
        except PodiumError:  # the dispatcher publishes it later: nothing is lost
            _log.exception("announcing platform events %s on the bus failed", ids[:10])

    def _publish(self, events: list[Event]) -> None:
        bus = self._open()
        for event in events:
            bus.publish(self.topic, event.model_dump(mode="json"))
            with self._lock:
                self._announced[event.id] = None
                while len(self._announced) > _REMEMBERED:
                    self._announced.popitem(last=False)

    def _open(self) -> EventBus:
        with self._lock:
            if self._bus is None:
                self._bus = open_bus(self._url, database=self._db)
            return self._bus
