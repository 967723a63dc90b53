"""Proximal Newton for a smooth non-quadratic loss, its steps solved by ADMM.

Solves ``min_{W, b} f(A W + b) + g(W) + h(b) + alpha_mean / 2 sum_t ||w_t -
wbar||^2`` (``f`` the logistic loss, ``g`` a penalty with a prox, ``h`` the
penalty of ``design.intercepts``) by the proximal Newton method of Lee, Sun &
Saunders (2014, "Proximal Newton-type methods for minimizing composite
functions"). Each step replaces ``f`` by its second-order model at the current
output ``F``, a weighted least-squares problem::

    1/2 sum_i H_i (F'_i - z_i)^2,    H_i = f''(F_i),  z_i = F_i - f'(F_i) / H_i

(iteratively reweighted least squares, as glmnet does for the lasso), and solves
it with everything else exact: ``g``, ``h`` and the mean shrinkage are not
approximated. The subproblem is the squared-loss problem of
:func:`skmtl._optim.admm.admm_quadratic` on the design reweighted by ``H``
(``MultiTaskDesign.with_weights``), whose per-task thin SVDs make its cost
independent of the conditioning of the weighted Grams: this is where FISTA with
its ``1 / L`` step is slow (tasks with few positives have ``H`` far below the
bound 1/4, and a large ``alpha_mean`` raises ``L`` for every direction). A
backtracking line search on the exact objective (Armijo with the decrease ``Delta
= <grad f, D> + g(W + D) - g(W) + h(b + d) - h(b)``, Lee et al. eq. 2.13) makes
every step a descent step; near the optimum the full step is taken and the
convergence is superlinear with the inexact solves used here. A subproblem is
solved to an absolute gap of a tenth of ``min(duality gap, last predicted
decrease)``, then again, warm and tighter, until that is at most a tenth of the
decrease it predicts itself (at most 4 solves; one that runs out of iterations
goes on from its last point); the step keeps the best of them.

Certificate. After each step one proximal gradient step (``1 / L``) is tried and
kept when its duality gap is smaller: a Newton iterate carries its error into
the mean-shrinkage block of the dual point multiplied by ``alpha_mean``, which
the gradient step's ``1 / (L + alpha_mean)`` undoes (FISTA's iterates are built
that way). ``MeanShrinkDesign.feasible_extra`` moves that block as well.

Stopping rule: the duality gap of ``base.duality_gap`` (with the mean shrinkage
on the datafit side, ``structured.MeanShrinkDesign``) at most ``tol`` times
``base.null_scale``, the certificate FISTA uses. The solver also stops, at its
best iterate, when neither the gap nor the objective moves in 5 steps, or when
the subproblems' ADMM iterations exceed ``max(10 max_iter, 1000)`` (problems
without a minimiser: separable classes at a tiny ``alpha``).
"""

from functools import partial

import numpy as np

from .admm import admm_quadratic, centred_factors, mean_shrink_affordable
from .base import (
    SolverResult,
    duality_gap,
    model_output,
    null_scale,
    penalised_intercepts,
    solve_on_centred_features,
)
from .datafits import Quadratic
from .design import factors_shape
from .shifted import task_shifts
from .structured import AugmentedDatafit, MeanShrinkDesign

__all__ = ["prox_newton", "prox_newton_affordable"]

# weights of the quadratic model are at least this fraction of the loss weights
# (confidently classified rows have f'' -> 0; their targets z would blow up)
_MIN_CURVATURE = 1e-6
# Armijo's sufficient-decrease fraction and the largest number of halvings
_ARMIJO, _MAX_HALVINGS = 1e-4, 30
# iterations allowed to one subproblem, and solves of one Newton step (one that
# does not reach its tolerance goes on from its last point)
_INNER_MAX_ITER, _RESOLVES = 500, 4
# the ADMM iterations of all Newton steps are at most _WORK * max_iter (or two
# subproblems' worth, 1,000, when max_iter is small): a problem
# without a minimiser (separable classes at a tiny alpha, the weights growing
# without bound) stops at the cost of as many FISTA iterations, not 500x that
_WORK = 10
# the subproblems' gap need not go below this fraction of the outer threshold
_INNER_FLOOR = 1e-3
# predicted decreases below this fraction of the objective are rounding
_ROUNDING = 1e-13
# the duality gap must fall below this fraction of the best one, or the objective
# by more than its rounding, within _PATIENCE Newton steps, else the solver stops
# at the best iterate
_PROGRESS, _PATIENCE = 0.9, 5


