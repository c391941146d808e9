"""The runs pages in process: filter, sort, pages and columns on the server; compare."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from tests.ui.conftest import Shop, log_in

from podium.access.roles import Role
from podium.api.app import create_app
from podium.platform import Installation

pytestmark = pytest.mark.anyio


def _names(html: str) -> list[str]:
    return re.findall(r'<a href="/ui/runs/[0-9a-f]+">([^<]+)</a>', html)


async def test_filter_and_order_use_the_search_syntax(http: httpx.AsyncClient, shop: Shop) -> None:
    await log_in(http, shop.key(Role.READER))
    page = await http.get(
        "/ui/runs",
        params={
            "filter": "metrics.auc >= 0.75 and params.model = 'rf'",
            "order": "metrics.auc ASC",
        },
    )
    assert page.status_code == 200
    assert _names(page.text) == ["run-3", "run-5"]


async def test_a_bad_filter_says_where_and_what_to_do(http: httpx.AsyncClient, shop: Shop) -> None:
    await log_in(http, shop.key(Role.READER))
    page = await http.get("/ui/runs", params={"filter": "metrics.auc >> 1"})
    assert page.status_code == 400
    assert 'class="error"' in page.text and "What to do" not in page.text  # CSS adds that
    assert "position" in page.text or "^" in page.text


async def test_pages_and_columns_are_chosen_on_the_server(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.READER))
    first = await http.get("/ui/runs", params={"size": 25, "order": "attributes.run_name ASC"})
    assert len(_names(first.text)) == 6 and 'rel="next"' not in first.text
    chosen = await http.get("/ui/runs", params=[("cols", "params.C")])
    headers = re.findall(r'data-sort="((?:params|metrics)\.[^"]+)"', chosen.text)
    assert headers == ["params.C"]


async def test_paging_through_runs(http: httpx.AsyncClient, shop: Shop) -> None:
    for i in range(26):
        with shop.platform.tracking.start_run(experiment="many", name=f"m-{i:02d}"):
            pass
    await log_in(http, shop.key(Role.READER))
    args = {"experiment": "many", "order": "attributes.run_name ASC", "size": 25}
    first = await http.get("/ui/runs", params=args)
    assert _names(first.text) == [f"m-{i:02d}" for i in range(25)]
    found = re.search(r'href="(/ui/runs\?[^"]+)" rel="next"', first.text)
    assert found is not None
    second = await http.get(html.unescape(found.group(1)))
    assert _names(second.text) == ["m-25"]
    assert 'rel="next"' not in second.text and "First page" in second.text


async def test_compare_draws_charts_and_refuses_too_many_runs(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.READER))
    page = await http.get("/ui/compare", params=[("run", i) for i in shop.run_ids])
    assert page.status_code == 200 and "6 runs compared" in page.text
    assert page.text.count("<svg") >= 3  # parallel coordinates, history lines, last values
    too_many = await http.get("/ui/compare", params=[("run", f"r{i}") for i in range(201)])
    assert too_many.status_code == 400 and "at most 200" in too_many.text
    unknown = await http.get("/ui/compare", params=[("run", "nope")])
    assert unknown.status_code == 404


async def test_a_session_works_on_another_server_of_the_installation(
    http: httpx.AsyncClient, shop: Shop, installation: Installation
) -> None:
    await log_in(http, shop.key(Role.READER))
    other = Installation(installation.settings)  # another process, same home and database
    try:
        transport = httpx.ASGITransport(app=create_app(other))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://podium.test", cookies=http.cookies
        ) as replica:
            page = await replica.get("/ui/runs")
            assert page.status_code == 200 and "run-0" in page.text
    finally:
        other.close()
