"""Intervals for what a reader sees, from Jeffreys posteriors, by draws (numpy only: no scipy
to load): a share x of n has the posterior Beta(x + 1/2, n - x + 1/2), a count per unit
Gamma(x + 1/2) / n; a difference or a ratio of two is taken over draws of both.

The draws of each posterior are keyed by the run's seed and the counts themselves (and a side,
for the second of two equal counts), never by the order they are asked for: a run always says
the same thing, however its audit is ordered.
"""

from __future__ import annotations

import numpy as np

DRAWS = 4_000


class Posteriors:
    """Jeffreys posterior draws of shares and per-citizen counts, keyed by what they are."""

    def __init__(self, seed: int = 0, confidence: float = 0.95, draws: int = DRAWS) -> None:
        self.seed = int(seed) % (2**63)
        self.tails = (50.0 * (1.0 - confidence), 50.0 * (1.0 + confidence))
        self.draws = draws

    def _rng(self, kind: int, x: float, n: float, side: int) -> np.random.Generator:
        key = [self.seed, kind, side, int(round(x * 1000)), int(round(n * 1000))]
        return np.random.default_rng(key)

    def share(self, x: float, n: float, side: int = 0) -> np.ndarray:
        """Draws of a share x / n (NaN where n is 0); `side` tells apart two equal counts."""
        if n <= 0:
            return np.full(self.draws, np.nan)
        rng = self._rng(1, x, n, side)
        return rng.beta(x + 0.5, max(n - x, 0.0) + 0.5, self.draws)

    def per(self, x: float, n: float, side: int = 0) -> np.ndarray:
        """Draws of a count per unit, x / n (a Poisson count's Jeffreys posterior)."""
        if n <= 0:
            return np.full(self.draws, np.nan)
        return self._rng(2, x, n, side).gamma(x + 0.5, 1.0, self.draws) / n

    def interval(self, draws: np.ndarray) -> tuple[float, float]:
        """The equal-tailed interval of `draws` (NaN, NaN where undefined)."""
        finite = draws[np.isfinite(draws)]
        if finite.size < draws.size / 2:
            return (float("nan"), float("nan"))
        low, high = np.percentile(finite, self.tails)
        return float(low), float(high)

    def share_interval(self, x: float, n: float) -> tuple[float, float]:
        """A share's interval, with the exact ends at 0 and n."""
        low, high = self.interval(self.share(x, n))
        return (0.0 if x <= 0 else low, 1.0 if n > 0 and x >= n else high)


__all__ = ["DRAWS", "Posteriors"]
