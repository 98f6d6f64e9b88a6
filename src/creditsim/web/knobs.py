"""The dashboard's knobs: what a request may set, what a preset offers, and the scenario they make.

A request names a preset and moves a few knobs; each knob becomes one or more dotted scenario
paths (`channels.camera.fpir_reference`, `sanctions.flight_ban.duration_days`) that
`creditsim.workflow.sweep.override_for` turns into an override, so that the scenario itself
validates every value and its own message says what is allowed. A request never names a file:
only the presets that ship with creditsim.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from creditsim.figures import numbers as fmt
from creditsim.scenario import Scenario, ScenarioError, load_scenario, merge, preset_names
from creditsim.scenario.schema import (
    MAX_CAMERAS_PER_1000,
    MAX_SCORE,
    Appeals,
    Camera,
    Informant,
    Sanction,
    fpir,
)
from creditsim.web.guard import clip
from creditsim.workflow.sweep import override_for, steps

MAX_POPULATION = 2_000_000  # the dashboard's default cap; `creditsim serve --max-population`
MAX_YEARS = 10.0
MAX_SEEDS = 5  # replicate seeds of a paired comparison
RESPONSES = ("enabled", "deterrence", "gaming", "informing", "giving_up")

Multiplier = Annotated[float, Field(ge=0.0, le=100.0)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Knobs(Request):
    """What the dashboard lets one change; a knob left out keeps the preset's value."""

    camera_density: Multiplier | None = Field(
        None, description="multiplies every region's cameras per 1,000 people"
    )
    camera_density_by_region: dict[str, Multiplier] = Field(
        default_factory=dict, description="multiplies one region's cameras per 1,000 people"
    )
    fpir: float | None = Field(
        None, description="face identification's false-positive rate on the reference gallery"
    )
    fpir_multiplier_by_group: dict[str, float] = Field(
        default_factory=dict, description="how many times the FPIR is higher for a group"
    )
    informant_false_share: float | None = Field(
        None, description="share of informants' reports that are false or malicious"
    )
    grade_floors: dict[str, int] = Field(
        default_factory=dict, description="min_score of each grade of the primary score policy"
    )
    trigger_grades: dict[str, str] = Field(
        default_factory=dict, description="the grade that triggers each sanction or reward"
    )
    sanction_durations: dict[str, int] = Field(
        default_factory=dict, description="term of each sanction or reward, in days"
    )
    appeals: bool | None = Field(None, description="whether sanctioned citizens appeal")
    appeal_success_wrongful: float | None = Field(
        None, description="share of appeals against a wrongful sanction that succeed"
    )
    appeal_success_rightful: float | None = Field(
        None, description="share of appeals against a deserved sanction that succeed"
    )
    responses: dict[Literal[RESPONSES], bool] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="each behavioural response on or off; `enabled` switches them all",
    )


class RunRequest(Request):
    """POST /api/runs: a preset, the run settings, and the knobs."""

    preset: str = "national-2018"
    population: Annotated[int, Field(gt=0)] = 20_000
    years: Annotated[float, Field(gt=0.0, le=MAX_YEARS)] = 1.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    knobs: Knobs = Knobs()


class Arm(Request):
    """One side of a paired comparison: a preset and its knobs."""

    preset: str = "national-2018"
    knobs: Knobs = Knobs()


class CompareRequest(Request):
    """POST /api/compare: B against A, the baseline, on the same citizens (B - A), over `seeds`
    replicate seeds. By default A is no-system and B the preset: the system's own effect."""

    a: Arm = Arm(preset="no-system")
    b: Arm = Arm()
    population: Annotated[int, Field(gt=0)] = 20_000
    years: Annotated[float, Field(gt=0.0, le=MAX_YEARS)] = 1.0
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    seeds: Annotated[int, Field(ge=1, le=MAX_SEEDS)] = 1


class KnobError(ValueError):
    """A request that makes no usable scenario; the message names the field and what is allowed."""


def check_preset(name: str, field: str = "preset") -> None:
    names = preset_names()
    if name not in names:
        raise KnobError(
            f"field `{field}`: unknown preset {clip(name)}; allowed: {', '.join(names)}"
        )


def check_population(population: int, cap: int, field: str = "population") -> None:
    if population > cap:
        raise KnobError(
            f"field `{field}`: at most {fmt.integer(cap)} citizens on the dashboard (got "
            f"{fmt.integer(population)}); larger runs: `creditsim run PRESET -n N`"
        )


