"""ADMM for the squared loss with a prox-friendly penalty, certified by the duality gap.

Solves ``min_W 1/2 sum omega (A W - Y)^2 + g(W)`` (centred design: free intercepts
removed by centring) or, with penalised intercepts ``b_t = b_0 + c_t`` (hierarchical
or pooled, ``design.intercepts``), ``min_{W, b} 1/2 sum omega (A W + b - Y)^2 + g(W)
+ h(b)``, by the alternating direction method of multipliers on the split ``W = Z``
(Boyd et al. 2011, §4.4 and §3.4.1), over-relaxed (``r = relax``, §3.4.3); the
tasks-coupling ``alpha_mean`` term is part of the exact ``W`` step (``_w_step``)::

    W <- (H + rho I)^{-1} (A* (omega Y) + rho (Z - U))     per task, exact
    W^ <- r W + (1 - r) Z                                    over-relaxation
    Z <- prox_{g / rho}(W^ + U)                              (SVT for the trace norm)
    U <- U + W^ - Z

with ``H_t = Z_t^T Z_t`` task ``t``'s weighted Gram. The ``W`` step is an exact
ridge solve (:mod:`shifted`: through each task's thin SVD, computed once, or
for tall tasks through the inverses of ``H_t + rho I``, one set per value of
``rho``): its cost does not depend on the conditioning of ``H_t``, unlike a
gradient step ``1 / max_t ||H_t||`` whose convergence rate degrades with the
condition number (badly scaled or one-hot columns). ``rho`` is balanced
between the primal and dual residuals, each relative to its own scale (``mu = 10``,
``tau = 2``; Boyd et al. §3.4.1, normalised as in Wohlberg 2017, "ADMM penalty
parameter selection by residual balancing").

Penalised intercepts. ADMM runs on the profiled datafit ``F(W) = min_b f(A W + b) +
h(b)`` (a convex quadratic in ``W``), and its ``W`` step minimises ``F(W) + rho/2
||W - V||^2`` exactly, jointly over ``(W, b_0, c)``. With ``S_t`` the task's sum of
``omega``, ``k_t = S_t / (S_t + lam rho_t)`` (the fraction of its mean residual the
task keeps) and ``a_t = (1 - k_t) S_t``, eliminating ``c`` leaves (``bcd.profile``)::

    F(W) = f_c(W) + 1/2 sum_t a_t (ybar_t - xbar_t w_t - b_0)^2

with ``f_c`` the squared loss of the per-task centred design (Grams ``H_t``,
shifted solves built once by :func:`centred_factors`). For a fixed ``b_0`` each ``w_t``
solves a ridge problem whose Gram is ``H_t + a_t xbar_t xbar_t^T``; with ``P_t =
(H_t + rho I)^{-1}``, ``beta_t = xbar_t P_t xbar_t``, ``g_t`` the right-hand side
and ``gamma_t = xbar_t P_t g_t``, Sherman-Morrison gives::

    w_t = P_t g_t + P_t xbar_t a_t (ybar_t - gamma_t - b_0) / (1 + a_t beta_t)
    b_0 = sum_t e_t (ybar_t - gamma_t) / sum_t e_t,   e_t = a_t / (1 + a_t beta_t)

(``b_0`` zeroes the derivative ``sum_t a_t (ybar_t - xbar_t w_t - b_0)``). No term
cancels: features of large mean make ``a_t beta_t`` large, which these forms divide
by, where ``1 - a_t xbar_t (H_t + a_t xbar_t xbar_t^T + rho I)^{-1} xbar_t`` (the same
``1 / (1 + a_t beta_t)``) would lose the digits the gap needs. Then ``c_t = k_t
(ybar_t - b_0 - xbar_t w_t)``. ``lam = inf`` (one pooled intercept) is ``k = 0``.

Stopping rule: the duality gap of ``base.duality_gap`` at the (penalty-feasible)
``Z`` iterate, at most ``tol * scale`` as for FISTA (same certificate, same scale).
With ``alpha_mean > 0`` the dual value is the better of that gap's and the one at
the ``W`` step's point for the multiplier ``rho U`` (``_stationary_dual``); without
it, the same once the first gap stalls (a tiny penalty on a full-rank design).
"""

