"""Targeted surveillance: multipliers by demographic group on a channel's detection or on
pooling, applied per event or record (1 where the scenario sets none)."""

from __future__ import annotations

from creditsim.arrays.backend import namespace
from creditsim.scenario.schema import Scenario


def group_multiplier(table: dict[str, float], scenario: Scenario, group, who):
    """The multiplier of the group of each citizen of `who` (`group` is the citizens'), or 1.0
    when no group is targeted: then no citizen's group is looked up."""
    if not table:
        return 1.0
    xp = namespace(group)
    values = xp.asarray([table.get(g.name, 1.0) for g in scenario.groups])
    return values[group[who]]
