"""Turning what a user hands to ``write`` into an Arrow table.

Accepted: a pandas DataFrame, a pyarrow Table or RecordBatch, or a path to a ``.parquet``,
``.csv``, ``.jsonl``/``.json`` (JSON lines) file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.json as pa_json  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from podium.errors import InvalidInputError, NotFoundError

__all__ = ["WriteData", "to_arrow"]

WriteData: TypeAlias = pd.DataFrame | pa.Table | pa.RecordBatch | str | Path

_READERS = {
    ".parquet": pq.read_table,
    ".csv": pa_csv.read_csv,
    ".jsonl": pa_json.read_json,
    ".json": pa_json.read_json,
}


def _read_file(path: Path) -> pa.Table:
    reader: Any = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InvalidInputError(
            f"cannot read '{path.name}': the file type {path.suffix or '(none)'!r} "
            f"is not supported",
            field="data",
            remedy=f"pass a file ending in one of {', '.join(sorted(_READERS))}, "
            "a pandas DataFrame or a pyarrow Table",
        )
    if not path.is_file():
        raise NotFoundError(
            f"no file at '{path}'", field="data", remedy="check the path of the file to ingest"
        )
    try:
        table: pa.Table = reader(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(
            f"cannot read '{path.name}': {exc}",
            field="data",
            remedy="check that the file is valid for its extension (JSON files are JSON lines)",
        ) from exc
    return table


def to_arrow(data: WriteData) -> pa.Table:
    """The data as an Arrow table (a DataFrame's index is dropped unless it is named)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pd.DataFrame):
        keep_index = any(name is not None for name in data.index.names)
        try:
            return pa.Table.from_pandas(data, preserve_index=keep_index)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(
                f"the DataFrame cannot be converted to Arrow: {exc}",
                field="data",
                remedy="give every column one type (e.g. with DataFrame.astype)",
            ) from exc
    if isinstance(data, str | Path):
        return _read_file(Path(data))
    raise InvalidInputError(
        f"data must be a pandas DataFrame, a pyarrow Table or a file path; "
        f"got {type(data).__name__} instead",
        field="data",
    )
