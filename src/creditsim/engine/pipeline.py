"""The order of a shard's run: the system's own flow, one stage a line.

    population → behaviours → response (deterrence) → channels → attacks → exemptions
    → policies (their rules; giving up; scores, grades, list entries)
    → sanctions (lists, impositions, appeals, purchases) → outputs (the tables)

The citizens' response comes in two places: deterrence thins the events before any channel sees
them, and giving up, which needs the records and the primary policy's rule, brings some of the
held-back offences back before the policies read the final records.

Each stage is a function of the shard's state (`engine/state.py`) with its contract
(`engine/stage.py`): what it reads and writes, the random streams it draws from, when it runs
and what it tallies. `run_shard` (`engine/shard.py`) runs them in this order, timing each under
its name; progress is reported by the same names. Random streams are keyed by purpose, not by
order, but the order is also what each stage may read: a stage reads only what the stages
before it wrote (checked below, at import).

To add a stage: write it as a function of the state with `@stage(...)`, next to the stages of
its part of the flow (`engine/stages/` for the model, `engine/tables/` for the outputs), and put
it here where it belongs in the flow.
"""

from __future__ import annotations

from creditsim.engine.stage import Stage, check
from creditsim.engine.stages.citizens import behaviours, calendar, population
from creditsim.engine.stages.policies import policies, rules
from creditsim.engine.stages.records import attacks, channels, exemptions, host
from creditsim.engine.stages.response import deterrence, giving_up
from creditsim.engine.stages.sanctions import appeals, lists, purchases, sanctions
from creditsim.engine.state import INPUTS
from creditsim.engine.tables.counts import counts
from creditsim.engine.tables.outcomes import (
    behaviour_change,
    leak,
    list_outcomes,
    outputs,
    sanction_outcomes,
)
from creditsim.engine.tables.standing import standing

PIPELINE: tuple[Stage, ...] = (
    calendar,  # the scenario in force in each dated phase of the run
    # The citizens and what they do
    population,  # citizens in households: regions, groups, ages, incomes, propensities
    behaviours,  # true events, drawn sparsely (and acts done only for the points)
    deterrence,  # response: the offences perceived detection holds back
    # What the system records
    channels,  # events -> records, imperfectly (system only)
    host,  # from here on, on the host
    attacks,  # fabricated records: insider, false reports (system only)
    exemptions,  # who is exempt; their records dropped where the scenario says
    # What the policies make of it
    rules,  # each policy made concrete for the shard's citizens
    giving_up,  # response: the sunk stop caring, and their held-back offences happen
    policies,  # records -> scores, grades, list entries, in the three worlds (system only)
    # What is done to the citizens
    lists,  # list entries waived for the exempt, appealed
    sanctions,  # grades, lists, records -> sanctions, in the three worlds (system only)
    appeals,  # appeals end some sanctions early
    purchases,  # purchases denied under a ban
    # The outputs
    counts,  # per-citizen columns; events and records per period and stratum
    standing,  # scores, grades, histograms; who each policy punished; grade mobility
    leak,  # records exposed by an open database
    behaviour_change,  # events without and with the system (a paired difference)
    list_outcomes,  # who was listed, rightly or not, and how entries ended
    sanction_outcomes,  # who was sanctioned, rightly or not, appealed, denied purchases
    outputs,  # any sanction, households and children reached; the shard's result
)

check(PIPELINE, INPUTS)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in PIPELINE)

__all__ = ["PIPELINE", "STAGE_NAMES"]
