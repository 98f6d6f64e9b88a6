"""The record-heavy peers model run by creditsim itself, from reference_heavy.toml.

python bench/peers/creditsim_heavy.py 20000 --seed 1
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import creditsim
from creditsim.scenario.schema import fpir

sys.path.insert(0, str(Path(__file__).parent))
import reference_heavy as ref  # noqa: E402

SCENARIO = Path(__file__).parent / "reference_heavy.toml"
SANCTION = "flight_ban"


def run(n: int, seed: int) -> dict:
    """One year of `n` citizens; the outputs every implementation reports.

    A whole creditsim run in memory (population, events, channels, ledger, sanctions, the weekly
    time series and the audit); no per-citizen rows are kept, since only totals are compared.
    Also the run's seconds per stage (its manifest's timings), to show where the time goes."""
    scenario = creditsim.load_scenario(SCENARIO)
    result = creditsim.run(scenario, population=n, years=1.0, seed=seed, citizen_rows="none")
    audit = result.audit()
    overall = audit["overall"]
    ban = overall["sanctions"][SANCTION]
    out = {f"citizens_{g}": audit["by_group"][g]["citizens"] for g in ref.GROUPS}
    for name in ref.BEHAVIOURS:
        out[f"events_{name}"] = overall["events_by_behaviour"][name]
    out["camera_records"] = overall["records"]
    for g in ref.GROUPS:
        out[f"misattributed_{g}"] = audit["by_group"][g]["wrongful_records"]
    for g in ref.GROUPS:
        out[f"banned_{g}"] = audit["by_group"][g]["sanctions"][SANCTION]["sanctioned"]
    out["wrongful_bans"] = ban["wrongful"]
    out["denied_purchases"] = ban["denied_purchases"]
    out["time_step"] = "1 day (365 days); events are drawn as a Poisson total per behaviour"
    out["stages_seconds"] = {k: round(v, 4) for k, v in result.timings.items()}
    return out


def check_scenario() -> list[str]:
    """Differences between reference_heavy.toml, as creditsim resolves it, and
    reference_heavy.py."""
    s = creditsim.load_scenario(SCENARIO)
    problems: list[str] = []

    def same(what: str, got, want) -> None:
        if isinstance(want, float) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            return
        if got != want:
            problems.append(f"{what}: scenario has {got!r}, reference_heavy.py has {want!r}")

    same("groups", {g.name: g.share for g in s.groups}, ref.GROUPS)
    same("propensity shape", s.propensity.shape, ref.SHAPE)
    same("children", list(s.households.children_probabilities), [1.0])
    same(
        "behaviours",
        {b.name: (b.rate_per_year, b.points, b.category) for b in s.behaviours},
        ref.BEHAVIOURS,
    )
    for b in s.behaviours:
        same(f"{b.name}.channels", b.channels, ["camera"])
        same(f"{b.name}.propensity_weight", b.propensity_weight, True)
        same(f"{b.name}.age_multipliers", dict(b.age_multipliers), {})
        same(f"{b.name}.offence", b.offence, True)
    (region,) = s.regions
    camera = s.channels.camera
    coverage = -math.expm1(-camera.coverage_per_camera_per_1000 * region.cameras_per_1000)
    same("camera coverage", coverage, ref.IN_VIEW)
    same("camera growth", region.camera_growth_per_year, 0.0)
    same("pooling share", region.pooling_share, 1.0)
    same("TIR", camera.true_identification_rate, ref.TIR)
    for g in ref.GROUPS:
        same(f"FPIR {g}", fpir(camera, camera.fpir_multiplier_by_group.get(g, 1.0)), ref.FPIR[g])
    same("merges", s.channels.merges.enabled, False)
    same("deterrence", s.response.deterrence.enabled, False)
    _check_policy(s, same)
    return problems


def _check_policy(s, same) -> None:
    policy = s.policy
    same(
        "points",
        (policy.start, policy.minimum, policy.maximum),
        (ref.START, ref.MINIMUM, ref.MAXIMUM),
    )
    same("restoration", policy.restore_after_days, None)
    (ban,) = s.sanctions
    same("sanction", ban.name, SANCTION)
    floor = {band.grade: band.min_score for band in policy.grades}
    grade = ban.trigger.grade_at_or_below
    above = [band.min_score for band in policy.grades if band.min_score > floor[grade]]
    same("ban threshold", min(above), ref.BAN_BELOW)
    same("ban records trigger", ban.trigger.record_behaviours, [])
    same("ban days", ban.duration_days, ref.BAN_DAYS)
    same("ban reach", ban.reach, "person")
    attempts = ban.purchases.attempts_per_year if ban.purchases else {}
    same(
        "purchases",
        dict(attempts),
        dict.fromkeys(("low", "middle", "high"), ref.PURCHASES_PER_YEAR),
    )


if __name__ == "__main__":
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("\n".join(check_scenario()) or "reference_heavy.toml matches reference_heavy.py")
    started = time.perf_counter()
    outputs = run(args.n, args.seed)
    print(json.dumps(outputs, indent=1))
    print(f"{time.perf_counter() - started:.3f} s")