def scenario_for(
    preset: str,
    knobs: Knobs,
    run: dict[str, Any],
    field: str = "knobs",
) -> tuple[Scenario, dict[str, Any]]:
    """The preset with the knobs and `run` settings applied and validated, and the scenario
    paths the knobs set ({path: value}). A KnobError names the knob and what is allowed."""
    base = load_scenario(preset)
    point, origin = knob_paths(base, knobs, field)
    try:
        override = override_for(base, point) if point else {}
        scenario = load_scenario(base, merge(override, {"run": run}))
    except ScenarioError as error:
        raise KnobError(_explain(str(error), base, origin)) from None
    return scenario, point


def knob_paths(
    base: Scenario, knobs: Knobs, field: str = "knobs"
) -> tuple[dict[str, Any], dict[str, str]]:
    """{scenario path: value} for every knob that is set, and {scenario path: knob field}."""
    point: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def put(path: str, value: Any, knob: str) -> None:
        point[path] = value
        origin[path] = f"{field}.{knob}"

    regions = [region.name for region in base.regions]
    _known(f"{field}.camera_density_by_region", knobs.camera_density_by_region, regions, "region")
    if knobs.camera_density is not None or knobs.camera_density_by_region:
        for region in base.regions:
            factor = (1.0 if knobs.camera_density is None else knobs.camera_density) * (
                knobs.camera_density_by_region.get(region.name, 1.0)
            )
            knob = (
                f"camera_density_by_region.{region.name}"
                if region.name in knobs.camera_density_by_region
                else "camera_density"
            )
            put(f"regions.{region.name}.cameras_per_1000", region.cameras_per_1000 * factor, knob)
    if knobs.fpir is not None:
        put("channels.camera.fpir_reference", knobs.fpir, "fpir")
    groups = [group.name for group in base.groups]
    _known(f"{field}.fpir_multiplier_by_group", knobs.fpir_multiplier_by_group, groups, "group")
    for group, value in knobs.fpir_multiplier_by_group.items():
        put(
            f"channels.camera.fpir_multiplier_by_group.{group}",
            value,
            f"fpir_multiplier_by_group.{group}",
        )
    if knobs.informant_false_share is not None:
        put("channels.informant.false_share", knobs.informant_false_share, "informant_false_share")
    if knobs.grade_floors:
        policy = base.policy
        grades = [band.grade for band in policy.grades]
        _known(
            f"{field}.grade_floors", knobs.grade_floors, grades, f"grade of policy {policy.name!r}"
        )
        bands = [
            {"grade": band.grade, "min_score": knobs.grade_floors.get(band.grade, band.min_score)}
            for band in policy.grades
        ]
        put(f"policies.{policy.name}.grades", bands, "grade_floors")
    sanctions = {sanction.name: sanction for sanction in base.sanctions}
    graded = [name for name, s in sanctions.items() if _trigger_field(s) is not None]
    _known(f"{field}.trigger_grades", knobs.trigger_grades, graded, "sanction with a grade trigger")
    for name, grade in knobs.trigger_grades.items():
        trigger = _trigger_field(sanctions[name])
        put(f"sanctions.{name}.trigger.{trigger}", grade, f"trigger_grades.{name}")
    _known(f"{field}.sanction_durations", knobs.sanction_durations, list(sanctions), "sanction")
    for name, days in knobs.sanction_durations.items():
        put(f"sanctions.{name}.duration_days", days, f"sanction_durations.{name}")
    if knobs.appeals is not None:
        put("appeals.enabled", knobs.appeals, "appeals")
    if knobs.appeal_success_wrongful is not None:
        put(
            "appeals.success_rate_wrongful",
            knobs.appeal_success_wrongful,
            "appeal_success_wrongful",
        )
    if knobs.appeal_success_rightful is not None:
        put(
            "appeals.success_rate_rightful",
            knobs.appeal_success_rightful,
            "appeal_success_rightful",
        )
    for response, on in knobs.responses.items():
        path = "response.enabled" if response == "enabled" else f"response.{response}.enabled"
        put(path, on, f"responses.{response}")
    return point, origin


