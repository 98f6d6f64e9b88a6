"""An approximate posterior over the fitted parameters, with emcee's affine-invariant ensemble
sampler (Goodman and Weare's stretch move) on the likelihood of `evaluate.log_likelihood`.

The prior is uniform on the unit cube the ranges map onto (uniform, or log-uniform for a `log`
parameter), cut by the plausibility constraints: a point outside is given no probability and
never run. The sampler's randomness is drawn here, from the seed, and every evaluation is a
deterministic run on the common seed, so the chain is the same whether its runs are made here or
spread over any number of Dask workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from creditsim.workflow.evaluate import Evaluator, Reading, log_likelihood, variance_of
from creditsim.workflow.targets import Target

LEVEL = 0.90  # the interval shown for every parameter and target
TRUSTED_TIMES = 50  # kept steps per autocorrelation time before the estimate is trusted (emcee)
SAMPLER_PURPOSE = 0xCA11B  # keys the sampler's random stream apart from the runs' own


@dataclass
class Posterior:
    """The kept samples (after the burn-in), equally weighted, and their summaries."""

    samples: list[dict[str, float]]  # the parameter values of each kept sample
    weights: list[float]
    log_posterior: list[float]
    walker: list[int]
    step: list[int]
    readings: list[Reading]
    walkers: int
    steps: int
    burn: int
    acceptance: float  # the mean share of proposals accepted
    autocorrelation: dict[str, float]  # integrated autocorrelation time per parameter, in steps
    seed: int = 0  # the sampler's seed (the predictive draws are keyed by it)

    def quantiles(self, numbers: list[float]) -> tuple[float, float, float]:
        """The weighted median and the central LEVEL interval of `numbers`."""
        return weighted_quantiles(numbers, self.weights)

    def longest(self) -> float:
        """The longest autocorrelation time estimated (NaN where none could be)."""
        return max([t for t in self.autocorrelation.values() if math.isfinite(t)], default=math.nan)

    def settled(self) -> bool:
        """Whether the kept chain is at least 50 autocorrelation times long (emcee's rule for
        trusting the estimate, and the intervals with it)."""
        tau = self.longest()
        return math.isfinite(tau) and self.steps - self.burn >= TRUSTED_TIMES * tau

    def effective(self) -> float:
        """About how many independent samples the chain holds (kept samples over the longest
        autocorrelation time; an estimate from a short chain is rough)."""
        tau = max([t for t in self.autocorrelation.values() if math.isfinite(t)], default=1.0)
        return len(self.samples) / max(tau, 1.0)


def sample(
    evaluator: Evaluator,
    walkers: int,
    steps: int,
    burn: int,
    seed: int,
    centre: np.ndarray | None = None,
) -> Posterior:
    """Run `walkers` walkers for `steps` steps and keep the steps after `burn`. The walkers start
    in a small ball around `centre` (a point of the unit cube: emcee's advice is the best point
    a search found, so that the burn-in explores rather than climbs), or, without one, at
    points drawn from the prior."""
    import emcee

    space = evaluator.space
    stream = np.random.SeedSequence([seed, SAMPLER_PURPOSE])
    rng = np.random.default_rng(stream)
    start = space.draw(rng, walkers) if centre is None else space.around(rng, centre, walkers)

    def log_probability(positions: np.ndarray) -> np.ndarray:
        inside = [space.inside(position) for position in positions]
        points = [space.values(p) for p, ok in zip(positions, inside, strict=True) if ok]
        readings = iter(evaluator.many(points))
        return np.array(
            [log_likelihood(evaluator.goal, next(readings)) if ok else -np.inf for ok in inside]
        )

    sampler = emcee.EnsembleSampler(walkers, len(space.chosen), log_probability, vectorize=True)
    moves = np.random.RandomState(stream.generate_state(1)[0]).get_state()
    state = emcee.State(start, random_state=moves)
    sampler.run_mcmc(state, steps)
    chain = sampler.get_chain(discard=burn)  # (steps - burn, walkers, parameters)
    logs = sampler.get_log_prob(discard=burn)
    kept = chain.shape[0] * chain.shape[1]
    values = [space.values(chain[s, w]) for s in range(chain.shape[0]) for w in range(walkers)]
    return Posterior(
        samples=values,
        weights=[1.0 / kept] * kept,
        log_posterior=[float(v) for v in logs.reshape(-1)],
        walker=[w for _ in range(chain.shape[0]) for w in range(walkers)],
        step=[burn + s for s in range(chain.shape[0]) for _ in range(walkers)],
        readings=[evaluator.reading(v) for v in values],
        walkers=walkers,
        steps=steps,
        burn=burn,
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        autocorrelation=_autocorrelation(chain, [p.path for p in space.chosen]),
        seed=seed,
    )


def _autocorrelation(chain: np.ndarray, paths: list[str]) -> dict[str, float]:
    """emcee's integrated autocorrelation time per parameter (no minimum chain length asked:
    a short chain gives a rough figure, reported as such)."""
    from emcee.autocorr import integrated_time

    moving = np.ptp(chain, axis=0).min(axis=1) > 0  # a walker that never moved has no time
    if chain.shape[0] < 2 or not moving.any():
        return dict.fromkeys(paths, math.nan)
    chain = chain[:, moving, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        times = integrated_time(chain, tol=0, quiet=True)
    return {
        path: float(t) if np.isfinite(t) else math.nan for path, t in zip(paths, times, strict=True)
    }


def weighted_quantiles(numbers: list[float], weights: list[float]) -> tuple[float, float, float]:
    """The median and the central LEVEL interval of weighted numbers (the inverse of the
    weighted empirical distribution function, as numpy's "inverted_cdf")."""
    order = np.argsort(numbers, kind="stable")
    ordered = np.asarray(numbers, dtype=float)[order]
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    cumulative /= cumulative[-1]
    tail = (1.0 - LEVEL) / 2.0
    picks = [np.searchsorted(cumulative, q - 1e-12) for q in (0.5, tail, 1.0 - tail)]
    median, low, high = (float(ordered[min(i, len(ordered) - 1)]) for i in picks)
    return median, low, high


def parameter_summaries(
    posterior: Posterior, evaluator: Evaluator, start: dict[str, float], best: dict[str, float]
) -> list[dict[str, Any]]:
    """Per parameter: its prior range, start and best point, the posterior median and 90 per
    cent interval, and the share of the prior range (on its search scale) that interval spans."""
    rows = []
    space = evaluator.space
    for index, parameter in enumerate(space.chosen):
        numbers = [values[parameter.path] for values in posterior.samples]
        median, low, high = posterior.quantiles(numbers)
        lows, highs = (
            space.unit({**best, parameter.path: low}),
            space.unit({**best, parameter.path: high}),
        )
        rows.append(
            {
                "path": parameter.path,
                "prior_low": parameter.low,
                "prior_high": parameter.high,
                "log": parameter.log,
                "start": start[parameter.path],
                "best": best[parameter.path],
                "median": median,
                "low": low,
                "high": high,
                "share_of_prior": float(highs[index] - lows[index]),
                "autocorrelation_steps": _json(posterior.autocorrelation[parameter.path]),
            }
        )
    return rows


def predictive(posterior: Posterior, target: Target) -> dict[str, float]:
    """The model's figure for a target over the posterior samples (each on the common seed): its
    median and 90 per cent interval; and the posterior predictive interval, which adds the
    likelihood's own noise (the target's tolerance and a count's sampling noise, on the log
    scale), drawn from a stream keyed by the target: the interval a published figure should
    fall in if the model is right."""
    figures = np.array([reading.model[target.id] for reading in posterior.readings])
    median, low, high = posterior.quantiles(list(figures))
    noise = np.array([variance_of(target, reading) for reading in posterior.readings])
    key = [posterior.seed, SAMPLER_PURPOSE, *target.id.encode()]
    rng = np.random.default_rng(np.random.SeedSequence(key))
    draws = (figures + 1.0) * np.exp(rng.standard_normal(figures.shape) * np.sqrt(noise)) - 1.0
    _, predictive_low, predictive_high = posterior.quantiles(list(draws))
    return {
        "median": median,
        "low": low,
        "high": high,
        "predictive_low": predictive_low,
        "predictive_high": predictive_high,
        "inside": bool(predictive_low <= target.value <= predictive_high),
    }


def _json(number: float) -> float | None:
    """JSON has no NaN: an estimate that could not be made is null."""
    return number if math.isfinite(number) else None
