"""A synthetic citizen's case file, rebuilt by re-running their shard: it must agree exactly with
the row the run wrote for them (counts of true and recorded events, wrongful records, days under
each sanction and list, final scores and grades), tell the truth behind every record, and come
out of the API, the command line (a Rich print, --html, --json) and bad input the same way."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import creditsim
from creditsim import cli
from creditsim.workflow.case import CaseError, CaseFile


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Three shards of 1,000, so that a citizen's shard has to be found."""
    folder = tmp_path_factory.mktemp("case")
    return creditsim.run(
        "national-2018", population=3_000, seed=11, shard_size=1_000, out=folder / "run"
    )


@pytest.fixture(scope="module")
def rows(written):
    return written.to_frame("citizens").set_index("citizen", drop=False)


def _picks(rows) -> list[int]:
    """Citizens whose stories have something in them, from every shard, and a few without."""
    chosen: list[int] = []
    for column in ("any_wrongful", "any_sanction", "wrongful_records", "days_listed_debtors",
                   "denied_flight_ban", "children_affected"):  # fmt: skip
        hits = rows.index[rows[column].astype(bool)]
        chosen += [int(c) for c in hits[:2]] + [int(c) for c in hits[-1:]]
    chosen += [0, 999, 1000, 2999]
    return sorted(set(chosen))