def describe_preset(name: str, max_population: int = MAX_POPULATION) -> dict[str, Any]:
    """What the page needs to draw the knobs of a preset: every current value and what is
    allowed."""
    check_preset(name)
    scenario = load_scenario(name)
    camera = scenario.channels.camera
    policy = scenario.policy
    response = scenario.response
    sanctions = []
    for sanction in scenario.sanctions:
        trigger = _trigger_field(sanction)
        graded = scenario.score_policy(sanction.trigger.policy)
        sanctions.append(
            {
                "name": sanction.name,
                "label": fmt.label(sanction.name),
                "kind": sanction.kind,
                "duration_days": sanction.duration_days,
                "trigger": None if trigger is None else trigger.replace("_", " "),
                "trigger_grade": None if trigger is None else getattr(sanction.trigger, trigger),
                "policy": graded.name if trigger is not None else None,
                "grades": _trigger_grades(graded, below=trigger == "grade_at_or_below")
                if trigger is not None
                else [],
            }
        )
    multipliers = camera.fpir_multiplier_by_group
    return {
        "name": scenario.name,
        "description": scenario.description,
        "system": scenario.system_enabled,
        "run": {
            "population": min(scenario.run.population, max_population),
            "years": scenario.run.years,
            "seed": scenario.run.seed,
        },
        "limits": {
            "max_population": max_population,
            "max_years": MAX_YEARS,
            "knobs": knob_limits(scenario, max_population),
        },
        "regions": [
            {"name": r.name, "cameras_per_1000": r.cameras_per_1000} for r in scenario.regions
        ],
        "groups": [
            {"name": g.name, "fpir_multiplier": multipliers.get(g.name, 1.0)}
            for g in scenario.groups
        ],
        "camera": {
            "enabled": camera.enabled,
            "fpir": camera.fpir_reference,
            "fpir_at_gallery": fpir(camera, 1.0),
            "gallery_size": camera.gallery_size,
            "true_identification_rate": camera.true_identification_rate,
        },
        "informant": {
            "enabled": scenario.channels.informant.enabled,
            "false_share": scenario.channels.informant.false_share,
        },
        "policy": {
            "name": policy.name,
            "type": getattr(policy, "type", "points"),
            "start": policy.start,
            "minimum": policy.minimum,
            "maximum": policy.maximum,
            "grades": [{"grade": b.grade, "min_score": b.min_score} for b in policy.grades],
        },
        "sanctions": sanctions,
        "appeals": {
            "enabled": scenario.appeals.enabled,
            "success_rate_wrongful": scenario.appeals.success_rate_wrongful,
            "success_rate_rightful": scenario.appeals.success_rate_rightful,
        },
        "responses": {
            "enabled": response.enabled,
            "deterrence": response.deterrence.enabled,
            "gaming": response.gaming.enabled,
            "informing": response.informing.enabled,
            "giving_up": response.giving_up.enabled,
        },
    }


def knob_limits(scenario: Scenario, max_population: int = MAX_POPULATION) -> dict[str, Any]:
    """What each knob of this preset may be, read from the request's and the scenario's own
    bounds (so the page shows the limits the server applies): {knob: {min, max, min_open,
    max_open, integer}}. The camera multiplier's ceiling is computed: the densest region times
    it must stay within the scenario's most cameras per 1,000 people."""
    densest = max((r.cameras_per_1000 for r in scenario.regions), default=0.0)
    camera_max = MAX_MULTIPLIER_KNOB
    if densest > 0:
        camera_max = min(camera_max, MAX_CAMERAS_PER_1000 / densest)
    region_max = {
        r.name: min(MAX_MULTIPLIER_KNOB, MAX_CAMERAS_PER_1000 / r.cameras_per_1000)
        if r.cameras_per_1000 > 0
        else MAX_MULTIPLIER_KNOB
        for r in scenario.regions
    }
    return {
        "population": _limit(1, max_population, integer=True),
        "years": _limit(0.0, MAX_YEARS, min_open=True),
        "seed": _limit(0, 2**31 - 1, integer=True),
        "camera_density": _limit(0.0, camera_max),
        "camera_density_by_region": {n: _limit(0.0, m) for n, m in region_max.items()},
        "fpir": _bounds(Camera, "fpir_reference"),
        "fpir_multiplier": _limit(0.0, _bounds(Camera, "fpir_multiplier_by_group")["max"]),
        "informant_false_share": _bounds(Informant, "false_share"),
        "grade_floor": _limit(-MAX_SCORE, MAX_SCORE, integer=True),
        "duration_days": _limit(1, _bounds(Sanction, "duration_days")["max"], integer=True),
        "appeal_success_wrongful": _bounds(Appeals, "success_rate_wrongful"),
        "appeal_success_rightful": _bounds(Appeals, "success_rate_rightful"),
    }


