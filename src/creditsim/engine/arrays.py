"""Array helpers shared by the stages."""

from __future__ import annotations

import numpy as np

from creditsim.engine.backend import namespace


def day_order(day: np.ndarray) -> np.ndarray:
    """A stable order by day; a radix sort on 16 bits where the days fit."""
    xp = namespace(day)
    if day.size and int(day.max()) < 32768:
        return xp.argsort(day.astype(np.int16), kind="stable")
    return xp.argsort(day, kind="stable")
