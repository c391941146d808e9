"""Bad input to a point-in-time join: each error names the culprit and says what to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from podium.errors import InvalidInputError, NotFoundError, PodiumError
from podium.features.offline import ViewSource, point_in_time_join

US = pa.timestamp("us", tz="UTC")
T0 = datetime(2026, 3, 1, tzinfo=UTC)
STATS = pa.table(
    {
        "customer_id": pa.array([1], pa.int64()),
        "event_ts": pa.array([T0], US),
        "created": pa.array([T0], US),
        "spend": [1.0],
        "day": pa.array(["2026-03-01"]),
    }
)
ENTITY = pa.table({"customer_id": pa.array([1], pa.int64()), "event_timestamp": pa.array([T0], US)})


def stats(
    *features: str,
    keys: tuple[str, ...] = ("customer_id",),
    timestamp: str = "event_ts",
    created: str | None = None,
    ttl: timedelta | None = None,
    relation: str = "SELECT * FROM stats",
) -> ViewSource:
    return ViewSource("stats", relation, keys, timestamp, created, ttl, features or ("spend",))


def join(entity: pa.Table, *views: ViewSource) -> pa.Table:
    return point_in_time_join(entity, list(views), sources={"stats": STATS})


def check(error: PodiumError, *, field: str, says: str) -> None:
    assert error.field == field
    assert says in error.message
    assert error.remedy


def test_entity_frame_without_the_timestamp_column() -> None:
    with pytest.raises(InvalidInputError) as caught:
        join(ENTITY.drop_columns(["event_timestamp"]), stats())
    check(caught.value, field="event_timestamp", says="no 'event_timestamp' column")


def test_entity_timestamp_that_is_not_a_timestamp() -> None:
    text = ENTITY.set_column(1, "event_timestamp", pa.array(["2026-03-01"]))
    with pytest.raises(InvalidInputError) as caught:
        join(text, stats())
    check(caught.value, field="event_timestamp", says="must be a timestamp; got string")


def test_entity_frame_without_a_join_key() -> None:
    with pytest.raises(InvalidInputError) as caught:
        join(ENTITY, stats(keys=("customer_id", "region")))
    check(caught.value, field="region", says="join key of feature view 'stats'")


def test_join_key_of_another_type_than_the_views() -> None:
    as_text = ENTITY.set_column(0, "customer_id", pa.array(["1"]))
    with pytest.raises(InvalidInputError) as caught:
        join(as_text, stats())
    check(caught.value, field="customer_id", says="VARCHAR in the entity frame but BIGINT")


def test_integer_keys_of_different_widths_are_compatible() -> None:
    narrow = ENTITY.set_column(0, "customer_id", pa.array([1], pa.int32()))
    assert join(narrow, stats()).column("spend").to_pylist() == [1.0]


@pytest.mark.parametrize("field", ["timestamp", "created"])
def test_view_timestamp_columns_that_are_not_timestamps(field: str) -> None:
    view = stats(timestamp="day") if field == "timestamp" else stats(created="day")
    with pytest.raises(InvalidInputError) as caught:
        join(ENTITY, view)
    check(caught.value, field="timestamp_field", says="column 'day' of feature view 'stats'")


def test_feature_that_is_not_a_column_of_the_source() -> None:
    with pytest.raises(NotFoundError) as caught:
        join(ENTITY, stats("spend", "tenure"))
    check(caught.value, field="features", says="feature view 'stats' has no column 'tenure'")
    assert "customer_id, event_ts" in (caught.value.remedy or "")


def test_join_key_that_is_not_a_column_of_the_source() -> None:
    entity = ENTITY.append_column("region", pa.array(["eu"]))
    with pytest.raises(NotFoundError) as caught:
        join(entity, stats(keys=("region",)))
    check(caught.value, field="source", says="has no column 'region'")


def test_relation_over_an_unknown_source() -> None:
    with pytest.raises(InvalidInputError) as caught:
        join(ENTITY, stats(relation="SELECT * FROM nowhere"))
    check(caught.value, field="source", says="source of feature view 'stats' cannot be read")


def test_negative_ttl() -> None:
    with pytest.raises(InvalidInputError) as caught:
        join(ENTITY, stats(ttl=timedelta(seconds=-1)))
    check(caught.value, field="ttl", says="must not be negative")


def test_feature_named_twice_and_view_joined_twice() -> None:
    with pytest.raises(InvalidInputError, match="names spend more than once"):
        join(ENTITY, stats("spend", "spend"))
    with pytest.raises(InvalidInputError, match="joined twice"):
        join(ENTITY, stats(), stats())


def test_view_without_features() -> None:
    view = ViewSource("stats", "SELECT * FROM stats", ("customer_id",), "event_ts", None, None, ())
    with pytest.raises(InvalidInputError, match="without features"):
        join(ENTITY, view)


def test_result_column_clash_that_renaming_cannot_solve() -> None:
    entity = ENTITY.append_column("spend", pa.array([0.0])).append_column(
        "stats__spend", pa.array([0.0])
    )
    with pytest.raises(InvalidInputError, match="stats__spend twice"):
        join(entity, stats())


def test_entity_frame_that_is_not_an_arrow_table() -> None:
    with pytest.raises(InvalidInputError) as caught:
        join(ENTITY.to_pylist(), stats())  # type: ignore[arg-type]
    check(caught.value, field="entity_df", says="must be a pyarrow Table; got list")
