"""Adding shards up: every aggregate a shard returns is a sum, so the combination is exact."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from creditsim.policies.scores import QUANTILES, score_summary
from creditsim.scenario.schema import Scenario
from creditsim.scenario.timeline import calendar_dates

if TYPE_CHECKING:
    from creditsim.engine.tasks import ShardSummary


class Totals:
    """The running sum of the shards' time series, score histograms and tallies.

    Everything is an integer sum, so the order in which shards arrive changes nothing."""

    def __init__(self, scenario: Scenario) -> None:
        self.policies = scenario.score_policies
        self.timeseries: dict[str, np.ndarray] = {}
        self.histograms: dict[str, np.ndarray] = {}
        self.tallies: dict[str, np.ndarray] = {}
        self.rows = 0
        self.shards = 0

    def add(self, summary: ShardSummary) -> None:
        _accumulate(self.timeseries, summary.timeseries)
        _accumulate(self.tallies, summary.tallies)
        for policy in self.policies:
            part = summary.histograms[policy.name]
            total = self.histograms.get(policy.name)
            if total is None:
                bins = policy.maximum - policy.minimum + 1
                total = self.histograms[policy.name] = np.zeros(
                    (*part.shape[:2], bins), dtype=np.int64
                )
            lo = summary.histogram_floor[policy.name] - policy.minimum
            total[..., lo : lo + part.shape[-1]] += part
        self.rows += summary.rows
        self.shards += 1


def shard_sizes(population: int, shard_size: int) -> list[int]:
    """Near-equal shards of at most `shard_size` citizens."""
    count = -(-population // shard_size)
    base, extra = divmod(population, count)
    return [base + 1] * extra + [base] * (count - extra)


def timeseries_columns(
    scenario: Scenario, counts: dict[str, np.ndarray], histograms: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """One row per (period, region, group): counts, then each score's mean and quantiles."""
    periods, cells = histograms[scenario.policy.name].shape[:2]
    groups = len(scenario.groups)
    period = np.repeat(np.arange(periods, dtype=np.int32), cells)
    cell = np.tile(np.arange(cells, dtype=np.int32), periods)
    day = period * scenario.run.timeseries_every_days
    columns: dict[str, np.ndarray] = {
        "period": period,
        "day": day,
        "date": calendar_dates(scenario.run.start_date, day),
        "region": (cell // groups).astype(np.int8),
        "group": (cell % groups).astype(np.int8),
    }
    for name, value in counts.items():
        columns[name] = value.reshape(-1)
    for policy in scenario.score_policies:
        mean, quantiles = score_summary(histograms[policy.name], policy.minimum)
        columns[f"score_{policy.name}_mean"] = mean.reshape(-1)
        for q, level in enumerate(QUANTILES):
            columns[f"score_{policy.name}_p{int(level * 100):02d}"] = quantiles[..., q].reshape(-1)
    return columns


def _accumulate(total: dict[str, np.ndarray], part: dict[str, np.ndarray]) -> None:
    for key, value in part.items():
        total[key] = total[key] + value if key in total else value.astype(np.int64)
