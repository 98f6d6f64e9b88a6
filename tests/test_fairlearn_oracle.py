"""Fairlearn as an oracle: the per-group rates recomputed from the written citizens Parquet
(each sanction's recorded outcome beside the deserved one) equal the audit's, exactly."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import creditsim

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")

POPULATION = 20_000


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle") / "run"
    creditsim.run("national-2018", population=POPULATION, seed=5, out=out, catalogue=False)
    citizens = pd.read_parquet(out / "citizens")
    audit = json.loads((out / "audit.json").read_text())
    return citizens, audit


def _precision(y_true, y_pred):
    chosen = y_pred.sum()
    return float((y_true & y_pred).sum() / chosen) if chosen else math.nan


METRICS = {
    "sanction_rate": fairlearn_metrics.selection_rate,
    "false_positive_rate": fairlearn_metrics.false_positive_rate,
    "false_negative_rate": fairlearn_metrics.false_negative_rate,
    "true_positive_rate": fairlearn_metrics.true_positive_rate,
    "true_negative_rate": fairlearn_metrics.true_negative_rate,
    "precision": _precision,
}


def _outcomes(citizens: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(deserved, sanctioned) per citizen, from the written columns."""
    if name == "any":
        return citizens["any_deserved"].to_numpy(bool), citizens["any_sanction"].to_numpy(bool)
    return citizens[f"deserved_{name}"].to_numpy(bool), citizens[f"days_{name}"].to_numpy() > 0


def _sanctions(audit) -> list[str]:
    return list(audit["overall"]["sanctions"])


def test_every_row_is_written(written):
    citizens, audit = written
    assert len(citizens) == POPULATION
    for name in _sanctions(audit):
        if name != "any":
            assert {f"deserved_{name}", f"false_positive_{name}"} <= set(citizens.columns)


@pytest.mark.parametrize("by", ["group", "region"])
def test_per_group_rates_equal_the_audit(written, by):
    citizens, audit = written
    checked = 0
    for name in _sanctions(audit):
        y_true, y_pred = _outcomes(citizens, name)
        frame = fairlearn_metrics.MetricFrame(
            metrics=METRICS, y_true=y_true, y_pred=y_pred, sensitive_features=citizens[by]
        )
        for stratum, row in frame.by_group.iterrows():
            entry = audit[f"by_{by}"][stratum]["sanctions"][name]
            for metric, value in row.items():
                expected = entry[metric]
                if expected is None:
                    assert math.isnan(value) or value == 0.0, (name, stratum, metric)
                    continue
                assert value == pytest.approx(expected, rel=1e-12, abs=1e-15), (
                    name, stratum, metric
                )  # fmt: skip
                checked += 1
    assert checked > 100


def test_false_positives_are_sanctioned_and_not_deserved(written):
    citizens, audit = written
    for name in _sanctions(audit):
        if name == "any":
            continue
        y_true, y_pred = _outcomes(citizens, name)
        column = citizens[f"false_positive_{name}"].to_numpy(bool)
        np.testing.assert_array_equal(column, y_pred & ~y_true)
        assert int(column.sum()) == audit["overall"]["sanctions"][name]["false_positive"]
    any_fp = citizens["any_false_positive"].to_numpy(bool)
    assert int(any_fp.sum()) == audit["overall"]["sanctions"]["any"]["false_positive"]


def test_children_reached_per_sanction(written):
    citizens, audit = written
    sanctions = audit["overall"]["sanctions"]
    assert sanctions["any"]["children_reached"] == audit["overall"]["children_reached"]
    school = [n for n in sanctions if n != "any" and "school" in n]
    assert school and all("children_reached" in sanctions[n] for n in school)
    assert all(sanctions[n]["children_reached"] <= sanctions["any"]["children_reached"]
               for n in sanctions)  # fmt: skip
