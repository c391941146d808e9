"""Reading columns out of the frames the monitoring statistics accept.

A :data:`Frame` is a pyarrow Table, RecordBatch, RecordBatchReader or dataset, or a pandas
DataFrame. Columns are pulled out one at a time (so a pandas column is converted only
when it is used, inside the worker thread that uses it) and classified by kind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeAlias, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.dataset as pa_ds  # type: ignore[import-untyped]

from podium.errors import InvalidInputError

__all__ = [
    "ColumnKind",
    "Frame",
    "column_kind",
    "column_names",
    "finite_values",
    "get_column",
    "materialize",
    "parallel_map",
    "row_count",
]

Frame: TypeAlias = pa.Table | pd.DataFrame | pa.RecordBatch | pa.RecordBatchReader | pa_ds.Dataset
ColumnKind: TypeAlias = Literal["numeric", "categorical", "boolean", "timestamp", "other"]
_T = TypeVar("_T")
_R = TypeVar("_R")


def parallel_map(
    work: Callable[[_T], _R], items: Sequence[_T], *, max_workers: int | None = None
) -> list[_R]:
    """``[work(item) for item in items]`` in threads (one per core by default), in order.

    The column statistics spend their time in numpy, scipy and Arrow, which release the
    GIL, so columns really run in parallel.
    """
    workers = max(1, min(len(items), max_workers or os.cpu_count() or 1))
    if workers == 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix="podium-columns") as pool:
        return list(pool.map(work, items))


def materialize(
    frame: Frame, *, field: str = "frame", columns: Sequence[str] | None = None
) -> pa.Table | pd.DataFrame:
    """``frame`` as a Table or DataFrame (readers and datasets are read, only ``columns``)."""
    if isinstance(frame, pa.Table | pd.DataFrame):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    if isinstance(frame, pa.RecordBatchReader):
        return frame.read_all()
    if isinstance(frame, pa_ds.Dataset):
        return frame.to_table(columns=list(columns) if columns is not None else None)
    raise InvalidInputError(
        f"the '{field}' parameter must be a pyarrow Table or a pandas DataFrame; "
        f"got {type(frame).__name__} instead",
        field=field,
        remedy="pass a pyarrow Table, RecordBatch, RecordBatchReader, dataset or a DataFrame",
    )


def column_names(frame: pa.Table | pd.DataFrame) -> list[str]:
    """The column names, as strings, in frame order."""
    if isinstance(frame, pd.DataFrame):
        return [str(name) for name in frame.columns]
    return list(frame.column_names)


def row_count(frame: pa.Table | pd.DataFrame) -> int:
    """Number of rows."""
    return len(frame) if isinstance(frame, pd.DataFrame) else int(frame.num_rows)


def get_column(frame: pa.Table | pd.DataFrame, name: str, *, field: str = "frame") -> pa.Array:
    """One column as a single Arrow array (nulls for pandas NaN/None)."""
    if name not in column_names(frame):
        raise InvalidInputError(
            f"the '{field}' data has no column '{name}'",
            field=field,
            remedy=f"choose among {column_names(frame)}",
        )
    if isinstance(frame, pd.DataFrame):
        series = frame[name]
        try:
            return pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # values of mixed types (1 and "a"): compared as their text, so a contract
            # sees wrong types and drift sees categories rather than the call failing
            return pa.array([None if _is_missing(v) else str(v) for v in series], pa.string())
    column = frame.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def column_kind(arrow_type: pa.DataType) -> ColumnKind:
    """The kind of an Arrow type: numeric, categorical, boolean, timestamp or other."""
    if pa.types.is_dictionary(arrow_type):
        return "categorical"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return "numeric"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "categorical"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "timestamp"
    return "other"


def finite_values(array: pa.Array) -> tuple[np.ndarray[Any, np.dtype[np.float64]], int]:
    """The finite values of a numeric or timestamp column as float64, and how many were not.

    Nulls, NaN and infinities are dropped and counted together as missing.
    """
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        array = pc.cast(array, pa.int64()) if pa.types.is_timestamp(array.type) else array
        if pa.types.is_date(array.type):
            array = pc.cast(pc.cast(array, pa.timestamp("s")), pa.int64())
    elif pa.types.is_decimal(array.type):
        array = pc.cast(array, pa.float64())
    total = len(array)
    if array.null_count:
        array = pc.drop_null(array)
    values = np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    if pa.types.is_floating(array.type):
        finite = np.isfinite(values)
        if not finite.all():
            values = values[finite]
    return values, total - len(values)
