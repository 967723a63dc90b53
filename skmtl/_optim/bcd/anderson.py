"""Anderson extrapolation of coordinate-descent iterates (Anderson / RNA, as in
skglm; Bertrand and Massias 2021).

From ``K + 1`` iterates ``x_0 .. x_K`` it takes the affine combination of
``x_1 .. x_K`` with weights ``z / sum(z)``, ``z`` solving ``U^T U z = 1`` for
the differences ``U``. ``bcd.WorkingSetSolver`` keeps the result only when it
lowers the objective.
"""

import numpy as np

__all__ = ["anderson_extrapolate"]


def anderson_extrapolate(iterates):
    """Extrapolate from ``K + 1`` iterates: the rows of an array ``(K + 1, N)``
    (or a list of flattened vectors), or None when the linear system is
    singular."""
    A = np.asarray(iterates)  # one contiguous row per iterate
    U = A[1:] - A[:-1]
    UtU = U @ U.T
    try:
        z = np.linalg.solve(UtU, np.ones(U.shape[0]))
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(z)) or np.sum(z) == 0:
        return None
    return (z / np.sum(z)) @ A[1:]
