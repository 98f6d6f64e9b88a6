"""The system's effect on behaviour, measured within one run against the same citizens without
the system (common random numbers)."""

from __future__ import annotations

from conftest import assert_close_count, binomial_sd, build_scenario

import creditsim
from creditsim.arrays.streams import stream
from creditsim.behaviours import draw_events
from creditsim.channels import observe
from creditsim.channels.records import CORRECT
from creditsim.population import build_population


def test_the_counterfactual_is_exactly_the_no_system_run():
    national = creditsim.run("national-2018", population=30_000, seed=71).audit()["overall"]
    nothing = creditsim.run("no-system", population=30_000, seed=71).audit()["overall"]
    change = national["behaviour_change"]
    for name, entry in change["by_behaviour"].items():
        assert entry["without_system"] == nothing["events_by_behaviour"][name], name
        assert entry["with_system"] == national["events_by_behaviour"][name], name
    # Deterrence only removes offences; speech chills most in national-2018. Merits are done
    # for the points: a fifth more of them (uplift 0.2), within 5 sd of the extra Poisson count.
    merit = change["by_category"]["merit"]
    extra = 0.2 * merit["without_system"]
    assert abs(merit["change"] - extra) <= 5 * extra**0.5
    assert change["offending"]["change"] < 0
    shares = {c: e["change_share"] for c, e in change["by_category"].items() if c != "merit"}
    assert min(shares, key=shares.get) == "speech"
    # Without the system there is nothing to respond to.
    assert all(e["change"] == 0 for e in nothing["behaviour_change"]["by_behaviour"].values())


def test_switching_the_response_off_changes_no_behaviour():
    scenario = creditsim.load_scenario("national-2018", {"response": {"enabled": False}})
    change = creditsim.run(scenario, population=20_000, seed=72).audit()["overall"]
    assert change["behaviour_change"]["offending"]["change"] == 0


def test_informing_when_it_pays():
    """Reports rise by the uplift when informing earns points, and not when it does not."""
    counts = {}
    for points in (0, 5):
        scenario = build_scenario(
            {
                "behaviours": [{"name": "loiter", "channels": ["informant"]}],
                "channels": {"informant": {"report_rate": 0.1, "informer_points": points}},
                "response": {"deterrence": {"enabled": False}, "informing": {"uplift": 0.5}},
            }
        )
        pop = build_population(scenario, 20_000, stream(5, 0, "population"))
        events = draw_events(scenario, pop, 365, 5, 0)
        records = observe(scenario, pop, events, 365, 5, 0)
        true_reports = (records.cause == CORRECT) & (records.kind == 0)
        counts[points] = (int(true_reports.sum()), events.size)
    for points, uplift in ((0, 0.0), (5, 0.5)):
        reports, events = counts[points]
        p = 0.1 * (1 + uplift)
        assert_close_count(reports, events * p, binomial_sd(events, p))


def test_gaming_adds_point_earning_acts():
    """Merits with points rise by the uplift, or by uplift x awareness when rules are secret;
    the events that happen anyway are kept (the extra ones come from their own streams)."""
    merit = {
        "name": "volunteer",
        "category": "merit",
        "offence": False,
        "rate_per_year": 2.0,
        "channels": ["registry"],
        "points": 5,
    }
    base = None
    for published, factor in ((True, 1.5), (False, 1.25)):
        scenario = build_scenario(
            {
                "behaviours": [merit],
                "policy": {"published": published},
                "response": {
                    "deterrence": {"enabled": False, "secret_rules_awareness": 0.5},
                    "gaming": {"uplift": 0.5},
                },
            }
        )
        change = creditsim.run(scenario, population=20_000, seed=74).audit()["overall"]
        entry = change["behaviour_change"]["by_behaviour"]["volunteer"]
        base = base or entry["without_system"]
        assert entry["without_system"] == base
        extra = (factor - 1) * base
        assert abs(entry["change"] - extra) <= 5 * extra**0.5, (published, entry)


def test_giving_up_at_the_bottom():
    """Citizens who fall to the bottom grade stop being deterred: the offences deterrence held
    back while they were there come back, and only theirs (never more than without the system)."""
    runs = {}
    for enabled in (False, True):
        scenario = build_scenario(
            {
                "behaviours": [{"name": "loiter", "rate_per_year": 3.0, "points": -600}],
                "response": {
                    "deterrence": {"enabled": True, "elasticity_by_category": {"civic": 0.9}},
                    "giving_up": {"enabled": enabled},
                },
            }
        )
        result = creditsim.run(scenario, population=20_000, seed=75)
        runs[enabled] = (result.audit()["overall"], result.to_frame())
    off, on = (
        runs[False][0]["behaviour_change"]["offending"],
        runs[True][0]["behaviour_change"]["offending"],
    )
    assert off["without_system"] == on["without_system"]
    assert off["with_system"] < on["with_system"] <= on["without_system"]
    # The extra offences are those of citizens at the bottom grade (C) by the end.
    frame_off, frame_on = runs[False][1], runs[True][1]
    more = frame_on["true_civic"].to_numpy() > frame_off["true_civic"].to_numpy()
    assert more.any()
    assert (frame_on.loc[more, "grade_points"] == "C").all()
