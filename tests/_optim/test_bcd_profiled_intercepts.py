"""Penalised intercepts of the squared loss profiled out of block coordinate
descent (``skmtl._optim.bcd.profile.InterceptProfile``), on strongly uncentred
problems.

With features of mean 50 and standard deviation 1 the intercepts and the slopes
are almost collinear: alternating an exact intercept step with epochs over the
columns (the solver before the profiling) stalled at ``max_iter`` with a duality
gap of order 1 here. The profiled solver must converge in a bounded number of
epochs to the optimum of the documented objective.

Oracles: cvxpy (Clarabel, gap 1e-10) on the objective written with explicit
``b_0`` and ``c_t`` variables (``test_intercepts_bcd._cvx_solve``), and the
closed-form intercepts ``Intercepts.solve`` of the returned slopes. The
features enter cvxpy centred by their column mean ``mu`` with the intercept
variables shifted by ``mu @ w_t`` (an exact change of variables of the same
problem, better scaled for the interior-point solver).

Tolerances: the estimators stop at a certified gap ``<= 1e-11 * 2 P0`` (``P0``
the null objective, computed here in closed form); our objective may not exceed
cvxpy's by more than 1e-9 (cvxpy's own accuracy) and cvxpy's may not be below
ours by more than 1e-7 relative. Every task has more rows than features, so the
loss is strongly convex in ``W``: coefficients agree to 1e-4; the intercepts,
``xbar_t @ w_t`` away from them with ``|xbar_t| ~ 50``, to 5e-3.
"""

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from _cvx import task_lists
from numpy.testing import assert_allclose

from skmtl._data import validate_fit_data
from skmtl._optim import epochs
from skmtl._optim.bcd.state import column_state
from skmtl._optim.bcd.working_set import WorkingSetSolver
from skmtl._optim.datafits import Quadratic
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.intercepts import Intercepts
from skmtl._optim.penalties import L21, SparseGroupL1L21
from skmtl.linear_model import (
    DirtyMultiTaskLasso,
    MultiTaskElasticNet,
    MultiTaskLasso,
    MultiTaskSparseGroupLasso,
)

T, D = 4, 3
SIZES = (8, 14, 25, 40)
MEAN = 50.0
TOL = 1e-11
MAX_ITER = 100000
# the alternating solver before the profiling stopped at 5,000 epochs with a gap
# of order 1 on problems like these; the profiled one needs far fewer (the
# sparse-group penalty, without support Newton steps, the most: ~800)
MAX_EPOCHS = 2000


def _problem(layout, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((T, D))
    W[:, -1] = 0.0
    levels = np.array([-1.0, 0.5, 2.0, 0.0])
    if layout == "stacked":
        task = np.repeat(np.arange(T), SIZES)
        Xf = MEAN + rng.standard_normal((len(task), D))
        y = np.einsum("ij,ij->i", Xf, W[task]) + levels[task]
        y += 0.5 * rng.standard_normal(len(task))
        return np.column_stack([task, Xf]), y, 0, task_lists(Xf, y, task)
    n = max(SIZES)
    X = MEAN + rng.standard_normal((n, D))
    y = X @ W.T + levels + 0.5 * rng.standard_normal((n, T))
    for t, size in enumerate(SIZES):
        y[size:, t] = np.nan
    return X, y, None, task_lists(X, y)


def _omega(tasks):
    """Per-sample multipliers of "equal" weighting: ``1 / n_t``."""
    return np.array([1.0 / st.sum() for _, _, st in tasks])


def _objective(tasks, omega, W, b, lam, penalty):
    loss = sum(
        omega[t] * 0.5 * np.sum(st * (yt - Xt @ W[t] - b[t]) ** 2)
        for t, (Xt, yt, st) in enumerate(tasks)
    )
    return loss + penalty(W) + Intercepts(lam, omega).value(b)


def _cvx(tasks, omega, lam, penalty):
    mu = np.mean(np.vstack([Xt for Xt, _, _ in tasks]), axis=0)
    W, b0, c = cp.Variable((T, D)), cp.Variable(), cp.Variable(T)
    cons = [c == 0] if np.isinf(lam) else []
    pen_b = 0 if np.isinf(lam) else lam / 2 * cp.sum(cp.multiply(omega, cp.square(c)))
    # e_t = b_0 + c_t + mu @ w_t: the intercept of the centred features
    e = cp.Variable(T)
    cons += [e[t] == b0 + c[t] + mu @ W[t] for t in range(T)]
    terms = [
        omega[t]
        * 0.5
        * cp.sum(cp.multiply(st, cp.square(yt - (Xt - mu) @ W[t] - e[t])))
        for t, (Xt, yt, st) in enumerate(tasks)
    ]
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + penalty(W) + pen_b), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return W.value, (b0.value + c.value), prob.value


