"""Intervals on rates and on ratios of rates, from Jeffreys posteriors.

The intervals are Jeffreys intervals: each rate's posterior under the Jeffreys prior is
Beta(x + 1/2, n - x + 1/2), in closed form for a rate (with Clopper-Pearson's ends at counts 0 and
1, where Jeffreys' fall short); a ratio's interval is that of the ratio of draws from the two
groups' posteriors. Unlike a bootstrap, they neither collapse when a group has no false positive
nor lose their coverage with a few sanctioned citizens (bench/bench_coverage.py measures it).
"""

from __future__ import annotations

import math

import numpy as np

from creditsim.arrays.streams import stream
from creditsim.audit.quantiles import betaincinv
from creditsim.audit.rates import FRACTIONS

# The RATES as fractions of sums of the eight counts a set's posterior is drawn from: the
# confusion cells (0 to 3: tp, fp, fn, tn), then the sanctioned and the others (4, 5), the
# deserving and the others (6, 7), so that every rate's posterior is its own Jeffreys Beta.
DRAWN_FRACTIONS = (((4,), (4, 5)), ((6,), (6, 7)), *FRACTIONS[2:])
# Gamma draws of a shape at least this large are taken by the Wilson-Hilferty transform of a
# normal draw (its quantiles within a few parts in a million of the exact ones there), the
# others exactly: the large counts (the unsanctioned, the true negatives) cost a normal draw.
WILSON_HILFERTY_SHAPE = 100.0


def eight_counts(cells: np.ndarray) -> np.ndarray:
    """The counts of DRAWN_FRACTIONS from confusion cells (sets, 4): (sets, 8)."""
    tp, fp, fn, tn = (cells[:, i] for i in range(4))
    return np.stack([tp, fp, fn, tn, tp + fp, fn + tn, tp + fn, fp + tn], axis=1)


