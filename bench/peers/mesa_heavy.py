"""The record-heavy peers model as a Mesa model (Mesa 3): one Agent per citizen.

As mesa_model.py (the light model), with what the heavy model adds: each citizen draws a gamma
propensity per behaviour category when created (`model.random.gammavariate`), which sets their
own Poisson rate of each of the six behaviours; face identification matches a wrong citizen of
the same group first (FPIR) and the right one where none did (TIR x (1 - FPIR)).

Time: reference_heavy.STEPS steps of 365/STEPS days (daily by default): a rate r per year at
propensity p gives a Poisson(r p / STEPS) count per citizen per step, drawn by inversion from the
model's seeded `random.Random` (`model.random`); each citizen's chance of no event per step is
computed once, when it is created.

Each step, `model.agents.shuffle_do("step")` lets every citizen, in random order, commit their
events; a record changes its subject's score at once, and a score that first falls below 900
starts a 365-day flight ban. Then the banned citizens (an AgentSet) try to book flights, Poisson
at 2 a year (half a step's worth in the step the ban starts).

    python bench/peers/mesa_heavy.py 20000 --seed 1
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import mesa
from mesa.agent import AgentSet

sys.path.insert(0, str(Path(__file__).parent))
import reference_heavy as ref  # noqa: E402
from mesa_model import inverse_poisson, poisson  # noqa: E402

STEPS = ref.STEPS
NAMES = list(ref.BEHAVIOURS)


class Citizen(mesa.Agent):
    def __init__(self, model: HeavySocialCredit, group: int) -> None:
        super().__init__(model)
        self.group = group  # 0 for group a, 1 for group b
        draw = model.random.gammavariate
        propensity = {c: draw(ref.SHAPE, 1.0 / ref.SHAPE) for c in ref.CATEGORIES}
        # Per behaviour: the Poisson mean per step, the chance of none, the points.
        self.behaviours = []
        for rate, points, category in ref.BEHAVIOURS.values():
            lam = rate * propensity[category] / STEPS
            self.behaviours.append((lam, math.exp(-lam), points))
        self.score = ref.START
        self.own_score = ref.START  # from the citizen's own, correctly attributed records
        self.banned = False
        self.ever_banned = False
        self.ban_step = -1
        self.ban_end = 0.0

    def step(self) -> None:
        model = self.model
        random = model.random.random
        for kind, (lam, none, points) in enumerate(self.behaviours):
            u = random()
            if u < none:  # the common case: no event this step
                continue
            count = inverse_poisson(u, lam, none)
            model.events[kind] += count
            for _ in range(count):
                if random() >= ref.IN_VIEW:
                    continue
                draw = random()
                wrong = model.fpir[self.group]
                if draw < wrong:
                    model.camera_records += 1
                    model.misattributed[self.group] += 1
                    model.other_member(self).record(points, own=False)
                elif draw < wrong + model.right[self.group]:
                    model.camera_records += 1
                    self.record(points, own=True)

    def record(self, points: int, own: bool) -> None:
        self.score = min(max(self.score + points, ref.MINIMUM), ref.MAXIMUM)
        if own:
            self.own_score = min(max(self.own_score + points, ref.MINIMUM), ref.MAXIMUM)
        if self.score < ref.BAN_BELOW and not self.ever_banned:
            model = self.model
            self.banned = self.ever_banned = True
            self.ban_step = model.steps
            self.ban_end = model.steps + ref.BAN_DAYS / model.step_days
            model.banned.add(self)

    def try_purchases(self) -> None:
        model = self.model
        lam, none = model.purchases_first if self.ban_step == model.steps else model.purchases
        model.denied_purchases += poisson(model.random.random, lam, none)
        if model.steps + 1 >= self.ban_end:
            self.banned = False
            model.banned.discard(self)


class HeavySocialCredit(mesa.Model):
    def __init__(self, n: int, seed: int) -> None:
        super().__init__(seed=seed)
        self.step_days = ref.YEAR_DAYS / STEPS
        self.fpir = (ref.FPIR["a"], ref.FPIR["b"])
        self.right = (ref.right_match("a"), ref.right_match("b"))
        lam = ref.PURCHASES_PER_YEAR / STEPS
        self.purchases = (lam, math.exp(-lam))
        self.purchases_first = (lam / 2, math.exp(-lam / 2))
        groups = [int(self.random.random() < ref.GROUPS["b"]) for _ in range(n)]
        Citizen.create_agents(self, n, group=groups)
        self.members = [
            [a for a in self.agents if a.group == 0],
            [a for a in self.agents if a.group == 1],
        ]
        self.banned = AgentSet([], random=self.random)
        self.events = [0] * len(NAMES)
        self.camera_records = 0
        self.misattributed = [0, 0]
        self.denied_purchases = 0

    def other_member(self, citizen: Citizen) -> Citizen:
        """A uniformly drawn member of the citizen's group other than the citizen."""
        members = self.members[citizen.group]
        chosen = members[int(self.random.random() * (len(members) - 1))]
        return members[-1] if chosen is citizen else chosen

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.banned.do("try_purchases")


def run(n: int, seed: int) -> dict:
    """One year of `n` citizens; the outputs every implementation reports."""
    model = HeavySocialCredit(n, seed)
    for _ in range(STEPS):
        model.step()
    out = {"citizens_a": len(model.members[0]), "citizens_b": len(model.members[1])}
    for kind, name in enumerate(NAMES):
        out[f"events_{name}"] = model.events[kind]
    out["camera_records"] = model.camera_records
    out["misattributed_a"], out["misattributed_b"] = model.misattributed
    banned = model.agents.select(lambda a: a.ever_banned)
    out["banned_a"] = sum(1 for a in banned if a.group == 0)
    out["banned_b"] = sum(1 for a in banned if a.group == 1)
    out["wrongful_bans"] = sum(1 for a in banned if a.own_score >= ref.BAN_BELOW)
    out["denied_purchases"] = model.denied_purchases
    out["time_step"] = (
        f"{STEPS} steps of 365/{STEPS} days; Poisson counts per citizen per step at "
        f"rate x propensity / {STEPS} (inversion), Bernoulli per event for camera view"
    )
    return out


if __name__ == "__main__":
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    outputs = run(args.n, args.seed)
    print(json.dumps(outputs, indent=1))
    print(f"{time.perf_counter() - started:.3f} s")
