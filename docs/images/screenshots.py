"""Take the screenshots of docs/ui.md with Playwright and Debian's Chromium.

Run a server with data first (``podium quickstart`` serves one), then::

    python docs/images/screenshots.py 'http://127.0.0.1:8000/ui/login?token=...'

It logs in through the one-time link ``podium up`` printed, visits the main pages,
saves ``docs/images/ui-*.png``, and fails if a page logs a console error or a request
leaves the server's origin.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAGES = {
    "home": "/ui/",
    "runs": "/ui/runs?experiment=churn&order=metrics.auc+DESC",
    "run": None,  # a run with a metric history (the quickstart's boosted trees log one)
    "compare": None,  # every run of the runs page
    "model": "/ui/models/customer-churn",
    "deployment": "/ui/deployments/customer-churn",
    "drift": "/ui/monitoring/customer-churn?hours=720",
    "table": "/ui/data/raw.customers",
    "feature": "/ui/features/customer_stats",
}


def main(link: str) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(link))
    out = Path(__file__).parent
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_request(request: Request) -> None:
        if not request.url.startswith(origin):
            problems.append(f"request left {origin}: {request.url}")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", on_console)
        page.on("request", on_request)
        page.goto(link)
        for name, path in PAGES.items():
            if name == "run":
                page.goto(origin + PAGES["runs"])  # type: ignore[operator]
                runs = page.locator("table.runs tbody a")
                boosted = runs.filter(has_text="gbm")
                path = (boosted if boosted.count() else runs).first.get_attribute("href")
            if name == "compare":
                page.goto(origin + PAGES["runs"])  # type: ignore[operator]
                for box in page.locator("input[name=run]").all():
                    box.check()
                page.get_by_role("button", name="Compare ticked runs").first.click()
                page.wait_for_load_state()
            else:
                page.goto(origin + str(path))
            page.screenshot(path=out / f"ui-{name}.png", full_page=False)
            print(f"ui-{name}.png  {page.url}")
        browser.close()
    if problems:
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main(sys.argv[1])
