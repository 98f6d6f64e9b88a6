"""Cameras and 1:N face identification, a statistical model of published error rates.

An event is in view with a chance that grows with the region's camera density; a face in view is
searched against the national gallery and matched to the right citizen (true-identification rate),
to a wrong adult of the same demographic group (false-positive identification rate, larger for a
larger gallery and different by group, as NIST IR 8280 measured), or to nobody.
"""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, FACE, Records
from creditsim.channels.sampling import adults_sharing
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario, fpir

CHANNEL = CHANNELS.index("camera")


def coverage_table(scenario: Scenario, days: int) -> np.ndarray:
    """The chance an event is in a camera's view, as a (region, day) table."""
    density = np.array([r.cameras_per_1000 for r in scenario.regions])[:, None]
    growth = np.log1p(np.array([r.camera_growth_per_year for r in scenario.regions]))[:, None]
    per_camera = scenario.channels.camera.coverage_per_camera_per_1000
    cameras = density * np.exp(growth * (np.arange(days) / 365.0))
    return -np.expm1(-per_camera * cameras)


def coverage(scenario: Scenario, region: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The chance an event is in a camera's view, by region and day."""
    xp = namespace(day)
    table = coverage_table(scenario, int(day.max()) + 1 if day.size else 1)
    return xp.asarray(table)[region, day]


def fpir_by_group(scenario: Scenario) -> np.ndarray:
    camera = scenario.channels.camera
    return np.array(
        [fpir(camera, camera.fpir_multiplier_by_group.get(g.name, 1.0)) for g in scenario.groups]
    )


def observe(
    scenario: Scenario, pop: Population, events: Events, rng: np.random.Generator, boost=1.0
) -> Records:
    """Camera records; `boost` (per event) scales the chance of being in view (targeting)."""
    xp = namespace(events.day)
    camera = scenario.channels.camera
    actor = events.person
    chance = coverage(scenario, pop.region[actor], events.day) * boost
    in_view = rng.random(events.size) < chance
    seen = events.take(xp.flatnonzero(in_view))
    draw = rng.random(seen.size)
    group = pop.group[seen.person]
    right = draw < camera.true_identification_rate
    fpir = xp.asarray(fpir_by_group(scenario))
    wrong = ~right & (draw < camera.true_identification_rate + fpir[group])
    matched = seen.take(xp.flatnonzero(right | wrong))
    subject = matched.person.copy()
    misidentified = wrong[right | wrong]
    if misidentified.any():
        picker = adults_sharing(pop, "group")
        victims = xp.flatnonzero(misidentified)
        subject[victims] = picker.pick(pop.group[subject[victims]], subject[victims], rng)
    cause = xp.where(subject != matched.person, FACE, CORRECT)
    return Records.build(matched.day, subject, matched.person, matched.behaviour, CHANNEL, cause)
