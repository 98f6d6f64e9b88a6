"""Coverage of the audit's intervals: how often the 95 % interval holds the model's true value.

A scenario with a real disparity (national-2018 as shipped: false face matches 3 and 10 times as
frequent for the two minorities) is run at 40,000 citizens for many seeds; each run's audit gives,
for every group and every outcome (sanctions, lists, score policies), an interval on the sanction
rate, the disparate impact (the group's sanction rate / the reference group's) and the disparities
of the false-positive rate, the false-discovery rate and the precision. The true values are the
model's expected rates and ratios, from the counts of many other runs pooled (other seeds, the same
size: the face-matching error grows with the gallery, so a larger run would be another model).

Coverage is the share of runs whose interval holds the true value, among the runs where the value
is estimable (its rates have a denominator in that run); a missing interval there counts as a
miss. Outcomes with the same counts in every run (sanctions with the same trigger and term) are one
row. Cells whose true value is 0, infinite or undefined (no false positive in all the pooled runs)
are left out. The audit's convention is detected, so the same script measures an older checkout
(PYTHONPATH=that/src) whose disparate impact was the reference's rate / the group's.

    .venv/bin/python bench/bench_coverage.py --seeds 200 --reference-seeds 1500 --workers 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from benchfiles import write_atomically  # noqa: E402

RESULTS = Path(__file__).parent / "results"
METRICS = (
    "sanction_rate",
    "disparate_impact",
    "false_positive_rate",
    "false_discovery_rate",
    "precision",
)
RATIOS = {  # the disparities read from the audit, by the audit's name
    "false_positive_rate": "false_positive_rate",
    "false_discovery_rate": "false_discovery_rate",
    "precision": "precision",
}
TARGET = 0.93
NOMINAL = 0.95


def run_one(task: tuple[str, int, int, bool]) -> dict:
    """One run's counts and intervals, per group and outcome."""
    import creditsim

    scenario_name, population, seed, intervals = task
    overrides = {} if intervals else {"audit": {"bootstrap_replicates": 0}}
    scenario = creditsim.load_scenario(scenario_name, overrides)
    audit = creditsim.run(
        scenario, population=population, seed=seed, citizen_rows="none", catalogue=False
    ).audit()
    legacy = audit["definitions"]["disparate_impact"].startswith("reference")
    out: dict = {"seed": seed, "reference": audit["reference_group"], "legacy": legacy, "cells": {}}
    for group, entry in audit["by_group"].items():
        for outcome, m in entry["sanctions"].items():
            cell = {
                "n": m["citizens"],
                "s": m["sanctioned"],
                "d": m["deserved"],
                "tp": m["true_positive"],
                "fp": m["false_positive"],
            }
            if intervals:
                cell["interval"] = {
                    "sanction_rate": (m.get("intervals") or {}).get("sanction_rate"),
                    "disparate_impact": m.get("disparate_impact_interval"),
                    **{k: m["disparities"][v].get("interval") for k, v in RATIOS.items()},
                }
            out["cells"][f"{group}|{outcome}"] = cell
    return out


def rate_parts(cell: dict, metric: str) -> tuple[float, float]:
    """Numerator and denominator of a metric's rate from counts."""
    n, s, d, tp, fp = (cell[k] for k in ("n", "s", "d", "tp", "fp"))
    if metric in ("sanction_rate", "disparate_impact"):
        return s, n
    if metric == "false_positive_rate":
        return fp, n - d
    if metric == "false_discovery_rate":
        return fp, s
    return tp, s  # precision


def truth(pooled: dict, group: str, reference: str, outcome: str, metric: str, legacy: bool):
    """The true value from pooled counts, and whether it is a usable reference (finite, > 0)."""
    x, n = rate_parts(pooled[f"{group}|{outcome}"], metric)
    if metric == "sanction_rate":
        return (x / n, x > 0 and n > 0) if n else (None, False)
    xr, nr = rate_parts(pooled[f"{reference}|{outcome}"], metric)
    if not (x > 0 and n > 0 and xr > 0 and nr > 0):
        return None, False
    value = (x / n) / (xr / nr)
    if legacy and metric == "disparate_impact":
        value = 1.0 / value
    return value, True


def estimable(cell: dict, ref: dict, metric: str) -> bool:
    n = rate_parts(cell, metric)[1]
    if metric == "sanction_rate":
        return n > 0
    return n > 0 and rate_parts(ref, metric)[1] > 0


