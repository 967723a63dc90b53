"""The outer loop of block coordinate descent: duality gap, gap-safe screening and
working sets (see the package docstring); the working-set problems are solved by
``working_set.WorkingSetSolver``.
"""

import functools
import math

import numpy as np

from .._threads import blas_threads
from ..base import SolverResult, feasible_dual, null_scale, refined_dual
from .profile import profiled_intercepts
from .screening import column_operator_norms
from .shrinkage import centred_tasks, mean_shrinkage
from .state import column_state, effective_weights
from .working_set import WorkingSetSolver

__all__ = ["REQUIRED", "bcd", "check_requirements"]

#: what ``bcd`` needs of its datafit and penalty (see ``datafits``, ``penalties``)
REQUIRED = {
    "datafit": (
        "value",
        "gradient",
        "hessian",
        "dual_value",
        "optimal_offsets",
        "curvature",
    ),
    "penalty": ("value", "block_prox", "column_margin", "dual_scale", "conjugate"),
}


def check_requirements(datafit, penalty):
    """Raise ``AttributeError`` naming what ``datafit`` or ``penalty`` lacks of
    ``REQUIRED`` (as skglm's solvers check the attributes they need)."""
    for role, obj in (("datafit", datafit), ("penalty", penalty)):
        missing = [name for name in REQUIRED[role] if not hasattr(obj, name)]
        if missing:
            raise AttributeError(
                f"The {role} {type(obj).__name__} cannot be solved by block "
                f"coordinate descent (bcd): it does not offer "
                f"{', '.join(missing)}. bcd needs {', '.join(REQUIRED[role])} "
                f"(a penalty separable over the columns of W); use fista instead."
            )


def _single_threaded_blas(solver):
    """Run ``solver`` with BLAS limited to one thread. The solver calls BLAS on
    vectors and thin matrices (a column of ``X`` against the residual) thousands
    of times, where waking threads costs more than the product: with 2 OpenBLAS
    threads on a busy 2-core machine a fit was 10x slower than with one
    (measured). Only the products with the whole ``X`` may use more threads
    (``blas_threads(None)``)."""

    @functools.wraps(solver)
    def run(*args, **kwargs):
        with blas_threads(1):
            return solver(*args, **kwargs)

    return run


# products with X of at least this many multiply-adds may use all BLAS threads
_THREADED_PRODUCT = 5e7


def _curvatures(design, datafit):
    """Per-(task, feature) block curvature and whether tasks share it."""
    c = datafit.curvature * design.column_curvature()
    equal = design.shared and design.data.mask is None
    return c, equal


# the working-set problem is solved to ``inner_ratio`` times the outer gap, times
# ``_WS_COST * |ws| / d`` when that is below 1 (floor ``_INNER_FLOOR``): an epoch over
# the working set costs about ``|ws| / d`` of the product with the whole ``X`` that
# every outer gap needs, so a tighter inner solve is cheaper than another outer
# iteration. bench_sparse, L2,1 at alpha_max / 10: (500, 5000, 20) 44 -> 29 ms,
# (2000, 20000, 20) 496 -> 387 ms (6 -> 4 outer gaps). At alpha_max / 100 the last
# phase (every feature) dominates and its epoch count varies by seed: (2000, 20000,
# 20), seeds 0-2, 5.5 / 6.9 / 5.9 s before, 6.7 / 5.0 / 7.1 s after.
_WS_COST, _INNER_FLOOR = 5.0, 0.01


# the last working-set problem (every unscreened feature) is solved to this fraction
# of the outer target: its gap is the whole problem's up to the screened columns'
# constraints (0 at the optimum, not certified at the current dual point), so a
# margin avoids another outer iteration. 0.5 before; 0.9 with Anderson depth 3 on
# bench_sparse (one thread, interleaved, medians of 3): 20-alpha path 2.18 -> 1.93 s;
# single fits at alpha_max / 100 (500, 5000, 20) 0.60 -> 0.52 s and (2000, 20000,
# 20) 5.65 -> 4.62 s, at / 10 within 2%, (200, 1000, 10) / 100 4% slower
_FINAL_RATIO = 0.9


def _inner_tol(gap, inner_ratio, ws_size, d):
    """Tolerance of a (non-final) working-set problem, from the outer ``gap``."""
    scale = min(1.0, _WS_COST * ws_size / max(d, 1))
    return gap * max(_INNER_FLOOR, inner_ratio * scale)


