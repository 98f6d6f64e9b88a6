"""The peers reference model's numbers, and what its outputs should be on average.

The same numbers are in reference.toml (creditsim's form of the model); bench_peers.py checks
that the scenario resolves to them. The Starsim and Mesa models read them from here.

Expectations are exact for the continuous-time model, conditional on the group sizes a run
reports. A citizen's recorded deductions up to time t are a sum of independent Poisson counts
(their own events caught and matched to them, and other citizens' events matched to them by
mistake), so the chance of a ban by t is a finite sum of Poisson terms.
"""

from __future__ import annotations

import math
import os

YEAR_DAYS = 365
# Time steps of the peers in the year: 365 (daily, the resolution of the model and of creditsim,
# whose events and bans are dated to the day) unless CREDITSIM_PEERS_STEPS says otherwise.
STEPS = int(os.environ.get("CREDITSIM_PEERS_STEPS", "365"))
GROUPS = {"a": 0.8, "b": 0.2}  # share of citizens
# behaviour: (events per citizen per year, points per record)
BEHAVIOURS = {"jaywalking": (1.0, -5), "littering": (0.5, -10), "fare_dodging": (0.2, -50)}
IN_VIEW = 0.3  # an event is in a camera's view
TIR = 0.9  # a face in view, where no wrong candidate took the search, is matched rightly
# A wrong citizen of the same group takes the search first: 0.01 in group a, and a wrong-match
# hazard five times as large in group b, 1 - 0.99 ** 5 (creditsim's model of NIST's factors).
FPIR = {"a": 0.01, "b": -math.expm1(5 * math.log1p(-0.01))}
START, MINIMUM, MAXIMUM = 1000, 0, 2000  # points
BAN_BELOW = 900  # a score below this starts a travel ban
BAN_DAYS = 365
PURCHASES_PER_YEAR = 2.0  # tickets a banned citizen tries to buy


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
    """(mean, standard deviation) of each output, given the run's citizens per group."""
    sizes = {g: outputs[f"citizens_{g}"] for g in GROUPS}
    n = sum(sizes.values())
    rate = sum(r for r, _ in BEHAVIOURS.values())
    out: dict[str, tuple[float, float]] = {}
    for name, (r, _) in BEHAVIOURS.items():
        out[f"events_{name}"] = _poisson(n * r)
    out["camera_records"] = _poisson(
        sum(sizes[g] * rate * IN_VIEW * (right_match(g) + FPIR[g]) for g in GROUPS)
    )
    for g in GROUPS:
        out[f"misattributed_{g}"] = _poisson(sizes[g] * rate * IN_VIEW * FPIR[g])
    wrongful_mean = wrongful_var = denied_mean = denied_var = 0.0
    for g in GROUPS:
        banned = ban_chance(g, 1.0)
        out[f"banned_{g}"] = (sizes[g] * banned, math.sqrt(sizes[g] * banned * (1 - banned)))
        wrongful = own_ban_escape(g)
        wrongful_mean += sizes[g] * wrongful
        wrongful_var += sizes[g] * wrongful * (1 - wrongful)
        mean, var = denied_per_citizen(g)
        denied_mean += sizes[g] * mean
        denied_var += sizes[g] * var
    out["wrongful_bans"] = (wrongful_mean, math.sqrt(wrongful_var))
    out["denied_purchases"] = (denied_mean, math.sqrt(denied_var))
    return out


def ban_chance(group: str, t: float, wrong_matches: bool = True) -> float:
    """The chance that a citizen's recorded deductions pass START - BAN_BELOW by year fraction t."""
    per_record = right_match(group) + (FPIR[group] if wrong_matches else 0.0)
    lams = [(r * IN_VIEW * per_record * t, -p) for r, p in BEHAVIOURS.values()]
    return 1.0 - _at_most(lams, START - BAN_BELOW)


def own_ban_escape(group: str) -> float:
    """The chance of a wrongful ban: banned, though the citizen's own correctly attributed
    records alone stay within the allowance (own records are a subset of their records)."""
    return ban_chance(group, 1.0) - ban_chance(group, 1.0, wrong_matches=False)


def denied_per_citizen(group: str, steps: int = 2000) -> tuple[float, float]:
    """Mean and variance of a citizen's denied purchases over the year.

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


def _at_most(lams: list[tuple[float, int]], allowance: int) -> float:
    """P(sum of points_k * N_k <= allowance), N_k independent Poisson(lam_k), points_k > 0."""
    unit = math.gcd(*(p for _, p in lams))
    budget = allowance // unit
    pmf = [1.0] + [0.0] * budget  # distribution of the running sum, in units, cut at budget
    for lam, points in lams:
        step = points // unit
        terms = [math.exp(-lam) * lam**k / math.factorial(k) for k in range(budget // step + 1)]
        pmf = [
            sum(terms[k] * pmf[s - k * step] for k in range(s // step + 1))
            for s in range(budget + 1)
        ]
    return sum(pmf)


def _poisson(mean: float) -> tuple[float, float]:
    return mean, math.sqrt(mean)
