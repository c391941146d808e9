"""Forms and roles: CSRF on every POST, the key's role and project on every action."""

from __future__ import annotations

import httpx
import pytest
from tests.ui.conftest import Shop, build_shop, csrf_of, log_in

from podium.access.roles import Role

pytestmark = pytest.mark.anyio


async def test_an_admin_approves_a_transition_and_the_audit_log_says_so(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.ADMIN))
    page = await http.get("/ui/models/churn-model")
    assert f'action="/ui/requests/{shop.request_id}/approve"' in page.text
    done = await http.post(
        f"/ui/requests/{shop.request_id}/approve",
        data={"csrf": csrf_of(page.text), "comment": "ship it"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui/models/churn-model"
    request = shop.platform.registry.get_request(shop.request_id)
    assert request.status == "applied" and request.approvals[0].comment == "ship it"
    assert shop.platform.registry.get_version("churn-model/1").stage == "production"
    audit = await http.get("/ui/audit")
    assert "registry.approve" in audit.text


async def test_a_reader_sees_no_approve_button_and_its_post_is_forbidden(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.READER))
    page = await http.get("/ui/models/churn-model")
    assert page.status_code == 200 and "Approve" not in page.text
    done = await http.post(
        f"/ui/requests/{shop.request_id}/approve", data={"csrf": csrf_of(page.text)}
    )
    assert done.status_code == 403 and "reader" in done.text
    assert shop.platform.registry.get_request(shop.request_id).status == "pending"
    assert (await http.get("/ui/audit")).status_code == 403  # admins only, as /v1/audit


async def test_a_post_without_the_csrf_token_is_forbidden(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.ADMIN))
    for data in ({}, {"csrf": "forged"}):
        done = await http.post(f"/ui/requests/{shop.request_id}/reject", data=data)
        assert done.status_code == 403 and "CSRF" in done.text
    assert shop.platform.registry.get_request(shop.request_id).status == "pending"


async def test_a_post_without_a_session_is_not_acted_on(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    done = await http.post(f"/ui/requests/{shop.request_id}/approve", data={"csrf": "x"})
    assert done.status_code == 401
    assert shop.platform.registry.get_request(shop.request_id).status == "pending"


async def test_another_project_s_objects_are_not_found(http: httpx.AsyncClient, shop: Shop) -> None:
    other = build_shop(shop.platform_installation, shop.project + "-b", runs=1)
    await log_in(http, shop.key(Role.ADMIN))
    assert (await http.get(f"/ui/runs/{shop.run_ids[0]}")).status_code == 200
    assert (await http.get(f"/ui/runs/{other.run_ids[0]}")).status_code == 404
    page = await http.get("/ui/models")
    done = await http.post(
        f"/ui/requests/{other.request_id}/approve", data={"csrf": csrf_of(page.text)}
    )
    assert done.status_code == 404
    assert other.platform.registry.get_request(other.request_id).status == "pending"


async def test_a_writer_outside_the_approvers_gets_no_button_and_the_service_refuses(
    http: httpx.AsyncClient, shop: Shop
) -> None:
    await log_in(http, shop.key(Role.WRITER))  # production needs an admin by default
    page = await http.get("/ui/models/churn-model")
    assert "Approve" not in page.text
    done = await http.post(
        f"/ui/requests/{shop.request_id}/approve", data={"csrf": csrf_of(page.text)}
    )
    assert done.status_code == 403 and "approvers hold one of the roles" in done.text
    assert shop.platform.registry.get_request(shop.request_id).status == "pending"
