"""Peers benchmark: the reference models in creditsim, Starsim and Mesa, side by side.

Two models (bench/peers/README.md): `light` (reference.toml: three behaviours, no
heterogeneity) and `heavy` (reference_heavy.toml: six behaviours with gamma propensity, 5.4
events and 2.3 records per citizen-year). For each model, size and implementation, a fresh
process of the peers' virtualenv, pinned to one core, imports its framework, runs the model
once at a small size to warm up (untimed: Numba's compiled kernels load, lazy imports, caches),
then times one run at the full size: building the population or agents, the simulated year,
and collecting the outputs, but not the interpreter's start or the imports ("inside the run").
With --process (the default), each also runs once more as a whole process, timed from the
start of the interpreter to its exit with no warm-up: what a user waits for. Every output is
compared with its analytic expectation (reference.py, reference_heavy.py) as a z-score.
Figures go to bench/results/peers.json and peers.md, rewritten (atomically) after every run,
so a run cut short keeps what it finished.

    .venv-peers/bin/python bench/peers/bench_peers.py --models light heavy   # 100k and 1M
    .venv-peers/bin/python bench/peers/bench_peers.py --sizes 10000 --skip mesa --models heavy
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
# model: (the module of its numbers and expectations, the suffix of its implementations)
MODELS = {"light": ("reference", "_model"), "heavy": ("reference_heavy", "_heavy")}

IMPLEMENTATIONS = ("creditsim", "starsim", "mesa")
LABELS = {"creditsim": "creditsim", "starsim": "Starsim", "mesa": "Mesa"}
# creditsim at least this many times faster at 1M citizens (issue 18: on both models, inside
# the run and as whole processes); Mesa's target is the light model's.
TARGETS = {"starsim": 40.0, "starsim_process": 30.0, "mesa": 1000.0}
FLAG_Z = 4.0
CHILD = r"""
import importlib, json, os, platform, resource, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
here, name, impl = sys.argv[1:4]
n, seed, warmup, check = map(int, sys.argv[4:8])
out = sys.argv[8]
sys.path.insert(0, here)
module = importlib.import_module(name)
framework = importlib.import_module(impl)
import numpy
if check and impl == "creditsim":
    problems = module.check_scenario()
    if problems:
        sys.exit(f"{name}'s scenario does not match its reference:\n" + "\n".join(problems))
if warmup:
    module.run(warmup, seed + 1)
with open(out + ".started", "w") as f:
    f.write(repr(time.time()))
started, cpu = time.perf_counter(), os.times()
outputs = module.run(n, seed)
seconds = time.perf_counter() - started
ended = os.times()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(out, "w") as f:
    json.dump({"seconds": seconds, "peak_memory_mib": peak, "outputs": outputs,
               "cpu_user_seconds": ended.user - cpu.user,
               "cpu_system_seconds": ended.system - cpu.system,
               "versions": {impl: framework.__version__, "numpy": numpy.__version__,
                            "python": platform.python_version()}}, f)
