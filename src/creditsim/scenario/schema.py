"""Typed scenario: every parameter of the model, validated before anything runs.

Every model forbids unknown fields, so a misspelt key is an error rather than a silent default.
Types are strict: a boolean is not a number, a number or a string is not a flag, a string is not
a number and a fraction is not a whole number (a whole number is a number). NaN and infinities
are refused. Every number has bounds that the engine honours: each is named below with the
reason for it, so that the message for a value out of bounds says what is allowed.
"""

from __future__ import annotations

import datetime
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
# The citizens the published figures count (reference: population): runs are scaled to it.
POPULATION = 1_400_000_000
# Assumption ranges: at most this many (each is a dimension of an uncertainty analysis, whose
# runs grow with their number); a path is a few field names.
MAX_ASSUMPTIONS = 200
MAX_PATH = 300
# The ends of a range: no field of a scenario holds a larger number (the largest, a gallery, is
# at most MAX_GALLERY).
MAX_RANGE_END = 1e12
RangeEnd = Annotated[float, Field(ge=-MAX_RANGE_END, le=MAX_RANGE_END)]
# Dated phases of a timeline: each is resolved into a whole scenario when the run starts.
MAX_PHASES = 100

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
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        allow_inf_nan=False,
        defer_build=True,
        # The string under each field is its description, read on demand by
        # scenario/descriptions.py (not here: parsing the source would slow every start); the
        # scenario reference is generated from them (tests/test_docs.py checks every field).
    )


