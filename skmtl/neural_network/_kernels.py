"""Dispatch of the MLP's mini-batch step to the compiled kernels (``_nn_fast``).

``_nn_fast`` is built from ``_nn_fast.pyx`` by ``setup.py`` when a C compiler (and
Cython) is available at install time; without it every caller runs its numpy code,
which gives the same numbers up to rounding
(``tests/neural_network/test_nn_fast.py``). The kernels
cover float64 and float32 arrays of one dtype; anything else (mixed dtypes, sparse
activations) also runs the numpy code.

``ENABLED`` switches the kernels off (tests and benchmarks compare the two).
"""

import numpy as np

from .._compiled import compiled

_nn_fast = compiled("neural_network._nn_fast")  # optional: None without a C compiler

__all__ = ["AVAILABLE", "ENABLED", "kernels"]

AVAILABLE = _nn_fast is not None
ENABLED = True

_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def kernels(*arrays):
    """The ``_nn_fast`` module if it is on and covers ``arrays`` (numpy arrays of
    one floating dtype; no arrays: integer kernels), else None."""
    if not (AVAILABLE and ENABLED):
        return None
    if not arrays:
        return _nn_fast
    dtype = arrays[0].dtype
    if dtype not in _DTYPES:
        return None
    for a in arrays:
        if not isinstance(a, np.ndarray) or a.dtype != dtype:
            return None
    return _nn_fast
