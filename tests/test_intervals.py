"""The audit's intervals: Jeffreys intervals for rates, in closed form, and intervals of ratios
from independent draws of two Jeffreys posteriors, with the rule at zero. Exact properties only:
their coverage is measured in bench/bench_coverage.py, never here."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import face_error_scenario
from scipy import stats

import creditsim
from creditsim.arrays.streams import stream
from creditsim.audit.disparity import RATES, _gamma, _Posterior


def test_rate_intervals_are_jeffreys_intervals():
    posterior = _Posterior(1000, 0.95, seed=1)
    x = np.array([2, 3, 10, 57, 998, 4000])
    n = np.array([4, 40, 12, 10_000, 1000, 1_000_000])
    low, high = posterior.rate_intervals(x, n)
    np.testing.assert_allclose(low, stats.beta.ppf(0.025, x + 0.5, n - x + 0.5), rtol=1e-10)
    np.testing.assert_allclose(high, stats.beta.ppf(0.975, x + 0.5, n - x + 0.5), rtol=1e-10)
    assert (low < x / n).all() and (x / n < high).all()
    # Another confidence: the tails move with it.
    low90, high90 = _Posterior(1000, 0.9, seed=1).rate_intervals(x, n)
    np.testing.assert_allclose(low90, stats.beta.ppf(0.05, x + 0.5, n - x + 0.5), rtol=1e-10)
    assert (low < low90).all() and (high90 < high).all()


def exact(x: int, n: int, confidence: float = 0.95):
    return stats.binomtest(x, n).proportion_ci(confidence, method="exact")


@pytest.mark.parametrize("n", [1, 2, 7, 1_500, 36_000])
def test_rate_intervals_at_zero_one_and_all(n):
    """No citizen counted: from 0 to Clopper-Pearson's upper end (Jeffreys' falls short of its
    coverage there), never [0, 0]; one: Clopper-Pearson's lower end; mirrored at n and n - 1."""
    posterior = _Posterior(1000, 0.95, seed=1)
    x = np.array([0, 1, n - 1, n])
    low, high = posterior.rate_intervals(x, np.full(4, n))
    assert low[0] == 0.0 and high[0] == pytest.approx(exact(0, n).high, rel=1e-9)
    assert low[1] == pytest.approx(exact(1, n).low, rel=1e-9)
    assert high[2] == pytest.approx(exact(n - 1, n).high, rel=1e-9)
    assert high[3] == 1.0 and low[3] == pytest.approx(exact(n, n).low, rel=1e-9)
    if n >= 4:  # the other ends are Jeffreys'
        assert high[1] == pytest.approx(stats.beta.ppf(0.975, 1.5, n - 0.5), rel=1e-9)
        assert low[2] == pytest.approx(stats.beta.ppf(0.025, n - 0.5, 1.5), rel=1e-9)
    assert (low < high).all() and (low <= x / n).all() and (x / n <= high).all()
    if n == 36_000:
        assert 0 < high[0] < 1.1e-4  # not degenerate, and still small


def test_a_rate_with_nobody_to_count_has_no_interval():
    low, high = _Posterior(1000, 0.95, seed=1).rate_intervals(np.array([0]), np.array([0]))
    assert np.isnan(low[0]) and np.isnan(high[0])


def ratio_interval(x_own, n_own, x_ref, n_ref, draws=4000, seed=3):
    """The interval of the ratio of two rates, from draws of their Jeffreys posteriors."""
    posterior = _Posterior(draws, 0.95, seed)
    counts = np.array([[x_own, n_own - x_own], [x_ref, n_ref - x_ref]], dtype=np.float64)
    drawn = posterior.sample(counts, np.array([0, 1]), "test")
    rates = drawn[..., 0] / drawn.sum(axis=-1)
    low, high = posterior.ratio_intervals(
        rates[:, [0]],
        rates[:, [1]],
        *(np.array([v], np.float64) for v in (x_own, n_own, x_ref, n_ref)),
    )
    return float(low[0]), float(high[0])


def test_a_ratio_at_zero_is_not_degenerate():
    # No false positive in the group: from 0 (the point estimate) to a finite upper end.
    low, high = ratio_interval(0, 1_500, 12, 36_000)
    assert low == 0.0 and 0 < high < np.inf
    # None in the reference: bounded below, unbounded above (the point estimate is infinite).
    low, high = ratio_interval(3, 1_500, 0, 36_000)
    assert 0 < low < np.inf and high == np.inf
    # None in either: anything.
    assert ratio_interval(0, 1_500, 0, 36_000) == (0.0, np.inf)
    # A precision of 1 (no false positive among the sanctioned) against one below 1: the upper
    # end reaches past the point estimate 1 / 0.9, not collapsed at it.
    low, high = ratio_interval(8, 8, 90, 100)
    assert low < 1 / 0.9 < high
    # Nobody to count: undefined.
    assert np.isnan(ratio_interval(0, 0, 3, 10)[0])


