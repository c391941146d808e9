"""``/v1/tables``, ``/v1/sql``, ``/v1/views``, ``/v1/catalog`` and ``/v1/lineage`` in process.

In process through the house ``client`` fixture (``httpx.ASGITransport``), on SQLite and
PostgreSQL; every error is checked to be a problem document.
"""

from __future__ import annotations

import base64
import io
import math
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from podium.access.roles import Role
from podium.api.tabular import ARROW_STREAM, MAX_PAGE
from podium.platform import Installation, Platform
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys

pytestmark = pytest.mark.anyio

TABLE = "/v1/tables/raw.customers"


@pytest.fixture
def writer(keys: Keys, project_name: str) -> dict[str, str]:
    return keys.headers(project_name, Role.WRITER)


@pytest.fixture
def reader(keys: Keys, project_name: str) -> dict[str, str]:
    return keys.headers(project_name, Role.READER)


@pytest.fixture
def embedded(installation: Installation, project_name: str) -> Platform:
    return installation.platform(project_name, user="local:test")


@pytest.fixture
def customers(embedded: Platform) -> pd.DataFrame:
    """``raw.customers`` at version 1: 150 rows, then 50 more."""
    df = pd.DataFrame(
        {"id": range(200), "plan": ["a", "b"] * 100, "spend": [i / 2 for i in range(200)]}
    )
    embedded.data.write("raw.customers", df.iloc[:150])
    embedded.data.write("raw.customers", df.iloc[150:])
    return df


def arrow_of(response: httpx.Response) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW_STREAM
    return pa.ipc.open_stream(response.content).read_all()


def ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


# -- writing ---------------------------------------------------------------------------


async def test_json_rows_create_a_table_listed_described_and_read(
    client: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    rows = [{"id": 1, "plan": "a"}, {"id": 2, "plan": "b"}]
    created = await client.post(f"{TABLE}/rows", json={"rows": rows}, headers=writer)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "name": "raw.customers",
        "version": 0,
        "rows_written": 2,
        "ref": "raw.customers@0",
    }
    listed = await client.get("/v1/tables", headers=reader)
    assert listed.json() == [{"name": "raw.customers", "version": 0, "ref": "raw.customers@0"}]
    page = (await client.get(f"{TABLE}/rows", headers=reader)).json()
    assert page["rows"] == rows and page["version"] == 0 and page["next_offset"] is None
    assert [c["name"] for c in page["columns"]] == ["id", "plan"]
    described = (await client.get(TABLE, headers=reader)).json()
    assert described["row_count"] == 2 and described["versions"] == 1
    assert (await client.get(f"{TABLE}/version", headers=reader)).json()["ref"] == "raw.customers@0"
    info = (await client.get(f"{TABLE}/info", headers=reader)).json()
    assert info["row_count"] == 2 and info["num_files"] == 1


@pytest.mark.parametrize("how", ["arrow", "parquet", "csv", "jsonl"])
async def test_arrow_and_file_uploads(
    client: httpx.AsyncClient, writer: dict[str, str], embedded: Platform, how: str
) -> None:
    table = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["x", "y", "z"]})
    if how == "arrow":
        body, headers = ipc(table), {"content-type": ARROW_STREAM}
    elif how == "parquet":
        sink = io.BytesIO()
        pq.write_table(table, sink)
        body, headers = sink.getvalue(), {"content-type": "application/vnd.apache.parquet"}
    elif how == "csv":
        body, headers = b"id,name\n1,x\n2,y\n3,z\n", {"content-type": "text/csv"}
    else:  # by ?format= rather than Content-Type
        body = b'{"id": 1, "name": "x"}\n{"id": 2, "name": "y"}\n{"id": 3, "name": "z"}\n'
        headers = {"content-type": "application/octet-stream"}
    params = {"format": "jsonl"} if how == "jsonl" else {}
    response = await client.post(
        "/v1/tables/raw.upload/rows", content=body, params=params, headers={**writer, **headers}
    )
    assert response.status_code == 201, response.text
    assert response.json()["rows_written"] == 3
    assert embedded.data.read("raw.upload").to_pylist() == table.to_pylist()


