"""TraceNormRegression's ADMM with hierarchical or pooled intercepts.

The oracles are those of ``test_intercepts_fista`` (cvxpy, written from the
docstring's objective), here with FISTA disabled so that a pass certifies the ADMM
route: its exact ``W`` step on centred per-task factors (Sherman-Morrison on the
intercept terms) with ``b_0`` in closed form. Tolerances as there: a certified gap
of ``1e-11 * 2 P0`` against Clarabel at 1e-10 gives objectives within 1e-6
relative and, the problems being
strongly convex in ``(W, b)``, coefficients within 1e-4.
"""

import warnings

import cvxpy as cp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from test_intercepts_fista import (
    ARRAY_W,
    MODELS,
    TOL,
    D,
    T,
    _cvx_solve,
    _intercept_penalty,
    _loss,
    _omega,
    _problem,
    _weighting_param,
    only_route,
)

import skmtl._optim.admm as admm_module
from skmtl.linear_model import TraceNormRegression
from skmtl.linear_model._low_rank import _DirectLipschitzMixin


@pytest.fixture
def no_fista(monkeypatch):
    """Fail if the estimator falls back to FISTA; count the ADMM calls."""
    return only_route(
        monkeypatch,
        (_DirectLipschitzMixin, "_fista"),
        "ADMM",
        "skmtl.linear_model._low_rank.admm_quadratic",
        admm_module.admm_quadratic,
        lambda kwargs: kwargs.get("b0") is not None,
    )


def _check(est, X, y, tasks, om, lam, model="trace"):
    _, _, cvx_pen, np_pen = MODELS[model]
    est.fit(X, y)
    W, b = est.coef_, est.intercept_
    Wc, bc, _ = _cvx_solve(tasks, om, lam, "squared", cvx_pen)
    ours = _loss(tasks, om, W, b, "squared", np) + np_pen(W)
    ours += _intercept_penalty(om, lam, b)
    theirs = _loss(tasks, om, Wc, bc, "squared", np) + np_pen(Wc)
    theirs += _intercept_penalty(om, lam, bc)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)
    assert_allclose(W, Wc, atol=1e-4)
    assert_allclose(b, bc, atol=1e-4)
    assert np.abs(W).max() > 0.05  # not the null model


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("weighting", ["equal", "size"])
@pytest.mark.parametrize("lam", [1.0, 10.0, np.inf])
def test_admm_matches_cvxpy(no_fista, lam, weighting, layout):
    X, y, task_column, tasks = _problem(layout, "squared")
    est = TraceNormRegression(
        alpha=0.1,
        task_column=task_column,
        alpha_intercepts=lam,
        task_weighting=weighting,
        tol=TOL,
        max_iter=200000,
    )
    _check(est, X, y, tasks, _omega(tasks, weighting), lam)
    assert no_fista == [True]  # one ADMM call, with joint intercepts


@pytest.mark.parametrize("lam", [0.0, 1.0, np.inf])
def test_admm_shared_complete_array_weights(no_fista, lam):
    """Fully observed shared layout: one factorisation for all tasks, whose Grams
    differ by the task multipliers ``omega_t`` (array task weights)."""
    X, Y, _, _ = _problem("shared", "squared")
    Y = np.where(np.isnan(Y), 0.3, Y)  # no missing target
    tasks = [(X, Y[:, t]) for t in range(T)]
    est = TraceNormRegression(
        alpha=0.1,
        alpha_intercepts=lam,
        task_weighting=_weighting_param("array"),
        tol=TOL,
        max_iter=200000,
    )
    _check(est, X, Y, tasks, _omega(tasks, "array"), lam)
    assert no_fista == [lam > 0]
    assert len(np.unique(ARRAY_W)) == T


def test_free_intercepts_keep_the_centred_route(no_fista):
    """``alpha_intercepts=0``: centred design, ADMM without joint intercepts."""
    X, y, task_column, tasks = _problem("stacked", "squared")
    est = TraceNormRegression(
        alpha=0.1, task_column=task_column, alpha_intercepts=0.0, tol=TOL
    )
    _check(est, X, y, tasks, _omega(tasks, "equal"), 0.0)
    assert no_fista == [False]


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_limits_in_lam(layout):
    """A tiny ``lam`` (every ``k_t`` about 1: nearly fully centred) approaches the
    free-intercept fit, a huge one (``k_t`` about 0) the pooled fit. The fits move
    by ``O(lam)`` and ``O(1 / lam)``: at 1e-9 and 1e9 that is far below 1e-6."""
    X, y, task_column, _ = _problem(layout, "squared")

    def fit(lam):
        return TraceNormRegression(
            alpha=0.1, task_column=task_column, alpha_intercepts=lam, tol=TOL
        ).fit(X, y)

    for small, limit in [(1e-9, 0.0), (1e9, np.inf)]:
        a, b = fit(small), fit(limit)
        assert_allclose(a.coef_, b.coef_, atol=1e-6)
        assert_allclose(a.intercept_, b.intercept_, atol=1e-6)


