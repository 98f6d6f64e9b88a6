"""Shared helpers (imported by the test modules as `conftest`): a minimal scenario to build on,
and tolerance checks for random counts."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from creditsim.scenario import Scenario
from creditsim.scenario.loading import merge, validate

# A deliberately small scenario: one region with a constant camera density (no growth), full
# pooling, two equal groups, one camera-seen behaviour, no merges and no behavioural response.
# Tests merge their own changes into it (named lists merge by "name").
MINIMAL: dict[str, Any] = {
    "name": "test",
    "run": {"population": 20_000, "years": 1.0, "seed": 1},
    "regions": [
        {
            "name": "only",
            "population_share": 1.0,
            "urban_share": 0.5,
            "cameras_per_1000": 200.0,
            "camera_growth_per_year": 0.0,
            "pooling_share": 1.0,
        }
    ],
    "groups": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}],
    "behaviours": [
        {
            "name": "loiter",
            "category": "civic",
            "rate_per_year": 1.0,
            "channels": ["camera"],
            "points": -10,
        }
    ],
    "channels": {
        "camera": {"coverage_per_camera_per_1000": 0.0015},
        "merges": {"enabled": False},
    },
    "policy": {
        "start": 1000,
        "minimum": 0,
        "maximum": 2000,
        "grades": [
            {"grade": "A", "min_score": 950},
            {"grade": "B", "min_score": 500},
            {"grade": "C", "min_score": 0},
        ],
    },
    "response": {"deterrence": {"enabled": False}},
    "audit": {"reference_group": "a"},
}


def build_scenario(overrides: dict[str, Any] | None = None) -> Scenario:
    return validate(merge(copy.deepcopy(MINIMAL), overrides or {}), "test scenario")


def assert_close_count(observed: float, expected: float, sd: float, k: float = 5.0) -> None:
    """|observed - expected| <= k standard deviations (a fixed seed makes this deterministic;
    k = 5 keeps a correct model passing for essentially any seed while catching real errors)."""
    assert sd > 0, "the expected count must be large enough to have a spread"
    assert abs(observed - expected) <= k * sd, (
        f"observed {observed}, expected {expected:.1f} ± {k} × {sd:.2f}"
    )


def poisson_sd(expected: float) -> float:
    return math.sqrt(expected)


def binomial_sd(n: float, p: float) -> float:
    return math.sqrt(n * p * (1.0 - p))


# The three sanctions the engine's tests were written around; national-2018 has more.
CORE_SANCTIONS = ("flight_ban", "train_ban", "blacklist")


def national_core(overrides: dict[str, Any] | None = None) -> Scenario:
    """national-2018 with only its flight ban, train ban and blacklist (then `overrides`)."""
    from creditsim.scenario import load_scenario

    full = load_scenario("national-2018")
    others = [
        {"name": s.name, "remove": True} for s in full.sanctions if s.name not in CORE_SANCTIONS
    ]
    core = load_scenario(full, {"sanctions": others})
    return load_scenario(core, overrides) if overrides else core


def face_error_scenario(group_b_multiplier: float, **audit) -> Scenario:
    """A camera-seen behaviour that triggers a ban on any record of it; identification is poor
    (TIR 0.1) and false matches (FPIR 0.09 x the multiplier) fall only on group b."""
    return build_scenario(
        {
            "behaviours": [{"name": "loiter", "rate_per_year": 0.3}],
            "channels": {
                "camera": {
                    "true_identification_rate": 0.1,
                    "fpir_reference": 0.09,
                    "reference_gallery": 1.0e7,
                    "gallery_size": 1.0e7,
                    "fpir_multiplier_by_group": {"a": 0.0, "b": group_b_multiplier},
                },
            },
            "sanctions": [
                {"name": "ban", "duration_days": 365, "trigger": {"record_behaviours": ["loiter"]}}
            ],
            "audit": {"reference_group": "a", **audit},
        }
    )


@pytest.fixture(autouse=True, scope="session")
def _run_catalogue(tmp_path_factory):
    """Runs made by the tests go to a catalogue of their own, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "CREDITSIM_CATALOGUE",
            str(tmp_path_factory.mktemp("catalogue") / "catalogue.duckdb"),
        )
        yield