def fractions_of(counts: np.ndarray, fractions=DRAWN_FRACTIONS) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators of the rates from (..., 8) counts or draws: (..., rates)."""

    def total(which: tuple[int, ...]) -> np.ndarray:
        return sum((counts[..., i] for i in which[1:]), counts[..., which[0]])

    top = np.stack([total(t) for t, _ in fractions], axis=-1)
    bottom = np.stack([total(b) for _, b in fractions], axis=-1)
    return top, bottom


class Posterior:
    """Intervals from Jeffreys posteriors of each set's rates.

    A rate x / n (x citizens of n) has the posterior Beta(x + 1/2, n - x + 1/2): its interval is
    the equal-tailed Jeffreys interval, in closed form, with Clopper-Pearson's ends where
    Jeffreys' fall short of their coverage: when x = 0, from 0 up to the exact upper end
    1 - (alpha / 2) ** (1 / n) (with Jeffreys' the coverage falls to 91 % near 3 expected); when
    x = 1, from the exact lower end (with Jeffreys' it falls to 90 % near 0.1 expected);
    mirrored at x = n and n - 1. A ratio of two sets' rates has the interval of the ratio of
    independent draws from the two posteriors (each a ratio of gamma draws, one per count, from
    the keyed stream; a count of 0 drawn with shape 1, whose upper tail is Clopper-Pearson's),
    with the rule at zero: no citizen in the numerator, the lower end is 0; none in the
    reference, the upper end is unbounded."""

    def __init__(self, draws: int, confidence: float, seed: int) -> None:
        self.draws = draws
        self.confidence = confidence
        self.tails = ((1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0)
        self.seed = seed

    def rate_intervals(self, x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Intervals of rates x / n (arrays of one shape), Jeffreys with Clopper-Pearson's ends
        at 0 and 1 (and n, n - 1): NaN where n = 0."""
        x, n = np.asarray(x, np.float64), np.asarray(n, np.float64)
        rest = np.maximum(n - x, 0.0)
        with np.errstate(invalid="ignore"):
            # SciPy's beta quantile, without scipy.special's import (audit/quantiles.py).
            low = betaincinv(x + 0.5, rest + 0.5, self.tails[0])
            high = betaincinv(x + 0.5, rest + 0.5, self.tails[1])
            # Clopper-Pearson: Beta(x, n - x + 1) below, Beta(x + 1, n - x) above.
            exact_low = betaincinv(np.maximum(x, 1.0), rest + 1.0, self.tails[0])
            exact_high = betaincinv(x + 1.0, np.maximum(rest, 1.0), self.tails[1])
        low = np.where((x == 1) | (rest == 0), exact_low, low)
        high = np.where((x == 0) | (rest == 1), exact_high, high)
        low, high = np.where(x == 0, 0.0, low), np.where(rest == 0, 1.0, high)
        undefined = n <= 0
        return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)

    def sample(self, counts: np.ndarray, ids: np.ndarray, purpose: str) -> np.ndarray:
        """Gamma draws (draws, sets, columns) of shape counts + 1/2 (1 for a count of 0): a
        set's rates drawn from its posterior are ratios of sums of them. Sets of the same `ids`
        with the same counts (sanctions with the same trigger and term) share their draws, and
        so their intervals."""
        unique, inverse = _distinct(counts, ids)
        rng = stream(self.seed, 0, f"audit:posterior:{purpose}")
        return gamma_draws(rng, np.where(unique > 0, unique + 0.5, 1.0), self.draws)[:, inverse]

    def quantiles(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The two tails' quantiles of each column of (draws, columns), linearly interpolated
        between order statistics."""
        count = values.shape[0]
        # Only the order statistics the tails need are put in place (NaN last, as a sort has it).
        needed = {min(i, count - 1) for t in self.tails for i in _around(t * (count - 1))}
        ordered = np.partition(values, sorted(needed), axis=0) if count else values
        out = []
        for tail in self.tails:
            position = tail * (values.shape[0] - 1)
            below = int(np.floor(position))
            above = min(below + 1, values.shape[0] - 1)
            low, high = ordered[below], ordered[above]
            with np.errstate(invalid="ignore"):
                out.append(np.where(high == low, low, low + (position - below) * (high - low)))
        return out[0], out[1]

    def ratio_intervals(self, own, ref, x_own, n_own, x_ref, n_ref) -> tuple[np.ndarray, ...]:
        """Intervals of the ratios own / ref of two sets' rates, from posterior draws of each
        (draws, columns) and their counts (columns): NaN where a rate is undefined (n = 0),
        infinite where unbounded above. Each contains its point estimate."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            low, high = self.quantiles(own / ref)
            point = (x_own / n_own) / (x_ref / n_ref)
        low = np.where(x_own == 0, 0.0, low)
        high = np.where(x_ref == 0, np.inf, high)
        # A rate of 1 may be 1: the ratio's bound where it is.
        full = (x_own == n_own) & (x_ref > 0)
        if full.any():
            high[full] = np.maximum(high[full], 1.0 / self.quantiles(ref[:, full])[0])
        full = (x_ref == n_ref) & (x_own > 0)
        if full.any():
            low[full] = np.minimum(low[full], self.quantiles(own[:, full])[0])
        finite = np.isfinite(point)
        low = np.where(finite, np.minimum(low, point), low)
        high = np.where(finite, np.maximum(high, point), high)
        undefined = (n_own <= 0) | (n_ref <= 0)
        return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)


def gamma_draws(rng: np.random.Generator, shape: np.ndarray, draws: int) -> np.ndarray:
    """`draws` standard gamma draws of each of `shape` (sets, columns): (draws, sets, columns).
    Large shapes by the Wilson-Hilferty cube of a normal draw, the others exactly."""
    flat = shape.ravel()
    out = np.empty((draws, flat.shape[0]))
    large = flat >= WILSON_HILFERTY_SHAPE
    if (~large).any():
        out[:, ~large] = rng.standard_gamma(flat[~large], size=(draws, int((~large).sum())))
    if large.any():
        a = flat[large]
        c = 1.0 / (9.0 * a)
        z = rng.standard_normal((draws, a.shape[0]))
        out[:, large] = a * np.maximum(1.0 - c + z * np.sqrt(c), 0.0) ** 3
    return out.reshape(draws, *shape.shape)


def _distinct(rows: np.ndarray, citizens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (citizens, row) pairs' rows, and where each row's pair is among them."""
    keyed = np.column_stack([citizens, rows])
    unique, inverse = np.unique(keyed, axis=0, return_inverse=True)
    return unique[:, 1:], inverse.reshape(-1)


def _around(position: float) -> tuple[int, int]:
    below = int(np.floor(position))
    return below, below + 1


def interval_bounds(low: float, high: float) -> list[float | None] | None:
    """An interval as written: None where undefined, an unbounded upper end as None."""
    low, high = float(low), float(high)
    if low != low:  # NaN
        return None
    return [low, high if math.isfinite(high) else None]


__all__ = [
    "DRAWN_FRACTIONS",
    "Posterior",
    "eight_counts",
    "fractions_of",
    "gamma_draws",
    "interval_bounds",
]
