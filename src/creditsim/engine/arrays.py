"""Array helpers shared by the stages."""

from __future__ import annotations

import numpy as np


def day_order(day: np.ndarray) -> np.ndarray:
    """A stable order by day; a radix sort on 16 bits where the days fit."""
    if day.size and int(day.max()) < 32768:
        return np.argsort(day.astype(np.int16), kind="stable")
    return np.argsort(day, kind="stable")
