"""What the dashboard shows of catalogued runs and comparisons, read back from their files.

Numbers are formatted by `creditsim.figures.numbers` and plots drawn by `creditsim.figures.plots`
(as SVG, cached under the data dir); every card carries its raw value beside its text, so that
what the page shows can be checked against the run's audit.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pandas as pd

from creditsim import catalogue
from creditsim.audit.flags import four_fifths
from creditsim.figures import numbers as fmt
from creditsim.figures.plots import KINDS
from creditsim.report.loading import ReportError, open_comparison, open_run
from creditsim.report.prose import CAUSE_WORDS, mechanisms
from creditsim.report.run_report import in_scenario_order
from creditsim.scenario.schema import POPULATION
from creditsim.web import blacklist as bl
from creditsim.web.guard import clip
from creditsim.web.heavy import NARROW, NARROW_KINDS, Drawing
from creditsim.workflow.compare import paired_table
from creditsim.workflow.metrics import HEADLINE, flatten_audit
from creditsim.workflow.ranges import secret_ranges

REACH = {"person": "the person", "children": "their children", "household": "the household"}
OPEN_CACHE = 8  # opened runs kept in memory


class NotFound(LookupError):
    """No such run, comparison or plot; the message says what exists."""


class Refused(PermissionError):
    """What the dashboard will not do to an entry (delete what it did not make)."""


class Library:
    """Catalogued runs and comparisons, opened on demand, with plots and blacklists cached."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.cache_dir = data_dir / "cache"
        self._opened: OrderedDict[int, Any] = OrderedDict()
        self._frames: OrderedDict[int, pd.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ listings

    def runs(self, limit: int = 50, kind: str = "run") -> list[dict[str, Any]]:
        try:
            rows = catalogue.list_runs(limit=limit, kind=kind)
        except catalogue.CatalogueError:
            return []  # no catalogue yet: no runs
        return [_listing(row) for row in rows if row.get("status") != "deleted"]

    def label(self, entry_id: int, kind: str, text: str) -> dict[str, Any]:
        """Give a run or comparison a label of the reader's (kept in its catalogue settings;
        empty: none)."""
        row = self.entry(entry_id, kind)
        settings = dict(row.get("settings") or {})
        settings["label"] = text.strip() or None
        catalogue.update(entry_id, settings=settings)
        return _listing({**row, "settings": settings})

    def delete(self, entry_id: int, kind: str) -> dict[str, Any]:
        """Delete a run or comparison this dashboard made: its directory under the data folder
        (and a comparison's runs, inside it), its cached plots; the catalogue keeps the entry,
        marked deleted. Anything else is refused: nothing creditsim did not write here goes."""
        row = self.entry(entry_id, kind)
        what = "comparison" if kind == "compare" else "run"
        settings = row.get("settings") or {}
        if row.get("status") == "deleted":
            raise NotFound(f"{what} {entry_id} is already deleted")
        if "dashboard" not in settings:
            raise Refused(
                f"{what} {entry_id} was not made on this dashboard (with the command line, the "
                "Python API, or as part of a comparison): the dashboard deletes only what it made"
            )
        folder = self._own_folder(row, kind)
        children = self._children(entry_id) if kind == "compare" else []
        if folder is not None:
            shutil.rmtree(folder)
        for entry in (row, *children):
            shutil.rmtree(self._cache(entry), ignore_errors=True)
            catalogue.update(entry["id"], status="deleted", path=None)
        with self._lock:
            for entry in (row, *children):
                self._opened.pop(entry["id"], None)
                self._frames.pop(entry["id"], None)
        return {"id": entry_id, "kind": kind, "deleted": True, "runs_deleted": len(children)}

    def _own_folder(self, row: dict[str, Any], kind: str) -> Path | None:
        """The entry's directory, if it is one this dashboard wrote: under the data folder's
        runs/ or compares/, with creditsim's own file in it. None when it is already gone."""
        if row.get("path") is None:
            return None
        folder = Path(row["path"]).resolve()
        home = (self.data_dir / ("compares" if kind == "compare" else "runs")).resolve()
        marker = "compare.json" if kind == "compare" else "manifest.json"
        if not folder.exists():
            return None
        if folder.parent != home or not (folder / marker).is_file() or folder.is_symlink():
            raise Refused(
                f"its directory is not one this dashboard wrote (under {home.name}/, with "
                f"{marker}): it is left as it is"
            )
        return folder

    def entry(self, run_id: int, kind: str = "run") -> dict[str, Any]:
        try:
            row = catalogue.show_run(run_id)
        except catalogue.CatalogueError as error:
            raise NotFound(str(error)) from None
        if row.get("kind") != kind:
            found, wanted = (KIND_WORDS.get(k, k) for k in (row.get("kind"), kind))
            raise NotFound(f"catalogue entry {run_id} is {found}, not {wanted}")
        return row

    # ----------------------------------------------------------------------------------- a run

    def result(self, run_id: int):
        """The run read back from its directory (None when it wrote none or it is gone)."""
        row = self.entry(run_id)
        with self._lock:
            if run_id in self._opened:
                self._opened.move_to_end(run_id)
                return row, self._opened[run_id]
        if row.get("path") is None or row.get("on_disk") != "present":
            return row, None
        try:
            result = open_run(Path(row["path"]))
        except ReportError:
            return row, None
        with self._lock:
            self._opened[run_id] = result
            while len(self._opened) > OPEN_CACHE:
                self._opened.popitem(last=False)
        return row, result

    def run_view(self, run_id: int) -> dict[str, Any]:
        row, result = self.result(run_id)
        view: dict[str, Any] = {
            "id": run_id,
            "scenario": row.get("scenario"),
            "created_at": str(row.get("created_at")),
            "population": row.get("population"),
            "years": row.get("years"),
            "seed": row.get("seed"),
            "days": row.get("days"),
            "seconds": row.get("wall_seconds"),
            "version": row.get("version"),
            "path": row.get("path"),
            "on_disk": row.get("on_disk"),
            "settings": (row.get("settings") or {}).get("dashboard"),
            "parent": row.get("parent"),
            "number": row.get("number"),
            "parent_number": self._number(row.get("parent")),
            "label": (row.get("settings") or {}).get("label"),
            "summary": _plain(row.get("metrics") or {}),
            "files": result is not None,
        }
        if result is None:
            view["note"] = (
                "This run's files are not on disk (it was made without --out, or its directory "
                "was removed or reused): only its headline numbers are shown."
            )
            return view
        audit = in_scenario_order(result.audit(), result.scenario)
        view["description"] = result.scenario.description
        view["mechanisms"] = mechanisms(result.scenario)
        view["cards"] = cards(audit, int(row.get("seed") or 0))
        view["secret"] = secret_ranges(result)
        view["sanctions"] = sanction_rows(audit, result.scenario)
        view["lists"] = list_rows(audit)
        view["groups"] = group_rows(audit)
        view["examples"] = self.examples(run_id)
        view["causes"] = cause_rows(audit)
        view["plots"] = [{"kind": k, "title": fmt.label(k), "what": w} for k, w in KINDS.items()]
        return view

    def audit(self, run_id: int) -> dict[str, Any]:
        _, result = self.result(run_id)
        if result is None:
            raise NotFound(f"run {run_id}: its files are not on disk, so neither is its audit")
        return result.audit()

    def drawing(self, run_id: int, kind: str, narrow: bool = False) -> Drawing:
        """What to draw for a plot `kind` (or "report") of a run, and where it is cached; drawn
        by `creditsim.web.heavy.Renderer`, in a worker process. `narrow`: the small multiples
        (the sanctions plot) in one column, for a phone; other plots are the same either way."""
        if kind != "report" and kind not in KINDS:
            raise NotFound(f"no plot kind {clip(kind)}; allowed: {', '.join(KINDS)}")
        if narrow and kind in NARROW_KINDS:
            kind = f"{kind}{NARROW}"
        row = self.entry(run_id)
        folder = self._cache(row)
        cached = folder / ("report.html" if kind == "report" else f"{kind}.svg")
        what = "report" if kind == "report" else "plots"
        if not cached.is_file() and (row.get("path") is None or row.get("on_disk") != "present"):
            raise NotFound(f"run {run_id}: its files are not on disk, so it has no {what}")
        return Drawing(f"{folder.name}/{kind}", kind, Path(str(row.get("path"))), cached)

    def compare_drawing(self, compare_id: int) -> Drawing:
        """The report of a catalogued comparison, drawn once and cached beside the runs'."""
        row = self.entry(compare_id, kind="compare")
        cached = self._cache(row) / "report.html"
        if not cached.is_file() and (row.get("path") is None or row.get("on_disk") != "present"):
            raise NotFound(
                f"comparison {compare_id}: its files are not on disk, so it has no report"
            )
        return Drawing(
            f"{cached.parent.name}/compare", "compare_report", Path(str(row["path"])), cached
        )

    # ----------------------------------------------------------------------------- blacklist

    def blacklist_frame(self, run_id: int) -> pd.DataFrame:
        with self._lock:
            if run_id in self._frames:
                return self._frames[run_id]
        row, result = self.result(run_id)
        if result is None:
            raise bl.BlacklistUnavailable(
                f"run {run_id} kept no files on disk, so its blacklist cannot be shown"
            )
        try:
            frame = bl.normalise(result.blacklist())
        except (OSError, ValueError, KeyError) as error:
            raise bl.BlacklistUnavailable(
                f"run {run_id}: its blacklist cannot be read from its files ({error})"
            ) from None
        with self._lock:
            self._frames[run_id] = frame
            while len(self._frames) > OPEN_CACHE:
                self._frames.popitem(last=False)
        return frame

    def examples(self, run_id: int, per_group: int = 3) -> dict[str, list[int]]:
        """A few citizens of each group listed wrongfully (their case files tell the story),
        {group: [citizen id, ...]}; empty where the run kept no blacklist."""
        try:
            frame = self.blacklist_frame(run_id)
        except bl.BlacklistUnavailable:
            return {}
        wrongful = frame[frame["wrongful"]].drop_duplicates("citizen")
        return {
            str(group): [int(c) for c in rows["citizen"].head(per_group)]
            for group, rows in wrongful.groupby("group", sort=False)
        }

    def blacklist_page(self, run_id: int, **options: Any) -> dict[str, Any]:
        row, result = self.result(run_id)
        frame = self.blacklist_frame(run_id)
        start = result.scenario.run.start_date if result is not None else bl.DAY_ZERO
        out = bl.page(
            frame, seed=int(row["seed"]), days=int(row["days"]), day_zero=start, **options
        )
        out.update(
            run=run_id,
            number=row.get("number"),
            scenario=row.get("scenario"),
            population=row.get("population"),
            day_zero=bl.date_of(0, start),
            last_day=bl.date_of(int(row["days"]), start),
        )
        return out

    # ------------------------------------------------------------------------------ compares

    def _number(self, entry_id: int | None) -> int | None:
        """An entry's number among those of its kind (comparison 2), for a link's words."""
        if entry_id is None:
            return None
        try:
            return catalogue.show_run(entry_id).get("number")
        except catalogue.CatalogueError:
            return None

    def compare_view(self, compare_id: int) -> dict[str, Any]:
        row = self.entry(compare_id, kind="compare")
        settings = row.get("settings") or {}
        view: dict[str, Any] = {
            "id": compare_id,
            "number": row.get("number"),
            "scenario": row.get("scenario"),
            "status": row.get("status"),
            "population": row.get("population"),
            "years": row.get("years"),
            "seeds": settings.get("seeds"),
            "settings": settings.get("dashboard"),
            "paired": True,
            "children": [r["id"] for r in self._children(compare_id)],
        }
        if row.get("path") is None or row.get("on_disk") != "present":
            view["note"] = "This comparison's files are not on disk."
            view["rows"] = []
            return view
        comparison = open_comparison(Path(row["path"]))
        table = pd.DataFrame(comparison.data["metrics"])
        view["confidence"] = comparison.data.get("confidence")
        view["note"] = comparison.data.get("note")
        view["a"] = comparison.data["a"]["scenario"]
        view["b"] = comparison.data["b"]["scenario"]
        view["rows"] = compare_rows(table)
        return view

    def compare_runs(self, a: int, b: int) -> dict[str, Any]:
        """Two catalogued runs side by side; paired where they share citizens and draws."""
        (row_a, run_a), (row_b, run_b) = self.result(a), self.result(b)
        missing = [str(i) for i, r in ((a, run_a), (b, run_b)) if r is None]
        if missing:
            raise NotFound(f"run {', '.join(missing)}: files not on disk; compare runs with files")
        differ = [k for k in ("population", "seed", "years") if row_a.get(k) != row_b.get(k)]
        if not differ and run_a.manifest.get("shard_sizes") != run_b.manifest.get("shard_sizes"):
            differ.append("shard sizes")
        paired = not differ
        table = paired_table([flatten_audit(run_a.audit())], [flatten_audit(run_b.audit())])
        return {
            "a": _listing(row_a),
            "b": _listing(row_b),
            "paired": paired,
            "why_not_paired": None
            if paired
            else f"different {', '.join(differ)}: not the same citizens and draws, so the "
            "difference mixes the effect of the settings with the noise of two draws",
            "rows": compare_rows(table),
        }

    def _cache(self, row: dict[str, Any]) -> Path:
        """A run's (or comparison's) cache folder, named by its id and what it is (a catalogue
        reset reuses ids)."""
        key = f"{row.get('path')}|{row.get('scenario_hash')}|{row.get('wall_seconds')}"
        digest = hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        kind = "compare" if row.get("kind") == "compare" else "run"
        return self.cache_dir / f"{kind}-{row['id']}-{digest}"

    def _children(self, compare_id: int) -> list[dict[str, Any]]:
        try:
            rows = catalogue.list_runs(limit=None, kind="run")
        except catalogue.CatalogueError:
            return []
        return [row for row in rows if row.get("parent") == compare_id][::-1]


# ----------------------------------------------------------------------------------- contents


KIND_WORDS = {"run": "a run", "compare": "a comparison", "sweep": "a sweep",
              "calibrate": "a calibration", "uncertainty": "an uncertainty analysis"}  # fmt: skip


def cards(audit: dict[str, Any], seed: int = 0) -> list[dict[str, Any]]:
    """The headline numbers, as the report shows them: value, its text, what it is, and its 95%
    interval (Jeffreys, as the report's cards)."""
    from creditsim.figures.uncertainty import Posteriors
    from creditsim.report.headlines import count_interval, share_interval

    post = Posteriors(seed, audit.get("confidence", 0.95))
    overall = audit["overall"]
    citizens = overall["citizens"]
    scale = POPULATION / max(citizens, 1)
    anyone = overall.get("sanctions", {}).get("any", {})
    sanctioned = anyone.get("sanctioned", 0)
    wrongful = anyone.get("wrongful", 0)
    records = overall.get("records", 0)
    change = overall.get("behaviour_change", {})
    offending = change.get("offending", {}).get("change_share")
    speech = change.get("by_category", {}).get("speech", {}).get("change_share")
    flags = four_fifths(audit)  # counted as the command line's run summary counts them
    flagged = flags["flags"]
    out = [
        _card("citizens", citizens, fmt.integer(citizens), "synthetic citizens simulated",
              f"in {fmt.integer(overall.get('households'))} households"),
        _card("records", records, fmt.integer(records), "records made about citizens",
              f"95% interval {count_interval(post, records, citizens)}; from "
              f"{fmt.integer(overall.get('true_events'))} true events"),
        _card("wrongful_records", overall.get("wrongful_records"),
              fmt.integer(overall.get("wrongful_records")), "wrongful records",
              f"{fmt.percent(overall.get('wrongful_records', 0) / max(records, 1))} of all "
              f"records (95% interval "
              f"{share_interval(post, overall.get('wrongful_records', 0), records)}): against "
              "someone who did not do it", alert=True),
        _card("sanctioned", sanctioned, fmt.integer(sanctioned), "citizens under a sanction",
              f"{fmt.percent(sanctioned / max(citizens, 1))} of citizens (95% interval "
              f"{share_interval(post, sanctioned, citizens)}); about "
              f"{fmt.integer(sanctioned * scale)} at the scale of 1.4 billion"),
        _card("wrongfully_sanctioned", wrongful, fmt.integer(wrongful),
              "of them sanctioned wrongfully",
              f"{fmt.percent(wrongful / sanctioned) if sanctioned else '0%'} of the sanctioned "
              f"(95% interval {share_interval(post, wrongful, sanctioned)})", alert=True),
        _card("children_reached", overall.get("children_reached"),
              fmt.integer(overall.get("children_reached")), "children reached by a sanction",
              "living with a sanctioned parent whose sanction reaches the family (95% interval "
              f"{count_interval(post, overall.get('children_reached', 0), citizens)})"),
    ]  # fmt: skip
    if offending is not None:
        out.append(
            _card("offending_change", offending, fmt.percent(offending, signed=True),
                  "change in offending", "the same citizens with the system, against without it")
        )  # fmt: skip
    if speech is not None:
        out.append(
            _card("speech_change", speech, fmt.percent(speech, signed=True),
                  "change in speech: the chilling effect", "critical posts and rumours",
                  alert=speech < 0)
        )  # fmt: skip
    named = "; ".join(_flag_words(f) for f in flagged[:4]) + (" …" if len(flagged) > 4 else "")
    out.append(
        _card(
            "flagged",
            flags["count"],
            fmt.integer(flags["count"]),
            "outcomes flagged by the four-fifths rule",
            f"{named + '. ' if named else ''}{flags['words'][0].upper()}{flags['words'][1:]}.",
            alert=bool(flagged),
        )
    )
    return out


def sanction_rows(audit: dict[str, Any], scenario: Any) -> list[dict[str, Any]]:
    entries = audit["overall"].get("sanctions", {})
    rows = []
    for sanction in scenario.sanctions:
        entry = entries.get(sanction.name)
        if entry is None:
            continue
        rows.append(
            {
                "name": sanction.name,
                "label": fmt.label(sanction.name),
                "kind": sanction.kind,
                "reach": REACH[sanction.reach],
                "sanctioned": entry["sanctioned"],
                "wrongful": entry["wrongful"],
                "text": {
                    "sanctioned": fmt.integer(entry["sanctioned"]),
                    "wrongful": fmt.integer(entry["wrongful"]),
                    "wrongful_share": fmt.percent(entry.get("wrongful_share")),
                    "denied": fmt.denied(entry),
                },
            }
        )
    anyone = entries.get("any")
    if anyone:
        rows.append(
            {
                "name": "any",
                "label": "any sanction",
                "kind": "",
                "reach": "",
                "sanctioned": anyone["sanctioned"],
                "wrongful": anyone["wrongful"],
                "text": {
                    "sanctioned": fmt.integer(anyone["sanctioned"]),
                    "wrongful": fmt.integer(anyone["wrongful"]),
                    "wrongful_share": fmt.percent(anyone.get("wrongful_share")),
                    "denied": "",
                },
            }
        )
    return rows


def list_rows(audit: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in audit["overall"].get("lists", {}).items():
        rows.append(
            {
                "name": name,
                "label": fmt.label(name),
                "text": {
                    "listed": fmt.integer(entry["sanctioned"]),
                    "wrongful": fmt.integer(entry["wrongful"]),
                    "still": fmt.integer(entry.get("entries", {}).get("still_listed_at_end")),
                },
            }
        )
    return rows


def group_rows(audit: dict[str, Any]) -> list[dict[str, Any]]:
    """Any sanction by group: rate, disparate impact against the reference group (the group's
    rate over the reference's), the audit's flag (outside the band threshold to 1 / threshold)."""
    reference = audit.get("reference_group")
    significant = set(audit.get("flagged_significant", []))
    rows = []
    for group, entry in audit.get("by_group", {}).items():
        anyone = entry.get("sanctions", {}).get("any")
        if anyone is None:
            continue
        ratio = anyone.get("disparate_impact")
        interval = anyone.get("disparate_impact_interval") or [None, None]
        rows.append(
            {
                "group": group,
                "reference": group == reference,
                "flagged": group != reference and bool(anyone.get("four_fifths_flag")),
                "significant": f"{group}:any" in significant,
                "text": {
                    "citizens": fmt.integer(entry.get("citizens")),
                    "sanction_rate": fmt.percent(anyone.get("sanction_rate")),
                    "wrongful": fmt.integer(anyone.get("wrongful")),
                    "disparate_impact": "reference" if group == reference else fmt.ratio(ratio),
                    "interval": "" if group == reference else fmt.ratio_interval(interval),
                    "in_words": "" if group == reference else anyone.get("in_words") or "",
                },
            }
        )
    return rows


def cause_rows(audit: dict[str, Any]) -> list[dict[str, Any]]:
    overall = audit["overall"]
    by_cause = overall.get("sanctions", {}).get("any", {}).get("wrongful_by_cause", {})
    records = overall.get("records_by_cause", {})
    rows = []
    for cause, words in CAUSE_WORDS.items():
        sanctions = by_cause.get(cause, 0)
        made = records.get(cause, 0) if isinstance(records.get(cause, 0), int | float) else 0
        if sanctions or made:
            rows.append(
                {
                    "cause": cause,
                    "words": words,
                    "text": {"records": fmt.integer(made), "sanctioned": fmt.integer(sanctions)},
                }
            )
    return rows


def compare_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Metrics of a paired table: the headline ones first, each with its words and numbers.
    Counts are shown as whole numbers (a mean over seeds, rounded); the interval of a quantity
    that cannot be negative (a count, a rate, a ratio) is cut at the least B − A can be, −A,
    so that it never says B might fall below zero."""
    order = {name: i for i, name in enumerate(HEADLINE)}
    rows = []
    for record in table.to_dict(orient="records"):
        metric = record["metric"]
        kind = metric_kind(metric)
        a, b = _float(record.get("a_mean")), _float(record.get("b_mean"))
        low, high = _float(record.get("ci_low")), _float(record.get("ci_high"))
        if low is not None and high is not None and not metric.endswith("change"):
            if kind != "change" and a is not None:
                low = max(low, -a)
            if kind == "share" and a is not None:
                high = min(high, 1.0 - a)
        difference = _float(record.get("difference"))
        significant = record.get("significant")
        rows.append(
            {
                "metric": metric,
                "words": metric_words(metric),
                "kind": kind,
                "headline": metric in order,
                "a": a,
                "b": b,
                "difference": difference,
                "interval": None if low is None else [low, high],
                "significant": None if _missing(significant) else bool(significant),
                "text": _compare_text(kind, a, b, difference, low, high),
            }
        )
    rows.sort(key=lambda row: (order.get(row["metric"], len(order)),))
    return rows


def metric_kind(metric: str) -> str:
    """count (whole citizens, records, days), share (0 to 1), ratio (disparate impact) or
    change (a change in events, a share that may be negative)."""
    if metric.endswith("change_share"):
        return "change"
    if metric.endswith("sanction_rate"):
        return "share"
    if metric.endswith("disparate_impact"):
        return "ratio"
    return "count"


def _compare_text(kind, a, b, difference, low, high) -> dict[str, str]:
    if kind in ("share", "change"):
        value = lambda v: fmt.percent(v, signed=False)  # noqa: E731
        signed = lambda v: fmt.percent(v, signed=True)  # noqa: E731
    elif kind == "ratio":
        value = fmt.ratio
        signed = lambda v: fmt.signed_number(v, 2)  # noqa: E731
    else:  # counts: whole numbers, the interval rounded outwards
        value = fmt.integer
        signed = lambda v: fmt.signed_number(round(v)) if v is not None else "—"  # noqa: E731
        low = None if low is None else math.floor(low)
        high = None if high is None else math.ceil(high)
    interval = "" if low is None else f"{signed(low)} to {signed(high)}"
    return {"a": value(a), "b": value(b), "difference": signed(difference), "interval": interval}


def metric_words(metric: str) -> str:
    """sanctions.flight_ban.wrongful -> flight ban: citizens sanctioned wrongfully."""
    parts = metric.split(".")
    fields = {
        "sanctioned": "citizens",
        "wrongful": "citizens, wrongfully",
        "denied_purchases": "purchases denied",
        "person_days": "person-days",
        "punished": "citizens at the low grade",
        "punished_wrongfully": "citizens at the low grade, wrongfully",
        "change": "change in events",
        "change_share": "change (%)",
        "sanction_rate": "sanction rate (any sanction)",
        "disparate_impact": "disparate impact (any sanction)",
    }
    if len(parts) == 1:
        return fmt.label(metric)
    head, *middle, last = parts
    what = fields.get(last, fmt.label(last))
    if head == "sanctions":
        name = "any sanction" if middle[0] == "any" else fmt.label(middle[0])
        return f"{name}: {what}"
    if head == "lists":
        return f"list {fmt.label(middle[0])}: {what}"
    if head == "policies":
        return f"score {fmt.label(middle[0])}: {what}"
    if head == "behaviour_change":
        return f"{fmt.label(middle[0])}: {what}"
    if head == "by_group":
        return f"group {middle[0]}: {what}"
    return metric


# ------------------------------------------------------------------------------------ internals


def _card(key: str, value: Any, text: str, what: str, more: str = "", alert: bool = False):
    return {"key": key, "value": value, "text": text, "what": what, "more": more, "alert": alert}


def _flag_words(flag: str) -> str:
    group, _, outcome = flag.partition(":")
    return f"{group}: {fmt.label(outcome) if outcome != 'any' else 'any sanction'}"


def _listing(row: dict[str, Any]) -> dict[str, Any]:
    settings = row.get("settings") or {}
    return {
        "id": row["id"],
        "number": row.get("number"),
        "kind": row.get("kind"),
        "created_at": str(row.get("created_at"))[:19],
        "status": row.get("status"),
        "scenario": row.get("scenario"),
        "population": row.get("population"),
        "years": row.get("years"),
        "seed": row.get("seed"),
        "parent": row.get("parent"),
        "sanctioned": row.get("sanctioned"),
        "wrongfully_sanctioned": row.get("wrongfully_sanctioned"),
        "seconds": row.get("wall_seconds"),
        "dashboard": "dashboard" in settings,
        "label": settings.get("label"),
        "knobs": _knob_count(settings.get("dashboard")),
        "files": row.get("path") is not None,
        "text": {
            "population": fmt.integer(row.get("population")),
            "sanctioned": fmt.integer(row.get("sanctioned")),
            "wrongfully_sanctioned": fmt.integer(row.get("wrongfully_sanctioned")),
            "seconds": fmt.number(row.get("wall_seconds"), 2),
        },
    }


def _knob_count(made: Any) -> int | None:
    """How many knobs a dashboard run (or comparison, both sides) changed; None: not made here."""
    if not isinstance(made, dict):
        return None
    arms = [made[side] for side in ("a", "b") if isinstance(made.get(side), dict)] or [made]
    count = 0
    for arm in arms:
        for value in (arm.get("knobs") or {}).values():
            count += len(value) if isinstance(value, dict) else 1
    return count


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


__all__ = ["Library", "NotFound", "Refused", "cards", "compare_rows", "metric_words"]