import numpy as np

from .base import SolverResult, duality_gap, null_scale
from .design import _FACTOR_BUDGET, _LSTSQ_BUDGET
from .shifted import as_shifts, task_shifts
from .structured import AugmentedDatafit, MeanShrinkDesign

__all__ = ["admm_quadratic", "centred_factors", "mean_shrink_affordable"]

# residual balancing: rescale rho by _TAU when one residual exceeds _MU times the other
_MU, _TAU = 10.0, 2.0
# over-relaxation (Boyd et al. §3.4.3; 1.5-1.8 recommended): bench_low_rank, tol
# 1e-7, alpha_max / 10 and / 100, iterations without -> with: (200, 50, 200) 80 ->
# 40 and 160 -> 100, (20, 100, 500) 90 -> 50 and 110 -> 70, (20, 100, 50) 60 -> 30
# and 80 -> 50. 1.7-1.8 did as well there but put the warm-started CV path
# (test_alpha_mean_grid_equals_a_manual_loop) or Clarabel's intercepts on shifted
# features (test_alpha_mean_by_admm) just outside their tests' tolerances
_RELAX = 1.6


def _norm(A):
    """Frobenius norm of a contiguous array (a third cheaper than
    ``np.linalg.norm`` on the ``(T, d)`` iterates: 1.3 against 1.8 us)."""
    return float(np.sqrt(np.vdot(A, A)))


def _keep_fractions(design):
    """``(S, k)``: per-task sums of ``omega`` and kept fractions ``k_t = S_t / (S_t +
    lam rho_t)`` of ``design.intercepts`` (0 for a pooled intercept or no data)."""
    S = design.task_sum(design.omega).astype(np.float64)
    intercepts = design.intercepts
    if intercepts.pooled:
        return S, np.zeros_like(S)
    lr = intercepts.strength * intercepts.rho
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(S > 0, S / (S + lr), 0.0)
    return S, k


def centred_factors(
    design, budget=_LSTSQ_BUDGET, max_floats=_FACTOR_BUDGET, cache=None
):
    """Per-task shifted solves of the centred designs, for penalised intercepts.

    ``design`` is uncentred with ``design.intercepts`` hierarchical or pooled. Task
    ``t``'s design is ``Omega_t^{1/2} (X_t - xbar_t)`` (module docstring). Returns
    ``(shifts, xbar, ybar, S, k)`` with ``shifts`` of :func:`shifted.task_shifts`
    (one factorisation, task 0's, in a fully observed shared layout: every task
    has the same rows and weights up to its factor ``omega_t``, applied in
    ``admm_quadratic``), or None over the same budgets. ``cache`` (a dict,
    optional): keeps the factors, which depend on the data only (not on any
    strength), for the next fit on the same data (a regularisation path); ``k``
    follows the intercept strength of each call.
    """
    S, k = _keep_fractions(design)
    if cache is not None and "centred" in cache:
        parts = cache["centred"]
    else:
        safe = np.where(S > 0, S, 1.0)
        xbar = np.asarray(design.adjoint(design.omega), dtype=np.float64)
        xbar /= safe[:, None]
        ybar = design.task_sum(design.omega * design.Y).astype(np.float64) / safe
        shifts = task_shifts(design, budget, max_floats, shift=xbar)
        parts = None if shifts is None else (shifts, xbar, ybar)
        if cache is not None:
            cache["centred"] = parts
    if parts is None:
        return None
    return (*parts, S, k)


