"""The peers reference model as a Starsim module (Starsim 3).

One custom module, `SocialCredit`, on Starsim's own People, states (`ss.BoolArr`,
`ss.FloatArr`), distributions with their per-module random streams (`ss.poisson`,
`ss.bernoulli`, `ss.random`), time parameters (`ss.freqperyear`, `ss.days`) and loop.

Time: `reference.STEPS` steps of 365/STEPS days (daily by default, the model's resolution), so
that the steps are exactly the year and a rate r per year gives a Poisson(r/STEPS) count per
citizen per step (52 steps of 7 days would cover 364 days and draw 1/365 too few events).
Starsim steps at every point of its time vector, both ends included, so the year runs from 0
to (STEPS - 1)/STEPS.

Per step: each citizen draws a Poisson count of each behaviour (one draw per citizen, by UID,
common random numbers); then each event, one draw per event, is in view (Bernoulli 0.3) and
matched to a wrong citizen of the same group (FPIR), to its actor (TIR x (1 - FPIR)), or to
nobody; records change the scores; a score that first falls below 900 starts a 365-day ban; a
banned citizen tries to buy tickets, Poisson at 2 a year (half a week's worth in the week the
ban starts, since it starts half-way through the week on average).

    python bench/peers/starsim_model.py 20000 --seed 1
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import starsim as ss

sys.path.insert(0, str(Path(__file__).parent))
import reference as ref  # noqa: E402

ss.options(verbose=0)
NAMES = list(ref.BEHAVIOURS)


class SocialCredit(ss.Module):
    """Behaviours, cameras with face identification, a points balance and a travel ban."""

    def __init__(self, pars=None, **kwargs):
        super().__init__()
        self.define_pars(
            p_b=ss.bernoulli(p=ref.GROUPS["b"]),  # membership of group b
            jaywalking=ss.poisson(lam=ss.freqperyear(ref.BEHAVIOURS["jaywalking"][0])),
            littering=ss.poisson(lam=ss.freqperyear(ref.BEHAVIOURS["littering"][0])),
            fare_dodging=ss.poisson(lam=ss.freqperyear(ref.BEHAVIOURS["fare_dodging"][0])),
            in_view=ss.bernoulli(p=ref.IN_VIEW),
            identify=ss.random(),  # below FPIR: a wrong citizen; then TIR x (1 - FPIR): right
            wrong_pick=ss.random(),  # which other member of the group a wrong match names
            purchases=ss.poisson(lam=ss.freqperyear(ref.PURCHASES_PER_YEAR)),
            purchases_first_week=ss.poisson(lam=ss.freqperyear(ref.PURCHASES_PER_YEAR / 2)),
            ban_duration=ss.days(ref.BAN_DAYS),
        )
        self.update_pars(pars, **kwargs)
        self.define_states(
            ss.BoolArr("in_b", default=self.pars.p_b, label="In group b"),
            ss.FloatArr("score", default=float(ref.START), label="Points"),
            ss.FloatArr("own_score", default=float(ref.START), label="Points from own records"),
            ss.BoolArr("banned", label="Under a travel ban"),
            ss.BoolArr("ever_banned", label="Banned at some time"),
            ss.FloatArr("ti_ban_end", label="Step the ban ends"),
        )
        self.points = np.array([ref.BEHAVIOURS[name][1] for name in NAMES], dtype=np.float64)
        self.fpir = np.array([ref.FPIR["a"], ref.FPIR["b"]])
        self.right = np.array([ref.right_match("a"), ref.right_match("b")])
        return

    def init_results(self):
        super().init_results()
        self.define_results(
            *(ss.Result(f"events_{name}", dtype=int, scale=True) for name in NAMES),
            ss.Result("camera_records", dtype=int, scale=True),
            ss.Result("misattributed_a", dtype=int, scale=True),
            ss.Result("misattributed_b", dtype=int, scale=True),
            ss.Result("new_bans", dtype=int, scale=True),
            ss.Result("denied_purchases", dtype=int, scale=True),
        )
        return

    def init_post(self):
        super().init_post()
        # The members of each group, to draw a wrong match from (the population is fixed).
        uids = self.sim.people.auids
        group = self.in_b[uids].astype(np.int64)
        self.group_of = np.zeros(int(uids.max()) + 1, dtype=np.int64)
        self.group_of[uids] = group
        self.members = [uids[group == g] for g in (0, 1)]
        return

    def step(self):
        p = self.pars
        res = self.results
        ti = self.ti
        uids = self.sim.people.auids

        # True events: a Poisson count per citizen and behaviour; then one entry per event.
        actors, kinds = [], []
        for k, name in enumerate(NAMES):
            counts = p[name].rvs(uids)
            res[f"events_{name}"][ti] = counts.sum()
            actor = np.repeat(uids, counts)
            actors.append(actor)
            kinds.append(np.full(actor.size, k))
        actor = np.concatenate(actors)
        kind = np.concatenate(kinds)

        # Cameras: in view, then the face search.
        seen = p.in_view.rvs(actor.size)
        actor, kind = actor[seen], kind[seen]
        draw = p.identify.rvs(actor.size)
        group = self.group_of[actor]
        wrong = draw < self.fpir[group]
        right = ~wrong & (draw < self.fpir[group] + self.right[group])
        matched = right | wrong
        subject = actor[matched].copy()
        kind, group, wrong = kind[matched], group[matched], wrong[matched]
        if wrong.any():
            subject[wrong] = self.pick_other(group[wrong], subject[wrong])
        res.camera_records[ti] = subject.size
        res.misattributed_a[ti] = np.count_nonzero(wrong & (group == 0))
        res.misattributed_b[ti] = np.count_nonzero(wrong & (group == 1))

        # Points: every record changes its subject's score; own records also the own score.
        delta = self.points[kind]
        touched = ss.uids(np.unique(subject))
        score = self.score.raw
        np.add.at(score, subject, delta)
        score[touched] = np.clip(score[touched], ref.MINIMUM, ref.MAXIMUM)
        own = self.own_score.raw
        np.add.at(own, subject[~wrong], delta[~wrong])
        own[touched] = np.clip(own[touched], ref.MINIMUM, ref.MAXIMUM)

        # Travel ban: from the first fall below the threshold, once per citizen.
        below = touched[(self.score[touched] < ref.BAN_BELOW) & ~self.ever_banned[touched]]
        self.banned[below] = True
        self.ever_banned[below] = True
        self.ti_ban_end[below] = ti + p.ban_duration / self.t.dt
        res.new_bans[ti] = below.size

        # Ticket purchases tried while banned, each one denied.
        banned = self.banned.uids
        earlier = banned.remove(below)
        denied = p.purchases.rvs(earlier).sum() + p.purchases_first_week.rvs(below).sum()
        res.denied_purchases[ti] = denied
        over = (self.banned & (self.ti_ban_end <= ti + 1)).uids
        self.banned[over] = False
        return

    def pick_other(self, group: np.ndarray, actor: np.ndarray) -> np.ndarray:
        """A uniformly drawn member of each actor's group other than the actor."""
        u = self.pars.wrong_pick.rvs(actor.size)
        picked = np.empty_like(actor)
        for g, members in enumerate(self.members):
            at = group == g
            slot = np.minimum((u[at] * (members.size - 1)).astype(np.int64), members.size - 2)
            chosen = members[slot]
            # Skip the actor by taking the last member instead, which the draw never names.
            picked[at] = np.where(chosen == actor[at], members[-1], chosen)
        return picked


