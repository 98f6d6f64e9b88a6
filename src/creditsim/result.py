"""A finished run: its scenario, its tables (Arrow, and pandas from Arrow), its audit, its plots.

The result of `creditsim.run`, and of a run directory opened again. It holds what the run made
and computes nothing of the model: the layers below it (the scenario, the stages, the engine)
never import it, and the audit, the workflow and the report above it do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from creditsim.errors import OutputError
from creditsim.outputs import to_table
from creditsim.scenario import Scenario
from creditsim.scenario.schema import POPULATION

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("citizens", "timeseries", "blacklist")
BLACKLIST_COLUMNS = ("citizen", "entry", "start_day", "end_day", "reasons", "wrongful",
                     "sanctions", "wrongful_causes", "region", "group", "age_band", "income_band",
                     "household")  # fmt: skip


@dataclass
class RunResult:
    """A finished run: its scenario, tables and audit; `path` is set when it was written."""

    scenario: Scenario
    manifest: dict[str, Any]
    citizens_table: pa.Table | None  # None when the rows were written to `path` instead
    timeseries_table: pa.Table
    audit_data: dict[str, Any]
    path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    blacklist_table: pa.Table | None = None  # None when it was written to `path` instead
    catalogue_id: int | None = None  # its id in the run catalogue, when it was recorded

    def audit(self) -> dict[str, Any]:
        return self.audit_data

    def summary(self) -> dict[str, Any]:
        """Headline numbers: a flat mapping, one line each in the CLI's table."""
        overall = self.audit_data["overall"]
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "citizens": overall["citizens"],
            "days": self.manifest["days"],
            "true events": overall["true_events"],
            "records": overall["records"],
            "wrongful records": overall["wrongful_records"],
        }
        for name, entry in overall.get("sanctions", {}).items():
            label = "any sanction" if name == "any" else name
            out[f"{label}: citizens (wrongfully)"] = (
                f"{entry['sanctioned']:,} ({entry['wrongful']:,})"
            )
            if "denied_purchases" in entry:
                out[f"{label}: denied purchases (at 1.4 billion)"] = (
                    f"{entry['denied_purchases']:,} ({entry['denied_purchases_at_1_4_billion']:,})"
                )
        for name, entry in overall.get("lists", {}).items():
            out[f"list {name}: citizens (wrongfully)"] = (
                f"{entry['sanctioned']:,} ({entry['wrongful']:,})"
            )
        for name, entry in overall.get("policies", {}).items():
            punished = entry["punished"]
            out[f"{entry['type']} {name}: at or below {entry['low_grade']} (wrongfully)"] = (
                f"{punished['sanctioned']:,} ({punished['wrongful']:,})"
            )
        out["children reached"] = overall["children_reached"]
        change = overall["behaviour_change"]["offending"]["change_share"]
        if change is not None:
            out["change in offending"] = f"{change:+.1%}"
        # Each group's disparate impact (its rate / the reference group's), said in words.
        reference = self.audit_data.get("reference_group")
        for group, entry in self.audit_data.get("by_group", {}).items():
            words = entry["sanctions"].get("any", {}).get("in_words")
            if group != reference and words:
                out[f"{group}, any sanction"] = words
        out["flagged (four-fifths rule)"] = _by_group(self.audit_data["flagged"])
        out["flagged, significant"] = _by_group(self.audit_data["flagged_significant"])
        out["seconds"] = self.manifest["total_seconds"]
        return out

    def by_year(self) -> pd.DataFrame:
        """The audit by calendar year: one row per (year, sanction or list), in the simulated
        population, with `history` true for the years before `run.report_from` and the counts
        at 1.4 billion beside them (`*_at_1_4_billion`: scaled by 1.4 billion / citizens)."""
        import pandas as pd

        return pd.DataFrame(self.by_year_rows())

    def by_year_rows(self) -> list[dict[str, Any]]:
        """The rows of `by_year`, as plain dictionaries (no pandas)."""
        scale = POPULATION / max(self.audit_data["overall"]["citizens"], 1)
        rows = []
        for year, entry in self.audit_data.get("by_year", {}).items():
            for kind in ("sanctions", "lists"):
                for name, counts in entry[kind].items():
                    row = {"year": int(year), "history": entry["history"], "kind": kind[:-1],
                           "name": name, **counts}  # fmt: skip
                    for column in ("people", "at_end", "people_to_date", "denied_purchases"):
                        if column in counts:
                            row[f"{column}_at_1_4_billion"] = round(counts[column] * scale)
                    rows.append(row)
        return rows

    def to_arrow(self, table: str = "citizens") -> pa.Table:
        """One of the run's tables as Arrow, the one way to get it: `citizens` (one row per
        citizen), `timeseries` (one row per period, region and group) or `blacklist` (one row
        per published entry). A written run's rows are read back from its directory."""
        if table not in TABLES:
            raise OutputError(f"table {table!r}: allowed are {', '.join(TABLES)}")
        if table == "timeseries":
            return self.timeseries_table
        held = self.citizens_table if table == "citizens" else self.blacklist_table
        if held is not None:
            return held
        import pyarrow.parquet as pq

        names = self.manifest["files"].get(table, []) if self.path is not None else []
        parts = [pq.read_table(self.path / n) for n in names if (self.path / n).exists()]
        if parts:
            return pa.concat_tables(parts)
        if table == "citizens":
            return to_table({}, self.scenario)
        return pa.table({name: pa.array([], pa.null()) for name in BLACKLIST_COLUMNS})

    def to_frame(self, table: str = "citizens") -> pd.DataFrame:
        """The same table as pandas (labels as categoricals): `to_arrow(table).to_pandas()`."""
        return self.to_arrow(table).to_pandas()

    @property
    def citizens(self) -> pa.Table:
        """Shorthand for `to_arrow("citizens")`."""
        return self.to_arrow("citizens")

    def timeseries(self) -> pd.DataFrame:
        """Shorthand for `to_frame("timeseries")`."""
        return self.to_frame("timeseries")

    def blacklist(self) -> pd.DataFrame:
        """The public blacklist, shorthand for `to_frame("blacklist")`: one row per published
        entry (a sanction that publishes names, a published list): the citizen, the entry, its
        first and last-plus-one day (beyond the run: still listed), the reasons, the sanctions
        the citizen was under, and the truth: whether the entry was wrongful and the causes of
        the wrongful records behind it."""
        return self.to_frame("blacklist")

    def plot(self, kind: str | None = None):
        """A matplotlib Figure of one kind (`creditsim.figures.plots.KINDS`), or all as a dict."""
        from creditsim.figures.plots import plot

        return plot(self, kind)


def _by_group(flags: list[str]) -> str:
    """'group:outcome' flags (sanctions, lists, policies), counted by group."""
    if not flags:
        return "none"
    groups: dict[str, int] = {}
    for flag in flags:
        group = flag.split(":", 1)[0]
        groups[group] = groups.get(group, 0) + 1
    return ", ".join(f"{g} ({n} {'outcome' if n == 1 else 'outcomes'})" for g, n in groups.items())


__all__ = ["BLACKLIST_COLUMNS", "TABLES", "RunResult"]
