"""From true events to the records the system holds: the channels observe, attackers fabricate,
exempt citizens' records are dropped. From here on the shard works on the host."""

from __future__ import annotations

import numpy as np

from creditsim.attacks import inject
from creditsim.engine.phased import observe_phased
from creditsim.engine.stage import stage, with_system
from creditsim.engine.state import ShardState
from creditsim.exemptions import exempt_citizens


@stage(
    "channels",
    reads=("phases", "pop", "events", "days", "seed", "shard"),
    writes=("records",),
    purposes=("channel:{channel}", "channel:pooling"),
    enabled=with_system,
)
def channels(state: ShardState) -> None:
    """Events -> records: cameras, plates, offices, platforms and informants observe the
    events, imperfectly, and the pooling passes some on; each record keeps its true actor."""
    s = state
    records = observe_phased(s.phases, s.pop, s.events, s.days, s.seed, s.shard)
    state.records = records.to_host()


@stage("host", reads=("scenario", "pop", "events"), writes=("pop", "events", "cells"))
def host(state: ShardState) -> None:
    """The citizens and their events on the host (what follows works on far fewer items), and
    each citizen's (region, group) cell, by which the time series count."""
    state.pop, state.events = state.pop.to_host(), state.events.to_host()
    state.cells = state.pop.region_group(len(state.scenario.groups))


@stage(
    "attacks",
    reads=("scenario", "pop", "records", "days", "seed", "shard"),
    writes=("records",),
    purposes=("attack:insider", "attack:false-reports"),
    enabled=with_system,
)
def attacks(state: ShardState) -> None:
    """Fabricated records: an insider's changes, coordinated false reports against a group."""
    s = state
    s.records = inject(s.scenario, s.pop, s.records, s.days, s.seed, s.shard)


@stage(
    "exemptions",
    reads=("scenario", "pop", "records", "seed", "shard"),
    writes=("exempt", "records"),
    purposes=("exemptions",),
)
def exemptions(state: ShardState) -> None:
    """Who is exempt (officials, say), and, where the scenario says so, their records dropped."""
    scenario = state.scenario
    exempt = exempt_citizens(scenario, state.pop, state.seed, state.shard)
    if scenario.exemptions.records_dropped and exempt.any():
        state.records = state.records.take(np.flatnonzero(~exempt[state.records.subject]))
    state.exempt = exempt
