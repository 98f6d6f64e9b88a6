"""The run catalogue: runs recorded, listed, shown and queried; queries cannot write."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.compute as pc
import pytest
from conftest import build_scenario, national_core
from typer.testing import CliRunner

from creditsim import catalogue, cli, run
from creditsim.catalogue import CatalogueError, QueryRefused

POPULATION = 2_000


@pytest.fixture
def catalogue_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    location = tmp_path / "catalogue" / "runs.duckdb"
    monkeypatch.setenv("CREDITSIM_CATALOGUE", str(location))
    return location


@pytest.fixture
def written(catalogue_file: Path, tmp_path: Path):
    """A run of national-2018's core sanctions, written and recorded."""
    return run(national_core(), population=POPULATION, seed=3, out=tmp_path / "runs" / "core")


def test_a_run_is_recorded_with_what_it_is_and_where_its_files_are(written, catalogue_file):
    journal = catalogue_file.with_name("runs.duckdb.journal")
    assert written.catalogue_id == 1 and (journal / "1.json").is_file()
    assert not catalogue_file.exists()  # a run writes its entry to the journal only
    row = catalogue.show_run(written.catalogue_id)
    assert catalogue_file.is_file() and not (journal / "1.json").exists()  # moved in to be read
    manifest = written.manifest
    overall = written.audit()["overall"]
    assert row["kind"] == "run" and row["status"] == "complete"
    assert row["scenario"] == manifest["scenario_name"]
    assert row["scenario_hash"] == manifest["scenario_hash"]
    assert row["seed"] == 3 and row["population"] == POPULATION
    assert row["version"] == manifest["creditsim_version"]
    assert row["backend"] == "numpy"
    assert row["wall_seconds"] == manifest["total_seconds"]
    assert row["timings"] == manifest["timings_seconds"]
    assert row["metrics"] == json.loads(json.dumps(written.summary()))
    assert row["records"] == overall["records"]
    assert row["sanctioned"] == overall["sanctions"]["any"]["sanctioned"]
    assert row["wrongfully_sanctioned"] == overall["sanctions"]["any"]["wrongful"]
    assert row["path"] == str(written.path.resolve())
    assert row["files"]["citizens"] == manifest["files"]["citizens"]
    assert row["scenario_json"] == manifest["scenario"]
    assert row["on_disk"] == "present"


def test_runs_are_listed_newest_first_and_in_memory_runs_have_no_path(written):
    in_memory = run(build_scenario(), population=POPULATION)
    unrecorded = run(build_scenario(), population=POPULATION, catalogue=False)
    assert in_memory.catalogue_id == 2 and unrecorded.catalogue_id is None
    rows = catalogue.list_runs()
    assert [row["id"] for row in rows] == [2, 1]
    assert rows[0]["path"] is None and rows[0]["scenario"] == "test"
    assert catalogue.show_run("2")["on_disk"] is None
    assert [row["id"] for row in catalogue.list_runs(limit=1)] == [2]
    assert catalogue.list_runs(kind="sweep") == []


def test_off_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITSIM_CATALOGUE", "off")
    result = run(build_scenario(), population=POPULATION)
    assert result.catalogue_id is None
    assert catalogue.record("sweep", metrics={}) is None
    with pytest.raises(CatalogueError, match="switched off"):
        catalogue.list_runs()


def test_unknown_ids_and_a_missing_catalogue_are_clear(catalogue_file):
    with pytest.raises(CatalogueError, match="no run catalogue at"):
        catalogue.list_runs()
    catalogue.record("sweep", scenario="x")
    with pytest.raises(CatalogueError, match="no run with id 7"):
        catalogue.show_run(7)
    with pytest.raises(CatalogueError, match="whole numbers"):
        catalogue.show_run("abc")


