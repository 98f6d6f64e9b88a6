"""The run catalogue: every run, compare, sweep and calibration, kept in an embedded DuckDB file.

The file is `$CREDITSIM_CATALOGUE`, else `~/.local/share/creditsim/catalogue.duckdb`;
`CREDITSIM_CATALOGUE=off` switches recording off. One table, `runs`, one row per entry (see
`COLUMNS`): what was run (kind, scenario, its hash, seed, population, version, backend), how long
it took, its headline numbers, and where its files are.

Recording does not open the file: a finished run is written as one small JSON entry to the
catalogue's journal (the folder `<file>.journal` beside it), under a lock that numbers entries
across processes, so that a run pays neither for loading DuckDB nor for a write transaction. The
next reader (a list, a show, a query, an update) moves the journal's entries into the file, in
order, before it reads. Queries (`query`) open it read only, accept one read statement
(SELECT, WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SHOW, SUMMARIZE, or EXPLAIN of one) and
nothing else, and read no file but the runs' own: besides `runs` they see the views `citizens`
and `timeseries`, the rows of every catalogued run whose files are still on disk, with a
`run_id` column. A query cannot change or delete a run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from creditsim.errors import CreditsimError, shorten
from creditsim.version import __version__

try:
    import fcntl
except ImportError:  # no POSIX file locks (Windows): entries go straight into the file
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from creditsim.result import RunResult

ENV = "CREDITSIM_CATALOGUE"
OFF = ("off", "false", "no", "0")
DEFAULT_PATH = Path("~/.local/share/creditsim/catalogue.duckdb")
KINDS = ("run", "compare", "sweep", "calibrate", "uncertainty")
MAX_LIMIT = 10**9  # rows a listing may ask for (DuckDB takes a LIMIT below 2**63)
LOCK_WAIT_SECONDS = 10.0
JOURNAL_SUFFIX = ".journal"  # the journal folder: the catalogue file's name and this
JOURNAL_ENTRY = re.compile(r"^([1-9][0-9]*)\.json$")  # an entry: its id, then .json
# One connection to the catalogue at a time in this process: DuckDB refuses a read-write and a
# read-only connection to one file side by side (the dashboard reads and records from threads).
_IN_PROCESS = threading.RLock()

# The `runs` table. Columns added here later are added to existing catalogues when they are next
# written. JSON columns take any JSON-serialisable value.
COLUMNS: dict[str, str] = {
    "id": "INTEGER PRIMARY KEY",  # 1, 2, 3, ... in the order recorded
    "kind": "VARCHAR NOT NULL",  # run, compare, sweep, calibrate
    "created_at": "TIMESTAMP NOT NULL",  # UTC
    "status": "VARCHAR NOT NULL",  # complete, or what the recorder says (running, failed)
    "parent": "INTEGER",  # the compare or sweep a run was part of
    "scenario": "VARCHAR",  # its name (a compare: "A vs B")
    "scenario_hash": "VARCHAR",
    "seed": "BIGINT",
    "population": "BIGINT",
    "years": "DOUBLE",
    "days": "INTEGER",
    "version": "VARCHAR",  # creditsim's
    "backend": "VARCHAR",
    "workers": "INTEGER",
    "wall_seconds": "DOUBLE",
    "citizens": "BIGINT",  # headline numbers of a run, from its audit
    "true_events": "BIGINT",
    "records": "BIGINT",
    "wrongful_records": "BIGINT",
    "sanctioned": "BIGINT",  # citizens under any sanction
    "wrongfully_sanctioned": "BIGINT",
    "children_reached": "BIGINT",
    "timings": "JSON",  # seconds by stage
    "metrics": "JSON",  # headline metrics (a run: RunResult.summary())
    "settings": "JSON",  # how it was run (shards, workers, a sweep's grid, ...)
    "path": "VARCHAR",  # absolute path of its directory; null when nothing was written
    "files": "JSON",  # its files, relative to path: {"citizens": [...], "timeseries": "..."}
    "scenario_json": "JSON",  # the resolved scenario
}
JSON_COLUMNS = frozenset(name for name, kind in COLUMNS.items() if kind == "JSON")
SET_BY_RECORD = frozenset({"id", "kind", "created_at"})

ALLOWED = (
    "one read statement: SELECT (also WITH ... SELECT, FROM ..., VALUES, DESCRIBE, SHOW, "
    "SUMMARIZE) or EXPLAIN of one, over the tables runs, citizens and timeseries"
)
WRITE_KEYWORDS = frozenset({"insert", "update", "delete", "merge", "copy", "truncate"})
WORD = re.compile(r"[A-Za-z_]+")
EXPLAIN = re.compile(
    r"^\s*explain\s+(?:analy[sz]e\s+)?(?:\([^()]*\)\s*)?(?P<rest>.*)$", re.I | re.S
)


class CatalogueError(CreditsimError):
    """The catalogue cannot do what was asked (it is missing or locked, an id is unknown, ...)."""


class QueryRefused(CatalogueError):
    """A query that is not one read statement."""


def catalogue_path() -> Path | None:
    """Where the catalogue is, or None when it is switched off."""
    value = os.environ.get(ENV, "").strip()
    if value.lower() in OFF:
        return None
    return (Path(value) if value else DEFAULT_PATH).expanduser().resolve()


# ------------------------------------------------------------------------------------- recording


def record(kind: str, *, status: str = "complete", **fields: Any) -> int | None:
    """Add an entry; returns its id, or None when the catalogue is switched off.

    `fields` are columns of `COLUMNS` (JSON columns take dicts and lists). Compare, sweep and
    calibrate record themselves with their kind, their headline numbers in `metrics` and their
    settings in `settings`; the runs they make can name them as `parent`."""
    location = catalogue_path()
    if location is None:
        return None
    if kind not in KINDS:
        raise CatalogueError(f"kind {kind!r}: allowed are {', '.join(KINDS)}")
    unknown = sorted(set(fields) - (set(COLUMNS) - SET_BY_RECORD))
    if unknown:
        raise TypeError(f"record(): not columns of the catalogue: {', '.join(unknown)}")
    row: dict[str, Any] = {"version": __version__, **fields, "kind": kind, "status": status}
    row["created_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
    row = {name: _encode(name, value) for name, value in row.items()}
    if fcntl is None:
        with _open(location, read_only=False) as con:
            _ensure_table(con)
            return _insert(con, row)
    return _journal(location, row)


def update(run_id: int | str, **fields: Any) -> None:
    """Change an entry's status, metrics, ... (a sweep recorded as "running", then complete)."""
    location = _folded()
    unknown = sorted(set(fields) - (set(COLUMNS) - SET_BY_RECORD))
    if unknown:
        raise TypeError(f"update(): not columns of the catalogue: {', '.join(unknown)}")
    if not fields:
        return
    key = _id(run_id)
    values = {name: _encode(name, value) for name, value in fields.items()}
    with _open(location, read_only=False) as con:
        _ensure_table(con)
        found = con.execute("SELECT count(*) FROM runs WHERE id = ?", [key]).fetchone()
        if not found or not found[0]:
            raise CatalogueError(_unknown(run_id))
        assignments = ", ".join(f"{name} = ?" for name in values)
        con.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*values.values(), key])