# at alpha = 0 with joint intercepts the gap's dual point (A* Theta scaled into the
# zero ball) certifies nothing: the fit is checked, not the certificate
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_zero_penalty_is_the_normal_equations(no_fista):
    """``alpha=0``: hierarchical-intercept least squares, solved exactly by the
    normal equations of ``(W, b_0, c)`` with the ridge on ``c`` (strictly convex:
    the ridge pins the split of ``b`` into ``b_0`` and ``c``)."""
    X, y, task_column, tasks = _problem("stacked", "squared")
    lam = 4.0
    om = _omega(tasks, "size")
    est = TraceNormRegression(
        alpha=0.0,
        task_column=task_column,
        alpha_intercepts=lam,
        task_weighting="size",
        tol=1e-13,
        max_iter=3000,
    ).fit(X, y)
    # unknowns: W (T*D), b_0, c (T)
    n = T * D + 1 + T
    H = np.zeros((n, n))
    g = np.zeros(n)
    for t, (Xt, yt) in enumerate(tasks):
        Phi = np.zeros((len(yt), n))
        Phi[:, t * D : (t + 1) * D] = Xt
        Phi[:, T * D] = 1.0
        Phi[:, T * D + 1 + t] = 1.0
        H += om[t] * Phi.T @ Phi
        g += om[t] * Phi.T @ yt
        H[T * D + 1 + t, T * D + 1 + t] += lam * om[t]
    sol = np.linalg.solve(H, g)
    W = sol[: T * D].reshape(T, D)
    b = sol[T * D] + sol[T * D + 1 :]
    assert_allclose(est.coef_, W, atol=1e-7)
    assert_allclose(est.intercept_, b, atol=1e-7)
    assert no_fista == [True]


def _shifted_problem(layout, shift):
    """``_problem`` with every feature (not the task column) moved by ``shift``."""
    X, y, task_column, tasks = _problem(layout, "squared")
    X = X.copy()
    X[:, slice(None) if task_column is None else slice(1, None)] += shift
    return X, y, task_column, [(Xt + shift, yt) for Xt, yt in tasks]


