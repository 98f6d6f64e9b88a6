"""The rates of a confusion matrix (tp, fp, fn, tn), each a fraction of sums of its cells:
one table of fractions serves the point estimates and the drawn posteriors alike."""

from __future__ import annotations

import numpy as np

RATES = (
    "sanction_rate",
    "prevalence",
    "precision",
    "false_discovery_rate",
    "false_omission_rate",
    "true_positive_rate",
    "true_negative_rate",
    "false_positive_rate",
    "false_negative_rate",
)


# Each of the RATES as a fraction of sums of the confusion cells (tp, fp, fn, tn: 0 to 3).
FRACTIONS = (
    ((0, 1), (0, 1, 2, 3)),  # sanction rate: (tp + fp) / n
    ((0, 2), (0, 1, 2, 3)),  # prevalence: (tp + fn) / n
    ((0,), (0, 1)),  # precision: tp / (tp + fp)
    ((1,), (0, 1)),  # false discovery rate: fp / (tp + fp)
    ((2,), (2, 3)),  # false omission rate: fn / (fn + tn)
    ((0,), (0, 2)),  # true positive rate: tp / (tp + fn)
    ((3,), (3, 1)),  # true negative rate: tn / (tn + fp)
    ((1,), (1, 3)),  # false positive rate: fp / (fp + tn)
    ((2,), (2, 0)),  # false negative rate: fn / (fn + tp)
)


def rates(cells: np.ndarray, count: int = len(RATES)) -> np.ndarray:
    """The RATES (the first `count` of them) from confusion cells (..., 4): NaN where a rate has
    no denominator. Each rate is stored whole (the last axis is a view across them), so one
    rate is cheap to take."""
    cells = np.asarray(cells, dtype=np.float64)

    def total(which: tuple[int, ...]) -> np.ndarray:
        return sum((cells[..., i] for i in which[1:]), cells[..., which[0]])

    with np.errstate(divide="ignore", invalid="ignore"):
        planes = np.stack([total(top) / total(bottom) for top, bottom in FRACTIONS[:count]])
    return np.moveaxis(planes, 0, -1)


__all__ = ["FRACTIONS", "RATES", "rates"]
