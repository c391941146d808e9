"""``podium data``: ingest, browse, query and maintain lake tables, and every bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from typer.testing import Result

from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import LiveServer

HEADER = ["customer_id", "tenure_months", "contract", "churned"]


def _csv(path: Path, rows: list[tuple[object, ...]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _customers(folder: Path, first: int = 1, count: int = 3) -> Path:
    contracts = ("month-to-month", "one-year", "two-year")
    rows = [(f"C{i:03d}", i * 2, contracts[i % 3], i % 2) for i in range(first, first + count)]
    return _csv(folder / f"customers-{first}.csv", rows)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _row(output: str, start: str) -> list[str]:
    """The cells of the first table row starting with ``start`` (split on 2+ spaces)."""
    line = next(line for line in output.splitlines() if line.strip().startswith(start))
    return re.split(r"\s{2,}", line.strip())


def _assert_error(result: Result, first_line: str) -> None:
    """Like assert_one_error, for messages that go on over several lines (DuckDB's, diffs)."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {first_line}"), result.stderr
    assert lines[-1].startswith("hint: ")
    assert "Traceback" not in result.output


@pytest.fixture
def ingested(invoke: Invoke, tmp_path: Path) -> str:
    """raw.customers at version 1: two CSV files of three rows each."""
    assert _ok(invoke("data", "ingest", "raw.customers", str(_customers(tmp_path)))) == (
        "appended 3 rows: raw.customers@0\n"
    )
    second = _customers(tmp_path, first=4)
    assert "appended 3 rows: raw.customers@1" in _ok(
        invoke("data", "ingest", "raw.customers", str(second))
    )
    return "raw.customers"


def test_ls_describe_and_history(invoke: Invoke, ingested: str) -> None:
    row = _row(_ok(invoke("data", "ls")), "raw.customers")
    assert row[:3] == ["raw.customers", "1", "6"]
    assert row[3].endswith(("B", "KiB")) and row[5].startswith("local:")

    described = _ok(invoke("data", "describe", ingested))
    assert _row(described, "version")[1] == "raw.customers@1 (2 versions)"
    assert _row(described, "rows")[1] == "6"
    assert _row(described, "tenure_months") == ["tenure_months", "int64", "yes", "-"]
    assert _row(described, "upstream")[1] == "(none recorded)"

    history = _ok(invoke("data", "history", ingested))
    assert _row(history, "1")[2:5] == ["WRITE", "3", "-"]
    assert history.index(" 1 ") < history.index(" 0 ")  # newest first


def test_ls_of_an_empty_project(invoke: Invoke) -> None:
    assert "no tables in project 'default' yet" in _ok(invoke("data", "ls"))


def test_catalog_docs_search_and_lineage(
    invoke: Invoke, ingested: str, embedded: Installation
) -> None:
    platform = embedded.platform()
    platform.catalog.update(
        ingested,
        description="Customers of the churn demo",
        tags=["churn", "demo"],
        column_descriptions={"churned": "1 if the customer left"},
    )
    platform.data.create_view(
        "curated.by_contract",
        "SELECT contract, count(*) AS n FROM raw.customers GROUP BY 1",
    )

    described = _ok(invoke("data", "describe", ingested))
    assert _row(described, "tags")[1] == "churn, demo"
    assert _row(described, "churned")[-1] == "1 if the customer left"
    assert _row(described, "downstream")[1] == "curated.by_contract@0"
    view = _ok(invoke("data", "describe", "curated.by_contract"))
    assert _row(view, "upstream")[1] == "raw.customers@1"

    found = _ok(invoke("data", "search", "churn"))
    hit = _row(found, "raw.customers")
    assert "tag" in hit[1] and hit[-1] == "Customers of the churn demo"
    assert "no table of project 'default' matches" in _ok(invoke("data", "search", "zzz"))

    tree = _ok(invoke("data", "lineage", ingested)).splitlines()
    assert tree[0] == "raw.customers"
    down = tree.index("└── downstream")
    assert "raw.customers@1  version_of" in tree[down + 2]
    assert "curated.by_contract@0  derived_from" in tree[down + 3]
    upstream = _ok(invoke("data", "lineage", "curated.by_contract")).splitlines()
    assert "curated.by_contract@0  version" in upstream[2]
    assert "raw.customers@1  derived_from" in upstream[3]


def test_sql_as_table_csv_and_json(invoke: Invoke, ingested: str) -> None:
    query = "SELECT customer_id, churned FROM raw.customers ORDER BY customer_id"
    shown = _ok(invoke("data", "sql", query, "--limit", "2"))
    assert _row(shown, "C001") == ["C001", "1"]
    assert "C003" not in shown
    assert "6 rows returned; showing the first 2" in shown

    assert _ok(invoke("data", "sql", f"{query} LIMIT 1", "--format", "csv")) == (
        "customer_id,churned\nC001,1\n"
    )
    as_json = invoke("data", "sql", query, "-f", "json", "-n", "1")
    assert json.loads(_ok(as_json)) == [{"customer_id": "C001", "churned": 1}]
    assert "showing the first 1" in as_json.stderr  # stdout stays valid JSON

    past = _ok(invoke("data", "sql", "SELECT count(*) AS n FROM raw.customers@0"))
    assert _row(past, "3") == ["3"] and "1 row returned" in past


def test_optimize_vacuum_and_restore(invoke: Invoke, ingested: str) -> None:
    optimized = _ok(invoke("data", "optimize", ingested))
    assert re.fullmatch(
        r"files removed: 2 \(.+ KiB\), files added: 1 \(.+ KiB\); now raw.customers@2\n", optimized
    )
    assert _ok(invoke("data", "optimize", ingested)) == (
        "nothing to compact: raw.customers@2 is unchanged\n"
    )

    assert "nothing to vacuum in raw.customers" in _ok(invoke("data", "vacuum", ingested))
    unguarded = ("--retain-hours", "0", "--no-retention-guard")
    dry = _ok(invoke("data", "vacuum", ingested, *unguarded))
    assert "dry run: would delete 2 files from raw.customers; add --apply" in dry
    assert dry.count(".parquet") == 2
    applied = _ok(invoke("data", "vacuum", ingested, *unguarded, "--apply"))
    assert "deleted 2 files from raw.customers" in applied
    count = _ok(invoke("data", "sql", "SELECT count(*) AS n FROM raw.customers"))
    assert _row(count, "6") == ["6"]  # the current version is whole

    restored = _ok(invoke("data", "restore", ingested, "2"))  # after VACUUM START and END
    assert restored == (
        "restored raw.customers to the content of version 2 (6 rows): raw.customers@5\n"
    )
    assert "already at version 5" in _ok(invoke("data", "restore", ingested, "5"))
    history = _ok(invoke("data", "history", ingested))
    assert [_row(history, str(v))[2] for v in (5, 4, 3, 2)] == [
        "RESTORE",
        "VACUUM END",
        "VACUUM START",
        "OPTIMIZE",
    ]


def test_ingest_modes_and_schema_evolution(invoke: Invoke, ingested: str, tmp_path: Path) -> None:
    update = _csv(tmp_path / "update.csv", [("C001", 99, "two-year", 0)])
    merged = _ok(
        invoke("data", "ingest", ingested, str(update), "--mode", "merge", "-k", "customer_id")
    )
    assert merged == "merged 1 row: raw.customers@2\n"
    wider = _csv(tmp_path / "wider.csv", [("C100", 1, "one-year", 1, "web")], [*HEADER, "channel"])
    assert "raw.customers@3" in _ok(
        invoke("data", "ingest", ingested, str(wider), "--schema-mode", "merge")
    )
    replaced = _ok(invoke("data", "ingest", "raw.small", str(update), "--mode", "overwrite"))
    assert replaced == "wrote 1 row: raw.small@0\n"


def test_ingest_refuses_a_schema_mismatch(invoke: Invoke, ingested: str, tmp_path: Path) -> None:
    other = _csv(tmp_path / "other.csv", [(1, "x")], ["id", "name"])
    result = invoke("data", "ingest", ingested, str(other))
    _assert_error(result, "the data does not match the schema of 'raw.customers':")
    assert "  - extra column 'id' (int64)" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "hint: make the file match the table, or add --schema-mode merge to add its new columns"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("describe", "raw.nope"), "no table 'raw.nope' in this project's lake"),
        (("history", "raw.nope"), "no table 'raw.nope' in this project's lake"),
        (("optimize", "raw.nope"), "no table 'raw.nope' in this project's lake"),
        (
            ("restore", "raw.customers", "9"),
            "table 'raw.customers' has versions 0 to 1; got version=9",
        ),
        (("lineage", "run:nope"), "no lineage recorded for 'run:nope' in this project"),
        (
            ("vacuum", "raw.customers", "--retain-hours", "1"),
            "--retain-hours 1 is below the 168-hour retention guard: versions of "
            "'raw.customers' older than 1 hours would become unreadable",
        ),
        (
            ("ingest", "raw.customers", "x.csv", "--mode", "merge"),
            "--mode merge upserts on key columns; --key is missing",
        ),
        (("ingest", "raw.customers", "missing.csv"), "no file at 'missing.csv'"),
        (
            ("ingest", "Bad Name", "x.csv"),
            "the table name must be 'zone.name' with each part matching ^[a-z][a-z0-9_]{0,62}$; "
            "got 'Bad Name' instead",
        ),
    ],
)
def test_bad_input_is_one_error(
    invoke: Invoke, ingested: str, args: tuple[str, ...], message: str
) -> None:
    assert_one_error(invoke("data", *args), message)