@pytest.mark.parametrize("lam", [1.0, np.inf])
def test_features_of_large_mean(no_fista, lam):
    """Features of mean 50 couple every ``w_t`` with the intercepts (curvature
    ``a_t ||xbar_t||^2`` against ``O(1)`` for the centred design). The ``W`` step
    divides by ``1 + a_t beta_t`` instead of cancelling ``1 - a_t xbar_t q_t``
    (module docstring), so ADMM still certifies ``TOL`` in a few hundred iterations
    (it stalled at gaps of 1e-6 to 1 after 3,000 when the step cancelled) and
    matches Clarabel as in ``_check``."""
    X, y, task_column, tasks = _shifted_problem("stacked", 50.0)
    est = TraceNormRegression(
        alpha=0.1,
        task_column=task_column,
        alpha_intercepts=lam,
        tol=TOL,
        max_iter=2000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _check(est, X, y, tasks, _omega(tasks, "equal"), lam)
    assert est.n_iter_ < 1000


@pytest.mark.parametrize("shift", [0.0, 50.0])
@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("lam", [0.0, 1.0, np.inf])
def test_alpha_mean_by_admm(no_fista, lam, layout, shift):
    """``alpha_mean > 0``: ADMM's ``W`` step solves one ``(d + 1)`` system for
    ``(wbar, b_0)`` (``admm._w_step``) and matches Clarabel on the objective with
    the mean shrinkage (``MODELS["trace_mean"]``), on features of mean 0.5 and
    50. FISTA, used before, took 5,000 iterations and stopped at a relative gap
    of 1.6 on features of mean 100 with hierarchical intercepts (T=3, 120 rows)."""
    X, y, task_column, tasks = _shifted_problem(layout, shift)
    est = TraceNormRegression(
        alpha=0.1,
        alpha_mean=0.5,
        task_column=task_column,
        alpha_intercepts=lam,
        tol=TOL,
        max_iter=5000,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _check(est, X, y, tasks, _omega(tasks, "equal"), lam, model="trace_mean")
    assert no_fista == [lam > 0]


@pytest.mark.parametrize("lam", [0.0, 1.0, np.inf])
def test_large_alpha_mean_is_certified(no_fista, lam):
    """``alpha_mean`` far above the tasks' curvature (near the pooled fit, the top
    of ``TraceNormRegressionCV``'s grid): the gap's residual-based dual point
    multiplies the error of ``W`` by ``alpha_mean`` in its mean-shrinkage block
    and stalled (School: 1,000 iterations, gap 24 of an objective of 43, the
    primal stable to 1e-10). The dual at the ``W`` step's point for ADMM's
    multiplier (``admm._stationary_dual``) certifies ``TOL`` early. Each reported
    gap, early stops included, must bound the true suboptimality against
    Clarabel (a lower bound that is not one would pass the convergence half).
    At ``TOL`` (1e-11) the toy problem's stop is halved; on School it was the
    difference between 10 iterations and 1,000 unconverged."""
    alpha_mean = 1e3
    X, y, task_column, tasks = _problem("stacked", "squared")
    om = _omega(tasks, "equal")

    def cvx_pen(W):
        mean = np.ones((T, 1)) @ cp.sum(W, axis=0, keepdims=True) / T
        return 0.1 * cp.normNuc(W) + alpha_mean / 2 * cp.sum_squares(W - mean), []

    def objective(W, b):
        pen = 0.1 * np.linalg.svd(W, compute_uv=False).sum()
        pen += alpha_mean / 2 * float(np.sum((W - W.mean(axis=0)) ** 2))
        return (
            _loss(tasks, om, W, b, "squared", np) + pen + _intercept_penalty(om, lam, b)
        )

    Wc, bc, _ = _cvx_solve(tasks, om, lam, "squared", cvx_pen)
    best = objective(Wc, bc)

    def fit(max_iter):
        return TraceNormRegression(
            alpha=0.1,
            alpha_mean=alpha_mean,
            task_column=task_column,
            alpha_intercepts=lam,
            tol=TOL,
            max_iter=max_iter,
        ).fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for max_iter in (10, 20, 40):
            est = fit(max_iter)
            excess = objective(est.coef_, est.intercept_) - best
            assert excess <= est.dual_gap_ + 1e-9 * best
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = fit(800)  # 520-560 iterations (1,100-1,230 before)
    assert abs(objective(est.coef_, est.intercept_) - best) <= 1e-6 * best
    assert_allclose(est.coef_, Wc, atol=1e-4)
    assert_allclose(est.intercept_, bc, atol=1e-4)


@pytest.mark.parametrize("alpha_mean", [0.0, 1.0])
def test_over_relaxation_reaches_the_same_optimum_sooner(alpha_mean):
    """Over-relaxed ADMM (``relax=1.6``, the default) and plain ADMM (1.0) stop
    at the same certified optimum; the relaxed one takes fewer iterations on a
    low-rank problem of bench_low_rank's shape (20 tasks of 50 rows, d = 60,
    alpha_max / 10, tol 1e-10: 40 against 120 iterations, 20 against 40 with
    alpha_mean = 1)."""
    from skmtl._data import validate_fit_data
    from skmtl._optim.datafits import Quadratic
    from skmtl._optim.design import MultiTaskDesign
    from skmtl._optim.penalties import TraceNorm
    from skmtl.datasets import make_multitask_regression

    X, y = make_multitask_regression(
        n_tasks=20,
        n_samples=50,
        n_features=60,
        structure="low_rank",
        rank=3,
        noise=1.0,
        random_state=0,
    )
    data = validate_fit_data(TraceNormRegression(task_column=0), X, y)
    design = MultiTaskDesign(data, center=True)
    alpha = 0.1 * np.linalg.norm(design.adjoint(design.omega * design.Y), 2)
    runs = {
        r: admm_module.admm_quadratic(
            design,
            Quadratic(),
            TraceNorm(alpha),
            np.zeros((20, 60)),
            design.task_right_factors(),
            tol=1e-10,
            max_iter=5000,
            alpha_mean=alpha_mean,
            relax=r,
        )
        for r in (1.0, 1.6)
    }
    plain, relaxed = runs[1.0], runs[1.6]
    assert plain.converged and relaxed.converged
    # both gaps certify 1e-10 of the null objective: the primals agree to that
    assert_allclose(relaxed.primal, plain.primal, rtol=1e-9)
    assert_allclose(relaxed.W, plain.W, atol=1e-4)
    assert relaxed.n_iter < plain.n_iter
