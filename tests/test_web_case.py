"""The case file in the dashboard: GET /runs/{id}/case/{citizen} answers the page (then from the
run's cache), an unknown citizen or run is a 404 with one message, and in headless Chromium at
1400x900 and 390x844 the page (and the run's report) shows no console error, fetches nothing
from outside and is never wider than the screen. Screenshots are saved in pytest's temporary
directory for review (skipped where Chromium or Playwright is missing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_web_support import live_server, make_client

import creditsim
from creditsim.web import create_app

CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = ((1400, 900), (390, 844))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-case")
    return creditsim.run("national-2018", population=3_000, seed=4, out=folder / "run")


@pytest.fixture(scope="module")
def wronged(written) -> int:
    rows = written.to_frame("citizens")
    return int(rows.loc[rows["any_wrongful"] | (rows["wrongful_records"] > 0), "citizen"].iloc[0])


def test_the_case_page_and_its_cache(written, wronged, tmp_path):
    app = create_app(data_dir=tmp_path / "dash")
    with make_client(app) as client:
        url = f"/runs/{written.catalogue_id}/case/{wronged}"
        page = client.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        text = page.text
        assert f"Case file: citizen {wronged}" in text and "the truth" in text
        assert str(written.path) not in text
        found = creditsim.case(written.path, wronged)
        for line in found.story[:2]:
            assert line.replace("'", "&#39;") in text
        for child in found.children:
            assert f'href="/runs/{written.catalogue_id}/case/{child}"' in text
        cached = list((tmp_path / "dash" / "cache").glob(f"cases-*/case-{wronged}.html"))
        assert len(cached) == 1
        cached[0].write_text(text.replace("Case file:", "Cached case file:"))
        assert "Cached case file:" in client.get(url).text  # served from the cache

        unknown = client.get(f"/runs/{written.catalogue_id}/case/3000")
        assert unknown.status_code == 404
        assert "numbered 0 to 2,999" in unknown.json()["error"]
        assert client.get("/runs/999999/case/1").status_code == 404
        assert client.get(f"/runs/{written.catalogue_id}/case/x").status_code == 422


def _outside(url: str, base: str, found: list[str]) -> None:
    if not url.startswith((base, "data:")):
        found.append(url)


@pytest.fixture
def browser():
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking"],
        )  # fmt: skip
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_case_page_and_the_report_on_a_desktop_and_a_phone(browser, written, wronged, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    app = create_app(data_dir=tmp_path / "dash")
    with live_server(app) as base:
        for width, height in VIEWPORTS:
            for name, path in (
                ("case", f"/runs/{written.catalogue_id}/case/{wronged}"),
                ("report", f"/runs/{written.catalogue_id}/report"),
            ):
                page = browser.new_page(viewport={"width": width, "height": height})
                problems: list[str] = []
                outside: list[str] = []
                page.on("console", lambda m, p=problems: m.type == "error" and p.append(m.text))
                page.on("pageerror", lambda error, p=problems: p.append(str(error)))
                page.on("request", lambda r, o=outside: _outside(r.url, base, o))
                answer = page.goto(base + path, timeout=60_000)
                assert answer is not None and answer.status == 200, (name, width)
                assert problems == [] and outside == [], (name, width, problems, outside)
                wide = page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, (name, width, wide)
                if name == "case":
                    assert page.locator("ol.timeline li.wrong").count() >= 1
                    assert page.locator("#story li").count() >= 3
                    # On a phone the truth sits under what the system believed, not beside it.
                    pair = page.locator("ol.timeline .pair").first
                    columns = pair.evaluate("e => getComputedStyle(e).gridTemplateColumns")
                    assert len(columns.split()) == (1 if width < 600 else 2), columns
                else:
                    first = page.locator("section").first.get_attribute("id")
                    assert first == "findings"
                    top = page.locator("#headlines").evaluate("e => e.getBoundingClientRect().top")
                    assert top < (2600 if width < 600 else 1800), (width, top)
                shot = shots / f"{name}-{width}x{height}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 20_000
                page.close()
    print(f"screenshots in {shots}")
