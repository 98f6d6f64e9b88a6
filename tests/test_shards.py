"""Shards: whole households on their own streams, written part by part, adding up exactly."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import creditsim
from creditsim.engine.combine import shard_sizes

POPULATION = 25_000


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    out = tmp_path_factory.mktemp("sharded") / "run"
    result = creditsim.run(
        "national-2018", population=POPULATION, seed=3, shard_size=10_000, out=out
    )
    return result, out


def test_shard_sizes_are_balanced_and_bounded():
    assert shard_sizes(25_000, 10_000) == [8334, 8333, 8333]
    assert shard_sizes(10_000, 10_000) == [10_000]
    assert sum(shard_sizes(1_234_567, 100_000)) == 1_234_567
    assert max(shard_sizes(1_234_567, 100_000)) <= 100_000


def test_one_part_per_shard(sharded):
    result, out = sharded
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shards"] == 3 and manifest["shard_sizes"] == [8334, 8333, 8333]
    assert sorted(p.name for p in (out / "citizens").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    citizens = result.to_frame()
    assert citizens["citizen"].tolist() == list(range(POPULATION))
    # Households never straddle shards: each is named by its head, inside its own part.
    for shard, first in enumerate([0, 8334, 16667]):
        part = pq.read_table(out / "citizens" / f"part-{shard:05d}.parquet").to_pandas()
        assert part["citizen"].iloc[0] == first
        assert part["household"].between(first, first + len(part) - 1).all()


def test_merged_timeseries_is_the_sum_of_the_shards(sharded):
    result, out = sharded
    merged = pq.read_table(out / "timeseries.parquet").to_pandas()
    parts = [
        pq.read_table(out / "timeseries" / f"part-{i:05d}.parquet").to_pandas() for i in range(3)
    ]
    for column in ("events", "records", "wrongful_records", "flight_ban_started"):
        total = sum(p[column].to_numpy() for p in parts)
        np.testing.assert_array_equal(merged[column].to_numpy(), total)
    overall = result.audit()["overall"]
    assert int(merged["events"].sum()) == overall["true_events"]
    assert overall["citizens"] == POPULATION


def test_merged_score_quantiles_are_exact(sharded):
    result, out = sharded
    merged = pq.read_table(out / "timeseries.parquet").to_pandas()
    citizens = result.to_frame()
    last = merged[merged["period"] == merged["period"].max()]
    for (region, group), scores in citizens.groupby(["region", "group"], observed=True)[
        "score_national"
    ]:
        row = last[(last["region"] == region) & (last["group"] == group)]
        ordered = np.sort(scores.to_numpy())
        # The histogram median is the smallest score with at least half the citizens at or below.
        expected = ordered[int(np.ceil(0.5 * len(ordered))) - 1]
        assert row["score_national_p50"].item() == expected
        assert row["score_national_mean"].item() == pytest.approx(scores.mean())


def test_audit_tallies_match_the_citizen_rows(sharded):
    result, _ = sharded
    citizens = result.to_frame()
    sanctions = result.audit()["overall"]["sanctions"]
    assert sanctions["flight_ban"]["sanctioned"] == int((citizens["days_flight_ban"] > 0).sum())
    assert sanctions["any"]["wrongful"] == int(citizens["any_wrongful"].sum())


def test_shard_size_changes_only_the_draws():
    """Different shard sizes use different streams, so results differ, but only by sampling
    error: the events per citizen agree within 5 standard errors of a Poisson total."""
    one = creditsim.run("national-2018", population=60_000, seed=5, shard_size=60_000)
    three = creditsim.run("national-2018", population=60_000, seed=5, shard_size=20_000)
    a = one.audit()["overall"]
    b = three.audit()["overall"]
    assert a != b
    for key in ("true_events", "records"):
        # Propensity makes counts overdispersed; 5 sd of the Poisson total, doubled for that.
        assert abs(a[key] - b[key]) <= 10 * np.sqrt(a[key]), key
    sanctioned_a = a["sanctions"]["any"]["sanctioned"]
    sanctioned_b = b["sanctions"]["any"]["sanctioned"]
    assert abs(sanctioned_a - sanctioned_b) <= 5 * np.sqrt(sanctioned_a + sanctioned_b)