def prox_newton_affordable(design, alpha_mean):
    """Whether the subproblems' per-task SVDs (one set per Newton step) fit the
    budgets of ``design.task_right_factors`` (and of the mean shrinkage's
    system with ``alpha_mean > 0``)."""
    shape = factors_shape(design.with_weights(design.omega, design.Y))
    if shape is None:
        return False
    return alpha_mean <= 0 or mean_shrink_affordable(shape)


def _objective(design, datafit, penalty, W, b, mu):
    """The objective at ``(W, b)`` (the line search's trial points)."""
    value = datafit.value(model_output(design, W, b), design.Y, design.omega)
    value += penalty.value(W) + _intercept_penalty(design, b)
    if mu > 0:
        value += mu / 2 * float(np.sum((W - W.mean(axis=0)) ** 2))
    return value


def _intercept_penalty(design, b):
    intercepts = penalised_intercepts(design, b)
    return 0.0 if intercepts is None else intercepts.value(b)


class _Point:
    """An iterate ``(W, b)`` with its output ``F`` and the gradients of the
    smooth part, computed once: the Newton model, the predicted decrease and
    the gradient step all use them."""

    def __init__(self, design, datafit, W, b, mu):
        self.W, self.b = W, b
        self.F = model_output(design, W, b)
        #: the datafit's gradient in the outputs
        self.G = datafit.gradient(self.F, design.Y, design.omega)
        #: the smooth part's gradient in ``W`` (the mean shrinkage's included)
        self.grad_W = np.asarray(design.adjoint(self.G), dtype=np.float64)
        if mu > 0:
            self.grad_W = self.grad_W + mu * (W - W.mean(axis=0))
        #: ... and in ``b`` (None without intercepts)
        self.grad_b = None if b is None else design.task_sum(self.G)


class _NewtonModel:
    """The second-order model at an output ``F`` (module docstring): the
    reweighted design and its per-task factors, built once for the solves of
    one Newton step."""

    def __init__(self, design, datafit, point, mu, verbose):
        F, G, b = point.F, point.G, point.b
        H = np.maximum(
            datafit.hessian(F, design.Y, design.omega), _MIN_CURVATURE * design.omega
        )
        self.design, self.H, self.b, self.mu = design, H, b, mu
        safe = np.where(H > 0, H, 1.0)  # (H = 0 only where omega = 0)
        self.model = design.with_weights(H, np.where(H > 0, F - G / safe, 0.0))
        self.free = b is not None and penalised_intercepts(self.model, b) is None
        if b is None:  # no intercepts
            self.solved, self.factors = self.model, task_shifts(self.model)
        elif self.free:  # centred by H
            self.solved = self.model.centred()
            self.factors = task_shifts(self.solved)
        else:
            self.solved, self.factors = self.model, centred_factors(self.model)
        self.options = dict(max_iter=_INNER_MAX_ITER, verbose=max(verbose - 1, 0))

    def solve(self, penalty, start, threshold):
        """``(W, b, result)``: the model's minimiser to the absolute duality gap
        ``threshold``, by ADMM from ``start`` (``result``: its SolverResult)."""
        joint = None if (self.b is None or self.free) else self.b
        result = admm_quadratic(
            self.solved,
            Quadratic(),
            penalty,
            start,
            self.factors,
            b0=joint,
            alpha_mean=self.mu,
            threshold=threshold,
            # plain ADMM: over-relaxed subproblem solves left 4 of 10 Landmine
            # TraceNormLogisticRegressionCV refits (warm-started) unconverged
            relax=1.0,
            **self.options,
        )
        if not self.free:
            return result.W, result.b, result
        # the model's exact intercepts in the coordinates of ``design`` (its
        # features may be centred): the H-weighted task means of z - A W
        residual = self.H * (self.model.Y - self.design.forward(result.W))
        total = np.maximum(self.design.task_sum(self.H), 1e-300)
        return result.W, self.design.task_sum(residual) / total, result