def test_compare_sweep_and_calibrate_can_record_themselves(catalogue_file):
    sweep = catalogue.record(
        "sweep",
        status="running",
        scenario="national-2018",
        settings={"grid": {"channels.camera.fpir_reference": [0.001, 0.01]}},
    )
    child = catalogue.record("run", parent=sweep, scenario="national-2018", seed=1)
    catalogue.update(sweep, status="complete", metrics={"rows": 2}, wall_seconds=1.5)
    row = catalogue.show_run(sweep)
    assert row["status"] == "complete" and row["metrics"] == {"rows": 2}
    assert row["settings"]["grid"]["channels.camera.fpir_reference"] == [0.001, 0.01]
    assert catalogue.show_run(child)["parent"] == sweep
    with pytest.raises(TypeError, match="not columns"):
        catalogue.record("compare", colour="blue")
    with pytest.raises(CatalogueError, match="kind 'plot'"):
        catalogue.record("plot")
    with pytest.raises(CatalogueError, match="no run with id 99"):
        catalogue.update(99, status="failed")


def test_runs_and_comparisons_are_numbered_apart_for_readers(catalogue_file):
    """Each entry has its place among its kind (run 1, 2; comparison 1), the id stays the key."""
    first = catalogue.record("run", scenario="national-2018")
    compare = catalogue.record("compare", scenario="national-2018")
    second = catalogue.record("run", scenario="national-2018", parent=compare)
    assert (first, compare, second) == (1, 2, 3)
    numbers = {row["id"]: row["number"] for row in catalogue.list_runs(limit=None)}
    assert numbers == {1: 1, 2: 1, 3: 2}
    assert [r["number"] for r in catalogue.list_runs(kind="run")] == [2, 1]
    assert catalogue.show_run(compare)["number"] == 1


def test_queries_see_the_runs_own_rows(written):
    other = run(build_scenario(), population=POPULATION, out=written.path.parent / "small")
    counts = catalogue.query(
        'SELECT run_id, "group", count(*) AS n, sum(records) AS records FROM citizens '
        "GROUP BY ALL ORDER BY ALL"
    ).to_pylist()
    for result in (written, other):
        citizens = result.citizens.to_pandas()
        expected = citizens.groupby("group", observed=True).agg(
            n=("citizen", "size"), records=("records", "sum")
        )
        got = {
            r["group"]: (r["n"], r["records"]) for r in counts if r["run_id"] == result.catalogue_id
        }
        assert got == {g: (int(v.n), int(v.records)) for g, v in expected.iterrows()}
    series = catalogue.query(
        "SELECT count(*) AS n, sum(records) AS records, sum(flight_ban_started) AS flights "
        f"FROM timeseries WHERE run_id = {written.catalogue_id}"
    ).to_pylist()[0]
    table = written.timeseries_table
    assert series["n"] == table.num_rows
    assert series["records"] == pc.sum(table["records"]).as_py()
    assert series["flights"] == pc.sum(table["flight_ban_started"]).as_py()
    joined = catalogue.query(
        "SELECT r.scenario, count(*) AS n FROM citizens c JOIN runs r ON r.id = c.run_id "
        "GROUP BY ALL ORDER BY n DESC, r.scenario"
    ).to_pylist()
    assert {row["n"] for row in joined} == {POPULATION}
    assert catalogue.query("EXPLAIN SELECT count(*) FROM citizens").num_rows >= 1


def test_a_directory_overwritten_by_a_later_run_belongs_to_that_run(written):
    again = run(build_scenario(), population=POPULATION, out=written.path, overwrite=True)
    assert catalogue.show_run(written.catalogue_id)["on_disk"] == "replaced"
    rows = catalogue.query("SELECT DISTINCT run_id FROM citizens").to_pylist()
    assert rows == [{"run_id": again.catalogue_id}]


def _state(catalogue_file: Path, run_dir: Path) -> tuple[str, list, list[str]]:
    """The catalogue's rows, its bytes, and the files around it and in the run directory (the
    rows first: reading moves the journal's entries into the file)."""
    rows = catalogue.list_runs(limit=None)
    digest = hashlib.sha256(catalogue_file.read_bytes()).hexdigest()
    files = sorted(str(p) for p in (*catalogue_file.parent.rglob("*"), *run_dir.rglob("*")))
    return digest, rows, files


