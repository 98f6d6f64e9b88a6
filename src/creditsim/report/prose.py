"""The report's words about a scenario: what each mechanism does, what caused a wrongful record,
whom a sanction reaches. Plain text (the templates escape it); shared with the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from creditsim.figures import numbers as fmt

if TYPE_CHECKING:
    from creditsim.scenario import Scenario

CAUSE_WORDS = {
    "face_misidentification": "face identification matched the wrong person",
    "plate_owner": "a plate reader recorded the car's owner, not the driver",
    "platform_false_positive": "a platform flagged a post or purchase that was not an offence",
    "false_informant_report": "an informant reported something that did not happen",
    "data_merge": "records of another person with the same name were merged in",
    "insider": "an insider changed the record",
    "coordinated_false_report": "a coordinated campaign of false reports",
    "score_swap": "a hack swapped top and bottom scores",
}

REACH_WORDS = {"person": "the person", "children": "their children", "household": "the household"}

SCORE_KINDS = {
    "points": "A points score",
    "sesame": "A Sesame-Credit-like private score",
    "fico": "A FICO-like credit score",
}

OFFICES = (
    ("transport", "transport checks"),
    ("court", "courts"),
    ("tax", "tax offices"),
    ("registry", "registries"),
)

NO_SYSTEM = (
    "No social credit system at all: no records, scores or sanctions. This is the "
    "counterfactual, the same citizens and behaviour without the system."
)


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 sanction', '3 sanctions' (the count with thousands separators)."""
    return f"{fmt.integer(count)} {word if count == 1 else many or word + 's'}"


def years(value: Any) -> str:
    """A run's length in words: 'one year', '2.5 years'."""
    if value is None:
        return "an unknown time"
    number = float(value)
    return "one year" if number == 1 else f"{number:g} years"


def flag_words(flag: str) -> str:
    """An audit flag ('group:outcome') in words."""
    group, _, outcome = flag.partition(":")
    return f"{group}: {fmt.label(outcome) if outcome != 'any' else 'any sanction'}"


def mechanisms(scenario: Scenario) -> list[str]:
    """What the scenario switches on, in plain words, one line each."""
    if not scenario.system_enabled:
        return [NO_SYSTEM]
    return [
        *_channel_lines(scenario.channels),
        *_score_lines(scenario),
        *_sanction_lines(scenario),
        *_design_lines(scenario),
        *_attack_lines(scenario.attacks),
        *_response_lines(scenario.response),
    ]


def _channel_lines(channels: Any) -> list[str]:
    out: list[str] = []
    if channels.camera.enabled:
        out.append(_camera_line(channels.camera))
    if channels.plate.enabled:
        out.append("Number-plate readers, which record the car's owner, not always the driver")
    offices = [label for name, label in OFFICES if getattr(channels, name).enabled]
    if offices:
        out.append("Records from " + ", ".join(offices))
    if channels.platform.enabled:
        out.append(
            "Monitoring of online platforms: posts and purchases flagged, "
            f"{fmt.percent(1 - channels.platform.precision)} of flags wrongly"
        )
    if channels.informant.enabled:
        text = f"Informants' reports ({fmt.percent(channels.informant.false_share)} of them false)"
        if channels.informant.informer_points:
            text += "; informing earns points"
        out.append(text)
    if channels.merges.enabled:
        out.append("Data pooled from many sources, with some records of same-name people merged")
    return out


def _camera_line(camera: Any) -> str:
    text = (
        "Street cameras with 1:N face identification, which now and then match the wrong "
        f"person (it identifies {fmt.percent(camera.true_identification_rate)} of "
        "those it sees)"
    )
    worse = {g: m for g, m in camera.fpir_multiplier_by_group.items() if m != 1}
    if worse:
        text += (
            "; it mistakes people of some groups more often ("
            + ", ".join(f"{g} ×{m:g}" for g, m in worse.items())
            + ")"
        )
    return text


