"""Every solver path against cvxpy: penalty x loss x intercept x layout.

Penalties: L2,1, elastic net (L2,1 + ridge), sparse-group (L1 + L2,1), dirty
(L2,1 on P + L1 on Q, W = P + Q) and trace norm; losses: squared and logistic;
``fit_intercept`` True and False; the stacked layout and the shared layout with
missing targets. Where the library has an estimator for the pair it is used;
the logistic loss with the elastic-net, sparse-group and dirty penalties has no
estimator, so the solver (``bcd``, the one the estimators use) is called directly
with that datafit and penalty on the library's design.

Tolerances. Our solvers stop at a certified duality gap ``<= tol * 2 P0`` with
``tol = 1e-12`` (``P0 <= 1`` here), so our objective is within ~1e-12 of the
optimum: it may not exceed cvxpy's (Clarabel, gap 1e-10) by more than 1e-9.
cvxpy's objective may not be below ours by more than its own accuracy (1e-7
relative). Every problem has more rows per task than features, so the loss is
strongly convex in ``W`` (curvature >= ~1e-2): an objective error of 1e-10 is a
coefficient error of ~1e-4 at most, the bound used for ``coef_``/``intercept_``
(the dirty split ``P, Q`` is not unique; its sum is compared).
"""

import cvxpy as cp
import numpy as np
import pytest
from _cvx import loss_value, solve, task_lists
from numpy.testing import assert_allclose

from skmtl._data import validate_fit_data
from skmtl._optim.bcd import bcd
from skmtl._optim.datafits import Logistic
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.dirty import Dirty
from skmtl._optim.penalties import L21Ridge, SparseGroupL1L21
from skmtl.linear_model import (
    DirtyMultiTaskLasso,
    MultiTaskElasticNet,
    MultiTaskLasso,
    MultiTaskLogisticLasso,
    MultiTaskSparseGroupLasso,
    TraceNormLogisticRegression,
    TraceNormRegression,
)
from skmtl.linear_model._base import encode_binary_targets

TOL = 1e-12
T, D = 3, 5


