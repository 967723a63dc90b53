"""Intercept model x task weighting of the low-rank and structured models against
cvxpy (and closed forms): free / hierarchical / pooled intercepts, "equal" /
"size" / array weights, stacked and shared (missing targets) layouts.

The oracle is written from the objective in the docstrings, independently of the
library's operators: ``sum_t omega_t / 2 sum_{i in t} s_i (y_i - x_i w_t - b_t)^2
+ pen(W) + lam / 2 sum_t omega_t c_t^2`` with ``b_t = b_0 + c_t`` (``c = 0`` for a
pooled intercept, no penalty on ``b`` for free ones) and ``omega_t`` computed here
from its definition (``sum_t omega_t n_t = T``; ``omega_t`` proportional to
``1 / n_t``, to 1 or to the user's array).

Tolerances: the library stops at a certified duality gap ``tol = 1e-11`` times
``2 P0`` (``P0 < 10``), cvxpy (Clarabel) at 1e-10: objectives agree to 1e-6
relative. Every task has more rows than features and every penalty here is
strongly convex in ``b`` and ``W`` on these problems (loss curvature >= ~1e-2), so
an objective error of 1e-10 is a coefficient error below 1e-4.
"""

import cvxpy as cp
import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmtl.linear_model import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
    ReducedRankRegression,
    TraceNormLogisticRegression,
    TraceNormRegression,
)

T, D = 3, 4
TOL = 1e-11
SIZES = (8, 20, 35)
STRENGTHS = [0.0, 1.0, 10.0, np.inf]
WEIGHTINGS = ["equal", "size", "array"]
ARRAY_W = np.array([2.0, 1.0, 0.5])


