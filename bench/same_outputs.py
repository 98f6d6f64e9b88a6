"""Proof for a refactor: every output byte-identical before and after, all but timings.

    python bench/same_outputs.py write DIR [--population N]   # run every case into DIR/<case>
    python bench/same_outputs.py check BEFORE AFTER            # compare two such folders
    ... write DIR --population 1000000 --cases national-2018 peers-heavy   # some cases only

`--cases` picks some of the cases, for paths that only large runs take (blocks of events, the
ledger's radix pass): give the same to `write` (before and after) and to `check`.

Run `write` with the code before the change (a `git worktree` of the base commit, with its own
`pip install -e`), then with the code after, and `check` the two. The cases are every preset
and variants that switch on the rarer mechanisms: an insider, a score swap, exemptions,
restoration after 60 days, income and age points, sesame with a swap, three years with shards.
Files compare as bytes; `manifest.json` and the shards' summaries compare with their timings
(and the manifest's version) dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

PRESETS = (
    "national-2018",
    "national-2013-2020",
    "rongcheng-pilot",
    "rongcheng-in-national",
    "xiamen-caller",
    "shenzhen-screens",
    "sesame",
    "fico-baseline",
    "no-system",
)
PEERS = Path(__file__).parent / "peers"
VARIANTS = {
    "insider": ("national-2018", {"attacks": {"insider": {"enabled": True, "share": 0.01}}}),
    "swap": ("national-2018", {"attacks": {"score_swap": {"enabled": True, "share": 0.01}}}),
    "exemptions": ("national-2018", {"exemptions": {"share": 0.05}}),
    "restoration": ("rongcheng-pilot", {"policies": [{"name": "rongcheng",
                                                      "restore_after_days": 60}]}),
    "income-age-points": ("national-2018", {"policies": [{
        "name": "national", "income_points": {"low": -20, "high": 15},
        "age_points": {"young": -10, "senior": 5}}]}),
    "sesame-swap": ("sesame", {"attacks": {"score_swap": {"enabled": True, "share": 0.01}}}),
    "targeting": ("national-2018", {"targeting": {
        "detection_multiplier_by_group": {"camera": {"minority-a": 2.0},
                                          "informant": {"minority-b": 3.0}},
        "pooling_multiplier_by_group": {"minority-a": 1.5}}}),
    "shards-3-years": ("national-2018", {"run": {"years": 3, "shard_size": 4000}}),
    "peers-light": (str(PEERS / "reference.toml"), {}),
    "peers-heavy": (str(PEERS / "reference_heavy.toml"), {}),
}  # fmt: skip
TIMINGS = ("timings_seconds", "total_seconds")


def cases() -> dict[str, tuple[str, dict]]:
    return {name: (name, {}) for name in PRESETS} | VARIANTS


def write(folder: Path, population: int, chosen: list[str]) -> None:
    import creditsim

    for case, (base, overrides) in cases().items():
        if case not in chosen:
            continue
        scenario = creditsim.load_scenario(base, overrides or None)
        out = folder / case
        creditsim.run(scenario, population=population, seed=11, out=out, catalogue=False)
        print(f"{case}: written to {out}", flush=True)


def _manifest(path: Path) -> dict:
    data = json.loads(path.read_text())
    for key in TIMINGS:
        data.pop(key, None)
    data.pop("creditsim_version", None)
    return data


def _summary(path: Path) -> dict:
    """A shard's summary (`shards/*.npz`): its arrays as bytes and its metadata, no timings."""
    import numpy as np

    with np.load(path) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        meta.pop("timings", None)
        return {"meta": meta} | {k: data[k].tobytes() for k in data.files if k != "meta"}


def _same(a: Path, b: Path) -> bool:
    if a.name == "manifest.json":
        return _manifest(a) == _manifest(b)
    if a.suffix == ".npz":
        return _summary(a) == _summary(b)
    return a.read_bytes() == b.read_bytes()


def check(before: Path, after: Path, chosen: list[str]) -> int:
    differing = 0
    for case in chosen:
        a, b = before / case, after / case
        names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
        other = sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
        if names != other:
            print(f"{case}: different files: {sorted(set(names) ^ set(other))}")
            differing += 1
            continue
        for name in names:
            if not _same(a / name, b / name):
                print(f"{case}: {name} differs")
                differing += 1
        print(f"{case}: {len(names)} files compared")
    print("identical" if differing == 0 else f"{differing} differences")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    writing = commands.add_parser("write")
    writing.add_argument("folder", type=Path)
    writing.add_argument("--population", type=int, default=40_000)
    checking = commands.add_parser("check")
    checking.add_argument("before", type=Path)
    checking.add_argument("after", type=Path)
    for command in (writing, checking):
        command.add_argument("--cases", nargs="+", choices=list(cases()), default=list(cases()))
    args = parser.parse_args()
    if args.command == "write":
        with tempfile.TemporaryDirectory() as catalogue:
            import os

            os.environ["CREDITSIM_CATALOGUE"] = str(Path(catalogue) / "catalogue.duckdb")
            write(args.folder, args.population, args.cases)
        return 0
    return check(args.before, args.after, args.cases)


if __name__ == "__main__":
    sys.exit(main())
