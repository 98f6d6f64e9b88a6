"""Typed scenario: every parameter of the model, validated before anything runs.

Every model forbids unknown fields, so a misspelt key is an error rather than a silent default.
Types are strict: a boolean is not a number, a number or a string is not a flag, a string is not
a number and a fraction is not a whole number (a whole number is a number). NaN and infinities
are refused. Every number has bounds that the engine honours: each is named below with the
reason for it, so that the message for a value out of bounds says what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AGE_BANDS = ("child", "young", "adult", "senior")
INCOME_BANDS = ("low", "middle", "high")
CHANNELS = ("camera", "plate", "transport", "court", "tax", "platform", "informant", "registry")
REACHES = ("person", "children", "household")
PURCHASES = ("flight", "train")

# --- bounds, and why ------------------------------------------------------------------------------

# Scores are int32 per citizen; a policy's start plus its income and age points is taken in
# int32 before it is clipped. A million either side leaves that sum far inside int32.
MAX_SCORE = 1_000_000
# A policy's scores span at most this (its histograms hold one bin per score).
MAX_SCORE_RANGE = 100_000
# Points per record (int32 per record kind; summed per citizen in int64). No step can move a
# score further than the widest range, so larger values would mean nothing more.
MAX_POINTS = MAX_SCORE_RANGE
# Days are int32; a term, a delay or a day of the run is at most a hundred years (a run is at
# most 50), so that a day plus a term stays far inside int32.
MAX_DAYS = 36_500
MAX_DELAY_DAYS = 3_650
MAX_YEARS = 50.0
# Rates per person (or per citizen) and year: a Poisson mean is rate × years × citizens of a
# shard × a multiplier, which must stay finite and below NumPy's limit (about 9.2e18): with
# these bounds it is at most 1,000 × 50 × 1e8 × 1,000 = 5e15.
MAX_RATE_PER_YEAR = 1_000.0
MAX_MULTIPLIER = 1_000.0
# Cameras per 1,000 people (a hundred per person); coverage is 1 - exp(-coverage × cameras).
MAX_CAMERAS_PER_1000 = 100_000.0
# Face galleries: from one face to a hundred billion (the gallery's growth of the FPIR is a
# power of their ratio, which stays finite).
MAX_GALLERY = 1e11
# Regions, groups and grades are stored as int8 indices (at most 127); behaviours as int16.
MAX_REGIONS = 100
MAX_GROUPS = 100
MAX_GRADES = 100
MAX_BEHAVIOURS = 10_000
# Citizens: ids within a shard are int32; a shard is at most 1e8 citizens.
MAX_POPULATION = 2_000_000_000
MAX_SHARD_SIZE = 100_000_000
# Seeds are recorded in the run catalogue as a signed 64-bit integer.
MAX_SEED = 2**63 - 1
# The gamma propensity is float32 scaled by 1 / shape: a shape below 0.01 (a variance of 100)
# only makes nearly everyone's propensity zero.
MIN_PROPENSITY_SHAPE = 0.01
MAX_TEXT = 10_000  # a description

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=MAX_RATE_PER_YEAR)]  # events (or tries) per year
Multiplier = Annotated[float, Field(ge=0.0, le=MAX_MULTIPLIER)]
Points = Annotated[int, Field(ge=-MAX_POINTS, le=MAX_POINTS)]
Score = Annotated[int, Field(ge=-MAX_SCORE, le=MAX_SCORE)]
Day = Annotated[int, Field(ge=0, le=MAX_DAYS)]  # a day of the run, from 0
Days = Annotated[int, Field(gt=0, le=MAX_DAYS)]  # a term
Delay = Annotated[int, Field(ge=0, le=MAX_DELAY_DAYS)]
PositiveInt = Annotated[int, Field(gt=0)]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]*$"
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN)]
Grade = Annotated[str, Field(min_length=1, max_length=16)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class RunSettings(Model):
    """Defaults for a run; the CLI and `creditsim.run` may override them."""

    population: Annotated[int, Field(gt=0, le=MAX_POPULATION)] = 100_000
    years: Annotated[float, Field(gt=0.0, le=MAX_YEARS)] = 1.0
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    timeseries_every_days: Annotated[int, Field(ge=1, le=365)] = 7
    shard_size: Annotated[int, Field(ge=1000, le=MAX_SHARD_SIZE)] = 1_000_000
    # Which citizen rows to write: all, none, or a fraction (a random sample; the time series
    # and the audit always cover everyone).
    citizen_rows: Literal["all", "none"] | Annotated[float, Field(gt=0.0, le=1.0)] = "all"


class Region(Model):
    name: Name
    population_share: Annotated[float, Field(gt=0.0, le=1.0)]
    urban_share: Share
    cameras_per_1000: Annotated[float, Field(ge=0.0, le=MAX_CAMERAS_PER_1000)]
    camera_growth_per_year: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    pooling_share: Share = 1.0
    group_shares: dict[Name, Share] | None = None


class Group(Model):
    name: Name
    share: Share


class Households(Model):
    couple_share: Share = 0.8
    children_probabilities: list[Share] = Field(
        default_factory=lambda: [0.35, 0.4, 0.2, 0.05], min_length=1, max_length=8
    )
    seniors_probabilities: list[Share] = Field(
        default_factory=lambda: [0.7, 0.2, 0.1], min_length=1, max_length=4
    )
    young_adult_share: Share = 0.4

    @model_validator(mode="after")
    def _probabilities_sum_to_one(self) -> Households:
        for field in ("children_probabilities", "seniors_probabilities"):
            total = sum(getattr(self, field))
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{field}: must sum to 1 (got {total:.6g})")
        return self


class Income(Model):
    urban_shares: list[Share] = Field(default_factory=lambda: [0.3, 0.5, 0.2])
    rural_shares: list[Share] = Field(default_factory=lambda: [0.6, 0.35, 0.05])

    @model_validator(mode="after")
    def _shares(self) -> Income:
        for field in ("urban_shares", "rural_shares"):
            values = getattr(self, field)
            if len(values) != len(INCOME_BANDS):
                raise ValueError(
                    f"{field}: must have {len(INCOME_BANDS)} values, one for each of "
                    f"{', '.join(INCOME_BANDS)}"
                )
            if abs(sum(values) - 1.0) > 1e-6:
                raise ValueError(f"{field}: must sum to 1 (got {sum(values):.6g})")
        return self


class Propensity(Model):
    """Latent propensity per behaviour category: gamma with mean 1 and this shape."""

    distribution: Literal["gamma"] = "gamma"
    shape: Annotated[float, Field(ge=MIN_PROPENSITY_SHAPE, le=1000.0)] = 1.0


class Behaviour(Model):
    name: Name
    category: Name
    rate_per_year: Rate
    offence: bool = True
    age_multipliers: dict[Literal["child", "young", "adult", "senior"], Multiplier] = Field(
        default_factory=dict
    )
    propensity_weight: bool = True
    channels: list[Literal[CHANNELS]] = Field(default_factory=list)  # type: ignore[valid-type]
    points: Points = 0


class Camera(Model):
    enabled: bool = True
    coverage_per_camera_per_1000: Annotated[float, Field(ge=0.0, le=1.0)] = 0.002
    true_identification_rate: Share = 0.9
    fpir_reference: Share = 0.002
    reference_gallery: Annotated[float, Field(ge=1.0, le=MAX_GALLERY)] = 1.2e7
    gallery_size: Annotated[float, Field(ge=1.0, le=MAX_GALLERY)] = 1.3e9
    fpir_gallery_exponent: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3
    fpir_multiplier_by_group: dict[Name, Multiplier] = Field(default_factory=dict)


class Plate(Model):
    enabled: bool = True
    read_rate: Share = 0.9
    other_driver_share: Share = 0.2


class DetectionChannel(Model):
    enabled: bool = True
    detect_rate: Share = 0.5
    delay_days: Delay = 0


class Platform(Model):
    enabled: bool = True
    recall: Share = 0.6
    precision: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9


class Informant(Model):
    enabled: bool = True
    report_rate: Share = 0.02
    false_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    informer_points: Points = 0


class Merges(Model):
    enabled: bool = True
    rate: Share = 0.001


class Channels(Model):
    camera: Camera = Camera()
    plate: Plate = Plate()
    transport: DetectionChannel = DetectionChannel(detect_rate=0.3)
    court: DetectionChannel = DetectionChannel(detect_rate=0.8, delay_days=90)
    tax: DetectionChannel = DetectionChannel(detect_rate=0.2, delay_days=180)
    platform: Platform = Platform()
    informant: Informant = Informant()
    registry: DetectionChannel = DetectionChannel(detect_rate=0.7)
    merges: Merges = Merges()


class GradeBand(Model):
    grade: Grade
    min_score: Score


class Contacts(Model):
    """Social contacts whose scores pull one's own (Sesame Credit reads them): the household,
    and a random contact network with a set mean degree."""

    weight: Share = 0.0  # the share of the score that is the mean of the contacts' scores
    household: bool = True
    mean_degree: Annotated[float, Field(ge=0.0, le=200.0)] = 0.0


# Record kinds a score policy may price besides behaviours.
EXTRA_RECORD_KINDS = ("informed", "insider")


class ScorePolicy(Model):
    """A score read from the record stream: a start (plus fixed parts for ability to pay and
    personal characteristics), a delta per record kind, bounds, grade bands, and optionally
    restoration of deductions and a pull towards the scores of one's contacts."""

    name: Name
    start: Score
    minimum: Score
    maximum: Score
    grades: list[GradeBand] = Field(min_length=1, max_length=MAX_GRADES)
    # Points per record kind (a behaviour's name, "informed" or "insider"); a points policy
    # falls back to each behaviour's own `points`, the informant's `informer_points` and the
    # insider's `points`; other policies count only the kinds named here.
    points: dict[Name, Points] = Field(default_factory=dict)
    reads_channels: list[Literal[CHANNELS]] | None = None  # type: ignore[valid-type]
    income_points: dict[Literal["low", "middle", "high"], Points] = Field(default_factory=dict)
    age_points: dict[Literal["child", "young", "adult", "senior"], Points] = Field(
        default_factory=dict
    )
    contacts: Contacts = Contacts()
    restore_after_days: Days | None = None
    published: bool = True
    # The grade at or below which the audit counts a citizen as punished by this policy.
    low_grade: Grade | None = None

    @model_validator(mode="after")
    def _check(self) -> ScorePolicy:
        if self.maximum - self.minimum > MAX_SCORE_RANGE:
            raise ValueError(f"maximum: must be at most {MAX_SCORE_RANGE} points above minimum")
        if not self.minimum <= self.start <= self.maximum:
            raise ValueError(
                f"start: {self.start} must lie between minimum ({self.minimum}) "
                f"and maximum ({self.maximum})"
            )
        floors = [band.min_score for band in self.grades]
        if floors != sorted(floors, reverse=True) or len(set(floors)) != len(floors):
            raise ValueError("grades: must be listed from the highest min_score to the lowest")
        if floors[-1] > self.minimum:
            raise ValueError(
                f"grades: the lowest grade's min_score ({floors[-1]}) must be at most minimum "
                f"({self.minimum}) so that every score has a grade"
            )
        names = [band.grade for band in self.grades]
        if len(set(names)) != len(names):
            raise ValueError("grades: grade names must be unique")
        if self.low_grade is not None and self.low_grade not in names:
            raise ValueError(f"low_grade: unknown grade {self.low_grade!r}; allowed: {names}")
        return self

    def grade_of(self, name: str) -> int:
        return [band.grade for band in self.grades].index(name)

    def start_grade(self) -> int:
        return next(i for i, band in enumerate(self.grades) if self.start >= band.min_score)

    def low_grade_index(self) -> int:
        return len(self.grades) - 1 if self.low_grade is None else self.grade_of(self.low_grade)


