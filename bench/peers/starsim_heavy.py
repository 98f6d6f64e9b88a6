"""The record-heavy peers model as a Starsim module (Starsim 3).

One custom module, `HeavySocialCredit`, on Starsim's own People, states (`ss.BoolArr`,
`ss.FloatArr`), distributions with their per-module random streams (`ss.gamma`, `ss.poisson`,
`ss.bernoulli`, `ss.random`) and loop, as in starsim_model.py (the
light model), with what the heavy model adds: each citizen's gamma propensity per behaviour
category (a state drawn at the start), six behaviours, and face identification whose wrong
match takes the search first (FPIR) and whose right match follows where none did (TIR).

Time: reference_heavy.STEPS steps of 365/STEPS days (daily by default), so a rate r per year at
propensity p gives a Poisson(r p / STEPS) count per citizen per step.

Per step: each citizen draws a Poisson count of each behaviour at their own rate (one uniform
per citizen from `ss.random`, by UID, common random numbers, inverted to the count: what
`ss.poisson` does with a rate per agent, but inverting only the rare nonzero counts); each
event is in view (Bernoulli 0.47), then matched to a wrong citizen of the same group (FPIR), to
its actor (TIR x (1 - FPIR)), or to nobody; records change the scores; a score that first falls
below 900 starts a 365-day flight ban; a banned citizen tries to book flights, Poisson at 2 a
year (half a step's worth in the step the ban starts).

    python bench/peers/starsim_heavy.py 20000 --seed 1
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import starsim as ss

sys.path.insert(0, str(Path(__file__).parent))
import reference_heavy as ref  # noqa: E402

ss.options(verbose=0)
NAMES = list(ref.BEHAVIOURS)


def poisson_by_inversion(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The Poisson(lam) counts whose cumulative probability first exceeds the uniforms `u`,
    what `ss.poisson` gives for a rate per agent, without its SciPy CDF inversion for every
    agent (400 s a year at 100,000 citizens): a count above 0 is rare, so only those agents
    are inverted."""
    none = np.exp(-lam)
    count = np.zeros(u.size, dtype=np.int64)
    at = np.flatnonzero(u >= none)
    term, total, lam = none[at], none[at].copy(), lam[at]
    k = 0
    while at.size:
        k += 1
        term = term * lam / k
        total += term
        count[at] = k
        more = (u[at] >= total) & (term > 0.0)
        at, term, total, lam = at[more], term[more], total[more], lam[more]
    return count


