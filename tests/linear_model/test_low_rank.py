"""Trace-norm and reduced-rank models against cvxpy, closed forms and limits."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _cvx import loss_value, nuclear, solve, task_lists
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.linear_model import (
    ReducedRankRegression,
    TraceNormLogisticRegression,
    TraceNormRegression,
)

RNG = np.random.default_rng(0)


def _stacked_problem(T=5, d=4, n=60, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    task = rng.integers(0, T, n)
    task[: 2 * T] = np.repeat(np.arange(T), 2)
    W = rng.standard_normal((2, d))
    W = rng.standard_normal((T, 2)) @ W
    score = np.einsum("ij,ij->i", X, W[task]) + 0.5 * rng.standard_normal(n) + 0.5
    y = (score > 0).astype(int) if classification else score
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, task, sw


def _shared_missing(T=4, d=4, n=40, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((T, 2)) @ rng.standard_normal((2, d))
    Y = X @ W.T + 0.3 * rng.standard_normal((n, T)) + 1.0
    Y[rng.random((n, T)) < 0.2] = np.nan
    return X, Y


def _check_against_cvxpy(est, tasks, d, pen_value, penalty, kind="squared"):
    Wc, bc, _ = solve(tasks, d, penalty, fit_intercept=est.fit_intercept, kind=kind)
    ours = loss_value(tasks, est.coef_, est.intercept_, kind) + pen_value(est.coef_)
    theirs = loss_value(tasks, Wc, bc, kind) + pen_value(Wc)
    assert_allclose(est.coef_, Wc, atol=1e-4)
    assert_allclose(est.intercept_, bc, atol=1e-4)
    # ours is certified to 1e-12 relative; cvxpy's point can only be worse
    assert ours <= theirs * (1 + 1e-6)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)


def _nuc(alpha):
    return lambda W: alpha * np.linalg.svd(W, compute_uv=False).sum()


TIGHT = {"tol": 1e-12, "max_iter": 100000, "alpha_intercepts": 0.0}


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_trace_norm_stacked_matches_cvxpy(sparse, fit_intercept):
    X, y, task, sw = _stacked_problem()
    Xs = np.column_stack([task, X])
    Xs = sp.csr_matrix(Xs) if sparse else Xs
    est = TraceNormRegression(
        alpha=0.1, task_column=0, fit_intercept=fit_intercept, **TIGHT
    ).fit(Xs, y, sample_weight=sw)
    _check_against_cvxpy(est, task_lists(X, y, task, sw), 4, _nuc(0.1), nuclear(0.1))


def test_trace_norm_shared_missing_matches_cvxpy():
    X, Y = _shared_missing()
    est = TraceNormRegression(alpha=0.05, **TIGHT).fit(X, Y)
    _check_against_cvxpy(est, task_lists(X, Y), 4, _nuc(0.05), nuclear(0.05))


def test_trace_norm_logistic_matches_cvxpy():
    X, y, task, sw = _stacked_problem(n=80, classification=True)
    labels = np.array(["no", "yes"])[y]
    Xs = np.column_stack([task, X]).astype(object)
    est = TraceNormLogisticRegression(alpha=0.02, task_column=0, **TIGHT)
    est.fit(Xs, labels, sample_weight=sw)
    assert list(est.classes_) == ["no", "yes"]
    tasks = task_lists(X, y.astype(float), task, sw)
    _check_against_cvxpy(est, tasks, 4, _nuc(0.02), nuclear(0.02), kind="logistic")
    proba = est.predict_proba(Xs)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert set(est.predict(Xs)) <= {"no", "yes"}
    assert_allclose(est.decision_function(Xs) > 0, proba[:, 1] > 0.5)


def test_trace_norm_logistic_shared_missing_labels():
    X, Y = make_multitask_classification(
        n_tasks=3, n_samples=60, n_features=4, layout="shared", random_state=0
    )
    Y = Y.astype(float)
    Y[::7, 1] = np.nan
    clf = TraceNormLogisticRegression(alpha=0.01, tol=1e-10, alpha_intercepts=0.0).fit(
        X, Y
    )
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8
    # missing labels are ignored: the stacked layout without those rows agrees
    rows = [np.flatnonzero(~np.isnan(Y[:, t])) for t in range(3)]
    Xs = np.vstack(
        [np.column_stack([np.full(len(r), t), X[r]]) for t, r in enumerate(rows)]
    )
    ys = np.concatenate([Y[r, t] for t, r in enumerate(rows)])
    stacked = TraceNormLogisticRegression(
        alpha=0.01, tol=1e-10, task_column=0, alpha_intercepts=0.0
    )
    assert_allclose(stacked.fit(Xs, ys).coef_, clf.coef_, atol=1e-6)


def test_trace_norm_partial_prox_equals_full_svd():
    from skmtl._optim.penalties import TraceNorm

    W = RNG.standard_normal((90, 6)) @ RNG.standard_normal((6, 150))
    W += 1e-2 * RNG.standard_normal(W.shape)
    partial, full = TraceNorm(1.0), TraceNorm(1.0)
    full.full_svd_max = 10**9
    for thr in (0.01, 1.0, 30.0):  # keeps many, a few, then no singular values
        assert_allclose(partial.prox(W, thr), full.prox(W, thr), atol=1e-10)
        for M in (W, W.T):
            assert partial.dual_norm(M) == pytest.approx(np.linalg.norm(M, 2))


def _alpha_max(X, y, task):
    """Spectral norm of the per-task correlations with the centred targets."""
    R = []
    for t in np.unique(task):
        Xt, yt = X[task == t], y[task == t]
        R.append((Xt - Xt.mean(0)).T @ (yt - yt.mean()) / len(yt))
    return np.linalg.norm(np.array(R), 2)


def test_trace_norm_alpha_max_gives_zero():
    X, y, task, _ = _stacked_problem()
    Xs = np.column_stack([task, X])
    amax = _alpha_max(X, y, task)
    zero = TraceNormRegression(
        alpha=amax * 1.0001, task_column=0, alpha_intercepts=0.0
    ).fit(Xs, y)
    assert_allclose(zero.coef_, 0.0, atol=1e-12)
    for t in range(5):
        assert zero.intercept_[t] == pytest.approx(y[task == t].mean())
    below = TraceNormRegression(
        alpha=amax * 0.95, task_column=0, alpha_intercepts=0.0
    ).fit(Xs, y)
    assert np.abs(below.coef_).max() > 1e-3
    assert below.rank_ == 1  # the first singular direction enters alone


def test_trace_norm_alpha_to_zero_is_least_squares():
    X, y, task, _ = _stacked_problem(n=200)
    Xs = np.column_stack([task, X])
    est = TraceNormRegression(alpha=1e-8, task_column=0, **TIGHT).fit(Xs, y)
    for t in range(5):
        ols = LinearRegression().fit(X[task == t], y[task == t])
        assert_allclose(est.coef_[t], ols.coef_, atol=1e-5)
        assert_allclose(est.intercept_[t], ols.intercept_, atol=1e-5)


def test_trace_norm_tiny_alpha_is_certified():
    """With a tiny penalty the residual's dual point stalls (a tiny dual ball);
    ADMM's multiplier certifies the optimum instead, within a few dozen
    iterations (before: 100,000 and a ConvergenceWarning at gap 7e-8)."""
    X, y, task, _ = _stacked_problem(n=200)
    Xs = np.column_stack([task, X])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = TraceNormRegression(alpha=1e-8, task_column=0, **TIGHT).fit(Xs, y)
    assert est.n_iter_ <= 200


def test_trace_norm_recovers_rank():
    X, y, W = make_multitask_regression(
        n_tasks=20,
        n_samples=60,
        n_features=30,
        structure="low_rank",
        rank=3,
        noise=0.1,
        coef=True,
        random_state=0,
    )
    for alpha in (0.2, 0.3, 0.5):  # above the noise level, far below alpha_max
        est = TraceNormRegression(alpha=alpha, task_column=0, alpha_intercepts=0.0).fit(
            X, y
        )
        assert est.rank_ == 3
        s = np.linalg.svd(est.coef_, compute_uv=False)
        assert s[3] < 1e-10 * s[0]
        assert np.linalg.norm(est.coef_ - W) < 0.05 * np.linalg.norm(W)
    # a too small alpha lets noise directions in
    assert (
        TraceNormRegression(alpha=0.01, task_column=0, alpha_intercepts=0.0)
        .fit(X, y)
        .rank_
        > 3
    )


def _trace_objective(model, X, y, alpha):
    task = X[:, 0].astype(int)
    tasks = task_lists(X[:, 1:], y, task)
    return loss_value(tasks, model.coef_, model.intercept_) + _nuc(alpha)(model.coef_)


def test_trace_norm_large_rank_path_warm_start():
    """min(T, d) > 64 uses the partial prox; warm starts along a path help."""
    X, y = make_multitask_regression(
        n_tasks=70,
        n_samples=20,
        n_features=80,
        structure="low_rank",
        rank=4,
        random_state=1,
    )
    est = TraceNormRegression(
        alpha=0.2, task_column=0, warm_start=True, tol=1e-5, alpha_intercepts=0.0
    )
    est.fit(X, y)
    warm = cold_iters = 0
    for alpha in (0.15, 0.1):
        cold = TraceNormRegression(
            alpha=alpha, task_column=0, tol=1e-5, alpha_intercepts=0.0
        ).fit(X, y)
        est.set_params(alpha=alpha).fit(X, y)
        warm, cold_iters = warm + est.n_iter_, cold_iters + cold.n_iter_
        # both certified: each objective is within its gap of the optimum
        objs = [_trace_objective(m, X, y, alpha) for m in (est, cold)]
        assert abs(objs[0] - objs[1]) <= max(est.dual_gap_, cold.dual_gap_) * 1.01
        assert 0 < est.rank_ < 70
    assert warm < cold_iters


def test_trace_norm_convergence_warning():
    X, y, task, _ = _stacked_problem()
    with pytest.warns(ConvergenceWarning, match="Duality gap"):
        TraceNormRegression(
            alpha=0.01, task_column=0, max_iter=2, tol=1e-14, alpha_intercepts=0.0
        ).fit(np.column_stack([task, X]), y)


def _null_scale(X, y, task):
    """``2 P0`` of the centred squared loss: sum_t mean_t (y - ybar_t)^2."""
    return sum(
        np.mean((y[task == t] - y[task == t].mean()) ** 2) for t in np.unique(task)
    )


@pytest.mark.parametrize("alpha", [0.1, 1.0])
def test_trace_norm_school_defaults_converge(alpha):
    """School: one-hot groups (rank-deficient task designs) and columns up to 91
    (condition number ~1e4). FISTA's 1 / L step hit max_iter=1000 here (gaps 69
    and 82 against 2); the ADMM's exact per-task ridge steps do not care."""
    from skmtl.datasets import load_school

    s = load_school()
    X, y = s.data, s.target
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = TraceNormRegression(alpha=alpha, task_column=0, alpha_intercepts=0.0).fit(
            X, y
        )
    task = X[:, 0].astype(int)
    assert est.dual_gap_ <= 1e-4 * _null_scale(X, y, task)
    assert est.n_iter_ < 1000
    # the certificate holds for the returned point: objective - dual <= gap, so
    # any feasible point (W = 0 with optimal intercepts) is no better than
    # objective - gap
    obj = _trace_objective(est, X, y, alpha)
    assert obj - est.dual_gap_ <= 0.5 * _null_scale(X, y, task)


