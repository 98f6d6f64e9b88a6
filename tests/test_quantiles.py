"""The Jeffreys intervals' beta quantile (audit/quantiles.py) is scipy.special.betaincinv to the
last bit, and a run's audit computes it without importing scipy.special."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import special

from creditsim.audit import quantiles


def grid() -> tuple[np.ndarray, np.ndarray]:
    """The shapes the intervals ask for: counts x of n, small and large, with the
    Clopper-Pearson shapes (whole numbers) beside the Jeffreys ones (halves)."""
    rng = np.random.default_rng(18)
    x = np.concatenate([np.arange(0, 40), rng.integers(0, 10**6, 400)]).astype(np.float64)
    n = x + np.concatenate([np.arange(40, 0, -1), rng.integers(0, 10**7, 400)])
    return x, n


@pytest.mark.parametrize("p", [0.025, 0.975, 0.05, 0.95, 0.005])
@pytest.mark.parametrize("shift", [0.5, 1.0])
def test_the_quantile_is_scipys_to_the_last_bit(monkeypatch, p, shift):
    x, n = grid()
    a, b = x + shift, np.maximum(n - x, 0.0) + shift
    # Without scipy.special in sys.modules, the extension's function answers.
    monkeypatch.delitem(sys.modules, "scipy.special")
    assert quantiles._function() is not None
    got = quantiles.betaincinv(a, b, p)
    want = special.betaincinv(a, b, p)
    assert got.dtype == np.float64 and got.shape == a.shape
    assert np.array_equal(got, want)  # bit for bit, no tolerance


def test_two_dimensional_and_repeated_pairs_keep_their_places(monkeypatch):
    monkeypatch.delitem(sys.modules, "scipy.special")
    a = np.array([[0.5, 3.5, 0.5], [3.5, 10.5, 0.5]])
    b = np.array([[99.5, 1.5, 99.5], [1.5, 2.5, 4.5]])
    assert np.array_equal(quantiles.betaincinv(a, b, 0.975), special.betaincinv(a, b, 0.975))


def test_without_the_extension_scipy_special_answers(monkeypatch):
    monkeypatch.setattr(quantiles, "_LOADED", [None])
    monkeypatch.delitem(sys.modules, "scipy.special")
    a, b = np.array([2.5, 7.0]), np.array([40.5, 1.0])
    assert np.array_equal(quantiles.betaincinv(a, b, 0.025), special.betaincinv(a, b, 0.025))


def test_an_implausible_function_is_refused():
    assert not quantiles._plausible(lambda a, b, p: 0.5)
    assert quantiles._plausible(lambda a, b, p: p if b == 1.0 else 1.0 - (1.0 - p) ** (1.0 / b))


def test_a_run_audits_without_importing_scipy_special():
    """In a fresh process: a run and its audit load neither scipy.special nor pandas, and the
    extension loaded on its own gives scipy.special's numbers once that is imported after."""
    code = (
        "import sys, numpy as np, creditsim\n"
        "from creditsim.audit.quantiles import betaincinv\n"
        "result = creditsim.run('national-2018', population=2000, seed=3, catalogue=False,"
        " citizen_rows='none')\n"
        "result.audit()\n"
        "print(sorted(m for m in ('scipy.special', 'pandas') if m in sys.modules))\n"
        "a, b = np.arange(1, 300) + 0.5, np.arange(300, 1, -1) * 1000.0 + 0.5\n"
        "mine = betaincinv(a, b, 0.025)\n"
        "from scipy import special\n"
        "print(np.array_equal(mine, special.betaincinv(a, b, 0.025)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"]
