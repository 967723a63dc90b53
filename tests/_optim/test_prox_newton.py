"""Proximal Newton with ADMM subproblems (``skmtl._optim.prox_newton``), the
solver of TraceNormLogisticRegression, and the mean-shrinkage dual point it is
certified with (``MeanShrinkDesign.feasible_extra``).

Oracles: Clarabel on the problems of ``test_intercepts_fista`` (written from the
docstring's objective), with FISTA disabled so that a pass certifies the Newton
route, and FISTA itself where the estimator falls back to it. Tolerances as
there: a certified gap of ``1e-11 * 2 P0`` against Clarabel at 1e-10 gives
objectives within 1e-6 relative; the problems are strongly convex in ``(W, b)``
(the logistic loss on full-rank designs), so coefficients agree within 1e-4.
"""

import re
import warnings

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from test_intercepts_fista import (
    STRENGTHS,
    TOL,
    T,
    _cvx_solve,
    _intercept_penalty,
    _loss,
    _omega,
    _problem,
    _weighting_param,
    only_route,
)

import skmtl._optim.prox_newton as pn_module
from skmtl._data import validate_fit_data
from skmtl._optim.base import duality_gap
from skmtl._optim.datafits import Logistic
from skmtl._optim.design import MultiTaskDesign, task_svd_factors
from skmtl._optim.intercepts import Intercepts
from skmtl._optim.penalties import TraceNorm
from skmtl._optim.structured import AugmentedDatafit, MeanShrinkDesign
from skmtl.linear_model import TraceNormLogisticRegression
from skmtl.linear_model._low_rank import _DirectLipschitzMixin


def _mean_term(W, alpha_mean):
    """``alpha_mean / 2 sum_t ||w_t - wbar||^2`` (cvxpy or numpy)."""
    if isinstance(W, cp.Expression):
        mean = np.ones((T, 1)) @ cp.sum(W, axis=0, keepdims=True) / T
        return alpha_mean / 2 * cp.sum_squares(W - mean)
    return alpha_mean / 2 * float(np.sum((W - W.mean(axis=0)) ** 2))


def _penalties(alpha, alpha_mean):
    def cvx(W):
        return alpha * cp.normNuc(W) + _mean_term(W, alpha_mean), []

    def value(W):
        s = np.linalg.svd(W, compute_uv=False)
        return alpha * float(np.sum(s)) + _mean_term(W, alpha_mean)

    return cvx, value