def test_trace_norm_admm_equals_fista_fallback(monkeypatch):
    """Over its budget the design has no per-task factors and FISTA solves: both
    solvers reach the same certified optimum (stacked, weights, rank-deficient
    tasks: 3 rows for 4 features in some)."""
    from skmtl._optim.design import MultiTaskDesign

    X, y, task, sw = _stacked_problem(T=6, d=4, n=40, seed=3)
    Xs = np.column_stack([task, X])
    admm = TraceNormRegression(alpha=0.05, task_column=0, **TIGHT).fit(
        Xs, y, sample_weight=sw
    )
    monkeypatch.setattr(MultiTaskDesign, "task_right_factors", lambda self: None)
    fista = TraceNormRegression(alpha=0.05, task_column=0, **TIGHT).fit(
        Xs, y, sample_weight=sw
    )
    assert_allclose(admm.coef_, fista.coef_, atol=1e-6)
    assert_allclose(admm.intercept_, fista.intercept_, atol=1e-6)


@pytest.mark.parametrize("layout", ["stacked", "shared", "shared_missing"])
def test_task_right_factors_reproduce_task_grams(layout):
    """``V_t diag(s2_t) V_t^T`` equals the centred weighted Gram of task ``t``."""
    from skmtl._data import validate_fit_data
    from skmtl._optim.design import MultiTaskDesign

    if layout == "stacked":
        X, y, task, sw = _stacked_problem(T=5, d=4, n=30, seed=2)
        est, Xf = (
            TraceNormRegression(task_column=0, alpha_intercepts=0.0),
            np.column_stack([task, X]),
        )
        rows = [task == t for t in range(5)]
        weights = [sw[r] for r in rows]
    else:
        X, Y = _shared_missing()
        if layout == "shared":
            Y = np.nan_to_num(Y, nan=0.5)
        y, sw, est, Xf = (
            Y,
            np.ones(len(X)),
            TraceNormRegression(alpha_intercepts=0.0),
            X,
        )
        rows = [~np.isnan(Y[:, t]) for t in range(Y.shape[1])]
        weights = [sw[r] for r in rows]
    design = MultiTaskDesign(validate_fit_data(est, Xf, y, sw), center=True)
    V, s2 = design.task_right_factors()
    for t, (r, w) in enumerate(zip(rows, weights)):
        Xt = X[r]
        om = w / w.sum()
        Xc = Xt - om @ Xt
        H = (Xc * om[:, None]).T @ Xc
        g = 0 if V.shape[0] == 1 else t
        assert_allclose((V[g] * s2[g]) @ V[g].T, H, atol=1e-12)