async def test_merge_and_overwrite_modes(
    client: httpx.AsyncClient, writer: dict[str, str], embedded: Platform
) -> None:
    url = "/v1/tables/raw.kv/rows"
    await client.post(url, json={"rows": [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}]}, headers=writer)
    merged = await client.post(
        url,
        json={"rows": [{"k": 2, "v": "B"}, {"k": 3, "v": "c"}]},
        params={"mode": "merge", "keys": "k"},
        headers=writer,
    )
    assert merged.status_code == 201, merged.text
    assert sorted(embedded.data.read("raw.kv").to_pylist(), key=lambda r: r["k"]) == [
        {"k": 1, "v": "a"},
        {"k": 2, "v": "B"},
        {"k": 3, "v": "c"},
    ]
    over = await client.post(
        url,
        json={"rows": [{"k": 9, "v": "z", "w": 1.0}]},
        params={"mode": "overwrite", "schema_mode": "overwrite"},
        headers=writer,
    )
    assert over.json()["version"] == 2
    assert embedded.data.read("raw.kv").to_pylist() == [{"k": 9, "v": "z", "w": 1.0}]
    no_keys = await client.post(
        url, json={"rows": [{"k": 1}]}, params={"mode": "merge"}, headers=writer
    )
    assert assert_problem(no_keys, 400)["field"] == "keys"
    bad_mode = await client.post(
        url, json={"rows": [{"k": 1}]}, params={"mode": "upsert"}, headers=writer
    )
    assert assert_problem(bad_mode, 400)["field"] == "mode"


async def test_schema_mismatch_is_400_with_the_column_diff(
    client: httpx.AsyncClient, writer: dict[str, str], customers: pd.DataFrame
) -> None:
    response = await client.post(
        f"{TABLE}/rows", json={"rows": [{"id": "seven", "extra": 1}]}, headers=writer
    )
    body = assert_problem(response, 400, code="invalid-input")
    assert body["field"] == "data"
    assert "column 'id' type changed: table has int64, got string" in body["differences"]
    assert any("extra" in d for d in body["differences"])
    evolved = await client.post(
        f"{TABLE}/rows",
        json={"rows": [{"id": 500, "plan": "c", "spend": 1.0, "region": "eu"}]},
        params={"schema_mode": "merge"},
        headers=writer,
    )
    assert evolved.status_code == 201, evolved.text


@pytest.mark.parametrize(
    ("body", "headers", "field"),
    [
        (b"", {"content-type": "application/json"}, "body"),
        (b'{"rows": []}', {"content-type": "application/json"}, "rows"),
        (b'{"rows": [1, 2]}', {"content-type": "application/json"}, "rows"),
        (b'{"rows": [{"a": 1}, {"a": "x"}]}', {"content-type": "application/json"}, "body"),
        (b"{not json", {"content-type": "application/json"}, "body"),
        (b"not parquet", {"content-type": "application/x-parquet"}, "body"),
        (b"not arrow", {"content-type": ARROW_STREAM}, "body"),
        (b"a,b", {"content-type": "image/png"}, "content-type"),
    ],
)
async def test_unreadable_uploads_are_400(
    client: httpx.AsyncClient,
    writer: dict[str, str],
    body: bytes,
    headers: dict[str, str],
    field: str,
) -> None:
    response = await client.post(
        "/v1/tables/raw.bad/rows", content=body, headers={**writer, **headers}
    )
    assert assert_problem(response, 400)["field"] == field


# -- reading ---------------------------------------------------------------------------


