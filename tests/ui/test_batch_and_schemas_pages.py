"""The batch jobs and schema pages: a job's model, source and output versions, rows and
speed; subjects and their versions' JSON, escaped; another project's job is a 404."""

from __future__ import annotations

import json
import uuid

import httpx
import pandas as pd
import pytest
from markupsafe import escape
from sklearn.linear_model import LogisticRegression
from tests.ui.conftest import log_in

from podium.access.roles import Role
from podium.batch.types import BatchJob
from podium.platform import Installation, Platform

pytestmark = pytest.mark.anyio

HOSTILE = "<script>alert('x')</script> & \"quoted\""
SCHEMA = {
    "type": "object",
    "description": HOSTILE,
    "properties": {"tenure": {"type": "number"}},
    "required": ["tenure"],
}


def _project(installation: Installation) -> Platform:
    project = f"ui-{uuid.uuid4().hex[:8]}"
    return installation.platform(project, user="local:builder", role=Role.ADMIN)


def _scored(platform: Platform) -> BatchJob:
    """``raw.customers`` (8 rows) scored by ``churn/1`` into ``scored.customers``."""
    frame = pd.DataFrame(
        {"tenure": [1.0, 2, 30, 40, 3, 50, 4, 60], "charges": [90.0, 80, 20, 25, 95, 18, 70, 15]}
    )
    platform.data.write("raw.customers", frame)
    model = LogisticRegression().fit(frame, [1, 1, 0, 0, 1, 0, 1, 0])
    platform.registry.register("churn", model, input_example=frame.head(2))
    return platform.batch.predict("churn/1", source="raw.customers", output="scored.customers")


def _key(installation: Installation, platform: Platform, role: Role) -> str:
    _, secret = installation.keys.create(platform.project, role, name=f"ui-{role.value}")
    return secret


async def test_batch_jobs_list_and_detail_show_what_a_job_did(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    platform = _project(installation)
    job = _scored(platform)
    assert job.status == "succeeded" and job.output_version is not None
    await log_in(http, _key(installation, platform, Role.READER))

    listing = await http.get("/ui/batch")
    assert listing.status_code == 200
    assert 'href="/ui/batch"' in listing.text and 'aria-current="page"' in listing.text
    row = listing.text.split(f'href="/ui/batch/{job.id}"', 1)[1].split("</tr>", 1)[0]
    assert "succeeded" in row and "churn/1" in row
    assert "raw.customers@0" in row and f"scored.customers@{job.output_version}" in row
    assert "8 / 8" in row and f"{job.rows_per_second:.6g}" in row

    detail = await http.get(f"/ui/batch/{job.id}")
    assert detail.status_code == 200
    for shown in ("succeeded", "churn/1", "raw.customers@0", "8 of 8 (100%)", "local"):
        assert shown in detail.text, shown
    assert f"scored.customers@{job.output_version}" in detail.text


async def test_another_projects_job_is_a_404(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    theirs = _project(installation)
    job = _scored(theirs)
    mine = _project(installation)
    await log_in(http, _key(installation, mine, Role.ADMIN))
    assert (await http.get(f"/ui/batch/{job.id}")).status_code == 404
    listing = await http.get("/ui/batch")
    assert listing.status_code == 200 and job.id not in listing.text
    assert "No batch jobs yet" in listing.text


async def test_schemas_show_subjects_and_each_versions_json_escaped(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    platform = _project(installation)
    schemas = platform.events.schemas
    schemas.register("churn-in", SCHEMA, compatibility="backward")
    second = {**SCHEMA, "properties": {**SCHEMA["properties"], "spend": {}}}
    schemas.register("churn-in", second)
    await log_in(http, _key(installation, platform, Role.READER))

    listing = await http.get("/ui/schemas")
    assert listing.status_code == 200
    row = listing.text.split('href="/ui/schemas/churn-in"', 1)[1].split("</tr>", 1)[0]
    assert "backward" in row and '<td class="num">2</td>' in row

    page = await http.get("/ui/schemas/churn-in")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp;" in page.text
    for version, schema in ((2, second), (1, SCHEMA)):
        assert f'id="v{version}"' in page.text
        pretty = json.dumps(schema, indent=2, sort_keys=True)
        assert str(escape(pretty)) in page.text
    assert page.text.index('id="v2"') < page.text.index('id="v1"')
    missing = await http.get("/ui/schemas/nope")
    assert missing.status_code == 404 and "<pre" not in missing.text
