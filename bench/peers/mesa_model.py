"""The peers reference model as a Mesa model (Mesa 3): one Agent per citizen.

Time: reference.STEPS steps of 365/STEPS days, as in the Starsim model (see starsim_model.py): a
rate r per year gives a Poisson(r/STEPS) count per citizen per step, drawn by inversion from the
model's seeded `random.Random` (`model.random`).

Each step, `model.agents.shuffle_do("step")` lets every citizen, in random order, commit their
events of the week; each event is in view with probability 0.3 and then matched to a wrong
citizen of the same group (FPIR), to the citizen (TIR x (1 - FPIR)), or to nobody; a record
changes its subject's score at once, and a score that first falls below 900 starts a 365-day
ban. Then the banned citizens (an AgentSet) try to buy tickets, Poisson at 2 a year (half a
week's worth in the week the ban starts, since it starts half-way through the week on average).

    python bench/peers/mesa_model.py 20000 --seed 1
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import mesa
from mesa.agent import AgentSet

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref  # noqa: E402

STEPS = ref.STEPS
NAMES = list(ref.BEHAVIOURS)


def poisson(random, lam: float, none: float) -> int:
    """A Poisson(lam) draw by inversion; `none` is exp(-lam), the chance of 0."""
    return inverse_poisson(random(), lam, none)


def inverse_poisson(u: float, lam: float, none: float) -> int:
    """The Poisson(lam) count whose cumulative probability first exceeds the uniform `u`."""
    k, term, total = 0, none, none
    while u >= total:
        k += 1
        term *= lam / k
        total += term
        if term == 0.0:  # beyond floating point: the tail is exhausted
            break
    return k


class Citizen(mesa.Agent):
    def __init__(self, model: SocialCredit, group: int) -> None:
        super().__init__(model)
        self.group = group  # 0 for group a, 1 for group b
        self.score = ref.START
        self.own_score = ref.START  # from the citizen's own, correctly attributed records
        self.banned = False
        self.ever_banned = False
        self.ban_step = -1
        self.ban_end = 0.0

    def step(self) -> None:
        model = self.model
        random = model.random.random
        for kind, (lam, none, points) in enumerate(model.behaviours):
            u = random()
            if u < none:  # the common case: no event this week
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
            self.ban_end = model.steps + ref.BAN_DAYS / model.week_days
            model.banned.add(self)

    def try_purchases(self) -> None:
        model = self.model
        lam, none = model.purchases_first if self.ban_step == model.steps else model.purchases
        model.denied_purchases += poisson(model.random.random, lam, none)
        if model.steps + 1 >= self.ban_end:
            self.banned = False
            model.banned.discard(self)


class SocialCredit(mesa.Model):
    def __init__(self, n: int, seed: int) -> None:
        super().__init__(seed=seed)
        self.week_days = ref.YEAR_DAYS / STEPS
        dt = 1 / STEPS  # years
        self.behaviours = [
            (rate * dt, math.exp(-rate * dt), points) for rate, points in ref.BEHAVIOURS.values()
        ]
        self.fpir = (ref.FPIR["a"], ref.FPIR["b"])
        self.right = (ref.right_match("a"), ref.right_match("b"))
        lam = ref.PURCHASES_PER_YEAR * dt
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
    model = SocialCredit(n, seed)
    for _ in range(STEPS):
        model.step()
    agents = model.agents
    out = {
        "citizens_a": len(model.members[0]),
        "citizens_b": len(model.members[1]),
    }
    for kind, name in enumerate(NAMES):
        out[f"events_{name}"] = model.events[kind]
    out["camera_records"] = model.camera_records
    out["misattributed_a"], out["misattributed_b"] = model.misattributed
    banned = agents.select(lambda a: a.ever_banned)
    out["banned_a"] = sum(1 for a in banned if a.group == 0)
    out["banned_b"] = sum(1 for a in banned if a.group == 1)
    out["wrongful_bans"] = sum(1 for a in banned if a.own_score >= ref.BAN_BELOW)
    out["denied_purchases"] = model.denied_purchases
    out["time_step"] = (
        f"{STEPS} steps of 365/{STEPS} days; Poisson counts per citizen per step at "
        f"rate/{STEPS} (inversion), Bernoulli per event for camera view"
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
