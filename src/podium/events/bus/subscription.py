"""A broadcast subscription's thread: fetch messages, hand each to the handler, repeat.

Every backend's :meth:`~podium.events.bus.protocol.EventBus.subscribe` returns one; the
backend supplies ``fetch``, which waits a short while (well under a second, so
:meth:`ThreadSubscription.close` is quick) and returns what arrived, maybe nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from podium.errors import PodiumError
from podium.events.bus.protocol import BusMessage, MessageHandler

__all__ = ["ThreadSubscription"]

_log = logging.getLogger(__name__)
_RETRY_SECONDS = 1.0


class ThreadSubscription:
    """Calls ``handler`` with each message ``fetch`` returns, in a daemon thread."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[], list[BusMessage]],
        handler: MessageHandler,
        *,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._handler = handler
        self._on_close = on_close
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop and join the thread (the handler's current call finishes first)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        if self._on_close is not None:
            self._on_close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._fetch()
            except (PodiumError, OSError):  # an outage: logged, retried, never the end
                _log.exception("a subscription could not fetch; retrying in 1 s")
                self._stop.wait(_RETRY_SECONDS)
                continue
            for message in messages:
                if self._stop.is_set():
                    return
                try:
                    self._handler(message)
                except Exception:  # one bad message must not end the subscription
                    _log.exception("a subscription handler failed on message %s", message.id)