def _full_gap(state, design, datafit, penalty, W, m, alpha_mean, threaded):
    """``(gap, primal, scale, Vb)`` of the whole problem at ``W`` (the state's
    intercepts set to their exact values first): ``Vb = A* Theta`` (tiled for
    ``m`` blocks) and ``scale`` the factor making ``Theta`` dual feasible."""
    prof = state.prof
    if state.b is not None:  # exact intercepts: a feasible dual point
        state.fit_intercepts(effective_weights(W[:, state.ws], m).T)
    F = state.output()
    if prof is not None:
        Theta, sigma, _ = state.profiled_dual()
    else:
        Theta = -datafit.gradient(F, design.Y, design.omega)
    if state.intercepts is not None:
        Theta, sigma = feasible_dual(design, Theta)
    if threaded:
        with blas_threads(None):
            M = design.adjoint(Theta)
    else:
        M = design.adjoint(Theta)
    Yd = design.Y if prof is None else state.Y  # centred when profiled
    E = effective_weights(W, m)  # W itself for one block
    q = mean_shrinkage(E, alpha_mean)  # 0 without
    primal = datafit.value(F, Yd, design.omega) + penalty.value(W) + q
    if prof is not None:
        primal += prof.value()
    if state.intercepts is not None:
        primal += state.intercepts.value(state.b)

    def dual_at(Vb, xi_value):
        """The dual at ``(scale Theta, scale Xi)`` with ``Vb = A* Theta +
        sqrt(alpha_mean) P Xi`` (tiled for ``m`` blocks), ``xi_value = ||Xi||^2 /
        2`` (see ``mean_shrinkage``), and ``scale`` (dual feasibility)."""
        scale = penalty.dual_scale(Vb)
        dual = datafit.dual_value(scale * Theta, Yd, design.omega)
        dual -= penalty.conjugate(scale * Vb) + scale * scale * xi_value
        if prof is not None:  # see WorkingSetSolver.gap
            dual += scale * float(sigma @ prof.ybar) + prof.intercepts.dual_value(
                scale * sigma
            )
        if state.intercepts is not None:
            dual += state.intercepts.dual_value(scale * sigma)
        return dual, scale

    def tiled(V):  # the adjoint of the stacked operator: one copy per block
        return V if m == 1 else np.tile(V, (m, 1))

    V = M - alpha_mean * centred_tasks(E) if alpha_mean > 0 else M
    Vb = tiled(V)
    dual, scale = dual_at(Vb, q)
    if alpha_mean > 0 and primal - dual > 0:
        # Xi from W's deviations multiplies W's error by alpha_mean: the gap then
        # stalls near the pooled fit (alpha_mean far above the data's curvature).
        # On the columns in use, Xi cancelling the task-centred part of A* Theta
        # (V their column means) costs ||centred(A* Theta)||^2 / (2 alpha_mean)
        # and certifies there; the others keep Xi = 0 (W's deviations are 0).
        Mc = centred_tasks(M) * np.any(W != 0, axis=0)
        Vo = tiled(M - Mc)
        other = dual_at(Vo, 0.5 * float(np.sum(Mc * Mc)) / alpha_mean)
        if other[0] > dual:
            (dual, scale), Vb = other, Vo
    if (
        state.quadratic
        and state.b is None
        and prof is None
        and alpha_mean == 0
        and primal - dual > 0
    ):
        dual = max(dual, refined_dual(design, datafit, penalty, Theta, Vb, m=m))
    return primal - dual, primal, scale, Vb


