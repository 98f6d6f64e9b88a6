"""Cameras and 1:N face identification, a statistical model of published error rates.

An event is in view with a chance that grows with the region's camera density. A face in view is
searched once against the national gallery, with three competing outcomes:

- a wrong adult of the same demographic group, with the chance `fpir` (`scenario/schema.py`):
  1 - exp(-h x m x (gallery_size / reference_gallery) ** fpir_gallery_exponent), where
  h = -ln(1 - fpir_reference) makes it exactly `fpir_reference` on the reference gallery and
  m is the group's multiplier. A wrong candidate scoring above the threshold is a hazard that
  grows with the gallery and with m, so any multiplier (NIST IR 8280 measured 10 to 100) gives
  a chance below 1;
- the right citizen, where no wrong candidate took the search: true_identification_rate x
  (1 - fpir), so the right-match rate falls as the wrong-match rate rises;
- nobody, the rest.

For example, at the preset's rates (true identification 0.9, FPIR 0.0082 at 1.3 billion photos),
a group with a multiplier of 100 is matched wrongly in 56 % of searches and rightly in 40 %.
The model's limit: the wrong-match chance does not depend on whether the right citizen would
also score above the threshold (NIST's FPIR is measured on searches without a mate, which this
applies to every search), and the true-identification rate is the one against a gallery
without wrong candidates above the threshold.
"""

from __future__ import annotations

import numpy as np

from creditsim.arrays.backend import namespace
from creditsim.arrays.streams import Keyed
from creditsim.behaviours import Events
from creditsim.channels.records import CORRECT, FACE, Records, of_events
from creditsim.channels.sampling import adults_sharing
from creditsim.population import Population
from creditsim.scenario.schema import CHANNELS, Scenario, fpir

CHANNEL = CHANNELS.index("camera")


def coverage_table(scenario: Scenario, days: int) -> np.ndarray:
    """The chance an event is in a camera's view, as a (region, day) table."""
    density = np.array([r.cameras_per_1000 for r in scenario.regions])[:, None]
    growth = np.log1p(np.array([r.camera_growth_per_year for r in scenario.regions]))[:, None]
    start = scenario.run.start_date
    counted = np.array([(r.cameras_from or start) - start for r in scenario.regions])
    counted_day = np.array([d.days for d in counted], dtype=np.float64)[:, None]
    per_camera = scenario.channels.camera.coverage_per_camera_per_1000
    cameras = density * np.exp(growth * ((np.arange(days) - counted_day) / 365.0))
    return -np.expm1(-per_camera * cameras)


def coverage(scenario: Scenario, pop: Population, events: Events) -> np.ndarray | float:
    """The chance each event is in a camera's view, by its actor's region and its day; one
    number for all when it is the same in every region on every day (no gathers then)."""
    day = events.day
    xp = namespace(day)
    table = coverage_table(scenario, int(day.max()) + 1 if day.size else 1)
    if np.all(table == table.flat[0]):
        return float(table.flat[0])
    return xp.asarray(table)[pop.region[events.person], day]


def fpir_by_group(scenario: Scenario) -> np.ndarray:
    camera = scenario.channels.camera
    return np.array(
        [fpir(camera, camera.fpir_multiplier_by_group.get(g.name, 1.0)) for g in scenario.groups]
    )


def observe(
    scenario: Scenario, pop: Population, events: Events, draws: Keyed, boost=1.0
) -> Records:
    """Camera records; `boost` (per event) scales the chance of being in view (targeting).
    Each event's draws are keyed by its identity: in view (0), the search's outcome (1), the
    wrong adult matched (2)."""
    xp = namespace(events.day)
    camera = scenario.channels.camera
    identity = events.identity()
    chance = coverage(scenario, pop, events) * boost
    at = xp.flatnonzero(draws.uniforms(identity, 0) < chance)
    seen, seen_id = events.take(at), identity[at]
    draw = draws.uniforms(seen_id, 1)
    wrong_rate = xp.asarray(fpir_by_group(scenario))[pop.group[seen.person]]
    wrong = draw < wrong_rate
    right = ~wrong & (draw < wrong_rate + camera.true_identification_rate * (1.0 - wrong_rate))
    found = xp.flatnonzero(right | wrong)
    matched, matched_id = seen.take(found), seen_id[found]
    subject = matched.person.copy()
    misidentified = wrong[found]
    if misidentified.any():
        picker = adults_sharing(pop, "group")
        victims = xp.flatnonzero(misidentified)
        u = draws.uniforms(matched_id[victims], 2)
        subject[victims] = picker.pick(pop.group[subject[victims]], subject[victims], u)
    cause = xp.where(subject != matched.person, FACE, CORRECT)
    return Records.build(
        matched.day, subject, matched.person, matched.behaviour, CHANNEL, cause,
        of_events(matched_id, CHANNEL),
    )  # fmt: skip