# ----------------------------------------------------------------- reduced rank
def _izenman(X, Y, rank, sw=None):
    """Textbook closed form with an intercept: OLS on centred data, then project
    the coefficients on the top eigenvectors of Yhat^T Yhat."""
    sw = np.ones(len(X)) if sw is None else sw
    om = sw / sw.sum()
    Xc, Yc = X - om @ X, Y - om @ Y
    r = np.sqrt(om)[:, None]
    B = np.linalg.lstsq(r * Xc, r * Yc, rcond=None)[0]  # (d, T)
    Yhat = r * Xc @ B
    _, vecs = np.linalg.eigh(Yhat.T @ Yhat)
    P = vecs[:, -rank:] @ vecs[:, -rank:].T
    W = (B @ P).T
    return W, om @ Y - (om @ X) @ W.T


@pytest.mark.parametrize("weights", [False, True])
def test_reduced_rank_alpha0_equals_izenman(weights):
    X, Y = make_multitask_regression(
        n_tasks=7,
        n_samples=50,
        n_features=6,
        structure="low_rank",
        rank=2,
        noise=1.0,
        layout="shared",
        random_state=3,
    )
    sw = RNG.uniform(0.5, 2, 50) if weights else None
    est = ReducedRankRegression(rank=2, alpha_intercepts=0.0).fit(
        X, Y, sample_weight=sw
    )
    W, b = _izenman(X, Y, 2, sw)
    assert_allclose(est.coef_, W, atol=1e-10)
    assert_allclose(est.intercept_, b, atol=1e-10)
    assert est.n_iter_ == 1
    assert_allclose(est.components_ @ est.components_.T, np.eye(2), atol=1e-12)
    assert_allclose(est.task_loadings_ @ est.components_, est.coef_, atol=1e-12)


