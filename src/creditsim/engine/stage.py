"""The contract every stage of a shard's run keeps.

A stage is one step of the system's flow (population, behaviours, channels, ...) over a shard's
state (`engine/state.py`). It declares:

- `reads` and `writes`: the fields of the state it reads and the fields it sets;
- `purposes`: the random streams it draws from, as templates such as `"behaviour:{behaviour}"`
  whose `{...}` parts are names from the scenario. Streams are keyed by seed, shard and purpose,
  so a purpose drawn by two stages would hand both the same numbers: no two stages share one;
- `redraws`: purposes of an earlier stage that it draws from again, on purpose. A keyed draw
  (`keyed` in `arrays/streams.py`) gives the same number to the same identity, so a stage that
  decides again what an earlier one decided for other items (giving up observes the offences
  that come back with the channels' own draws) redraws that stage's purposes: an item meets the
  draws it would have met in the earlier stage;
- `enabled(scenario)`: whether it runs for this scenario (most stages need the system on);
- `tallies`: the additive tallies it adds to the shard's tables (templates too).

`engine/pipeline.py` lists the stages in order; `check` below is how that list is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from creditsim.scenario.schema import Scenario

if TYPE_CHECKING:
    from creditsim.engine.state import ShardState

Run = Callable[["ShardState"], None]
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def always(scenario: Scenario) -> bool:
    return True


def with_system(scenario: Scenario) -> bool:
    """Stages that exist only where there is a system (no system: no records, no scores)."""
    return scenario.system_enabled


@dataclass(frozen=True)
class Stage:
    """One stage: its name (in timings and progress), what it runs, and its declarations."""

    name: str
    run: Run
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    purposes: tuple[str, ...] = ()
    tallies: tuple[str, ...] = ()
    enabled: Callable[[Scenario], bool] = always
    redraws: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The first paragraph of the stage's docstring: what it does."""
        first = (self.run.__doc__ or "").strip().split("\n\n")[0]
        return " ".join(line.strip() for line in first.splitlines())


def stage(
    name: str,
    *,
    reads: Iterable[str],
    writes: Iterable[str],
    purposes: Iterable[str] = (),
    tallies: Iterable[str] = (),
    enabled: Callable[[Scenario], bool] = always,
    redraws: Iterable[str] = (),
) -> Callable[[Run], Stage]:
    """Makes a function of the shard's state into a stage: `@stage("channels", reads=...)`."""

    def make(run: Run) -> Stage:
        return Stage(
            name, run, tuple(reads), tuple(writes), tuple(purposes), tuple(tallies), enabled,
            tuple(redraws),
        )  # fmt: skip

    return make


def purpose_pattern(template: str) -> re.Pattern[str]:
    """The purposes a template stands for: each `{...}` is one name (names have no colon)."""
    parts = _PLACEHOLDER.split(template)
    return re.compile("[^:]+".join(re.escape(part) for part in parts))


def check(pipeline: Iterable[Stage], inputs: Iterable[str]) -> None:
    """Raises ValueError unless the stages have distinct names, no purpose is declared by two
    stages (no purpose of one matches a template of another), and each stage reads only inputs
    and fields that an earlier stage writes, and what a stage redraws is an earlier stage's."""
    stages = list(pipeline)
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names repeat: {names}")
    owner: dict[str, str] = {}
    for s in stages:
        for template in s.purposes:
            if template in owner:
                raise ValueError(f"purpose {template!r} of {s.name!r} is {owner[template]!r}'s")
            owner[template] = s.name
    for template, name in owner.items():
        example = _PLACEHOLDER.sub("x", template)
        for other, other_name in owner.items():
            if other_name != name and purpose_pattern(other).fullmatch(example):
                raise ValueError(f"purposes {template!r} ({name}) and {other!r} overlap")
    declared: set[str] = set()
    for s in stages:
        for template in s.redraws:
            if template not in declared:
                raise ValueError(f"{s.name!r} redraws {template!r}: no stage before draws it")
        declared |= set(s.purposes)
    known = set(inputs)
    for s in stages:
        missing = set(s.reads) - known
        if missing:
            raise ValueError(f"stage {s.name!r} reads {sorted(missing)}: no stage before writes")
        known |= set(s.writes)


__all__ = ["Stage", "always", "check", "purpose_pattern", "stage", "with_system"]