def _score_lines(scenario: Scenario) -> list[str]:
    out: list[str] = []
    for policy in scenario.score_policies:
        grades = sorted(policy.grades, key=lambda band: -band.min_score)
        text = (
            f"{SCORE_KINDS.get(policy.type, 'A score')}, “{policy.name}”, from "
            f"{policy.minimum:,} to {policy.maximum:,} (everyone starts at {policy.start:,}), "
            "graded " + ", ".join(fmt.label(band.grade) for band in grades)
        )
        if policy.reads_channels:
            text += f"; it reads only {', '.join(policy.reads_channels)} records"
        if not policy.published:
            text += "; its rules are secret"
        if policy.restore_after_days:
            text += f"; deductions are restored after {policy.restore_after_days:,} quiet days"
        out.append(text)
    for listed in scenario.list_policies:
        out.append(
            f"A list, “{fmt.label(listed.name)}”: entered on records of "
            + ", ".join(fmt.label(b) for b in listed.entry_behaviours)
            + "; left by "
            + ", ".join(listed.removal)
        )
    return out


def _sanction_lines(scenario: Scenario) -> list[str]:
    out: list[str] = []
    sanctions = [s for s in scenario.sanctions if s.kind == "sanction"]
    rewards = [s for s in scenario.sanctions if s.kind == "reward"]
    if sanctions:
        reaching = [s for s in sanctions if s.reach != "person"]
        names = ", ".join(fmt.label(s.name) for s in sanctions)
        text = f"{plural(len(sanctions), 'sanction')} ({names})"
        if reaching:
            text += f"; {len(reaching)} reach the family (children or the whole household)"
        published = [s for s in sanctions if s.publishes_name]
        if published:
            text += "; names are published by " + ", ".join(fmt.label(s.name) for s in published)
        out.append(text)
    if rewards:
        names = ", ".join(fmt.label(s.name) for s in rewards)
        out.append(f"{plural(len(rewards), 'reward')} for the well graded ({names})")
    if scenario.appeals.enabled:
        out.append("Appeals, more often by the better off; some succeed")
    return out


def _design_lines(scenario: Scenario) -> list[str]:
    out: list[str] = []
    targeting = scenario.targeting
    for channel, multipliers in targeting.detection_multiplier_by_group.items():
        groups = {g: m for g, m in multipliers.items() if m != 1}
        if groups:
            out.append(
                f"Unequal by design: {channel} detection raised for "
                + ", ".join(f"{g} (×{m:g})" for g, m in groups.items())
            )
    if targeting.pooling_multiplier_by_group:
        out.append("Unequal by design: more of some groups' records pooled nationally")
    exemptions = scenario.exemptions
    if exemptions.share > 0 or exemptions.share_by_group:
        out.append("Exemptions: some citizens (officials, the well connected) are spared")
    return out


def _attack_lines(attacks: Any) -> list[str]:
    return [
        text
        for enabled, text in (
            (attacks.insider.enabled, "An insider changes some citizens' scores"),
            (attacks.false_reports.enabled, "A coordinated campaign of false reports"),
            (attacks.leak.enabled, "A database left open: records exposed"),
            (attacks.score_swap.enabled, "A hack that swaps top and bottom scores"),
        )
        if enabled
    ]


def _response_lines(response: Any) -> list[str]:
    if not response.enabled:
        return []
    return [
        text
        for enabled, text in (
            (
                response.deterrence.enabled,
                "Citizens respond: fear of detection deters offences and chills speech",
            ),
            (
                response.gaming.enabled and response.gaming.uplift > 0,
                "Gaming: some acts are done for the points they earn",
            ),
            (
                response.informing.enabled and response.informing.uplift > 0,
                "Reports rise where informing earns points",
            ),
            (
                response.giving_up.enabled,
                "Giving up: citizens at the bottom grade stop being deterred",
            ),
        )
        if enabled
    ]


__all__ = ["CAUSE_WORDS", "REACH_WORDS", "flag_words", "mechanisms", "plural", "years"]
