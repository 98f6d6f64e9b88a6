"""The system's effect on behaviour, measured within one run against the same citizens without
the system (common random numbers)."""

from __future__ import annotations

import creditsim


def test_the_counterfactual_is_exactly_the_no_system_run():
    national = creditsim.run("national-2018", population=30_000, seed=71).audit()["overall"]
    nothing = creditsim.run("no-system", population=30_000, seed=71).audit()["overall"]
    change = national["behaviour_change"]
    for name, entry in change["by_behaviour"].items():
        assert entry["without_system"] == nothing["events_by_behaviour"][name], name
        assert entry["with_system"] == national["events_by_behaviour"][name], name
    # Deterrence only removes offences, never merits; speech chills most in national-2018.
    assert change["by_category"]["merit"]["change"] == 0
    assert change["offending"]["change"] < 0
    shares = {c: e["change_share"] for c, e in change["by_category"].items() if c != "merit"}
    assert min(shares, key=shares.get) == "speech"
    # Without the system there is nothing to respond to.
    assert all(e["change"] == 0 for e in nothing["behaviour_change"]["by_behaviour"].values())


def test_switching_the_response_off_changes_no_behaviour():
    scenario = creditsim.load_scenario(
        "national-2018", {"response": {"deterrence": {"enabled": False}}}
    )
    change = creditsim.run(scenario, population=20_000, seed=72).audit()["overall"]
    assert change["behaviour_change"]["offending"]["change"] == 0
