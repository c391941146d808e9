"""pii features: tokens in the offline and online stores (SQLite and Redis), pushes too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import redis

from podium.config import Settings
from podium.data.tokens import is_token
from podium.errors import InvalidInputError
from podium.features.definitions import Entity, Feature, FeatureView
from podium.platform import Installation, Platform
from tests.features.conftest import redis_url

NOW = datetime.now(UTC).replace(microsecond=0)
CUSTOMER = Entity("customer", join_keys=["customer_id"])
VIEW = FeatureView(
    "contacts",
    entities=[CUSTOMER],
    source="raw.contacts",
    timestamp_field="event_ts",
    features=[Feature("email", "string", pii=True), Feature("tenure", "int64")],
)
CLEAR = ("ana@ex.io", "bo@ex.io", "cy@ex.io")


@pytest.fixture(params=["sqlite", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Platform, str]]:
    url = f"sqlite:///{tmp_path / 'online.db'}"
    if request.param == "redis":
        found = redis_url()
        if not found:
            pytest.skip("PODIUM_TEST_REDIS_URL is not set")
        url = found
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'podium.db'}",
        online_store_url=url,
    )
    installation = Installation(settings)
    project = f"t-{uuid.uuid4().hex[:10]}"
    yield installation.platform(project, user="local:test"), url
    installation.close()
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"podium:online:{project}/*"))
        if keys:
            client.unlink(*keys)
        client.close()


def _stored_bytes(url: str, tmp_path: Path, project: str) -> bytes:
    """Every byte the online store and the home hold for this test."""
    found = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"podium:online:{project}/*"):
            found.append(key)
            kind = client.type(key)
            if kind == b"hash":
                found.extend(b"".join(pair) for pair in client.hgetall(key).items())
            elif kind == b"string":
                found.append(client.get(key) or b"")
        client.close()
    return b"\n".join(found)


def test_pii_features_are_tokens_offline_and_online(
    online: tuple[Platform, str], tmp_path: Path
) -> None:
    p, url = online
    rows = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_ts": [NOW - timedelta(hours=2)] * 2,
            "email": list(CLEAR[:2]),
            "tenure": [3, 4],
        }
    )
    p.data.write("raw.contacts", rows, pii=["email"])
    p.features.apply([CUSTOMER, VIEW])
    p.features.materialize(end=NOW)
    p.features.push(
        "contacts",
        pd.DataFrame(
            {
                "customer_id": [3],
                "event_ts": [datetime.now(UTC)],
                "email": [CLEAR[2]],
                "tenure": [1],
            }
        ),
    )
    served = p.features.get_online_features(
        [{"customer_id": i} for i in (1, 2, 3)], ["contacts:email", "contacts:tenure"]
    )
    emails = served.values["email"]
    assert all(is_token(e) for e in emails), emails
    assert served.values["tenure"] == [3, 4, 1]
    assert p.data.detokenize("raw.contacts", "email", emails) == list(CLEAR)
    offline = p.features.get_historical_features(
        pd.DataFrame({"customer_id": [1], "event_timestamp": [NOW]}), ["contacts:email"]
    ).to_arrow()
    assert offline.column("email").to_pylist() == emails[:1]
    stored = _stored_bytes(url, tmp_path, p.project)
    assert emails[0].encode() in stored  # the scan does see the stores
    for email in CLEAR:
        assert email.encode() not in stored


def test_a_pii_feature_must_read_a_tokenized_column(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    installation = Installation(settings)
    try:
        p = installation.platform("clear", user="local:test")
        rows = pd.DataFrame(
            {"customer_id": [1], "event_ts": [NOW], "email": ["ana@ex.io"], "tenure": [1]}
        )
        p.data.write("raw.contacts", rows)
        with pytest.raises(InvalidInputError, match="stored in clear") as refused:
            p.features.apply([CUSTOMER, VIEW])
        assert "mode='overwrite', pii=['email']" in (refused.value.remedy or "")
        assert p.features.list_definitions() == []  # nothing applied
        p.data.write("raw.contacts", rows, mode="overwrite", pii=["email"])
        assert [c.name for c in p.features.apply([CUSTOMER, VIEW])] == ["customer", "contacts"]
    finally:
        installation.close()
    with pytest.raises(InvalidInputError, match="dtype 'string'"):
        Feature("age", "int64", pii=True)