def test_the_case_agrees_exactly_with_the_stored_row(written, rows):
    picks = _picks(rows)
    assert {p // 1000 for p in picks} == {0, 1, 2}  # every shard
    assert rows.loc[picks, "any_wrongful"].any() and rows.loc[picks, "any_sanction"].any()
    for citizen in picks:
        found = creditsim.case(written.path, citizen, stored_row=True)
        row = rows.loc[citizen].to_dict()
        compared = [key for key in found.counts if key in row]
        assert len(compared) >= 30
        for key in compared:
            assert found.counts[key] == row[key], (citizen, key)
        assert found.row is not None and found.row["citizen"] == citizen
        assert found.row == {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        assert found.citizen["group"] == row["group"]
        assert found.citizen["region"] == row["region"]
        assert found.citizen["household"] == row["household"]
        for score in found.scores:  # the replayed steps end where the run's ledger did
            assert score["replay_exact"], (citizen, score["policy"])
            assert score["final"] == row[f"score_{score['policy']}"]


def test_every_record_carries_the_truth(written, rows):
    wronged = int(rows.index[rows["wrongful_records"] > 0][0])
    found = creditsim.case(written.path, wronged)
    wrong = [r for r in found.records if r["wrongful"]]
    assert len(wrong) == rows.loc[wronged, "wrongful_records"] > 0
    for record in wrong:
        assert record["cause"] != "correct"
        assert record["actor"] != wronged
        if record["actor"] is not None:
            assert f"citizen {record['actor']}" in record["truth"]
        else:
            assert "made up" in record["truth"]
    for record in found.records:
        if not record["wrongful"]:
            assert record["cause"] == "correct" and record["actor"] == wronged
            assert record["truth"] == "they did it"
    # Every record of one of their own acts made against them is among the records about them.
    about = {(r["day"], r["channel"]) for r in found.records if not r["wrongful"]}
    for act in found.acts:
        for made in act["recorded"]:
            if made["against"] == wronged:
                assert (made["day"], made["channel"]) in about


def test_an_act_blamed_on_someone_else_appears_in_both_case_files(written, rows):
    """A wrongful record names its true actor; that actor's case shows the act recorded
    against the wronged citizen."""
    for wronged in rows.index[rows["wrongful_records"] > 0][:40]:
        found = creditsim.case(written.path, int(wronged))
        named = [r for r in found.records if r["wrongful"] and r["actor"] is not None]
        if named:
            record = named[0]
            break
    else:
        pytest.skip("no wrongful record with a known actor in this small run")
    actor = creditsim.case(written.path, record["actor"])
    blamed = [a for a in actor.acts if int(wronged) in a["recorded_against_others"]]
    assert blamed, (int(wronged), record)
    assert any(a["day"] <= record["day"] for a in blamed)


def test_sanctions_say_their_days_appeals_and_truth(written, rows):
    citizen = int(rows.index[rows["any_wrongful"]][0])
    found = creditsim.case(written.path, citizen)
    days = written.manifest["days"]
    wrongful = [s for s in found.sanctions if s["wrongful"]]
    assert wrongful
    for entry in found.sanctions:
        assert 0 <= entry["start"] < days
        assert entry["end"] is None or entry["start"] < entry["end"] <= days
        assert entry["days"] == (days if entry["end"] is None else entry["end"]) - entry["start"]
        assert set(entry["appeal"]) == {"filed", "upheld", "ruled_insincere", "lifted"}
        assert not entry["appeal"]["lifted"] or entry["appeal"]["upheld"]
    assert any("wrongfully" in line for line in found.story)


def test_the_case_is_plain_data_and_the_same_twice(written, rows):
    citizen = int(rows.index[rows["any_sanction"]][0])
    first = creditsim.case(written.path, citizen)
    assert isinstance(first, CaseFile)
    data = first.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert json.loads(first.to_json()) == data
    again = creditsim.case(str(written.path), str(citizen)).to_dict()
    assert again == data
    days = [item["day"] for item in first.timeline()]
    assert days == sorted(days)


def test_children_are_those_of_the_household(written, rows):
    parent = int(rows.index[(rows["children"] > 0) & (rows["age_band"] != "child")][0])
    found = creditsim.case(written.path, parent)
    assert len(found.children) == rows.loc[parent, "children"]
    for child in found.children:
        assert rows.loc[child, "household"] == rows.loc[parent, "household"]
        assert rows.loc[child, "age_band"] == "child"


@pytest.mark.parametrize(
    ("citizen", "message"),
    [
        ("3000", "no such citizen in this run; its citizens are numbered 0 to 2,999"),
        ("-1", "no such citizen"),
        ("abc", "no such citizen"),
    ],
)
def test_an_unknown_citizen_is_one_clear_message(written, citizen, message):
    with pytest.raises(CaseError, match=message):
        creditsim.case(written.path, citizen)
    done = CliRunner().invoke(cli.app, ["case", str(written.path), "--", citizen])
    assert done.exit_code == 2
    assert message in " ".join(done.output.split())
    assert "Traceback" not in done.output


def test_the_command_line_prints_and_writes(written, rows, tmp_path):
    citizen = int(rows.index[rows["any_wrongful"]][0])
    html, data = tmp_path / "case.html", tmp_path / "case.json"
    done = CliRunner().invoke(
        cli.app,
        ["case", str(written.path), str(citizen), "--html", str(html), "--json", str(data)],
    )
    assert done.exit_code == 0, done.output
    assert f"Case file: citizen {citizen}" in done.output
    assert "the truth" in done.output and "wrongful" in done.output
    assert json.loads(data.read_text()) == creditsim.case(written.path, citizen).to_dict()
    page = html.read_text()
    assert f"Case file: citizen {citizen}" in page and "Content-Security-Policy" in page
    assert str(written.path) not in page  # the local run directory stays local
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.html", "case.json"]


def test_a_catalogue_id_names_the_run(written):
    assert written.catalogue_id is not None
    by_id = creditsim.case(str(written.catalogue_id), 5).to_dict()
    assert by_id["citizen"] == creditsim.case(written.path, 5).to_dict()["citizen"]


def test_bad_runs_and_outputs_write_nothing(written, tmp_path):
    runner = CliRunner()
    cases = [
        (["case", str(tmp_path / "none"), "1"], "no such run directory"),
        (["case", str(tmp_path), "1"], "not a finished run directory"),
        (
            ["case", str(written.path), "1", "--html", str(tmp_path / "no" / "c.html")],
            "does not exist",
        ),
        (["case", str(written.path), "1", "--json", str(tmp_path)], "is a directory"),
    ]
    for arguments, message in cases:
        done = runner.invoke(cli.app, arguments)
        assert done.exit_code == 2, done.output
        assert message in " ".join(done.output.split())
    assert list(tmp_path.iterdir()) == []


def test_a_run_with_sampled_rows_still_has_cases(tmp_path):
    """With --citizen-rows 0.1 most citizens have no row, but their case is rebuilt all the
    same; those that have one agree with it."""
    run = creditsim.run(
        "national-2018", population=1_500, seed=2, citizen_rows=0.1, out=tmp_path / "run"
    )
    table = pq.read_table(tmp_path / "run" / "citizens").to_pandas()
    kept = set(table["citizen"])
    missing = next(c for c in range(1_500) if c not in kept)
    assert creditsim.case(run.path, missing, stored_row=True).row is None
    some = int(table["citizen"].iloc[0])
    found = creditsim.case(run.path, some, stored_row=True)
    assert found.row is not None and found.row["citizen"] == some
    row = table.set_index("citizen").loc[some].to_dict()
    for key, value in found.counts.items():
        if key in row:
            assert value == row[key], key


@pytest.mark.parametrize("preset", creditsim.preset_names())
def test_every_preset_s_cases_agree_with_their_rows(preset, tmp_path):
    """On every preset (no system, a city's pilot, a Sesame-like score with contacts, FICO
    alone) the case file's counts equal the stored row's, and every final grade is named."""
    run = creditsim.run(preset, population=1_000, seed=3, out=tmp_path / "run", catalogue=False)
    rows = run.to_frame("citizens").set_index("citizen", drop=False)
    chosen = {0, 999}
    for column in ("any_sanction", "wrongful_records"):
        chosen.update(int(c) for c in rows.index[rows[column].astype(bool)][:2])
    for citizen in sorted(chosen):
        found = creditsim.case(run.path, citizen, stored_row=True)
        for key, value in found.counts.items():
            if key in found.row:
                assert value == found.row[key], (preset, citizen, key)
        for score in found.scores:
            assert score["final_grade"] is not None
            assert score["final"] == found.row[f"score_{score['policy']}"]
            with_contacts = (
                next(
                    p for p in run.scenario.score_policies if p.name == score["policy"]
                ).contacts.weight
                > 0
            )
            if not with_contacts:  # contacts pull the shown score: the own replay differs
                assert score["replay_exact"], (preset, citizen, score["policy"])
