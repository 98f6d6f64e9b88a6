"""Start-up: what a user waits for before creditsim does anything, as whole processes.

    python bench/bench_startup.py [--repeat 7] [--python OTHER/bin/python] [--src OTHER/src]
                                  [--label before]

Times, best of `--repeat` fresh processes each: `import creditsim`, `creditsim --help`,
`creditsim run` on 1,000 citizens (national-2018) with nothing written, and the same run
writing its directory (`--out DIR`, recorded in a catalogue of its own): wall seconds, and
the CPU seconds of the same process (user and system; less sensitive to the machine's load).
`--python` measures another installation, `--src` another checkout's `src` (for example a
worktree of an earlier commit, put first on PYTHONPATH), in the same run, so that the two are
compared by ratio on one machine under one load. Figures go to bench/results/startup.md and
.json, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
RUN = "import sys; from creditsim.cli import main; sys.argv = ['creditsim', {}]; main()"
CASES = {
    "import creditsim": "import creditsim",
    "creditsim --help": RUN.format("'--help'"),
    "creditsim run national-2018 -n 1000": RUN.format("'run', 'national-2018', '-n', '1000'"),
    "creditsim run national-2018 -n 1000 --out DIR": RUN.format(
        "'run', 'national-2018', '-n', '1000', '--out', {out!r}"
    ),
}


def best_of(
    python: str, code: str, repeat: int, env: dict[str, str], folder: Path
) -> tuple[float, float]:
    """The fastest wall seconds of `repeat` fresh processes, and the least CPU seconds (user
    and system) among them. Each run writing a directory writes a new one."""
    times, cpu = [], []
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp(dir=folder)) / "run"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([python, "-c", code.replace("{out!r}", repr(str(out)))], check=True,
                       capture_output=True, env=env)  # fmt: skip
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times), min(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--python", help="another installation's python, measured beside")
    parser.add_argument("--src", help="another checkout's src folder, measured beside")
    parser.add_argument("--label", default="other", help="its name in the table")
    args = parser.parse_args()
    others = {}
    if args.python or args.src:
        others[args.label] = (args.python or sys.executable, args.src)
    load_start = os.getloadavg()
    figures = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = os.environ | {"CREDITSIM_CATALOGUE": str(folder / "catalogue.duckdb")}
        for label, (python, src) in {"this checkout": (sys.executable, None), **others}.items():
            env_of = env | {"PYTHONPATH": src} if src else env
            figures[label] = {
                case: best_of(python, code, args.repeat, env_of, folder)
                for case, code in CASES.items()
            }
    record = {
        "command": shlex.join(["python", *sys.argv]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        "seconds": {k: {c: round(v[0], 4) for c, v in f.items()} for k, f in figures.items()},
        "cpu_seconds": {k: {c: round(v[1], 4) for c, v in f.items()} for k, f in figures.items()},
    }
    text = _markdown(record, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.md").write_text(text)
    (RESULTS / "startup.json").write_text(json.dumps(record, indent=2) + "\n")
    print(text)
    return 0


def _markdown(record: dict, repeat: int) -> str:
    labels = list(record["seconds"])
    load = ", ".join(f"{x:.2f}" for x in record["load_start"])
    lines = [
        "# Start-up, as whole processes",
        "",
        f"`{record['command']}`; {record['when']}; best of {repeat} fresh processes each "
        f"(wall), and the least CPU time (user + system) among them. Machine: "
        f"{record['machine']}; load average (1, 5, 15 min) {load} at the start, "
        f"{record['load_end'][0]:.2f} at the end.",
        "",
        "| | " + " | ".join(f"{label} (s) | {label} CPU (s)" for label in labels) + " |",
        "|---|" + "---:|---:|" * len(labels),
    ]
    for case in CASES:
        cells = " | ".join(
            f"{record['seconds'][label][case]:.3f} | {record['cpu_seconds'][label][case]:.3f}"
            for label in labels
        )
        lines.append(f"| `{case}` | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