def _shared_low_rank():
    """6 tasks sharing 40 rows of 8 features, rank-2 weights."""
    return make_multitask_regression(
        n_tasks=6,
        n_samples=40,
        n_features=8,
        structure="low_rank",
        rank=2,
        noise=0.5,
        layout="shared",
        random_state=4,
    )


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_reduced_rank_alternating_equals_closed_form(alpha):
    """Stacked identical rows and sparse X go through the alternating solver."""
    X, Y = _shared_low_rank()
    closed = ReducedRankRegression(rank=2, alpha=alpha, alpha_intercepts=0.0).fit(X, Y)
    Xs = np.column_stack([np.repeat(np.arange(6), 40), np.tile(X, (6, 1))])
    stacked = ReducedRankRegression(
        rank=2, alpha=alpha, task_column=0, tol=1e-12, alpha_intercepts=0.0
    )
    stacked.fit(Xs, Y.T.ravel())
    sparse = ReducedRankRegression(rank=2, alpha=alpha, tol=1e-12, alpha_intercepts=0.0)
    sparse.fit(sp.csr_matrix(X), Y)
    for est in (stacked, sparse):
        assert est.n_iter_ > 1
        assert_allclose(est.coef_, closed.coef_, atol=1e-7)
        assert est.objective_ == pytest.approx(closed.objective_, rel=1e-10)


