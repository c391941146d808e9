"""The event bus contract suite: what every :class:`EventBus` backend must do.

Run it against a backend by subclassing :class:`EventBusContract` in a test module under
a name pytest collects, with a ``bus`` fixture that yields an open bus and closes it
afterwards::

    import pytest
    from podium.testing.event_bus import EventBusContract

    class TestMyEventBus(EventBusContract):
        @pytest.fixture
        def bus(self):
            bus = MyEventBus("my://127.0.0.1")
            yield bus
            bus.close()

Every check works on topics of its own (``topic`` fixture: a fresh name, deleted with
its dead letters afterwards), so checks can run in parallel against one server. Timing
checks use visibility timeouts under a second, so the suite takes a few seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from podium.errors import InvalidInputError
from podium.events.bus.protocol import BusMessage, EventBus, dead_letter_topic

__all__ = ["EventBusContract"]

VISIBILITY = 0.4
"""The visibility timeout (seconds) of the checks that wait for a redelivery."""


def _wait_for(condition: Callable[[], bool], *, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def _drain(
    bus: EventBus, topic: str, group: str, *, expect: int, timeout: float = 5.0
) -> list[BusMessage]:
    """Consume and acknowledge until ``expect`` messages came (or ``timeout`` passed)."""
    got: list[BusMessage] = []
    deadline = time.monotonic() + timeout
    while len(got) < expect and time.monotonic() < deadline:
        batch = bus.consume(topic, group, "drain", max_messages=expect - len(got), timeout=0.5)
        for message in batch:
            bus.ack(message)
        got += batch
    return got


class EventBusContract:
    """Checks every event bus backend passes; subclass with a ``bus`` fixture."""

    @pytest.fixture
    def topic(self, bus: EventBus) -> Iterator[str]:
        name = f"contract.{uuid.uuid4().hex[:12]}"
        yield name
        bus.delete_topic(name)
        bus.delete_topic(dead_letter_topic(name))

    # --- publishing ---------------------------------------------------------------------

    def test_is_an_event_bus(self, bus: EventBus) -> None:
        assert isinstance(bus, EventBus)
        assert isinstance(bus.url, str) and "://" in bus.url

    def test_a_body_comes_back_as_published(self, bus: EventBus, topic: str) -> None:
        body: dict[str, Any] = {
            "id": "evt-1",
            "features": {"tenure": 24, "charges": 89.99, "churned": False, "note": None},
            "tags": ["a", "ünïcödé 🙂"],
        }
        message_id = bus.publish(topic, body)
        assert isinstance(message_id, str) and message_id
        [got] = _drain(bus, topic, "g", expect=1)
        assert got.body == body
        assert got.id == message_id
        assert got.topic == topic and got.group == "g" and got.deliveries == 1

    def test_ids_are_unique_and_messages_come_in_order(self, bus: EventBus, topic: str) -> None:
        ids = [bus.publish(topic, {"n": n}) for n in range(20)]
        assert len(set(ids)) == 20
        got = _drain(bus, topic, "g", expect=20)
        assert [m.body["n"] for m in got] == list(range(20))
        assert [m.id for m in got] == ids

    @pytest.mark.parametrize("bad", ["", "has space", "star*", "gt>", "a..b", "end.", "x" * 201])
    def test_a_bad_topic_name_is_refused(self, bus: EventBus, bad: str) -> None:
        with pytest.raises(InvalidInputError) as caught:
            bus.publish(bad, {"a": 1})
        assert caught.value.field == "topic" and caught.value.remedy

    @pytest.mark.parametrize("bad", [[1, 2], "text", 3, {"nan": float("nan")}, {"o": object()}])
    def test_a_body_that_is_not_a_json_object_is_refused(
        self, bus: EventBus, topic: str, bad: Any
    ) -> None:
        with pytest.raises(InvalidInputError) as caught:
            bus.publish(topic, bad)
        assert caught.value.field == "body"

    def test_bad_group_settings_are_refused(self, bus: EventBus, topic: str) -> None:
        with pytest.raises(InvalidInputError):
            bus.create_group(topic, "g", visibility_timeout=0)
        with pytest.raises(InvalidInputError):
            bus.create_group(topic, "g", max_deliveries=0)
        with pytest.raises(InvalidInputError):
            bus.create_group(topic, "bad group")

    # --- consumer groups ----------------------------------------------------------------

    def test_each_group_gets_every_message(self, bus: EventBus, topic: str) -> None:
        for n in range(5):
            bus.publish(topic, {"n": n})
        for group in ("billing", "audit"):
            got = _drain(bus, topic, group, expect=5)
            assert sorted(m.body["n"] for m in got) == list(range(5))

    def test_consumers_of_a_group_share_the_messages(self, bus: EventBus, topic: str) -> None:
        for n in range(6):
            bus.publish(topic, {"n": n})
        first = bus.consume(topic, "g", "a", max_messages=3, timeout=2)
        second = bus.consume(topic, "g", "b", max_messages=3, timeout=2)
        assert len(first) == 3 and len(second) == 3
        assert {m.consumer for m in first} == {"a"} and {m.consumer for m in second} == {"b"}
        assert sorted(m.body["n"] for m in first + second) == list(range(6))
        for message in first + second:
            bus.ack(message)

    def test_concurrent_consumers_get_each_message_once(self, bus: EventBus, topic: str) -> None:
        bus.create_group(topic, "g", visibility_timeout=30)
        total = 60
        for n in range(total):
            bus.publish(topic, {"n": n})
        seen: list[int] = []
        lock = threading.Lock()

        def work(name: str) -> None:
            idle = 0
            while idle < 3:
                batch = bus.consume(topic, "g", name, max_messages=4, timeout=0.3)
                idle = 0 if batch else idle + 1
                for message in batch:
                    bus.ack(message)
                with lock:
                    seen.extend(m.body["n"] for m in batch)

        threads = [threading.Thread(target=work, args=(f"c{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(seen) == list(range(total))

    def test_a_new_group_can_start_at_the_next_message(self, bus: EventBus, topic: str) -> None:
        bus.publish(topic, {"n": 0})
        bus.create_group(topic, "late", start="latest")
        bus.publish(topic, {"n": 1})
        got = _drain(bus, topic, "late", expect=1)
        assert [m.body["n"] for m in got] == [1]
        assert bus.consume(topic, "late", "a", timeout=0.2) == []

    def test_consume_waits_for_a_message_and_returns_none_after_timeout(
        self, bus: EventBus, topic: str
    ) -> None:
        bus.create_group(topic, "g")
        started = time.monotonic()
        assert bus.consume(topic, "g", "a", timeout=0.3) == []
        assert 0.2 <= time.monotonic() - started < 2.0
        timer = threading.Timer(0.2, bus.publish, args=(topic, {"late": True}))
        timer.start()
        started = time.monotonic()
        got = bus.consume(topic, "g", "a", timeout=5)
        timer.join()
        assert [m.body for m in got] == [{"late": True}]
        assert time.monotonic() - started < 2.0, "consume did not return once a message came"

    # --- at least once ---------------------------------------------------------------

    def test_an_unacknowledged_message_goes_to_another_consumer(
        self, bus: EventBus, topic: str
    ) -> None:
        bus.create_group(topic, "g", visibility_timeout=VISIBILITY)
        bus.publish(topic, {"n": 1})
        [first] = bus.consume(topic, "g", "a", timeout=2)
        assert first.deliveries == 1
        assert bus.consume(topic, "g", "b", timeout=0.05) == [], "redelivered before its timeout"
        again = bus.consume(topic, "g", "b", timeout=VISIBILITY * 6)
        assert [m.body for m in again] == [{"n": 1}]
        assert again[0].id == first.id and again[0].deliveries == 2 and again[0].consumer == "b"
        bus.ack(again[0])

    def test_an_acknowledged_message_is_not_delivered_again(
        self, bus: EventBus, topic: str
    ) -> None:
        bus.create_group(topic, "g", visibility_timeout=VISIBILITY)
        bus.publish(topic, {"n": 1})
        [message] = bus.consume(topic, "g", "a", timeout=2)
        bus.ack(message)
        bus.ack(message)  # twice is harmless
        time.sleep(VISIBILITY + 0.2)
        assert bus.consume(topic, "g", "b", timeout=VISIBILITY) == []

    # --- dead letters -----------------------------------------------------------------

    def test_a_message_never_acknowledged_becomes_a_dead_letter(
        self, bus: EventBus, topic: str
    ) -> None:
        bus.create_group(topic, "g", visibility_timeout=VISIBILITY, max_deliveries=2)
        message_id = bus.publish(topic, {"poison": True})
        assert len(bus.consume(topic, "g", "a", timeout=2)) == 1
        assert [m.deliveries for m in bus.consume(topic, "g", "a", timeout=VISIBILITY * 6)] == [2]
        # The third delivery is not made: the message goes to <topic>.dead instead.
        assert bus.consume(topic, "g", "a", timeout=VISIBILITY * 4) == []
        [dead] = _drain(bus, dead_letter_topic(topic), "inspect", expect=1)
        assert dead.body["message"] == {"poison": True}
        assert dead.body["id"] == message_id and dead.body["topic"] == topic
        assert dead.body["deliveries"] == 2 and dead.body["group"] == "g"
        assert "2 deliveries" in dead.body["reason"]

    def test_a_consumer_can_dead_letter_a_message_with_a_reason(
        self, bus: EventBus, topic: str
    ) -> None:
        bus.create_group(topic, "g", visibility_timeout=VISIBILITY)
        bus.publish(topic, {"features": "not an object"})
        bus.publish(topic, {"features": {}})
        [bad, good] = bus.consume(topic, "g", "a", max_messages=2, timeout=2)
        bus.dead_letter(bad, "features must be an object")
        bus.ack(good)
        [dead] = _drain(bus, dead_letter_topic(topic), "inspect", expect=1)
        assert dead.body["reason"] == "features must be an object"
        assert dead.body["message"] == {"features": "not an object"}
        assert dead.body["id"] == bad.id
        time.sleep(VISIBILITY + 0.2)
        assert bus.consume(topic, "g", "b", timeout=VISIBILITY) == [], "a dead letter came back"

    # --- broadcast ------------------------------------------------------------------------

    def test_every_subscription_gets_every_message_from_then_on(
        self, bus: EventBus, topic: str
    ) -> None:
        bus.publish(topic, {"n": -1})  # before anyone subscribed: nobody gets it
        first: list[BusMessage] = []
        second: list[BusMessage] = []
        subs = [bus.subscribe(topic, first.append), bus.subscribe(topic, second.append)]
        try:
            ids = [bus.publish(topic, {"n": n}) for n in range(5)]
            assert _wait_for(lambda: len(first) >= 5 and len(second) >= 5)
            time.sleep(0.1)
            for got in (first, second):
                assert [m.body["n"] for m in got] == list(range(5))
                assert [m.id for m in got] == ids
        finally:
            for sub in subs:
                sub.close()

    def test_a_failing_handler_does_not_end_its_subscription(
        self, bus: EventBus, topic: str
    ) -> None:
        got: list[int] = []

        def handler(message: BusMessage) -> None:
            if message.body["n"] == 0:
                raise RuntimeError("boom")
            got.append(message.body["n"])

        sub = bus.subscribe(topic, handler)
        try:
            bus.publish(topic, {"n": 0})
            bus.publish(topic, {"n": 1})
            assert _wait_for(lambda: got == [1])
        finally:
            sub.close()

    def test_a_closed_subscription_gets_nothing_more(self, bus: EventBus, topic: str) -> None:
        got: list[BusMessage] = []
        sub = bus.subscribe(topic, got.append)
        bus.publish(topic, {"n": 0})
        assert _wait_for(lambda: len(got) == 1)
        sub.close()
        bus.publish(topic, {"n": 1})
        time.sleep(0.3)
        assert [m.body["n"] for m in got] == [0]

    def test_a_broadcast_arrives_quickly(self, bus: EventBus, topic: str) -> None:
        arrived = threading.Event()
        sub = bus.subscribe(topic, lambda message: arrived.set())
        try:
            started = time.monotonic()
            bus.publish(topic, {"n": 1})
            assert arrived.wait(5)
            assert time.monotonic() - started < 0.5, "a broadcast took half a second or more"
        finally:
            sub.close()

    # --- housekeeping -----------------------------------------------------------------

    def test_a_deleted_topic_starts_empty(self, bus: EventBus, topic: str) -> None:
        bus.publish(topic, {"n": 1})
        assert len(_drain(bus, topic, "g", expect=1)) == 1
        bus.delete_topic(topic)
        bus.delete_topic(topic)  # twice is harmless
        assert bus.consume(topic, "fresh", "a", timeout=0.2) == []
        bus.publish(topic, {"n": 2})
        assert [m.body["n"] for m in _drain(bus, topic, "g", expect=1)] == [2]
