"""One shard's run: the stages of `engine/pipeline.py`, population to tallies, in order.

A shard is a sample of whole households with its own random streams, so shards are independent
and their tallies add up exactly. Population, behaviours, response and channels run on the array
backend; what follows works on far fewer items (records, sanctions, tallies) and runs on the host.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from creditsim.arrays.backend import array_module
from creditsim.engine.pipeline import PIPELINE
from creditsim.engine.state import ShardResult, ShardState
from creditsim.engine.tables.standing import RECOVERY_BIN_DAYS
from creditsim.scenario.schema import Scenario

Progress = Callable[[str], None]


def horizon_days(years: float) -> int:
    return max(1, int(round(years * 365)))


def run_shard(
    scenario: Scenario,
    citizens: int,
    days: int,
    seed: int,
    shard: int = 0,
    first_citizen: int = 0,
    progress: Progress | None = None,
    backend: str = "numpy",
    keep_rows: bool = True,
) -> ShardResult:
    """Run one shard of `citizens` citizens; their global ids start at `first_citizen`.

    Each stage that the scenario enables runs in turn, timed under its own name (a disabled
    stage takes no time); `progress` hears each stage's name as it ends."""
    state = ShardState(
        scenario, citizens, days, seed, shard, first_citizen, keep_rows, array_module(backend)
    )
    timings: dict[str, float] = {}
    for stage in PIPELINE:
        started = time.perf_counter()
        if stage.enabled(scenario):
            stage.run(state)
        timings[stage.name] = time.perf_counter() - started
        if progress is not None:
            progress(stage.name)
    result = state.result
    result.timings = timings
    return result


__all__ = ["RECOVERY_BIN_DAYS", "Progress", "ShardResult", "horizon_days", "run_shard"]