class PointsPolicy(ScorePolicy):
    """Points, as in Rongcheng (a balance of 1,000) or the national score "out of 800"."""

    type: Literal["points"] = "points"
    name: Name = "points"
    start: Score = 1000
    minimum: Score = 0
    maximum: Score = 2000


def _bands(*pairs: tuple[str, int]) -> list[GradeBand]:
    return [GradeBand(grade=g, min_score=m) for g, m in pairs]


class SesamePolicy(ScorePolicy):
    """A Sesame-Credit-like score, 350 to 950: payment history and consumption (per record kind),
    ability to pay (income), personal characteristics (age) and social contacts."""

    type: Literal["sesame"] = "sesame"
    name: Name = "sesame"
    start: Score = 600
    minimum: Score = 350
    maximum: Score = 950
    grades: list[GradeBand] = Field(
        default_factory=lambda: _bands(
            ("excellent", 700), ("very_good", 650), ("good", 600), ("fair", 550), ("poor", 350)
        ),
        min_length=1,
        max_length=MAX_GRADES,
    )


class FicoPolicy(ScorePolicy):
    """A FICO-like baseline, 300 to 850, that reads financial records only."""

    type: Literal["fico"] = "fico"
    name: Name = "fico"
    start: Score = 700
    minimum: Score = 300
    maximum: Score = 850
    grades: list[GradeBand] = Field(
        default_factory=lambda: _bands(
            ("exceptional", 800), ("very_good", 740), ("good", 670), ("fair", 580), ("poor", 300)
        ),
        min_length=1,
        max_length=MAX_GRADES,
    )
    reads_channels: list[Literal["court", "tax"]] | None = ["court", "tax"]  # type: ignore[assignment]

    @model_validator(mode="after")
    def _financial_only(self) -> FicoPolicy:
        if self.contacts.weight > 0:
            raise ValueError(
                "contacts.weight: must be 0: a FICO-like score does not read social contacts"
            )
        if not self.reads_channels:
            raise ValueError("reads_channels: must name the financial channels read: court, tax")
        return self