def _w_step(shifts, G, rho, mu, inter, sum_p):
    """The exact ``W`` step (module docstring): rows ``w_t`` minimising ``1/2 w_t
    H_t w_t - w_t g_t + rho/2 ||w_t||^2`` plus, with ``inter = (xbar, ybar, a)``,
    ``a_t / 2 (ybar_t - xbar_t w_t - b_0)^2`` over ``b_0``, plus ``mu / 2 sum_t
    ||w_t - wbar||^2``. With ``P_t = (H_t + (rho + mu) I)^{-1}``, ``q_t = P_t
    xbar_t``, ``e_t = a_t / (1 + a_t xbar_t q_t)`` and ``M_t = P_t - e_t q_t
    q_t^T`` (Sherman-Morrison), ``w_t = z_t + mu M_t wbar - e_t b_0 q_t`` with
    ``z_t = P_t g_t + e_t (ybar_t - xbar_t P_t g_t) q_t``; ``wbar`` (the mean of
    the rows) and ``b_0`` (zeroing ``sum_t a_t (ybar_t - xbar_t w_t - b_0)``)
    solve::

        (T I - mu sum_t M_t) wbar + (sum_t e_t q_t) b_0 = sum_t z_t
        mu (sum_t e_t q_t) . wbar + (sum_t e_t) b_0 = sum_t e_t (ybar_t - gamma_t)

    (``gamma_t = xbar_t P_t g_t``)

    (``T I - mu sum_t M_t`` is positive definite: ``M_t <= I / (rho + mu)``).
    """
    rp = rho + mu
    W = shifts.solve(G, rp)
    T, d = W.shape
    if inter is not None:
        xbar, ybar, a = inter
        Q = shifts.solve(xbar, rp)
        e = a / (1.0 + a * np.einsum("td,td->t", xbar, Q))
        gamma = np.einsum("td,td->t", xbar, W)
        W = W + (e * (ybar - gamma))[:, None] * Q  # z_t
    if mu == 0:
        if inter is None:
            return W
        e_sum = float(np.sum(e))  # W - e_t b_0 q_t, b_0 a weighted mean
        if e_sum <= 0:
            return W
        shared_b = float(e @ (ybar - gamma)) / e_sum
        return W - (e * shared_b)[:, None] * Q
    if rho not in sum_p:
        sum_p.clear()
        sum_p[rho] = shifts.inverse_sum(rp)
    A = np.zeros((d + 1, d + 1))
    A[:d, :d] = np.eye(d) * T - mu * sum_p[rho]
    rhs = np.zeros(d + 1)
    rhs[:d] = W.sum(axis=0)
    if inter is not None and float(np.sum(e)) > 0:
        eq = e[:, None] * Q
        A[:d, :d] += mu * (eq.T @ Q)
        s_vec = eq.sum(axis=0)
        A[:d, d], A[d, :d], A[d, d] = s_vec, mu * s_vec, float(np.sum(e))
        rhs[d] = float(e @ (ybar - gamma))
    else:
        A[d, d] = 1.0
    try:
        sol = np.linalg.solve(A, rhs)
    except np.linalg.LinAlgError:  # singular at rho = 0 (``_stationary_dual``)
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
    wbar, shared_b = sol[:d], sol[d]
    W = W + mu * shifts.solve(np.broadcast_to(wbar, (T, d)), rp)
    if inter is not None:
        W = W - (e * (mu * (Q @ wbar) + shared_b))[:, None] * Q
    return W


def _stationary_dual(shifts, R, mu, inter, sum_p, design, datafit, penalty, Theta, b):
    """A dual value from ADMM's multiplier ``Theta = rho U`` (with the mean
    shrinkage, or once the residual's gap stalls).

    ``Theta`` lies in ``dg(Z)`` exactly (the ``Z`` step's optimality), but the
    dual point ``duality_gap`` builds from the residuals at ``Z`` does not: with a
    large ``alpha_mean`` its mean-shrinkage block ``alpha_mean (z_t - zbar)``
    multiplies the error of ``Z`` by ``alpha_mean``, and the gap stalls orders of
    magnitude above the primal's error (School, ``alpha_mean`` 2.4e3: primal
    stable to 1e-10 relative, gap 24 of 43). This evaluates ``duality_gap``'s dual
    at ``W~ = argmin_W F(W) + <Theta, W>`` (the ``W`` step at ``rho = 0``), whose
    gradient is ``-Theta`` up to rounding: the dual there is
    ``F(W~) - <grad F(W~), W~> - g*(-grad F(W~))`` (Fenchel-Young), a certified
    lower bound at any ``W~``, tight as ``Z`` converges."""
    Wt = _w_step(shifts, R - Theta, 0.0, mu, inter, sum_p)
    if not np.all(np.isfinite(Wt)):
        return -np.inf
    gap, primal, _ = duality_gap(
        design, datafit, penalty, Wt.astype(design.dtype, copy=False), b
    )
    return primal - gap


