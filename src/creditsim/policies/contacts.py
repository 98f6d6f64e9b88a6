"""Social contacts, for scores that read the scores of one's contacts (Sesame Credit does): the
household, and a random contact network with a set mean degree, as adjacency arrays (CSR)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from creditsim.population import Population
from creditsim.scenario.schema import Contacts


@dataclass
class Network:
    # int64 (citizens + 1): citizen i's contacts are neighbours[indptr[i]:indptr[i + 1]]
    indptr: np.ndarray
    neighbours: np.ndarray  # int32

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def of(self, people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The contacts of `people`, and for each the index in `people` it is a contact of."""
        start, count = self.indptr[people], self.degree[people]
        which = np.repeat(np.arange(people.shape[0]), count)
        ramp = np.arange(which.shape[0]) - np.repeat(np.cumsum(count) - count, count)
        return self.neighbours[start[which] + ramp], which

    def sum_over(self, value: np.ndarray) -> np.ndarray:
        """For every citizen, the sum of `value` over their contacts."""
        citizens = self.indptr.shape[0] - 1
        owner = np.repeat(np.arange(citizens), self.degree)
        return np.bincount(owner, weights=value[self.neighbours], minlength=citizens)


def contact_network(pop: Population, contacts: Contacts, rng: np.random.Generator) -> Network:
    """Household members (everyone else in one's household) and random undirected contacts:
    a Poisson number of edges with the set mean degree, between uniformly drawn citizens."""
    n = pop.size
    sources, targets = [], []
    if contacts.household:
        size = np.bincount(pop.household)[pop.household]
        member = np.repeat(np.arange(n), size)
        offset = np.arange(member.shape[0]) - np.repeat(np.cumsum(size) - size, size)
        other = pop.head[member] + offset
        keep = other != member
        sources.append(member[keep])
        targets.append(other[keep])
    if contacts.mean_degree > 0 and n > 1:
        edges = int(rng.poisson(n * contacts.mean_degree / 2))
        a, b = rng.integers(0, n, edges), rng.integers(0, n, edges)
        keep = a != b
        sources += [a[keep], b[keep]]
        targets += [b[keep], a[keep]]
    if not sources:
        return Network(np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))
    source = np.concatenate(sources)
    target = np.concatenate(targets)
    order = np.argsort(source, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(source, minlength=n), out=indptr[1:])
    return Network(indptr, target[order].astype(np.int32))
