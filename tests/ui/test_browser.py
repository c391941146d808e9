"""The UI in a real browser (Debian's Chromium through Playwright) against a real server.

One server and one browser for the module; each test gets a fresh browser context (its
own cookies). Every page visited must log no console error and request nothing outside
the server's origin.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import loopback_server, loopback_spki
from tests.ui.conftest import Shop, build_shop, send_drifted_traffic

from podium.access.roles import Role
from podium.api.app import create_app
from podium.config import Settings
from podium.platform import Installation
from podium.ui.login_links import issue_login_link, login_url

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAGES = [
    "/ui/", "/ui/runs", "/ui/experiments", "/ui/models", "/ui/models/churn-model",
    "/ui/deployments", "/ui/deployments/churn-model", "/ui/monitoring",
    "/ui/monitoring/churn-model", "/ui/data", "/ui/data/raw.customers", "/ui/features",
    "/ui/pipelines", "/ui/batch", "/ui/schemas", "/ui/reviews", "/ui/audit",
]  # fmt: skip


class Site:
    """The server under test, its data, and what the browser saw go wrong."""

    def __init__(self, url: str, installation: Installation, shop: Shop, other: Shop) -> None:
        self.url = url
        self.installation = installation
        self.shop = shop
        self.other = other
        self.problems: list[str] = []

    def page(self, browser: playwright.Browser) -> playwright.Page:
        """A page in a fresh context (no cookies) whose errors and requests are watched."""
        page = browser.new_context().new_page()
        page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "request",
            lambda r: None if r.url.startswith(self.url) else self.problems.append(r.url),
        )
        return page

    def log_in(self, page: playwright.Page, role: Role) -> None:
        page.goto(f"{self.url}/ui/login")
        page.fill("#key", self.shop.key(role))
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.url}/ui/")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("ui-browser")
    installation = Installation(Settings(home=home, metric_flush_interval=0.05))
    shop = build_shop(installation, "shop")
    shop.platform.monitoring.feedback_many(send_drifted_traffic(shop))  # labels: accuracy
    other = build_shop(installation, "other", runs=1)
    try:
        with loopback_server(create_app(installation)) as url:
            yield Site(url, installation, shop, other)
    finally:
        installation.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright.Browser]:
    if not Path(CHROMIUM).exists():
        missing = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):  # .ci/run installs it: a missing browser is a failure there
            pytest.fail(missing)
        pytest.skip(missing)
    with playwright.sync_playwright() as pw:
        spki = loopback_spki()  # the test servers' key, when they serve HTTPS
        args = ARGS + ([f"--ignore-certificate-errors-spki-list={spki}"] if spki else [])
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@pytest.fixture(autouse=True)
def _no_problems(site: Site) -> Iterator[None]:
    site.problems.clear()
    yield
    assert site.problems == [], "console errors or requests leaving the server"


def test_a_login_link_opens_every_page_cleanly(site: Site, browser: playwright.Browser) -> None:
    page = site.page(browser)
    token = issue_login_link(site.installation.settings.home, project="shop")
    page.goto(login_url(site.url, token))
    assert page.url == f"{site.url}/ui/"
    run = site.shop.run_ids[0]
    for path in [*PAGES, f"/ui/runs/{run}"]:
        response = page.goto(site.url + path)
        assert response is not None and response.status == 200, path
        assert page.locator("header nav").is_visible()
    assert page.locator("svg.chart").count() >= 1  # the run's metric charts
    page.goto(f"{site.url}/ui/monitoring/churn-model?hours=1")
    chart = page.locator(".drift-charts svg.chart")
    assert chart.count() >= 1
    assert chart.locator("rect[fill='#d62728']").count() >= 1  # 'charges' drifted: a red bar
    page.goto(login_url(site.url, token))  # the link works once
    assert "used already" in page.content()
    assert len(site.problems) == 1 and "401" in site.problems[0]
    site.problems.clear()  # the browser logs that 401


def _count_requests(page: playwright.Page) -> list[str]:
    """The URLs of the /ui/runs requests ``page`` makes from now on."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/ui/runs" in r.url else None)
    return seen


