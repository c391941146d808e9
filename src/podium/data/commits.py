"""Running a Delta commit: who made it, what configuration new tables get, lost-race retries.

Every commit podium makes carries its ``actor`` (when known) in the commit info under
:data:`ACTOR_KEY`, which :func:`podium.data.history.history_entries` reads back. Tables
podium creates record a change data feed (:data:`NEW_TABLE_CONFIGURATION`), the basis of
:meth:`podium.data.lake.DataLake.changes`.
"""

from __future__ import annotations

import errno
import random
import time
from collections.abc import Callable
from typing import TypeVar

from deltalake import CommitProperties
from deltalake.exceptions import CommitFailedError, DeltaError

from podium.errors import ConflictError, InvalidInputError, NotFoundError, StorageFullError

__all__ = [
    "ACTOR_KEY",
    "APPEND_COMMIT_RETRIES",
    "NEW_TABLE_CONFIGURATION",
    "commit_properties",
    "delta_call",
    "storage_full",
    "vacuumed",
]

ACTOR_KEY = "podium.actor"
APPEND_COMMIT_RETRIES = 8
NEW_TABLE_CONFIGURATION = {"delta.enableChangeDataFeed": "true"}

_T = TypeVar("_T")


def commit_properties(actor: str | None, **metadata: str) -> CommitProperties:
    """Commit properties recording ``actor`` (if given) and any extra ``metadata``."""
    if actor is not None:
        if not isinstance(actor, str) or not actor.strip():
            raise InvalidInputError(
                f"actor must be a non-empty string naming who commits; got {actor!r} instead",
                field="actor",
                remedy="pass the user or service name, or omit actor",
            )
        metadata[ACTOR_KEY] = actor
    return CommitProperties(custom_metadata=metadata or None)


def delta_call(call: Callable[[], _T], *, retries: int = 0) -> _T:
    """Run a deltalake commit, retrying a lost commit race up to ``retries`` times."""
    for attempt in range(retries + 1):
        try:
            return call()
        except CommitFailedError as exc:
            if attempt == retries:
                raise ConflictError(
                    f"the commit lost to concurrent writers {attempt + 1} times: {exc}",
                    remedy="retry the write",
                ) from exc
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise storage_full(exc) from exc
            raise
        except DeltaError as exc:
            if _NO_SPACE in str(exc) or "os error 28" in str(exc):
                raise storage_full(exc) from exc
            if "Schema" in type(exc).__name__ or "schema" in str(exc).lower():
                raise InvalidInputError(
                    f"the data does not match the table schema: {exc}",
                    field="data",
                    remedy="make the data match, or pass schema_mode='merge'",
                ) from exc
            raise
    raise AssertionError("unreachable")


_NO_SPACE = "No space left on device"


def storage_full(exc: BaseException) -> StorageFullError:
    """The error for a lake write that found its disk full: the table keeps its last
    committed version (Delta commits are atomic; a half-written data file is never
    referenced)."""
    return StorageFullError(
        f"the lake's disk is full; the table stays at its last committed version: "
        f"{str(exc).splitlines()[0][:300]}",
        remedy="free disk space under PODIUM_HOME (or wherever PODIUM_STORAGE_URL points), "
        "then retry the write",
    )


def vacuumed(table: object, version: int) -> NotFoundError:
    """The error for a version whose data files a vacuum removed (no storage path shown)."""
    return NotFoundError(
        f"version {version} of table '{table}' can no longer be read: vacuum removed its files",
        field="version",
        remedy="read a newer version (see history); vacuum keeps 7 days unless told otherwise",
    )