def mean_shrink_affordable(shape, budget=2e9):
    """Whether ``admm_quadratic`` with ``alpha_mean > 0`` fits ``budget``
    multiply-adds per sum of inverse Grams (``T d^2 k``, recomputed when ``rho``
    changes) with ``d <= 2000`` (its ``(d + 1)^2`` system); ``shape`` is that of
    the factors, ``(T, d, k)`` (``design.factors_shape``, ``shifts.shape``)."""
    n_groups, d, k = shape
    return d <= 2000 and n_groups * d**2 * k <= budget


def admm_quadratic(
    design,
    datafit,
    penalty,
    W0,
    factors,
    *,
    max_iter=1000,
    tol=1e-4,
    gap_every=10,
    verbose=0,
    b0=None,
    alpha_mean=0.0,
    threshold=None,
    relax=_RELAX,
):
    """Minimise ``f(A W + b) + g(W) + h(b)`` for the squared loss ``f``, plus
    ``alpha_mean / 2 sum_t ||w_t - wbar||^2`` when ``alpha_mean > 0``.

    Parameters
    ----------
    design : MultiTaskDesign
    datafit : Quadratic
    penalty : a penalty with ``prox`` (see ``penalties``)
    W0 : ndarray of shape (n_tasks, n_features)
        Starting point (warm start).
    factors : EigenShifts, GramShifts or tuple
        :func:`shifted.task_shifts` of the design (centred design, no ``b``; a
        ``(V, s2)`` pair of ``design.task_right_factors()`` also serves), or
        :func:`centred_factors` (penalised intercepts).
    max_iter, tol, gap_every, verbose : as ``prox_grad.fista``.
    b0 : ndarray of shape (n_tasks,) or None
        None: no joint intercepts (centred design). Otherwise the intercepts are
        penalised by ``design.intercepts`` (hierarchical or pooled) and minimised
        exactly inside every ``W`` step; the value only marks that they exist.
    alpha_mean : float, default=0.0
        The tasks-coupling mean shrinkage: the ``W`` step then solves one ``(d +
        1) x (d + 1)`` system for ``(wbar, b_0)`` (``_w_step``), with the sum of
        the tasks' inverse Grams recomputed when ``rho`` changes
        (:func:`mean_shrink_affordable` bounds its cost).
    threshold : float, default=None
        An absolute duality-gap target replacing ``tol`` (the inexact
        subproblems of ``prox_newton``).
    relax : float, default=1.6
        Over-relaxation ``r`` in ``(0, 2)`` (1: plain ADMM).

    Returns
    -------
    SolverResult
        ``W`` is the last ``Z`` iterate (the prox output: exactly low rank); ``b``
        its exact intercepts (None without).
    """
    joint = b0 is not None
    if joint:
        shifts, xbar, ybar, S, k = factors
        a = (1.0 - k) * S  # coefficient of b_0 in each task's ridge target
    else:
        shifts = as_shifts(factors)
    T = design.n_tasks
    # one factorisation for all tasks (fully observed shared layout): the rows
    # are shared, but task t's Gram is scaled by its multiplier omega_t
    shifts = shifts.for_tasks(design.task_omega)
    R = np.asarray(design.adjoint(design.omega * design.Y), dtype=float)  # A*(omega Y)
    if joint:  # centred: X_c^T Omega y_c = X^T Omega y - S ybar xbar
        R = R - (S * ybar)[:, None] * xbar
    mu = float(alpha_mean)
    gap_design, gap_datafit = design, datafit
    if mu > 0:  # the mean shrinkage on the datafit side, as for FISTA
        gap_design = MeanShrinkDesign(design, mu, move_dual=False)
        gap_datafit = AugmentedDatafit(datafit, gap_design)
    if threshold is None:
        threshold = tol * null_scale(gap_design, gap_datafit, joint)
    inter = (xbar, ybar, a) if joint else None
    Z = np.array(W0, dtype=float)
    # rho: the mean curvature of the tasks' Grams (trace / d), a scale-free start
    d = max(design.n_features, 1)
    rho = rho_start = max(shifts.mean_trace() / d, 1e-12)
    # scaled dual at the optimum is -grad F(W) / rho: start there from W0
    if joint:  # the profiled gradient: the residual at the exact intercepts
        F = design.forward(Z.astype(design.dtype, copy=False))
        b = datafit.optimal_offsets(F, design.Y, design.omega, design)
        G = design.omega * (F + design.per_row(b) - design.Y)
        U = -np.asarray(design.adjoint(G), dtype=float) / rho
    else:
        U = (R - shifts.apply(Z)) / rho
    if mu > 0:  # the mean shrinkage's part of the gradient
        U = U - mu * (Z - Z.mean(axis=0)) / rho
    gap, primal, b = np.inf, np.inf, None
    sum_p = {}  # rho -> sum_t (H_t + (rho + mu) I)^{-1}
    stationary = (shifts, R, mu, inter, {}, gap_design, gap_datafit, penalty)
    for it in range(1, max_iter + 1):
        W = _w_step(shifts, R + rho * (Z - U), rho, mu, inter, sum_p)
        Z_old = Z
        W_relaxed = relax * W + (1.0 - relax) * Z_old
        Z = penalty.prox(W_relaxed + U, 1.0 / rho)
        U = U + W_relaxed - Z
        if it % gap_every == 0 or it == max_iter:
            Zc = Z.astype(design.dtype, copy=False)
            b_in = np.zeros(T, dtype=design.dtype) if joint else None
            last_gap = gap
            gap, primal, b = duality_gap(gap_design, gap_datafit, penalty, Zc, b_in)
            # the multiplier's dual point: with the mean shrinkage always, else
            # once the residual's gap stalls (less than halved in gap_every
            # iterations: a tiny alpha, whose dual ball is tiny, on a full-rank
            # design; unshifted solves, NaN and unused where a Gram is singular)
            if gap > threshold and (mu > 0 or gap > 0.5 * last_gap):
                gap = min(gap, primal - _stationary_dual(*stationary, rho * U, b_in))
            if verbose:
                print(f"iter {it}: primal {primal:.10g} gap {gap:.3e} rho {rho:.3e}")
            if gap <= threshold:
                return SolverResult(Zc, b, it, gap, primal, True)
        # residual balancing on residuals relative to their scales (Wohlberg
        # 2017): the raw residuals of Boyd et al. depend on the units of W and
        # stall on badly scaled designs (School: 3,000+ iterations at alpha 1e-3)
        r = _norm(W - Z) / max(_norm(W), _norm(Z), 1e-300)
        s = _norm(Z - Z_old) / max(_norm(U), 1e-300)
        # (within 1e+-8 of the start, or up to 1e8 alpha_mean where the mean
        # shrinkage dominates the Grams (features of 1e-6): a vanishing residual
        # must not drive rho to 0 or overflow)
        if r > _MU * s and rho < 1e8 * max(rho_start, mu):
            rho, U = _TAU * rho, U / _TAU
        elif s > _MU * r and rho > 1e-8 * rho_start:
            rho, U = rho / _TAU, U * _TAU
    return SolverResult(
        Z.astype(design.dtype, copy=False), b, max_iter, gap, primal, False
    )
