"""Accelerated proximal gradient (FISTA) with adaptive restart and a duality-gap stop.

Solves ``min_{W, b} f(A W + b) + g(W) + h(b)`` for a datafit ``f`` on the output and
a penalty ``g`` with a cheap prox (see ``datafits`` and ``penalties``). Intercepts
``b`` (one per task) are either removed by centring (squared loss, free intercepts)
or updated with ``W`` by a proximal step on ``h``, the penalty of the intercept
model ``design.intercepts`` (``b_t = b_0 + c_t``, ridge on ``c``; ``h = 0`` for free
intercepts, see ``intercepts``), whose prox is exact. Before each gap evaluation
``b`` is set to its exact minimiser for the current ``W`` so that the dual point
is feasible. The stopping rule is that of ``base``.
"""

import numpy as np

from .base import (
    SolverResult,
    duality_gap,
    model_output,
    null_scale,
    penalised_intercepts,
)

__all__ = ["fista"]


def fista(
    design,
    datafit,
    penalty,
    W0,
    b0=None,
    *,
    max_iter=1000,
    tol=1e-4,
    gap_every=10,
    lipschitz=None,
    verbose=0,
):
    """Minimise ``f(A W + b) + g(W)`` from ``(W0, b0)``.

    Parameters
    ----------
    design : MultiTaskDesign
    datafit, penalty : see ``datafits`` / ``penalties``
    W0 : ndarray of shape (n_tasks, n_features)
    b0 : ndarray of shape (n_tasks,) or None
        Initial intercepts, updated jointly; None when there are none (or centring
        removed them).
    max_iter : int
    tol : float
        Relative duality-gap tolerance (see module docstring).
    gap_every : int
        Iterations between gap evaluations.
    lipschitz : float, default=None
        Bound on the gradient's Lipschitz constant; computed when None.

    Returns
    -------
    SolverResult
    """
    intercept = b0 is not None
    intercepts = penalised_intercepts(design, b0)
    if lipschitz is None:
        lipschitz = datafit.curvature * float(
            np.max(design.task_lipschitz(intercept=intercept), initial=0.0)
        )
    step = 1.0 / max(lipschitz, 1e-12)
    threshold = tol * null_scale(design, datafit, intercept)
    W, b = W0.copy(), None if b0 is None else b0.copy()
    Z, bz = W.copy(), None if b is None else b.copy()
    t_k = 1.0
    gap, primal = np.inf, np.inf
    for it in range(1, max_iter + 1):
        G = datafit.gradient(model_output(design, Z, bz), design.Y, design.omega)
        W_new = penalty.prox(Z - step * design.adjoint(G), step)
        b_new = None if bz is None else bz - step * design.task_sum(G)
        if intercepts is not None:  # prox of step * h: exact (Intercepts.solve)
            b_new = intercepts.solve(b_new, np.full(b_new.shape, 1.0 / step))
            b_new = b_new.astype(bz.dtype, copy=False)
        # adaptive restart (O'Donoghue & Candes 2015): momentum that opposes progress
        if np.sum((Z - W_new) * (W_new - W)) > 0:
            t_k = 1.0
        t_next = 0.5 * (1 + np.sqrt(1 + 4 * t_k**2))
        beta = (t_k - 1) / t_next
        Z = W_new + beta * (W_new - W)
        if b_new is not None:
            bz = b_new + beta * (b_new - b)
        W, b, t_k = W_new, b_new, t_next
        if it % gap_every == 0 or it == max_iter:
            gap, primal, b_opt = duality_gap(design, datafit, penalty, W, b)
            if verbose:
                print(f"iter {it}: primal {primal:.10g} gap {gap:.3e}")
            if gap <= threshold:
                return SolverResult(W, b_opt, it, gap, primal, True)
    return SolverResult(W, b_opt, max_iter, gap, primal, False)
