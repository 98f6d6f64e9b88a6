"""Who commits each event: sorted picks merged with the cumulative weights give exactly what a
binary search per pick gives, ties and empty citizens included."""

from __future__ import annotations

import numpy as np
import pytest

from creditsim import behaviours
from creditsim.behaviours import _weights_at_or_below


@pytest.mark.parametrize("seed", range(5))
def test_the_merge_equals_a_binary_search_per_pick(seed):
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 4, 500).astype(np.float64)  # zeros: citizens never picked
    cumulative = np.cumsum(weights)
    picks = np.sort(rng.integers(0, int(cumulative[-1]) + 2, 2000).astype(np.float64))
    picks[:50] = cumulative[rng.integers(0, 500, 50)]  # ties with the weights themselves
    picks.sort()
    expected = np.searchsorted(cumulative, picks, side="right")
    assert np.array_equal(_weights_at_or_below(cumulative, picks, np), expected)


def test_no_picks_and_no_weights():
    cumulative = np.cumsum(np.ones(3))
    assert _weights_at_or_below(cumulative, np.zeros(0), np).shape == (0,)
    assert np.array_equal(_weights_at_or_below(np.zeros(0), np.array([0.5]), np), [0])


@pytest.mark.parametrize("seed", range(5))
def test_the_merge_orders_floats_of_any_size_as_a_search_does(seed):
    """The merge sorts the floats' bits: zeros, subnormals and large weights order as floats."""
    rng = np.random.default_rng(seed)
    weights = rng.standard_gamma(0.3, 3000) * 10.0 ** rng.integers(-320, 300, 3000)
    weights[rng.random(3000) < 0.2] = 0.0
    cumulative = np.cumsum(weights)
    picks = np.sort(rng.random(4000)) * cumulative[-1]
    picks[:20] = 0.0
    picks[-20:] = cumulative[-1]
    picks = np.sort(np.concatenate([picks, cumulative[rng.integers(0, 3000, 100)]]))
    expected = np.searchsorted(cumulative, picks, side="right")
    assert np.array_equal(_weights_at_or_below(cumulative, picks, np), expected)


@pytest.mark.parametrize("search_below", [0, 32, 10**9])
@pytest.mark.parametrize("picks", [0, 3, 40, 4000])
def test_a_search_and_the_merge_find_the_same_citizens(monkeypatch, search_below, picks):
    """Few picks among many weights are searched, many merged: the same counts either way."""
    monkeypatch.setattr(behaviours, "SEARCH_BELOW", search_below)
    rng = np.random.default_rng(picks)
    weights = rng.standard_gamma(0.5, 5000)
    weights[rng.random(5000) < 0.1] = 0.0
    cumulative = np.cumsum(weights)
    drawn = np.sort(np.concatenate([rng.random(picks) * cumulative[-1], cumulative[:picks:7]]))
    expected = np.searchsorted(cumulative, drawn, side="right")
    assert np.array_equal(_weights_at_or_below(cumulative, drawn, np), expected)
