"""Synthetic citizens as arrays: households, regions, groups, ages, income and propensity.

Citizens of a household are stored next to each other, head first, then the other adults, the
children and the seniors, so household links are offsets rather than pointers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import ModuleType

import numpy as np

from creditsim.arrays.backend import categorical, namespace, passed, to_host
from creditsim.scenario.schema import AGE_BANDS, INCOME_BANDS, Scenario

CHILD, YOUNG, ADULT, SENIOR = range(len(AGE_BANDS))


@dataclass
class Population:
    household: np.ndarray  # int32, household index of each citizen
    head: np.ndarray  # int32, citizen index of the household's head
    region: np.ndarray  # int8
    group: np.ndarray  # int8
    age_band: np.ndarray  # int8, index into AGE_BANDS
    income_band: np.ndarray  # int8, index into INCOME_BANDS
    urban: np.ndarray  # bool
    children: np.ndarray  # int8, children living in this citizen's household (0 for a child)
    propensity: np.ndarray  # float32 (categories, citizens), gamma with mean 1
    categories: list[str]  # the categories with a propensity (those some behaviour weighs by)
    households: int
    # Tables derived from the citizens that several stages use, built once (by those stages).
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def size(self) -> int:
        return int(self.household.shape[0])

    def to_host(self) -> Population:
        """The same citizens as NumPy arrays (itself on the NumPy backend)."""
        if namespace(self.household) is np:
            return self
        arrays = {
            f.name: to_host(getattr(self, f.name))
            for f in fields(self)
            if f.name not in ("categories", "households", "derived")
        }
        return replace(self, **arrays, derived={})

    def region_group(self, groups: int) -> np.ndarray:
        """One index per (region, group) cell, for aggregates by both."""
        return self.region.astype(np.int32) * groups + self.group


def build_population(
    scenario: Scenario, citizens: int, rng: np.random.Generator, xp: ModuleType = np
) -> Population:
    """Citizens in whole households, on the array backend `xp` (rng must be of that backend)."""
    hh = scenario.households
    p_children = np.asarray(hh.children_probabilities)
    p_seniors = np.asarray(hh.seniors_probabilities)
    mean_size = 1 + hh.couple_share + p_children @ np.arange(len(p_children))
    mean_size += p_seniors @ np.arange(len(p_seniors))
    count = int(citizens / mean_size * 1.1) + 64
    while True:  # the margin almost always suffices; a tiny population may need a second draw
        adults = 1 + (rng.random(count) < hh.couple_share).astype(np.int32)
        kids = categorical(rng, p_children, count, xp).astype(np.int32)
        seniors = categorical(rng, p_seniors, count, xp).astype(np.int32)
        sizes = adults + kids + seniors
        ends = xp.cumsum(sizes)
        if int(ends[-1]) >= citizens:
            break
        count *= 2
    households = int(xp.searchsorted(ends, citizens)) + 1
    adults, kids, sizes = adults[:households], kids[:households], sizes[:households]
    starts = (ends[:households] - sizes).astype(np.int32)

    household = xp.repeat(xp.arange(households, dtype=np.int32), sizes)[:citizens]
    position = xp.arange(citizens, dtype=np.int32) - starts[household]
    is_adult = position < adults[household]
    is_child = ~is_adult & (position < (adults + kids)[household])
    young = rng.random(citizens) < hh.young_adult_share
    adult_band = xp.where(young, np.int8(YOUNG), np.int8(ADULT))
    age_band = xp.where(is_adult, adult_band, xp.where(is_child, np.int8(CHILD), np.int8(SENIOR)))

    # Counted from the citizens present: the last household may be cut at the population size.
    children_present = xp.bincount(household[is_child], minlength=households)

    region_share = np.array([r.population_share for r in scenario.regions])
    hh_region = categorical(rng, region_share, households, xp).astype(np.int8)
    urban_share = xp.asarray([r.urban_share for r in scenario.regions])
    hh_urban = rng.random(households) < urban_share[hh_region]
    hh_group = _groups_by_region(scenario, hh_region, rng, xp)
    hh_income = _income(scenario, hh_urban, rng, xp)

    categories = sorted({b.category for b in scenario.behaviours if b.propensity_weight})
    shape = scenario.propensity.shape
    propensity = rng.standard_gamma(shape, size=(len(categories), citizens), dtype=np.float32)
    propensity *= np.float32(1.0 / shape)

    return Population(
        household=household,
        head=starts[household],
        region=hh_region[household],
        group=hh_group[household],
        age_band=age_band,
        income_band=hh_income[household],
        urban=hh_urban[household],
        children=xp.where(is_child, 0, children_present[household]).astype(np.int8),
        propensity=propensity,
        categories=categories,
        households=households,
    )


def _groups_by_region(scenario: Scenario, hh_region, rng, xp: ModuleType):
    names = [g.name for g in scenario.groups]
    default = np.array([g.share for g in scenario.groups])
    table = np.array(
        [
            [r.group_shares.get(n, 0.0) for n in names] if r.group_shares else default
            for r in scenario.regions
        ]
    )
    cumulative = np.cumsum(table, axis=1)
    cumulative[:, -1] = 1.0
    # The group is the first column whose cumulative share exceeds the draw, region by region.
    draw = rng.random(hh_region.shape[0])
    columns = [xp.asarray(cumulative[:, k])[hh_region] for k in range(cumulative.shape[1])]
    return passed(xp.stack(columns, axis=-1), draw, xp).astype(np.int8)


def _income(scenario: Scenario, hh_urban, rng, xp: ModuleType):
    urban = xp.asarray(np.cumsum(scenario.income.urban_shares))
    rural = xp.asarray(np.cumsum(scenario.income.rural_shares))
    draw = rng.random(hh_urban.shape[0])
    band = xp.where(hh_urban, passed(urban, draw, xp), passed(rural, draw, xp))
    return xp.minimum(band, len(INCOME_BANDS) - 1).astype(np.int8)
