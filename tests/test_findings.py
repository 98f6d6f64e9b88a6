"""Findings first: what a run (and a comparison) found, in plain words with 95% intervals and
their conventions; both reports open with them, the headline numbers follow right after, the
report embeds no local path, and the dashboard serves them at /api/runs/{id}/findings."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_web_support import make_client

import creditsim
from creditsim.figures import numbers as fmt
from creditsim.figures.uncertainty import Posteriors
from creditsim.report.findings import compare_findings, run_findings
from creditsim.web import create_app


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("findings")
    return creditsim.run("national-2018", population=6_000, seed=5, out=folder / "run")


def _by_title(findings, start: str):
    return [f for f in findings if f.title.startswith(start)]


def test_the_wrongfully_sanctioned_come_first_with_an_interval(written):
    audit = written.audit()
    anyone = audit["overall"]["sanctions"]["any"]
    first = run_findings(audit, 5)[0]
    assert first.title == "Sanctioned for nothing they did"
    assert (
        f"{fmt.integer(anyone['wrongful'])} of the {fmt.integer(anyone['sanctioned'])} "
        "citizens under a sanction did nothing to earn it"
    ) in first.text
    low, high = re.search(r"95% interval ([\d.]+)% to ([\d.]+)%", first.text).groups()
    share = anyone["wrongful"] / anyone["sanctioned"]
    assert float(low) / 100 <= share <= float(high) / 100
    bans = sorted(
        (n for n, e in audit["overall"]["sanctions"].items() if n != "any" and e["wrongful"]),
        key=lambda n: (-audit["overall"]["sanctions"][n]["wrongful"], n),
    )
    for name in bans[:4]:  # the bans with the most wrongfully sanctioned, named
        entry = audit["overall"]["sanctions"][name]
        assert f"{name.replace('_', ' ')}: {entry['wrongful']} of {entry['sanctioned']}" in (
            first.text
        )
    if len(bans) > 4:
        assert f"{len(bans) - 4} more ban" in first.text


def test_each_group_gets_its_disparity_and_why(written):
    audit = written.audit()
    findings = run_findings(audit, 5)
    reference = audit["reference_group"]
    for group, entry in audit["by_group"].items():
        anyone = entry["sanctions"]["any"]
        if group == reference or anyone.get("disparate_impact") is None:
            continue
        (finding,) = _by_title(findings, f"{group}: sanctioned")
        ratio = anyone["disparate_impact"]
        assert f"sanctioned {fmt.ratio(ratio)} times as often as {reference}" in finding.text
        assert fmt.ratio_interval(anyone["disparate_impact_interval"]) in finding.text
        assert f"the group's rate ÷ {reference}'s" in finding.text
        excess = anyone["excess_sanction_rate"]
        for part in ("from_rightful_sanctions", "from_wrongful_sanctions"):
            assert fmt.signed_number(round(excess[part] * 1000, 2)) in finding.text
        assert "correct records per true offence" in finding.text
        assert "wrongful records per citizen" in finding.text
        assert (
            ("Mostly more surveillance" in finding.text)
            or ("errors, not" in finding.text)
            or ("Mostly less surveillance" in finding.text)
        )


def test_children_and_who_climbs_back(written):
    audit = written.audit()
    overall = audit["overall"]
    findings = run_findings(audit, 5)
    (children,) = _by_title(findings, "Children")
    assert f"{fmt.integer(overall['children_reached'])} children were reached" in children.text
    assert "95% interval" in children.text and "1.4 billion" in children.text
    for name, entry in overall["policies"].items():
        mobility = entry["mobility"]
        climbs = _by_title(findings, f"Who climbs back: {name}")
        if mobility["fell_to_bottom_grade"]:
            assert f"{mobility['fell_to_bottom_grade']} citizens fell" in climbs[0].text
            assert f"{mobility['climbed_back']} of them climbed back" in climbs[0].text
        else:
            assert not climbs


def test_intervals_are_jeffreys_and_fixed_by_the_seed():
    post = Posteriors(3)
    assert post.share_interval(0, 50)[0] == 0.0
    assert post.share_interval(50, 50)[1] == 1.0
    low, high = post.share_interval(10, 100)
    assert 0.045 < low < 0.055 and 0.165 < high < 0.18  # Jeffreys: 0.0512 to 0.1709
    assert Posteriors(3).share_interval(10, 100) == Posteriors(3).share_interval(10, 100)
    counts = Posteriors(3).per(400, 1000.0)
    assert abs(np.median(counts) - 0.4) < 0.01  # a count per citizen, centred on it


def test_a_run_without_sanctions_says_so():
    result = creditsim.run("no-system", population=1_000, seed=1, catalogue=False)
    findings = run_findings(result.audit())
    assert findings[0].title == "Nobody was sanctioned"
    assert all(f.text and f.title for f in findings)


COMPARED = {
    "a": {"scenario": "no-system"},
    "b": {"scenario": "national-2018"},
    "population": 5_000,
    "seeds": [1, 2, 3],
    "confidence": 0.95,
    "metrics": [
        {"metric": "sanctions.any.sanctioned", "a_mean": 0.0, "b_mean": 91.7,
         "difference": 91.7, "ci_low": 76.7, "ci_high": 106.6, "significant": True},
        {"metric": "sanctions.any.wrongful", "a_mean": 0.0, "b_mean": 3.7, "difference": 3.7,
         "ci_low": -0.13, "ci_high": 7.46, "significant": False},
        {"metric": "behaviour_change.speech.change_share", "a_mean": 0.0, "b_mean": -0.3,
         "difference": -0.3, "ci_low": -0.33, "ci_high": -0.26, "significant": True},
        {"metric": "children_reached", "a_mean": 0.0, "b_mean": 0.0, "difference": 0.0,
         "ci_low": 0.0, "ci_high": 0.0, "significant": False},
        {"metric": "by_group.minority-b.any.disparate_impact", "a_mean": None,
         "b_mean": 1.6, "difference": None, "ci_low": None, "ci_high": None,
         "significant": None},
    ],
}  # fmt: skip


def test_a_comparison_says_b_minus_a_with_its_interval():
    findings = compare_findings(COMPARED)
    titles = [f.title for f in findings]
    assert titles[0] == "Citizens under a sanction: +91.7"
    first = findings[0].text
    assert "B − A, with A (no-system) the baseline: +91.7 per run of 5,000 citizens" in first
    assert "95% interval +76.7 to +107 over 3 seeds" in first
    assert "excludes zero" in first
    wrongful = _by_title(findings, "Citizens sanctioned wrongfully")[0].text
    assert "−0.1 to +7.5" in wrongful and "includes zero: it may be noise" in wrongful
    speech = _by_title(findings, "Change in speech")[0]
    assert speech.title.endswith("−30%") and "−33% to −26%" in speech.text
    assert not _by_title(findings, "Children")  # zero in both: left out
    group = _by_title(findings, "minority-b")[0].text
    assert "1.60 times as often" in group and "no sanction to compare" in group


def test_both_reports_open_with_the_findings_and_embed_no_path(written, tmp_path):
    text = creditsim.report(written, tmp_path / "run.html").read_text()
    sections = re.findall(r'<section id="([^"]+)"', text)
    assert sections[:3] == ["findings", "headlines", "simulated"]
    for finding in run_findings(written.audit(), written.manifest["seed"])[:2]:
        assert finding.title.replace("'", "&#39;") in text
    assert str(written.path) not in text and "Run directory" not in text
    # The headline numbers come straight after the findings, each with its interval.
    assert text.index('id="headlines"') - text.index('id="findings"') < 20_000
    assert "The headline numbers: counts over the whole run" in text
    compared = creditsim.compare(
        "no-system", "national-2018", population=1_500, seeds=2, out=tmp_path / "cmp",
        catalogue=False,
    )  # fmt: skip
    page = creditsim.report(tmp_path / "cmp", tmp_path / "cmp.html").read_text()
    assert re.findall(r'<section id="([^"]+)"', page)[0] == "findings"
    assert str(tmp_path / "cmp") not in page
    assert compare_findings(compared.to_json())[0].title.split(":")[0] in page


def test_the_dashboard_serves_the_findings(written, tmp_path):
    with make_client(create_app(data_dir=tmp_path / "dash")) as client:
        answer = client.get(f"/api/runs/{written.catalogue_id}/findings")
        assert answer.status_code == 200
        expected = [f.to_dict() for f in run_findings(written.audit(), written.manifest["seed"])]
        assert answer.json() == {"findings": expected}
        missing = client.get("/api/runs/999999/findings")
        assert missing.status_code == 404 and "999999" in missing.json()["error"]
