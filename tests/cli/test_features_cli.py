"""``podium features``: plan and apply a Python file, browse, materialize, get, push; errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import Result

from podium.cli.features import load_definitions, parse_entity
from podium.errors import InvalidInputError
from podium.platform import Installation
from tests.cli.assertions import Invoke, assert_one_error
from tests.conftest import LiveServer
from tests.features.conftest import NOW, customer_rows

REPO = """
from datetime import timedelta

import pandas as pd

from podium.features.definitions import (
    Entity, Feature, FeatureService, FeatureView, OnDemandFeatureView,
)

customer = Entity("customer", join_keys=["customer_id"], description="a paying customer")
stats = FeatureView(
    "customer_stats",
    entities=[customer],
    source="raw.customers",
    timestamp_field="event_ts",
    ttl=timedelta(days=30),
    features=[
        Feature("tenure_months", "int64"),
        Feature("monthly_charges", "float64"),
        Feature("plan", "string", description="the price plan"),
    ],
    owner="growth-team",
)


def per_month(inputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"per_month": inputs["monthly_charges"] / (inputs["tenure_months"] + 1)})


ratio = OnDemandFeatureView(
    "customer_ratio",
    function=per_month,
    inputs=["customer_stats:monthly_charges", "customer_stats:tenure_months"],
    features=[Feature("per_month", "float64")],
)
churn = FeatureService("churn_model", features=[stats, "customer_ratio:per_month"])
alias = stats  # the same object twice is applied once
"""


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _row(output: str, start: str) -> list[str]:
    """The cells of the first table row starting with ``start`` (split on 2+ spaces)."""
    line = next(line for line in output.splitlines() if line.strip().startswith(start))
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "churn_repo.py"
    path.write_text(REPO)
    return path


@pytest.fixture
def customers(embedded: Installation) -> None:
    embedded.platform().data.write("raw.customers", customer_rows(), mode="overwrite")


def test_plan_apply_ls_describe_and_search(invoke: Invoke, repo: Path, customers: None) -> None:
    planned = _ok(invoke("features", "plan", str(repo)))
    assert _row(planned, "entity") == ["entity", "customer", "create", "1", "new"]
    assert _row(planned, "feature_view")[:4] == ["feature_view", "customer_stats", "create", "1"]
    assert "4 to create" in planned
    assert "no feature definitions" in _ok(invoke("features", "ls"))  # plan stored nothing

    applied = _ok(invoke("features", "apply", str(repo)))
    assert "applied: 4 created" in applied
    again = _ok(invoke("features", "apply", str(repo)))
    assert _row(again, "feature_service")[2] == "unchanged"
    assert "no changes" in again

    listed = _ok(invoke("features", "ls"))
    assert _row(listed, "entity")[:4] == ["entity", "customer", "1", "keys customer_id (int64)"]
    assert _row(listed, "feature_view")[3:5] == ["3 features from raw.customers", "growth-team"]
    views = _ok(invoke("features", "ls", "--kind", "feature_service"))
    assert "churn_model" in views and "customer_stats" not in views

    described = _ok(invoke("features", "describe", "customer_stats"))
    assert _row(described, "version")[1] == "1 of 1"
    assert _row(described, "source")[1] == "raw.customers"
    assert _row(described, "ttl")[1] == "30 days"
    assert _row(described, "plan") == ["plan", "string", "the price plan"]
    assert _row(described, "used by services")[1] == "churn_model"
    assert _row(described, "used by views")[1] == "customer_ratio"

    service = _ok(invoke("features", "describe", "churn_model"))
    assert "features: customer_stats:tenure_months, customer_stats:monthly_charges" in service
    entity = _ok(invoke("features", "describe", "customer"))
    assert _row(entity, "value type")[1] == "int64"
    assert _row(entity, "description")[1] == "a paying customer"
    odfv = _ok(invoke("features", "describe", "customer_ratio"))
    assert _row(odfv, "function")[1] == "churn_repo:per_month"

    found = _ok(invoke("features", "search", "price"))
    assert _row(found, "feature_view")[:4] == ["feature_view", "customer_stats", "1", "plan"]
    assert "nothing matches" in _ok(invoke("features", "search", "zzz"))


def test_materialize_get_and_push(
    invoke: Invoke, repo: Path, customers: None, tmp_path: Path
) -> None:
    _ok(invoke("features", "apply", str(repo)))
    done = _ok(invoke("features", "materialize", "--end", NOW.isoformat()))
    assert _row(done, "customer_stats")[-1] == "3"
    got = _ok(
        invoke(
            "features",
            "get",
            "customer_stats:tenure_months",
            "customer_stats:plan",
            "--entity",
            "customer_id=1",
            "--entity",
            "customer_id=3",
        )
    )
    lines = [
        re.split(r"\s{2,}", line.strip())
        for line in got.splitlines()
        if "present" in line or "outside_ttl" in line
    ]
    assert lines == [
        ["1", "tenure_months", "12", "present"],
        ["1", "plan", "pro", "present"],
        ["3", "tenure_months", "-", "outside_ttl"],
        ["3", "plan", "-", "outside_ttl"],
    ]
    by_service = _ok(invoke("features", "get", "churn_model", "--entity", "customer_id=1"))
    assert re.search(r"per_month\s+4\.625\s+present", by_service)

    fresh = datetime.now(UTC).replace(microsecond=0)
    rows = tmp_path / "fresh.csv"
    rows.write_text(
        "customer_id,event_ts,tenure_months,monthly_charges,plan\n"
        f"3,{fresh.isoformat()},41,100.5,basic\n"
    )
    pushed = _ok(invoke("features", "push", "customer_stats", str(rows)))
    assert pushed.strip() == (
        "pushed 1 row to customer_stats: 1 to the online store, source raw.customers@1"
    )
    after = _ok(invoke("features", "get", "customer_stats:plan", "-e", "customer_id=3"))
    assert re.search(r"plan\s+basic\s+present", after)

    incremental = _ok(
        invoke("features", "materialize", "--incremental", "--view", "customer_stats")
    )
    assert _row(incremental, "customer_stats")[2] == NOW.strftime("%Y-%m-%d %H:%M:%S")


def test_bad_input_is_one_error_line(
    invoke: Invoke, repo: Path, customers: None, tmp_path: Path
) -> None:
    _ok(invoke("features", "apply", str(repo)))
    assert_one_error(
        invoke("features", "get", "customer_stats:plan", "--entity", "customer_id=abc"),
        "join key 'customer_id' is int64; got 'abc' instead",
    )
    unknown = invoke("features", "get", "customer_stats:nope", "--entity", "customer_id=1")
    assert unknown.exit_code == 1
    assert unknown.stderr.startswith("error: feature view 'customer_stats' (version 1) has no")
    assert_one_error(
        invoke("features", "get", "customer_stats:plan", "--entity", "customer_id"),
        "--entity must be KEY=VALUE (several joined by ','); got 'customer_id' instead",
    )
    assert_one_error(
        invoke("features", "materialize", "--incremental", "--start", "2024-01-01"),
        "--incremental starts each view where its last materialization ended; it takes no --start",
    )
    assert_one_error(
        invoke("features", "materialize", "--end", "tomorrow"),
        "--end must be an ISO 8601 time, e.g. 2024-05-01T12:00:00; got 'tomorrow' instead",
    )
    assert_one_error(
        invoke("features", "apply", str(tmp_path / "missing.py")),
        f"no Python file at '{tmp_path / 'missing.py'}'",
    )
    empty = tmp_path / "empty_repo.py"
    empty.write_text("x = 1\n")
    assert_one_error(
        invoke("features", "plan", str(empty)),
        f"'{empty}' defines no Entity, FeatureView, OnDemandFeatureView or FeatureService "
        "at module level",
    )
    shadow = tmp_path / "json.py"
    shadow.write_text(REPO)
    assert_one_error(
        invoke("features", "apply", str(shadow)),
        "'json.py' has the name of the module 'json' this process already uses",
    )
    broken = tmp_path / "broken_repo.py"
    broken.write_text("def (:\n")
    result = invoke("features", "plan", str(broken))
    assert result.exit_code == 1 and result.stderr.startswith(f"error: cannot import '{broken}'")
    assert_one_error(
        invoke("features", "describe", "ghost"),
        "no feature view, service or entity is named 'ghost' (known: churn_model, customer, "
        "customer_ratio, customer_stats)",
    )
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("customer_id,event_ts\n1,2024-01-01T00:00:00\n")
    pushed = invoke("features", "push", "customer_stats", str(wrong))
    assert pushed.exit_code == 1 and "lack column(s) tenure_months" in pushed.stderr


def test_parse_entity_and_load_definitions(repo: Path) -> None:
    types = {"customer_id": "int64", "region": "string"}
    assert parse_entity("customer_id=7,region=7", types) == {"customer_id": 7, "region": "7"}
    with pytest.raises(InvalidInputError, match="int64") as raised:
        parse_entity("customer_id=7.5", types)
    assert raised.value.field == "customer_id"
    names = [(d.kind, d.name) for d in load_definitions(repo)]
    assert names == [
        ("entity", "customer"),
        ("feature_view", "customer_stats"),
        ("on_demand_feature_view", "customer_ratio"),
        ("feature_service", "churn_model"),
    ]


def test_the_same_commands_against_a_server(
    invoke: Invoke, repo: Path, live_server: LiveServer, project_name: str
) -> None:
    remote = ("--url", live_server.url, "--api-key", live_server.key(project_name, "writer"))
    server_side = live_server.installation.platform(project_name, user="local:test")
    server_side.data.write("raw.customers", customer_rows(), mode="overwrite")
    # The server imports the on-demand function of the file by its module name.
    assert "applied: 4 created" in _ok(invoke("features", "apply", str(repo), *remote))
    assert _row(_ok(invoke("features", "ls", *remote)), "entity")[1] == "customer"
    end = (NOW - timedelta(days=4)).isoformat()
    assert (
        _row(_ok(invoke("features", "materialize", "--end", end, *remote)), "customer_stats")[-1]
        == "2"
    )
    got = _ok(invoke("features", "get", "customer_stats:*", "-e", "customer_id=1", *remote))
    assert re.search(r"tenure_months\s+11\s+present", got)
    assert _row(_ok(invoke("features", "describe", "customer_stats", *remote)), "fresh until")[
        1
    ] == (NOW - timedelta(days=4)).strftime("%Y-%m-%d %H:%M:%S")
