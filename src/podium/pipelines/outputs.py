"""Step outputs as blobs of the project's artifact store: stored by reference, never in the DB.

A pandas DataFrame or a pyarrow Table is stored as Parquet; anything else is pickled.
Pickle is safe here because a blob is only ever loaded by the project that wrote it,
from its own content-addressed store, after its sha256 is verified (ADR 0019): podium
unpickles its own runs' outputs, never bytes a request sent.
"""

from __future__ import annotations

import io
import pickle
from typing import Any, Literal

from podium.errors import InvalidInputError
from podium.store.artifacts import ArtifactStore

__all__ = ["OutputFormat", "StoredOutput", "load_output", "store_output"]

OutputFormat = Literal["pickle", "parquet-pandas", "parquet-arrow"]


class StoredOutput:
    """Where an output went: its digest and how to read it back."""

    __slots__ = ("digest", "format", "size")

    def __init__(self, digest: str, format: OutputFormat, size: int) -> None:
        self.digest = digest
        self.format = format
        self.size = size


def encode(value: Any, *, step: str) -> tuple[bytes, OutputFormat]:
    """The bytes stored for ``value`` and their format; InvalidInputError if it cannot be."""
    kind = type(value)
    if kind.__module__.startswith("pandas") and kind.__name__ == "DataFrame":
        with io.BytesIO() as buffer:
            try:
                value.to_parquet(buffer)
                return buffer.getvalue(), "parquet-pandas"
            except (ValueError, TypeError, ImportError, ArithmeticError):
                pass  # columns Parquet cannot hold (mixed objects): pickle it instead
    if kind.__module__.startswith("pyarrow") and kind.__name__ == "Table":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        with io.BytesIO() as buffer:
            pq.write_table(value, buffer)
            return buffer.getvalue(), "parquet-arrow"
    try:
        return pickle.dumps(value, protocol=5), "pickle"
    except Exception as exc:
        raise InvalidInputError(
            f"step {step!r} returned a {kind.__module__}.{kind.__qualname__}, which cannot "
            f"be stored (pickled): {exc}",
            field="output",
            remedy="return plain data, a DataFrame or a picklable object (no open files, "
            "locks, connections or lambdas)",
        ) from exc


def decode(data: bytes, format: str) -> Any:
    """The value :func:`encode` turned into ``data``."""
    if format == "parquet-pandas":
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))
    if format == "parquet-arrow":
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data))
    return pickle.loads(data)  # our own verified blob (module docstring)


def store_output(store: ArtifactStore, value: Any, *, step: str) -> StoredOutput:
    """Store ``value`` in ``store``; the digest is the sha256 of the stored bytes."""
    data, format = encode(value, step=step)
    info = store.put(data)
    return StoredOutput(info.digest, format, info.size)


def load_output(store: ArtifactStore, digest: str, format: str) -> Any:
    """The output stored under ``digest``, verified (IntegrityError if damaged)."""
    return decode(store.get(digest), format)
