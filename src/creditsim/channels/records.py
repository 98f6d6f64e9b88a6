"""Records: what the system believes happened, with the truth kept beside it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import ModuleType

import numpy as np

from creditsim.arrays.backend import namespace, to_host
from creditsim.arrays.streams import Keyed, derive

NO_ACTOR = -1

# Why a record's subject is who it is. CORRECT is the only cause where subject == actor.
CAUSES = (
    "correct",
    "face_misidentification",
    "plate_owner",
    "platform_false_positive",
    "false_informant_report",
    "data_merge",
    "insider",
    "coordinated_false_report",
    "score_swap",
)
(
    CORRECT,
    FACE,
    PLATE_OWNER,
    PLATFORM_FALSE,
    INFORMANT_FALSE,
    MERGE,
    INSIDER,
    CAMPAIGN,
    SCORE_SWAP,
) = range(len(CAUSES))


@dataclass
class Records:
    day: np.ndarray  # int32, the day the record reaches the system
    subject: np.ndarray  # int32, the citizen it is recorded against
    actor: np.ndarray  # int32, the citizen who truly acted, NO_ACTOR for a fabricated record
    kind: np.ndarray  # int16, behaviour index; len(behaviours): informed; + 1: insider change
    channel: np.ndarray  # int8, index into CHANNELS
    cause: np.ndarray  # int8, index into CAUSES
    # uint64, the record's identity, by which every later draw about it is keyed: from its
    # event and channel (`of_events`), or derived from what made it (`derive` in arrays).
    id: np.ndarray

    @property
    def size(self) -> int:
        return int(self.day.shape[0])

    def take(self, index: np.ndarray) -> Records:
        return Records(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Records]) -> Records:
        if not parts:
            return Records.empty()
        if len(parts) == 1:
            return parts[0]
        xp = namespace(parts[0].day)
        return Records(
            *(xp.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Records))
        )

    @staticmethod
    def empty(xp: ModuleType = np) -> Records:
        i32 = xp.zeros(0, dtype=np.int32)
        return Records(
            i32, i32, i32, xp.zeros(0, np.int16), xp.zeros(0, np.int8), xp.zeros(0, np.int8),
            xp.zeros(0, np.uint64),
        )  # fmt: skip

    @staticmethod
    def build(day, subject, actor, kind, channel: int, cause, id) -> Records:
        """Records from arrays; `actor` and `cause` may be one value for all; `id` their
        identities (`of_events` for records of events)."""
        xp = namespace(day)
        n = day.shape[0]
        return Records(
            day.astype(np.int32, copy=False),
            subject.astype(np.int32, copy=False),
            _column(xp, actor, n, np.int32),
            kind.astype(np.int16, copy=False),
            xp.full(n, channel, dtype=np.int8),
            _column(xp, cause, n, np.int8),
            id.astype(np.uint64, copy=False),
        )

    def to_host(self) -> Records:
        return Records(*(to_host(getattr(self, f.name)) for f in fields(self)))


class Selected:
    """The records where `mask` holds, each column taken from them the first time it is read
    and kept: the own world's correct records are read whole only where a list or a record
    trigger needs them, so other scenarios neither copy them nor hold the copy."""

    def __init__(self, records: Records, mask: np.ndarray) -> None:
        self._records = records
        self._mask = mask
        self._index: np.ndarray | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        if name not in COLUMNS:
            raise AttributeError(name)
        if self._index is None:
            self._index = namespace(self._mask).flatnonzero(self._mask)
        column = getattr(self._records, name)[self._index]
        setattr(self, name, column)  # read from the instance from now on
        return column

    def about(self, citizens: np.ndarray) -> Records:
        """Those of the selected records whose subject is one of `citizens` (a mask over the
        citizens), taken at once."""
        keep = self._mask & citizens[self._records.subject]
        return self._records.take(namespace(keep).flatnonzero(keep))


COLUMNS = frozenset(f.name for f in fields(Records))


def of_events(identity: np.ndarray, channel: int) -> np.ndarray:
    """The identities of a channel's records of events (the events' `identity()`): the channel
    above the event's behaviour and serial, so one event's records by two channels differ."""
    return identity | np.uint64((channel + 1) << 56)


def spawned(draws: Keyed, ids: np.ndarray, mean: float, draw: int, tag: int):
    """Records that others bring (the false flags beside a true one): a Poisson count with
    the given mean per parent, keyed by the parent's identity. Returns each one's parent (an
    index into `ids`) and its own identity, derived from the parent's and its rank."""
    xp = namespace(ids)
    count = draws.poisson(ids, mean, draw)
    parent = xp.repeat(xp.arange(ids.shape[0]), count)
    rank = xp.arange(parent.shape[0]) - (xp.cumsum(count) - count)[parent]
    return parent, derive(derive(ids[parent], tag) + rank.astype(np.uint64), tag)


def _column(xp: ModuleType, value, n: int, dtype) -> np.ndarray:
    if isinstance(value, int | np.integer):
        return xp.full(n, value, dtype=dtype)
    return value.astype(dtype, copy=False)