def _l21(W):
    return np.sqrt((W**2).sum(axis=0)).sum()


A = 0.05
ESTIMATORS = {
    "lasso": (
        lambda: MultiTaskLasso(A),
        lambda W: A * _l21(W),
        lambda W: A * cp.sum(cp.norm(W, 2, axis=0)),
    ),
    "enet": (
        lambda: MultiTaskElasticNet(A, l1_ratio=0.6),
        lambda W: A * 0.6 * _l21(W) + A * 0.2 * np.sum(W**2),
        lambda W: A * 0.6 * cp.sum(cp.norm(W, 2, axis=0)) + A * 0.2 * cp.sum_squares(W),
    ),
    "sgl": (
        lambda: MultiTaskSparseGroupLasso(A, l1_ratio=0.4),
        lambda W: A * (0.4 * np.abs(W).sum() + 0.6 * _l21(W)),
        lambda W: A * (0.4 * cp.sum(cp.abs(W)) + 0.6 * cp.sum(cp.norm(W, 2, axis=0))),
    ),
    "lasso_mean": (
        lambda: MultiTaskLasso(A, alpha_mean=0.3),
        lambda W: A * _l21(W) + 0.15 * np.sum((W - W.mean(0)) ** 2),
        lambda W: (
            A * cp.sum(cp.norm(W, 2, axis=0))
            + 0.15 * cp.sum_squares((np.eye(T) - np.ones((T, T)) / T) @ W)
        ),
    ),
}