WRITES = [
    ("INSERT INTO runs (id, kind, created_at, status) VALUES (9, 'run', now(), 'x')", "INSERT"),
    ("DELETE FROM runs", "DELETE"),
    ("DROP TABLE runs", "DROP"),
    ("CREATE TABLE extra AS SELECT * FROM runs", "CREATE"),
    ("CREATE TEMP VIEW mine AS SELECT 1", "CREATE"),
    ("COPY runs TO '{out}'", "COPY"),
    ("COPY (SELECT * FROM citizens) TO '{out}' (FORMAT parquet)", "COPY"),
    ("ATTACH '{attach}' AS other", "ATTACH"),
    ("UPDATE runs SET seed = 0", "UPDATE"),
    ("TRUNCATE runs", "DELETE"),
    ("ALTER TABLE runs ADD COLUMN x INTEGER", "ALTER"),
    ("SELECT count(*) FROM runs; DELETE FROM runs", "DELETE statement (statement 2 of 2)"),
    ("SELECT 1; SELECT 2", "2 statements"),
    ("WITH gone AS (DELETE FROM runs RETURNING *) SELECT * FROM gone", "DELETE inside a SELECT"),
    ("EXPLAIN ANALYZE DELETE FROM runs", "EXPLAIN of DELETE"),
    ("EXPORT DATABASE '{attach}'", "EXPORT"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("SET enable_external_access = true", "SET"),
    ("CHECKPOINT", "CALL"),
    ("DETACH runs", "DETACH"),
    ("", "empty"),
]


@pytest.mark.parametrize(("sql", "named"), WRITES)
def test_a_query_that_tries_to_write_is_refused_and_changes_nothing(
    written, catalogue_file, tmp_path, sql, named
):
    out = tmp_path / "runs" / "core" / "stolen.csv"
    attach = tmp_path / "catalogue" / "other.duckdb"
    before = _state(catalogue_file, written.path)
    with pytest.raises(QueryRefused) as refused:
        catalogue.query(sql.format(out=out, attach=attach))
    message = str(refused.value)
    assert named in message
    assert "allowed is one read statement: SELECT" in message
    if named != "empty" and "statements" not in named:
        assert "read-only" in message
    assert _state(catalogue_file, written.path) == before
    assert not out.exists() and not attach.exists()


def test_a_query_reads_no_file_but_the_runs(written, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(CatalogueError, match="Permission"):
        catalogue.query(f"SELECT * FROM read_csv('{secret}')")
    part = f"{written.path}/citizens/part-00000.parquet"
    own = catalogue.query(f"SELECT count(*) AS n FROM read_parquet('{part}')")
    assert own.to_pylist() == [{"n": POPULATION}]
    # Not even a file in a run's own directory that the run did not write, nor a listing of it.
    planted = written.path / "secret.csv"
    planted.write_text("a\n1\n")
    try:
        for sql in (
            f"SELECT * FROM read_csv('{planted}')",
            f"SELECT * FROM glob('{written.path}/*')",
            f"SELECT count(*) FROM read_parquet('{written.path}/citizens/*')",
        ):
            with pytest.raises(CatalogueError, match="Permission"):
                catalogue.query(sql)
    finally:
        planted.unlink()


def test_mistakes_in_sql_are_errors_not_refusals(written):
    with pytest.raises(CatalogueError, match="syntax error") as syntax:
        catalogue.query("SELEC 1")
    assert not isinstance(syntax.value, QueryRefused)
    with pytest.raises(CatalogueError, match="nope"):
        catalogue.query("SELECT * FROM nope")


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(catalogue_file: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), str(catalogue_file), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_a_locked_catalogue_waits_then_fails_clearly_and_never_loses_a_run(
    catalogue_file, monkeypatch
):
    catalogue.record("sweep", scenario="first")
    assert [row["id"] for row in catalogue.list_runs()] == [1]
    holder = _hold(catalogue_file, 0.5)
    try:
        assert catalogue.record("sweep", scenario="journaled") == 2  # the file is not needed
        assert [row["id"] for row in catalogue.list_runs()] == [2, 1]  # retried until released
    finally:
        holder.wait(timeout=30)
    monkeypatch.setattr(catalogue, "LOCK_WAIT_SECONDS", 0.2)
    holder = _hold(catalogue_file, 30)
    try:
        result = run(build_scenario(), population=POPULATION)
        assert result.catalogue_id == 3 and result.summary()["citizens"] == POPULATION
        with pytest.raises(CatalogueError, match="another creditsim process"):
            catalogue.list_runs()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert [row["id"] for row in catalogue.list_runs()] == [3, 2, 1]


def test_an_unwritable_journal_warns_and_never_fails_a_run(catalogue_file):
    catalogue_file.parent.mkdir(parents=True)
    catalogue_file.with_name("runs.duckdb.journal").write_text("a file, not a folder")
    with pytest.warns(RuntimeWarning, match="not recorded in the catalogue"):
        result = run(build_scenario(), population=POPULATION)
    assert result.catalogue_id is None and result.summary()["citizens"] == POPULATION


RECORDER = """
import sys
from creditsim import catalogue
ids = [catalogue.record("run", scenario=sys.argv[1], seed=seed) for seed in range(5)]
print(" ".join(map(str, ids)), "duckdb" in sys.modules)
"""


def test_processes_recording_at_once_get_distinct_ids_in_order_without_duckdb(catalogue_file):
    recorders = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(RECORDER), f"p{number}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for number in range(4)
    ]
    outputs = [recorder.communicate(timeout=120)[0].split() for recorder in recorders]
    assert all(output[-1] == "False" for output in outputs)  # recording loaded no DuckDB
    ids = [[int(i) for i in output[:-1]] for output in outputs]
    assert all(own == sorted(own) for own in ids)  # each process's entries in its order
    assert sorted(i for own in ids for i in own) == list(range(1, 21))
    rows = catalogue.list_runs(limit=None)
    assert [row["id"] for row in rows] == list(range(20, 0, -1))
    by_id = {row["id"]: (row["scenario"], row["seed"]) for row in rows}
    for number, own in enumerate(ids):
        assert [by_id[i] for i in own] == [(f"p{number}", seed) for seed in range(5)]


WRITER_WITHOUT_JOURNAL = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
(new_id,) = con.execute("SELECT max(id) + 1 FROM runs").fetchone()
con.execute("INSERT INTO runs (id, kind, created_at, status, scenario) "
            "VALUES (?, 'run', now()::TIMESTAMP, 'complete', 'direct')", [new_id])
con.close()
"""


def test_a_writer_that_knows_no_journal_neither_collides_nor_loses_an_entry(catalogue_file):
    assert catalogue.record("run", scenario="one") == 1
    catalogue.list_runs()  # the file now holds entry 1
    waiting = catalogue.record("run", scenario="two")  # 2, in the journal only
    direct = [sys.executable, "-c", textwrap.dedent(WRITER_WITHOUT_JOURNAL), str(catalogue_file)]
    subprocess.run(direct, check=True, timeout=60)  # takes id 2 in the file
    assert waiting == 2
    with pytest.warns(RuntimeWarning, match="id 2 was taken by another writer"):
        rows = catalogue.list_runs()
    assert [(row["id"], row["scenario"]) for row in rows] == [(3, "two"), (2, "direct"), (1, "one")]
    subprocess.run(direct, check=True, timeout=60)  # id 4, written straight to the file
    assert catalogue.record("run", scenario="five") == 5  # the file changed: its ids read again
    assert [row["id"] for row in catalogue.list_runs()] == [5, 4, 3, 2, 1]


def test_an_entry_moved_in_by_a_fold_cut_short_is_not_added_twice(catalogue_file):
    catalogue.record("run", scenario="one")
    journal = catalogue_file.with_name("runs.duckdb.journal")
    kept = (journal / "1.json").read_text()
    catalogue.list_runs()
    (journal / "1.json").write_text(kept)  # as if the fold stopped before deleting it
    assert [row["id"] for row in catalogue.list_runs()] == [1]
    assert not (journal / "1.json").exists()


# --------------------------------------------------------------------------------- command line


def _cli(*args: str):
    return CliRunner().invoke(cli.app, list(args))


@pytest.fixture
def wide(monkeypatch):
    """Rich tables as wide as a wide terminal (tmp paths are long)."""
    monkeypatch.setattr(cli.console, "width", 250)


def test_cli_list_show_and_query(written, wide):
    listed = _cli("runs", "list")
    assert listed.exit_code == 0, listed.output
    assert written.scenario.name in listed.output and "2,000" in listed.output
    shown = _cli("runs", "show", str(written.catalogue_id))
    assert shown.exit_code == 0, shown.output
    assert written.manifest["scenario_hash"] in shown.output
    assert "headline metrics" in shown.output and "present" in shown.output
    table = _cli("runs", "query", "SELECT count(*) AS n FROM citizens")
    assert table.exit_code == 0, table.output
    assert "2000" in table.output and "1 rows" in table.output
    as_json = _cli("runs", "query", "SELECT id, scenario FROM runs", "--format", "json")
    assert json.loads(as_json.stdout) == [{"id": 1, "scenario": written.scenario.name}]
    as_csv = _cli("runs", "query", "SELECT id, seed FROM runs", "--format", "csv")
    assert as_csv.stdout.splitlines() == ["id,seed", "1,3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "show", "42"), "no run with id 42"),
        (("runs", "show", "latest"), "ids are whole numbers"),
        (("runs", "query", "DELETE FROM runs"), "query refused: DELETE statement"),
        (("runs", "query", "COPY runs TO 'x.csv'"), "query refused: COPY statement"),
        (("runs", "query", "SELECT FROM WHERE"), "syntax error"),
        (("runs", "query", "SELECT * FROM nope"), "nope"),
    ],
)
def test_cli_mistakes_get_one_message_and_status_2(written, args, message):
    done = _cli(*args)
    assert done.exit_code == 2, done.output
    assert message in done.stderr
    assert done.stderr.count("error:") == 1
    assert "Traceback" not in done.output
    assert catalogue.list_runs()[0]["id"] == written.catalogue_id


def test_cli_without_a_catalogue(catalogue_file):
    done = _cli("runs", "list")
    assert done.exit_code == 2 and "no run catalogue at" in done.stderr


def test_a_compare_is_on_disk_while_its_files_are(catalogue_file, tmp_path):
    folder = tmp_path / "effect"
    folder.mkdir()
    (folder / "compare.json").write_text("{}")
    entry = catalogue.record("compare", path=str(folder), files={"compare": "compare.json"})
    assert catalogue.show_run(entry)["on_disk"] == "present"
    (folder / "compare.json").unlink()
    assert catalogue.show_run(entry)["on_disk"] == "missing"
    # Its folder is not a run's: no citizens or time series come from it.
    assert catalogue.query("SELECT count(*) AS n FROM citizens").column("n").to_pylist() == [0]


def test_without_posix_file_locks_entries_go_straight_into_the_file(catalogue_file, monkeypatch):
    monkeypatch.setattr(catalogue, "fcntl", None)
    assert catalogue.record("run", scenario="one") == 1
    assert catalogue.record("run", scenario="two") == 2
    assert catalogue_file.is_file()
    assert not catalogue_file.with_name("runs.duckdb.journal").exists()
    assert [row["scenario"] for row in catalogue.list_runs()] == ["two", "one"]
