"""Logging in with a key or a one-time link, the session cookie, logging out."""

from __future__ import annotations

import httpx
import pytest
from tests.ui.conftest import csrf_of, log_in

from podium.access.roles import Role
from podium.api.app import create_app
from podium.platform import Installation
from podium.ui.login_links import issue_login_link

pytestmark = pytest.mark.anyio


def _key(installation: Installation, project: str = "shop", role: Role = Role.READER) -> str:
    installation.projects.ensure(project)
    return installation.keys.create(project, role, name="ui")[1]


async def test_without_a_session_a_page_sends_you_to_log_in(http: httpx.AsyncClient) -> None:
    response = await http.get("/ui/runs?filter=x")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Fruns%3Ffilter%3Dx"


async def test_a_key_logs_in_with_a_strict_http_only_cookie(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    form = await http.get("/ui/login")
    done = await http.post(
        "/ui/login",
        data={"key": _key(installation), "csrf": csrf_of(form.text), "next": "/ui/models"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui/models"
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("podium_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http on loopback; under TLS it is set
    page = await http.get("/ui/models")
    assert page.status_code == 200 and "shop" in page.text and "reader" in page.text


async def test_a_wrong_key_is_refused_on_the_form(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    form = await http.get("/ui/login")
    done = await http.post("/ui/login", data={"key": "pdm_nope_x", "csrf": csrf_of(form.text)})
    assert done.status_code == 401
    assert "unknown or revoked" in done.text
    assert (await http.get("/ui/runs")).status_code == 303


async def test_a_login_post_without_the_form_s_token_is_refused(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    await http.get("/ui/login")
    done = await http.post("/ui/login", data={"key": _key(installation), "csrf": "forged"})
    assert done.status_code == 403


async def test_next_never_leaves_the_ui(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    form = await http.get("/ui/login")
    done = await http.post(
        "/ui/login",
        data={"key": _key(installation), "csrf": csrf_of(form.text), "next": "//evil.test/ui/"},
    )
    assert done.headers["location"] == "/ui/"


async def test_a_one_time_link_logs_in_as_admin_once(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    installation.projects.ensure("default")
    token = issue_login_link(installation.settings.home, project="default")
    first = await http.get(f"/ui/login?token={token}")
    assert first.status_code == 303 and first.headers["location"] == "/ui/"
    home = await http.get("/ui/")
    assert home.status_code == 200 and "admin" in home.text
    http.cookies.clear()
    again = await http.get(f"/ui/login?token={token}")
    assert again.status_code == 401 and "used already" in again.text


async def test_logging_out_ends_the_session(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    await log_in(http, _key(installation))
    page = await http.get("/ui/runs")
    done = await http.post("/ui/logout", data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/ui/login"
    assert (await http.get("/ui/runs")).status_code == 303


async def test_a_revoked_key_s_session_ends(
    http: httpx.AsyncClient, installation: Installation
) -> None:
    installation.projects.ensure("shop")
    key, secret = installation.keys.create("shop", Role.WRITER, name="ui")
    await log_in(http, secret)
    assert (await http.get("/ui/runs")).status_code == 200
    installation.keys.revoke("shop", key.id)
    assert (await http.get("/ui/runs")).status_code == 303


async def test_under_tls_the_cookie_is_secure(installation: Installation) -> None:
    transport = httpx.ASGITransport(app=create_app(installation))
    async with httpx.AsyncClient(transport=transport, base_url="https://podium.test") as tls:
        form = await tls.get("/ui/login")
        done = await tls.post(
            "/ui/login", data={"key": _key(installation), "csrf": csrf_of(form.text)}
        )
    cookie = next(c for c in done.headers.get_list("set-cookie") if "podium_session=" in c)
    assert "Secure" in cookie