LIST_REMOVALS = ("time", "payment", "appeal")


class ListPolicy(Model):
    """A list, such as the courts' dishonest judgment debtors: a record of an entry behaviour
    puts its subject on the list; the entry ends when its term is served, the debt is paid, or an
    appeal succeeds, as `removal` allows."""

    type: Literal["list"] = "list"
    name: Name
    entry_behaviours: list[Name] = Field(min_length=1)
    removal: list[Literal["time", "payment", "appeal"]] = Field(
        default_factory=lambda: ["time"], min_length=1
    )
    term_days: Days = 730
    payments_per_year: dict[Literal["low", "middle", "high"], Rate] = Field(default_factory=dict)
    published: bool = True

    @model_validator(mode="after")
    def _check(self) -> ListPolicy:
        if len(set(self.removal)) != len(self.removal):
            raise ValueError("removal: must name each way of removal once")
        if "payment" in self.removal and not any(self.payments_per_year.values()):
            raise ValueError(
                "payments_per_year: removal by payment needs a rate for at least one income band"
            )
        return self


Policy = Annotated[
    PointsPolicy | SesamePolicy | FicoPolicy | ListPolicy, Field(discriminator="type")
]


class Trigger(Model):
    # The score policy whose grades `grade_at_or_below` and `grade_at_or_above` name;
    # None: the first score policy.
    policy: Name | None = None
    grade_at_or_below: Grade | None = None
    grade_at_or_above: Grade | None = None  # for rewards: green lanes for high grades
    on_lists: list[Name] = Field(default_factory=list)  # while on any of these lists
    record_behaviours: list[Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_a_condition(self) -> Trigger:
        if (
            self.grade_at_or_below is None
            and self.grade_at_or_above is None
            and not self.record_behaviours
            and not self.on_lists
        ):
            raise ValueError(
                "grade_at_or_below: a trigger needs at least one of grade_at_or_below, "
                "grade_at_or_above, on_lists or record_behaviours"
            )
        return self


class Purchases(Model):
    kind: Literal["flight", "train"]
    attempts_per_year: dict[Literal["low", "middle", "high"], Rate]


class Sanction(Model):
    """A sanction, or a reward (`kind = "reward"`, e.g. a green lane for high grades)."""

    name: Name
    kind: Literal["sanction", "reward"] = "sanction"
    trigger: Trigger
    duration_days: Days
    reach: Literal["person", "children", "household"] = "person"
    publishes_name: bool = False
    purchases: Purchases | None = None
    appealable: bool = True


class Appeals(Model):
    """Redress: who appeals a sanction, how often it succeeds, after how long, and the
    "insincere apology" ruling that keeps a sanction in place although the appeal succeeded."""

    enabled: bool = False
    share_by_income: dict[Literal["low", "middle", "high"], Share] = Field(default_factory=dict)
    # The appeal share of citizens at or below the primary policy's low grade is multiplied by
    # this (those at the bottom may appeal less, or more).
    low_grade_multiplier: Multiplier = 1.0
    success_rate_wrongful: Share = 0.3
    success_rate_rightful: Share = 0.05
    delay_days: Delay = 90
    insincere_apology_share: Share = 0.0


class Targeting(Model):
    """Unequal by design: a channel that watches some groups more closely, or pools their
    records more fully (as the Integrated Joint Operations Platform is reported to do)."""

    detection_multiplier_by_group: dict[Literal[CHANNELS], dict[Name, Multiplier]] = Field(  # type: ignore[valid-type]
        default_factory=dict
    )
    pooling_multiplier_by_group: dict[Name, Multiplier] = Field(default_factory=dict)


class Exemptions(Model):
    """Officials and the well connected: a share of citizens whose records are dropped or whose
    sanctions are waived."""

    share: Share = 0.0
    share_by_group: dict[Name, Share] = Field(default_factory=dict)
    records_dropped: bool = True
    sanctions_waived: bool = True


class Insider(Model):
    """An insider who changes the scores of a share of citizens on one day."""

    enabled: bool = False
    day: Day = 180
    share: Share = 0.001
    target_group: Name | None = None
    points: Points = -300


class FalseReportCampaign(Model):
    """Coordinated false reports against one group, from a start day on."""

    enabled: bool = False
    target_group: Name | None = None
    reports_per_target_per_year: Annotated[float, Field(ge=0.0, le=100.0)] = 0.05
    start_day: Day = 0
    behaviours: list[Name] = Field(default_factory=list)


class Leak(Model):
    """A database left open: a share of the records made up to a day is exposed."""

    enabled: bool = False
    day: Day = 300
    share_of_records: Share = 0.1


class ScoreSwap(Model):
    """A hack that swaps the scores of the top and the bottom citizens on one day."""

    enabled: bool = False
    day: Day = 200
    share: Share = 0.001


class Attacks(Model):
    insider: Insider = Insider()
    false_reports: FalseReportCampaign = FalseReportCampaign()
    leak: Leak = Leak()
    score_swap: ScoreSwap = ScoreSwap()


class Deterrence(Model):
    enabled: bool = True
    elasticity_by_category: dict[Name, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict
    )
    secret_rules_awareness: Share = 0.5


class Gaming(Model):
    """Point-earning acts done for the points: each merit with positive points becomes more
    frequent by `uplift` (by `uplift` × the deterrence's secret_rules_awareness when secret)."""

    enabled: bool = True
    uplift: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0


class Informing(Model):
    """Informing when it pays: reports rise by `uplift` when informing earns points."""

    enabled: bool = True
    uplift: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0


class GivingUp(Model):
    """Citizens stuck at or below a grade stop caring: deterrence no longer holds them back."""

    enabled: bool = False
    grade: Grade | None = None  # the grade at or below which citizens give up; None: the lowest


class Response(Model):
    enabled: bool = True  # switches every response off at once
    deterrence: Deterrence = Deterrence()
    giving_up: GivingUp = GivingUp()
    gaming: Gaming = Gaming()
    informing: Informing = Informing()


class Audit(Model):
    # "largest", "least-sanctioned", or a group's name
    reference_group: Annotated[str, Field(min_length=1, max_length=64)] = "largest"
    four_fifths_threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    bootstrap_replicates: Annotated[int, Field(ge=0, le=100_000)] = 1000
    confidence: Annotated[float, Field(ge=0.5, le=0.999)] = 0.95


class Scenario(Model):
    name: Name = "custom"
    description: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    system_enabled: bool = True
    run: RunSettings = RunSettings()
    regions: list[Region] = Field(min_length=1, max_length=MAX_REGIONS)
    groups: list[Group] = Field(min_length=1, max_length=MAX_GROUPS)
    households: Households = Households()
    income: Income = Income()
    propensity: Propensity = Propensity()
    behaviours: list[Behaviour] = Field(min_length=1, max_length=MAX_BEHAVIOURS)
    channels: Channels = Channels()
    # Scoring policies, side by side on the same record stream; the first score policy is the
    # primary one (its grades drive appeals and giving up; its publication, perception).
    policies: list[Policy] = Field(min_length=1)
    sanctions: list[Sanction] = Field(default_factory=list)
    appeals: Appeals = Appeals()
    targeting: Targeting = Targeting()
    exemptions: Exemptions = Exemptions()
    attacks: Attacks = Attacks()
    response: Response = Response()
    audit: Audit = Audit()

    @model_validator(mode="before")
    @classmethod
    def _single_policy(cls, data):
        """`[policy]` (one points policy) is short for `[[policies]]` holding just it."""
        if isinstance(data, dict) and "policy" in data:
            if "policies" in data:
                raise ValueError("policy: give either `policy` or `policies`, not both")
            data = dict(data)
            single = data.pop("policy")
            if isinstance(single, dict):
                single = {"type": "points", **single}
            data["policies"] = [single]
        return data

    @property
    def score_policies(self) -> list[ScorePolicy]:
        return [p for p in self.policies if not isinstance(p, ListPolicy)]

    @property
    def list_policies(self) -> list[ListPolicy]:
        return [p for p in self.policies if isinstance(p, ListPolicy)]

    @property
    def policy(self) -> ScorePolicy:
        """The primary score policy: the first."""
        return self.score_policies[0]

    def score_policy(self, name: str | None) -> ScorePolicy:
        if name is None:
            return self.policy
        return next(p for p in self.score_policies if p.name == name)

    def responding(self) -> bool:
        """Whether citizens respond at all: there is a system, and responses are on."""
        return self.system_enabled and self.response.enabled

    def perceived_share(self) -> float:
        """How much of what the system does citizens perceive: all if the rules are published."""
        if self.policy.published:
            return 1.0
        return self.response.deterrence.secret_rules_awareness

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        _unique("policies", [p.name for p in self.policies])
        if not self.score_policies:
            raise ValueError("policies: at least one score policy (points, sesame or fico)")
        _unique("regions", [r.name for r in self.regions])
        _unique("groups", [g.name for g in self.groups])
        _unique("behaviours", [b.name for b in self.behaviours])
        _unique("sanctions", [s.name for s in self.sanctions])
        _sums_to_one("regions.population_share", [r.population_share for r in self.regions])
        _sums_to_one("groups.share", [g.share for g in self.groups])
        groups = {g.name for g in self.groups}
        for region in self.regions:
            if region.group_shares is not None:
                _known(f"regions[{region.name}].group_shares", region.group_shares, groups)
                _sums_to_one(
                    f"regions[{region.name}].group_shares", list(region.group_shares.values())
                )
        _known(
            "channels.camera.fpir_multiplier_by_group",
            self.channels.camera.fpir_multiplier_by_group,
            groups,
        )
        for channel, table in self.targeting.detection_multiplier_by_group.items():
            _known(f"targeting.detection_multiplier_by_group.{channel}", table, groups)
        _known(
            "targeting.pooling_multiplier_by_group",
            self.targeting.pooling_multiplier_by_group,
            groups,
        )
        _known("exemptions.share_by_group", self.exemptions.share_by_group, groups)
        for field, target in (
            ("attacks.insider.target_group", self.attacks.insider.target_group),
            ("attacks.false_reports.target_group", self.attacks.false_reports.target_group),
        ):
            if target is not None and target not in groups:
                raise ValueError(f"{field}: unknown group {target!r}; allowed: {sorted(groups)}")
        categories = {b.category for b in self.behaviours}
        _known(
            "response.deterrence.elasticity_by_category",
            self.response.deterrence.elasticity_by_category,
            categories,
        )
        behaviours = {b.name for b in self.behaviours}
        _check_policies_of(self, behaviours)
        grades = [band.grade for band in self.policy.grades]
        campaign = self.attacks.false_reports
        _known("attacks.false_reports.behaviours", campaign.behaviours, behaviours)
        if campaign.enabled and not campaign.behaviours:
            raise ValueError("attacks.false_reports.behaviours: must name the behaviours reported")
        scores = {p.name: p for p in self.score_policies}
        lists = {p.name for p in self.list_policies}
        for sanction in self.sanctions:
            where = f"sanctions[{sanction.name}].trigger"
            trigger = sanction.trigger
            _known(f"{where}.record_behaviours", trigger.record_behaviours, behaviours)
            _known(f"{where}.on_lists", trigger.on_lists, lists)
            if trigger.policy is not None and trigger.policy not in scores:
                raise ValueError(
                    f"{where}.policy: unknown score policy {trigger.policy!r}; "
                    f"allowed: {sorted(scores)}"
                )
            policy = self.score_policy(trigger.policy)
            _check_grade_trigger(where, policy, trigger.grade_at_or_below, below=True)
            _check_grade_trigger(where, policy, trigger.grade_at_or_above, below=False)
        rules = {"largest", "least-sanctioned"}
        giving_up = self.response.giving_up.grade
        if giving_up is not None and giving_up not in grades:
            raise ValueError(
                f"response.giving_up.grade: unknown grade {giving_up!r}; allowed: {grades}"
            )
        if self.audit.reference_group not in rules | groups:
            raise ValueError(
                f"audit.reference_group: unknown group {self.audit.reference_group!r}; "
                f"allowed: largest, least-sanctioned, or a group: {sorted(groups)}"
            )
        camera = self.channels.camera
        worst = max([1.0, *camera.fpir_multiplier_by_group.values()])
        if camera.true_identification_rate + fpir(camera, 1.0) * worst > 1.0:
            raise ValueError(
                "channels.camera.true_identification_rate: plus the largest group's FPIR "
                "it must not exceed 1"
            )
        return self


def _check_grade_trigger(where: str, policy: ScorePolicy, grade: str | None, below: bool) -> None:
    if grade is None:
        return
    field = f"{where}.grade_at_or_{'below' if below else 'above'}"
    grades = [band.grade for band in policy.grades]
    if grade not in grades:
        raise ValueError(
            f"{field}: unknown grade {grade!r} of policy {policy.name!r}; allowed: {grades}"
        )
    index, start = policy.grade_of(grade), policy.start_grade()
    if (index <= start) if below else (index >= start):
        raise ValueError(
            f"{field}: {grade!r} must be {'below' if below else 'above'} the grade of the "
            f"starting score of policy {policy.name!r} ({grades[start]!r})"
        )


def fpir(camera: Camera, group_multiplier: float) -> float:
    """False-positive identification rate of a 1:N search: grows with the gallery (NIST IR 8280)."""
    growth = (camera.gallery_size / camera.reference_gallery) ** camera.fpir_gallery_exponent
    return min(1.0, camera.fpir_reference * growth * group_multiplier)


def _check_policies_of(scenario: Scenario, behaviours: set[str]) -> None:
    kinds = behaviours | set(EXTRA_RECORD_KINDS)
    for policy in scenario.policies:
        where = f"policies[{policy.name}]"
        if isinstance(policy, ListPolicy):
            _known(f"{where}.entry_behaviours", policy.entry_behaviours, behaviours)
        else:
            _known(f"{where}.points", policy.points, kinds)


def _unique(field: str, names: list[str]) -> None:
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise ValueError(f"{field}: duplicate names {sorted(seen)}; each name must be unique")


def _sums_to_one(field: str, values: list[float]) -> None:
    total = sum(values)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{field}: must sum to 1 (got {total:.6g})")


def _known(field: str, keys, allowed: set[str]) -> None:
    unknown = sorted(set(keys) - allowed)
    if unknown:
        raise ValueError(f"{field}: unknown names {unknown}; allowed: {sorted(allowed)}")
