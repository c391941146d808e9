"""``/v1/features`` in process (``httpx.ASGITransport``), on SQLite and PostgreSQL.

Happy paths of every route, and every bad input the feature store names: unknown feature
or view (404), entity frames without the time or join key, wrong key types and on-demand
functions that raise (400), each a problem document naming the culprit, never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from sqlalchemy import event

from podium.access.roles import Role
from podium.api.app import create_app
from podium.api.tabular import ARROW_STREAM
from podium.config import Settings
from podium.features.definitions import Feature, OnDemandFeatureView
from podium.features.protocol import DefinitionDescription
from podium.platform import Installation, Platform
from tests.api.assertions import assert_problem
from tests.api.conftest import Keys
from tests.features import odfv_functions
from tests.features.conftest import (
    CUSTOMER,
    NOW,
    REDIS_ENV,
    STATS,
    customer_rows,
    redis_url,
    seed,
)

pytestmark = pytest.mark.anyio

BASE = "/v1/features"
FEATURES = [
    "customer_stats:tenure_months",
    "customer_stats:monthly_charges",
    "customer_stats:plan",
]


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
def seeded(embedded: Platform) -> Platform:
    seed(embedded)
    return embedded


@pytest.fixture
def materialized(seeded: Platform) -> Platform:
    seeded.features.materialize(end=NOW)
    return seeded


def definition(item: Any) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "name": item.name,
        "spec": item.to_spec(),
        "description": item.description,
        "owner": item.owner,
        "tags": dict(item.tags),
    }


def ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def arrow_of(response: httpx.Response) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == ARROW_STREAM
    return pa.ipc.open_stream(response.content).read_all()


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# -- definitions -------------------------------------------------------------------------


async def test_plan_apply_list_describe_and_search(
    client: httpx.AsyncClient,
    writer: dict[str, str],
    reader: dict[str, str],
    embedded: Platform,
) -> None:
    embedded.data.write("raw.customers", customer_rows(), mode="overwrite")
    body = {"definitions": [definition(CUSTOMER), definition(STATS)]}
    planned = await client.post(f"{BASE}/plan", json=body, headers=writer)
    assert planned.status_code == 200, planned.text
    assert [(c["name"], c["action"], c["version"]) for c in planned.json()] == [
        ("customer", "create", 1),
        ("customer_stats", "create", 1),
    ]
    assert embedded.features.list_definitions() == []  # plan stores nothing
    applied = await client.post(f"{BASE}/apply", json=body, headers=writer)
    assert applied.status_code == 200, applied.text
    assert applied.json()[1]["spec"] == STATS.to_spec()
    assert [d.name for d in embedded.features.list_definitions()] == ["customer", "customer_stats"]
    again = await client.post(f"{BASE}/apply", json=body, headers=writer)
    assert [c["action"] for c in again.json()] == ["unchanged", "unchanged"]

    listed = await client.get(f"{BASE}/definitions", params={"kind": "entity"}, headers=reader)
    assert [(d["name"], d["spec"]["value_type"]) for d in listed.json()] == [("customer", "int64")]
    described = (await client.get(f"{BASE}/definitions/customer_stats", headers=reader)).json()
    assert DefinitionDescription.model_validate(described) == embedded.features.describe(
        "customer_stats"
    )
    assert described["owner"] == "growth-team" and described["fresh_until"] is None
    found = (await client.get(f"{BASE}/search", params={"q": "monthly"}, headers=reader)).json()
    assert found == [
        {
            "kind": "feature_view",
            "name": "customer_stats",
            "version": 1,
            "description": "how long and how much customers pay",
            "owner": "growth-team",
            "matching_features": ["monthly_charges"],
        }
    ]


async def test_definition_errors(
    client: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str], seeded: Platform
) -> None:
    stats = definition(STATS)
    missing_spec = {**stats, "spec": {"source": "raw.customers"}}
    bad = await client.post(f"{BASE}/plan", json={"definitions": [missing_spec]}, headers=writer)
    assert assert_problem(bad, 400, code="invalid-input")["field"] == "definitions.0.spec"
    odfv = definition(
        OnDemandFeatureView(
            "ratio",
            function=odfv_functions.charge_per_tenure,
            inputs=["customer_stats:monthly_charges"],
            features=[Feature("charge_per_tenure", "float64")],
        )
    )
    odfv["spec"]["function"] = "not_installed_anywhere:compute"
    refused = await client.post(f"{BASE}/apply", json={"definitions": [odfv]}, headers=writer)
    problem = assert_problem(refused, 400)
    assert problem["field"] == "definitions.0.spec.function"
    assert "importable where the podium server runs" in problem["detail"]
    unknown_kind = {**stats, "kind": "table"}
    wrong = await client.post(f"{BASE}/apply", json={"definitions": [unknown_kind]}, headers=writer)
    assert assert_problem(wrong, 400)["field"] == "definitions.0.kind"
    extra = await client.post(
        f"{BASE}/apply", json={"definitions": [stats], "force": True}, headers=writer
    )
    assert assert_problem(extra, 400)["field"] == "force"
    empty = await client.post(f"{BASE}/apply", json={"definitions": []}, headers=writer)
    assert assert_problem(empty, 400)["field"] == "definitions"
    denied = await client.post(f"{BASE}/apply", json={"definitions": [stats]}, headers=reader)
    assert_problem(denied, 403, code="permission-denied")
    nothing = await client.get(f"{BASE}/definitions/nobody", headers=reader)
    assert "nobody" in assert_problem(nothing, 404, code="not-found")["detail"]
    kind = await client.get(f"{BASE}/definitions", params={"kind": "table"}, headers=reader)
    assert assert_problem(kind, 400)["field"] == "kind"


async def test_other_projects_see_nothing(
    client: httpx.AsyncClient, keys: Keys, other_project: str, materialized: Platform
) -> None:
    outsider = keys.headers(other_project, Role.WRITER)
    described = await client.get(f"{BASE}/definitions/customer_stats", headers=outsider)
    assert_problem(described, 404)
    online = await client.post(
        f"{BASE}/online",
        json={"entity_rows": [{"customer_id": 1}], "features": FEATURES},
        headers=outsider,
    )
    assert "customer_stats" in assert_problem(online, 404)["detail"]
    assert (await client.get(f"{BASE}/definitions", headers=outsider)).json() == []


# -- the feature server ------------------------------------------------------------------


async def test_online_features_with_statuses_and_entity_columns(
    client: httpx.AsyncClient, reader: dict[str, str], materialized: Platform
) -> None:
    rows = [{"customer_id": i} for i in (1, 2, 3, 4)]
    response = await client.post(
        f"{BASE}/online", json={"entity_rows": rows, "features": FEATURES}, headers=reader
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "entities": {"customer_id": [1, 2, 3, 4]},
        "features": {
            "tenure_months": [12, 4, None, None],
            "monthly_charges": [60.125, 21.0, None, None],
            "plan": ["pro", "basic", None, None],
        },
        "statuses": {
            name: ["present", "present", "outside_ttl", "missing"]
            for name in ("tenure_months", "monthly_charges", "plan")
        },
        "versions": {"customer_stats": 1},
    }
    star = await client.post(
        f"{BASE}/online",
        json={"entity_rows": rows[:1], "features": ["customer_stats:*"]},
        headers=reader,
    )
    assert list(star.json()["features"]) == ["tenure_months", "monthly_charges", "plan"]


@pytest.mark.parametrize(
    ("body", "status", "field", "named"),
    [
        ({"features": ["no_such_view:x"]}, 404, "features", "no_such_view"),
        ({"features": ["customer_stats:nope"]}, 404, "features", "nope"),
        ({"features": ["not a ref"]}, 400, "features", "not a ref"),
        ({"feature_service": "no_service"}, 404, "features", "no_service"),
        ({"features": FEATURES, "feature_service": "x"}, 400, "features", "both"),
        ({}, 400, "features", "neither"),
        ({"features": FEATURES, "rows": []}, 400, "rows", "rows"),
        ({"entity_rows": [{"customer_id": "1"}], "features": FEATURES}, 400, "customer_id", "'1'"),
        ({"entity_rows": [{"customer_id": 1.5}], "features": FEATURES}, 400, "customer_id", "1.5"),
        ({"entity_rows": [{"id": 1}], "features": FEATURES}, 400, "customer_id", "customer_id"),
        ({"entity_rows": [1, 2], "features": FEATURES}, 400, "entity_rows.0", "dictionary"),
        ({"entity_rows": "customer 1", "features": FEATURES}, 400, "entity_rows", "list"),
    ],
)
async def test_online_bad_input_is_a_problem_naming_it(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    materialized: Platform,
    body: dict[str, Any],
    status: int,
    field: str,
    named: str,
) -> None:
    response = await client.post(
        f"{BASE}/online", json={"entity_rows": [{"customer_id": 1}], **body}, headers=reader
    )
    problem = assert_problem(response, status)
    assert problem["field"] == field
    assert named in problem["detail"]


async def test_online_on_demand_function_that_raises_is_a_400(
    client: httpx.AsyncClient, reader: dict[str, str], materialized: Platform
) -> None:
    broken = OnDemandFeatureView(
        "broken",
        function=odfv_functions.explode,
        inputs=["customer_stats:tenure_months"],
        features=[Feature("boom", "float64")],
    )
    materialized.features.apply([broken])
    response = await client.post(
        f"{BASE}/online",
        json={"entity_rows": [{"customer_id": 1}], "features": ["broken:boom"]},
        headers=reader,
    )
    problem = assert_problem(response, 400, code="invalid-input")
    assert problem["field"] == "broken"
    assert "ZeroDivisionError" in problem["detail"]


async def test_the_feature_server_makes_no_metadata_query_per_request(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    materialized: Platform,
    installation: Installation,
) -> None:
    body = {"entity_rows": [{"customer_id": 1}], "features": FEATURES}
    warm = await client.post(f"{BASE}/online", json=body, headers=reader)
    assert warm.status_code == 200, warm.text
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(installation.db.engine, "before_cursor_execute", count)
    try:
        again = await client.post(f"{BASE}/online", json=body, headers=reader)
    finally:
        event.remove(installation.db.engine, "before_cursor_execute", count)
    assert again.json() == warm.json()
    assert statements == []


async def test_the_feature_server_on_the_redis_online_store(
    settings: Settings, project_name: str
) -> None:
    url = redis_url()
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    installation = Installation(settings.model_copy(update={"online_store_url": url}))
    try:
        platform = installation.platform(project_name, user="local:test")
        seed(platform)
        platform.features.materialize(end=NOW)
        headers = Keys(installation).headers(project_name, Role.READER)
        transport = httpx.ASGITransport(app=create_app(installation))
        async with httpx.AsyncClient(transport=transport, base_url="http://podium.test") as http:
            rows = [{"customer_id": i} for i in (1, 3, 4)]
            response = await http.post(
                f"{BASE}/online", json={"entity_rows": rows, "features": FEATURES}, headers=headers
            )
        assert response.status_code == 200, response.text
        assert response.json()["features"]["tenure_months"] == [12, None, None]
        assert response.json()["statuses"]["plan"] == ["present", "outside_ttl", "missing"]
    finally:
        installation.close()


# -- training sets -----------------------------------------------------------------------


async def test_historical_from_json_rows_and_arrow_equal_embedded(
    client: httpx.AsyncClient, reader: dict[str, str], seeded: Platform
) -> None:
    ids = [1, 2, 3, 4]
    offset = NOW.astimezone(timezone(timedelta(hours=2)))
    rows = [{"customer_id": i, "event_timestamp": iso(NOW)} for i in ids[:2]] + [
        {"customer_id": 3, "event_timestamp": offset.isoformat()},
        {"customer_id": 4, "event_timestamp": NOW.replace(tzinfo=None).isoformat()},
    ]
    response = await client.post(
        f"{BASE}/historical", params={"features": FEATURES}, json={"rows": rows}, headers=reader
    )
    table = arrow_of(response)
    entity = pa.table(
        {
            "customer_id": pa.array(ids, pa.int64()),
            "event_timestamp": pa.array([NOW] * 4, pa.timestamp("us", tz="UTC")),
        }
    )
    expected = seeded.features.get_historical_features(entity, FEATURES)
    assert table.equals(expected.to_arrow())
    assert table.column("tenure_months").to_pylist() == [12, 4, None, None]
    assert response.headers["x-podium-inputs"] == "raw.customers@0"
    assert response.headers["x-podium-features"] == ",".join(
        ref.replace(":", "@1:") for ref in FEATURES
    )
    as_arrow = await client.post(
        f"{BASE}/historical",
        params={"features": FEATURES},
        content=ipc(entity),
        headers={**reader, "content-type": ARROW_STREAM},
    )
    assert arrow_of(as_arrow).equals(table)


async def test_historical_save_needs_a_writer_and_names_the_version(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    writer: dict[str, str],
    seeded: Platform,
    installation: Installation,
) -> None:
    body = {"rows": [{"customer_id": 1, "event_timestamp": iso(NOW)}]}
    params: dict[str, Any] = {"features": FEATURES, "save": "curated.train"}
    denied = await client.post(f"{BASE}/historical", params=params, json=body, headers=reader)
    assert_problem(denied, 403, code="permission-denied")
    saved = await client.post(f"{BASE}/historical", params=params, json=body, headers=writer)
    assert arrow_of(saved).num_rows == 1
    assert saved.headers["x-podium-saved"] == "curated.train@0"
    assert seeded.data.read("curated.train").equals(arrow_of(saved))
    project_id = installation.projects.get(seeded.project).id
    audited = installation.audit.list(project_id, action="save_training_set")
    assert [(e.target, e.outcome) for e in reversed(audited)] == [
        ("curated.train", "permission-denied"),
        ("curated.train", "ok"),
    ]
    bad_name = await client.post(
        f"{BASE}/historical", params={**params, "save": "../etc"}, json=body, headers=writer
    )
    assert_problem(bad_name, 400)


@pytest.mark.parametrize(
    ("rows", "params", "status", "field", "named"),
    [
        ([{"customer_id": 1}], {}, 400, "event_timestamp", "event_timestamp"),
        ([{"event_timestamp": "2024-01-01T00:00:00Z"}], {}, 400, "customer_id", "customer_id"),
        (
            [{"customer_id": "1", "event_timestamp": "2024-01-01T00:00:00Z"}],
            {},
            400,
            "customer_id",
            "customer_id",
        ),
        ([{"customer_id": 1, "event_timestamp": "yesterday"}], {}, 400, "event_timestamp", "ISO"),
        (
            [{"customer_id": 1, "event_timestamp": "2024-01-01T00:00:00Z"}],
            {"features": ["ghost:x"]},
            404,
            "features",
            "ghost",
        ),
    ],
)
async def test_historical_bad_input_is_a_problem_naming_it(
    client: httpx.AsyncClient,
    reader: dict[str, str],
    seeded: Platform,
    rows: list[dict[str, Any]],
    params: dict[str, Any],
    status: int,
    field: str,
    named: str,
) -> None:
    response = await client.post(
        f"{BASE}/historical",
        params={"features": FEATURES, **params},
        json={"rows": rows},
        headers=reader,
    )
    problem = assert_problem(response, status)
    assert problem["field"] == field
    assert named in problem["detail"]


async def test_historical_on_demand_function_that_raises_is_a_400(
    client: httpx.AsyncClient, reader: dict[str, str], seeded: Platform
) -> None:
    broken = OnDemandFeatureView(
        "broken",
        function=odfv_functions.explode,
        inputs=["customer_stats:tenure_months"],
        features=[Feature("boom", "float64")],
    )
    seeded.features.apply([broken])
    response = await client.post(
        f"{BASE}/historical",
        params={"features": ["broken:boom"]},
        json={"rows": [{"customer_id": 1, "event_timestamp": iso(NOW)}]},
        headers=reader,
    )
    problem = assert_problem(response, 400)
    assert problem["field"] == "broken" and "ZeroDivisionError" in problem["detail"]
    unreadable = await client.post(
        f"{BASE}/historical",
        params={"features": FEATURES},
        content=b"not arrow",
        headers={**reader, "content-type": ARROW_STREAM},
    )
    assert assert_problem(unreadable, 400)["field"] == "body"


# -- materialize and push ----------------------------------------------------------------


async def test_materialize_push_and_materializations(
    client: httpx.AsyncClient,
    writer: dict[str, str],
    reader: dict[str, str],
    seeded: Platform,
) -> None:
    denied = await client.post(f"{BASE}/materialize", json={"end": iso(NOW)}, headers=reader)
    assert_problem(denied, 403)
    first = await client.post(
        f"{BASE}/materialize",
        json={"end": iso(NOW - timedelta(days=4)), "views": ["customer_stats"]},
        headers=writer,
    )
    assert first.status_code == 200, first.text
    assert [(m["view"], m["rows"], m["start"]) for m in first.json()] == [
        ("customer_stats", 2, None)
    ]
    both = await client.post(
        f"{BASE}/materialize",
        json={"start": iso(NOW), "incremental": True},
        headers=writer,
    )
    assert assert_problem(both, 400)["field"] == "start"
    second = await client.post(
        f"{BASE}/materialize", json={"end": iso(NOW), "incremental": True}, headers=writer
    )
    assert second.json()[0]["start"] == (NOW - timedelta(days=4)).isoformat()
    runs = (
        await client.get(f"{BASE}/views/customer_stats/materializations", headers=reader)
    ).json()
    assert [run["end"] for run in runs] == [NOW.isoformat(), (NOW - timedelta(days=4)).isoformat()]

    fresh = datetime.now(UTC)
    row = {
        "customer_id": 9,
        "event_ts": iso(fresh),
        "tenure_months": 2,
        "monthly_charges": 10.5,
        "plan": "pro",
    }
    pushed = await client.post(f"{BASE}/push/customer_stats", json={"rows": [row]}, headers=writer)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() == {
        "view": "customer_stats",
        "rows": 1,
        "online_rows": 1,
        "table": "raw.customers@1",
    }
    online = await client.post(
        f"{BASE}/online",
        json={"entity_rows": [{"customer_id": 9}], "features": FEATURES},
        headers=reader,
    )
    assert online.json()["features"]["plan"] == ["pro"]
    arrow_rows = pa.table(
        {
            "customer_id": pa.array([10], pa.int64()),
            "event_ts": pa.array([fresh], pa.timestamp("us", tz="UTC")),
            "tenure_months": pa.array([1], pa.int64()),
            "monthly_charges": [1.0],
            "plan": ["basic"],
        }
    )
    as_arrow = await client.post(
        f"{BASE}/push/customer_stats",
        content=ipc(arrow_rows),
        headers={**writer, "content-type": ARROW_STREAM},
    )
    assert as_arrow.json()["table"] == "raw.customers@2"


async def test_push_bad_input_is_a_problem_naming_it(
    client: httpx.AsyncClient, writer: dict[str, str], seeded: Platform
) -> None:
    row = {"customer_id": 9, "event_ts": iso(NOW), "tenure_months": 2, "monthly_charges": 1.5}
    missing = await client.post(f"{BASE}/push/customer_stats", json={"rows": [row]}, headers=writer)
    assert assert_problem(missing, 400)["field"] == "plan"
    unknown = await client.post(f"{BASE}/push/ghost", json={"rows": [row]}, headers=writer)
    assert "ghost" in assert_problem(unknown, 404)["detail"]
    typed = {**row, "plan": "pro", "customer_id": "9"}
    wrong = await client.post(f"{BASE}/push/customer_stats", json={"rows": [typed]}, headers=writer)
    assert assert_problem(wrong, 400)["field"] == "customer_id"
    assert seeded.data.version("raw.customers") == 0  # nothing half-written
