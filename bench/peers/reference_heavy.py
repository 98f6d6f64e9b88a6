"""The record-heavy peers model's numbers, and what its outputs should be on average.

The same numbers are in reference_heavy.toml (creditsim's form of the model);
creditsim_heavy.check_scenario() checks that the scenario resolves to them. The Starsim and
Mesa models (starsim_heavy.py, mesa_heavy.py) read them from here.

Unlike the light model (reference.py), citizens differ: each has a latent propensity per
behaviour category, gamma-distributed with mean 1 and shape SHAPE, that multiplies their rate
of every behaviour of that category. Six behaviours in three categories make about 5.4 events
and 2.3 camera records per citizen-year.

Expectations are exact for the continuous-time model, conditional on the group sizes a run
reports. Given a citizen's propensity p for a category of total recorded rate L (own events
caught and rightly matched), their own records of that category by year fraction t are a
Poisson(p L t) count, so unconditionally a negative binomial count (shape SHAPE, mean L t),
each record of behaviour j with chance rate_j / (category's rate). Records matched to them by
mistake (other citizens' events) are Poisson, independent of their own propensity. The chance
that the recorded deductions pass START - BAN_BELOW is then a finite sum.
"""

from __future__ import annotations

import math
import os

import numpy as np

YEAR_DAYS = 365
# Time steps of the peers in the year: 365 (daily, creditsim's resolution) unless
# CREDITSIM_PEERS_STEPS says otherwise.
STEPS = int(os.environ.get("CREDITSIM_PEERS_STEPS", "365"))
GROUPS = {"a": 0.8, "b": 0.2}  # share of citizens
SHAPE = 0.5  # the gamma propensity's shape (mean 1, variance 1 / SHAPE = 2)
# behaviour: (events per citizen per year at propensity 1, points per record, category)
BEHAVIOURS = {
    "jaywalking": (2.0, -5, "traffic"),
    "red_light": (1.0, -10, "traffic"),
    "littering": (1.0, -5, "civic"),
    "garbage_sorting": (0.8, -5, "civic"),
    "fare_dodging": (0.4, -20, "transport"),
    "smoking_on_train": (0.2, -50, "transport"),
}
CATEGORIES = ("traffic", "civic", "transport")
IN_VIEW = 0.47  # an event is in a camera's view
TIR = 0.9  # a face in view, where no wrong candidate took the search, is matched rightly
# The false-positive identification rate by group: 0.01 in group a, and a wrong-match hazard
# five times as large in group b, 1 - 0.99 ** 5 (creditsim's model of NIST's group factors).
FPIR = {"a": 0.01, "b": -math.expm1(5 * math.log1p(-0.01))}
START, MINIMUM, MAXIMUM = 1000, 0, 2000  # points
BAN_BELOW = 900  # a score below this starts a flight ban
BAN_DAYS = 365
PURCHASES_PER_YEAR = 2.0  # flights a banned citizen tries to book


def right_match(group: str) -> float:
    """The chance a face in view is matched to the right citizen: TIR where no wrong candidate
    took the search (which happens with the chance FPIR)."""
    return TIR * (1.0 - FPIR[group])


OUTPUTS = (
    "citizens_a",
    "citizens_b",
    *(f"events_{name}" for name in BEHAVIOURS),
    "camera_records",
    "misattributed_a",
    "misattributed_b",
    "banned_a",
    "banned_b",
    "wrongful_bans",
    "denied_purchases",
)


def expected(outputs: dict[str, int]) -> dict[str, tuple[float, float]]:
    """(mean, standard deviation) of each output, given the run's citizens per group.

    A count summed over citizens with gamma propensities varies more than a Poisson count: its
    variance adds, per citizen, the variance of its mean over the propensities."""
    sizes = {g: outputs[f"citizens_{g}"] for g in GROUPS}
    n = sum(sizes.values())
    out: dict[str, tuple[float, float]] = {}
    for name, (r, _, _) in BEHAVIOURS.items():
        out[f"events_{name}"] = (n * r, math.sqrt(n * r + n * r * r / SHAPE))
    by_category = {c: sum(r for r, _, k in BEHAVIOURS.values() if k == c) for c in CATEGORIES}
    records_mean = records_var = 0.0
    for g in GROUPS:
        caught = IN_VIEW * (right_match(g) + FPIR[g])
        mean, var = _mixed_count(sizes[g], by_category, caught)
        records_mean += mean
        records_var += var
        out[f"misattributed_{g}"] = _as_sd(_mixed_count(sizes[g], by_category, IN_VIEW * FPIR[g]))
    out["camera_records"] = (records_mean, math.sqrt(records_var))
    wrongful_mean = wrongful_var = denied_mean = denied_var = 0.0
    for g in GROUPS:
        banned = ban_chance(g, 1.0)
        out[f"banned_{g}"] = (sizes[g] * banned, math.sqrt(sizes[g] * banned * (1 - banned)))
        wrongful = banned - ban_chance(g, 1.0, wrong_matches=False)
        wrongful_mean += sizes[g] * wrongful
        wrongful_var += sizes[g] * wrongful * (1 - wrongful)
        mean, var = denied_per_citizen(g)
        denied_mean += sizes[g] * mean
        denied_var += sizes[g] * var
    out["wrongful_bans"] = (wrongful_mean, math.sqrt(wrongful_var))
    out["denied_purchases"] = (denied_mean, math.sqrt(denied_var))
    return out