def record_run(
    result: RunResult,
    *,
    parent: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    settings: dict[str, Any] | None = None,
) -> int | None:
    """Record a finished run; returns its id, or None when the catalogue is switched off."""
    manifest = result.manifest
    overall = result.audit_data.get("overall", {})
    sanctions = overall.get("sanctions", {})
    anyone = sanctions.get("any", {})
    files = None
    if result.path is not None:
        files = {
            "citizens": list(manifest["files"]["citizens"]),
            "timeseries": manifest["files"]["timeseries"],
            "audit": manifest["files"]["audit"],
        }
    run_settings = {
        "shards": manifest.get("shards"),
        "shard_size": result.scenario.run.shard_size,
        "citizen_rows": manifest.get("citizen_rows"),
        "workers": workers,
        "scheduler": scheduler,
        **(settings or {}),
    }
    return record(
        "run",
        parent=parent,
        scenario=manifest["scenario_name"],
        scenario_hash=manifest["scenario_hash"],
        seed=manifest["seed"],
        population=manifest["population"],
        years=manifest["years"],
        days=manifest["days"],
        version=manifest["creditsim_version"],
        backend=manifest.get("backend"),
        workers=workers,
        wall_seconds=manifest["total_seconds"],
        citizens=overall.get("citizens"),
        true_events=overall.get("true_events"),
        records=overall.get("records"),
        wrongful_records=overall.get("wrongful_records"),
        sanctioned=anyone.get("sanctioned", 0 if not sanctions else None),
        wrongfully_sanctioned=anyone.get("wrongful", 0 if not sanctions else None),
        children_reached=overall.get("children_reached"),
        timings=manifest["timings_seconds"],
        metrics=result.summary(),
        settings=run_settings,
        path=None if result.path is None else result.path.resolve(),
        files=files,
        scenario_json=manifest["scenario"],
    )


