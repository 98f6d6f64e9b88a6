"""Array backends: NumPy by default; CuPy on a GPU, tested only where one is present."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import creditsim
from creditsim.arrays.backend import BackendError, array_module, categorical, namespace


def _gpu_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        array_module("cupy")
    except BackendError:
        return False
    return True


GPU = _gpu_available()
needs_gpu = pytest.mark.skipif(not GPU, reason="no CuPy with a CUDA device on this machine")


def test_numpy_is_the_default_and_needs_nothing():
    assert array_module("numpy") is np
    assert namespace(np.zeros(3)) is np


def test_unknown_backend_is_refused():
    with pytest.raises(BackendError, match="allowed: numpy, cupy"):
        array_module("tpu")


@pytest.mark.skipif(GPU, reason="this machine has a GPU")
def test_cupy_without_a_gpu_says_why():
    with pytest.raises(BackendError, match="--backend cupy: "):
        array_module("cupy")
    done = subprocess.run(
        [sys.executable, "-m", "creditsim.cli", "run", "national-2018", "-n", "2000",
         "--backend", "cupy"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--backend cupy" in done.stderr and "Traceback" not in done.stderr


def test_categorical_draws_match_their_probabilities():
    rng = np.random.default_rng(3)
    p = np.array([0.5, 0.3, 0.2])
    draws = categorical(rng, p, 200_000, np)
    shares = np.bincount(draws, minlength=3) / draws.size
    # 5 binomial standard errors at n = 200,000 is at most 0.0056.
    np.testing.assert_allclose(shares, p, atol=0.0056)


@needs_gpu
def test_cupy_backend_is_reproducible_and_agrees_with_numpy(tmp_path):
    """Same seed, same GPU output; against NumPy (other random numbers) the totals agree
    within 5 standard errors of a Poisson count, doubled for overdispersion."""
    runs = [
        creditsim.run(
            "national-2018", population=200_000, seed=4, backend="cupy", out=tmp_path / str(i)
        )
        for i in range(2)
    ]
    assert (tmp_path / "0" / "audit.json").read_bytes() == (
        tmp_path / "1" / "audit.json"
    ).read_bytes()
    on_cpu = creditsim.run("national-2018", population=200_000, seed=4)
    gpu = runs[0].audit()["overall"]
    cpu = on_cpu.audit()["overall"]
    for key in ("true_events", "records"):
        assert abs(gpu[key] - cpu[key]) <= 10 * np.sqrt(cpu[key]), key