def prox_newton(
    design,
    datafit,
    penalty,
    W0,
    b0=None,
    *,
    alpha_mean=0.0,
    max_iter=100,
    tol=1e-4,
    verbose=0,
):
    """Minimise ``f(A W + b) + g(W) + h(b)`` (+ the mean shrinkage) from ``(W0,
    b0)`` by proximal Newton steps (module docstring).

    Parameters
    ----------
    design : MultiTaskDesign
        Uncentred. Free intercepts are solved on the features centred per task
        (``base.solve_on_centred_features``) and converted back.
    datafit : a datafit with ``hessian`` (``datafits.Logistic``)
    penalty : a penalty with ``prox`` and ``value``
    W0 : ndarray of shape (n_tasks, n_features)
    b0 : ndarray of shape (n_tasks,) or None
        Initial intercepts (free or penalised by ``design.intercepts``); None
        without intercepts.
    alpha_mean : float
    max_iter : int
        Newton steps; the subproblems' ADMM iterations together are at most
        ``max(10 * max_iter, 1000)``.
    tol : float
        Relative duality-gap tolerance.

    Returns
    -------
    SolverResult
        ``n_iter`` counts Newton steps.
    """
    options = dict(alpha_mean=alpha_mean, max_iter=max_iter, tol=tol, verbose=verbose)
    return solve_on_centred_features(
        partial(_prox_newton, **options), design, datafit, penalty, W0, b0
    )