def _problem(layout, kind, seed=0):
    """``(X, y, task_column, tasks)``: a small problem and its per-task lists."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((T, D)) * 0.8
    W[:, -1] = 0.0  # an irrelevant feature
    if layout == "stacked":
        n_t = 30
        task = np.repeat(np.arange(T), n_t)
        Xf = rng.standard_normal((T * n_t, D))
        score = np.einsum("ij,ij->i", Xf, W[task]) + 0.3
        noise = rng.standard_normal(T * n_t)
        if kind == "squared":
            y = score + 0.5 * noise
        else:
            y = (score + 1.0 * noise > 0).astype(float)
        X = np.column_stack([task, Xf])
        return X, y, 0, task_lists(Xf, y, task)
    n = 40
    X = rng.standard_normal((n, D))
    score = X @ W.T + 0.3
    noise = rng.standard_normal((n, T))
    if kind == "squared":
        Y = score + 0.5 * noise
    else:
        Y = (score + 1.0 * noise > 0).astype(float)
    Y[rng.random((n, T)) < 0.15] = np.nan
    return X, Y, None, task_lists(X, Y)


# name -> (alpha by loss, estimator by loss or None, solver penalty, cvxpy penalty,
#          numpy penalty value)
def _l21(a):
    return lambda W: a * np.linalg.norm(W, axis=0).sum()


PENALTIES = {
    "l21": dict(
        alpha={"squared": 0.08, "logistic": 0.03},
        estimator={
            "squared": lambda a: MultiTaskLasso(alpha=a),
            "logistic": lambda a: MultiTaskLogisticLasso(alpha=a),
        },
        cvx=lambda a: lambda W: (a * cp.sum(cp.norm(W, 2, 0)), []),
        value=_l21,
    ),
    "enet": dict(
        alpha={"squared": 0.1, "logistic": 0.04},
        estimator={
            "squared": lambda a: MultiTaskElasticNet(alpha=a, l1_ratio=0.6),
            "logistic": None,
        },
        penalty=lambda a: L21Ridge(a, 0.6),
        cvx=lambda a: (
            lambda W: (
                a * 0.6 * cp.sum(cp.norm(W, 2, 0)) + a * 0.4 / 2 * cp.sum_squares(W),
                [],
            )
        ),
        value=lambda a: lambda W: _l21(a * 0.6)(W) + a * 0.4 / 2 * np.sum(W**2),
    ),
    "sparse_group": dict(
        alpha={"squared": 0.08, "logistic": 0.03},
        estimator={
            "squared": lambda a: MultiTaskSparseGroupLasso(alpha=a, l1_ratio=0.4),
            "logistic": None,
        },
        penalty=lambda a: SparseGroupL1L21(a, 0.4),
        cvx=lambda a: (
            lambda W: (
                a * 0.4 * cp.sum(cp.abs(W)) + a * 0.6 * cp.sum(cp.norm(W, 2, 0)),
                [],
            )
        ),
        value=lambda a: lambda W: a * 0.4 * np.abs(W).sum() + _l21(a * 0.6)(W),
    ),
    "dirty": dict(
        alpha={"squared": 0.08, "logistic": 0.03},
        estimator={
            "squared": lambda a: DirtyMultiTaskLasso(a, 0.6 * a),
            "logistic": None,
        },
        penalty=lambda a: Dirty(a, 0.6 * a),
        cvx=None,  # built in the test: it needs the split variable
        value=None,
    ),
    "trace": dict(
        alpha={"squared": 0.1, "logistic": 0.03},
        estimator={
            "squared": lambda a: TraceNormRegression(alpha=a, alpha_intercepts=0.0),
            "logistic": lambda a: TraceNormLogisticRegression(
                alpha=a, alpha_intercepts=0.0
            ),
        },
        cvx=lambda a: lambda W: (a * cp.normNuc(W), []),
        value=lambda a: lambda W: a * np.linalg.svd(W, compute_uv=False).sum(),
    ),
}


def _dirty_cvx(a):
    def pen(W):
        P = cp.Variable(W.shape)
        return a * cp.sum(cp.norm(P, 2, 0)) + 0.6 * a * cp.sum(cp.abs(W - P)), []

    return pen


def _dirty_value(a, P, Q):
    return _l21(a)(P) + 0.6 * a * np.abs(Q).sum()


def _solve_direct(X, y, task_column, penalty, fit_intercept):
    """The logistic loss with ``penalty`` through ``bcd`` (no estimator)."""
    carrier = MultiTaskLogisticLasso(task_column=task_column)
    data = validate_fit_data(carrier, X, y, classification=True)
    _, data.y = encode_binary_targets(data)
    design = MultiTaskDesign(data, center=False)
    m = getattr(penalty, "n_blocks", 1)
    W0 = np.zeros((m * data.n_tasks, data.n_features))
    b0 = np.zeros(data.n_tasks) if fit_intercept else None
    res = bcd(design, Logistic(), penalty, W0, b0, tol=TOL, max_iter=100000)
    assert res.converged
    b = res.b if fit_intercept else np.zeros(data.n_tasks)
    return res.W, b


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["squared", "logistic"])
@pytest.mark.parametrize("name", list(PENALTIES))
def test_solver_matches_cvxpy(name, kind, fit_intercept, layout):
    spec = PENALTIES[name]
    a = spec["alpha"][kind]
    X, y, task_column, tasks = _problem(layout, kind)
    make = spec["estimator"][kind]
    if make is not None:
        est = make(a).set_params(
            task_column=task_column,
            fit_intercept=fit_intercept,
            tol=TOL,
            alpha_intercepts=0,  # the oracle's free intercepts
        )
        est.set_params(max_iter=100000)
        est.fit(X, y)
        Z, b = (
            np.vstack([est.coef_group_, est.coef_specific_])
            if name == "dirty"
            else est.coef_,
            est.intercept_,
        )
    else:
        Z, b = _solve_direct(X, y, task_column, spec["penalty"](a), fit_intercept)
    if name == "dirty":
        P, Q = Z[:T], Z[T:]
        W = P + Q
        pen_ours = _dirty_value(a, P, Q)
        cvx_pen = _dirty_cvx(a)
    else:
        W = Z
        pen_ours = spec["value"](a)(W)
        cvx_pen = spec["cvx"](a)
    Wc, bc, _ = solve(tasks, D, cvx_pen, fit_intercept=fit_intercept, kind=kind)
    ours = loss_value(tasks, W, b, kind) + pen_ours
    # cvxpy's objective at its own point (the dirty split re-optimised: the
    # penalty of the best split of Wc is at most the one cvxpy found)
    if name == "dirty":
        theirs = loss_value(tasks, Wc, bc, kind) + min(
            _dirty_value(a, Wc, 0 * Wc), _dirty_value(a, 0 * Wc, Wc)
        )
        theirs = min(theirs, _cvx_dirty_objective(tasks, a, fit_intercept, kind))
    else:
        theirs = loss_value(tasks, Wc, bc, kind) + spec["value"](a)(Wc)
    assert ours <= theirs + 1e-9
    assert theirs <= ours + 1e-7 * abs(ours)
    assert_allclose(W, Wc, atol=1e-4)
    assert_allclose(b, bc, atol=1e-4)
    if not fit_intercept:
        assert not np.any(b)
    assert np.abs(W).max() > 0.05  # alpha is below alpha_max: not the null model


def _cvx_dirty_objective(tasks, a, fit_intercept, kind):
    _, _, value = solve(tasks, D, _dirty_cvx(a), fit_intercept=fit_intercept, kind=kind)
    return value


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_logistic_lasso_without_intercept_converges(layout):
    """Regression (issue 10, defect 1): with ``fit_intercept=False`` the prox-Newton
    model was centred as if intercepts were free, so its step was not a descent
    direction and the gap froze (0.043 at tol=1e-8 after 2,000 epochs). It now
    converges as fast as with an intercept."""
    rng = np.random.default_rng(0)
    n, d = 60, 8
    w = rng.standard_normal(d)
    Xs, ys = [], []
    for t in range(3):
        Xt = rng.standard_normal((n, d))
        f = Xt @ (w + 0.3 * rng.standard_normal(d)) + 0.5 * rng.standard_normal(n)
        Xs.append(np.column_stack([np.full(n, t), Xt]))
        ys.append((f > 0).astype(int))
    X, y = np.vstack(Xs), np.concatenate(ys)
    if layout == "shared":  # the same rows for every task
        X = Xs[0][:, 1:]
        y = np.column_stack(ys)
    tc = 0 if layout == "stacked" else None
    kw = dict(alpha=0.02, task_column=tc, tol=1e-8, max_iter=2000)
    with_b = MultiTaskLogisticLasso(**kw).fit(X, y)
    est = MultiTaskLogisticLasso(fit_intercept=False, **kw).fit(X, y)
    assert est.dual_gap_ <= 1e-8 * 2 * np.log(2) * 3
    assert est.n_iter_ <= 2 * with_b.n_iter_ + 20