class HeavySocialCredit(ss.Module):
    """Six behaviours with gamma propensity, cameras with face identification, a points
    balance and a flight ban."""

    def __init__(self, pars=None, **kwargs):
        super().__init__()
        self.define_pars(
            p_b=ss.bernoulli(p=ref.GROUPS["b"]),  # membership of group b
            propensity=ss.gamma(a=ref.SHAPE, scale=1.0 / ref.SHAPE),  # mean 1
            **{name: ss.random() for name in NAMES},  # inverted to a Poisson count
            in_view=ss.bernoulli(p=ref.IN_VIEW),
            identify=ss.random(),  # below FPIR: a wrong citizen; then TIR x (1 - FPIR): right
            wrong_pick=ss.random(),  # which other member of the group a wrong match names
            purchases=ss.poisson(lam=ss.freqperyear(ref.PURCHASES_PER_YEAR)),
            purchases_first_step=ss.poisson(lam=ss.freqperyear(ref.PURCHASES_PER_YEAR / 2)),
            ban_duration=ss.days(ref.BAN_DAYS),
        )
        self.update_pars(pars, **kwargs)
        self.define_states(
            ss.BoolArr("in_b", default=self.pars.p_b, label="In group b"),
            *(
                ss.FloatArr(f"propensity_{c}", default=self.pars.propensity, label=c)
                for c in ref.CATEGORIES
            ),
            ss.FloatArr("score", default=float(ref.START), label="Points"),
            ss.FloatArr("own_score", default=float(ref.START), label="Points from own records"),
            ss.BoolArr("banned", label="Under a flight ban"),
            ss.BoolArr("ever_banned", label="Banned at some time"),
            ss.FloatArr("ti_ban_end", label="Step the ban ends"),
        )
        self.points = np.array([ref.BEHAVIOURS[name][1] for name in NAMES], dtype=np.float64)
        self.fpir = np.array([ref.FPIR["a"], ref.FPIR["b"]])
        self.right = np.array([ref.right_match("a"), ref.right_match("b")])

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

    def init_post(self):
        super().init_post()
        # The members of each group, to draw a wrong match from (the population is fixed).
        uids = self.sim.people.auids
        group = self.in_b[uids].astype(np.int64)
        self.group_of = np.zeros(int(uids.max()) + 1, dtype=np.int64)
        self.group_of[uids] = group
        self.members = [uids[group == g] for g in (0, 1)]

    def step(self):
        actor, kind = self.events()
        subject, kind, wrong = self.cameras(actor, kind)
        touched = self.score_records(subject, kind, wrong)
        self.bans(touched)

    def events(self) -> tuple[np.ndarray, np.ndarray]:
        """True events: a Poisson count per citizen and behaviour; one entry per event."""
        p, res, ti = self.pars, self.results, self.ti
        uids = self.sim.people.auids
        actors, kinds = [], []
        for k, (name, (rate, _, category)) in enumerate(ref.BEHAVIOURS.items()):
            lam = rate / ref.STEPS * getattr(self, f"propensity_{category}").raw[uids]
            counts = poisson_by_inversion(p[name].rvs(uids), lam)
            res[f"events_{name}"][ti] = counts.sum()
            actors.append(np.repeat(uids, counts))
            kinds.append(np.full(actors[-1].size, k))
        return np.concatenate(actors), np.concatenate(kinds)

    def cameras(self, actor, kind):
        """In view, then the face search: a wrong member of the group first, then the right
        citizen, else nobody. Returns each record's subject, kind and whether it is wrong."""
        p, res, ti = self.pars, self.results, self.ti
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
        return subject, kind, wrong

    def score_records(self, subject, kind, wrong):
        """Every record changes its subject's score; own records also the own score."""
        delta = self.points[kind]
        touched = ss.uids(np.unique(subject))
        score = self.score.raw
        np.add.at(score, subject, delta)
        score[touched] = np.clip(score[touched], ref.MINIMUM, ref.MAXIMUM)
        own = self.own_score.raw
        np.add.at(own, subject[~wrong], delta[~wrong])
        own[touched] = np.clip(own[touched], ref.MINIMUM, ref.MAXIMUM)
        return touched

    def bans(self, touched):
        """A flight ban from the first fall below the threshold, once per citizen; flights
        tried while banned, each one denied."""
        p, res, ti = self.pars, self.results, self.ti
        below = touched[(self.score[touched] < ref.BAN_BELOW) & ~self.ever_banned[touched]]
        self.banned[below] = True
        self.ever_banned[below] = True
        self.ti_ban_end[below] = ti + p.ban_duration / self.t.dt
        res.new_bans[ti] = below.size
        earlier = self.banned.uids.remove(below)
        denied = p.purchases.rvs(earlier).sum() + p.purchases_first_step.rvs(below).sum()
        res.denied_purchases[ti] = denied
        over = (self.banned & (self.ti_ban_end <= ti + 1)).uids
        self.banned[over] = False

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
    return ss.Sim(
        n_agents=n,
        start=0,
        stop=(ref.STEPS - 1) / ref.STEPS,  # Starsim steps at both ends of its time vector
        dt=ss.years(1 / ref.STEPS),
        rand_seed=seed,
        custom=HeavySocialCredit(),
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
        f"rate x propensity / {ref.STEPS}, Bernoulli per event for camera view"
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