"""


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["light"], choices=list(MODELS))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--skip", nargs="+", default=[], choices=IMPLEMENTATIONS)
    parser.add_argument(
        "--mesa-up-to",
        type=int,
        default=100_000,
        help="Mesa runs only at sizes up to this (a year of 1M agents takes 8 to 25 minutes)",
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--steps", type=int, default=365, help="time steps of the peers in the year (365: daily)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest is kept")
    parser.add_argument(
        "--repeat-below",
        type=float,
        default=60.0,
        help="runs taking longer than this many seconds are not repeated",
    )
    parser.add_argument(
        "--process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time each as a whole fresh process (interpreter start to exit, no warm-up)",
    )
    parser.add_argument(
        "--process-repeat",
        type=int,
        default=3,
        help="whole processes per implementation and size, the same for each; the fastest is "
        "kept (a fresh process's system time varies from run to run on a virtual machine)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of earlier runs (same seed and steps) that this one does not redo",
    )
    parser.add_argument("--warmup", type=int, default=1000, help="citizens in the untimed run")
    parser.add_argument("--python", type=Path, default=ROOT / ".venv-peers" / "bin" / "python")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if not args.python.exists():
        sys.exit(
            f"{args.python} not found; install the peers with\n"
            f"  python3 -m venv {ROOT / '.venv-peers'} && "
            f"{ROOT / '.venv-peers/bin/pip'} install -e {ROOT} starsim==3.7.2 mesa==3.3.1"
        )
    chosen = [i for i in IMPLEMENTATIONS if i not in args.skip]
    # Bytecode is cached, as in an installed package: the earlier runs of each implementation
    # write it, so the whole-process run does not compile its sources (Starsim's and Mesa's
    # come compiled by pip; an editable creditsim would otherwise be compiled at every start).
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env = {
        **inherited,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
        "STARSIM_INSTALL_FONTS": "0",
        "CREDITSIM_PEERS_STEPS": str(args.steps),
    }
    report = _new_report(args)
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / "peers.json"
    if args.merge and previous.exists():
        # Keep the earlier runs of the same settings; a run made again replaces its row.
        old = json.loads(previous.read_text())
        if (old.get("seed"), old.get("peer_steps_per_year")) == (args.seed, args.steps):
            report["runs"] = old.get("runs", [])
            earlier = {k: old[k] for k in ("command", "when", "load_average_start",
                                           "load_average_end") if k in old}  # fmt: skip
            report["merged_from"] = [*old.get("merged_from", []), earlier]
    for size in args.sizes:
        for model in args.models:
            timed = [i for i in chosen if not (i == "mesa" and size > args.mesa_up_to)]
            rows = _best_runs(args, env, model, timed, size)
            for impl in chosen:
                row = rows.get(impl) or _skipped(model, impl, size, args.mesa_up_to)
                row["measured_at"] = report["when"]  # which run's row it is (see --merge)
                key = (model, impl, size)
                report["runs"] = [r for r in report["runs"] if _key(r) != key] + [row]
                print(_progress(row), flush=True)
            report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
            _write(report, args.out)


def _new_report(args: argparse.Namespace) -> dict:
    return {
        "benchmark": "peers: the reference models in creditsim, Starsim and Mesa, one year",
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "timing": "inside the run: seconds of the fastest of up to --repeat runs per "
        "implementation and size (runs over --repeat-below seconds are not repeated; the "
        "implementations take turns, one run of each and again), each in "
        "a fresh process pinned to one core after an untimed warm-up run, excluding the "
        "interpreter's start and the imports; as a process: the fastest of --process-repeat "
        "fresh processes pinned to one core (taskset), from start to exit, with no warm-up",
        "process_repeat": args.process_repeat,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "seed": args.seed,
        "peer_steps_per_year": args.steps,
        "timeout_seconds": args.timeout,
        "runs": [],
    }


def _key(row: dict) -> tuple:
    return (row.get("model", "light"), row["implementation"], row["citizens"])


def _skipped(model: str, impl: str, size: int, limit: int) -> dict:
    return {
        "model": model, "implementation": impl, "citizens": size, "status": "skipped",
        "seconds": None,
        "reason": f"--mesa-up-to {limit:,}: a year of {size:,} Mesa agents takes many minutes; "
        "its seconds grow linearly with the agents (see the smaller size)",
    }  # fmt: skip


def _best_runs(args, env, model: str, impls: list[str], size: int) -> dict[str, dict]:
    """Per implementation, the fastest of `--repeat` runs, each in a fresh process; a run
    longer than `--repeat-below` seconds is not repeated (its start-up noise is a negligible
    share). Then `--process-repeat` whole-process runs (--process), of which the fastest is
    kept. The implementations take turns (one run of each, then again), so that a machine whose
    speed drifts meanwhile weighs on each alike and their ratio is fair."""
    runs: dict[str, list[dict]] = {impl: [] for impl in impls}
    for _ in range(max(args.repeat, 1)):
        for impl, done in runs.items():
            if done and (done[-1]["status"] != "ok" or done[-1]["seconds"] >= args.repeat_below):
                continue
            done.append(_run(args, env, model, impl, size))
    rows = {impl: _fastest(done) for impl, done in runs.items()}
    # The process targets are against Starsim: Mesa is not run as a whole process.
    whole = [i for i in impls if args.process and i != "mesa" and rows[i]["status"] == "ok"]
    wholes: dict[str, list[dict]] = {impl: [] for impl in whole}
    for _ in range(max(args.process_repeat, 1)):
        for impl, done in wholes.items():
            done.append(_run(args, env, model, impl, size, whole=True))
    for impl, done in wholes.items():
        ok = [w for w in done if w["status"] == "ok"]
        best = min(ok, key=lambda w: w["wall_seconds"]) if ok else done[-1]
        row = rows[impl]
        row["process_seconds"] = best["wall_seconds"] if best["status"] == "ok" else None
        row["process_inside_seconds"] = best.get("seconds")
        row["process_seconds_all_runs"] = [w["wall_seconds"] for w in ok]
    return rows


def _fastest(runs: list[dict]) -> dict:
    """The fastest run that finished (with the seconds of all), else the last one."""
    ok = [r for r in runs if r["status"] == "ok"]
    best = min(ok, key=lambda r: r["seconds"]) if ok else runs[-1]
    best["seconds_all_runs"] = [r["seconds"] for r in ok]
    return best


def _run(args, env, model: str, impl: str, size: int, whole: bool = False) -> dict:
    """One fresh process. `whole`: no warm-up and no scenario check, pinned from its start
    (taskset), so that its wall time is what a user waits for."""
    row = {"model": model, "implementation": impl, "citizens": size}
    name = impl + MODELS[model][1]
    warmup = 0 if whole else min(args.warmup, size)
    pin = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.json"
        flags = [str(size), str(args.seed), str(warmup), str(int(not whole)), str(out)]
        command = [*(pin if whole else []), str(args.python), "-c", CHILD, str(HERE), name, impl,
                   *flags]  # fmt: skip
        load = os.getloadavg()[0]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, env=env, timeout=args.timeout, capture_output=True, text=True
            )
        except subprocess.TimeoutExpired:
            # The timed run, if it began, has run at least this long.
            begun = Path(f"{out}.started")
            at_least = time.time() - float(begun.read_text()) if begun.exists() else 0.0
            row.update(status="timeout", seconds=None, wall_seconds=args.timeout,
                       seconds_at_least=round(at_least, 1))  # fmt: skip
            return row
        row["wall_seconds"] = round(time.perf_counter() - started, 3)
        row["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
        if done.returncode != 0 or not out.exists():
            row.update(status="error", seconds=None, error=done.stderr.strip()[-2000:])
            return row
        result = json.loads(out.read_text())
    row.update(status="ok", **result)
    return row


def _progress(row: dict) -> str:
    label = f"{row['model']:>5} {LABELS[row['implementation']]:>9} {row['citizens']:>11,} citizens"
    if row["status"] == "ok":
        whole = row.get("process_seconds")
        process = f"  process {whole:8.3f} s" if whole else ""
        return f"{label}  {row['seconds']:9.3f} s  {row['peak_memory_mib']:7.0f} MiB{process}"
    if row["status"] == "skipped":
        return f"{label}  skipped ({row['reason']})"
    if row["status"] == "timeout":
        return (
            f"{label}  timed out after {row['wall_seconds']:.0f} s "
            f"(the timed run had taken {row['seconds_at_least']:.1f} s)"
        )
    return f"{label}  failed: {row['error'].splitlines()[-1] if row['error'] else '?'}"


def summarise(report: dict) -> dict:
    """Per model: speed-ups (inside the run and as processes) and the agreement tables."""
    out = {}
    for model in MODELS:
        runs = [r for r in report["runs"] if r.get("model", "light") == model]
        if runs:
            out[model] = _summarise_model(model, runs)
    return {"models": out}


def _summarise_model(model: str, model_runs: list[dict]) -> dict:
    ref = importlib.import_module(MODELS[model][0])
    sizes = sorted({r["citizens"] for r in model_runs})
    speed, agreement = [], []
    for size in sizes:
        runs = {r["implementation"]: r for r in model_runs if r["citizens"] == size}
        base = runs.get("creditsim")
        entry = {"citizens": size}
        for impl in ("starsim", "mesa"):
            other = runs.get(impl)
            if base is None or base["status"] != "ok" or other is None:
                continue
            if other["status"] == "ok":
                ratio, bound = other["seconds"] / base["seconds"], "="
            elif other["status"] == "timeout" and other["seconds_at_least"] > 0:
                ratio, bound = other["seconds_at_least"] / base["seconds"], ">"
            else:
                continue
            entry[f"{impl}_over_creditsim"] = {"ratio": round(ratio, 2), "bound": bound}
            if other.get("process_seconds") and base.get("process_seconds"):
                ratio = other["process_seconds"] / base["process_seconds"]
                entry[f"{impl}_over_creditsim_process"] = {"ratio": round(ratio, 2), "bound": "="}
        speed.append(entry)
        ok = {i: r for i, r in runs.items() if r["status"] == "ok"}
        if ok:
            agreement.append({"citizens": size, "rows": _agreement(ref, size, ok)})
    return {"speed_ups": speed, "agreement": agreement}


def _agreement(ref, size: int, runs: dict) -> list[dict]:
    nominal = {f"citizens_{g}": round(size * share) for g, share in ref.GROUPS.items()}
    expected_nominal = ref.expected(nominal)
    own = {impl: ref.expected(run["outputs"]) for impl, run in runs.items()}
    rows = []
    for name in ref.OUTPUTS:
        row = {"output": name, "values": {i: r["outputs"][name] for i, r in runs.items()}}
        if name in expected_nominal:
            mean, sd = expected_nominal[name]
            row["expected"], row["sd"] = round(mean, 2), round(sd, 2)
            # Each implementation against the expectation given its own group sizes.
            row["z"] = {}
            for impl, value in row["values"].items():
                m, s = own[impl][name]
                row["z"][impl] = round((value - m) / s, 2) if s > 0 else None
            row["flagged"] = [i for i, z in row["z"].items() if z is not None and abs(z) > FLAG_Z]
        else:
            row["expected"] = nominal[name]
            row["note"] = "group sizes: the other expectations are conditional on them"
        rows.append(row)
    return rows


def _write(report: dict, folder: Path) -> None:
    report = {**report, **summarise(report)}
    # Of the earlier runs merged in, only those whose rows are still here are told of.
    owners = {r.get("measured_at") for r in report["runs"] if r["status"] != "skipped"}
    report["merged_from"] = [e for e in report.get("merged_from", []) if e.get("when") in owners]
    _atomic(folder / "peers.json", json.dumps(report, indent=2) + "\n")
    _atomic(folder / "peers.md", _markdown(report))


def _markdown(report: dict) -> str:
    load = report.get("load_average_end", report["load_average_start"])
    lines = [
        "# peers benchmark: creditsim, Starsim and Mesa on the reference models",
        "",
        f"`{report['command']}`",
        "",
        f"One year, seed {report['seed']}, {report['when']}; {report['machine']['processor']}, "
        f"{report['machine']['cpus']} CPUs ({report['machine']['platform']}). Load average "
        f"(1, 5, 15 min) at the start {_load(report['load_average_start'])}, at the end "
        f"{_load(load)}; each run's 1-minute load before and after it is in peers.json. "
        "Inside the run: the fastest of up to three runs (runs over 60 s are not repeated), "
        "the implementations taking turns, each run in a fresh process pinned to one core "
        "after an untimed warm-up run; interpreter "
        f"start and imports excluded. As a process: {_processes(report.get('process_repeat', 1))}"
        " pinned to one core (taskset) from start to exit, imports included, no warm-up (each "
        "implementation the same number; the seconds of each are in peers.json).",
        "",
    ]
    for earlier in report.get("merged_from", []):
        lines += [
            f"Not redone by this run (--merge): {_rows_of(report, earlier.get('when'))}. Those "
            f"rows come from `{earlier.get('command', '?')}` at {earlier.get('when', '?')}, load "
            "average at its start "
            f"{_load(earlier.get('load_average_start', []))} and at its end "
            f"{_load(earlier.get('load_average_end', []))}.",
            "",
        ]
    versions = {}
    for run in report["runs"]:
        versions.update(run.get("versions", {}))
    if versions:
        lines += [", ".join(f"{k} {v}" for k, v in versions.items()), ""]
    lines += [
        f"Targets at 1,000,000 citizens (issue 18): creditsim at least "
        f"{TARGETS['starsim_process']:.0f} times faster than Starsim as whole processes and "
        f"{TARGETS['starsim']:.0f} times inside the run, on both models; Mesa "
        f"{TARGETS['mesa']:,.0f} times (light model).",
        "",
    ]
    for model, summary in report["models"].items():
        runs = [r for r in report["runs"] if r.get("model", "light") == model]
        lines += _model_markdown(model, runs, summary)
    return "\n".join(lines)


def _rows_of(report: dict, when: str | None) -> str:
    """Which rows an earlier run measured, as "creditsim and Starsim on the light model at
    100,000 citizens; ..." (a size an implementation was not run at is no one's row)."""
    places: dict[tuple, list[str]] = {}
    for r in report["runs"]:
        if r.get("measured_at") == when and r["status"] != "skipped":
            where = (r.get("model", "light"), r["citizens"])
            places.setdefault(where, []).append(LABELS[r["implementation"]])
    return "; ".join(
        f"{_listed(names)} on the {model} model at {size:,} citizens"
        for (model, size), names in sorted(places.items())
    )


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _load(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _model_markdown(model: str, runs: list[dict], summary: dict) -> list[str]:
    impls = [i for i in IMPLEMENTATIONS if any(r["implementation"] == i for r in runs)]
    sizes = sorted({r["citizens"] for r in runs})
    speed = {e["citizens"]: e for e in summary["speed_ups"]}
    lines = [
        f"## The {model} model",
        "",
        "### Seconds",
        "",
        "| citizens | " + " | ".join(f"{LABELS[i]} inside" for i in impls)
        + " | Starsim / creditsim inside | Mesa / creditsim inside | "
        + " | ".join(f"{LABELS[i]} process" for i in impls if i != "mesa")
        + " | Starsim / creditsim process |",
        "|---:|" + "---:|" * (2 * len(impls) + 2 - ("mesa" in impls) + 1),
    ]  # fmt: skip
    for size in sizes:
        at = {r["implementation"]: r for r in runs if r["citizens"] == size}
        cells = [_seconds_cell(at.get(i)) for i in impls]
        ratios = speed.get(size, {})
        cells += [_ratio(ratios.get(f"{i}_over_creditsim")) for i in ("starsim", "mesa")]
        cells += [_process_cell(at.get(i)) for i in impls if i != "mesa"]
        cells.append(_ratio(ratios.get("starsim_over_creditsim_process")))
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    lines += ["", _mesa_note(runs), ""] if _mesa_note(runs) else [""]
    lines += [
        "Peak memory (MiB): "
        + "; ".join(
            f"{LABELS[r['implementation']]} {r['citizens']:,}: {r['peak_memory_mib']:.0f}"
            for r in runs
            if r["status"] == "ok"
        ),
        "",
    ]
    lines += _stages_markdown(runs)
    for table in summary["agreement"]:
        lines += _agreement_markdown(table, impls)
    steps = {r["implementation"]: r["outputs"].get("time_step", "") for r in runs
             if r["status"] == "ok"}  # fmt: skip
    if steps:
        lines += ["### Time steps", ""]
        lines += [f"- {LABELS[i]}: {steps[i]}" for i in impls if i in steps]
        lines.append("")
    return lines


def _ratio(value: dict | None) -> str:
    if value is None:
        return ""
    return ("> " if value["bound"] == ">" else "") + f"{value['ratio']:,.1f}"


def _processes(count: int) -> str:
    return "one fresh process" if count == 1 else f"the fastest of {count} fresh processes"


def _process_cell(run: dict | None) -> str:
    if run is None or run["status"] != "ok" or not run.get("process_seconds"):
        return ""
    return f"{run['process_seconds']:,.3f}"


def _mesa_note(runs: list[dict]) -> str:
    """Mesa skipped at a size: its seconds there extrapolated linearly from the largest size
    it ran, and the ratio to creditsim that gives."""
    done = [r for r in runs if r["implementation"] == "mesa" and r["status"] == "ok"]
    notes = []
    for skipped in (r for r in runs if r["implementation"] == "mesa" and r["status"] == "skipped"):
        if not done:
            continue
        largest = max(done, key=lambda r: r["citizens"])
        size = skipped["citizens"]
        estimate = largest["seconds"] * size / largest["citizens"]
        base = next((r for r in runs if r["implementation"] == "creditsim"
                     and r["citizens"] == size and r["status"] == "ok"), None)  # fmt: skip
        ratio = f", about {estimate / base['seconds']:,.0f} times creditsim's" if base else ""
        notes.append(
            f"Mesa at {size:,} citizens was not run ({skipped['reason']}): linearly from its "
            f"{largest['seconds']:,.1f} s at {largest['citizens']:,}, about {estimate:,.0f} s"
            f"{ratio} (an estimate, not a measurement)."
        )
    return " ".join(notes)


def _stages_markdown(runs: list[dict]) -> list[str]:
    """Where creditsim's time goes inside the run, per stage (the run's manifest timings), at
    each size: the stages over 1 % of the run."""
    ours = [r for r in runs if r["implementation"] == "creditsim" and r["status"] == "ok"
            and "stages_seconds" in r["outputs"]]  # fmt: skip
    if not ours:
        return []
    lines = [
        "### Where creditsim's time goes",
        "",
        "Seconds per stage inside the run (the run's timings, summed over its shards), the "
        "stages over 1 % of the run; the rest of the run is the audit, the time series and the "
        "result. CPU: the run's user and system seconds. System time is mostly the kernel "
        "giving a fresh process its memory; on a virtual machine it varies from run to run (on "
        "the 2-core VM of these figures, 0.1 to 1.3 s for the same heavy run at 1,000,000), "
        "which is why the fastest of several fresh processes is kept.",
        "",
    ]
    for run in sorted(ours, key=lambda r: r["citizens"]):
        stages = run["outputs"]["stages_seconds"]
        shown = sorted(((v, k) for k, v in stages.items() if v > 0.01 * run["seconds"]),
                       reverse=True)  # fmt: skip
        listed = ", ".join(f"{k} {v:.3f}" for v, k in shown)
        rest = run["seconds"] - sum(stages.values())
        cpu = ""
        if "cpu_user_seconds" in run:
            cpu = (f" (CPU: user {run['cpu_user_seconds']:.2f} s, "
                   f"system {run['cpu_system_seconds']:.2f} s)")  # fmt: skip
        lines.append(
            f"- {run['citizens']:,} citizens, {run['seconds']:.3f} s{cpu}: {listed}; outside the "
            f"stages {rest:.3f}"
        )
    return [*lines, ""]


def _agreement_markdown(table: dict, impls: list[str]) -> list[str]:
    present = [i for i in impls if i in table["rows"][0]["values"]]
    lines = [
        f"### Agreement at {table['citizens']:,} citizens",
        "",
        "Expected: the analytic mean at the nominal group sizes (80/20); sd: its sampling "
        f"error; {FLAG_Z:.0f} sd / expected: the smallest relative bias one run would "
        "flag; z: each value against its analytic mean given that run's own group sizes, "
        f"in standard deviations of the sampling error. |z| > {FLAG_Z:.0f} is flagged.",
        "",
        "| output | " + " | ".join(LABELS[i] for i in present) + " | expected | sd "
        f"| {FLAG_Z:.0f} sd / expected | " + " | ".join(f"z {LABELS[i]}" for i in present) + " |",
        "|---|" + "---:|" * (2 * len(present) + 3),
    ]
    for row in table["rows"]:
        values = [f"{row['values'][i]:,}" for i in present]
        if "z" in row:
            zs = [_z_cell(row["z"][i]) for i in present]
            lines.append(
                f"| {row['output']} | " + " | ".join(values)
                + f" | {row['expected']:,.1f} | {row['sd']:,.1f} | {_share(row)} | "
                + " | ".join(zs) + " |"
            )  # fmt: skip
        else:
            lines.append(
                f"| {row['output']} | " + " | ".join(values)
                + f" | {row['expected']:,} | | | " + " | ".join("" for _ in present) + " |"
            )  # fmt: skip
    flagged = [f"{r['output']} ({', '.join(r['flagged'])})" for r in table["rows"]
               if r.get("flagged")]  # fmt: skip
    return [*lines, "", f"Flagged: {', '.join(flagged) if flagged else 'none'}.", ""]


def _seconds_cell(run: dict | None) -> str:
    if run is None:
        return ""
    if run["status"] == "ok":
        return f"{run['seconds']:,.3f}"
    if run["status"] == "timeout":
        return f"> {run['seconds_at_least']:,.1f} (timed out)"
    if run["status"] == "skipped":
        return "not run"
    return "failed"


def _share(row: dict) -> str:
    """The relative bias a single run would flag: FLAG_Z standard deviations of the mean."""
    return f"{FLAG_Z * row['sd'] / row['expected']:.1%}" if row["expected"] else ""


def _z_cell(z: float | None) -> str:
    if z is None:
        return ""
    return f"**{z:+.2f}**" if abs(z) > FLAG_Z else f"{z:+.2f}"


def _atomic(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(text)
    os.chmod(f.name, 0o644)
    os.replace(f.name, path)


if __name__ == "__main__":
    main()
