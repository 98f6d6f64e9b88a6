"""Targeted surveillance: multipliers by demographic group on a channel's detection or on
pooling, applied per event or record (1 where the scenario sets none)."""

from __future__ import annotations

from creditsim.arrays.backend import namespace
from creditsim.scenario.schema import Scenario


def group_multiplier(table: dict[str, float], scenario: Scenario, group):
    """The multiplier of each item's group, or 1.0 when no group is targeted."""
    if not table:
        return 1.0
    xp = namespace(group)
    values = xp.asarray([table.get(g.name, 1.0) for g in scenario.groups])
    return values[group]
