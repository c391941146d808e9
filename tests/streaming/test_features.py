"""Streaming features: feature events land online and offline in one step, with the same
point-in-time answers as a push of the same rows; bad rows are dead letters."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pandas as pd
import pytest
import redis
from typer.testing import CliRunner

from podium.cli.app import app
from podium.platform import Installation, Platform
from podium.streaming.features import ingest_stream
from podium.streaming.predictor import ConsumerOptions
from podium.streaming.urls import parse_stream_url
from tests.features.conftest import NOW, seed
from tests.streaming.conftest import add_redis_events, redis_outputs

REFS = ["customer_stats:tenure_months", "customer_stats:monthly_charges", "customer_stats:plan"]


def _rows() -> list[dict[str, object]]:
    """Customers 10 and 11 over a few days; customer 10 changes plan."""
    return [
        {"customer_id": 10, "event_ts": (NOW - timedelta(days=4)).isoformat(),
         "tenure_months": 5, "monthly_charges": 30, "plan": "basic"},
        {"customer_id": 10, "event_ts": (NOW - timedelta(days=1)).isoformat(),
         "tenure_months": 6, "monthly_charges": 45.5, "plan": "pro"},
        {"customer_id": 11, "event_ts": (NOW - timedelta(days=2)).timestamp(),
         "tenure_months": 1, "monthly_charges": 9.99, "plan": "basic"},
    ]  # fmt: skip


def test_feature_events_land_online_and_offline_as_if_pushed(
    home: Installation,
    shop: Platform,
    redis_server: str,
    redis_client: redis.Redis,
    stream_name: str,
) -> None:
    seed(shop)
    good = [{"id": f"f{i}", "features": json.dumps(row)} for i, row in enumerate(_rows())]
    bad = [
        {"id": "no-time", "features": json.dumps({"customer_id": 12, "tenure_months": 1,
                                                   "monthly_charges": 1.0, "plan": "x"})},
        {"id": "bad-type", "features": json.dumps({**_rows()[0], "tenure_months": "many"})},
    ]  # fmt: skip
    add_redis_events(redis_client, stream_name, [good[0], bad[0], good[1], bad[1], good[2]])
    source = parse_stream_url(f"{redis_server}?stream={stream_name}")
    with ThreadPoolExecutor(1) as executor:
        final = ingest_stream(
            shop.features, "customer_stats", source, executor=executor, stop_when_idle=True,
            options=ConsumerOptions(group="features", consumer="c1", batch_size=100),
        )  # fmt: skip
    assert (final.scored, final.dead) == (3, 2)
    dead = {d["id"]: d["reason"] for d in redis_outputs(redis_client, f"{stream_name}.dead")}
    assert set(dead) == {"no-time", "bad-type"} and "event_ts" in dead["no-time"]
    assert "tenure_months" in dead["bad-type"]

    online = shop.features.get_online_features(
        entity_rows=[{"customer_id": 10}, {"customer_id": 11}], features=REFS
    ).to_dict()
    assert online["plan"] == ["pro", "basic"] and online["monthly_charges"] == [45.5, 9.99]

    # The same rows pushed in another project give the same point-in-time training set.
    other = home.platform("other", user="local:test")
    seed(other)
    frame = pd.DataFrame(_rows())
    frame["event_ts"] = pd.to_datetime(
        [NOW - timedelta(days=4), NOW - timedelta(days=1), NOW - timedelta(days=2)], utc=True
    )
    frame["monthly_charges"] = frame["monthly_charges"].astype("float64")
    other.features.push("customer_stats", frame)
    entities = pd.DataFrame(
        {
            "customer_id": [10, 10, 10, 11, 1],
            "event_timestamp": pd.to_datetime(
                [NOW - timedelta(days=5), NOW - timedelta(days=3), NOW, NOW, NOW], utc=True
            ),
        }
    )
    streamed = shop.features.get_historical_features(entities, REFS).to_pandas()
    pushed = other.features.get_historical_features(entities, REFS).to_pandas()
    pd.testing.assert_frame_equal(streamed, pushed)
    plans = streamed["plan"].tolist()
    assert pd.isna(plans[0]) and plans[1:3] == ["basic", "pro"]  # nothing yet, then each


def test_podium_features_ingest_until_idle(
    home: Installation,
    shop: Platform,
    redis_server: str,
    redis_client: redis.Redis,
    stream_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(shop)
    events = [{"id": f"f{i}", "features": json.dumps(row)} for i, row in enumerate(_rows())]
    add_redis_events(redis_client, stream_name, [*events, {"id": "bad", "features": "{"}])
    monkeypatch.setenv("PODIUM_HOME", str(home.settings.home))
    monkeypatch.setenv("PODIUM_PROJECT", "shop")
    done = CliRunner().invoke(
        app,
        ["features", "ingest", "customer_stats", "--until-idle",
         "--from", f"{redis_server}?stream={stream_name}"],
        catch_exceptions=False,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "pushed 3 rows to customer_stats; 1 dead letters" in done.output
    online = shop.features.get_online_features(
        entity_rows=[{"customer_id": 11}], features=REFS
    ).to_dict()
    assert online["tenure_months"] == [1]