async def test_row_pages_time_travel_and_columns(
    client: httpx.AsyncClient, reader: dict[str, str], customers: pd.DataFrame, embedded: Platform
) -> None:
    first = (await client.get(f"{TABLE}/rows", headers=reader)).json()
    assert first["row_count"] == 100 and first["total_rows"] == 200 and first["next_offset"] == 100
    assert first["version"] == 1
    second = (
        await client.get(f"{TABLE}/rows", params={"offset": 100, "limit": 150}, headers=reader)
    ).json()
    assert second["row_count"] == 100 and second["next_offset"] is None
    # Pages of one version are stable: together they hold every row once.
    assert sorted(r["id"] for r in first["rows"] + second["rows"]) == list(range(200))

    old = (
        await client.get(f"{TABLE}/rows", params={"version": 0, "limit": 1000}, headers=reader)
    ).json()
    assert old["total_rows"] == 150 and old["version"] == 0
    created = embedded.data.history("raw.customers")[0].timestamp
    as_of = (created + timedelta(milliseconds=1)).isoformat()
    at_time = await client.get(f"{TABLE}/rows", params={"as_of": as_of}, headers=reader)
    assert at_time.json()["total_rows"] == 150

    narrow = await client.get(
        f"{TABLE}/rows", params={"columns": ["spend", "id"], "limit": 1000}, headers=reader
    )
    assert [c["name"] for c in narrow.json()["columns"]] == ["spend", "id"]
    assert {(r["id"], r["spend"]) for r in narrow.json()["rows"]} == {
        (i, i / 2) for i in range(200)
    }
    unknown = await client.get(f"{TABLE}/rows", params={"columns": "nope"}, headers=reader)
    assert assert_problem(unknown, 400)["field"] == "columns"


async def test_arrow_rows_are_exact_and_whole(
    client: httpx.AsyncClient, reader: dict[str, str], customers: pd.DataFrame, embedded: Platform
) -> None:
    by_accept = await client.get(f"{TABLE}/rows", headers={**reader, "accept": ARROW_STREAM})
    assert arrow_of(by_accept).equals(embedded.data.read("raw.customers"))
    assert by_accept.headers["x-podium-total-rows"] == "200"
    assert by_accept.headers["x-podium-table-version"] == "1"
    paged = await client.get(
        f"{TABLE}/rows", params={"format": "arrow", "offset": 10, "limit": 5}, headers=reader
    )
    assert arrow_of(paged).equals(embedded.data.read("raw.customers").slice(10, 5))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": MAX_PAGE + 1}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"version": 7}, "version"),
        ({"version": -1}, "version"),
        ({"version": 0, "as_of": "2020-01-01T00:00:00"}, "version"),
        ({"format": "xml"}, "format"),
    ],
)
async def test_bad_row_requests_are_400(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    customers: pd.DataFrame,
    params: dict[str, str | int],
    field: str,
) -> None:
    response = await client.get(f"{TABLE}/rows", params=params, headers=reader)
    assert assert_problem(response, 400)["field"] == field


async def test_json_encoding_of_arrow_types(
    client: httpx.AsyncClient, reader: dict[str, str], embedded: Platform
) -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    embedded.data.write(
        "raw.types",
        pa.table(
            {
                "ts": pa.array([when, None], pa.timestamp("us", tz="UTC")),
                "x": [math.nan, 1.5],
                "blob": [b"\x00\x01", b"hi"],
            }
        ),
    )
    rows = (await client.get("/v1/tables/raw.types/rows", headers=reader)).json()["rows"]
    assert rows == [
        {
            "ts": "2024-05-01T12:30:00+00:00",
            "x": None,
            "blob": base64.b64encode(b"\x00\x01").decode(),
        },
        {"ts": None, "x": 1.5, "blob": base64.b64encode(b"hi").decode()},
    ]


async def test_history_delete_restore_and_changes(
    client: httpx.AsyncClient, writer: dict[str, str], customers: pd.DataFrame
) -> None:
    deleted = await client.post(f"{TABLE}/delete", json={"where": "id >= 100"}, headers=writer)
    assert deleted.json() == {
        "name": "raw.customers",
        "version": 2,
        "rows_written": 100,
        "ref": "raw.customers@2",
    }
    restored = await client.post(f"{TABLE}/restore", json={"version": 1}, headers=writer)
    assert restored.json()["version"] == 3 and restored.json()["rows_written"] == 200
    history = (await client.get(f"{TABLE}/history", headers=writer)).json()
    assert [h["version"] for h in history] == [0, 1, 2, 3]
    assert history[2]["operation"] == "DELETE" and history[2]["rows_removed"] == 100
    assert history[0]["actor"] == "local:test"
    changes = await client.get(
        f"{TABLE}/changes", params={"since_version": 2, "limit": 1000}, headers=writer
    )
    kinds = {row["_change_type"] for row in changes.json()["rows"]}
    assert "delete" in kinds
    unknown = await client.post(f"{TABLE}/restore", json={"version": 99}, headers=writer)
    assert assert_problem(unknown, 400)["field"] == "version"
    no_where = await client.post(f"{TABLE}/delete", json={"where": " "}, headers=writer)
    assert assert_problem(no_where, 400)["field"] == "where"
    no_since = await client.get(f"{TABLE}/changes", headers=writer)
    assert assert_problem(no_since, 400)["field"] == "since_version"