@_single_threaded_blas
def bcd(
    design,
    datafit,
    penalty,
    W0,
    b0=None,
    *,
    max_iter=1000,
    tol=1e-4,
    verbose=0,
    ws_min=10,
    anderson=4,
    screening=True,
    inner_ratio=0.3,
    full_ratio=0.5,
    alpha_mean=0.0,
):
    """Minimise ``f(A E(W) + b) + g(W) [+ h(b)] [+ q(W)]`` from ``(W0, b0)``; see the
    package docstring. BLAS runs single-threaded but for the products with the
    whole ``X`` (``blas_threads``).

    Parameters
    ----------
    design : MultiTaskDesign
    datafit : Quadratic (on a centred or uncentred design) or any datafit on an
        uncentred design (intercepts ``b`` then updated jointly when ``b0`` is given).
    penalty : separable penalty offering ``REQUIRED["penalty"]``.
    W0 : ndarray of shape (n_blocks * n_tasks, n_features)
    b0 : ndarray of shape (n_tasks,) or None
    max_iter : int
        Maximum number of epochs (passes over the working set).
    tol : float
        Relative duality-gap tolerance (unit: ``base.null_scale``). For
        the squared loss, as in scikit-learn, the solve also runs until the
        last epoch changed no entry of ``W`` by more than ``tol`` times its
        largest entry.
    ws_min : int
        Smallest working set.
    anderson : int
        Iterates per Anderson extrapolation (0 disables it). 4 (5 before):
        bench_sparse, one thread, medians of 3 on a quiet machine, depths 3 /
        4 / 5: the 20-alpha path 1.87 / 1.85 / 2.04 s, CSR at alpha_max / 100
        0.45 / 0.41 / 0.45 s, the shared 1,000-task case 0.124 / 0.113 / 0.110
        s; (200, 1000, 10) at alpha_max / 100 is the case it does worst on
        (0.042 / 0.051 / 0.042 s); other dense fits within 5%.
    screening : bool
        Gap-safe screening of the features.
    inner_ratio : float
        The working-set problem is solved to ``inner_ratio`` times the outer gap
        (less for a working set much smaller than ``d``: ``_inner_tol``).
    full_ratio : float
        A working set of more than this fraction of the unscreened features is
        extended to all of them and solved to ``tol`` directly.
    alpha_mean : float
        Strength of the mean-shrinkage term ``q(W) = (alpha_mean / 2) sum_t
        ||w_t - wbar||^2`` (``mean_shrinkage``) on the effective weights (the
        sum of the blocks).

    Returns
    -------
    SolverResult
    """
    check_requirements(datafit, penalty)
    m = getattr(penalty, "n_blocks", 1)
    T, d = design.n_tasks, design.n_features
    if W0.shape != (m * T, d):
        raise ValueError(f"W0 has shape {W0.shape}; expected {(m * T, d)}.")
    W = np.array(W0, dtype=design.dtype)
    profiled = profiled_intercepts(design, datafit, b0)
    if profiled is not None:
        # penalised intercepts of the squared loss: profiled out exactly on the
        # centred design (``InterceptProfile``); ``design`` still defines the gap
        work = design.centred()
        state = column_state(work, datafit)
        state.profile(profiled)
        curv_full, equal = _curvatures(work, datafit)
        curv_full = curv_full + state.prof.curvature(work.X_mean)
        equal = equal and bool(np.all(curv_full == curv_full[:1]))
    else:
        state = column_state(design, datafit, b0)
        curv_full, equal = _curvatures(design, datafit)
    colnorm = column_operator_norms(design)
    radius_unit = 2.0 * datafit.curvature * float(np.max(design.omega))
    if alpha_mean > 0:
        # the dual variable Xi of the mean-shrinkage term (see mean_shrinkage)
        # is 1-strongly concave and adds sqrt(alpha_mean) to a column's norm
        radius_unit = max(radius_unit, 2.0)
        colnorm = np.sqrt(colnorm**2 + alpha_mean)
    threshold = tol * null_scale(design, datafit, b0 is not None)
    screened = np.zeros(d, dtype=bool)
    threaded = design.X.shape[0] * d * T >= _THREADED_PRODUCT
    ws = np.flatnonzero(np.any(W != 0, axis=0))
    state.set_ws(ws)
    n_epochs, gap, primal, converged = 0, np.inf, np.inf, False
    ws_size = ws_min
    # scikit-learn's second stopping condition (squared loss): the last epoch
    # changed no entry of W by more than tol times the largest (none yet: True)
    dw_ok = True
    while True:
        E = effective_weights(W[:, ws], m).T
        F = state.forward(E)
        state.reset(E, F)
        gap, primal, scale, Vb = _full_gap(
            state, design, datafit, penalty, W, m, alpha_mean, threaded
        )
        if verbose:
            print(
                f"epoch {n_epochs}: primal {primal:.10g} gap {gap:.3e} "
                f"(target {threshold:.3e}), working set {len(ws)}, "
                f"screened {int(screened.sum())}"
            )
        if gap <= threshold and (dw_ok or n_epochs >= max_iter):
            converged = True
            break
        if n_epochs >= max_iter:
            break
        margin = penalty.column_margin(scale * Vb)
        if screening and np.isfinite(gap):
            # a gap at rounding level must not shrink the safe sphere to nothing
            slack = 10 * np.finfo(W.dtype).eps * abs(primal)
            radius = math.sqrt((max(gap, 0.0) + slack) * radius_unit)
            screened |= margin > radius * colnorm
        active = np.any(W != 0, axis=0)
        if np.any(active & screened):  # cannot happen at the optimum; be safe
            screened &= ~active
        with np.errstate(divide="ignore", invalid="ignore"):
            priority = np.where(colnorm > 0, margin / colnorm, np.inf)
        priority[active] = -np.inf
        priority[screened] = np.inf
        n_free = d - int(screened.sum())
        ws_size = min(n_free, max(ws_min, 2 * int(active.sum()), ws_size))
        if ws_size > full_ratio * n_free:  # not worth the outer iterations
            ws_size = n_free
        if ws_size == 0:
            break
        ws = np.sort(np.argpartition(priority, ws_size - 1)[:ws_size])
        state.set_ws(ws)
        Wl = np.ascontiguousarray(W[:, ws].T)
        # every non-zero column of W is in both working sets: the same output
        state.reset(effective_weights(Wl.T, m).T, F)
        curv = curv_full[:, ws].T
        curv = np.ascontiguousarray(curv[:, 0] if equal else curv)
        if equal:
            curv = curv.tolist()  # python floats: the scalar closed form
        solver = WorkingSetSolver(
            state, penalty, curv, m, anderson, alpha_mean=alpha_mean
        )
        # a working set holding every unscreened feature is the whole problem
        final = ws_size == n_free or gap <= threshold
        if final:
            tol_in = _FINAL_RATIO * threshold
        else:
            tol_in = _inner_tol(gap, inner_ratio, ws_size, d)
        n_epochs += solver.run(
            Wl,
            tol_in,
            max_iter - n_epochs,
            dw_tol=tol if final else None,
            dw_spent=n_epochs,
        )
        dw_ok = solver.dw_ok
        W[:, ws] = Wl.T
    b = state.b
    if profiled is not None:  # the state is that of W (reset at the gap)
        b = state.prof.intercepts_b().astype(design.dtype)
    return SolverResult(W, b, max(n_epochs, 1), gap, primal, converged)