def test_reduced_rank_task_weights_array_is_weighted_izenman():
    """An array ``task_weighting`` weighs task t's loss by w_t: the fully
    observed shared design then takes the alternating solver (the closed form
    assumes equal weights), whose optimum is Izenman's fit of the targets
    scaled by ``sqrt(w_t)``, unscaled (column scaling keeps the rank); dense
    and sparse X agree."""
    X, Y = _shared_low_rank()
    w = np.array([1.0, 20.0, 1.0, 1.0, 5.0, 1.0])
    scaled, _ = _izenman(X, Y * np.sqrt(w), 2)
    params = dict(rank=2, task_weighting=w, tol=1e-12, alpha_intercepts=0.0)
    dense = ReducedRankRegression(**params).fit(X, Y)
    sparse = ReducedRankRegression(**params).fit(sp.csr_matrix(X), Y)
    assert dense.n_iter_ > 1
    for est in (dense, sparse):
        assert_allclose(est.coef_, scaled / np.sqrt(w)[:, None], atol=1e-6)
    assert dense.objective_ == pytest.approx(sparse.objective_, rel=1e-10)


def test_reduced_rank_ridge_closed_form_is_optimal():
    """Any rank-2 perturbation of the ridge closed form is worse."""
    X, Y = _shared_missing(T=5, d=6, n=30)
    Y = np.nan_to_num(Y, nan=0.5)
    est = ReducedRankRegression(rank=2, alpha=0.5, alpha_intercepts=0.0).fit(X, Y)
    tasks = task_lists(X, Y)

    def objective(W):
        # intercepts optimal for W (squared loss): weighted mean residual
        b = np.array([np.mean(yt - Xt @ w) for (Xt, yt, _), w in zip(tasks, W)])
        return loss_value(tasks, W, b) + 0.25 * np.sum(W * W)

    best = objective(est.coef_)
    assert best == pytest.approx(est.objective_, rel=1e-12)
    V, U = est.task_loadings_, est.components_
    for _ in range(30):
        Vp = V + 1e-3 * RNG.standard_normal(V.shape)
        Up = U + 1e-3 * RNG.standard_normal(U.shape)
        assert objective(Vp @ Up) >= best - 1e-12


