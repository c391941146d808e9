"""Bad input found in review: each must be a clear error that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from podium.data.lake import DataLake
from podium.data.warehouse import run_sql
from podium.errors import InvalidInputError


@pytest.fixture
def lake(tmp_path: Path) -> DataLake:
    lake = DataLake((tmp_path / "lake").as_uri())
    lake.write("raw.t", pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]}))
    return lake


@pytest.mark.parametrize(
    "where", ["id = 2 garbage tokens here", "1=1; drop", "id = 'x' AND", "nope = 1"]
)
def test_a_malformed_delete_predicate_deletes_nothing(lake: DataLake, where: str) -> None:
    with pytest.raises(InvalidInputError):
        lake.delete("raw.t", where=where)
    assert lake.version("raw.t") == 0
    assert lake.read("raw.t").num_rows == 3


def test_a_valid_delete_predicate_still_works(lake: DataLake) -> None:
    assert lake.delete("raw.t", where="id = 2").rows_written == 1
    assert sorted(lake.read("raw.t").column("id").to_pylist()) == [1, 3]


def test_sql_cannot_read_duckdbs_temp_folder(
    lake: DataLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spill = tmp_path / ".tmp"
    spill.mkdir()
    (spill / "secret.csv").write_text("a\n1\n")
    for query in ("SELECT * FROM read_csv('.tmp/secret.csv')", "SELECT * FROM glob('.tmp/*')"):
        with pytest.raises(InvalidInputError):
            lake.sql(query)


@pytest.mark.parametrize("query", [5, None, "", "   "])
def test_a_query_that_is_not_text_is_refused(lake: DataLake, query: object) -> None:
    with pytest.raises(InvalidInputError):
        lake.sql(query)  # type: ignore[arg-type]


def test_data_without_columns_is_refused(lake: DataLake) -> None:
    with pytest.raises(InvalidInputError, match="without columns"):
        lake.write("raw.empty", pd.DataFrame())


def test_a_query_running_past_its_timeout_is_stopped_with_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match=r"longer than 0\.3 s"):
        run_sql(
            {},
            "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3",
            at_version=lambda *args: None,  # type: ignore[arg-type,return-value]
            timeout=0.3,
        )
