"""The online store contract: latest feature values per entity key, newest event wins.

An online store keeps, per *table* (one feature view version, named by the layer above,
e.g. ``"churn/customer_stats/v2"``), one row per entity *key*: the row's event time in
microseconds since the epoch and its *payload* (JSON object text, encoded and decoded by
the layer above). The interface is deliberately byte-level and small, so the serving hot
path does no more work than one indexed lookup. Backends (SQLite, Redis) are chosen by URL
with :func:`~podium.features.online.open_online_store`, and every one of them passes the
contract suite :class:`podium.testing.online_store.OnlineStoreContract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from podium.errors import InvalidInputError

__all__ = [
    "MAX_EVENT_TS_US",
    "MIN_EVENT_TS_US",
    "OnlineStore",
    "check_keys",
    "check_rows",
    "check_table",
]

MIN_EVENT_TS_US = -(2**63)
"""The smallest event time a store accepts (the int64 range every backend can hold)."""
MAX_EVENT_TS_US = 2**63 - 1
"""The largest event time a store accepts."""


@runtime_checkable
class OnlineStore(Protocol):
    """Latest values per key, per table; safe to share between threads.

    Rules every backend follows (the contract suite checks each one):

    * ``write`` is an upsert in which the newest event wins: a row replaces the stored
      row of its key only when its ``event_ts_us`` is greater than or equal to the stored
      one, so late, older rows never overwrite newer values. Within one call rows apply
      in order, so of two rows with the same key and time the later one is kept.
    * ``read`` never returns a torn row: the time and payload come from the same write,
      also while another thread writes.
    * Tables are opaque, case-sensitive names of any characters (quotes, slashes, spaces);
      backends quote or hash them, so no name can reach another table. The empty name is
      refused with :class:`~podium.errors.InvalidInputError`.
    * An unreachable backend raises :class:`~podium.errors.BackendUnavailableError`.
    """

    @property
    def url(self) -> str:
        """Where the store lives, e.g. ``sqlite:////abs/online.db`` (credentials redacted)."""
        ...

    def write(
        self,
        table: str,
        keys: Sequence[str],
        event_ts_us: Sequence[int],
        payloads: Sequence[str],
    ) -> int:
        """Upsert rows (``keys[i]``, ``event_ts_us[i]``, ``payloads[i]``) into ``table``.

        A row only replaces a stored one whose ``event_ts_us`` is <= its own. Write in
        batches of 10k-50k rows for bulk loads; each call is applied atomically per key.

        Returns:
            The number of rows stored (rows older than the stored value are not counted).

        Raises:
            InvalidInputError: the three sequences differ in length, a key or payload is
                not a ``str``, or a time is not an ``int`` in the int64 range.
        """
        ...

    def read(self, table: str, keys: Sequence[str]) -> list[tuple[int, str] | None]:
        """``(event_ts_us, payload)`` per key, in the order given; ``None`` where absent.

        A table never written reads as all ``None``.
        """
        ...

    def drop(self, table: str) -> None:
        """Forget ``table`` and every row in it; dropping an unknown table is no error."""
        ...

    def count(self, table: str) -> int:
        """How many keys ``table`` holds (0 for an unknown table)."""
        ...

    def close(self) -> None:
        """Release connections; later calls raise BackendUnavailableError. Idempotent."""
        ...


def check_table(table: object) -> str:
    """``table`` if it is a non-empty ``str``; InvalidInputError (field ``table``) if not."""
    if not isinstance(table, str) or not table:
        raise InvalidInputError(
            f"the 'table' argument of an online store must be a non-empty str; got {table!r}",
            field="table",
            remedy="name the table after the feature view, e.g. 'project/view/v1'",
        )
    return table


def check_keys(keys: Sequence[str]) -> Sequence[str]:
    """``keys`` if every key is a ``str``; InvalidInputError (field ``keys``) if not."""
    if isinstance(keys, str | bytes) or not all(type(key) is str for key in keys):
        bad = keys if isinstance(keys, str | bytes) else next(k for k in keys if type(k) is not str)
        raise InvalidInputError(
            f"online store keys must be a sequence of str; got {bad!r}",
            field="keys",
            remedy="join the entity key values into one str per entity row",
        )
    return keys


def check_rows(
    table: str, keys: Sequence[str], event_ts_us: Sequence[int], payloads: Sequence[str]
) -> int:
    """Validate the arguments of :meth:`OnlineStore.write`; the number of rows.

    Raises:
        InvalidInputError: with the offending ``field`` (``table``, ``keys``,
            ``event_ts_us`` or ``payloads``).
    """
    check_table(table)
    check_keys(keys)
    n = len(keys)
    if len(event_ts_us) != n or len(payloads) != n:
        raise InvalidInputError(
            f"keys, event_ts_us and payloads must have the same length; got {n}, "
            f"{len(event_ts_us)} and {len(payloads)}",
            field="event_ts_us" if len(event_ts_us) != n else "payloads",
            remedy="pass one event time and one payload per key",
        )
    if not all(type(ts) is int for ts in event_ts_us):
        bad_ts = next(ts for ts in event_ts_us if type(ts) is not int)
        raise InvalidInputError(
            f"event_ts_us must hold int microseconds since the epoch; got {bad_ts!r}",
            field="event_ts_us",
            remedy="convert times with int(ts.timestamp() * 1_000_000), or .tolist() "
            "an int64 array",
        )
    if n and (min(event_ts_us) < MIN_EVENT_TS_US or max(event_ts_us) > MAX_EVENT_TS_US):
        raise InvalidInputError(
            "event_ts_us must lie in the int64 range",
            field="event_ts_us",
            remedy="pass microseconds since the epoch, not nanoseconds of a far date",
        )
    if not all(type(payload) is str for payload in payloads):
        bad_payload = next(p for p in payloads if type(p) is not str)
        raise InvalidInputError(
            f"payloads must be str (JSON object text); got {bad_payload!r}",
            field="payloads",
            remedy="encode each row's feature values with json.dumps",
        )
    return n
