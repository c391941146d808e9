"""The curated public surface of podium.data does not drift unnoticed."""

import podium.data


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(podium.data.__all__) == [
        "ColumnInfo",
        "DataLake",
        "DataService",
        "HistoryEntry",
        "NAME_PART_PATTERN",
        "OptimizeResult",
        "TableInfo",
        "TableVersion",
    ]
    for name in podium.data.__all__:
        assert hasattr(podium.data, name)