def test_reduced_rank_missing_targets_stationary_and_recovers_subspace():
    X, Y, W = make_multitask_regression(
        n_tasks=15,
        n_samples=80,
        n_features=20,
        structure="low_rank",
        rank=3,
        noise=0.1,
        layout="shared",
        coef=True,
        random_state=5,
    )
    Y[RNG.random(Y.shape) < 0.3] = np.nan
    est = ReducedRankRegression(rank=3, tol=1e-10, alpha_intercepts=0.0).fit(X, Y)
    assert est.n_iter_ > 1
    # principal angles between the learned and the true row spaces
    Q_true = np.linalg.qr(W.T)[0]
    cosines = np.linalg.svd(Q_true.T @ est.components_.T, compute_uv=False)
    assert cosines.min() > 0.999


def test_reduced_rank_full_rank_is_per_task_least_squares():
    X, y, task, _ = _stacked_problem(T=4, d=3, n=80)
    Xs = np.column_stack([task, X])
    est = ReducedRankRegression(
        rank=10, task_column=0, tol=1e-12, alpha_intercepts=0.0
    ).fit(Xs, y)
    assert est.rank_ == 3 and est.components_.shape == (3, 3)
    for t in range(4):
        ols = LinearRegression().fit(X[task == t], y[task == t])
        assert_allclose(est.coef_[t], ols.coef_, atol=1e-8)


def test_reduced_rank_warm_start_and_warning():
    X, y = make_multitask_regression(
        n_tasks=8,
        n_samples=30,
        n_features=10,
        structure="low_rank",
        rank=2,
        random_state=6,
    )
    est = ReducedRankRegression(
        rank=2, task_column=0, warm_start=True, tol=1e-10, alpha_intercepts=0.0
    )
    first = est.fit(X, y).n_iter_
    assert est.fit(X, y).n_iter_ < first
    with pytest.warns(ConvergenceWarning, match="Grassmann"):
        ReducedRankRegression(
            rank=2, task_column=0, max_iter=1, tol=1e-14, alpha_intercepts=0.0
        ).fit(X, y)


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_trace_norm_logistic_free_intercepts_on_uncentred_features(layout):
    """Free intercepts are translation-equivariant: shifting every feature by 100
    leaves ``coef_`` and moves ``intercept_`` by ``-100 * sum_j w_tj``. FISTA runs
    on the features centred per task (``MultiTaskDesign.feature_centred``), so the
    shifted fit takes the iterations of the centred one (it took 5,000 without
    converging when the joint step was sized for ``[X, 1]``). Both fits are
    certified at ``tol=1e-10``: coefficients agree to 1e-6."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4))
    W = rng.standard_normal((3, 4))
    if layout == "stacked":
        task = np.repeat(np.arange(3), 30)
        y = (np.einsum("ij,ij->i", X, W[task]) + rng.standard_normal(90) > 0) * 1.0
        fit_X = lambda Z: np.column_stack([task, Z])  # noqa: E731
        kw = {"task_column": 0}
    else:
        y = (X @ W.T + rng.standard_normal((90, 3)) > 0) * 1.0
        fit_X = lambda Z: Z  # noqa: E731
        kw = {}
    est = TraceNormLogisticRegression(
        alpha=0.01, alpha_intercepts=0.0, tol=1e-10, max_iter=3000, **kw
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        base = clone(est).fit(fit_X(X), y)
        moved = clone(est).fit(fit_X(X + 100.0), y)
    assert_allclose(moved.coef_, base.coef_, rtol=0, atol=1e-6)
    assert_allclose(
        moved.intercept_, base.intercept_ - 100.0 * base.coef_.sum(axis=1), atol=1e-4
    )
    assert moved.n_iter_ <= 2 * base.n_iter_
