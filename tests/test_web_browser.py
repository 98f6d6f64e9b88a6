"""The dashboard end to end in a real headless Chromium (Debian's, driven by Playwright): open
the page, change a knob, run, wait for the result, check the numbers shown against the run's
audit, open the blacklist, compare, and look at the past runs. A screenshot of each page is
saved in pytest's temporary directory (printed with -s). Skipped where Chromium or Playwright is
missing (.ci/run installs Chromium)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from test_web_support import live_server

from creditsim.figures import numbers as fmt
from creditsim.web import create_app

CHROMIUM = "/usr/bin/chromium"


def until(page, expression: str, seconds: float = 30.0) -> None:
    """Wait until `expression` is true in the page (page.wait_for_function evaluates its
    predicate with eval, which the dashboard's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true after {seconds} s: {expression}"
        time.sleep(0.05)


@pytest.fixture
def browser():
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_dashboard_in_a_real_browser(browser, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    app = create_app(data_dir=tmp_path / "dashboard")
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        external: list[str] = []
        page.on(
            "request",
            lambda r: external.append(r.url) if not r.url.startswith((base, "data:")) else None,
        )

        # The run page: change knobs, run, wait for the result.
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.input_value("#preset") == "national-2018"
        page.fill("#population", "4000")
        page.fill("#seed", "3")
        page.fill("#camera_density", "2.5")
        page.locator("#camera_density").dispatch_event("input")
        assert "1 knob changed" in page.inner_text("#changes")
        assert "changed" in (page.get_attribute("#camera_density", "class") or "")
        page.click("#run-button")
        page.wait_for_selector("#cards", timeout=60_000)
        until(page, "document.querySelector('#plot-image').complete")
        page.screenshot(path=str(shots / "1-run.png"), full_page=True)

        # The numbers shown are the run's audit.
        run_id = int(page.get_attribute("#result-title", "data-id"))  # its catalogue id
        audit = httpx.get(f"{base}/api/runs/{run_id}/audit").json()
        overall = audit["overall"]
        anyone = overall["sanctions"]["any"]
        expected = {
            "citizens": overall["citizens"],
            "records": overall["records"],
            "wrongful_records": overall["wrongful_records"],
            "sanctioned": anyone["sanctioned"],
            "wrongfully_sanctioned": anyone["wrongful"],
            "children_reached": overall["children_reached"],
        }
        for key, value in expected.items():
            card = page.locator(f'#cards li[data-key="{key}"]')
            assert card.locator(".value").inner_text() == fmt.integer(value), key
        assert expected["citizens"] == 4000
        flight = page.locator('#sanctions-table td[data-key="flight_ban.sanctioned"]')
        assert flight.inner_text() == fmt.integer(overall["sanctions"]["flight_ban"]["sanctioned"])
        manifest_cameras = httpx.get(f"{base}/api/runs/{run_id}").json()["settings"]["paths"]
        assert manifest_cameras["regions.east.cameras_per_1000"] == pytest.approx(195.0 * 2.5)
        page.click('.tabs button[data-kind="disparity"]')
        until(
            page,
            "document.querySelector('#plot-image').src.endsWith('/plots/disparity.svg')"
            " && document.querySelector('#plot-image').complete"
            " && document.querySelector('#plot-image').naturalWidth > 0",
        )

        # The blacklist of that run.
        page.click("#open-blacklist")
        page.wait_for_selector("#blacklist-table, .cc-banner .cc-site")
        page.wait_for_selector("#bl-count")
        assert "invented" in page.inner_text(".cc-warning")
        rows = page.locator("#blacklist-table tbody tr")
        if rows.count():
            first = rows.nth(0)
            assert first.locator(".cc-id").inner_text().startswith("9")
            assert "**********" in first.locator(".cc-id").inner_text()
            assert page.inner_text("#bl-detail h3") == first.locator(".cc-name").inner_text()
            assert "What the simulator knows" in page.inner_text("#bl-detail")
            page.check("#bl-wrongful")
            until(page, "document.querySelector('#bl-wrongful').checked")
            page.wait_for_selector("#bl-count")
        page.screenshot(path=str(shots / "2-blacklist.png"), full_page=True)

        # Past runs, and the run reopened from there.
        page.goto(base + "/#/runs")
        page.wait_for_selector(f'#runs-table tr[data-run="{run_id}"]')
        page.screenshot(path=str(shots / "3-past-runs.png"), full_page=True)
        page.click(f'#runs-table tr[data-run="{run_id}"] a')
        page.wait_for_selector("#page-view #cards")
        shown = page.locator('#page-view #cards li[data-key="wrongful_records"] .value')
        assert shown.inner_text() == fmt.integer(expected["wrongful_records"])
        page.screenshot(path=str(shots / "4-run-reopened.png"), full_page=True)

        # A paired comparison against no system at all.
        page.goto(base + "/#/compare")
        page.wait_for_selector("#compare-a")
        assert "with 1 knob changed" in page.inner_text("#compare-a")
        page.fill("#compare-seeds", "1")
        page.click("#compare-button")
        page.wait_for_selector("#compare-headline", timeout=60_000)
        title = page.inner_text("#compare-title")
        assert "national-2018 with 1 knob changed (B) against no-system as it is (A)" in title
        compared = page.locator('#compare-headline tr[data-metric="sanctions.any.sanctioned"] td')
        assert compared.nth(0).inner_text() == "0"  # A: no system, nobody sanctioned
        page.screenshot(path=str(shots / "5-compare.png"), full_page=True)

        assert problems == [], problems
        assert external == [], external

        # A bad value: one message (the browser also logs the 422 it got), the page still works.
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.fill("#informant_false_share", "1.5")
        page.click("#run-button")
        page.wait_for_selector("#run-error:not([hidden])")
        assert "False reports" in page.inner_text("#run-error")  # named as the form names it
        assert "you entered 1.5" in page.inner_text(".field-error")
        page.screenshot(path=str(shots / "6-bad-value.png"), full_page=True)

        assert problems == [], problems  # checked on the page: nothing sent, nothing refused
        assert external == [], external
    print(f"\nscreenshots of the dashboard: {shots}")


def test_another_web_page_cannot_queue_runs(browser, tmp_path):
    """What a page on another site could send to a dashboard on loopback (a form posted in the
    background, a no-cors fetch) is refused: nothing is queued."""
    app = create_app(data_dir=tmp_path / "dashboard")
    with live_server(app) as base:
        page = browser.new_page()
        page.set_content(
            f'<form id="f" method="post" action="{base}/api/runs" enctype="text/plain">'
            '<input name=\'{"population": 10, "x": "\' value=\'"}\'></form>'
        )
        with page.expect_navigation():
            page.evaluate("document.getElementById('f').submit()")
        assert page.evaluate("document.body.innerText").count("refused") == 1
        sent = page.evaluate(
            """url => fetch(url, {method: "POST", mode: "no-cors", body: '{"population": 10}',
                                  headers: {"Content-Type": "text/plain"}})
                       .then(() => "sent", error => String(error))""",
            f"{base}/api/runs",
        )
        assert sent == "sent"  # the browser sends it; the server refuses it
        assert app.state.manager.jobs == {}  # neither was queued