@pytest.mark.parametrize(
    ("query", "first_line"),
    [
        ("SELEC 1", "Parser Error: syntax error at or near"),
        ("SELECT * FROM raw.nope", "Catalog Error: Table with name nope does not exist"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error: Cannot access file"),
        ("COPY raw.customers TO 'out.csv'", "warehouse SQL is read-only"),
    ],
)
def test_bad_sql_is_an_error_not_a_traceback(
    invoke: Invoke, ingested: str, query: str, first_line: str
) -> None:
    _assert_error(invoke("data", "sql", query), first_line)


def test_data_against_a_server(
    invoke: Invoke, live_server: LiveServer, project_name: str, tmp_path: Path
) -> None:
    remote = ("--url", live_server.url, "--api-key", live_server.key(project_name, "writer"))
    ingested = _ok(invoke("data", "ingest", "raw.customers", str(_customers(tmp_path)), *remote))
    assert ingested == "appended 3 rows: raw.customers@0\n"
    listed = _ok(invoke("data", "ls", *remote))
    assert f"tables of project {project_name!r}" in listed
    assert _row(listed, "raw.customers")[:3] == ["raw.customers", "0", "3"]
    counted = _ok(invoke("data", "sql", "SELECT count(*) AS n FROM raw.customers", *remote))
    assert _row(counted, "3") == ["3"]
    assert "raw.customers@0  version_of" in _ok(invoke("data", "lineage", "raw.customers", *remote))
    other = _csv(tmp_path / "other.csv", [(1, "x")], ["id", "name"])
    refused = invoke("data", "ingest", "raw.customers", str(other), *remote)
    _assert_error(refused, "the data does not match the schema of 'raw.customers':")
    assert "add --schema-mode merge" in refused.stderr  # the server's details came along
    assert_one_error(
        invoke("data", "sql", "SELECT * FROM read_csv('/etc/passwd')", *remote),
        'Permission Error: Cannot access file "/etc/passwd" - file system operations are '
        "disabled by configuration",
    )


def test_a_vacuumed_version_is_one_error_without_storage_paths(
    invoke: Invoke, ingested: str
) -> None:
    _ok(invoke("data", "optimize", ingested))
    _ok(
        invoke("data", "vacuum", ingested, "--retain-hours", "0", "--no-retention-guard", "--apply")
    )
    for result in (
        invoke("data", "restore", ingested, "0"),
        invoke("data", "sql", f"SELECT count(*) FROM {ingested}@0"),
    ):
        assert result.exit_code == 1 and result.stderr.startswith("error: ")
        assert "vacuum removed its files" in result.stderr
        assert ".podium" not in result.stderr and "Traceback" not in result.stderr
