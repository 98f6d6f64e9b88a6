"""Records: what the system believes happened, with the truth kept beside it."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from creditsim.engine.arrays import day_order

NO_ACTOR = -1

# Why a record's subject is who it is. CORRECT is the only cause where subject == actor.
CAUSES = (
    "correct",
    "face_misidentification",
    "plate_owner",
    "platform_false_positive",
    "false_informant_report",
    "data_merge",
)
CORRECT, FACE, PLATE_OWNER, PLATFORM_FALSE, INFORMANT_FALSE, MERGE = range(len(CAUSES))


@dataclass
class Records:
    day: np.ndarray  # int32, the day the record reaches the system
    subject: np.ndarray  # int32, the citizen it is recorded against
    actor: np.ndarray  # int32, the citizen who truly acted, NO_ACTOR for a fabricated record
    kind: np.ndarray  # int16, behaviour index; len(behaviours) marks "informed on someone"
    channel: np.ndarray  # int8, index into CHANNELS
    cause: np.ndarray  # int8, index into CAUSES

    @property
    def size(self) -> int:
        return int(self.day.shape[0])

    def take(self, index: np.ndarray) -> Records:
        return Records(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Records]) -> Records:
        if not parts:
            return Records.empty()
        return Records(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Records))
        )

    @staticmethod
    def empty() -> Records:
        i32 = np.zeros(0, dtype=np.int32)
        return Records(
            i32, i32, i32, np.zeros(0, np.int16), np.zeros(0, np.int8), np.zeros(0, np.int8)
        )

    @staticmethod
    def build(day, subject, actor, kind, channel: int, cause) -> Records:
        n = day.shape[0]
        cause_array = np.broadcast_to(np.asarray(cause, dtype=np.int8), (n,)).copy()
        return Records(
            day.astype(np.int32, copy=False),
            subject.astype(np.int32, copy=False),
            np.broadcast_to(np.asarray(actor, dtype=np.int32), (n,)).copy()
            if np.ndim(actor) == 0
            else actor.astype(np.int32, copy=False),
            kind.astype(np.int16, copy=False),
            np.full(n, channel, dtype=np.int8),
            cause_array,
        )

    def sorted_by_day(self) -> Records:
        return self.take(day_order(self.day))
