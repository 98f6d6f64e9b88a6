"""The dashboard for readers, through its API (issue 16): the limits shown beside each knob are
the ones the server applies, messages without command-line flags, progress that says what a job
waits for, four-fifths flags counted one way on the dashboard and the command line, comparisons
in whole numbers with intervals that respect what cannot be negative, the compare report,
blacklist entries sorted wrongful first, and past runs labelled and deleted (only what the
dashboard made)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from test_web_support import make_client, wait_for
from typer.testing import CliRunner

from creditsim.audit.flags import four_fifths
from creditsim.cli import app as cli_app
from creditsim.scenario import load_scenario
from creditsim.web import blacklist as bl
from creditsim.web import create_app
from creditsim.web.jobs import QUEUED, RUNNING, Busy, JobManager
from creditsim.web.knobs import KnobError, Knobs, knob_limits, scenario_for
from creditsim.web.views import cards, compare_rows
from creditsim.workflow.run import run

JSON = {"content-type": "application/json"}
FINDINGS_ROUTE = "/api/runs/{run_id}/findings"
CASE_ROUTE = "/runs/{run_id}/case/{citizen_id}"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readers")


@pytest.fixture(scope="module")
def client(data_dir):
    app = create_app(data_dir=data_dir, max_population=50_000)
    with make_client(app) as test_client:
        yield test_client


def _run(client, **body) -> int:
    response = client.post("/api/runs", json={"population": 2_000, "seed": 5, **body})
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"], seconds=60)
    assert job["state"] == "done", job
    return job["result"]["run"]


# ------------------------------------------------------------------------------------ limits


def test_each_limit_shown_is_the_one_the_server_applies(client):
    limits = client.get("/api/presets/national-2018").json()["limits"]["knobs"]
    assert limits["fpir_multiplier"] == {
        "min": 0.0, "max": 1000.0, "min_open": False, "max_open": False, "integer": False
    }  # fmt: skip
    assert limits["informant_false_share"]["max"] == 1.0
    assert limits["informant_false_share"]["max_open"] is True
    assert limits["duration_days"]["min"] == 1 and limits["duration_days"]["max"] == 36_500
    assert limits["population"]["max"] == 50_000
    assert set(limits["camera_density_by_region"]) == {"east", "central", "west", "northeast"}
    # At each shown bound the scenario is valid; just past it, refused.
    edges = [
        ({"fpir_multiplier_by_group": {"minority-b": 1000.0}}, True),
        ({"fpir_multiplier_by_group": {"minority-b": 1000.5}}, False),
        ({"informant_false_share": 0.999}, True),
        ({"informant_false_share": 1.0}, False),
        ({"sanction_durations": {"flight_ban": 36_500}}, True),
        ({"sanction_durations": {"flight_ban": 36_501}}, False),
        ({"sanction_durations": {"flight_ban": 0}}, False),
        ({"fpir": 1.0}, True),
    ]
    for knobs, valid in edges:
        try:
            scenario_for("national-2018", Knobs(**knobs), {})
            accepted = True
        except KnobError:
            accepted = False
        assert accepted is valid, knobs


def test_the_camera_ceiling_is_computed_from_the_densest_region():
    base = load_scenario("national-2018")
    first = base.regions[0].name  # 100,000 / 5,000: at most 20 times as many cameras
    dense = load_scenario(base, {"regions": [{"name": first, "cameras_per_1000": 5_000.0}]})
    limits = knob_limits(dense)
    assert limits["camera_density"]["max"] == pytest.approx(20.0)
    assert limits["camera_density_by_region"][dense.regions[0].name]["max"] == pytest.approx(20.0)
    assert limits["camera_density_by_region"][dense.regions[1].name]["max"] == 100.0
    assert knob_limits(base)["camera_density"]["max"] == 100.0


# ---------------------------------------------------------------------------------- messages


def test_busy_and_progress_say_it_in_words(tmp_path):
    manager = JobManager(max_running=1, max_queued=1)
    manager.start = lambda: None  # no supervisor (it would start the first job): states set here
    first = manager.submit("run", {}, "one", tmp_path / "a")
    second = manager.submit("run", {}, "two", tmp_path / "b")
    assert manager.view(first)["ahead"] == 0  # nothing runs: it starts at the next round
    first.state = RUNNING
    assert manager.view(second)["state"] == QUEUED and manager.view(second)["ahead"] == 1
    with pytest.raises(Busy) as busy:
        manager.submit("run", {}, "three", tmp_path / "c")
    assert "--" not in str(busy.value) and "1 run under way and 1 waiting" in str(busy.value)
    cancelled = manager.view(manager.cancel(second.id))
    assert cancelled["state"] == "cancelled" and cancelled["error"] == "cancelled: nothing was kept"


# ------------------------------------------------------------------------------------- flags


def test_four_fifths_flags_count_one_way():
    audit = {
        "disparity_band": [0.8, 1.25],
        "confidence": 0.95,
        "flagged": ["b:any", "b:flight_ban", "c:any"],
        "flagged_significant": ["b:any"],
    }
    flags = four_fifths(audit)
    assert flags["count"] == 1 and flags["point_only"] == ["b:flight_ban", "c:any"]
    assert flags["words"].startswith("1 outcome flagged: counted where the whole 95% interval")
    assert "2 outcomes more outside it by the point estimate alone" in flags["words"]
    empty = four_fifths({"flagged": [], "flagged_significant": []})
    assert empty["count"] == 0 and "more outside" not in empty["words"]


def test_the_dashboard_card_and_the_command_line_count_the_same_flags(tmp_path, monkeypatch):
    import creditsim.cli

    # The console was made when the command line was first imported: wide, so no cell wraps.
    monkeypatch.setattr(creditsim.cli.console, "width", 400)
    out = tmp_path / "cli-run"
    result = CliRunner().invoke(
        cli_app, ["run", "national-2018", "-n", "3000", "--seed", "2", "--out", str(out)],
        env={"COLUMNS": "400"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    from creditsim.report.loading import open_run

    audit = open_run(out).audit()
    card = next(c for c in cards(audit) if c["key"] == "flagged")
    flags = four_fifths(audit)
    assert card["value"] == flags["count"]
    assert flags["words"][1:] in card["more"]
    printed = " ".join(result.output.split())
    assert "flagged by the four-fifths rule" in printed
    assert " ".join(flags["words"].split()) in printed
    assert "flagged (four-fifths rule)" not in printed  # the point-estimate count is not a row


# ------------------------------------------------------------------------------- comparisons


def test_comparison_rows_in_whole_numbers_within_what_is_possible():
    table = pd.DataFrame(
        [
            {"metric": "sanctions.any.wrongful", "a_mean": 0.0, "b_mean": 2.5,
             "difference": 2.5, "ci_low": -3.2, "ci_high": 8.1, "significant": False},
            {"metric": "by_group.b.any.sanction_rate", "a_mean": 0.9, "b_mean": 0.95,
             "difference": 0.05, "ci_low": -0.2, "ci_high": 0.3, "significant": False},
            {"metric": "behaviour_change.offending.change", "a_mean": 0.0, "b_mean": -40.0,
             "difference": -40.0, "ci_low": -90.4, "ci_high": 10.0, "significant": False},
        ]
    )  # fmt: skip
    rows = {row["metric"]: row for row in compare_rows(table)}
    wrongful = rows["sanctions.any.wrongful"]
    assert wrongful["words"] == "any sanction: citizens, wrongfully"
    assert wrongful["interval"] == [0.0, 8.1]  # B cannot fall below zero, so B − A not below −A
    assert wrongful["text"]["b"] == "2" and wrongful["text"]["interval"] == "0 to +9"
    assert "." not in wrongful["text"]["difference"]
    rate = rows["by_group.b.any.sanction_rate"]
    assert rate["interval"] == [pytest.approx(-0.2), pytest.approx(0.1)]  # a rate is at most 1
    change = rows["behaviour_change.offending.change"]
    assert change["interval"] == [-90.4, 10.0]  # a change may be negative: not cut
    assert change["text"]["interval"] == "−91 to +10"


def test_a_comparison_keeps_its_settings_and_has_a_report(client):
    body = {
        "a": {"preset": "no-system"},
        "b": {"preset": "national-2018", "knobs": {"camera_density": 2.0}},
        "population": 1_000,
        "seeds": 2,
    }
    response = client.post("/api/compare", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"], seconds=90)
    assert job["state"] == "done", job
    compare_id = job["result"]["compare"]
    view = client.get(f"/api/compares/{compare_id}").json()
    assert view["settings"]["b"]["knobs"] == {"camera_density": 2.0}
    assert view["settings"]["a"]["preset"] == "no-system"
    assert all(row["interval"] is None or row["interval"][0] >= -(row["a"] or 0) - 1e-9
               for row in view["rows"] if row["kind"] != "change"
               and not row["metric"].endswith("change"))  # fmt: skip
    renderer = client.app.state.renderer
    before = renderer.drawn
    report = client.get(f"/compares/{compare_id}/report")
    assert report.status_code == 200 and "<html" in report.text.lower()
    assert "national-2018" in report.text
    again = client.get(f"/compares/{compare_id}/report")
    assert again.text == report.text and renderer.drawn == before + 1  # drawn once, then cached
    child = client.get(f"/api/runs/{view['children'][0]}").json()
    assert child["parent"] == compare_id
    assert client.get("/compares/99999/report").status_code == 404


# -------------------------------------------------------------------------------- blacklist


def test_wrongful_entries_can_be_sorted_first():
    frame = bl.normalise(
        pd.DataFrame(
            {
                "citizen": [1, 2, 3, 4],
                "entry": ["blacklist"] * 4,
                "start_day": [1, 2, 3, 4],
                "end_day": [400] * 4,
                "reasons": ["x"] * 4,
                "sanctions": ["flight_ban"] * 4,
                "wrongful": [False, True, False, True],
                "wrongful_causes": ["", "data_merge", "", "data_merge"],
                "region": ["r"] * 4,
                "group": ["g"] * 4,
                "age_band": ["adult"] * 4,
                "income_band": ["low"] * 4,
                "household": [1, 2, 3, 4],
            }
        )
    )
    first = bl.page(frame, seed=1, days=365, order="wrongful_first", per_page=3)
    assert [r["citizen"] for r in first["rows"]] == [2, 4, 1]
    assert [r["citizen"] for r in bl.page(frame, seed=1, days=365)["rows"]] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="field `order`"):
        bl.page(frame, seed=1, days=365, order="sideways")


# -------------------------------------------------------------------------------- past runs


def test_label_and_delete_only_what_the_dashboard_made(client, data_dir, tmp_path):
    run_id = _run(client)
    labelled = client.patch(f"/api/runs/{run_id}", json={"label": "cameras doubled"}, headers=JSON)
    assert labelled.status_code == 200 and labelled.json()["label"] == "cameras doubled"
    listed = {r["id"]: r for r in client.get("/api/runs").json()}
    assert listed[run_id]["label"] == "cameras doubled"
    long = client.patch(f"/api/runs/{run_id}", json={"label": "x" * 81}, headers=JSON)
    assert long.status_code == 422 and "field `label`" in long.json()["error"]

    # One made elsewhere (as `creditsim run --out` would): refused, its files untouched.
    elsewhere = tmp_path / "mine"
    outside = run("national-2018", population=1_000, years=1, out=elsewhere)
    refused = client.delete(f"/api/runs/{outside.catalogue_id}", headers=JSON)
    assert refused.status_code == 409 and "only what it made" in refused.json()["error"]
    assert (elsewhere / "manifest.json").is_file()

    folder = Path(client.get(f"/api/runs/{run_id}").json()["path"])
    assert folder.is_dir() and folder.parent == data_dir.resolve() / "runs"
    gone = client.delete(f"/api/runs/{run_id}", headers=JSON)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert not folder.exists()
    assert run_id not in {r["id"] for r in client.get("/api/runs").json()}
    assert client.delete(f"/api/runs/{run_id}", headers=JSON).status_code == 404


# --------------------------------------------------------------------- findings and case files


def test_findings_and_case_files_are_linked_where_the_app_serves_them(data_dir):
    app = create_app(data_dir=data_dir, max_population=50_000)
    with make_client(app) as client:
        run_id = _run(client, seed=9)
        view = client.get(f"/api/runs/{run_id}").json()
        assert view["has_findings"] is True and view["has_case"] is True
        page = client.get(f"/api/runs/{run_id}/blacklist").json()
        assert page["has_case"] is True
        served = [FINDINGS_ROUTE, CASE_ROUTE]
        routes = list(app.router.routes)
        app.router.routes[:] = [r for r in routes if getattr(r, "path", None) not in served]
        try:  # an app without them: the page shows no findings and links no case file
            bare = client.get(f"/api/runs/{run_id}").json()
            assert bare["has_findings"] is False and bare["has_case"] is False
            assert client.get(f"/api/runs/{run_id}/blacklist").json()["has_case"] is False
        finally:
            app.router.routes[:] = routes
        wrongful = client.get(
            f"/api/runs/{run_id}/blacklist", params={"wrongful": "true", "per_page": 100}
        ).json()
        groups = {r["truth"]["group"] for r in wrongful["rows"]}
        assert set(view["examples"]) == groups or wrongful["total"] > len(wrongful["rows"])
        for group, citizens in view["examples"].items():
            assert 1 <= len(citizens) <= 3
            assert all(
                any(r["citizen"] == c and r["truth"]["group"] == group for r in wrongful["rows"])
                for c in citizens
            ) or wrongful["total"] > len(wrongful["rows"])


def test_the_sanctions_plot_for_a_phone_is_one_tall_column(client):
    run_id = _run(client, seed=11)
    wide = client.get(f"/api/runs/{run_id}/plots/sanctions.svg")
    narrow = client.get(f"/api/runs/{run_id}/plots/sanctions.svg", params={"layout": "narrow"})
    assert wide.status_code == 200 and narrow.status_code == 200

    def size(svg: str) -> tuple[float, float]:
        head = svg[: svg.index(">", svg.index("<svg"))]
        width, height = (
            re.search(f'{name}="([0-9.]+)pt"', head).group(1) for name in ("width", "height")
        )
        return float(width), float(height)

    wide_w, wide_h = size(wide.text)
    narrow_w, narrow_h = size(narrow.text)
    assert narrow_w < 0.5 * wide_w and narrow_h > wide_h  # half as wide, and taller
    # Other plots are the same either way (one drawing, one cache).
    before = client.app.state.renderer.drawn
    same = client.get(f"/api/runs/{run_id}/plots/disparity.svg", params={"layout": "narrow"})
    again = client.get(f"/api/runs/{run_id}/plots/disparity.svg")
    assert same.text == again.text and client.app.state.renderer.drawn == before + 1
    bad = client.get(f"/api/runs/{run_id}/plots/sanctions.svg", params={"layout": "tiny"})
    assert bad.status_code == 422 and "field `layout`" in bad.json()["error"]