async def test_optimize_and_vacuum(
    client: httpx.AsyncClient, writer: dict[str, str], customers: pd.DataFrame
) -> None:
    optimized = await client.post(f"{TABLE}/optimize", headers=writer)
    assert optimized.status_code == 200, optimized.text
    assert optimized.json()["files_removed"] == 2 and optimized.json()["files_added"] == 1
    dry = await client.post(f"{TABLE}/vacuum", headers=writer)
    assert dry.json() == {"files": [], "dry_run": True}
    guarded = await client.post(f"{TABLE}/vacuum", json={"retain_hours": 1}, headers=writer)
    assert assert_problem(guarded, 400)["field"] == "retain_hours"


# -- SQL and views ---------------------------------------------------------------------


async def test_sql_as_json_and_arrow(
    client: httpx.AsyncClient, reader: dict[str, str], customers: pd.DataFrame, embedded: Platform
) -> None:
    query = "SELECT plan, count(*) AS n FROM raw.customers GROUP BY plan ORDER BY plan"
    answer = (await client.post("/v1/sql", json={"query": query}, headers=reader)).json()
    assert answer["rows"] == [{"plan": "a", "n": 100}, {"plan": "b", "n": 100}]
    assert answer["row_count"] == 2 and [c["name"] for c in answer["columns"]] == ["plan", "n"]
    as_arrow = await client.post(
        "/v1/sql", json={"query": query}, headers={**reader, "accept": ARROW_STREAM}
    )
    assert arrow_of(as_arrow).equals(embedded.data.sql(query))
    limited = await client.post(
        "/v1/sql", json={"query": "SELECT * FROM raw.customers@0", "limit": 10}, headers=reader
    )
    assert limited.json()["row_count"] == 10 and limited.json()["total_rows"] == 150


@pytest.mark.parametrize(
    "query",
    [
        "SELEC 1",
        "SELECT * FROM raw.nothing",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('/etc/hosts')",
        "COPY (SELECT 1) TO '/tmp/podium-leak.csv'",
        "ATTACH '/tmp/x.db'",
        "INSTALL httpfs",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; SELECT 2",
        "",
    ],
)
async def test_bad_or_escaping_sql_is_400(
    client: httpx.AsyncClient, reader: dict[str, str], customers: pd.DataFrame, query: str
) -> None:
    response = await client.post("/v1/sql", json={"query": query}, headers=reader)
    assert assert_problem(response, 400, code="invalid-input")["field"] == "query"
    assert "root:" not in response.text


async def test_create_view_with_lineage(
    client: httpx.AsyncClient, writer: dict[str, str], customers: pd.DataFrame
) -> None:
    query = "SELECT plan, sum(spend) AS spend FROM raw.customers GROUP BY plan"
    created = await client.post(
        "/v1/views", json={"name": "curated.spend", "query": query}, headers=writer
    )
    assert created.status_code == 201, created.text
    assert created.json()["ref"] == "curated.spend@0"
    graph = (await client.get("/v1/lineage/curated.spend", headers=writer)).json()
    assert {
        "source": "table:raw.customers@1",
        "target": "table:curated.spend@0",
        "kind": "derived_from",
    } in graph["edges"]
    bad = await client.post("/v1/views", json={"name": "Bad", "query": query}, headers=writer)
    assert assert_problem(bad, 400)["field"] == "name"


# -- catalog ---------------------------------------------------------------------------