def make_sim(n: int, seed: int) -> ss.Sim:
    step = ss.years(1 / ref.STEPS)
    return ss.Sim(
        n_agents=n,
        start=0,
        stop=(ref.STEPS - 1) / ref.STEPS,  # Starsim steps at both ends of its time vector
        dt=step,
        rand_seed=seed,
        custom=SocialCredit(),
        copy_inputs=False,
    )


def run(n: int, seed: int) -> dict:
    """One year of `n` citizens; the outputs every implementation reports."""
    sim = make_sim(n, seed)
    sim.init()
    sim.run()
    mod = sim.custom[0]
    res = mod.results
    if len(mod.t.tvec) != ref.STEPS:
        raise RuntimeError(f"expected {ref.STEPS} steps, got {len(mod.t.tvec)}")
    in_b = mod.in_b.values
    ever = mod.ever_banned.values
    out = {"citizens_a": int((~in_b).sum()), "citizens_b": int(in_b.sum())}
    for name in NAMES:
        out[f"events_{name}"] = int(res[f"events_{name}"].values.sum())
    out["camera_records"] = int(res.camera_records.values.sum())
    out["misattributed_a"] = int(res.misattributed_a.values.sum())
    out["misattributed_b"] = int(res.misattributed_b.values.sum())
    out["banned_a"] = int((ever & ~in_b).sum())
    out["banned_b"] = int((ever & in_b).sum())
    out["wrongful_bans"] = int((ever & (mod.own_score.values >= ref.BAN_BELOW)).sum())
    out["denied_purchases"] = int(res.denied_purchases.values.sum())
    out["time_step"] = (
        f"{ref.STEPS} steps of 365/{ref.STEPS} days; Poisson counts per citizen per step at "
        f"rate/{ref.STEPS}, Bernoulli per event for camera view"
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