def only_route(monkeypatch, blocked, what, target, real, record):
    """Make ``blocked`` (``(owner, name)``) fail with a message naming ``what``
    and replace the solver function at the import path ``target`` with a spy
    that appends ``record(kwargs)`` to the returned list before calling
    ``real``: a test passing through it certified that route."""

    def fail(*args, **kwargs):
        raise AssertionError(f"{what} was not used")

    calls = []

    def spy(*args, **kwargs):
        calls.append(record(kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(*blocked, fail)
    monkeypatch.setattr(target, spy)
    return calls


def _problem(layout, kind, seed=0):
    """``(X, y, task_column, tasks)``; ``tasks`` lists ``(X_t, y_t)``."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((T, D)) * 0.7
    levels = np.array([0.5, -0.4, 1.0])
    if layout == "stacked":
        task = np.repeat(np.arange(T), SIZES)
        Xf = rng.standard_normal((len(task), D)) + 0.5
        score = np.einsum("ij,ij->i", Xf, W[task]) + levels[task]
        noise = rng.standard_normal(len(task))
        y = score + 0.5 * noise if kind == "squared" else (score + noise > 0) * 1.0
        tasks = [(Xf[task == t], y[task == t]) for t in range(T)]
        return np.column_stack([task, Xf]), y, 0, tasks
    n = 40
    X = rng.standard_normal((n, D)) + 0.5
    score = X @ W.T + levels
    noise = rng.standard_normal((n, T))
    Y = score + 0.5 * noise if kind == "squared" else (score + noise > 0) * 1.0
    missing = rng.random((n, T)) < np.array([0.7, 0.3, 0.0])
    Y[missing] = np.nan
    tasks = [(X[~np.isnan(Y[:, t])], Y[~np.isnan(Y[:, t]), t]) for t in range(T)]
    return X, Y, None, tasks


def _omega(tasks, weighting):
    n = np.array([len(yt) for _, yt in tasks], dtype=float)
    if weighting == "equal":
        w = 1.0 / n
    elif weighting == "size":
        w = np.ones(T)
    else:
        w = ARRAY_W
    return w * T / (w @ n)


def _weighting_param(weighting):
    return ARRAY_W if weighting == "array" else weighting


def _loss(tasks, om, W, b, kind, lib):
    total = 0
    for t, (Xt, yt) in enumerate(tasks):
        z = Xt @ W[t] + b[t]
        if kind == "squared":
            term = (
                lib.sum(lib.square(yt - z)) / 2
                if lib is cp
                else np.sum((yt - z) ** 2) / 2
            )
        else:
            s = np.where(yt > 0, 1.0, -1.0)
            if lib is cp:
                term = cp.sum(cp.logistic(-cp.multiply(s, z)))
            else:
                term = np.sum(np.logaddexp(0, -s * z))
        total = total + om[t] * term
    return total


def _intercept_penalty(om, lam, b):
    """``min_{b0} lam / 2 sum om (b - b0)^2`` (numpy)."""
    if lam == 0:
        return 0.0
    b0 = om @ b / om.sum()
    if np.isinf(lam):
        assert np.ptp(b) < 1e-8
        return 0.0
    return 0.5 * lam * float(om @ (b - b0) ** 2)


def _cvx_solve(tasks, om, lam, kind, penalty):
    """cvxpy optimum ``(W, b, objective)``."""
    W = cp.Variable((T, D))
    b0 = cp.Variable()
    c = cp.Variable(T)
    cons = []
    if lam == 0:
        b = c
        hpen = 0
    elif np.isinf(lam):
        b = b0 * np.ones(T)
        hpen = 0
    else:
        b = b0 + c
        hpen = lam / 2 * cp.sum(cp.multiply(om, cp.square(c)))
    pen, extra = penalty(W)
    prob = cp.Problem(
        cp.Minimize(_loss(tasks, om, W, b, kind, cp) + pen + hpen), cons + extra
    )
    prob.solve(
        solver=cp.CLARABEL,
        tol_gap_abs=1e-11,
        tol_gap_rel=1e-11,
        tol_feas=1e-11,
        max_iter=500,
    )
    bval = np.asarray(b.value if hasattr(b, "value") else b, dtype=float)
    return W.value, np.broadcast_to(bval, (T,)).copy(), prob.value


def _nuclear(W):
    return np.linalg.svd(W, compute_uv=False).sum()


def _task_mean_gap(W):
    return 0.5 * float(np.sum((W - W.mean(axis=0)) ** 2))


# name -> (estimator, kind, cvxpy penalty, numpy penalty)
def _clustered_cvx(alpha, beta, k):
    def pen(W):
        M = cp.Variable((T, T), symmetric=True)
        cons = [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k]
        return beta * (alpha + beta) * cp.matrix_frac(
            W, beta * np.eye(T) + alpha * M
        ), cons

    return pen


def _with_mean(cvx_pen, alpha_mean):
    """A cvxpy penalty plus ``alpha_mean / 2 * sum_t ||w_t - wbar||^2``."""

    def pen(W):
        value, cons = cvx_pen(W)
        mean = np.ones((T, 1)) @ cp.sum(W, axis=0, keepdims=True) / T
        return value + alpha_mean / 2 * cp.sum_squares(W - mean), cons

    return pen


A_GRAPH = np.array([[0, 1.0, 0], [1.0, 0, 2.0], [0, 2.0, 0]])
L_GRAPH = np.diag(A_GRAPH.sum(1)) - A_GRAPH


def _graph_value(alpha, l1):
    return lambda W: (
        alpha * (1 - l1) * float(np.trace(W.T @ L_GRAPH @ W))
        + (alpha * l1 * np.abs(W).sum())
    )


def _graph_cvx(alpha, l1):
    lam, Q = np.linalg.eigh(L_GRAPH)
    B = (Q * np.sqrt(np.maximum(lam, 0))) @ Q.T
    return lambda W: (
        alpha * (1 - l1) * cp.sum_squares(B @ W) + alpha * l1 * cp.sum(cp.abs(W)),
        [],
    )


def _clustered_value(alpha, beta, k):
    from skmtl._optim.structured import ClusteredPenalty

    return ClusteredPenalty(alpha, beta, k).value


MODELS = {
    "trace": (
        lambda: TraceNormRegression(alpha=0.1),
        "squared",
        lambda W: (0.1 * cp.normNuc(W), []),
        lambda W: 0.1 * _nuclear(W),
    ),
    "trace_mean": (
        lambda: TraceNormRegression(alpha=0.1, alpha_mean=0.5),
        "squared",
        lambda W: (
            0.1 * cp.normNuc(W)
            + 0.25
            * cp.sum_squares(
                W - np.ones((T, 1)) @ cp.sum(W, axis=0, keepdims=True) / T
            ),
            [],
        ),
        lambda W: 0.1 * _nuclear(W) + 0.5 * _task_mean_gap(W),
    ),
    "trace_logistic": (
        lambda: TraceNormLogisticRegression(alpha=0.03),
        "logistic",
        lambda W: (0.03 * cp.normNuc(W), []),
        lambda W: 0.03 * _nuclear(W),
    ),
    "trace_logistic_mean": (
        lambda: TraceNormLogisticRegression(alpha=0.03, alpha_mean=0.3),
        "logistic",
        lambda W: (
            0.03 * cp.normNuc(W)
            + 0.15
            * cp.sum_squares(
                W - np.ones((T, 1)) @ cp.sum(W, axis=0, keepdims=True) / T
            ),
            [],
        ),
        lambda W: 0.03 * _nuclear(W) + 0.3 * _task_mean_gap(W),
    ),
    "clustered": (
        lambda: ClusteredMultiTaskRegression(n_clusters=2, alpha=1.0, beta=0.1),
        "squared",
        _clustered_cvx(1.0, 0.1, 2),
        _clustered_value(1.0, 0.1, 2),
    ),
    "clustered_mean": (
        lambda: ClusteredMultiTaskRegression(
            n_clusters=2, alpha=1.0, beta=0.1, alpha_mean=0.5
        ),
        "squared",
        _with_mean(_clustered_cvx(1.0, 0.1, 2), 0.5),
        lambda W: _clustered_value(1.0, 0.1, 2)(W) + 0.5 * _task_mean_gap(W),
    ),
    "graph": (
        lambda: GraphRegularizedMultiTaskRegression(task_graph=A_GRAPH, alpha=0.3),
        "squared",
        _graph_cvx(0.3, 0.0),
        _graph_value(0.3, 0.0),
    ),
    "graph_l1": (
        lambda: GraphRegularizedMultiTaskRegression(
            task_graph=A_GRAPH, alpha=0.3, l1_ratio=0.3
        ),
        "squared",
        _graph_cvx(0.3, 0.3),
        _graph_value(0.3, 0.3),
    ),
    # rank >= n_tasks: no constraint, ridge with the intercept model (convex)
    "rrr_full": (
        lambda: ReducedRankRegression(rank=T, alpha=0.2),
        "squared",
        lambda W: (0.1 * cp.sum_squares(W), []),
        lambda W: 0.1 * float(np.sum(W**2)),
    ),
}


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("lam", STRENGTHS)
@pytest.mark.parametrize("name", list(MODELS))
def test_matches_cvxpy(name, lam, weighting, layout):
    make, kind, cvx_pen, np_pen = MODELS[name]
    X, y, task_column, tasks = _problem(layout, kind)
    om = _omega(tasks, weighting)
    est = make().set_params(
        task_column=task_column,
        alpha_intercepts=lam,
        task_weighting=_weighting_param(weighting),
        tol=TOL,
        max_iter=200000,
    )
    if name == "graph":  # CG: relative gradient norm
        est.set_params(tol=1e-12)
    est.fit(X, y)
    W, b = est.coef_, est.intercept_
    Wc, bc, _ = _cvx_solve(tasks, om, lam, kind, cvx_pen)
    ours = _loss(tasks, om, W, b, kind, np) + np_pen(W) + _intercept_penalty(om, lam, b)
    theirs = (
        _loss(tasks, om, Wc, bc, kind, np)
        + np_pen(Wc)
        + _intercept_penalty(om, lam, bc)
    )
    assert ours <= theirs * (1 + 1e-6)
    assert theirs <= ours * (1 + 1e-6)
    assert_allclose(W, Wc, atol=1e-4)
    assert_allclose(b, bc, atol=1e-4)
    assert est.alpha_intercepts_ == lam
    assert np.abs(W).max() > 0.05  # not the null model


def _rank_one_reference(tasks, om, lam, alpha, n_starts=12):
    """Brute force for rank 1: ``W = v u^T`` with ``||u|| = 1``; for a fixed ``u``
    the problem in ``(v, b)`` is a ridge least-squares problem solved exactly by
    its normal equations (the intercept penalty written as a quadratic form),
    then ``u`` is optimised over the sphere by BFGS from many random starts."""
    from scipy.optimize import minimize

    pooled = np.isinf(lam)
    nb = 1 if pooled else T
    E = np.ones((T, 1)) if pooled else np.eye(T)
    Hh = np.zeros((nb, nb))
    if 0 < lam < np.inf:
        Hh = lam * (np.diag(om) - np.outer(om, om) / om.sum())
    X_all = np.vstack([Xt for Xt, _ in tasks])
    y_all = np.concatenate([yt for _, yt in tasks])
    t_all = np.concatenate([np.full(len(yt), t) for t, (_, yt) in enumerate(tasks)])
    w_all = om[t_all]

    def inner(u):
        u = u / np.linalg.norm(u)
        z = X_all @ u
        Phi = np.zeros((len(y_all), T + nb))
        Phi[np.arange(len(y_all)), t_all] = z
        Phi[:, T:] = E[t_all]
        H = Phi.T @ (w_all[:, None] * Phi)
        H[:T, :T] += alpha * np.eye(T)
        H[T:, T:] += Hh
        x = np.linalg.solve(H, Phi.T @ (w_all * y_all))
        r = y_all - Phi @ x
        value = 0.5 * w_all @ r**2 + 0.5 * alpha * x[:T] @ x[:T]
        value += 0.5 * x[T:] @ Hh @ x[T:]
        return value, np.outer(x[:T], u), E @ x[T:]

    rng = np.random.default_rng(1)
    best = None
    for _ in range(n_starts):
        res = minimize(
            lambda u: inner(u)[0],
            rng.standard_normal(D),
            method="BFGS",
            options={"gtol": 1e-12, "maxiter": 2000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return inner(best.x)


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("lam", STRENGTHS)
def test_reduced_rank_matches_brute_force(lam, weighting, layout):
    """Non-convex: the alternating / closed-form fit against a brute-force global
    search over the rank-one basis (objective within 1e-6 relative; the optimum
    is unique on these problems, so the coefficients agree to 1e-4)."""
    X, y, task_column, tasks = _problem(layout, "squared")
    om = _omega(tasks, weighting)
    est = ReducedRankRegression(
        rank=1,
        alpha=0.05,
        task_column=task_column,
        alpha_intercepts=lam,
        task_weighting=_weighting_param(weighting),
        tol=1e-13,
        max_iter=20000,
    ).fit(X, y)
    ref, W_ref, b_ref = _rank_one_reference(tasks, om, lam, 0.05)
    W, b = est.coef_, est.intercept_
    ours = (
        _loss(tasks, om, W, b, "squared", np)
        + 0.025 * float(np.sum(W**2))
        + _intercept_penalty(om, lam, b)
    )
    assert ours <= ref * (1 + 1e-6)
    assert ref <= ours * (1 + 1e-6)
    assert_allclose(est.objective_, ours, rtol=1e-10)
    assert_allclose(W, W_ref, atol=1e-4)
    assert_allclose(b, b_ref, atol=1e-4)


REGRESSORS_AT_NULL = {
    # W = 0 exactly (alpha above alpha_max) or to ~1e-9 (smooth penalties)
    "trace": (lambda: TraceNormRegression(alpha=1e3), 1e-10),
    "graph_l1": (
        lambda: GraphRegularizedMultiTaskRegression(alpha=1e3, l1_ratio=1.0),
        1e-10,
    ),
    "clustered": (
        lambda: ClusteredMultiTaskRegression(alpha=1.0, beta=1e9),
        1e-6,
    ),
    "rrr": (lambda: ReducedRankRegression(rank=1, alpha=1e10), 1e-6),
}


@pytest.mark.parametrize("weighting", WEIGHTINGS)
@pytest.mark.parametrize("lam", [0.0, 3.0, 30.0, np.inf])
@pytest.mark.parametrize("name", list(REGRESSORS_AT_NULL))
def test_intercept_shrinkage_closed_form(name, lam, weighting):
    """At ``W = 0`` the squared loss gives the random-intercept BLUP: task ``t``
    keeps ``n_t / (n_t + lam)`` of ``ybar_t - b_0`` whatever the weighting, with
    ``b_0`` the mean of the ``ybar_t`` weighted by ``omega_t n_t lam / (n_t +
    lam)`` (``omega_t n_t`` for a pooled intercept)."""
    make, atol = REGRESSORS_AT_NULL[name]
    X, y, _, tasks = _problem("stacked", "squared")
    om = _omega(tasks, weighting)
    n = np.array([len(yt) for _, yt in tasks], dtype=float)
    ybar = np.array([yt.mean() for _, yt in tasks])
    est = make().set_params(
        task_column=0,
        alpha_intercepts=lam,
        task_weighting=_weighting_param(weighting),
        tol=1e-12,
        max_iter=100000,
    )
    est.fit(X, y)
    assert np.abs(est.coef_).max() <= atol
    if lam == 0:
        expected = ybar
    else:
        keep = 0.0 if np.isinf(lam) else n / (n + lam)
        kappa = om * n * (1.0 if np.isinf(lam) else lam / (n + lam))
        b0 = kappa @ ybar / kappa.sum()
        expected = b0 + keep * (ybar - b0)
    # W ~ atol moves each intercept by at most ~|xbar| atol D
    assert_allclose(est.intercept_, expected, atol=20 * atol + 1e-9)
    assert_allclose(est.intercept_shared_, om @ est.intercept_ / om.sum(), atol=1e-12)


UNSEEN = {
    # name -> (estimator, expected coef_shared_ as a function of (coef_, sizes))
    "trace": (
        lambda: TraceNormRegression(alpha=0.1),
        lambda W, n: n @ W / n.sum(),
    ),
    "trace_mean": (
        lambda: TraceNormRegression(alpha=0.1, alpha_mean=0.5),
        lambda W, n: W.mean(axis=0),
    ),
    "trace_logistic_mean": (
        lambda: TraceNormLogisticRegression(alpha=0.03, alpha_mean=0.5),
        lambda W, n: W.mean(axis=0),
    ),
    "clustered": (
        lambda: ClusteredMultiTaskRegression(alpha=1.0, beta=0.1),
        lambda W, n: n @ W / n.sum(),
    ),
    "clustered_mean": (
        lambda: ClusteredMultiTaskRegression(alpha=1.0, beta=0.1, alpha_mean=0.5),
        lambda W, n: W.mean(axis=0),
    ),
    "graph": (
        lambda: GraphRegularizedMultiTaskRegression(task_graph=A_GRAPH, alpha=0.3),
        lambda W, n: W.mean(axis=0),
    ),
    "rrr": (
        lambda: ReducedRankRegression(rank=1, alpha=0.05),
        lambda W, n: n @ W / n.sum(),
    ),
}


@pytest.mark.parametrize("name", list(UNSEEN))
def test_unseen_task_shared(name):
    make, expected = UNSEEN[name]
    kind = "logistic" if "logistic" in name else "squared"
    X, y, _, tasks = _problem("stacked", kind)
    n = np.array([len(yt) for _, yt in tasks], dtype=float)
    est = make().set_params(task_column=0, alpha_intercepts=3.0, tol=1e-10)
    est.fit(X, y)
    with pytest.raises(ValueError, match="99"):
        est.predict(np.column_stack([np.full(4, 99), X[:4, 1:]]))
    est.set_params(unseen_task="shared")
    assert_allclose(est.coef_shared_, expected(est.coef_, n), atol=1e-12)
    X_new = np.column_stack([np.array([0, 99, 1, 99]), X[:4, 1:]])
    out = est.decision_function(X_new) if kind == "logistic" else est.predict(X_new)
    shared = X[:4, 1:] @ est.coef_shared_ + est.intercept_shared_
    seen = est.decision_function(X[:4]) if kind == "logistic" else est.predict(X[:4])
    assert_allclose(out[[1, 3]], shared[[1, 3]], rtol=1e-12)
    # a seen task's rows are unaffected (rows 0 and 2 keep tasks 0 and 1)
    ref = (
        np.einsum("ij,ij->i", X[:4, 1:], est.coef_[[0, 0, 1, 0]])
        + est.intercept_[[0, 0, 1, 0]]
    )
    assert_allclose(out[[0, 2]], ref[[0, 2]], rtol=1e-12)
    assert seen.shape == out.shape