def _null_objective(tasks, omega, lam):
    """``P0``: the objective at ``W = 0`` with its exact intercepts."""
    S = np.array([omega[t] * st.sum() for t, (_, _, st) in enumerate(tasks)])
    m = np.array([st @ yt / st.sum() for _, yt, st in tasks])
    b = Intercepts(lam, omega).solve(m, S)
    return _objective(tasks, omega, np.zeros((T, D)), b, lam, lambda W: 0.0)


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("lam", ["auto", 0.5, 5.0, 50.0, np.inf])
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_uncentred_converges_to_optimum(name, lam, layout):
    X, y, task_column, tasks = _problem(layout)
    omega = _omega(tasks)
    make, pen_value, pen_cvx = ESTIMATORS[name]
    est = make().set_params(
        task_column=task_column, alpha_intercepts=lam, tol=TOL, max_iter=MAX_ITER
    )
    est.fit(X, y)
    strength = est.alpha_intercepts_
    assert strength > 0
    # bounded number of epochs, certified gap at the tolerance's scale
    assert est.n_iter_ <= MAX_EPOCHS
    assert est.dual_gap_ <= TOL * 2 * _null_objective(tasks, omega, strength)
    W, b = est.coef_, est.intercept_
    assert np.abs(W).max() > 0.1  # not the null model
    ours = _objective(tasks, omega, W, b, strength, pen_value)
    Wc, bc, theirs = _cvx(tasks, omega, strength, pen_cvx)
    assert ours <= theirs + 1e-9
    assert theirs <= ours + 1e-7 * abs(ours)
    assert_allclose(W, Wc, atol=1e-4)
    assert_allclose(b, bc, atol=5e-3)
    # the intercepts are the closed-form ones of the slopes
    S = np.array([omega[t] * st.sum() for t, (_, _, st) in enumerate(tasks)])
    m = np.array(
        [st @ (yt - Xt @ W[t]) / st.sum() for t, (Xt, yt, st) in enumerate(tasks)]
    )
    assert_allclose(b, Intercepts(strength, omega).solve(m, S), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("lam", [0.5, np.inf])
def test_dirty_uncentred(lam):
    X, y, _, tasks = _problem("stacked", seed=1)
    est = DirtyMultiTaskLasso(
        0.06, 0.04, task_column=0, alpha_intercepts=lam, tol=TOL, max_iter=MAX_ITER
    ).fit(X, y)
    assert est.n_iter_ <= MAX_EPOCHS
    omega = _omega(tasks)
    assert est.dual_gap_ <= TOL * 2 * _null_objective(tasks, omega, lam)

    def pen(P, Q):
        return 0.06 * cp.sum(cp.norm(P, 2, axis=0)) + 0.04 * cp.sum(cp.abs(Q))

    P, Q = cp.Variable((T, D)), cp.Variable((T, D))
    # cvxpy on W = P + Q with the dirty penalty (a penalty of P, Q: substitute)
    Wc, bc, theirs = _cvx_dirty(tasks, omega, lam, pen, P, Q)
    P_, Q_ = est.coef_group_, est.coef_specific_
    ours = _objective(
        tasks,
        omega,
        est.coef_,
        est.intercept_,
        lam,
        lambda W: 0.06 * _l21(P_) + 0.04 * np.abs(Q_).sum(),
    )
    assert ours <= theirs + 1e-9
    assert theirs <= ours + 1e-7 * abs(ours)
    assert_allclose(est.coef_, Wc, atol=1e-4)
    assert_allclose(est.intercept_, bc, atol=5e-3)


def _cvx_dirty(tasks, omega, lam, pen, P, Q):
    mu = np.mean(np.vstack([Xt for Xt, _, _ in tasks]), axis=0)
    W = P + Q
    b0, c, e = cp.Variable(), cp.Variable(T), cp.Variable(T)
    cons = [c == 0] if np.isinf(lam) else []
    pen_b = 0 if np.isinf(lam) else lam / 2 * cp.sum(cp.multiply(omega, cp.square(c)))
    cons += [e[t] == b0 + c[t] + mu @ W[t] for t in range(T)]
    terms = [
        omega[t]
        * 0.5
        * cp.sum(cp.multiply(st, cp.square(yt - (Xt - mu) @ W[t] - e[t])))
        for t, (Xt, yt, st) in enumerate(tasks)
    ]
    prob = cp.Problem(cp.Minimize(cp.sum(terms) + pen(P, Q) + pen_b), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return W.value, b0.value + c.value, prob.value


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_sparse_and_weights_equal_dense(layout):
    """A sparse ``X`` (centring implicit) gives the dense solution; sample
    weights too (integer weights = repeated rows)."""
    X, y, task_column, _ = _problem(layout, seed=2)
    kw = dict(
        alpha_intercepts=3.0, task_column=task_column, tol=1e-12, max_iter=MAX_ITER
    )
    dense = MultiTaskLasso(0.03, **kw).fit(X, y)
    sparse = MultiTaskLasso(0.03, **kw).fit(sp.csr_matrix(X), y)
    assert sparse.n_iter_ <= MAX_EPOCHS
    assert_allclose(sparse.coef_, dense.coef_, atol=1e-7)
    assert_allclose(sparse.intercept_, dense.intercept_, atol=1e-5)
    sw = np.random.default_rng(3).integers(1, 4, X.shape[0])
    weighted = MultiTaskLasso(0.03, **kw).fit(X, y, sample_weight=sw.astype(float))
    repeated = MultiTaskLasso(0.03, **kw).fit(np.repeat(X, sw, 0), np.repeat(y, sw, 0))
    assert weighted.n_iter_ <= MAX_EPOCHS
    assert_allclose(weighted.coef_, repeated.coef_, atol=1e-7)
    assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-5)


# ------------------------------------------------------- compiled vs Python
@pytest.mark.skipif(not epochs.AVAILABLE, reason="the compiled epoch was not built")
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("make_penalty", [L21, lambda a: SparseGroupL1L21(a, 0.3)])
def test_profiled_epochs_equal(make_penalty, layout, sparse, monkeypatch):
    """A few epochs of the profiled kernel: the compiled epoch gives the Python
    epoch's iterates, per-task mean residuals and gaps up to rounding."""
    X, y, task_column, _ = _problem(layout, seed=4)
    if sparse:
        X = sp.csr_matrix(X)
    est = MultiTaskLasso(task_column=task_column)
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(epochs, "ENABLED", compiled)
        data = validate_fit_data(est, X, y)
        design = MultiTaskDesign(data)
        design.intercepts = Intercepts(2.0, design.task_omega)
        work = design.centred()
        kernel = column_state(work, Quadratic())
        kernel.profile(design.intercepts)
        ws = np.arange(D)
        kernel.set_ws(ws)
        W = np.random.default_rng(1).standard_normal((D, T))
        kernel.reset(W)
        curv = (Quadratic().curvature * work.column_curvature()).T
        curv = np.ascontiguousarray(curv + kernel.prof.curvature(work.X_mean).T)
        inner = WorkingSetSolver(kernel, make_penalty(0.05), curv, 1, anderson=0)
        assert (inner.compiled is not None) == compiled
        nz = [True] * D
        V = np.zeros((D, T))
        for _ in range(3):
            inner.epoch(W, W, nz, V)
        out.append((W, V, kernel.prof.m.copy(), kernel.output(), inner.gap(W)))
    for a, b in zip(*out):
        scale = max(float(np.max(np.abs(b))), 1.0)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * scale)