def _prox_newton(
    design, datafit, penalty, W0, b0, *, alpha_mean, max_iter, tol, verbose
):
    mu = float(alpha_mean)
    intercept = b0 is not None
    gap_design, gap_datafit = design, datafit
    if mu > 0:
        gap_design = MeanShrinkDesign(design, mu)
        gap_datafit = AugmentedDatafit(datafit, gap_design)
    threshold = tol * null_scale(gap_design, gap_datafit, intercept)
    W = np.array(W0, dtype=np.float64)
    b = None if b0 is None else np.array(b0, dtype=np.float64)
    gap, primal, b_opt = duality_gap(gap_design, gap_datafit, penalty, W, b)
    point = _Point(design, datafit, W, _exact(b_opt), mu)
    target = gap  # the subproblems' gap: a tenth of min(gap, last decrease)
    lipschitz = (
        datafit.curvature * float(np.max(design.task_lipschitz_direct(), initial=0.0))
        + mu
    )
    floor = _INNER_FLOOR * threshold
    best, stalled, it, work = (gap, W, b_opt, primal), 0, 0, 0
    for it in range(1, max_iter + 1):
        if gap <= threshold:
            return SolverResult(point.W, b_opt, it - 1, gap, primal, True)
        W, b, value = point.W, point.b, primal
        # the subproblem to a tenth of the decrease it predicts (solved again,
        # warm, when the first tolerance, from the gap, was looser)
        newton = _NewtonModel(design, datafit, point, mu, verbose)
        at_point = penalty.value(W) + _intercept_penalty(design, b)
        tau, start, inner, found = max(0.1 * min(gap, target), floor), W, 0, None
        for _ in range(_RESOLVES):
            W_sub, b_sub, sub = newton.solve(penalty, start, tau)
            inner += sub.n_iter
            slope_sub = _decrease(design, penalty, point, at_point, W_sub, b_sub)
            if found is None or slope_sub < found[2]:  # the best direction so far
                found = (W_sub, b_sub, slope_sub)
            if tau <= max(0.1 * -slope_sub, floor):
                break
            if sub.converged:  # tighter; else the same target, from its last point
                tau = max(0.05 * abs(slope_sub), floor)
            start = W_sub
        W_new, b_new, slope = found
        work += inner
        D = W_new - W
        d = None if b is None else b_new - b
        target = max(-slope, 0.0)
        # below the rounding of the objective the line search cannot tell a
        # descent step: the full step is taken if the objective does not rise
        # beyond its rounding (near the optimum, where Newton steps are good),
        # and the duality gap judges it
        rounding = _ROUNDING * max(abs(value), 1.0)
        step = 1.0
        for _ in range(_MAX_HALVINGS):
            W_try = W + step * D
            b_try = None if b is None else b + step * d
            value_try = _objective(design, datafit, penalty, W_try, b_try, mu)
            flat = -slope <= rounding
            if value_try <= value + (rounding if flat else _ARMIJO * step * slope):
                break
            if flat:  # no descent direction: stop here
                step = 0.0
                break
            step /= 2
        else:  # no decrease along the step
            step = 0.0
        if step > 0.0:
            W = W + step * D
            b = None if b is None else b + step * d
            gap, primal, b_opt = duality_gap(gap_design, gap_datafit, penalty, W, b)
            point = _Point(design, datafit, W, _exact(b_opt), mu)
        if gap > threshold:  # a proximal gradient step from there may certify
            W_pg = _gradient_step(penalty, point, lipschitz)
            polished = duality_gap(gap_design, gap_datafit, penalty, W_pg, b_opt)
            if polished[0] < gap:
                gap, primal, b_opt = polished
                point = _Point(design, datafit, W_pg, _exact(b_opt), mu)
            elif step == 0.0:  # neither step helps: rounding level
                break
        if verbose:
            print(
                f"newton {it}: objective {primal:.12g} gap {gap:.3e} step {step:g}"
                f" decrease {slope:.2e} (inner {inner})"
            )
        if work > max(_WORK * max_iter, 2 * _INNER_MAX_ITER):  # all steps' ADMM
            break
        if gap < _PROGRESS * best[0]:
            best, stalled = (gap, point.W, b_opt, primal), 0
        elif value - primal <= rounding:  # neither the certificate nor the
            stalled += 1  # objective moves: rounding, or a stalled model
            if stalled >= _PATIENCE:
                break
    gap, W, b_opt, primal = min(best, (gap, point.W, b_opt, primal), key=lambda r: r[0])
    return SolverResult(W, b_opt, it, gap, primal, gap <= threshold)


def _exact(b_opt):
    """The exact intercepts ``duality_gap`` returned, as the iterate's ``b``."""
    return None if b_opt is None else np.asarray(b_opt, dtype=np.float64)


def _gradient_step(penalty, point, lipschitz):
    """``prox_{g / L}(W - grad_W / L)`` at an iterate with exact intercepts: a
    descent step (the intercepts are then re-optimised) whose point the duality
    gap certifies well. The step ``1 / L`` undoes the factor ``alpha_mean`` by
    which the mean shrinkage's gradient multiplies the error of a Newton iterate
    ``W`` (as FISTA's iterates are built), which the rescaling of the dual point
    into the penalty's dual ball would pay otherwise."""
    step = 1.0 / max(lipschitz, 1e-300)
    W = point.W - step * point.grad_W
    return np.asarray(penalty.prox(W, step), dtype=np.float64)


def _decrease(design, penalty, point, at_point, W_new, b_new):
    """Lee et al.'s ``Delta``: the first-order change of the objective from
    ``point`` towards ``(W_new, b_new)``, exact in the nonsmooth terms
    (``at_point``: their value at ``point``)."""
    slope = float(np.sum(point.grad_W * (W_new - point.W)))
    slope += penalty.value(W_new) + _intercept_penalty(design, b_new) - at_point
    if point.b is not None:
        slope += float(point.grad_b @ (b_new - point.b))
    return slope