def try_record_run(result: RunResult, **keywords: Any) -> int | None:
    """`record_run`, with a warning instead of an error: the catalogue never fails a run."""
    try:
        return record_run(result, **keywords)
    except Exception as error:  # noqa: BLE001 - whatever went wrong, the run itself stands
        warnings.warn(
            f"creditsim: the run was not recorded in the catalogue: {error}",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


# --------------------------------------------------------------------------------------- reading


# Every entry with `number`, its place among the entries of its kind (run 1, 2, ...; comparison
# 1, 2, ...), for readers; `id` stays the one key every command and address uses.
NUMBERED = "(SELECT *, row_number() OVER (PARTITION BY kind ORDER BY id) AS number FROM runs)"


def list_runs(limit: int | None = 20, kind: str | None = None) -> list[dict[str, Any]]:
    """The newest entries first (all with `limit` None), JSON columns decoded."""
    if kind is not None and kind not in KINDS:
        raise CatalogueError(f"--kind {shorten(kind)}: allowed are {', '.join(KINDS)}")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise CatalogueError(
            f"--limit {shorten(limit)}: allowed is a whole number, 1 to {MAX_LIMIT:,}"
        )
    location = _folded()
    sql = f"SELECT * FROM {NUMBERED}"
    params: list[Any] = []
    if kind is not None:
        sql += " WHERE kind = ?"
        params.append(kind)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    with _open(location, read_only=True) as con:
        return _rows(con.execute(sql, params))


def latest(kind: str, model_key: str) -> dict[str, Any] | None:
    """The newest complete entry of `kind` whose settings name this `model_key` (a scenario's
    hash without the run settings that do not change the model: see `model_key`), or None (none,
    or no catalogue)."""
    import duckdb

    location = catalogue_path()
    if location is None:
        return None
    with contextlib.suppress(CatalogueError):  # busy: what the file holds is enough to go on
        _fold(location)
    if not location.exists():
        return None
    sql = (
        "SELECT * FROM runs WHERE kind = ? AND status = 'complete' "
        "AND json_extract_string(settings, '$.model_key') = ? ORDER BY id DESC LIMIT 1"
    )
    try:
        with _open(location, read_only=True) as con:
            rows = _rows(con.execute(sql, [kind, model_key]))
    except duckdb.Error:  # no table yet, or the file is not a catalogue: nothing to stand beside
        return None
    return rows[0] if rows else None


def show_run(run_id: int | str) -> dict[str, Any]:
    """One entry, every column, JSON decoded, and `on_disk`: whether its files are still there
    ("present", "missing", "replaced" by another run in the same directory; None: none written)."""
    location = _folded()
    key = _id(run_id)
    with _open(location, read_only=True) as con:
        rows = _rows(con.execute(f"SELECT * FROM {NUMBERED} WHERE id = ?", [key]))
    if not rows:
        raise CatalogueError(_unknown(run_id))
    row = rows[0]
    row["on_disk"] = None if row["path"] is None else _on_disk(row)
    return row


def check_read_only(sql: str) -> None:
    """Refuse (QueryRefused) anything but one read statement; a syntax error is a CatalogueError."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise CatalogueError(f"query: {_first_line(error)}") from error
    if not statements:
        raise QueryRefused(f"query refused: empty; allowed is {ALLOWED}")
    for number, statement in enumerate(statements, 1):
        refused = _refusal(statement)
        if refused is not None:
            where = f" (statement {number} of {len(statements)})" if len(statements) > 1 else ""
            raise QueryRefused(
                f"query refused: {refused}{where}. Queries of the catalogue are read-only "
                f"(a query cannot change or delete a run); allowed is {ALLOWED}"
            )
    if len(statements) > 1:
        raise QueryRefused(
            f"query refused: {len(statements)} statements; allowed is {ALLOWED}, one at a time"
        )


def query(sql: str) -> pa.Table:
    """Run one read statement over `runs`, `citizens` and `timeseries`; the result as Arrow."""
    import duckdb
    import pyarrow as pa

    check_read_only(sql)
    location = _folded()
    with _open(location, read_only=True) as con:
        try:
            _prepare_session(con)
            relation = con.sql(sql)
            if relation is None:
                return pa.table({})
            if hasattr(relation, "to_arrow_table"):
                return relation.to_arrow_table()
            return relation.arrow()  # duckdb 1.x
        except duckdb.Error as error:
            raise CatalogueError(f"query failed: {_first_line(error, keep=4)}") from error


# ------------------------------------------------------------------------------------- internals


class _open:
    """A connection to the catalogue, retried while another process holds its lock."""

    def __init__(self, location: Path, read_only: bool, wait: float | None = None):
        self.location = location
        self.read_only = read_only
        self.wait = LOCK_WAIT_SECONDS if wait is None else wait
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        _IN_PROCESS.acquire()
        try:
            return self._connect(duckdb)
        except BaseException:
            _IN_PROCESS.release()
            raise

    def _connect(self, duckdb: Any) -> duckdb.DuckDBPyConnection:
        if not self.read_only:
            self.location.parent.mkdir(parents=True, exist_ok=True)
        # No extension is fetched or loaded behind the user's back (read_parquet('https://...')).
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if not self.read_only:  # a write adds or changes one row: one thread starts sooner
            config["threads"] = 1
        deadline = time.monotonic() + self.wait
        delay = 0.05
        while True:
            try:
                self.con = duckdb.connect(
                    str(self.location), read_only=self.read_only, config=config
                )
                return self.con
            except duckdb.Error as error:
                locked = "lock" in str(error).lower()
                if not locked or time.monotonic() >= deadline:
                    hint = " (another creditsim process is using it: try again)" if locked else ""
                    raise CatalogueError(
                        f"the run catalogue {self.location} cannot be opened{hint}: "
                        f"{_first_line(error)}"
                    ) from error
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def __exit__(self, *exc: object) -> None:
        try:
            if self.con is not None:
                self.con.close()
        finally:
            _IN_PROCESS.release()


def _folded() -> Path:
    """The catalogue file, with the journal's entries moved into it: what every reader reads."""
    location = catalogue_path()
    if location is None:
        raise CatalogueError(f"the run catalogue is switched off ({ENV}=off)")
    _fold(location)
    if not location.is_file():
        raise CatalogueError(
            f"no run catalogue at {location} yet: runs are recorded there as they finish"
        )
    return location


# --------------------------------------------------------------------------------------- journal


def _journal(location: Path, row: dict[str, Any]) -> int:
    """Write an entry to the journal under the next id; returns the id."""
    folder = _journal_folder(location)
    with _JournalLock(folder):
        counter = _counter(location, folder)
        new_id = counter["next"]
        _write_atomically(folder / f"{new_id}.json", json.dumps(row, default=str))
        _write_atomically(folder / "counter.json", json.dumps({**counter, "next": new_id + 1}))
    return new_id


def _fold(location: Path) -> None:
    """Move the journal's entries into the catalogue file, in the order of their ids, and then
    delete them (an entry already in the file, from a fold cut short, is not added twice)."""
    folder = _journal_folder(location)
    if fcntl is None or not _entries(folder):
        return
    with _JournalLock(folder):
        entries = _entries(folder)
        if not entries:
            return
        rows = {}
        for entry_id, path in entries:
            try:
                rows[entry_id] = json.loads(path.read_text())
            except (OSError, ValueError) as error:  # left where it is, for a person to look at
                warnings.warn(f"creditsim: journal entry {path} unreadable: {error}", stacklevel=3)
        with _open(location, read_only=False) as con:
            _ensure_table(con)
            con.execute("BEGIN TRANSACTION")
            for entry_id, row in rows.items():
                _insert(con, row, entry_id)
            con.execute("COMMIT")
        counter = _counter(location, folder)
        _write_atomically(
            folder / "counter.json", json.dumps({**counter, "stamp": _stamp(location)})
        )
        for entry_id, path in entries:
            if entry_id in rows:
                path.unlink()


def _insert(
    con: duckdb.DuckDBPyConnection, row: dict[str, Any], entry_id: int | None = None
) -> int:
    """Add a row under `entry_id` (None: the next free id); returns its id. The same entry found
    under that id is not added again; another entry there (written by a creditsim that knows no
    journal) leaves this one the next free id, with a warning."""
    if entry_id is not None:
        found = con.execute("SELECT kind, created_at FROM runs WHERE id = ?", [entry_id]).fetchone()
        if found is not None:
            if found[0] == row["kind"] and found[1].isoformat() == row["created_at"]:
                return entry_id
            warnings.warn(
                f"creditsim: catalogue id {entry_id} was taken by another writer; "
                "the entry recorded under it is kept under a new id",
                RuntimeWarning,
                stacklevel=4,
            )
            entry_id = None
    if entry_id is None:
        (entry_id,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM runs").fetchone()
    names = ["id", *row]
    marks = ", ".join("?" for _ in names)
    con.execute(
        f"INSERT INTO runs ({', '.join(names)}) VALUES ({marks})", [entry_id, *row.values()]
    )
    return int(entry_id)


def _counter(location: Path, folder: Path) -> dict[str, Any]:
    """The next id to hand out, and the stamp of the catalogue file when its ids were last
    known: when the file has changed since (a creditsim that knows no journal wrote to it), its
    highest id is read again."""
    try:
        counter = json.loads((folder / "counter.json").read_text())
    except (OSError, ValueError):
        counter = {"next": 1, "stamp": None}
    stamp = _stamp(location)
    if counter.get("stamp") != stamp:
        counter = {
            "next": max(int(counter.get("next", 1)), _highest_id(location) + 1),
            "stamp": stamp,
        }
    waiting = [entry_id for entry_id, _ in _entries(folder)]
    counter["next"] = max([counter["next"], *(entry_id + 1 for entry_id in waiting)])
    return counter


def _highest_id(location: Path) -> int:
    import duckdb

    if not location.is_file():
        return 0
    with _open(location, read_only=True) as con:
        try:
            (highest,) = con.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()
        except duckdb.CatalogException:  # no table yet
            return 0
    return int(highest)


def _stamp(location: Path) -> list[int] | None:
    """When the catalogue file (and its write-ahead log) last changed, and their sizes."""
    stamp = []
    for path in (location, location.with_name(location.name + ".wal")):
        try:
            status = path.stat()
        except FileNotFoundError:
            stamp += [0, -1]
        else:
            stamp += [status.st_mtime_ns, status.st_size]
    return None if stamp[1] == -1 and stamp[3] == -1 else stamp


def _journal_folder(location: Path) -> Path:
    return location.with_name(location.name + JOURNAL_SUFFIX)


def _entries(folder: Path) -> list[tuple[int, Path]]:
    """The journal's entries, by id."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = [(int(m.group(1)), folder / name) for name in names if (m := JOURNAL_ENTRY.match(name))]
    return sorted(found)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    os.replace(partial, path)


class _JournalLock:
    """The journal's lock, across processes (and the connection lock within this one)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> None:
        _IN_PROCESS.acquire()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.folder / "lock", "a")  # noqa: SIM115 - held until __exit__
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        except BaseException:
            _IN_PROCESS.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
        finally:
            _IN_PROCESS.release()


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")
    have = {row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE runs)").fetchall()}
    for name, kind in COLUMNS.items():
        if name not in have:
            plain = kind.replace(" NOT NULL", "").replace(" PRIMARY KEY", "")
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {plain}")


def _encode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in JSON_COLUMNS:
        return json.dumps(value, default=str)
    if isinstance(value, Path):
        return str(value)
    return value


def _rows(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    out = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        for name in JSON_COLUMNS & set(row):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        out.append(row)
    return out


def _id(run_id: int | str) -> int:
    text = str(run_id).strip()
    if not text.isdigit():
        raise CatalogueError(f"run id {run_id!r}: ids are whole numbers, as `runs list` shows")
    return int(text)


def _unknown(run_id: int | str) -> str:
    return f"no run with id {run_id} in the catalogue (`creditsim runs list` shows them)"


def _first_line(error: BaseException, keep: int = 1) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return "\n".join(lines[:keep]) if lines else type(error).__name__


def _refusal(statement: Any) -> str | None:
    """Why a statement is refused, or None when it only reads."""
    import duckdb

    kind = statement.type.name
    if kind == "SELECT":
        # A SELECT may hold a data-modifying CTE (WITH d AS (DELETE ... RETURNING *) SELECT ...).
        text = statement.query
        keywords = {
            word.group(0).lower()
            for start, token in duckdb.tokenize(text)
            if token == duckdb.token_type.keyword and (word := WORD.match(text, start))
        }
        writes = sorted(keywords & WRITE_KEYWORDS)
        return f"{writes[0].upper()} inside a SELECT statement" if writes else None
    if kind == "EXPLAIN":
        match = EXPLAIN.match(statement.query)
        if match is None:
            return "EXPLAIN in a form not recognised"
        try:
            inner = duckdb.extract_statements(match.group("rest"))
        except duckdb.Error:
            return "EXPLAIN in a form not recognised"
        if len(inner) != 1:
            return "EXPLAIN of several statements"
        why = _refusal(inner[0])
        return None if why is None else f"EXPLAIN of {why}"
    names = {"VARIABLE_SET": "SET VARIABLE", "CREATE_FUNC": "CREATE FUNCTION"}
    return f"{names.get(kind, kind.replace('_', ' '))} statement"


def _on_disk(row: dict[str, Any]) -> str:
    """Whether a run's directory still holds its files: the manifest names the same run. A
    compare, sweep or calibration is there when the files it lists are."""
    if row.get("kind") != "run":
        files = row.get("files") or {}
        names = files.values() if isinstance(files, dict) else []
        found = [(Path(row["path"]) / name).exists() for name in names]
        return "present" if found and all(found) else "missing"
    manifest_file = Path(row["path"]) / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text())
    except (OSError, ValueError):
        return "missing"
    same = (
        manifest.get("scenario_hash") == row["scenario_hash"]
        and manifest.get("seed") == row["seed"]
        and manifest.get("population") == row["population"]
        and manifest.get("total_seconds") == row["wall_seconds"]
    )
    return "present" if same else "replaced"


def _prepare_session(con: duckdb.DuckDBPyConnection) -> None:
    """The views over the runs' Parquet files; then no file but those can be read (not even
    another file in a run's directory), and the settings are locked."""
    rows = _rows(
        con.execute(
            "SELECT id, kind, path, files, scenario_hash, seed, population, wall_seconds "
            "FROM runs WHERE kind = 'run' AND path IS NOT NULL AND files IS NOT NULL "
            "ORDER BY id DESC"
        )
    )
    citizens: list[tuple[int, list[str]]] = []
    timeseries: list[tuple[int, list[str]]] = []
    readable: list[str] = []
    seen: set[str] = set()
    for row in rows:
        if row["path"] in seen:  # an older run in a directory that a newer one overwrote
            continue
        seen.add(row["path"])
        if _on_disk(row) != "present":
            continue
        base = Path(row["path"])
        parts = [str(base / name) for name in row["files"].get("citizens", [])]
        parts = [part for part in parts if Path(part).is_file()]
        if parts:
            citizens.append((row["id"], parts))
            readable += parts
        series = base / row["files"].get("timeseries", "timeseries.parquet")
        if series.is_file():
            timeseries.append((row["id"], [str(series)]))
            readable.append(str(series))
    con.execute(f"CREATE TEMP VIEW citizens AS {_union(citizens)}")
    con.execute(f"CREATE TEMP VIEW timeseries AS {_union(timeseries)}")
    con.execute(f"SET allowed_paths = [{', '.join(_literal(f) for f in readable)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _union(runs: list[tuple[int, list[str]]]) -> str:
    if not runs:
        return "SELECT NULL::INTEGER AS run_id WHERE false"
    parts = [
        f"SELECT {run_id}::INTEGER AS run_id, * FROM read_parquet("
        f"[{', '.join(_literal(f) for f in files)}], union_by_name = true)"
        for run_id, files in runs
    ]
    return " UNION ALL BY NAME ".join(parts)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


__all__ = [
    "COLUMNS",
    "CatalogueError",
    "QueryRefused",
    "catalogue_path",
    "check_read_only",
    "list_runs",
    "query",
    "record",
    "record_run",
    "show_run",
    "try_record_run",
    "update",
]
