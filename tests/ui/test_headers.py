"""Every UI response carries a strict CSP, and no page has an inline script or style."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.ui.conftest import Shop, log_in

from podium.access.roles import Role
from podium.ui.headers import CONTENT_SECURITY_POLICY, STATIC_CACHE
from podium.ui.rendering import STATIC_VERSION

pytestmark = pytest.mark.anyio

PAGES = [
    "/ui/", "/ui/runs", "/ui/experiments", "/ui/models", "/ui/models/churn-model",
    "/ui/deployments", "/ui/deployments/churn-model", "/ui/monitoring",
    "/ui/monitoring/churn-model", "/ui/data", "/ui/data/raw.customers", "/ui/features",
    "/ui/pipelines", "/ui/audit",
]  # fmt: skip


async def test_every_page_renders_under_a_strict_policy(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.ADMIN))
    run = shop.run_ids[0]
    for path in [*PAGES, f"/ui/runs/{run}", f"/ui/compare?run={run}&run={shop.run_ids[1]}"]:
        page = await http.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page.text), path
        assert not re.search(r'(src|href)="(https?:)?//', page.text), path
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


async def test_static_files_and_the_login_page_carry_it_too(http: httpx.AsyncClient) -> None:
    for path in ["/ui/login", "/ui/static/ui.css", "/ui/static/ui.js"]:
        response = await http.get(path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    missing = await http.get("/ui/no-such-page")
    assert missing.status_code == 404


async def test_the_api_still_needs_a_key(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/whoami")).status_code == 401
    assert (await http.get("/uix")).status_code == 401  # only /ui and below skip the key check


async def test_a_body_too_large_for_a_form_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/ui/login", content=b"k=" + b"x" * 70_000)
    assert response.status_code == 413
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_pages_link_versioned_static_files_which_are_cached_for_good(
    http: httpx.AsyncClient,
) -> None:
    login = await http.get("/ui/login")
    linked = re.findall(r'(?:href|src)="(/ui/static/[^"]+)"', login.text)
    assert len(linked) == 3 and all(f"?v={STATIC_VERSION}" in url for url in linked)
    for url in linked:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == STATIC_CACHE
    plain = await http.get("/ui/static/ui.css")
    assert plain.headers["cache-control"] == "no-cache"  # revalidated: it may have changed
    assert login.headers["cache-control"] == "no-store"
