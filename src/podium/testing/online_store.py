"""The online store contract suite: what every :class:`OnlineStore` backend must do.

Run it against a backend by subclassing :class:`OnlineStoreContract` in a test module
under a name pytest collects, with a ``store`` fixture that yields a fresh, empty store
and closes it afterwards::

    import pytest
    from podium.testing.online_store import OnlineStoreContract

    class TestMyOnlineStore(OnlineStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyOnlineStore(tmp_path / "online")
            yield store
            store.close()

Each ``test_*`` method is one check, so a failure names the rule that broke. The module
needs nothing but podium; pytest only runs it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from podium.errors import BackendUnavailableError, InvalidInputError, PodiumError
from podium.features.online.protocol import MAX_EVENT_TS_US, MIN_EVENT_TS_US, OnlineStore

__all__ = ["OnlineStoreContract"]

T0 = 1_700_000_000_000_000
"""An event time (2023-11-14, in microseconds) the checks count from."""

WEIRD_TABLE_NAMES = [
    "churn/customer_stats/v2",
    'quote"d',
    "apo'strophe",
    "with space",
    "semi;colon; DROP TABLE x; --",
    "back\\slash",
    "Case",
    "case",
    "*glob?[x]",
    "{hash-tag}",
    "ünïcödé/表/🙂",
    "a" * 300,
]


@contextmanager
def _raises(kind: type[PodiumError], *, field: str | None = None) -> Iterator[None]:
    try:
        yield
    except kind as exc:
        if field is not None:
            assert exc.field == field, f"expected field {field!r}, got {exc.field!r}"
        return
    raise AssertionError(f"expected {kind.__name__}, nothing was raised")


class OnlineStoreContract:
    """Checks every online store backend passes; subclass with a ``store`` fixture."""

    table = "contract/features/v1"

    # --- basics -----------------------------------------------------------------------

    def test_is_an_online_store(self, store: OnlineStore) -> None:
        assert isinstance(store, OnlineStore)
        assert isinstance(store.url, str) and "://" in store.url

    def test_round_trip(self, store: OnlineStore) -> None:
        written = store.write(self.table, ["1", "2"], [T0, T0 + 1], ['{"a": 1}', '{"a": 2}'])
        assert written == 2
        assert store.read(self.table, ["1", "2"]) == [(T0, '{"a": 1}'), (T0 + 1, '{"a": 2}')]
        assert store.read(self.table, ["2"]) == [(T0 + 1, '{"a": 2}')]

    def test_read_keeps_the_order_given_and_repeats(self, store: OnlineStore) -> None:
        keys = [f"k{i}" for i in range(50)]
        store.write(
            self.table, keys, [T0 + i for i in range(50)], [f'{{"i": {i}}}' for i in range(50)]
        )
        wanted = ["k7", "k3", "k49", "k0", "k3"]
        assert store.read(self.table, wanted) == [
            (T0 + 7, '{"i": 7}'),
            (T0 + 3, '{"i": 3}'),
            (T0 + 49, '{"i": 49}'),
            (T0, '{"i": 0}'),
            (T0 + 3, '{"i": 3}'),
        ]
        every = list(reversed(keys)) * 30  # more keys than one query of some backends takes
        assert [row[0] if row else None for row in store.read(self.table, every)] == [
            T0 + int(key[1:]) for key in every
        ]

    def test_missing_keys_read_as_none(self, store: OnlineStore) -> None:
        store.write(self.table, ["present"], [T0], ["{}"])
        assert store.read(self.table, ["absent", "present", "also-absent"]) == [
            None,
            (T0, "{}"),
            None,
        ]
        assert store.read(self.table, ["absent"]) == [None]

    def test_an_unknown_table_reads_none_and_counts_zero(self, store: OnlineStore) -> None:
        assert store.read("never/written/v1", ["1", "2"]) == [None, None]
        assert store.read("never/written/v1", ["1"]) == [None]
        assert store.count("never/written/v1") == 0

    def test_empty_calls_do_nothing(self, store: OnlineStore) -> None:
        assert store.write(self.table, [], [], []) == 0
        assert store.read(self.table, []) == []
        assert store.count(self.table) == 0

    # --- newest event wins --------------------------------------------------------------

    def test_a_newer_row_replaces_the_stored_one(self, store: OnlineStore) -> None:
        store.write(self.table, ["k"], [T0], ['{"v": "old"}'])
        assert store.write(self.table, ["k"], [T0 + 1], ['{"v": "new"}']) == 1
        assert store.read(self.table, ["k"]) == [(T0 + 1, '{"v": "new"}')]

    def test_an_older_row_never_overwrites_a_newer_one(self, store: OnlineStore) -> None:
        store.write(self.table, ["k", "j"], [T0 + 10, T0 + 10], ['{"v": 10}', '{"v": 10}'])
        written = store.write(self.table, ["k", "j"], [T0 + 9, T0 + 11], ['{"v": 9}', '{"v": 11}'])
        assert written == 1
        assert store.read(self.table, ["k", "j"]) == [
            (T0 + 10, '{"v": 10}'),
            (T0 + 11, '{"v": 11}'),
        ]

    def test_an_equal_time_replaces(self, store: OnlineStore) -> None:
        store.write(self.table, ["k"], [T0], ['{"v": "first"}'])
        assert store.write(self.table, ["k"], [T0], ['{"v": "second"}']) == 1
        assert store.read(self.table, ["k"]) == [(T0, '{"v": "second"}')]

    def test_rows_of_one_call_apply_in_order(self, store: OnlineStore) -> None:
        keys = ["k", "k", "k", "j", "j"]
        times = [T0 + 5, T0 + 3, T0 + 5, T0, T0 + 1]
        payloads = ['"a"', '"late"', '"b"', '"c"', '"d"']
        assert store.write(self.table, keys, times, payloads) == 4
        assert store.read(self.table, ["k", "j"]) == [(T0 + 5, '"b"'), (T0 + 1, '"d"')]
        assert store.count(self.table) == 2

    def test_times_over_the_whole_int64_range_keep_their_order(self, store: OnlineStore) -> None:
        store.write(self.table, ["k"], [MIN_EVENT_TS_US], ['"min"'])
        assert store.read(self.table, ["k"]) == [(MIN_EVENT_TS_US, '"min"')]
        for ts, payload in [(-1, '"-1"'), (0, '"0"'), (1, '"1"'), (MAX_EVENT_TS_US, '"max"')]:
            assert store.write(self.table, ["k"], [ts], [payload]) == 1
            assert store.read(self.table, ["k"]) == [(ts, payload)]
        assert store.write(self.table, ["k"], [MAX_EVENT_TS_US - 1], ['"older"']) == 0
        assert store.write(self.table, ["k"], [-5], ['"older"']) == 0
        assert store.read(self.table, ["k"]) == [(MAX_EVENT_TS_US, '"max"')]

    # --- content ------------------------------------------------------------------------

    def test_unicode_and_odd_keys_and_payloads_round_trip(self, store: OnlineStore) -> None:
        keys = ["7\x1fus", "ü/表/🙂", "", " ", "a", "A", "a ", "line\nbreak", "nul\x00byte", "%s?"]
        payloads = [json.dumps({"key": key, "text": f"{key} ✓ \"q\" \\ 'x'"}) for key in keys]
        times = [T0 + i for i in range(len(keys))]
        assert store.write(self.table, keys, times, payloads) == len(keys)
        assert store.count(self.table) == len(keys)
        assert store.read(self.table, keys) == list(zip(times, payloads, strict=True))
        for key, ts, payload in zip(keys, times, payloads, strict=True):
            assert store.read(self.table, [key]) == [(ts, payload)]
        assert store.read(self.table, ["7", "ü", "b", "nul"]) == [None] * 4

    def test_a_large_payload_round_trips(self, store: OnlineStore) -> None:
        payload = json.dumps({f"feature_{i}": i * 0.5 for i in range(20_000)})
        store.write(self.table, ["big"], [T0], [payload])
        assert store.read(self.table, ["big"]) == [(T0, payload)]

    def test_a_large_batch_is_written_whole(self, store: OnlineStore) -> None:
        n = 50_000
        keys = [f"entity-{i}" for i in range(n)]
        payloads = [f'{{"i": {i}}}' for i in range(n)]
        assert store.write(self.table, keys, [T0 + i for i in range(n)], payloads) == n
        assert store.count(self.table) == n
        sample = [*keys[::997], keys[-1]]
        assert store.read(self.table, sample) == [
            (T0 + int(key.split("-")[1]), f'{{"i": {key.split("-")[1]}}}') for key in sample
        ]
        assert store.write(self.table, keys, [T0 - 1] * n, ["{}"] * n) == 0
        assert store.read(self.table, keys[:1]) == [(T0, '{"i": 0}')]

    # --- tables -------------------------------------------------------------------------

    def test_count_counts_distinct_keys(self, store: OnlineStore) -> None:
        store.write(self.table, ["a", "b"], [T0, T0], ["{}", "{}"])
        store.write(self.table, ["b", "c"], [T0 + 1, T0 + 1], ["{}", "{}"])
        assert store.count(self.table) == 3

    def test_drop_forgets_a_table_and_it_can_be_written_again(self, store: OnlineStore) -> None:
        store.write(self.table, ["a"], [T0 + 100], ["{}"])
        store.write("other/v1", ["a"], [T0], ['"kept"'])
        store.drop(self.table)
        assert store.count(self.table) == 0
        assert store.read(self.table, ["a"]) == [None]
        assert store.read("other/v1", ["a"]) == [(T0, '"kept"')]
        assert store.write(self.table, ["a"], [T0], ['"again"']) == 1  # older than dropped
        assert store.read(self.table, ["a"]) == [(T0, '"again"')]
        store.drop("never/written/v1")
        store.drop(self.table)
        store.drop(self.table)

    def test_tables_are_isolated(self, store: OnlineStore) -> None:
        store.write("p/view/v1", ["k"], [T0], ['"v1"'])
        store.write("p/view/v2", ["k"], [T0 - 1], ['"v2"'])
        store.write("q/view/v1", ["other"], [T0], ["{}"])
        assert store.read("p/view/v1", ["k"]) == [(T0, '"v1"')]
        assert store.read("p/view/v2", ["k"]) == [(T0 - 1, '"v2"')]
        assert store.read("q/view/v1", ["k"]) == [None]
        assert [store.count(t) for t in ("p/view/v1", "p/view/v2", "q/view/v1")] == [1, 1, 1]

    def test_odd_table_names_are_safe_and_distinct(self, store: OnlineStore) -> None:
        for i, name in enumerate(WEIRD_TABLE_NAMES):
            assert store.write(name, ["k"], [T0 + i], [json.dumps(name)]) == 1
        for i, name in enumerate(WEIRD_TABLE_NAMES):
            assert store.read(name, ["k"]) == [(T0 + i, json.dumps(name))], name
            assert store.count(name) == 1
        store.drop('quote"d')
        assert store.read('quote"d', ["k"]) == [None]
        assert store.read("apo'strophe", ["k"]) == [(T0 + 2, json.dumps("apo'strophe"))]
        assert store.read("x", ["k"]) == [None]

    # --- bad input ----------------------------------------------------------------------

    def test_bad_input_is_refused_and_nothing_is_written(self, store: OnlineStore) -> None:
        with _raises(InvalidInputError, field="table"):
            store.write("", ["k"], [T0], ["{}"])
        with _raises(InvalidInputError, field="table"):
            store.read("", ["k"])
        with _raises(InvalidInputError, field="event_ts_us"):
            store.write(self.table, ["a", "b"], [T0], ["{}", "{}"])
        with _raises(InvalidInputError, field="payloads"):
            store.write(self.table, ["a", "b"], [T0, T0], ["{}"])
        with _raises(InvalidInputError, field="keys"):
            store.write(self.table, ["a", 7], [T0, T0], ["{}", "{}"])  # type: ignore[list-item]
        with _raises(InvalidInputError, field="keys"):
            store.read(self.table, "abc")
        with _raises(InvalidInputError, field="event_ts_us"):
            store.write(self.table, ["a", "b"], [T0, 1.5], ["{}", "{}"])  # type: ignore[list-item]
        with _raises(InvalidInputError, field="event_ts_us"):
            store.write(self.table, ["a"], [MAX_EVENT_TS_US + 1], ["{}"])
        with _raises(InvalidInputError, field="payloads"):
            store.write(self.table, ["a", "b"], [T0, T0], ["{}", b"{}"])  # type: ignore[list-item]
        assert store.count(self.table) == 0

    def test_a_closed_store_refuses_calls(self, store: OnlineStore) -> None:
        store.write(self.table, ["k"], [T0], ["{}"])
        store.close()
        store.close()
        with _raises(BackendUnavailableError):
            store.read(self.table, ["k"])
        with _raises(BackendUnavailableError):
            store.write(self.table, ["k"], [T0], ["{}"])

    # --- threads ------------------------------------------------------------------------

    def test_readers_never_see_torn_or_older_rows_while_a_writer_writes(
        self, store: OnlineStore
    ) -> None:
        keys = [f"e{i}" for i in range(20)]
        rounds = 150
        failures: list[str] = []
        done = threading.Event()

        def payload(key: str, ts: int) -> str:
            # the padding makes payloads of different writes differ in length too
            return json.dumps({"key": key, "ts": ts, "pad": "x" * (ts % 97)})

        def write() -> None:
            try:
                for r in range(1, rounds + 1):
                    store.write(self.table, keys, [r] * len(keys), [payload(k, r) for k in keys])
                    # late rows, which must never become visible
                    store.write(
                        self.table, keys[:5], [r - 1] * 5, [payload(k, -1) for k in keys[:5]]
                    )
            except Exception as exc:  # reported below, so the test fails with the cause
                failures.append(f"writer: {exc!r}")
            finally:
                done.set()

        def read() -> None:
            last = dict.fromkeys(keys, 0)
            try:
                while True:
                    finished = done.is_set()
                    for wanted in (keys, keys[3:4]):
                        for key, row in zip(wanted, store.read(self.table, wanted), strict=True):
                            if row is None:
                                continue
                            ts, text = row
                            if json.loads(text) != {"key": key, "ts": ts, "pad": "x" * (ts % 97)}:
                                failures.append(f"torn row for {key}: {row}")
                            if ts < last[key]:
                                failures.append(f"{key} went back from {last[key]} to {ts}")
                            last[key] = ts
                    if finished:
                        break
                if set(last.values()) != {rounds}:
                    failures.append(f"reader ended on {last}, not on round {rounds}")
            except Exception as exc:  # reported below, so the test fails with the cause
                failures.append(f"reader: {exc!r}")

        threads = [threading.Thread(target=read) for _ in range(3)]
        threads.append(threading.Thread(target=write))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a thread hung"
        assert failures == [], failures[:5]