@pytest.mark.parametrize(
    ("x_own", "n_own", "x_ref", "n_ref"),
    [(1, 10, 1, 10), (5, 1_000, 300, 36_000), (40, 50, 45, 50), (2, 3, 0, 7), (9, 9, 9, 9)],
)
def test_ratio_intervals_are_ordered_and_hold_the_point(x_own, n_own, x_ref, n_ref):
    low, high = ratio_interval(x_own, n_own, x_ref, n_ref)
    point = (x_own / n_own) / (x_ref / n_ref) if x_ref else np.inf
    assert 0 <= low <= point <= high
    assert low < high


@pytest.mark.parametrize("x_own", [7, 0])
def test_ratio_of_rare_rates_is_the_exact_poisson_ratio_interval(x_own):
    """With rates far below 1 the two posteriors are gamma (shape x + 1/2, or 1 at 0), and the
    ratio of the rates is a scaled F variate: the drawn interval agrees with its closed form
    (within the Monte Carlo error of 200,000 draws from a fixed stream); at 0, from 0."""
    n_own, x_ref, n_ref = 2_000_000, 30, 30_000_000
    low, high = ratio_interval(x_own, n_own, x_ref, n_ref, draws=200_000)
    shape = x_own + 0.5 if x_own else 1.0
    scale = (n_ref / n_own) * shape / (x_ref + 0.5)
    f = stats.f(2 * shape, 2 * x_ref + 1)
    assert high == pytest.approx(scale * f.ppf(0.975), rel=0.02)
    if x_own:
        assert low == pytest.approx(scale * f.ppf(0.025), rel=0.02)
    else:
        assert low == 0.0


def test_gamma_draws_large_and_small():
    """Exact gamma draws below the Wilson-Hilferty shape, its transform above: both match the
    gamma distribution's quantiles."""
    shapes = np.array([[0.5, 3.5, 150.5, 40_000.5]])
    drawn = _gamma(stream(5, 0, "test"), shapes, 200_000)[:, 0]
    for k, a in enumerate(shapes[0]):
        for q in (0.025, 0.5, 0.975):
            expected = stats.gamma.ppf(q, a)
            assert np.quantile(drawn[:, k], q) == pytest.approx(expected, rel=0.03), (a, q)


@pytest.fixture(scope="module")
def against_b():
    """a has no false positive at all; b, the reference here, has many."""
    scenario = face_error_scenario(1.0, reference_group="b")
    return creditsim.run(scenario, population=30_000, seed=41).audit()


def test_audit_intervals_at_zero_false_positives(against_b):
    a = against_b["by_group"]["a"]["sanctions"]["ban"]
    assert (
        a["false_positive"] == 0
        and against_b["by_group"]["b"]["sanctions"]["ban"]["false_positive"] > 0
    )
    # The rate: from 0, not [0, 0].
    low, high = a["intervals"]["false_positive_rate"]
    assert low == 0.0 and high > 0
    # The disparities of the rates that are 0 (or 1) in a: point estimate held, not collapsed.
    for name in ("false_positive_rate", "false_discovery_rate", "precision"):
        entry = a["disparities"][name]
        low, high = entry["interval"]
        assert low <= entry["ratio"] <= high and low < high, name
    assert a["disparities"]["false_positive_rate"]["interval"][0] == 0.0
    assert a["disparities"]["precision"]["ratio"] > 1  # a's precision 1 against b's below it


def test_every_interval_is_ordered_and_holds_its_point(against_b):
    for group, metrics in against_b["by_group"].items():
        for outcome, m in metrics["sanctions"].items():
            for name in RATES:
                interval, value = m["intervals"][name], m[name]
                if value is None:
                    assert interval is None
                    continue
                assert interval[0] <= value <= interval[1] and interval[0] < interval[1]
                ratio, bounds = m["disparities"][name]["ratio"], m["disparities"][name]["interval"]
                if ratio is not None and bounds is not None:
                    high = np.inf if bounds[1] is None else bounds[1]
                    assert bounds[0] <= ratio <= high, (group, outcome, name)


def test_the_same_seed_gives_the_same_intervals(against_b):
    again = creditsim.run(
        face_error_scenario(1.0, reference_group="b"), population=30_000, seed=41
    ).audit()
    assert again["by_group"] == against_b["by_group"]
    assert again["intersections"] == against_b["intersections"]
    assert against_b["interval_method"] == "jeffreys"
    assert against_b["posterior_draws"] == 1000
