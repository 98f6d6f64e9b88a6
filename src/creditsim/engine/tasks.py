"""The unit of work a worker runs: one shard, run, written and summarised.

A shard writes its citizen rows and time series as Parquet parts, then its summary (the additive
aggregates) as `shards/part-NNNNN.npz`; the summary is written last, so its presence means the
shard is complete, which is what `--resume` relies on.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from creditsim.arrays.streams import stream
from creditsim.engine.combine import timeseries_columns
from creditsim.engine.memory import paused_collector
from creditsim.engine.shard import Progress, run_shard
from creditsim.outputs import shard_file, to_table, write_parquet
from creditsim.scenario.schema import Scenario

CitizenRows = str | float  # "all", "none", or the fraction of citizens kept


@dataclass(frozen=True)
class ShardPlan:
    scenario: Scenario
    shard: int
    size: int
    first_citizen: int
    days: int
    seed: int
    citizen_rows: CitizenRows
    out: str | None  # the run directory, or None to hand the rows back in memory
    backend: str = "numpy"


@dataclass
class ShardSummary:
    shard: int
    timeseries: dict[str, np.ndarray]
    # Per score policy: (periods, cells, bins), starting at score `histogram_floor[policy]`
    histograms: dict[str, np.ndarray]
    histogram_floor: dict[str, int]
    tallies: dict[str, np.ndarray]
    rows: int
    timings: dict[str, float] = field(default_factory=dict)
    citizens: pa.Table | None = None
    blacklist: pa.Table | None = None  # in memory only; written runs keep it in blacklist/


@paused_collector()
def run_shard_task(plan: ShardPlan, progress: Progress | None = None) -> ShardSummary:
    scenario = plan.scenario
    result = run_shard(
        scenario, plan.size, plan.days, plan.seed, plan.shard, plan.first_citizen, progress,
        plan.backend, keep_rows=plan.citizen_rows != "none",
    )  # fmt: skip
    written = time.perf_counter()
    table = None
    if plan.citizen_rows != "none":
        keep = kept_rows(plan)
        citizens = result.citizens
        if keep is not None:
            citizens = {key: value[keep] for key, value in citizens.items()}
        table = to_table(citizens, scenario)
    floors, histograms = {}, {}
    for policy in scenario.score_policies:
        floors[policy.name], histograms[policy.name] = _trim(
            result.histograms[policy.name], policy.minimum
        )
    summary = ShardSummary(
        shard=plan.shard,
        timeseries=result.timeseries,
        histograms=histograms,
        histogram_floor=floors,
        tallies=result.tallies,
        rows=0 if table is None else table.num_rows,
        timings=result.timings,
    )
    blacklist = to_table(result.blacklist, scenario) if result.blacklist else None
    if plan.out is None:
        summary.citizens = table
        summary.blacklist = blacklist
    else:
        out = Path(plan.out)
        if table is not None:
            write_parquet(table, shard_file(out / "citizens", plan.shard))
        if blacklist is not None:
            write_parquet(blacklist, shard_file(out / "blacklist", plan.shard))
        series = timeseries_columns(scenario, result.timeseries, result.histograms)
        write_parquet(to_table(series, scenario), shard_file(out / "timeseries", plan.shard))
    summary.timings["write"] = time.perf_counter() - written
    if plan.out is not None:
        save_summary(summary, summary_file(Path(plan.out), plan.shard))
    return summary


def kept_rows(plan: ShardPlan) -> np.ndarray | None:
    """Which citizen rows to keep: None for all, else a random sample drawn from the shard's
    own stream, so the same citizens are kept whatever the number of workers."""
    if plan.citizen_rows == "all":
        return None
    draw = stream(plan.seed, plan.shard, "output:citizen-rows").random(plan.size)
    return draw < float(plan.citizen_rows)


def summary_file(out: Path, shard: int) -> Path:
    return out / "shards" / f"part-{shard:05d}.npz"


def save_summary(summary: ShardSummary, path: Path) -> None:
    """The summary as one .npz of a few arrays: each kind of aggregate (time series, tallies,
    histograms) packed into one flat array per element type, with an index in the metadata
    (hundreds of small arrays, one zip member each, took longer to write than to compute)."""
    index: dict[str, list] = {}
    packs: dict[str, list[np.ndarray]] = {}
    sizes: dict[str, int] = {}
    for kind, arrays in (
        ("ts", summary.timeseries),
        ("tally", summary.tallies),
        ("hist", summary.histograms),
    ):
        for key, value in arrays.items():
            value = np.asarray(value)
            pack = f"{kind}:{value.dtype.str}"
            offset = sizes.get(pack, 0)
            index[f"{kind}:{key}"] = [pack, offset, list(value.shape)]
            packs.setdefault(pack, []).append(value.reshape(-1))
            sizes[pack] = offset + value.size
    meta = {
        "shard": summary.shard,
        "histogram_floor": summary.histogram_floor,
        "rows": summary.rows,
        "timings": summary.timings,
        "index": index,
    }
    arrays = {name: np.concatenate(parts) for name, parts in packs.items()}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_bytes(buffer.getvalue())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_summary(path: Path) -> ShardSummary:
    with np.load(path) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        packs = {name: data[name] for name in data.files if name != "meta"}
    parts: dict[str, dict[str, np.ndarray]] = {"ts": {}, "tally": {}, "hist": {}}
    for name, (pack, offset, shape) in meta["index"].items():
        kind, key = name.split(":", 1)
        size = int(np.prod(shape, dtype=np.int64))
        parts[kind][key] = packs[pack][offset : offset + size].reshape(shape)
    return ShardSummary(
        shard=meta["shard"],
        timeseries=parts["ts"],
        histograms=parts["hist"],
        histogram_floor=meta["histogram_floor"],
        tallies=parts["tally"],
        rows=meta["rows"],
        timings=meta["timings"],
    )


def _trim(histograms: np.ndarray, minimum: int) -> tuple[int, np.ndarray]:
    """Only the score range that holds anyone: shards hand back far less than the full range."""
    used = np.flatnonzero(histograms.reshape(-1, histograms.shape[-1]).any(axis=0))
    if used.size == 0:
        return minimum, histograms[..., :0].copy()
    lo, hi = int(used[0]), int(used[-1]) + 1
    return minimum + lo, np.ascontiguousarray(histograms[..., lo:hi])