def _mixed_count(size: int, by_category: dict[str, float], chance: float) -> tuple[float, float]:
    """Mean and variance of a count summed over `size` citizens, each a Poisson count of mean
    sum over categories of p_c x rate_c x chance, the p_c independent gammas of mean 1."""
    mean = sum(size * rate * chance for rate in by_category.values())
    extra = sum(size * (rate * chance) ** 2 / SHAPE for rate in by_category.values())
    return mean, mean + extra


def _as_sd(mean_var: tuple[float, float]) -> tuple[float, float]:
    return mean_var[0], math.sqrt(mean_var[1])


def ban_chance(group: str, t: float, wrong_matches: bool = True) -> float:
    """The chance that a citizen's recorded deductions pass START - BAN_BELOW by year fraction
    t: own records per category (negative binomial), and if `wrong_matches` the records of
    other citizens' events matched to them by mistake (Poisson, at the group's mean rate)."""
    budget = START - BAN_BELOW
    unit = math.gcd(*(-p for _, p, _ in BEHAVIOURS.values()))
    cells = budget // unit + 1
    pmf = [1.0] + [0.0] * (cells - 1)
    own = IN_VIEW * right_match(group)
    for category in CATEGORIES:
        members = [(r, -p // unit) for r, p, c in BEHAVIOURS.values() if c == category]
        pmf = _convolve(pmf, _category_pmf(members, own * t, cells))
    if wrong_matches:
        for r, p, _ in BEHAVIOURS.values():
            lam = r * IN_VIEW * FPIR[group] * t
            step = -p // unit
            poisson = [0.0] * cells
            for k in range(budget // (step * unit) + 1):
                poisson[k * step] = math.exp(-lam) * lam**k / math.factorial(k)
            pmf = _convolve(pmf, poisson)
    return float(1.0 - np.sum(pmf))


def _category_pmf(members: list[tuple[float, int]], chance: float, cells: int) -> list[float]:
    """The distribution (cut at `cells` units) of one category's deductions, in units: a
    negative binomial number of records (shape SHAPE, mean total rate x chance), each of
    behaviour j with the chance rate_j / total and worth its units."""
    total = sum(r for r, _ in members)
    mean = total * chance
    if mean == 0.0:
        return [1.0] + [0.0] * (cells - 1)
    q = mean / (SHAPE + mean)  # the negative binomial's success chance
    jump = [0.0] * cells
    for r, step in members:
        if step < cells:
            jump[step] += r / total
    out = np.zeros(cells)
    term = (1.0 - q) ** SHAPE  # P(no record)
    convolved = np.zeros(cells)  # the distribution of the sum of m jumps
    convolved[0] = 1.0
    for m in range(cells):  # every jump is at least one unit: m < cells records matter
        out += term * convolved
        term *= q * (SHAPE + m) / (m + 1)
        convolved = _convolve(convolved, jump)
    return out


def _convolve(a, b) -> np.ndarray:
    """The distribution of the sum of two independent counts, cut at len(a) cells."""
    return np.convolve(a, b)[: len(a)]


def denied_per_citizen(group: str, steps: int = 400) -> tuple[float, float]:
    """Mean and variance of a citizen's denied flight bookings over the year.

    A ban starting at tau lasts past the year's end, so the citizen is banned for T = 1 - tau
    years and tries Poisson(2 T) times: mean 2 E[T], variance 2 E[T] + 4 Var(T), with
    E[T] = int_0^1 F(t) dt and E[T^2] = int_0^1 2 (1 - t) F(t) dt, F(t) = P(tau <= t)."""
    h = 1.0 / steps
    first = second = 0.0
    for i in range(steps + 1):
        t = i * h
        weight = (1 if i in (0, steps) else 4 if i % 2 else 2) * h / 3  # Simpson's rule
        f = ban_chance(group, t)
        first += weight * f
        second += weight * 2 * (1 - t) * f
    c = PURCHASES_PER_YEAR
    return c * first, c * first + c * c * (second - first * first)