MAX_MULTIPLIER_KNOB = 100.0  # the request's own bound on a camera multiplier (`Multiplier`)


def _limit(
    low: float,
    high: float,
    *,
    integer: bool = False,
    min_open: bool = False,
    max_open: bool = False,
) -> dict[str, Any]:
    return {"min": low, "max": high, "min_open": min_open, "max_open": max_open,
            "integer": integer}  # fmt: skip


def _bounds(model: type[BaseModel], name: str) -> dict[str, Any]:
    """A field's numeric bounds from its annotations (ge, gt, le, lt), whatever its container
    (a dict's values carry them in their own metadata)."""
    field = model.model_fields[name]
    metadata = list(field.metadata)
    for argument in getattr(field.annotation, "__args__", ()):
        metadata += list(getattr(argument, "__metadata__", ()))
        for inner in getattr(argument, "__metadata__", ()):
            metadata += list(getattr(inner, "metadata", ()))
    low, high, low_open, high_open = None, None, False, False
    for item in metadata:
        if getattr(item, "ge", None) is not None:
            low = item.ge
        if getattr(item, "gt", None) is not None:
            low, low_open = item.gt, True
        if getattr(item, "le", None) is not None:
            high = item.le
        if getattr(item, "lt", None) is not None:
            high, high_open = item.lt, True
    return _limit(low, high, min_open=low_open, max_open=high_open)


# ------------------------------------------------------------------------------------ internals


def _trigger_field(sanction: Any) -> str | None:
    """Which grade field a sanction's trigger uses, or None when it has no grade trigger."""
    if sanction.trigger.grade_at_or_below is not None:
        return "grade_at_or_below"
    if sanction.trigger.grade_at_or_above is not None:
        return "grade_at_or_above"
    return None


def _trigger_grades(policy: Any, below: bool) -> list[str]:
    """The grades a trigger may name: below (or above) the grade of the starting score."""
    start = policy.start_grade()
    grades = [band.grade for band in policy.grades]
    return grades[start + 1 :] if below else grades[:start]


def _known(field: str, given: dict[str, Any], allowed: list[str], what: str) -> None:
    unknown = [key for key in given if key not in allowed]
    if unknown:
        raise KnobError(
            f"field `{field}`: {clip(unknown[0])} is not a {what}; allowed: {', '.join(allowed)}"
        )


FIELD = re.compile(r"field `(?P<field>[^`]+)`: ")
POLICY_TYPE = re.compile(r"^(policies\[[^\]]+\])\.(?:points|sesame|fico|list)(?=\.|$)")


def _explain(message: str, base: Scenario, origin: dict[str, str]) -> str:
    """The scenario's message, one line, named by the knob that set the field where one did."""
    lines = [line for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else message
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    match = FIELD.search(first)
    if match is not None:
        field = match.group("field")
        plain = POLICY_TYPE.sub(r"\1", field)
        reason = first[match.end() :]
        shown = {path: _shown(base, path) for path in origin}
        for path, knob in origin.items():
            here = shown[path]
            if plain == here or plain.startswith((here + ".", here + "[")):
                return f"field `{knob}` (the scenario's `{field}`): {reason}{more}"
        # A rule across fields (TIR plus FPIR at most 1): name a knob of the same table.
        table = plain.rsplit(".", 1)[0]
        for path, knob in origin.items():
            if shown[path].startswith(table + "."):
                return f"field `{knob}` (with the scenario's `{field}`): {reason}{more}"
    return f"these settings make no valid scenario: {first}{more}"


def _shown(base: Scenario, path: str) -> str:
    """A dotted path as the scenario's messages write it: `sanctions[flight_ban].duration_days`."""
    out = ""
    try:
        walk = steps(base, path)
    except (ScenarioError, ValueError):
        return path
    for kind, part in walk:
        if kind == "entry":
            out += f"[{part}]"
        elif part == "policy" and not out:
            out = f"policies[{base.policy.name}]"
        else:
            out += f".{part}" if out else part
    return out


__all__ = [
    "MAX_POPULATION",
    "MAX_SEEDS",
    "MAX_YEARS",
    "Arm",
    "CompareRequest",
    "KnobError",
    "Knobs",
    "RunRequest",
    "check_population",
    "check_preset",
    "describe_preset",
    "knob_limits",
    "knob_paths",
    "scenario_for",
]