class RunSettings(Model):
    """Defaults for a run; the CLI and `creditsim.run` may override them."""

    population: Annotated[int, Field(gt=0, le=MAX_POPULATION)] = 100_000
    """Citizens to simulate (the CLI's --population overrides it)."""
    years: Annotated[float, Field(gt=0.0, le=MAX_YEARS)] = 1.0
    """Years to simulate, from `start_date` (day 0); days are years × 365, rounded."""
    start_date: datetime.date = datetime.date(2018, 1, 1)
    """The calendar date of day 0: outputs carry dates, summaries come by calendar year, and the
    timeline's phases are dated from it."""
    report_from: datetime.date | None = None
    """The first day of the period of interest: the years before it are history, run so that
    its stocks (people listed, banned) come from the dynamics, and reported apart. Not set: the
    whole run is the period of interest."""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    """The random seed: the same seed gives the same citizens and chances (common random
    numbers)."""
    timeseries_every_days: Annotated[int, Field(ge=1, le=365)] = 7
    """Length in days of each period of the time series (7: weekly)."""
    shard_size: Annotated[int, Field(ge=1000, le=MAX_SHARD_SIZE)] = 1_000_000
    """Most citizens in a shard; memory is bounded by it, and shards run in parallel with
    workers."""
    # Which citizen rows to write: all, none, or a fraction (a random sample; the time series
    # and the audit always cover everyone).
    citizen_rows: Literal["all", "none"] | Annotated[float, Field(gt=0.0, le=1.0)] = "all"
    """Which citizen rows to write: all, none, or a fraction (a random sample, the same citizens
    whatever the number of workers); the time series and the audit always cover everyone."""

    @field_validator("start_date", "report_from", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return _date(value)

    @model_validator(mode="after")
    def _report_within(self) -> RunSettings:
        if self.report_from is not None and self.report_from < self.start_date:
            raise ValueError(
                f"report_from: {self.report_from} is before the run's start_date "
                f"({self.start_date}); the period of interest must lie within the run"
            )
        return self


class Region(Model):
    name: Name
    """The region's name, used in the outputs and by targeting and sweeps (`regions.NAME.field`)."""
    population_share: Annotated[float, Field(gt=0.0, le=1.0)]
    """The share of citizens (households) who live in the region; the regions' shares sum to 1."""
    urban_share: Share
    """The share of the region's households that are urban: it sets their income bands
    (`income`)."""
    cameras_per_1000: Annotated[float, Field(ge=0.0, le=MAX_CAMERAS_PER_1000)]
    """Cameras per 1,000 people at day 0: an event is in a camera's view with the chance 1 -
    exp(-coverage_per_camera_per_1000 × cameras)."""
    camera_growth_per_year: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    """Yearly growth of the camera density: cameras × (1 + growth) ** (years since
    `cameras_from`)."""
    cameras_from: datetime.date | None = None
    """The date on which `cameras_per_1000` is counted, from which the growth runs (before it,
    fewer cameras at the same rate); not set: the run's start date. A timeline phase that sets
    new camera figures sets this to its own date."""

    @field_validator("cameras_from", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return _date(value)

    pooling_share: Share = 1.0
    """The share of the region's records that reach the national system (times any pooling
    multiplier of the record's group, `targeting`)."""
    group_shares: dict[Name, Share] | None = None
    """Shares of each demographic group in the region (summing to 1); not set: the groups'
    national `share`."""


class Group(Model):
    name: Name
    """The demographic group's name. Groups behave alike; the audit compares them (disparity)."""
    share: Share
    """The group's share of citizens where a region gives no `group_shares` of its own; the
    shares sum to 1."""


class Households(Model):
    couple_share: Share = 0.8
    """The share of households whose head lives with a spouse (a second adult)."""
    children_probabilities: list[Share] = Field(
        default_factory=lambda: [0.35, 0.4, 0.2, 0.05], min_length=1, max_length=8
    )
    """The chance that a household has 0, 1, 2, ... children (summing to 1)."""
    seniors_probabilities: list[Share] = Field(
        default_factory=lambda: [0.7, 0.2, 0.1], min_length=1, max_length=4
    )
    """The chance that a household has 0, 1, 2, ... seniors living with it (summing to 1)."""
    young_adult_share: Share = 0.4
    """The share of adults (households' heads and spouses) in the `young` age band rather than
    `adult`."""

    @model_validator(mode="after")
    def _probabilities_sum_to_one(self) -> Households:
        for field in ("children_probabilities", "seniors_probabilities"):
            total = sum(getattr(self, field))
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"{field}: must sum to 1 (got {total:.6g})")
        return self


class Income(Model):
    urban_shares: list[Share] = Field(default_factory=lambda: [0.3, 0.5, 0.2])
    """The shares of urban households in the low, middle and high income bands (summing to 1)."""
    rural_shares: list[Share] = Field(default_factory=lambda: [0.6, 0.35, 0.05])
    """The shares of rural households in the low, middle and high income bands (summing to 1)."""

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
    """The distribution of each citizen's latent propensity per behaviour category (gamma, with
    mean 1)."""
    shape: Annotated[float, Field(ge=MIN_PROPENSITY_SHAPE, le=1000.0)] = 1.0
    """The gamma's shape: 1 is exponential (a minority commits most offences); larger is more
    even."""


class Behaviour(Model):
    name: Name
    """The behaviour's name: a record kind that policies price, triggers name and lists enter on."""
    category: Name
    """Its category (financial, transport, traffic, civic, online, speech, merit, ...):
    propensity, deterrence and the audit group behaviours by it."""
    rate_per_year: Rate
    """True events per person-year, before the age multipliers and the propensity."""
    offence: bool = True
    """Whether it is an offence (false for merits: blood donation, volunteering); deterrence
    holds back offences only."""
    age_multipliers: dict[Literal["child", "young", "adult", "senior"], Multiplier] = Field(
        default_factory=dict
    )
    """The rate's multiplier by age band (child, young, adult, senior); a band not named has 1."""
    propensity_weight: bool = True
    """Whether who does it is weighted by the citizen's propensity for its category (otherwise
    uniform)."""
    channels: list[Literal[CHANNELS]] = Field(default_factory=list)  # type: ignore[valid-type]
    """The channels that can see it and turn it into records (none: it is never recorded)."""
    points: Points = 0
    """Its points per record under a points policy that prices it no other way (negative: a
    deduction)."""


class Camera(Model):
    enabled: bool = True
    """Whether the channel records anything."""
    coverage_per_camera_per_1000: Annotated[float, Field(ge=0.0, le=1.0)] = 0.002
    """How much of public life one camera per 1,000 people sees: an event is in view with the
    chance 1 - exp(-this × cameras per 1,000)."""
    true_identification_rate: Share = 0.9
    """The chance that a face in view is matched to the right citizen where no wrong candidate
    takes the search: the right-match rate is this times (1 - the group's FPIR)."""
    fpir_reference: Share = 0.002
    """The false-positive identification rate (a match to a wrong citizen) on the reference
    gallery, before the group multipliers."""
    reference_gallery: Annotated[float, Field(ge=1.0, le=MAX_GALLERY)] = 1.2e7
    """The gallery size at which `fpir_reference` holds."""
    gallery_size: Annotated[float, Field(ge=1.0, le=MAX_GALLERY)] = 1.3e9
    """The size of the gallery searched (1.3 billion ID photos): the FPIR grows as (gallery_size
    / reference_gallery) ** fpir_gallery_exponent."""
    fpir_gallery_exponent: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3
    """How fast the FPIR grows with the gallery's size (0: not at all)."""
    fpir_multiplier_by_group: dict[Name, Multiplier] = Field(default_factory=dict)
    """The multiplier of the wrong-match hazard for each demographic group (a group not named has
    1): NIST IR 8280 measured factors of 10 to 100, all accepted, as the FPIR is 1 - exp(-hazard)
    and the right-match rate falls as it rises. A false match records the event against another
    adult of the same group."""


class Plate(Model):
    enabled: bool = True
    """Whether the channel records anything."""
    read_rate: Share = 0.9
    """The chance that the plate of a traffic offence in a camera's view is read."""
    other_driver_share: Share = 0.2
    """The chance that a read offence was driven by someone other than the car's owner (the
    household's head): the record goes to the owner."""


class DetectionChannel(Model):
    enabled: bool = True
    """Whether the channel records anything."""
    detect_rate: Share = 0.5
    """The chance that an event this channel can see is recorded (against the right citizen: it
    checks identity)."""
    delay_days: Delay = 0
    """Days from the event until its record reaches the system."""


class Platform(Model):
    enabled: bool = True
    """Whether the channel records anything."""
    recall: Share = 0.6
    """The share of true events the classifier flags."""
    precision: Annotated[float, Field(gt=0.0, le=1.0)] = 0.9
    """The share of flags that are true: for every true flag, (1 - precision) / precision false
    ones land on citizens who did nothing."""


class Informant(Model):
    enabled: bool = True
    """Whether the channel records anything."""
    report_rate: Share = 0.02
    """The chance that an event informants can see is reported (times any targeting and the
    informing response)."""
    false_share: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    """The share of reports that are false or malicious: fabricated records against random
    adults."""
    informer_points: Points = 0
    """Points a points policy gives an informer for each report (a record of informing); above 0,
    informing pays."""


class Merges(Model):
    enabled: bool = True
    """Whether records are merged at all."""
    rate: Share = 0.001
    """The share of pooled records merged onto another adult of the same region (a namesake)."""


class Channels(Model):
    camera: Camera = Camera()
    """Cameras with 1:N face identification."""
    plate: Plate = Plate()
    """Vehicle recognition for traffic offences."""
    transport: DetectionChannel = DetectionChannel(detect_rate=0.3)
    """Transport operators' ticket and identity checks."""
    court: DetectionChannel = DetectionChannel(detect_rate=0.8, delay_days=90)
    """Courts: judgments, and the list of dishonest judgment debtors."""
    tax: DetectionChannel = DetectionChannel(detect_rate=0.2, delay_days=180)
    """Tax offices."""
    platform: Platform = Platform()
    """Platform monitoring of purchases, gaming time and posts, by a classifier."""
    informant: Informant = Informant()
    """Informant apps: citizens reporting others."""
    registry: DetectionChannel = DetectionChannel(detect_rate=0.7)
    """Civil registries that log merits (blood donation, volunteering)."""
    merges: Merges = Merges()
    """Data errors: records merged onto a citizen of the same name."""


class GradeBand(Model):
    grade: Grade
    """The grade's name (AAA, D, poor, ...)."""
    min_score: Score
    """The lowest score of the grade; bands are listed from the highest to the lowest."""


class Contacts(Model):
    """Social contacts whose scores pull one's own (Sesame Credit reads them): the household,
    and a random contact network with a set mean degree."""

    weight: Share = 0.0  # the share of the score that is the mean of the contacts' scores
    """The share of the shown score that is the mean score of one's contacts (0: contacts do not
    count)."""
    household: bool = True
    """Whether the members of one's household are contacts."""
    mean_degree: Annotated[float, Field(ge=0.0, le=200.0)] = 0.0
    """The mean number of random contacts outside the household (a random network)."""


# Record kinds a score policy may price besides behaviours.
EXTRA_RECORD_KINDS = ("informed", "insider")


class ScorePolicy(Model):
    """A score read from the record stream: a start (plus fixed parts for ability to pay and
    personal characteristics), a delta per record kind, bounds, grade bands, and optionally
    restoration of deductions and a pull towards the scores of one's contacts."""

    name: Name
    """The policy's name: score columns, triggers and the audit name it."""
    start: Score
    """Every citizen's starting score, before income and age points."""
    minimum: Score
    """The lowest score."""
    maximum: Score
    """The highest score."""
    grades: list[GradeBand] = Field(min_length=1, max_length=MAX_GRADES)
    """The grade bands, from the highest `min_score` to the lowest; the lowest must cover
    `minimum`."""
    # Points per record kind (a behaviour's name, "informed" or "insider"); a points policy
    # falls back to each behaviour's own `points`, the informant's `informer_points` and the
    # insider's `points`; other policies count only the kinds named here.
    points: dict[Name, Points] = Field(default_factory=dict)
    """Points per record kind (a behaviour's name, `informed` or `insider`). A points policy
    falls back to each behaviour's own `points`, the informant's `informer_points` and the
    insider's `points`; other policies count only the kinds named here."""
    reads_channels: list[Literal[CHANNELS]] | None = None  # type: ignore[valid-type]
    """The channels whose records the policy reads; not set: every channel."""
    income_points: dict[Literal["low", "middle", "high"], Points] = Field(default_factory=dict)
    """Fixed points by income band (ability to pay), added to the start."""
    age_points: dict[Literal["child", "young", "adult", "senior"], Points] = Field(
        default_factory=dict
    )
    """Fixed points by age band (personal characteristics, length of credit history), added to
    the start."""
    contacts: Contacts = Contacts()
    """Social contacts whose scores pull one's own (as Sesame Credit reads them)."""
    restore_after_days: Days | None = None
    """Deductions are restored after this many days without a new record against the citizen; not
    set: never restored."""
    regions: list[Name] | None = None
    """The regions whose citizens it scores (a city's pilot, such as Rongcheng's, inside the
    national system); citizens elsewhere keep its starting score. Not set: everyone."""
    published: bool = True
    """Whether the rules are published; secret rules are perceived only in part
    (`response.deterrence.secret_rules_awareness`)."""
    # The grade at or below which the audit counts a citizen as punished by this policy.
    low_grade: Grade | None = None
    """The grade at or below which the audit counts a citizen as punished by the policy; not set:
    the lowest grade."""

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
    """A points policy."""
    name: Name = "points"
    """The policy's name: score columns, triggers and the audit name it."""
    start: Score = 1000
    """Every citizen's starting score (Rongcheng: 1,000), before income and age points."""
    minimum: Score = 0
    """The lowest score."""
    maximum: Score = 2000
    """The highest score."""


def _bands(*pairs: tuple[str, int]) -> list[GradeBand]:
    return [GradeBand(grade=g, min_score=m) for g, m in pairs]


class SesamePolicy(ScorePolicy):
    """A Sesame-Credit-like score, 350 to 950: payment history and consumption (per record kind),
    ability to pay (income), personal characteristics (age) and social contacts."""

    type: Literal["sesame"] = "sesame"
    """A Sesame-Credit-like score."""
    name: Name = "sesame"
    """The policy's name: score columns, triggers and the audit name it."""
    start: Score = 600
    """Every citizen's starting score, before income and age points."""
    minimum: Score = 350
    """The lowest score (Sesame Credit: 350)."""
    maximum: Score = 950
    """The highest score (Sesame Credit: 950)."""
    grades: list[GradeBand] = Field(
        default_factory=lambda: _bands(
            ("excellent", 700), ("very_good", 650), ("good", 600), ("fair", 550), ("poor", 350)
        ),
        min_length=1,
        max_length=MAX_GRADES,
    )
    """The grade bands, from the highest `min_score` to the lowest; the lowest must cover
    `minimum`."""


class FicoPolicy(ScorePolicy):
    """A FICO-like baseline, 300 to 850, that reads financial records only."""

    type: Literal["fico"] = "fico"
    """A FICO-like baseline."""
    name: Name = "fico"
    """The policy's name: score columns, triggers and the audit name it."""
    start: Score = 700
    """Every citizen's starting score, before income and age points."""
    minimum: Score = 300
    """The lowest score (FICO: 300)."""
    maximum: Score = 850
    """The highest score (FICO: 850)."""
    grades: list[GradeBand] = Field(
        default_factory=lambda: _bands(
            ("exceptional", 800), ("very_good", 740), ("good", 670), ("fair", 580), ("poor", 300)
        ),
        min_length=1,
        max_length=MAX_GRADES,
    )
    """The grade bands, from the highest `min_score` to the lowest; the lowest must cover
    `minimum`."""
    reads_channels: list[Literal["court", "tax"]] | None = ["court", "tax"]  # type: ignore[assignment]
    """The financial channels read (court, tax): a FICO-like score reads nothing else."""

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
    """A list."""
    name: Name
    """The list's name: triggers (`on_lists`), columns and the audit name it."""
    entry_behaviours: list[Name] = Field(min_length=1)
    """A record of any of these behaviours puts its subject on the list."""
    removal: list[Literal["time", "payment", "appeal"]] = Field(
        default_factory=lambda: ["time"], min_length=1
    )
    """How an entry ends: `time` (after `term_days`), `payment` (the debt paid, at
    `payments_per_year`), `appeal` (an appeal that succeeds)."""
    term_days: Days = 730
    """Days an entry lasts when removal by `time` applies."""
    payments_per_year: dict[Literal["low", "middle", "high"], Rate] = Field(default_factory=dict)
    """The rate at which a listed citizen pays the debt, by income band (removal by `payment`)."""
    published: bool = True
    """Whether the list is published: its entries appear on the public blacklist."""
    in_force: bool = True
    """Whether the list takes entries: a timeline phase can open it (the debtors' list from
    2013) or close it; only records made while it is in force put anyone on it."""

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
    """The score policy whose grades `grade_at_or_below` and `grade_at_or_above` name; not set:
    the first score policy."""
    grade_at_or_below: Grade | None = None
    """The sanction holds while the citizen's grade is this one or lower (and at least its term)."""
    grade_at_or_above: Grade | None = None  # for rewards: green lanes for high grades
    """For rewards: the reward holds while the grade is this one or higher."""
    on_lists: list[Name] = Field(default_factory=list)  # while on any of these lists
    """The sanction holds while the citizen is on any of these lists."""
    record_behaviours: list[Name] = Field(default_factory=list)
    """A record of any of these behaviours starts the sanction's term on the record's day (a new
    one during a term extends it)."""

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
    """What is bought: flight or train tickets."""
    attempts_per_year: dict[Literal["low", "middle", "high"], Rate]
    """Purchases a citizen tries per year, by income band; every try while banned is denied and
    counted, as the published figures count them."""


class Sanction(Model):
    """A sanction, or a reward (`kind = "reward"`, e.g. a green lane for high grades)."""

    name: Name
    """The sanction's name: columns, the audit and sweeps (`sanctions.NAME.field`) name it."""
    kind: Literal["sanction", "reward"] = "sanction"
    """A sanction, or a reward (a green lane for high grades; not part of "any sanction")."""
    trigger: Trigger
    """What imposes it: a grade, a list, records of named behaviours (any of them)."""
    duration_days: Days
    """Its term in days: how long it lasts at least once triggered."""
    reach: Literal["person", "children", "household"] = "person"
    """Whom it reaches: the person, their children, or the whole household."""
    publishes_name: bool = False
    """Whether it publishes the name on the public blacklist."""
    purchases: Purchases | None = None
    """Ticket purchases it denies (a travel ban); not set: none."""
    appealable: bool = True
    """Whether it can be appealed (`appeals`)."""
    in_force: bool = True
    """Whether it is in force: a timeline phase can bring it in (travel-ban rules from May 2018)
    or end it. On each day, the rules in force that day decide who is under it."""
    regions: list[Name] | None = None
    """The regions where it applies (a city's pilot inside the national system, such as
    Shenzhen's public screens); not set: everywhere."""


class Appeals(Model):
    """Redress: who appeals a sanction, how often it succeeds, after how long, and the
    "insincere apology" ruling that keeps a sanction in place although the appeal succeeded."""

    enabled: bool = False
    """Whether sanctioned citizens appeal at all."""
    share_by_income: dict[Literal["low", "middle", "high"], Share] = Field(default_factory=dict)
    """The share of sanctioned citizens who appeal, by income band (a band not named: none)."""
    # The appeal share of citizens at or below the primary policy's low grade is multiplied by
    # this (those at the bottom may appeal less, or more).
    low_grade_multiplier: Multiplier = 1.0
    """Multiplies the appeal share of citizens at or below the primary policy's low grade (those
    at the bottom may appeal less, or more)."""
    success_rate_wrongful: Share = 0.3
    """The chance that an appeal against a wrongful sanction succeeds."""
    success_rate_rightful: Share = 0.05
    """The chance that an appeal against a sanction that is not wrongful succeeds."""
    delay_days: Delay = 90
    """Days from a sanction's start, when the appeal is filed, to the decision."""
    insincere_apology_share: Share = 0.0
    """The share of successful appeals ruled an "insincere apology": the sanction stays (as Liu
    Hu's did)."""


class Targeting(Model):
    """Unequal by design: a channel that watches some groups more closely, or pools their
    records more fully (as the Integrated Joint Operations Platform is reported to do)."""

    detection_multiplier_by_group: dict[Literal[CHANNELS], dict[Name, Multiplier]] = Field(  # type: ignore[valid-type]
        default_factory=dict
    )
    """Per channel, a multiplier by group on the chance that an event is recorded (cameras: in
    view; informants: reported; other channels: detected)."""
    pooling_multiplier_by_group: dict[Name, Multiplier] = Field(default_factory=dict)
    """A multiplier by group on the chance that a record reaches the national system."""


class Exemptions(Model):
    """Officials and the well connected: a share of citizens whose records are dropped or whose
    sanctions are waived."""

    share: Share = 0.0
    """The share of citizens who are exempt (officials, the well connected)."""
    share_by_group: dict[Name, Share] = Field(default_factory=dict)
    """The exempt share by group, in place of `share` for the groups named."""
    records_dropped: bool = True
    """Whether the exempt citizens' records are dropped before any policy reads them."""
    sanctions_waived: bool = True
    """Whether the exempt citizens' sanctions and list entries are waived."""


class Insider(Model):
    """An insider who changes the scores of a share of citizens on one day."""

    enabled: bool = False
    """Whether the attack happens."""
    day: Day = 180
    """The day of the change."""
    share: Share = 0.001
    """The share of adults (of `target_group`, if set) whose scores are changed."""
    target_group: Name | None = None
    """The group the insider targets; not set: everyone."""
    points: Points = -300
    """The change of each victim's score (an `insider` record; a points policy prices it at this
    unless its `points` table names `insider`)."""


class FalseReportCampaign(Model):
    """Coordinated false reports against one group, from a start day on."""

    enabled: bool = False
    """Whether the campaign happens."""
    target_group: Name | None = None
    """The group reported against; not set: everyone."""
    reports_per_target_per_year: Annotated[float, Field(ge=0.0, le=100.0)] = 0.05
    """False reports per targeted adult and year."""
    start_day: Day = 0
    """The day the campaign starts; it lasts to the end of the run."""
    behaviours: list[Name] = Field(default_factory=list)
    """The behaviours falsely reported (each report one of them, at random)."""


class Leak(Model):
    """A database left open: a share of the records made up to a day is exposed."""

    enabled: bool = False
    """Whether the database is left open."""
    day: Day = 300
    """The day it is found open: records made up to then may be exposed."""
    share_of_records: Share = 0.1
    """The share of those records exposed."""


class ScoreSwap(Model):
    """A hack that swaps the scores of the top and the bottom citizens on one day."""

    enabled: bool = False
    """Whether the hack happens."""
    day: Day = 200
    """The day of the swap (at its end)."""
    share: Share = 0.001
    """The share of citizens at the top and at the bottom of the primary score whose scores are
    swapped."""


class Attacks(Model):
    insider: Insider = Insider()
    """An insider who changes the scores of a share of citizens on one day."""
    false_reports: FalseReportCampaign = FalseReportCampaign()
    """Coordinated false reports against one group."""
    leak: Leak = Leak()
    """A database left open."""
    score_swap: ScoreSwap = ScoreSwap()
    """A hack that swaps the highest and the lowest scores on one day."""


class Deterrence(Model):
    enabled: bool = True
    """Whether citizens offend less when they believe they are watched."""
    elasticity_by_category: dict[Name, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict
    )
    """By behaviour category, how strongly perceived detection holds offences back: each is kept
    with the chance 1 - elasticity × perceived detection (a category not named: 0). Speech:
    chilling."""
    secret_rules_awareness: Share = 0.5
    """Where the primary policy's rules are secret, the share of the true detection that citizens
    perceive."""


class Gaming(Model):
    """Point-earning acts done for the points: each merit with positive points becomes more
    frequent by `uplift` (by `uplift` × the deterrence's secret_rules_awareness when secret)."""

    enabled: bool = True
    """Whether citizens do point-earning acts for the points."""
    uplift: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    """Each merit with positive points becomes more frequent by this share (times the perceived
    share where rules are secret)."""


class Informing(Model):
    """Informing when it pays: reports rise by `uplift` when informing earns points."""

    enabled: bool = True
    """Whether citizens inform more when it pays."""
    uplift: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    """Reports rise by this share when informing earns points (times the perceived share where
    rules are secret)."""


class GivingUp(Model):
    """Citizens stuck at or below a grade stop caring: deterrence no longer holds them back."""

    enabled: bool = False
    """Whether citizens at the bottom stop caring: deterrence no longer holds them back."""
    grade: Grade | None = None  # the grade at or below which citizens give up; None: the lowest
    """The grade of the primary policy at or below which citizens give up; not set: the lowest."""


class Response(Model):
    enabled: bool = True  # switches every response off at once
    """Switches every response off at once: the events are then exactly those without the system."""
    deterrence: Deterrence = Deterrence()
    """Offending less when watched (and the chilling of speech)."""
    giving_up: GivingUp = GivingUp()
    """Citizens at the bottom stop being deterred."""
    gaming: Gaming = Gaming()
    """Point-earning acts done for the points."""
    informing: Informing = Informing()
    """Informing more when it pays."""


class Assumption(Model):
    """A plausible range for a number the real system keeps secret: `creditsim uncertainty`
    draws it from [low, high] and carries the range into an interval on every headline number."""

    path: Annotated[str, Field(max_length=MAX_PATH)]
    """The field, as a dotted path the way `creditsim sweep --set` names it (a named list's entry
    by its name): `channels.camera.fpir_reference`, `behaviours.unpaid_judgment.rate_per_year`,
    `channels.camera.fpir_multiplier_by_group.minority-b`. It must hold a number."""
    low: RangeEnd
    """The lowest plausible value."""
    high: RangeEnd
    """The highest plausible value (above `low`); the scenario's own value lies within."""
    log: bool = False
    """Whether to draw on a log scale, for a range over orders of magnitude (needs `low` > 0)."""
    why: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    """Why this range: its source (an id in the published figures), or "assumption" and the
    reasoning."""

    @model_validator(mode="after")
    def _check(self) -> Assumption:
        parts = self.path.split(".")
        if len(parts) < 2 or not all(part and _path_part(part) for part in parts):
            raise ValueError(
                f"path: must be a dotted path to a field, names (letters, digits, _ and -) "
                f"joined by dots, such as channels.camera.fpir_reference (got {self.path[:60]!r})"
            )
        if not self.low < self.high:
            raise ValueError(
                f"low: must be below high (got low {self.low:g}, high {self.high:g} for "
                f"{self.path})"
            )
        if self.log and self.low <= 0.0:
            raise ValueError(
                f"low: must be above 0 for a log range (got {self.low:g} for {self.path}); "
                "set log = false or raise low"
            )
        return self


class Audit(Model):
    # "largest", "least-sanctioned", or a group's name
    reference_group: Annotated[str, Field(min_length=1, max_length=64)] = "largest"
    """The group every group is compared with: `largest`, `least-sanctioned`, or a group's name."""
    four_fifths_threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    """The disparity band is [threshold, 1 / threshold]: a ratio outside it is flagged (0.8: the
    four-fifths rule)."""
    bootstrap_replicates: Annotated[int, Field(ge=0, le=100_000)] = 1000
    """Draws from each group's posterior behind the intervals of ratios (every disparity, the
    disparate impact); 0: no intervals at all."""
    confidence: Annotated[float, Field(ge=0.5, le=0.999)] = 0.95
    """The confidence level of every interval."""


class Phase(Model):
    """From `date` on, the fields `set` names take the values it gives (dotted paths, as
    `creditsim sweep --set` names them: `sanctions.flight_ban.in_force`,
    `channels.camera.true_identification_rate`, `behaviours.jaywalking.rate_per_year`)."""

    date: datetime.date
    """The first day the phase's settings apply."""
    set: dict[str, Any] = Field(min_length=1)
    """The fields this phase changes, by dotted path, with their new values."""
    note: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    """What happened on this date, and its source."""

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        return _date(value)


class Scenario(Model):
    name: Name = "custom"
    """The scenario's name, in outputs, reports and the catalogue."""
    description: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    """What the scenario is, in words (shown by `creditsim scenarios list` and in reports)."""
    system_enabled: bool = True
    """Whether there is a system at all; false (as in `no-system`): the same citizens and
    behaviour, nothing recorded or sanctioned."""
    run: RunSettings = RunSettings()
    """Defaults for a run."""
    regions: list[Region] = Field(min_length=1, max_length=MAX_REGIONS)
    """The regions."""
    groups: list[Group] = Field(min_length=1, max_length=MAX_GROUPS)
    """The demographic groups."""
    households: Households = Households()
    """How households are made up."""
    income: Income = Income()
    """Income bands by urban and rural households."""
    propensity: Propensity = Propensity()
    """Each citizen's latent propensity per behaviour category."""
    behaviours: list[Behaviour] = Field(min_length=1, max_length=MAX_BEHAVIOURS)
    """The catalogue of behaviours: what citizens truly do."""
    channels: Channels = Channels()
    """The channels that turn true events into records, imperfectly."""
    # Scoring policies, side by side on the same record stream; the first score policy is the
    # primary one (its grades drive appeals and giving up; its publication, perception).
    policies: list[Policy] = Field(min_length=1)
    """Scoring policies and lists, side by side on the same records; the first score policy is
    the primary one (its grades drive appeals and giving up)."""
    sanctions: list[Sanction] = Field(default_factory=list)
    """Sanctions and rewards: trigger, term, reach."""
    appeals: Appeals = Appeals()
    """Appeals and redress."""
    targeting: Targeting = Targeting()
    """Unequal by design: channels that watch some groups more closely."""
    exemptions: Exemptions = Exemptions()
    """Officials and the well connected."""
    attacks: Attacks = Attacks()
    """Attacks on the system and its faults."""
    response: Response = Response()
    """How citizens respond to the system."""
    assumptions: list[Assumption] = Field(default_factory=list, max_length=MAX_ASSUMPTIONS)
    """Plausible ranges for the numbers that are assumptions (`[[assumptions]]`, each field
    once): `creditsim uncertainty` draws them and gives every headline number an interval over
    them, with a ranking of which drive it. The scenario's own value must lie in each range
    when the analysis runs; a sweep or a calibration may move it outside."""
    audit: Audit = Audit()
    """How the audit compares groups."""
    timeline: list[Phase] = Field(default_factory=list, max_length=MAX_PHASES)
    """Dated phases: from each phase's date, the fields it sets take these values (the rest as
    before); phases in date order, after the run's start date."""

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
    def _assumptions_once(self) -> Scenario:
        paths = [assumption.path for assumption in self.assumptions]
        twice = sorted({path for path in paths if paths.count(path) > 1})
        if twice:
            raise ValueError(
                f"assumptions: each field must have one range at most; {twice[0]} has more"
            )
        return self

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
            if sanction.regions is not None:
                regions = {r.name for r in self.regions}
                _known(f"sanctions[{sanction.name}].regions", sanction.regions, regions)
            where = f"sanctions[{sanction.name}].trigger"
            trigger = sanction.trigger
            _known(f"{where}.record_behaviours", trigger.record_behaviours, behaviours)
            _known(f"{where}.on_lists", trigger.on_lists, lists)
            if trigger.policy is not None and trigger.policy not in scores:
                raise ValueError(
                    f"{where}.policy: unknown score policy {trigger.policy!r} (no score policy in "
                    f"`policies` has that name); allowed: {sorted(scores)}"
                )
            policy = self.score_policy(trigger.policy)
            _check_grade_trigger(where, policy, trigger.grade_at_or_below, below=True)
            _check_grade_trigger(where, policy, trigger.grade_at_or_above, below=False)
        _check_timeline(self)
        region_names = {r.name for r in self.regions}
        for policy in self.score_policies:
            if policy.regions is not None:
                _known(f"policies[{policy.name}].regions", policy.regions, region_names)
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
        return self


def _check_timeline(scenario: Scenario) -> None:
    """Phases in date order, each after the run's start date (the scenario itself is day 0)."""
    previous = scenario.run.start_date
    for index, phase in enumerate(scenario.timeline):
        if phase.date <= previous:
            after = "the run's start_date" if index == 0 else "the phase before it"
            raise ValueError(
                f"timeline[{index}].date: {phase.date} must come after {after} ({previous}); "
                "phases are listed in date order"
            )
        previous = phase.date


def _path_part(part: str) -> bool:
    """A segment of a dotted path: a field's, an entry's or a key's name."""
    return all(c.isascii() and (c.isalnum() or c in "_-") for c in part)


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
    """False-positive identification rate of a 1:N search (NIST IR 8280): the chance that a
    wrong candidate takes the search, 1 - exp(-hazard), the hazard growing with the gallery and
    the group's multiplier; exactly `fpir_reference` on the reference gallery at multiplier 1,
    and below 1 at any multiplier (`channels/cameras.py` has the model)."""
    if camera.fpir_reference >= 1.0:
        return 1.0
    growth = (camera.gallery_size / camera.reference_gallery) ** camera.fpir_gallery_exponent
    hazard = -math.log1p(-camera.fpir_reference) * growth * group_multiplier
    return -math.expm1(-hazard)


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


def _date(value: Any) -> Any:
    """An ISO date written as text (JSON, the API) is a date; TOML's bare dates already are."""
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            message = f"{value!r} is not a date; a date must be written YYYY-MM-DD"
            raise ValueError(message) from None
    return value
