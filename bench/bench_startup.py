"""Start-up: what a user waits for before creditsim does anything, as whole processes.

    python bench/bench_startup.py [--repeat 7] [--python OTHER/bin/python --label before]

Times, best of `--repeat` fresh processes each: `import creditsim`, `creditsim --help`, and
`creditsim run` on 1,000 citizens (national-2018, nothing written, no catalogue). `--python`
measures another installation (for example a worktree of an earlier commit) in the same run,
so that the two are compared by ratio on one machine under one load. Figures go to
bench/results/startup.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CASES = {
    "import creditsim": ["-c", "import creditsim"],
    "creditsim --help": ["-c", "import sys; from creditsim.cli import main; "
                         "sys.argv = ['creditsim', '--help']; main()"],
    "creditsim run national-2018 -n 1000": [
        "-c", "import sys; from creditsim.cli import main; "
        "sys.argv = ['creditsim', 'run', 'national-2018', '-n', '1000']; main()"],
}  # fmt: skip


def best_of(python: str, arguments: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([python, *arguments], check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--python", help="another installation's python, measured beside")
    parser.add_argument("--label", default="other", help="its name in the table")
    args = parser.parse_args()
    pythons = {"this checkout": sys.executable}
    if args.python:
        pythons[args.label] = args.python
    with tempfile.TemporaryDirectory() as folder:
        env = os.environ | {"CREDITSIM_CATALOGUE": str(Path(folder) / "catalogue.duckdb")}
        figures = {
            label: {case: best_of(py, argv, args.repeat, env) for case, argv in CASES.items()}
            for label, py in pythons.items()
        }
    load = os.getloadavg()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        "# Start-up, as whole processes",
        "",
        f"`python bench/bench_startup.py --repeat {args.repeat}`; best of {args.repeat} fresh "
        f"processes each. Machine: {machine}; load average {load[0]:.1f} at the end.",
        "",
        "| | " + " | ".join(f"{label} (s)" for label in figures) + " |",
        "|---|" + "---:|" * len(figures),
    ]
    for case in CASES:
        cells = " | ".join(f"{f[case]:.3f}" for f in figures.values())
        lines.append(f"| `{case}` | {cells} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.md").write_text("\n".join(lines) + "\n")
    record = {"machine": machine, "load": load, "seconds": figures}
    (RESULTS / "startup.json").write_text(json.dumps(record, indent=2) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
