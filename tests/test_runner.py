"""The runner: worker counts that change nothing, resuming a killed run, sampled citizen rows,
and memory bounded by the shard rather than the population."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import creditsim
from creditsim.errors import OutputError

POPULATION = 30_000
SHARD = 5_000  # six shards
OUTPUTS = ("audit.json", "timeseries.parquet", "plan.json")


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes (the shard summaries hold timings, so they are left out)."""
    names = [*OUTPUTS, *(f"citizens/part-{i:05d}.parquet" for i in range(6))]
    names += [f"timeseries/part-{i:05d}.parquet" for i in range(6)]
    return {name: (folder / name).read_bytes() for name in names}


def _run(folder: Path, **options) -> creditsim.RunResult:
    return creditsim.run(
        "national-2018", population=POPULATION, seed=11, shard_size=SHARD, out=folder, **options
    )


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in-process") / "run"
    _run(folder)
    return folder


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_worker_count_changes_nothing(in_process, tmp_path, workers):
    folder = tmp_path / "run"
    _run(folder, workers=workers)
    assert _outputs(folder) == _outputs(in_process)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["shards"] == 6


KILLER = textwrap.dedent(
    """
    import os, sys
    import creditsim, creditsim.engine.runner as runner
    real = runner.run_shard_task
    started = 0
    def dies_on_the_fourth_shard(plan, progress=None):
        global started
        started += 1
        if started == 4:
            os._exit(9)  # as abrupt as a kill: no cleanup, no manifest
        return real(plan, progress)
    runner.run_shard_task = dies_on_the_fourth_shard
    creditsim.run("national-2018", population={population}, seed=11, shard_size={shard},
                  out=sys.argv[1])
    """
)


def test_killed_run_resumes_to_the_same_result(in_process, tmp_path):
    folder = tmp_path / "run"
    code = KILLER.format(population=POPULATION, shard=SHARD)
    done = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True)
    assert done.returncode == 9, done.stderr.decode()
    # The finished shards are there, whole; nothing of the run as a whole was written.
    assert not (folder / "manifest.json").exists() and not (folder / "audit.json").exists()
    finished = sorted(p.name for p in (folder / "shards").glob("*.npz"))
    assert finished == ["part-00000.npz", "part-00001.npz", "part-00002.npz"]
    for part in (folder / "citizens").glob("*.parquet"):
        assert pq.read_table(part).num_rows > 0
    # Without --resume the directory is refused; with it, the run is finished.
    with pytest.raises(OutputError, match="--resume"):
        _run(folder)
    before = {p: p.stat().st_mtime_ns for p in (folder / "citizens").glob("*.parquet")}
    _run(folder, resume=True)
    assert _outputs(folder) == _outputs(in_process)
    for part, mtime in before.items():
        assert part.stat().st_mtime_ns == mtime, f"{part.name} was redone"


def test_resume_refuses_a_different_run(in_process, tmp_path):
    folder = tmp_path / "run"
    _run(folder)
    with pytest.raises(OutputError, match="same scenario, seed"):
        creditsim.run(
            "national-2018", population=POPULATION, seed=12, shard_size=SHARD, out=folder,
            resume=True,
        )  # fmt: skip
    with pytest.raises(OutputError, match="no run to resume"):
        _run(tmp_path / "empty", resume=True)


def test_sampled_citizen_rows_are_the_same_whatever_the_workers(tmp_path):
    runs = {}
    for workers in (None, 2):
        folder = tmp_path / f"run-{workers}"
        result = _run(folder, citizen_rows=0.1, workers=workers)
        runs[workers] = result.to_frame()
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["citizen_rows"] == {"kept": 0.1, "rows": len(runs[workers])}
    assert runs[None].equals(runs[2])
    # A tenth of the citizens, within 5 binomial standard deviations (sd about 52 here).
    assert abs(len(runs[None]) - POPULATION * 0.1) <= 5 * (POPULATION * 0.1 * 0.9) ** 0.5
    # The audit still covers everyone.
    assert result.audit()["overall"]["citizens"] == POPULATION


def test_no_citizen_rows(tmp_path):
    result = _run(tmp_path / "run", citizen_rows="none")
    assert not (tmp_path / "run" / "citizens").exists()
    assert len(result.to_frame()) == 0
    assert result.audit()["overall"]["citizens"] == POPULATION


PEAK = textwrap.dedent(
    """
    import resource, sys, creditsim
    creditsim.run("national-2018", population=int(sys.argv[1]), shard_size=50_000,
                  citizen_rows="none", out=sys.argv[2])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """
)


def test_peak_memory_does_not_grow_with_population(tmp_path):
    """Six times the citizens in shards of the same size: the peak may grow by at most 40 MiB
    (allocator slack), far less than the ~150 MiB more that one unsharded run would need."""
    peaks = []
    for size in (100_000, 600_000):
        done = subprocess.run(
            [sys.executable, "-c", PEAK, str(size), str(tmp_path / str(size))],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        peaks.append(float(done.stdout.strip()))
    assert peaks[1] <= peaks[0] + 40, peaks


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--citizen-rows", "lots"], "--citizen-rows lots"),
        (["--citizen-rows", "1.5"], "--citizen-rows 1.5"),
        (["--resume"], "--resume needs --out"),
    ],
)
def test_cli_rejects_bad_run_options(tmp_path, arguments, message):
    done = subprocess.run(
        [sys.executable, "-m", "creditsim.cli", "run", "national-2018", "-n", "2000", *arguments],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