def measure(study: list[dict], pooled: dict, runs_pooled: int) -> dict:
    reference = study[0]["reference"]
    legacy = study[0]["legacy"]
    keys = list(study[0]["cells"])
    groups = list(dict.fromkeys(k.split("|")[0] for k in keys))
    outcomes = list(dict.fromkeys(k.split("|", 1)[1] for k in keys))
    # Outcomes with the same counts in every run of both sets are one row.
    signature: dict[tuple, list[str]] = {}
    for outcome in outcomes:
        sig = tuple(
            tuple(run["cells"][f"{g}|{outcome}"][k] for g in groups for k in ("s", "d", "tp"))
            for run in study
        ) + tuple(pooled[f"{g}|{outcome}"]["s"] for g in groups)
        signature.setdefault(sig, []).append(outcome)
    rows = []
    for names in signature.values():
        outcome = names[0]
        for group in groups:
            for metric in METRICS:
                if metric != "sanction_rate" and group == reference:
                    continue
                value, usable = truth(pooled, group, reference, outcome, metric, legacy)
                if not usable:
                    continue
                seen = covered = missing = degenerate = 0
                for run in study:
                    cell = run["cells"][f"{group}|{outcome}"]
                    ref = run["cells"][f"{reference}|{outcome}"]
                    if not estimable(cell, ref, metric):
                        continue
                    seen += 1
                    interval = cell["interval"][metric]
                    if interval is None:
                        missing += 1
                        continue
                    low, high = interval[0], np.inf if interval[1] is None else interval[1]
                    degenerate += low == high
                    covered += low <= value <= high
                x, n = rate_parts(pooled[f"{group}|{outcome}"], metric)
                xr, _ = rate_parts(pooled[f"{reference}|{outcome}"], metric)
                # The pooled value's own relative standard error (Poisson): small beside the
                # intervals' widths, or the study would measure the reference's noise.
                error = np.sqrt(1 / x + (0 if metric == "sanction_rate" else 1 / xr))
                rows.append(
                    {
                        "metric": metric,
                        "outcomes": names,
                        "group": group,
                        "true_value": value,
                        "reference_relative_error": float(error),
                        "mean_count_per_run": x / runs_pooled,
                        "runs": seen,
                        "covered": covered,
                        "coverage": covered / seen if seen else None,
                        "no_interval": missing,
                        "degenerate": degenerate,
                    }
                )
    summary = {}
    for metric in METRICS:
        mine = [r for r in rows if r["metric"] == metric and r["runs"]]
        runs = sum(r["runs"] for r in mine)
        covered = sum(r["covered"] for r in mine)
        small = [r for r in mine if r["mean_count_per_run"] < 15]
        summary[metric] = {
            "cells": len(mine),
            "runs": runs,
            "coverage": covered / runs if runs else None,
            "lowest_cell": min((r["coverage"] for r in mine), default=None),
            "cells_below_target": sum(r["coverage"] < TARGET for r in mine),
            "degenerate_share": sum(r["degenerate"] for r in mine) / runs if runs else None,
            "no_interval_share": sum(r["no_interval"] for r in mine) / runs if runs else None,
            "coverage_under_15_per_run": (
                sum(r["covered"] for r in small) / sum(r["runs"] for r in small)
                if small and sum(r["runs"] for r in small)
                else None
            ),
            "largest_reference_relative_error": max(
                (r["reference_relative_error"] for r in mine), default=None
            ),
        }
    return {"reference_group": reference, "legacy_convention": legacy, "summary": summary,
            "cells": rows}  # fmt: skip


def chance_below(cells: int, runs: int) -> float:
    """How many of `cells` cells of `runs` runs each fall below TARGET by chance alone when
    the true coverage is NOMINAL (binomial)."""
    from scipy import stats

    return cells * float(stats.binom.cdf(int(np.ceil(TARGET * runs)) - 1, runs, NOMINAL))