@pytest.fixture
def newton_only(monkeypatch):
    """Fail if the estimator falls back to FISTA; count the Newton solves."""
    return only_route(
        monkeypatch,
        (_DirectLipschitzMixin, "_fista"),
        "proximal Newton",
        "skmtl.linear_model._low_rank.prox_newton",
        pn_module.prox_newton,
        lambda kwargs: kwargs.get("alpha_mean"),
    )


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("weighting", ["equal", "size"])
@pytest.mark.parametrize("lam", STRENGTHS)
@pytest.mark.parametrize("alpha_mean", [0.0, 0.3, 30.0])
def test_prox_newton_matches_cvxpy(newton_only, alpha_mean, lam, weighting, layout):
    X, y, task_column, tasks = _problem(layout, "logistic")
    om = _omega(tasks, weighting)
    est = TraceNormLogisticRegression(
        alpha=0.03,
        alpha_mean=alpha_mean,
        task_column=task_column,
        alpha_intercepts=lam,
        task_weighting=_weighting_param(weighting),
        tol=TOL,
        max_iter=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert newton_only == [alpha_mean]
    assert est.n_iter_ <= 30  # Newton steps (FISTA takes thousands here)
    cvx_pen, np_pen = _penalties(0.03, alpha_mean)
    W, b = est.coef_, est.intercept_
    Wc, bc, _ = _cvx_solve(tasks, om, lam, "logistic", cvx_pen)
    ours = _loss(tasks, om, W, b, "logistic", np) + np_pen(W)
    ours += _intercept_penalty(om, lam, b)
    theirs = _loss(tasks, om, Wc, bc, "logistic", np) + np_pen(Wc)
    theirs += _intercept_penalty(om, lam, bc)
    assert ours <= theirs * (1 + 1e-6)
    assert_allclose(W, Wc, atol=1e-4)
    assert_allclose(b, bc, atol=1e-4)


@pytest.mark.parametrize("alpha_intercepts", [0.0, 3.0])
@pytest.mark.parametrize("alpha_mean", [0.0, 1.0])
def test_fista_fallback_over_budget(monkeypatch, alpha_mean, alpha_intercepts):
    """Over the SVD budget the estimator solves the same problem by FISTA."""
    X, y, task_column, _ = _problem("stacked", "logistic")
    est = TraceNormLogisticRegression(
        alpha=0.03,
        alpha_mean=alpha_mean,
        alpha_intercepts=alpha_intercepts,
        task_column=task_column,
        tol=1e-10,
        max_iter=100000,
    )
    newton = est.fit(X, y)
    coef, intercept = newton.coef_.copy(), newton.intercept_.copy()
    steps = newton.n_iter_
    monkeypatch.setattr(
        "skmtl.linear_model._low_rank.prox_newton_affordable", lambda *a: False
    )
    fista = TraceNormLogisticRegression(**est.get_params()).fit(X, y)
    assert fista.n_iter_ > 10 * steps  # FISTA iterations, not Newton steps
    assert_allclose(fista.coef_, coef, atol=1e-5)
    assert_allclose(fista.intercept_, intercept, atol=1e-5)


def _mean_problem(alpha_mean, layout="stacked", lam=1.0):
    X, y, task_column, tasks = _problem(layout, "logistic")
    data = validate_fit_data(
        TraceNormLogisticRegression(task_column=task_column), X, y, None
    )
    om = _omega(tasks, "equal")
    intercepts = Intercepts(lam, om)
    design = MultiTaskDesign(data, intercepts=intercepts)
    gap_design = MeanShrinkDesign(design, alpha_mean)
    return design, gap_design, AugmentedDatafit(Logistic(), gap_design), tasks, om


ALPHA, BIG_MEAN = 0.03, 100.0


@pytest.fixture(scope="module")
def big_mean_optimum():
    _, _, _, tasks, om = _mean_problem(BIG_MEAN)
    cvx_pen, np_pen = _penalties(ALPHA, BIG_MEAN)
    Wc, bc, _ = _cvx_solve(tasks, om, 1.0, "logistic", cvx_pen)
    value = _loss(tasks, om, Wc, bc, "logistic", np) + np_pen(Wc)
    return Wc, bc, value + _intercept_penalty(om, 1.0, bc)


@settings(max_examples=40, deadline=None)
@given(
    scale=st.floats(1e-8, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_mean_shrink_dual_is_a_lower_bound(big_mean_optimum, scale, seed):
    """Any ``W``: ``primal - gap`` (the better of the plain and the moved dual
    point) never exceeds the optimum, near the optimum or far from it."""
    Wc, bc, optimum = big_mean_optimum
    design, gap_design, datafit, _, _ = _mean_problem(BIG_MEAN)
    rng = np.random.default_rng(seed)
    W = Wc + scale * rng.standard_normal(Wc.shape)
    gap, primal, _ = duality_gap(gap_design, datafit, TraceNorm(ALPHA), W, bc.copy())
    assert primal - gap <= optimum + 1e-9 * abs(optimum)
    assert primal >= optimum - 1e-9 * abs(optimum)


@pytest.mark.parametrize("eps, factor", [(1e-6, 2.0), (1e-2, 20.0)])
def test_mean_shrink_dual_tightens_the_gap(big_mean_optimum, monkeypatch, eps, factor):
    """With ``alpha_mean = 100`` the moved dual point gives a gap ``factor``
    times smaller than the residual's point alone, whose rescaling into the dual
    ball pays the error of ``W`` times ``alpha_mean`` (measured: 3.4x at a
    perturbation of 1e-6, 67x at 1e-2, where a Landmine fit stalled at a gap of
    0.5 with its objective stable to 1e-6)."""
    Wc, bc, optimum = big_mean_optimum
    design, gap_design, datafit, _, _ = _mean_problem(BIG_MEAN)
    W = Wc + eps * np.random.default_rng(0).standard_normal(Wc.shape)
    moved, primal, _ = duality_gap(gap_design, datafit, TraceNorm(ALPHA), W, bc.copy())
    monkeypatch.setattr(MeanShrinkDesign, "feasible_extra", None)
    plain, _, _ = duality_gap(gap_design, datafit, TraceNorm(ALPHA), W, bc.copy())
    assert primal - optimum <= moved
    assert moved * factor <= plain


def test_with_weights_gives_each_shared_task_its_weights():
    """In a fully observed shared layout a reweighted design has one group per
    task, whose factors are those of ``X^T diag(H[:, t]) X``."""
    X, Y, _, _ = _problem("shared", "logistic")
    Y = np.nan_to_num(Y, nan=1.0)  # fully observed
    data = validate_fit_data(TraceNormLogisticRegression(), X, Y, None)
    design = MultiTaskDesign(data)
    assert len(design._task_groups()) == 1
    H = np.random.default_rng(0).uniform(0.01, 0.3, size=Y.shape)
    model = design.with_weights(H, Y)
    assert len(model._task_groups()) == T
    V, s2 = model.task_right_factors()
    for t in range(T):
        gram = (V[t] * s2[t]) @ V[t].T
        assert_allclose(gram, X.T @ (H[:, t, None] * X), rtol=1e-10, atol=1e-12)
    # shifted blocks (penalised intercepts), by the Gram's eigendecomposition
    # here (n_t >= 2 d): the same factors up to rounding
    shift = np.random.default_rng(1).standard_normal((T, X.shape[1]))
    V, s2 = task_svd_factors(model, shift=shift)
    for t in range(T):
        Xs = X - shift[t]
        gram = (V[t] * s2[t]) @ V[t].T
        assert_allclose(gram, Xs.T @ (H[:, t, None] * Xs), rtol=1e-10, atol=1e-12)
        assert_allclose(V[t].T @ V[t], np.eye(X.shape[1]), atol=1e-12)
        assert np.all(np.diff(s2[t]) <= 0)  # decreasing, as the SVD's
    assert design.omega is not H and len(design._task_groups()) == 1


@pytest.mark.parametrize("alpha_mean", [0.0, 100.0])
@pytest.mark.parametrize("lam", [0.0, np.inf])
def test_newton_objective_never_rises(capsys, alpha_mean, lam):
    """The line search makes every Newton step a descent step (up to the
    objective's rounding), also where the subproblems are solved inexactly."""
    X, y, task_column, _ = _problem("stacked", "logistic", seed=3)
    TraceNormLogisticRegression(
        alpha=0.003,
        alpha_mean=alpha_mean,
        alpha_intercepts=lam,
        task_column=task_column,
        tol=1e-10,
        verbose=1,
    ).fit(X, y)
    out = capsys.readouterr().out
    values = [float(v) for v in re.findall(r"newton \d+: objective (\S+)", out)]
    assert len(values) >= 3
    assert np.all(np.diff(values) <= 1e-12 * np.abs(values[1:]))


def test_penalised_intercepts_on_features_of_large_mean():
    """The Newton steps keep the intercept penalty exact (ADMM on the centred
    per-task factors): shifting the features by 100 costs no extra step, both
    certified at ``tol=1e-10`` (FISTA took 160 iterations unshifted and did not
    converge in 100,000 shifted)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4))
    W = rng.standard_normal((3, 4))
    task = np.repeat(np.arange(3), 30)
    y = (np.einsum("ij,ij->i", X, W[task]) + rng.standard_normal(90) > 0) * 1.0
    fits = []
    for shift in (0.0, 100.0):
        est = TraceNormLogisticRegression(
            alpha=0.01, alpha_intercepts=1.0, tol=1e-10, task_column=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fits.append(est.fit(np.column_stack([task, X + shift]), y))
    base, moved = fits  # (another model: the offsets are those at zero features)
    assert moved.n_iter_ <= base.n_iter_ + 1 <= 15


def _hard_logistic_problem():
    """Rare positives, correlated features, a small alpha: BCD needs many epochs."""
    rng = np.random.default_rng(1)
    T, n_t, d = 8, 40, 6
    Z = rng.standard_normal((T * n_t, d))
    X = Z @ (np.eye(d) + 0.8 * rng.standard_normal((d, d)))
    task = np.repeat(np.arange(T), n_t)
    w = rng.standard_normal(d)
    score = X @ w + 0.5 * rng.standard_normal(len(task)) + rng.standard_normal(T)[task]
    y = (score > np.quantile(score, 0.85)).astype(int)
    return np.column_stack([task, X]), y


def test_logistic_lasso_newton_continues_where_bcd_stops(monkeypatch):
    """MultiTaskLogisticLasso: BCD cut at 20 epochs, then Newton steps from its
    point reach the certified optimum of a BCD run 1,000x longer."""
    from skmtl.linear_model import MultiTaskLogisticLasso

    X, y = _hard_logistic_problem()
    params = dict(alpha=1e-3, alpha_intercepts=np.inf, task_column=0, tol=1e-8)
    calls = []
    real = pn_module.prox_newton

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("skmtl.linear_model._sparse.prox_newton", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ours = MultiTaskLogisticLasso(max_iter=20, **params).fit(X, y)
    assert calls == [1] and ours.n_iter_ > 20
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = MultiTaskLogisticLasso(max_iter=20000, **params).fit(X, y)
    assert ref.dual_gap_ <= ours.dual_gap_ * 10 or ref.n_iter_ == 20000
    assert_allclose(ours.coef_, ref.coef_, atol=1e-3 * np.abs(ref.coef_).max())
    # a converged BCD run is returned as it is
    calls.clear()
    MultiTaskLogisticLasso(alpha=0.05, task_column=0).fit(X, y)
    assert calls == []
