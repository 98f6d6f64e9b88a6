"""Reports and plots of tiny runs, where some groups and regions have nobody in them: the audit
gives None (null in audit.json) for their rates, and every plot, the HTML report and the
dashboard's views show a dash or "no citizens" for them instead of failing or printing "nan".

Every preset at 1, 10 and 1,000 citizens: every plot kind and the report through the dashboard
(answers 200, never a 5xx), and the run's view, audit, blacklist and side-by-side comparison."""

from __future__ import annotations

import math
import re
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
from test_web_support import make_client
from typer.testing import CliRunner

from creditsim.cli import app as cli_app
from creditsim.figures import numbers as fmt
from creditsim.figures.plots import KINDS
from creditsim.scenario import preset_names
from creditsim.web import create_app
from creditsim.workflow.run import run

SIZES = (1, 10, 1_000)
NOT_A_NUMBER = re.compile(r"\b(nan|inf|-inf|None)\b", re.IGNORECASE)
CASES = [(preset, size) for preset in preset_names() for size in SIZES]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("empty-groups")


@pytest.fixture(scope="module")
def client(data_dir):
    with make_client(create_app(data_dir=data_dir)) as test_client:
        yield test_client


def visible_text(html: str) -> str:
    """The report's words and numbers: without embedded images and markup."""
    html = re.sub(r'src="data:[^"]*"', "", html)
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_issue_s_command_writes_a_report(tmp_path):
    """`creditsim run national-2018 -n 1 --out X && creditsim report X -o r.html`."""
    runner = CliRunner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = runner.invoke(
            cli_app, ["run", "national-2018", "-n", "1", "--out", str(tmp_path / "X")]
        )
        assert made.exit_code == 0, made.output
        written = runner.invoke(
            cli_app, ["report", str(tmp_path / "X"), "-o", str(tmp_path / "r.html")]
        )
    assert written.exit_code == 0, written.output
    text = visible_text((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "creditsim report: national-2018" in text
    assert not NOT_A_NUMBER.search(text), NOT_A_NUMBER.search(text)
    assert "no citizens" in (tmp_path / "r.html").read_text(encoding="utf-8") or "—" in text


@pytest.mark.parametrize(("preset", "population"), CASES, ids=[f"{p}-{n}" for p, n in CASES])
def test_every_plot_and_the_report_of_a_tiny_run(client, data_dir, preset, population):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(
            preset, population=population, years=1, out=data_dir / f"{preset}-{population}"
        )
    run_id = result.catalogue_id
    assert run_id is not None
    audit = result.audit()
    empty = [name for name, entry in audit.get("by_group", {}).items() if not entry["citizens"]]
    if population == 1:
        assert empty, "one citizen leaves some group empty: the case this test is about"

    # Every plot kind and the report, asked for at once (the dashboard draws them in parallel).
    paths = [f"/api/runs/{run_id}/plots/{kind}.svg" for kind in KINDS] + [f"/runs/{run_id}/report"]
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        *plots, report = pool.map(client.get, paths)
    for kind, response in zip(KINDS, plots, strict=True):
        assert response.status_code == 200, (kind, response.text[:500])
        assert b"<svg" in response.content
    assert report.status_code == 200, report.text[:500]
    text = visible_text(report.text)
    assert f"creditsim report: {preset}" in text
    assert not NOT_A_NUMBER.search(text), text[max(0, NOT_A_NUMBER.search(text).start() - 200) :][
        :400
    ]

    view = client.get(f"/api/runs/{run_id}")
    assert view.status_code == 200, view.text[:500]
    shown = view.json()
    assert shown["files"] and shown["cards"][0]["value"] == population
    for row in shown["groups"]:
        assert not NOT_A_NUMBER.search(" ".join(row["text"].values())), row
    assert client.get(f"/api/runs/{run_id}/audit").status_code == 200
    blacklist = client.get(f"/api/runs/{run_id}/blacklist")
    assert blacklist.status_code == 200, blacklist.text[:500]
    side = client.get("/api/compare-runs", params={"a": run_id, "b": run_id})
    assert side.status_code == 200, side.text[:500]


def test_numbers_for_absent_values_are_dashes():
    for absent in (None, math.nan, math.inf, -math.inf, "x"):
        assert fmt.integer(absent) == "—"
        assert fmt.percent(absent) == "—"
        assert fmt.ratio(absent) == "—"
        assert fmt.number(absent) == "—"
        assert fmt.signed_number(absent) == "—"
        assert fmt.rate(absent, 1000.0) == "—"
    assert fmt.per_thousand_text(3, 0) == "—"
    assert fmt.per_thousand_text(3, None) == "—"
    assert fmt.per_thousand_text(3, 1_000) == "3.0"
    assert fmt.rate(0.00123, 1000.0, 2) == "1.23"
    assert fmt.ratio_interval([None, None]) == "—"
    assert fmt.ratio_interval([0.5, None]) == "0.50 or more"
    assert fmt.ratio_interval([math.nan, 1.0]) == "—"
    assert fmt.integer(10**30) == f"{10**30:,}"
    assert fmt.integer(True) == "1"
