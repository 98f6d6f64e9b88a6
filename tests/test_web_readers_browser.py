"""The dashboard for readers in a real headless Chromium (issue 16): errors at the field in plain
words, limits beside each knob, runs never lost or doubled (Run disabled at once, settings in
the URL, a run re-attached after a reload, one Cancel message), plots with a loading sign,
findings first and case-file links, comparisons with their settings, a plot and a report, past
runs found, labelled and deleted, and every page at 390 px no wider than its viewport.
Screenshots at 1400x900 and 390x844 are saved under tests/screenshots/readers/ (printed).
Skipped where Chromium or Playwright is missing."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from test_web_support import live_server

from creditsim.web import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = Path(__file__).parent / "screenshots" / "readers"
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def until(page, expression: str, seconds: float = 60.0) -> None:
    """Wait until `expression` is true in the page (the page's CSP forbids eval-based waits)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true after {seconds} s: {expression}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser():
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard, with its findings and case-file routes."""
    app = create_app(data_dir=tmp_path_factory.mktemp("readers-browser"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server(app) as base:
        yield app, base
    print(f"\nscreenshots of the dashboard for readers: {SHOTS}")


def _page(browser, viewport=WIDE):
    page = browser.new_page(viewport=viewport)
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("dialog", lambda d: d.accept("teaching set") if d.type == "prompt" else d.accept())
    return page


def _ready(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        f"(() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; })()"
    )


def test_errors_at_the_field_in_plain_words(browser, server):
    app, base = server
    for viewport, name in ((WIDE, "1400"), (PHONE, "390")):
        page = _page(browser, viewport)
        _ready(page, base + "/")
        page.fill("#population", "")
        page.fill('[data-group="minority-b"]', "2000")
        page.fill("#informant_false_share", "1")
        page.click("#run-button")
        page.wait_for_selector(".field-error")
        errors = page.locator(".field-error")
        assert errors.count() == 3
        assert (
            errors.nth(0).inner_text() == "This field is empty: enter a number from 1 to 2,000,000."
        )
        assert "The most it can be is 1,000; you entered 2000." in errors.nth(1).inner_text()
        assert errors.nth(2).inner_text().startswith("It must be under 1")
        assert page.get_attribute("#population", "aria-invalid") == "true"
        assert _in_view(page, "#population")  # the first bad field is brought into view
        summary = page.inner_text("#run-error")
        assert "3 settings need a change" in summary and "`" not in summary
        assert "knobs." not in summary and "(got" not in " ".join(errors.all_inner_texts())
        _shot(page, f"1-errors-{name}")
        assert app.state.manager.jobs == {}  # nothing was sent
        page.close()

    # A refusal only the server knows is put at its field too, without internal paths.
    page = _page(browser)
    _ready(page, base + "/")
    page.evaluate("document.querySelector('#informant_false_share').removeAttribute('data-min')")
    page.fill("#informant_false_share", "1")
    page.click("#run-button")
    page.wait_for_selector("#informant_false_share[aria-invalid=true]")
    message = page.inner_text(".field-error")
    assert message.startswith("It must be less than 1") and "`" not in message, message
    assert "channels." not in message
    assert page.is_enabled("#run-button")
    page.close()


def test_limits_beside_each_knob(browser, server):
    _, base = server
    page = _page(browser)
    _ready(page, base + "/")
    limit = page.locator('.limit[data-for="group-minority-b"]')
    assert limit.inner_text() == "0 to 1,000"
    assert page.inner_text('.limit[data-for="informant_false_share"]') == "0 to under 1"
    assert page.inner_text('.limit[data-for="days-flight_ban"]') == "1 to 36,500"
    assert page.inner_text('.limit[data-for="population"]') == "1 to 2,000,000"
    # Grade floors lie between their neighbours', and move with them.
    assert page.inner_text('.limit[data-for="grade-A"]') == "651 to 729"
    page.fill('[data-grade="B"]', "600")
    page.locator('[data-grade="B"]').dispatch_event("input")
    assert page.inner_text('.limit[data-for="grade-A"]') == "601 to 729"
    # Rongcheng's floors are shown whole (1050, not "105").
    _ready(page, base + "/#/?preset=rongcheng-pilot")
    until(page, "document.querySelector('#preset').value === 'rongcheng-pilot'")
    # The preset's knobs are filled in after it is chosen: wait for its grade floors.
    until(page, "[...document.querySelectorAll('[data-grade]')].some(i => i.value === '1050')")
    widths = page.evaluate(
        "[...document.querySelectorAll('[data-grade]')]"
        ".map(i => [i.value, i.scrollWidth <= i.clientWidth])"
    )
    assert ["1050", True] in widths and all(fits for _, fits in widths), widths
    _shot(page, "2-limits-rongcheng-1400")
    page.close()


def test_runs_never_lost_or_doubled(browser, server):
    app, base = server
    page = _page(browser)
    _ready(page, base + "/")
    page.fill("#population", "2000000")  # the largest run the dashboard takes: twenty million
    page.fill("#years", "10")  # citizen-years, far longer than a reload on the fastest machine
    page.fill("#camera_density", "2")
    page.locator("#camera_density").dispatch_event("input")
    assert "camera_density" in page.evaluate("decodeURIComponent(location.hash)")
    page.dblclick("#run-button")
    page.wait_for_selector("#run-status:not([hidden])")
    time.sleep(0.3)
    assert len(app.state.manager.jobs) == 1  # a double click made one run
    assert "queue" not in page.inner_text("#run-label")
    assert "job=" in page.evaluate("location.hash")

    page.reload()  # the run goes on, and the page finds it again with its settings
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#run-status:not([hidden])")
    assert page.input_value("#camera_density") == "2"
    assert page.input_value("#population") == "2000000"
    assert page.is_disabled("#run-button")
    _shot(page, "3-reattached-1400")
    page.click("#cancel-button")
    assert page.is_hidden("#cancel-button")
    until(page, "document.querySelector('#run-status').hidden")
    assert page.inner_text("#run-error") == "Cancelled: the run was stopped and nothing was kept."
    assert page.is_enabled("#run-button")
    assert "job=" not in page.evaluate("location.hash")
    assert page.problems == []
    page.close()


def test_a_run_read_by_a_reader_on_any_screen(browser, server):
    app, base = server
    page = _page(browser)
    _ready(page, base + "/#/?preset=national-2018&population=5000&seed=2")
    assert page.input_value("#seed") == "2"
    page.click("#run-button")
    page.wait_for_selector("#cards", timeout=90_000)
    run_id = int(page.get_attribute("#result-title", "data-id"))  # its catalogue id

    # Findings first, above the cards.
    page.wait_for_selector("#findings:not([hidden])")
    served = page.request.get(f"{base}/api/runs/{run_id}/findings").json()["findings"]
    assert served and all(f["title"] in page.inner_text("#findings") for f in served)
    assert page.evaluate(
        "document.querySelector('#findings').getBoundingClientRect().top"
        " < document.querySelector('#cards').getBoundingClientRect().top"
    )
    # A plot: a loading sign until it is drawn, then the caption with the image.
    until(page, "document.querySelector('#plot-loading').hidden", 90)
    caption = page.inner_text("#plot-caption")
    assert caption.startswith("sanctions:")
    page.click('.tabs button[data-kind="disparity"]')
    assert page.inner_text("#plot-caption") == caption  # unchanged until the image has come
    until(page, "document.querySelector('#plot-loading').hidden", 90)
    assert page.inner_text("#plot-caption").startswith("disparity:")
    assert page.get_attribute("#plot-image", "src").endswith("/plots/disparity.svg")
    flags = page.inner_text('#cards li[data-key="flagged"]')
    assert "whole 95% interval" in flags
    _shot(page, "4-run-1400")

    # The blacklist: wrongful first, Next back to the top, a case file in the same tab.
    page.click("#open-blacklist")
    page.wait_for_selector("#bl-count")
    assert page.locator("#blacklist-table").count() == 1
    if page.locator("#blacklist-table").count():
        page.check("#bl-first")
        until(
            page,
            "document.querySelector('#bl-first') && document.querySelector('#bl-first').checked",
        )
        page.wait_for_selector("#blacklist-table")
        total_wrongful = int(
            page.inner_text("#bl-count").split(", ")[-1].split()[0].replace(",", "")
        )
        first_rows = page.locator("#blacklist-table td.truth .badge").all_inner_texts()
        assert first_rows[: min(total_wrongful, len(first_rows))] == ["wrongful"] * min(
            total_wrongful, len(first_rows)
        )
        # The sanctions and the truth have room: not one word a line, nothing cut off.
        widths = page.evaluate(
            "[...document.querySelectorAll('#blacklist-table td.cc-sanctions, "
            "#blacklist-table td.truth')].map(c => c.offsetWidth)"
        )
        assert min(widths) >= 190, widths
        clipped = page.evaluate(
            "[...document.querySelectorAll('#blacklist-table td.truth')]"
            ".filter(c => c.scrollWidth > c.clientWidth).length"
        )
        assert clipped == 0
        assert page.is_enabled("#bl-next")  # 5,000 citizens, seed 2: two pages of entries
        if page.is_enabled("#bl-next"):
            page.click("#bl-next")  # scrolls to it, and waits while the table is redrawn
            until(page, "document.querySelector('#bl-page').textContent.startsWith('page 2')")
            assert (
                page.evaluate(
                    "document.querySelector('#blacklist-table').getBoundingClientRect().top"
                )
                >= -1
            )
        _shot(page, "5-blacklist-1400")
        name = page.locator("#blacklist-table .cc-name a").first
        citizen = name.get_attribute("href").rsplit("/", 1)[-1]
        assert name.get_attribute("target") is None  # the same tab
        with page.expect_navigation() as opened:
            name.click()
        assert opened.value.status == 200
        assert page.url == f"{base}/runs/{run_id}/case/{citizen}"
    page.close()

    # Every page at 390 px: no wider than the phone; wide tables scroll in their own box.
    phone = _page(browser, PHONE)
    for path, name in (
        ("/", "run"),
        (f"/#/runs/{run_id}", "result"),
        (f"/#/blacklist/{run_id}", "blacklist"),
        ("/#/compare", "compare"),
        ("/#/runs", "past-runs"),
    ):
        _ready(phone, base + path)
        time.sleep(1.0)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        if name == "run":  # the form's own table fits too: no knob hidden sideways
            box = phone.evaluate(
                "(() => { const w = document.querySelector('#sanction-knobs').parentNode;"
                " return w.scrollWidth - w.clientWidth; })()"
            )
            assert box <= 0, box
        _shot(phone, f"6-phone-{name}-390")
    _ready(phone, base + f"/#/runs/{run_id}")
    until(
        phone,
        "document.querySelector('#plot-loading') && document.querySelector('#plot-loading').hidden",
        90,
    )
    # The sanctions' small multiples in one tall column that fits the phone...
    shape = phone.evaluate(
        "(() => { const i = document.querySelector('#plot-image');"
        " const r = i.getBoundingClientRect();"
        " return [i.className, r.width, r.height, i.src]; })()"
    )
    assert "narrow" in shape[0] and shape[1] <= PHONE["width"] and shape[2] > 2 * shape[1], shape
    assert shape[3].endswith("?layout=narrow")
    _shot(phone, "6-phone-result-plot-390")
    # ... and the other plots keep a legible size, scrolling sideways in their box.
    phone.click('.tabs button[data-kind="disparity"]')
    until(phone, "document.querySelector('#plot-image').src.endsWith('/plots/disparity.svg')", 90)
    rendered = phone.evaluate("document.querySelector('#plot-image').getBoundingClientRect().width")
    assert rendered >= 700
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.problems == []
    phone.close()


def test_comparisons_and_past_runs_for_readers(browser, server):
    app, base = server
    page = _page(browser)
    _ready(
        page,
        base
        + "/#/?preset=national-2018&population=2000&seed=3&knobs=%7B%22camera_density%22%3A2%7D",
    )
    page.click('nav a[data-page="compare"]')
    page.wait_for_selector("#compare-a")
    assert "with 1 knob changed" in page.inner_text("#compare-a")
    page.fill("#compare-seeds", "2")
    page.click("#compare-button")
    page.wait_for_selector("#compare-status:not([hidden])")
    page.reload()  # the comparison under way is found again (or its result, if it is done)
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#compare-headline", timeout=120_000)
    assert len([j for j in app.state.manager.jobs.values() if j.kind == "compare"]) == 1
    assert "with 1 knob changed" in page.inner_text("#compare-a")  # the settings kept too
    title = page.inner_text("#compare-title")
    assert title.endswith("national-2018 with 1 knob changed (B) against no-system as it is (A)")
    assert "camera density" in page.inner_text("#compare-knobs")
    row = page.locator('#compare-headline tr[data-metric="sanctions.any.sanctioned"] td')
    assert "." not in row.nth(1).inner_text()  # whole citizens
    assert page.locator("#compare-plot svg circle").count() >= 4
    assert not page.is_visible("#pick-error")  # its runs can be set side by side
    report = page.request.get(base + page.get_attribute("#compare-report", "href"))
    assert report.status == 200 and "national-2018" in report.text()
    _shot(page, "7-compare-1400")
    compare_id = int(page.get_attribute("#compare-title", "data-id"))  # its catalogue id
    number = page.request.get(f"{base}/api/compares/{compare_id}").json()["number"]
    assert title.startswith(f"Comparison {number}:")  # numbered among comparisons, not runs
    phone = _page(browser, PHONE)
    _ready(phone, f"{base}/#/compares/{compare_id}")
    phone.wait_for_selector("#compare-plot")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.inner_text("h1#compare-title") == title  # the page's title, the report apart
    assert phone.get_attribute("#compare-report", "href") == f"/compares/{compare_id}/report"
    _shot(phone, "7-compare-390")
    phone.close()

    # Past runs: find, label, delete.
    page.click('nav a[data-page="runs"]')
    page.wait_for_selector(f'#compares-table tr[data-compare="{compare_id}"]')
    page.click(f'#compares-table tr[data-compare="{compare_id}"] button[data-action=label]')
    page.wait_for_selector(f'#compares-table tr[data-compare="{compare_id}"] .label')
    page.fill("#past-filter", "teaching")
    until(page, "document.querySelectorAll('#compares-table tbody tr[data-compare]').length === 1")
    assert page.locator("#runs-table tbody tr[data-run]").count() == 0
    _shot(page, "8-past-runs-1400")
    folder = Path(app.state.library.entry(compare_id, kind="compare")["path"])
    assert folder.is_dir()
    page.click(f'#compares-table tr[data-compare="{compare_id}"] button[data-action=delete]')
    until(page, f"!document.querySelector('#compares-table tr[data-compare=\"{compare_id}\"]')")
    assert not folder.exists()
    assert page.problems == []
    page.close()
