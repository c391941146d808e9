"""``table.updated``: every commit that changes a lake table's rows records one event, in
the same transaction as the catalog's note of the commit; maintenance records none."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from podium.events.tables import EventRow
from podium.events.webhooks import EVENT_TYPES
from podium.platform import Installation, Platform


def table_events(installation: Installation, project: str) -> list[dict[str, Any]]:
    """The ``table.updated`` payloads of ``project``, oldest first."""
    project_id = installation.projects.get(project).id
    with installation.db.read() as session:
        rows = session.scalars(
            select(EventRow)
            .where(EventRow.project_id == project_id, EventRow.type == "table.updated")
            .order_by(EventRow.id)
        ).all()
        return [{**row.payload, "subject": row.subject, "actor": row.actor} for row in rows]


def test_every_row_changing_commit_records_table_updated(
    platform: Platform, installation: Installation
) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0]})
    p = platform.data
    p.write("raw.nums", frame, mode="append")
    p.write("raw.nums", frame.assign(id=[4, 5, 6]), mode="append")
    p.write("raw.nums", frame.assign(x=[9.0, 9.0, 9.0]), mode="merge", keys=["id"])
    p.delete("raw.nums", "id = 6")
    p.write("raw.nums", frame, mode="overwrite")
    p.restore("raw.nums", 1)
    p.optimize("raw.nums")  # same rows, new files: no event

    events = table_events(installation, platform.project)
    assert [(e["version"], e["operation"]) for e in events] == [
        (0, "create"),
        (1, "append"),
        (2, "merge"),
        (3, "delete"),
        (4, "overwrite"),
        (5, "restore"),
    ]
    assert {e["table"] for e in events} == {"raw.nums"}
    assert events[2]["subject"] == "raw.nums@2" and events[2]["actor"] == "local:test"
    assert p.version("raw.nums") == 6  # the optimize commit exists, it just is not an event
    assert "table.updated" in EVENT_TYPES


def test_a_refused_write_records_no_event(platform: Platform, installation: Installation) -> None:
    platform.data.write("raw.typed", pd.DataFrame({"id": [1]}))
    with pytest.raises(ValueError):
        platform.data.write("raw.typed", pd.DataFrame({"id": ["not a number"]}))
    assert [e["version"] for e in table_events(installation, platform.project)] == [0]


def test_create_view_records_the_new_table_version(
    platform: Platform, installation: Installation
) -> None:
    platform.data.write("raw.nums", pd.DataFrame({"id": [1, 2]}))
    platform.data.create_view("curated.doubled", "SELECT id * 2 AS id FROM raw.nums")
    events = table_events(installation, platform.project)
    assert [(e["table"], e["version"], e["operation"]) for e in events] == [
        ("raw.nums", 0, "create"),
        ("curated.doubled", 0, "create"),
    ]
