"""The beta quantile of the Jeffreys intervals: SciPy's, without importing scipy.special.

Every run's audit needs `scipy.special.betaincinv` (Boost's `ibeta_inv`) for a few thousand
rates, but importing scipy.special costs 0.15 to 0.2 s of CPU (its array-API layer imports
numpy.testing and numpy.f2py), a quarter of a small run's start. The same compiled function is
exported by scipy.special's C++ extension `_ufuncs_cxx`, through the Cython C-API capsule that
`scipy.special._ufuncs` itself calls it through: loading that one extension and calling the
function gives the same numbers to the last bit (tests/test_quantiles.py checks it against
scipy.special over a grid). Where that is not possible (another SciPy layout), or scipy.special
is loaded anyway, scipy.special.betaincinv is used.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
import threading
from collections.abc import Callable
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import numpy as np

EXTENSION = "scipy.special._ufuncs_cxx"
CAPSULE = "_export_ibeta_inv_double"
_LOCK = threading.Lock()
_LOADED: list[Callable[[float, float, float], float]] = []


def betaincinv(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    """The p-quantile of Beta(a, b) for each pair (arrays of one shape, a and b above 0):
    scipy.special.betaincinv(a, b, p), number for number."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    special = sys.modules.get("scipy.special")
    if special is not None:
        return special.betaincinv(a, b, p)
    function = _function()
    if function is None:
        from scipy.special import betaincinv as scipy_betaincinv

        return scipy_betaincinv(a, b, p)
    # The audit's rates repeat (sets of the same counts): each distinct pair once.
    stacked = np.stack([a.ravel(), b.ravel()], axis=1)
    pairs, inverse = np.unique(stacked, axis=0, return_inverse=True)
    values = np.fromiter((function(x, y, p) for x, y in pairs.tolist()), np.float64, len(pairs))
    return values[inverse.reshape(-1)].reshape(a.shape)


def _function() -> Callable[[float, float, float], float] | None:
    """Boost's ibeta_inv from scipy.special's extension, loaded once (None where it cannot be)."""
    with _LOCK:
        if not _LOADED:
            try:
                function = _load()
            except (ImportError, OSError, AttributeError, KeyError, TypeError, ValueError):
                function = None
            _LOADED.append(function if function is not None and _plausible(function) else None)
    return _LOADED[0]


def _load() -> Callable[[float, float, float], float] | None:
    """The C function behind the capsule of `_ufuncs_cxx`, as a ctypes function. The extension
    is loaded on its own, without running scipy.special's package (it registers itself under
    its name, so a later `import scipy.special` reuses it)."""
    module = sys.modules.get(EXTENSION)
    if module is None:
        scipy = importlib.util.find_spec("scipy")
        if scipy is None or not scipy.submodule_search_locations:
            return None
        folder = Path(scipy.submodule_search_locations[0]) / "special"
        paths = [folder / f"_ufuncs_cxx{s}" for s in EXTENSION_SUFFIXES]
        path = next((p for p in paths if p.exists()), None)
        spec = importlib.util.spec_from_file_location(EXTENSION, path) if path else None
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    capsule = module.__pyx_capi__[CAPSULE]
    api = ctypes.PyDLL(None)  # the interpreter's C API, with argument types of our own
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    # The capsule holds the address of the exported variable, which holds the function's.
    variable = api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))
    address = ctypes.c_void_p.from_address(variable).value
    if not address:
        return None
    kind = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double, ctypes.c_double)
    return kind(address)


def _plausible(function: Callable[[float, float, float], float]) -> bool:
    """Known quantiles: Beta(1, 1) is uniform; Beta(1, b)'s p-quantile is 1 - (1 - p)^(1/b)."""
    try:
        uniform = function(1.0, 1.0, 0.3)
        closed = function(1.0, 4.0, 0.5)
    except (TypeError, ValueError, ctypes.ArgumentError):
        return False
    return abs(uniform - 0.3) < 1e-12 and abs(closed - (1.0 - 0.5**0.25)) < 1e-12
