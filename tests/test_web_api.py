"""The dashboard's API: every endpoint, bad input (one message naming the field, 4xx, the server
still answering), the bounded queue, cancellation, the time limit and abandoned jobs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from test_web_support import make_client, wait_for
from typer.testing import CliRunner

from creditsim import catalogue
from creditsim.cli import app as cli_app
from creditsim.figures import numbers as fmt
from creditsim.scenario import load_scenario
from creditsim.web import blacklist as bl
from creditsim.web import create_app
from creditsim.web.app import validation_message
from creditsim.web.knobs import KnobError, Knobs, RunRequest, knob_paths, scenario_for

SMALL = 3_000
JSON = {"content-type": "application/json"}  # what every POST, PUT, PATCH and DELETE must say


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dashboard")


@pytest.fixture(scope="module")
def client(data_dir):
    with make_client(create_app(data_dir=data_dir, max_population=50_000)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def finished_run(client):
    """One dashboard run with knobs moved, finished: (job, run view)."""
    body = {
        "preset": "national-2018",
        "population": SMALL,
        "years": 1,
        "seed": 4,
        "knobs": {
            "camera_density": 2.0,
            "camera_density_by_region": {"west": 0.5},
            "fpir": 0.003,
            "fpir_multiplier_by_group": {"minority-b": 8.0},
            "informant_false_share": 0.3,
            "grade_floors": {"C": 620},
            "trigger_grades": {"flight_ban": "C", "green_lane": "AAA"},
            "sanction_durations": {"blacklist": 400},
            "appeals": True,
            "appeal_success_wrongful": 0.6,
            "appeal_success_rightful": 0.1,
            "responses": {"gaming": False, "giving_up": False},
        },
    }
    response = client.post("/api/runs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"])
    assert job["state"] == "done", job
    view = client.get(f"/api/runs/{job['result']['run']}").json()
    return job, view


# ------------------------------------------------------------------------------ simple ones


def test_health_and_presets(client):
    health = client.get("/api/health").json()
    assert health["ok"] and health["limits"]["max_population"] == 50_000
    names = [p["name"] for p in client.get("/api/presets").json()]
    assert "national-2018" in names and "no-system" in names
    preset = client.get("/api/presets/national-2018").json()
    assert [r["name"] for r in preset["regions"]] == ["east", "central", "west", "northeast"]
    assert preset["run"]["population"] <= 50_000
    flight = next(s for s in preset["sanctions"] if s["name"] == "flight_ban")
    assert flight["trigger_grade"] == "D" and flight["grades"] == ["B", "C", "D"]
    green = next(s for s in preset["sanctions"] if s["name"] == "green_lane")
    assert green["trigger"] == "grade at or above" and green["grades"] == ["AAA", "AA"]
    assert preset["responses"] == {
        "enabled": True, "deterrence": True, "gaming": True, "informing": True, "giving_up": True
    }  # fmt: skip
    missing = client.get("/api/presets/atlantis")
    assert missing.status_code == 404 and "allowed: fico-baseline" in missing.json()["error"]


def test_the_page_and_its_files_are_served_with_a_policy_that_fetches_nothing_else(client):
    page = client.get("/")
    assert page.status_code == 200 and "creditsim dashboard" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    for name in ("app.js", "style.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200
    text = page.text + client.get("/static/app.js").text + client.get("/static/style.css").text
    assert not re.search(
        r"https?://(?!127\.0\.0\.1|localhost)", text.replace("http://www.w3.org", "")
    )


def test_a_foreign_host_is_refused(client):
    response = client.get("/api/health", headers={"host": "evil.example"})
    assert response.status_code == 400


# ---------------------------------------------------------------------------------- a run


def test_a_run_with_knobs_is_recorded_with_its_settings(finished_run, data_dir):
    job, view = finished_run
    assert job["progress"]["fraction"] == 1.0
    assert view["settings"]["knobs"]["camera_density"] == 2.0
    paths = view["settings"]["paths"]
    assert paths["regions.east.cameras_per_1000"] == pytest.approx(195.0 * 2)
    assert paths["regions.west.cameras_per_1000"] == pytest.approx(95.0 * 2 * 0.5)
    assert paths["sanctions.green_lane.trigger.grade_at_or_above"] == "AAA"
    assert paths["policies.national.grades"][4] == {"grade": "C", "min_score": 620}
    # the scenario that ran is the preset with exactly those changes
    manifest = json.loads((Path(view["path"]) / "manifest.json").read_text())
    scenario = manifest["scenario"]
    assert Path(view["path"]).is_relative_to(data_dir)
    assert scenario["channels"]["camera"]["fpir_reference"] == 0.003
    assert scenario["channels"]["camera"]["fpir_multiplier_by_group"]["minority-b"] == 8.0
    assert scenario["channels"]["informant"]["false_share"] == 0.3
    sanctions = {s["name"]: s for s in scenario["sanctions"]}
    assert sanctions["blacklist"]["duration_days"] == 400
    assert sanctions["flight_ban"]["trigger"]["grade_at_or_below"] == "C"
    assert scenario["appeals"]["success_rate_wrongful"] == 0.6
    assert scenario["response"]["gaming"]["enabled"] is False
    assert manifest["population"] == SMALL and manifest["seed"] == 4
    row = catalogue.show_run(view["id"])
    assert row["settings"]["dashboard"]["preset"] == "national-2018"


def test_the_numbers_shown_are_the_audit(client, finished_run):
    _, view = finished_run
    audit = client.get(f"/api/runs/{view['id']}/audit").json()
    overall = audit["overall"]
    cards = {card["key"]: card for card in view["cards"]}
    anyone = overall["sanctions"]["any"]
    for key, value in (
        ("citizens", overall["citizens"]),
        ("records", overall["records"]),
        ("wrongful_records", overall["wrongful_records"]),
        ("sanctioned", anyone["sanctioned"]),
        ("wrongfully_sanctioned", anyone["wrongful"]),
        ("children_reached", overall["children_reached"]),
    ):
        assert cards[key]["value"] == value
        assert cards[key]["text"] == fmt.integer(value)
    rows = {row["name"]: row for row in view["sanctions"]}
    assert rows["flight_ban"]["sanctioned"] == overall["sanctions"]["flight_ban"]["sanctioned"]
    assert rows["any"]["wrongful"] == anyone["wrongful"]
    assert [g["group"] for g in view["groups"]] == ["majority", "minority-a", "minority-b"]
    assert {p["kind"] for p in view["plots"]} >= {"sanctions", "wrongful", "disparity"}


def test_runs_are_listed_and_reopened_with_plots_and_a_report(client, finished_run):
    _, view = finished_run
    listed = client.get("/api/runs").json()
    assert view["id"] in [row["id"] for row in listed]
    mine = next(row for row in listed if row["id"] == view["id"])
    assert mine["dashboard"] and mine["files"] and mine["text"]["population"] == "3,000"
    again = client.get(f"/api/runs/{view['id']}").json()
    assert again["cards"] == view["cards"]
    svg = client.get(f"/api/runs/{view['id']}/plots/disparity.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.content.lstrip().startswith(b"<?xml") and b"<svg" in svg.content
    assert client.get(f"/api/runs/{view['id']}/plots/disparity").content == svg.content  # cached
    bad = client.get(f"/api/runs/{view['id']}/plots/pie")
    assert bad.status_code == 404 and "allowed: sanctions" in bad.json()["error"]
    report = client.get(f"/runs/{view['id']}/report")
    assert report.status_code == 200 and "creditsim report: national-2018" in report.text
    assert "unsafe-inline" in report.headers["content-security-policy"]


def test_a_run_made_without_files_shows_its_headline_numbers(client):
    import creditsim

    result = creditsim.run("national-2018", population=2_000, seed=1)
    view = client.get(f"/api/runs/{result.catalogue_id}").json()
    assert view["files"] is False and "not on disk" in view["note"]
    assert view["summary"]["citizens"] == 2_000
    missing = client.get(f"/api/runs/{result.catalogue_id}/plots/sanctions")
    assert missing.status_code == 404 and "not on disk" in missing.json()["error"]
    assert client.get(f"/api/runs/{result.catalogue_id}/blacklist").status_code == 409


# ---------------------------------------------------------------------------- blacklist


def test_the_blacklist_pages_through_entries_with_invented_names(client, finished_run):
    _, view = finished_run
    run_id = view["id"]
    first = client.get(f"/api/runs/{run_id}/blacklist", params={"per_page": 5})
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["per_page"] == 5 and data["page"] == 1
    assert data["pages"] == max(1, -(-data["total"] // 5))
    assert data["total"] > 0
    row = data["rows"][0]
    assert re.fullmatch(r"9\d{3}\*{10}\d{4}", row["id_number"])
    assert row["name"] == bl.synthetic_name(4, row["citizen"])
    assert row["published"] == bl.date_of(row["start_day"])
    assert set(row["truth"]) >= {"wrongful", "causes", "region", "group", "household"}
    only = client.get(f"/api/runs/{run_id}/blacklist", params={"wrongful": "true"}).json()
    assert only["total"] == data["wrongful_total"]
    assert all(r["truth"]["wrongful"] for r in only["rows"])
    kind = data["kinds"][0]["name"]
    chosen = client.get(f"/api/runs/{run_id}/blacklist", params={"entry": kind}).json()
    assert all(r["entry"] == kind for r in chosen["rows"])
    for params, field in (
        ({"per_page": 500}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": 10_000}, "page"),
        ({"entry": "list:nobody"}, "entry"),
        ({"wrongful": "perhaps"}, "wrongful"),
    ):
        bad = client.get(f"/api/runs/{run_id}/blacklist", params=params)
        assert bad.status_code == 422, params
        assert f"field `{field}`" in bad.json()["error"]


BLACKLIST_FIXTURE = pd.DataFrame(
    {
        "citizen": pd.array([7, 3, 7], dtype="int64"),
        "entry": ["blacklist", "list:debtors", "list:debtors"],
        "start_day": [40, 12, 12],
        "end_day": [770, 742, 900],
        "reasons": ["unpaid_judgment", "unpaid_judgment,tax_evasion", "unpaid_judgment"],
        "sanctions": ["flight_ban,caller_message", "flight_ban", ""],
        "wrongful": [True, False, True],
        "wrongful_causes": ["face_misidentification,false_informant_report", "", "data_merge"],
        "region": ["east", "west", "east"],
        "group": ["minority-b", "majority", "minority-b"],
        "age_band": ["adult", "senior", "adult"],
        "income_band": ["low", "middle", "low"],
        "household": pd.array([2, 1, 2], dtype="int64"),
    }
)


def test_a_blacklist_page_from_the_documented_schema():
    frame = bl.normalise(BLACKLIST_FIXTURE)
    assert frame["start_day"].tolist() == [12, 12, 40]  # by publication date
    page = bl.page(frame, seed=9, days=365, per_page=2)
    assert (page["total"], page["pages"], page["wrongful_total"], page["citizens_total"]) == (
        3, 2, 2, 2
    )  # fmt: skip
    assert [k["label"] for k in page["kinds"]] == ["public blacklist", "list: debtors"]
    last = bl.page(frame, seed=9, days=365, per_page=2, page_number=2)["rows"][0]
    assert last["entry_label"] == "public blacklist" and last["still_listed"] is True
    assert last["reasons"] == ["unpaid judgment"]
    assert last["sanctions"] == ["flight ban", "caller message"]
    assert last["caller_message"] == bl.CALLER_MESSAGE
    assert [c["words"] for c in last["truth"]["causes"]] == [
        "face identification matched the wrong person",
        "an informant reported something that did not happen",
    ]
    assert last["published"] == "2018-02-10" and last["until"] == "2020-02-10"
    rightful = bl.page(frame, seed=9, days=365, wrongful=False)["rows"]
    assert [r["citizen"] for r in rightful] == [3] and rightful[0]["caller_message"] is None
    with pytest.raises(ValueError, match="field `entry`"):
        bl.page(frame, seed=9, days=365, entry="list:transport_offenders")
    with pytest.raises(bl.BlacklistUnavailable, match="household"):
        bl.normalise(BLACKLIST_FIXTURE.drop(columns=["household"]))


def test_invented_names_and_numbers_are_fixed_by_seed_and_citizen():
    assert bl.synthetic_name(1, 42) == bl.synthetic_name(1, 42)
    assert bl.masked_id(1, 42) == bl.masked_id(1, 42)
    names = {bl.synthetic_name(1, citizen) for citizen in range(200)}
    assert len(names) > 100
    assert {bl.synthetic_name(2, c) for c in range(50)} != {
        bl.synthetic_name(1, c) for c in range(50)
    }
    for citizen in range(100):
        number = bl.synthetic_id(3, citizen)
        assert re.fullmatch(r"9\d{17}", number)
        assert bl.masked_id(3, citizen) == number[:4] + "*" * 10 + number[-4:]


# ---------------------------------------------------------------------------- bad input


BAD_RUNS = [
    ({"population": 0}, "field `population`: Input should be greater than 0"),
    ({"population": 80_000}, "field `population`: at most 50,000 citizens"),
    ({"population": "many"}, "field `population`: Input should be a valid integer"),
    ({"years": 11}, "field `years`: Input should be less than or equal to 10"),
    ({"seed": -1}, "field `seed`"),
    ({"preset": "../../etc/passwd"}, "field `preset`: unknown preset"),
    ({"preset": "bad.toml"}, "field `preset`: unknown preset"),
    ({"colour": "red"}, "field `colour`: unknown field; allowed: preset, population"),
    (
        {"knobs": {"fpir": 2}},
        "field `knobs.fpir` (the scenario's `channels.camera.fpir_reference`)",
    ),
    ({"knobs": {"informant_false_share": 1.0}}, "field `knobs.informant_false_share`"),
    ({"knobs": {"camera_density": -1}}, "field `knobs.camera_density`: Input should be greater"),
    ({"knobs": {"camera_density_by_region": {"mars": 2}}}, "'mars' is not a region; allowed: east"),
    ({"knobs": {"fpir_multiplier_by_group": {"martians": 2}}}, "'martians' is not a group"),
    ({"knobs": {"grade_floors": {"A": 900}}}, "field `knobs.grade_floors`"),
    ({"knobs": {"grade_floors": {"Z": 1}}}, "'Z' is not a grade of policy 'national'"),
    ({"knobs": {"trigger_grades": {"flight_ban": "AAA"}}}, "must be below the grade"),
    ({"knobs": {"trigger_grades": {"assets_frozen": "D"}}}, "is not a sanction with a grade"),
    ({"knobs": {"sanction_durations": {"flight_ban": 0}}}, "field `knobs.sanction_durations.flig"),
    ({"knobs": {"sanction_durations": {"ban_on_joy": 5}}}, "'ban_on_joy' is not a sanction"),
    ({"knobs": {"appeal_success_rightful": 1.5}}, "field `knobs.appeal_success_rightful`"),
    (
        {"knobs": {"responses": {"panic": True}}},
        "field `knobs.responses.panic`: Input should be 'enabled'",
    ),
    ({"knobs": {"responses": {"gaming": "sometimes"}}}, "field `knobs.responses.gaming`"),
    ({"knobs": {"x": 1}}, "field `knobs.x`: unknown field; allowed: camera_density"),
    ({"knobs": []}, "field `knobs`"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_RUNS)
def test_a_bad_run_request_gets_one_message_naming_the_field(client, body, expected):
    response = client.post("/api/runs", json={"population": SMALL, **body})
    assert response.status_code == 422, response.text
    error = response.json()
    assert list(error) == ["error"] and isinstance(error["error"], str)
    assert expected in error["error"]
    assert "\n" not in error["error"]
    assert client.get("/api/health").status_code == 200


def test_malformed_bodies_and_unknown_things(client):
    not_json = client.post(
        "/api/runs", content=b"{population:", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]
    listed = client.post("/api/runs", json=[1, 2])
    assert listed.status_code == 422 and list(listed.json()) == ["error"]
    empty = client.post("/api/runs", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 422 and "JSON body" in empty.json()["error"]
    assert client.get("/api/runs/abc").json()["error"].startswith("field `run_id`")
    assert "no run with id 99999" in client.get("/api/runs/99999").json()["error"]
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.delete("/api/jobs/nope", headers=JSON).status_code == 404
    assert client.get("/api/nothing").status_code == 404
    assert client.put("/api/runs", headers=JSON).status_code == 405
    assert client.get("/api/runs", params={"limit": 0}).json()["error"].startswith("field `limit`")
    assert client.get("/api/health").json()["ok"]


def test_validation_message_takes_the_first_error_and_counts_the_rest():
    errors = [
        {"loc": ("body", "knobs", "fpir"), "type": "float_parsing", "msg": "Bad", "input": "x"},
        {"loc": ("body", "seed"), "type": "int_parsing", "msg": "Worse", "input": "y"},
    ]
    assert (
        validation_message(errors, RunRequest) == "field `knobs.fpir`: Bad (got 'x') (and 1 more)"
    )


# ----------------------------------------------------------------------------- compare


def test_a_paired_comparison_and_two_runs_side_by_side(client):
    body = {
        "a": {"preset": "no-system"},
        "b": {"preset": "national-2018", "knobs": {"camera_density": 3}},
        "population": 2_000,
        "seed": 1,
        "seeds": 2,
    }
    response = client.post("/api/compare", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"])
    assert job["state"] == "done", job
    compare_id = job["result"]["compare"]
    view = client.get(f"/api/compares/{compare_id}").json()
    assert (view["a"], view["b"], view["seeds"]) == ("no-system", "national-2018", [1, 2])
    rows = {row["metric"]: row for row in view["rows"]}
    sanctioned = rows["sanctions.any.sanctioned"]
    assert sanctioned["headline"] and sanctioned["a"] == 0 and sanctioned["b"] > 0
    assert sanctioned["difference"] == sanctioned["b"] - sanctioned["a"]
    assert view["settings"]["b"]["knobs"] == {"camera_density": 3.0}
    assert len(view["children"]) == 4
    assert compare_id in [row["id"] for row in client.get("/api/compares").json()]
    a, b = view["children"][0], view["children"][1]  # seed 1, arms A then B
    side = client.get("/api/compare-runs", params={"a": a, "b": b}).json()
    assert side["paired"] is True and side["why_not_paired"] is None
    assert {row["metric"]: row for row in side["rows"]}["sanctions.any.sanctioned"]["a"] == 0
    other = client.get("/api/compare-runs", params={"a": a, "b": view["children"][3]}).json()
    assert other["paired"] is False and "different seed" in other["why_not_paired"]
    bad = client.post("/api/compare", json={**body, "seeds": 9})
    assert bad.status_code == 422 and "field `seeds`" in bad.json()["error"]
    bad = client.post("/api/compare", json={**body, "b": {"preset": "nowhere"}})
    assert "field `b.preset`" in bad.json()["error"]
    bad = client.post("/api/compare", json={**body, "a": {"knobs": {"fpir": 3}}})
    assert "field `a.knobs.fpir`" in bad.json()["error"]
    assert client.get(f"/api/runs/{compare_id}").status_code == 404
    assert client.get("/api/compares/99999").status_code == 404


# ----------------------------------------------------------------------- bounded work


def test_the_queue_is_bounded_and_a_job_can_be_cancelled(tmp_path):
    app = create_app(data_dir=tmp_path, max_running=1, max_queued=1, max_population=2_000_000)
    with make_client(app) as client:
        big = {"population": 1_500_000, "years": 10}  # far longer than the test
        first = client.post("/api/runs", json=big)
        deadline = time.monotonic() + 20
        while client.get(f"/api/jobs/{first.json()['id']}").json()["state"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = client.post("/api/runs", json=big)
        assert (first.status_code, second.status_code) == (202, 202)
        third = client.post("/api/runs", json=big)
        assert third.status_code == 503 and third.headers["retry-after"] == "10"
        assert "the dashboard is busy" in third.json()["error"]
        assert client.get(f"/api/jobs/{second.json()['id']}").json()["position"] == 1
        for job in (second.json(), first.json()):
            cancelled = client.delete(f"/api/jobs/{job['id']}", headers=JSON).json()
            assert cancelled["state"] == "cancelled" and "cancelled" in cancelled["error"]
        assert client.get("/api/health").json()["jobs"] == {"queued": 0, "running": 0}
        assert client.post("/api/runs", json={"population": 1_000}).status_code == 202
    runs = tmp_path / "runs"  # cancelled runs leave no directory behind
    assert not runs.exists() or not [
        p for p in runs.iterdir() if not (p / "manifest.json").exists()
    ]


def test_a_job_nobody_asks_about_is_cancelled_and_a_slow_one_stopped(tmp_path):
    app = create_app(data_dir=tmp_path, abandon_after=0.6, time_limit=30)
    with make_client(app) as client:
        job = client.post("/api/runs", json={"population": 1_500_000, "years": 10}).json()
        time.sleep(1.5)
        seen = client.get(f"/api/jobs/{job['id']}").json()
        assert seen["state"] == "cancelled" and "nobody asked about it" in seen["error"]
    app = create_app(data_dir=tmp_path, time_limit=0.5)
    with make_client(app) as client:
        job = client.post("/api/runs", json={"population": 1_500_000}).json()
        stopped = wait_for(client, job["id"])
        assert stopped["state"] == "failed" and "time limit of 0.5 s" in stopped["error"]
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_the_catalogue_must_be_on(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDITSIM_CATALOGUE", "off")
    with pytest.raises(ValueError, match="CREDITSIM_CATALOGUE=off"):
        create_app(data_dir=tmp_path)
    result = CliRunner().invoke(cli_app, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "CREDITSIM_CATALOGUE=off" in result.output


def test_serve_is_a_command():
    result = CliRunner().invoke(cli_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--max-population" in result.output


# ------------------------------------------------------------------------------ knobs


def test_knobs_become_scenario_paths():
    base = load_scenario("rongcheng-pilot")
    point, origin = knob_paths(
        base, Knobs(grade_floors={"B": 900}, responses={"enabled": False}, appeals=False)
    )
    assert point["response.enabled"] is False and point["appeals.enabled"] is False
    assert origin["response.enabled"] == "knobs.responses.enabled"
    assert any(path.endswith(".grades") for path in point)
    scenario, _ = scenario_for("sesame", Knobs(trigger_grades={"visa_fast_track": "very_good"}), {})
    visa = next(s for s in scenario.sanctions if s.name == "visa_fast_track")
    assert visa.trigger.grade_at_or_above == "very_good"
    with pytest.raises(KnobError, match="field `knobs.fpir`"):
        scenario_for("national-2018", Knobs(fpir=-0.1), {})