async def test_catalog_update_describe_search_lineage(
    client: httpx.AsyncClient, writer: dict[str, str], customers: pd.DataFrame
) -> None:
    update = {
        "owner": "ana",
        "description": "one row per churn customer",
        "tags": ["churn", "pii"],
        "column_descriptions": {"spend": "monthly spend in EUR"},
    }
    updated = await client.patch(TABLE, json=update, headers=writer)
    assert updated.status_code == 200, updated.text
    described = (await client.get(TABLE, headers=writer)).json()
    assert described == updated.json()
    assert described["owner"] == "ana" and described["tags"] == ["churn", "pii"]
    spend = next(c for c in described["columns"] if c["name"] == "spend")
    assert spend["description"] == "monthly spend in EUR"
    kept = (await client.patch(TABLE, json={"description": "new"}, headers=writer)).json()
    assert kept["owner"] == "ana" and kept["description"] == "new"

    hits = (await client.get("/v1/catalog/search", params={"q": "churn"}, headers=writer)).json()
    assert [h["name"] for h in hits] == ["raw.customers"]
    empty = await client.get("/v1/catalog/search", params={"q": " "}, headers=writer)
    assert_problem(empty, 400)
    graph = (
        await client.get("/v1/lineage/raw.customers@1", params={"depth": 1}, headers=writer)
    ).json()
    assert graph["root"] == "table:raw.customers@1"
    deep = await client.get("/v1/lineage/raw.customers", params={"depth": 99}, headers=writer)
    assert assert_problem(deep, 400)["field"] == "depth"
    unknown_run = await client.get("/v1/lineage/run:nope", headers=writer)
    assert_problem(unknown_run, 404)
    bad_column = await client.patch(
        TABLE, json={"column_descriptions": {"nope": "x"}}, headers=writer
    )
    assert_problem(bad_column, 400)


# -- names, roles and tenancy ----------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1/tables/customers", "/v1/tables/Raw.x/rows", "/v1/tables/raw.x.y/history"]
)
async def test_bad_table_names_are_400(
    client: httpx.AsyncClient, reader: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=reader)
    assert assert_problem(response, 400)["field"] == "name"


async def test_unknown_table_is_404(client: httpx.AsyncClient, reader: dict[str, str]) -> None:
    for path in (TABLE, f"{TABLE}/rows", f"{TABLE}/history", f"{TABLE}/info"):
        assert_problem(await client.get(path, headers=reader), 404, code="not-found")


async def test_keys_and_roles(
    client: httpx.AsyncClient, reader: dict[str, str], customers: pd.DataFrame
) -> None:
    assert_problem(await client.get("/v1/tables"), 401)
    rows = {"rows": [{"id": 1, "plan": "a", "spend": 1.0}]}
    for response in (
        await client.post(f"{TABLE}/rows", json=rows, headers=reader),
        await client.post(f"{TABLE}/delete", json={"where": "id = 1"}, headers=reader),
        await client.patch(TABLE, json={"owner": "x"}, headers=reader),
        await client.post("/v1/views", json={"name": "a.b", "query": "SELECT 1"}, headers=reader),
        await client.post(f"{TABLE}/vacuum", headers=reader),
    ):
        assert_problem(response, 403)
    assert (
        await client.post("/v1/sql", json={"query": "SELECT 1"}, headers=reader)
    ).status_code == 200


async def test_another_projects_key_sees_none_of_its_tables(
    client: httpx.AsyncClient, keys: Keys, other_project: str, customers: pd.DataFrame
) -> None:
    other = keys.headers(other_project, Role.ADMIN)
    assert (await client.get("/v1/tables", headers=other)).json() == []
    for path in (TABLE, f"{TABLE}/rows", f"{TABLE}/history", "/v1/lineage/raw.customers"):
        assert_problem(await client.get(path, headers=other), 404)
    hits = await client.get("/v1/catalog/search", params={"q": "customers"}, headers=other)
    assert hits.json() == []
    query = await client.post(
        "/v1/sql", json={"query": "SELECT * FROM raw.customers"}, headers=other
    )
    assert_problem(query, 400)
    assert_problem(await client.patch(TABLE, json={"owner": "x"}, headers=other), 404)
    # Writing the same name in the other project makes a table of its own.
    mine = await client.post(f"{TABLE}/rows", json={"rows": [{"z": 1}]}, headers=other)
    assert mine.json()["version"] == 0
