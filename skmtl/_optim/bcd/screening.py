"""Dual quantities of the block-coordinate-descent problem that do not depend on
the iterate: the column operator norms ``||A_j||`` that scale the gap-safe
screening test and the working-set priorities, and the correlations of the null
model (``W = 0``) that give ``alpha_max``.
"""

import numpy as np
import scipy.sparse as sp

from ..._ops import task_scatter
from ..design import column_square_sums

__all__ = ["alpha_max_design", "column_operator_norms", "null_correlations"]


def column_operator_norms(design):
    """``||A_j||``: the largest per-task Euclidean norm of the centred column ``j``.

    ``A_j* Theta`` is the vector ``(sum_{i in t} Theta_i (x_ij - xbar_tj))_t``; its
    operator norm (on outputs that vanish where ``omega = 0``) is
    ``max_t ||x_j^(t) - xbar_tj||_2`` over the observed rows of each task.
    Cached on ``design`` (a path solves many problems on one design).
    """
    cached = getattr(design, "_column_operator_norms", None)
    if cached is not None:
        return cached
    design._column_operator_norms = out = _column_operator_norms(design)
    out.setflags(write=False)
    return out


def _column_operator_norms(design):
    X, data = design.X, design.data
    n, T = X.shape[0], design.n_tasks
    if design.shared and data.mask is None:  # every task has every row
        ones = np.ones(n, dtype=design.dtype)
        s1 = np.asarray(X.T @ ones)[None, :]
        s2 = column_square_sums(X, ones)[None, :]
        counts = np.full(1, n)
        xbar = design.X_mean[:1]  # every task has the same rows: one mean
    elif design.shared:
        M = data.mask.astype(design.dtype)
        s1 = np.asarray(X.T @ M).T
        s2 = column_square_sums(X, M).T
        counts = M.sum(axis=0)
        xbar = design.X_mean
    else:
        X2 = X.multiply(X).tocsr() if sp.issparse(X) else X**2
        ones = np.ones(n, dtype=design.dtype)
        s1 = task_scatter(X, ones, design.task, T)
        s2 = task_scatter(X2, ones, design.task, T)
        counts = np.bincount(design.task, minlength=T)
        xbar = design.X_mean
    ss = s2 - 2 * xbar * s1 + counts[:, None] * xbar**2
    return np.sqrt(np.max(np.maximum(ss, 0.0), axis=0, initial=0.0))


def null_correlations(design, datafit, fit_intercept=True):
    """``A* Theta0`` (n_tasks, d): minus the datafit's gradient in ``W`` at
    ``W = 0`` with the optimal intercepts of the intercept model
    ``design.intercepts`` (free when None: each task's best constant; penalised:
    ``b_t = b_0 + c_t`` with the ridge on ``c``, via ``datafit.optimal_offsets``).
    ``Theta0`` is then dual feasible for the intercepts (``sum_t sigma_t = 0``), so
    ``W = 0`` is optimal exactly when ``g*`` is finite at ``A* Theta0``."""
    F = np.zeros(design.Y.shape, dtype=design.dtype)
    if fit_intercept and not design.center:
        b = datafit.optimal_offsets(F, design.Y, design.omega, design)
        F = F + design.per_row(b)
    return design.adjoint(-datafit.gradient(F, design.Y, design.omega))


def alpha_max_design(design, datafit, penalty, fit_intercept=True):
    """Smallest penalty strength with ``W = 0`` optimal, for any intercept model.

    ``penalty`` is the penalty at unit strength (``L21(1.0)``, ``SparseGroupL1L21(1.0,
    r)``, ...): ``alpha_max = penalty.dual_norm(null_correlations(...))``. With
    ``design.intercepts`` hierarchical the intercepts at ``W = 0`` are the shrunken
    ones, so ``alpha_max`` is that of the problem the estimator solves. A
    mean-shrinkage term (``alpha_mean``) has zero gradient at ``W = 0`` and does
    not change it.
    """
    return float(penalty.dual_norm(null_correlations(design, datafit, fit_intercept)))