def markdown(report: dict, before: dict | None) -> str:
    s = report["settings"]
    lines = [
        "# Coverage of the audit's 95 % intervals",
        "",
        f"{s['scenario']} at {s['population']:,} citizens, {s['seeds']} seeds (1 to "
        f"{s['seeds']}); true values pooled from {s['reference_seeds']} other seeds "
        f"({s['reference_first_seed']} on) of the same size. Method: "
        f"{report['method']}.",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['description']}; load average "
        f"{report['machine']['load_before']} before, {report['machine']['load_after']} after; "
        f"{report['seconds']:.0f} s.",
        "",
        "Coverage is the share of runs whose interval holds the true value, among the runs where "
        "the value is estimable (a missing interval there is a miss); cells are (outcome, group) "
        "pairs, outcomes with identical counts in every run merged; 'under 15' pools the cells "
        "whose numerator (sanctioned citizens, false positives, true positives) averages under "
        "15 per run in the group. Target: at least 93 %.",
        "",
    ]

    def table(result: dict, title: str) -> None:
        runs = result["cells"][0]["runs"] if result["cells"] else 0
        lines.extend(
            [
                f"## {title}",
                "",
                "| interval | cells | runs | coverage | under 15 per run | lowest cell "
                "| cells below 93 % | degenerate | none given |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
        )
        for metric, v in result["summary"].items():
            under = v["coverage_under_15_per_run"]
            lines.append(
                f"| {metric.replace('_', ' ')} | {v['cells']} | {v['runs']:,} "
                f"| {v['coverage']:.1%} | {'—' if under is None else f'{under:.1%}'} "
                f"| {v['lowest_cell']:.0%} | {v['cells_below_target']} "
                f"(chance alone: {chance_below(v['cells'], runs):.1f}) "
                f"| {v['degenerate_share']:.1%} | {v['no_interval_share']:.1%} |"
            )
        lines.append("")

    table(report["after"], "This checkout")
    if before is not None:
        table(before, f"Before ({before.get('label', 'previous method')})")
    lines.extend(
        [
            "## Every cell (this checkout)",
            "",
            "| interval | outcomes | group | true value | count per run | runs | coverage "
            "| reference's error |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
    )
    for r in report["after"]["cells"]:
        lines.append(
            f"| {r['metric'].replace('_', ' ')} | {', '.join(r['outcomes'])} | {r['group']} "
            f"| {r['true_value']:.4g} | {r['mean_count_per_run']:.1f} | {r['runs']} "
            f"| {'—' if r['coverage'] is None else format(r['coverage'], '.0%')} "
            f"| {r['reference_relative_error']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="national-2018")
    parser.add_argument("--population", type=int, default=40_000)
    parser.add_argument("--seeds", type=int, default=200, help="runs whose intervals are judged")
    parser.add_argument("--reference-seeds", type=int, default=1500, help="runs pooled for truth")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(RESULTS / "coverage"), help="path without suffix")
    parser.add_argument("--label", default="", help="a name for the method measured")
    parser.add_argument("--truth", help="a previous result's .json: its pooled counts reused")
    parser.add_argument("--before", help="a previous result's .json, shown as 'before'")
    args = parser.parse_args()
    first_reference = 1_000_001
    started = time.perf_counter()
    load_before = [round(v, 2) for v in os.getloadavg()]
    study_tasks = [(args.scenario, args.population, s, True) for s in range(1, args.seeds + 1)]
    context = multiprocessing.get_context("spawn")
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env)
    with context.Pool(args.workers) as pool:
        study = pool.map(run_one, study_tasks, chunksize=4)
        print(f"study: {len(study)} runs, {time.perf_counter() - started:.0f} s", flush=True)
        if args.truth:
            previous = json.loads(Path(args.truth).read_text())
            pooled, runs_pooled = previous["pooled_counts"], previous["settings"]["reference_seeds"]
            first_reference = previous["settings"]["reference_first_seed"]
        else:
            tasks = [
                (args.scenario, args.population, first_reference + k, False)
                for k in range(args.reference_seeds)
            ]
            pooled, runs_pooled = {}, 0
            for run in pool.imap_unordered(run_one, tasks, chunksize=8):
                runs_pooled += 1
                for key, cell in run["cells"].items():
                    total = pooled.setdefault(key, dict.fromkeys(cell, 0))
                    for k, v in cell.items():
                        total[k] += v
            print(f"truth: {runs_pooled} runs, {time.perf_counter() - started:.0f} s", flush=True)
    result = measure(study, pooled, runs_pooled)
    result["label"] = args.label or ("percentile bootstrap" if result["legacy_convention"] else "")
    import creditsim

    audit = creditsim.run(
        args.scenario, population=10_000, seed=1, citizen_rows="none", catalogue=False
    ).audit()
    report = {
        "benchmark": "coverage of the audit's intervals against the model's true values",
        "method": args.label or audit["definitions"]["confidence intervals"],
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {
            "scenario": args.scenario,
            "population": args.population,
            "seeds": args.seeds,
            "reference_seeds": runs_pooled,
            "reference_first_seed": first_reference,
            "confidence": audit["confidence"],
            "workers": args.workers,
        },
        "machine": {
            "description": f"{os.cpu_count()}-core VM, {platform.processor() or platform.machine()}"
            f", Python {platform.python_version()}, {args.workers} worker processes",
            "platform": platform.platform(),
            "load_before": load_before,
            "load_after": [round(v, 2) for v in os.getloadavg()],
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": time.perf_counter() - started,
        "after": result,
        "pooled_counts": pooled,
    }
    before = json.loads(Path(args.before).read_text())["after"] if args.before else None
    if before is not None:
        report["before"] = before
    out = Path(args.out)
    write_atomically(out.with_suffix(".json"), json.dumps(report, indent=1) + "\n")
    write_atomically(out.with_suffix(".md"), markdown(report, before))
    for metric, v in result["summary"].items():
        print(f"{metric:>22}: {v['coverage']:.1%} over {v['cells']} cells, lowest "
              f"{v['lowest_cell']:.0%}, degenerate {v['degenerate_share']:.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