def test_runs_filter_sort_choose_columns_and_compare(
    site: Site, browser: playwright.Browser
) -> None:
    page = site.page(browser)
    site.log_in(page, Role.READER)
    page.goto(f"{site.url}/ui/runs")
    assert page.locator("table.runs tbody tr").count() == 6
    page.fill("input[name=filter]", "metrics.auc > 0.75 and params.model = 'rf'")
    requests = _count_requests(page)
    page.click("form#filters button[type=submit]")
    # The script swaps the filtered table in (one request, no navigation), then sets the
    # address: waiting for the address waits for the table.
    page.wait_for_url("**filter=metrics.auc*")
    names = page.locator("table.runs tbody td:nth-child(2)").all_inner_texts()
    assert sorted(names) == ["run-3", "run-5"]
    assert len(requests) == 1 and "filter=metrics.auc+%3E+0.75+and+params" in requests[0]
    page.go_back()  # back across the swap reloads the unfiltered page
    page.locator("table.runs tbody tr").nth(5).wait_for()
    assert "filter" not in page.url and page.locator("table.runs tbody tr").count() == 6
    page.fill("input[name=filter]", "metrics.auc > 0.75")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**filter=metrics.auc*")
    page.fill("input[name=filter]", "")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**filter=&*")
    assert page.locator("table.runs tbody tr").count() == 6
    page.click("a[data-sort='metrics.auc']")  # descending first
    page.wait_for_load_state()
    assert page.locator("table.runs tbody td:nth-child(2)").first.inner_text() == "run-5"
    page.click("a[data-sort='metrics.auc']")  # then ascending
    page.wait_for_load_state()
    assert page.locator("table.runs tbody td:nth-child(2)").first.inner_text() == "run-0"
    assert page.locator("th", has_text="metrics.loss").count() == 1
    page.click("details.columns summary")
    page.uncheck("input[name=cols][value='metrics.loss']")  # the script applies it at once
    page.wait_for_url("**cols=*")
    assert page.locator("th", has_text="metrics.loss").count() == 0
    assert page.locator("th", has_text="metrics.auc").count() == 1
    page.fill("input[name=filter]", "bogus.key > 1")
    page.click("form#filters button[type=submit]")
    page.locator("p.error").wait_for()  # the 400 page's error, swapped in
    assert page.locator("p.error").is_visible()
    assert site.problems == ["console: Failed to load resource: the server responded with a "
                             "status of 400 (Bad Request)"]  # fmt: skip
    site.problems.clear()  # the answer to a bad filter is a 400, which the browser logs
    page.goto(f"{site.url}/ui/runs")
    for box in page.locator("input[name=run]").all()[:3]:
        box.check()
    page.get_by_role("button", name="Compare ticked runs").click()
    page.wait_for_url("**/ui/compare?**")
    assert page.locator("h1").inner_text() == "3 runs compared"
    assert page.locator("svg.chart polyline").count() >= 3


def test_an_admin_approves_a_reader_cannot(site: Site, browser: playwright.Browser) -> None:
    reader = site.page(browser)
    site.log_in(reader, Role.READER)
    reader.goto(f"{site.url}/ui/models/churn-model")
    assert reader.locator("button.approve").count() == 0
    csrf = reader.locator("form[action='/ui/logout'] input[name=csrf]").get_attribute("value")
    refused = reader.request.post(
        f"{site.url}/ui/requests/{site.shop.request_id}/approve",
        form={"csrf": csrf or ""},
        max_redirects=0,
    )
    assert refused.status == 403

    admin = site.page(browser)
    site.log_in(admin, Role.ADMIN)
    admin.goto(f"{site.url}/ui/models/churn-model")
    row = admin.locator(f"#request-{site.shop.request_id}")
    row.locator("input[name=comment]").fill("looks good")
    row.locator("button.approve").click()
    admin.wait_for_load_state()
    assert row.locator(".status").inner_text() == "applied"
    assert "looks good" in row.inner_text()


def test_forged_posts_other_projects_and_logout(site: Site, browser: playwright.Browser) -> None:
    page = site.page(browser)
    site.log_in(page, Role.ADMIN)
    forged = page.request.post(
        f"{site.url}/ui/requests/{site.other.request_id}/reject", form={}, max_redirects=0
    )
    assert forged.status == 403
    response = page.goto(f"{site.url}/ui/runs/{site.other.run_ids[0]}")
    assert response is not None and response.status == 404
    site.problems.clear()  # the 404 itself is logged by the browser as a failed load
    page.goto(f"{site.url}/ui/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{site.url}/ui/login")
    page.goto(f"{site.url}/ui/runs")
    assert page.url.startswith(f"{site.url}/ui/login")


def test_live_traffic_refreshes_and_monitoring_draws_its_charts(
    site: Site, browser: playwright.Browser
) -> None:
    page = site.page(browser)
    site.log_in(page, Role.READER)
    page.goto(f"{site.url}/ui/deployments/churn-model")
    assert page.locator("#live .live-charts svg.chart").count() == 2  # rate and p99
    assert page.locator("#live table.live-versions tbody tr").count() >= 1
    # ui.js fetches the panel again every 5 s and swaps it in.
    with page.expect_response(lambda r: "/ui/deployments/churn-model/live" in r.url,
                              timeout=60_000) as refreshed:  # fmt: skip
        pass
    assert refreshed.value.status == 200
    page.wait_for_function(
        "document.querySelector('#live .live-charts svg.chart') !== null"
        " && !document.querySelector('#live').hasAttribute('data-stale')"
    )
    assert page.locator("#live table.breakers").count() == 1

    page.goto(f"{site.url}/ui/monitoring/churn-model?hours=1")
    for feature in ("tenure", "charges"):
        figure = page.locator(f".distributions figure[data-feature='{feature}'] svg.chart")
        assert figure.count() == 1
        assert figure.locator("rect").count() >= 4  # reference and current bars
    assert page.locator(".accuracy-charts svg.chart").count() >= 1
    page.select_option("#attribute", "tenure")
    page.click("form#fairness button[type=submit]")
    page.wait_for_url("**attribute=tenure**")
    assert page.locator(".fairness-charts svg.chart").count() >= 1
    assert page.locator("table").last.inner_text().count("No alerts.") == 1
