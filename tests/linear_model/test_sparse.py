"""The sparse (L2,1) family against independent oracles.

scikit-learn (MultiTaskLasso, MultiTaskElasticNet, Lasso, ElasticNet, and its
MultiTaskLassoCV), cvxpy on small problems (sparse-group, dirty and logistic
models), duality gaps recomputed by the engine's own ``duality_gap`` and the KKT
conditions.
"""

import warnings

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import linear_model as sk
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

from skmtl._compat import SKLEARN_VERSION
from skmtl._data import validate_fit_data
from skmtl._optim.base import duality_gap, null_scale
from skmtl._optim.datafits import Logistic, Quadratic
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.penalties import L21, L21Ridge
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.linear_model import (
    DirtyMultiTaskLasso,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    MultiTaskLogisticLasso,
    MultiTaskSparseGroupLasso,
    alpha_max,
    multitask_enet_path,
    multitask_lasso_path,
)

TIGHT = 1e-12


def _shared(n=60, d=15, T=4, seed=0, noise=0.5):
    X, Y = make_multitask_regression(
        n_tasks=T,
        n_samples=n,
        n_features=d,
        n_informative=4,
        noise=noise,
        layout="shared",
        random_state=seed,
    )
    return X + 1.0, Y + np.arange(T)  # non-zero means: intercepts matter


def _stacked(T=4, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X, y = make_multitask_regression(
        n_tasks=T,
        n_samples=list(rng.integers(20, 45, T)),
        n_features=d,
        n_informative=3,
        noise=0.5,
        random_state=seed,
    )
    return X, y + X[:, 0]  # task-dependent intercepts


def _stack(X, Y):
    T = Y.shape[1]
    return np.column_stack([np.repeat(np.arange(T), len(X)), np.tile(X, (T, 1))]), (
        Y.T.ravel()
    )


# ---------------------------------------------------------------- scikit-learn
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse_X", [False, True])
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (MultiTaskLasso(alpha=0.05, alpha_intercepts=0), sk.MultiTaskLasso(alpha=0.05)),
        (MultiTaskLasso(alpha=0.5, alpha_intercepts=0), sk.MultiTaskLasso(alpha=0.5)),
        (
            MultiTaskElasticNet(alpha=0.1, l1_ratio=0.6, alpha_intercepts=0),
            sk.MultiTaskElasticNet(alpha=0.1, l1_ratio=0.6),
        ),
    ],
    ids=["lasso-small-alpha", "lasso-large-alpha", "enet"],
)
def test_equals_sklearn_shared_layout(ours, theirs, fit_intercept, sparse_X):
    X, Y = _shared()
    ref = theirs.set_params(fit_intercept=fit_intercept, tol=1e-14, max_iter=10**6)
    ref.fit(X, Y)
    Xf = sp.csr_matrix(X) if sparse_X else X
    # a gap of 1e-12 bounds the coefficients' error only by ~1e-6 here (weak strong
    # convexity): solve further than the reference to compare at 1e-6
    est = ours.set_params(fit_intercept=fit_intercept, tol=1e-15).fit(Xf, Y)
    assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    assert_allclose(est.intercept_, ref.intercept_, atol=1e-6)
    assert_allclose(est.predict(Xf), ref.predict(X), atol=1e-6)
    support = (np.abs(est.coef_).sum(axis=0) > 0).sum()
    assert 0 < support <= X.shape[1]
    if est.alpha == 0.5:  # the large alpha drops features: a real selection
        assert support < X.shape[1]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (MultiTaskLasso(alpha=0.05, alpha_intercepts=0), sk.Lasso(alpha=0.05)),
        (
            MultiTaskElasticNet(alpha=0.05, l1_ratio=0.3, alpha_intercepts=0),
            sk.ElasticNet(alpha=0.05, l1_ratio=0.3),
        ),
        (
            MultiTaskSparseGroupLasso(alpha=0.05, l1_ratio=0.4, alpha_intercepts=0),
            sk.Lasso(alpha=0.05),
        ),
    ],
    ids=["lasso", "enet", "sgl"],
)
def test_one_task_equals_sklearn_single_task(ours, theirs):
    X, Y = _shared(T=1)
    y = Y.ravel()
    ref = theirs.set_params(tol=TIGHT, max_iter=100000).fit(X, y)
    est = ours.set_params(tol=TIGHT).fit(X, y)
    assert_allclose(est.coef_.ravel(), ref.coef_, atol=1e-6)
    assert_allclose(est.intercept_[0], ref.intercept_, atol=1e-6)
    assert_allclose(est.predict(X), ref.predict(X), atol=1e-6)


def test_cv_equals_sklearn_multitask_lasso_cv():
    X, Y = _shared(n=80)
    cv = KFold(4)
    # scikit-learn < 1.7 names the grid size n_alphas (an int alphas from 1.7 on)
    grid = {"n_alphas": 12} if SKLEARN_VERSION < (1, 7) else {"alphas": 12}
    ref = sk.MultiTaskLassoCV(cv=cv, tol=TIGHT, max_iter=100000, **grid).fit(X, Y)
    est = MultiTaskLassoCV(alphas=12, cv=cv, tol=TIGHT).fit(X, Y)
    assert_allclose(est.alphas_, ref.alphas_, rtol=1e-10)
    assert_allclose(est.mse_path_, ref.mse_path_, rtol=1e-6)
    assert est.alpha_ == pytest.approx(ref.alpha_)
    assert_allclose(est.coef_, ref.coef_, atol=1e-6)


# ---------------------------------------------------------------- layouts
MODELS = [
    MultiTaskLasso(alpha=0.05),
    MultiTaskElasticNet(alpha=0.05, l1_ratio=0.5),
    MultiTaskSparseGroupLasso(alpha=0.05, l1_ratio=0.3),
    DirtyMultiTaskLasso(alpha_shared=0.08, alpha_specific=0.05),
]
IDS = [type(m).__name__ for m in MODELS]


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@pytest.mark.parametrize("sparse_X", [False, True])
def test_stacked_identical_rows_equals_shared(model, sparse_X):
    X, Y = _shared()
    sw = np.random.default_rng(0).uniform(0.5, 2, len(X))
    Xs, ys = _stack(X, Y)
    if sparse_X:
        X, Xs = sp.csr_matrix(X), sp.csc_matrix(Xs)
    shared = model.set_params(tol=TIGHT, task_column=None).fit(X, Y, sample_weight=sw)
    stacked = (
        model.__class__(**model.get_params())
        .set_params(task_column=0)
        .fit(Xs, ys, sample_weight=np.tile(sw, Y.shape[1]))
    )
    assert_allclose(stacked.coef_, shared.coef_, atol=1e-7)
    assert_allclose(stacked.intercept_, shared.intercept_, atol=1e-7)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_missing_targets_equal_stacked_observed_entries(model):
    X, Y = _shared(n=50)
    rng = np.random.default_rng(1)
    Y = np.where(rng.random(Y.shape) < 0.3, np.nan, Y)
    shared = model.set_params(tol=TIGHT, task_column=None).fit(X, Y)
    rows, tasks = np.nonzero(~np.isnan(Y))
    Xs = np.column_stack([tasks, X[rows]])
    stacked = (
        model.__class__(**model.get_params())
        .set_params(task_column=0)
        .fit(Xs, Y[rows, tasks])
    )
    assert_allclose(stacked.coef_, shared.coef_, atol=1e-7)
    assert_allclose(stacked.intercept_, shared.intercept_, atol=1e-7)
    pred = shared.predict(X)
    assert pred.shape == Y.shape and np.all(np.isfinite(pred))


def test_float32_matches_float64_and_keeps_dtype():
    X, y = _stacked()
    est64 = MultiTaskLasso(alpha=0.05, task_column=0, tol=1e-8).fit(X, y)
    est32 = MultiTaskLasso(alpha=0.05, task_column=0, tol=1e-6)
    est32.fit(X.astype(np.float32), y.astype(np.float32))
    assert est32.coef_.dtype == np.float32
    assert est32.predict(X.astype(np.float32)).dtype == np.float32
    assert_allclose(est32.coef_, est64.coef_, atol=1e-3)


# ---------------------------------------------------------------- certificates
def _problem(est, X, y, sample_weight=None):
    """Engine view of a fitted model's problem (for independent gap checks)."""
    data = validate_fit_data(est.__class__(**est.get_params()), X, y, sample_weight)
    return MultiTaskDesign(data, center=est.fit_intercept)


@pytest.mark.parametrize("layout", ["shared", "stacked", "stacked-sparse"])
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
@pytest.mark.parametrize(
    "model, penalty",
    [
        (MultiTaskLasso(alpha=0.05, alpha_intercepts=0), L21(0.05)),
        (
            MultiTaskElasticNet(alpha=0.05, l1_ratio=0.4, alpha_intercepts=0),
            L21Ridge(0.05, 0.4),
        ),
    ],
    ids=["lasso", "enet"],
)
def test_gap_below_tol_at_exit_and_kkt(model, penalty, tol, layout):
    if layout == "shared":
        X, y = _shared()
        model.set_params(task_column=None)
    else:
        X, y = _stacked()
        X = sp.csr_matrix(X) if layout == "stacked-sparse" else X
        model.set_params(task_column=0)
    est = model.set_params(tol=tol).fit(X, y)
    design = _problem(est, X, y)
    gap, primal, _ = duality_gap(design, Quadratic(), penalty, est.coef_)
    scale = null_scale(design, Quadratic(), False)
    assert gap == pytest.approx(est.dual_gap_, rel=1e-6, abs=1e-12)
    assert -1e-12 <= gap <= tol * scale
    # KKT: A_j* Theta = alpha w_j / ||w_j|| (+ ridge) on the support, <= alpha off it
    Theta = design.omega * (design.Y - design.forward(est.coef_))
    V = design.adjoint(Theta)
    lam = penalty.alpha if isinstance(penalty, L21) else penalty._l21.alpha
    ridge = 0.0 if isinstance(penalty, L21) else penalty._ridge
    norms = np.linalg.norm(est.coef_, axis=0)
    on = norms > 0
    # the gap bounds the distance to the dual optimum; a computed gap cannot
    # resolve less than the rounding of the primal (16 eps |P|; a gap at rounding
    # level may even be a tiny negative number), which bounds KKT no better than
    # about sqrt(eps): at tol=1e-8 the solver may stop there (enet, stacked: gap
    # -1e-16, KKT residual 1.6e-9)
    gap_eff = max(gap, 0.0) + 16 * np.finfo(float).eps * abs(primal)
    slack = np.sqrt(2 * gap_eff * design.omega.max()) * np.abs(design.X).max()
    slack *= 10
    expected = est.coef_[:, on] * (lam / norms[on] + ridge)
    assert_allclose(V[:, on], expected, atol=slack)
    assert np.all(np.linalg.norm(V[:, ~on], axis=0) <= lam + slack)


def test_convergence_warning_and_counts():
    X, y = _stacked()
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = MultiTaskLasso(alpha=0.01, task_column=0, max_iter=2, tol=1e-14).fit(X, y)
    assert est.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = MultiTaskLasso(alpha=0.01, task_column=0, tol=1e-8).fit(X, y)
    assert 1 <= est.n_iter_ < 1000


def test_warm_start_resumes_from_previous_solution():
    X, y = _stacked()
    cold = MultiTaskLasso(alpha=0.02, task_column=0, tol=1e-10).fit(X, y)
    warm = MultiTaskLasso(alpha=0.03, task_column=0, tol=1e-10, warm_start=True)
    warm.fit(X, y).set_params(alpha=0.02).fit(X, y)
    assert_allclose(warm.coef_, cold.coef_, atol=1e-7)
    again = warm.fit(X, y)  # already at the optimum: one certifying pass
    assert again.n_iter_ <= 2 < cold.n_iter_
    assert_allclose(again.coef_, cold.coef_, atol=1e-7)


def test_alpha_max_is_the_threshold():
    X, y = _stacked()
    a = alpha_max(X, y, task_column=0)
    free = {"alpha_intercepts": 0}
    at = MultiTaskLasso(alpha=a, task_column=0, **free).fit(X, y)
    below = MultiTaskLasso(alpha=0.99 * a, task_column=0, tol=TIGHT, **free)
    below.fit(X, y)
    assert not at.coef_.any() and below.coef_.any()
    a_en = alpha_max(X, y, task_column=0, l1_ratio=0.5)
    assert a_en == pytest.approx(2 * a)
    Xc, yc = make_multitask_classification(n_tasks=3, n_samples=40, random_state=0)
    a_log = alpha_max(Xc, yc, task_column=0, loss="logistic")
    assert (
        not MultiTaskLogisticLasso(alpha=a_log, task_column=0, **free)
        .fit(Xc, yc)
        .coef_.any()
    )
    assert (
        MultiTaskLogisticLasso(alpha=0.95 * a_log, task_column=0, **free)
        .fit(Xc, yc)
        .coef_.any()
    )


def test_path_equals_individual_fits():
    X, y = _stacked()
    alphas, coefs, gaps, intercepts, n_iter = multitask_enet_path(
        X,
        y,
        task_column=0,
        l1_ratio=0.7,
        alphas=6,
        tol=1e-14,
        return_intercept=True,
        return_n_iter=True,
    )
    assert np.all(np.diff(alphas) < 0) and coefs.shape == (4, 12, 6)
    for k in [0, 3, 5]:
        est = MultiTaskElasticNet(
            alpha=alphas[k], l1_ratio=0.7, task_column=0, tol=1e-14, alpha_intercepts=0
        )
        est.fit(X, y)
        assert_allclose(coefs[:, :, k], est.coef_, atol=1e-7)
        assert_allclose(intercepts[:, k], est.intercept_, atol=1e-7)
    assert not coefs[:, :, 0].any() and n_iter.min() >= 1
    a2, c2, _ = multitask_lasso_path(X, y, task_column=0, alphas=alphas[::-1])
    assert_allclose(a2, alphas)


def test_cv_defaults_to_task_stratified_folds_and_refits():
    X, y = _stacked()
    est = MultiTaskElasticNetCV(l1_ratio=[0.3, 1.0], alphas=6, task_column=0).fit(X, y)
    assert est.mse_path_.shape == (2, 6, 5)
    assert est.alpha_ in est.alphas_[list([0.3, 1.0]).index(est.l1_ratio_)]
    ref = MultiTaskElasticNet(
        alpha=est.alpha_, l1_ratio=est.l1_ratio_, task_column=0, alpha_intercepts=0
    )
    assert_allclose(est.coef_, ref.fit(X, y).coef_, atol=1e-5)
    bad = [(np.flatnonzero(X[:, 0] != 0), np.flatnonzero(X[:, 0] == 0))]
    with pytest.raises(ValueError, match="TaskStratifiedKFold"):
        MultiTaskLassoCV(alphas=3, cv=bad, task_column=0).fit(X, y)


# ---------------------------------------------------------------- cvxpy oracles
def _task_lists(X, y, task):
    return [(X[task == t], y[task == t]) for t in np.unique(task)]


def _cvx_solve(tasks, d, penalty, kind="squared"):
    T = len(tasks)
    W, b = cp.Variable((T, d)), cp.Variable(T)
    extra = penalty(W)
    pen, variables = extra if isinstance(extra, tuple) else (extra, None)
    loss = 0
    for t, (Xt, yt) in enumerate(tasks):
        z = Xt @ W[t] + b[t]
        if kind == "squared":
            loss += cp.sum_squares(yt - z) / (2 * len(yt))
        else:
            loss += cp.sum(cp.logistic(-cp.multiply(2 * yt - 1, z))) / len(yt)
    prob = cp.Problem(cp.Minimize(loss + pen))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11)
    return W.value, b.value, prob.value, variables


def _objective(tasks, W, b, pen_value, kind="squared"):
    total = pen_value
    for t, (Xt, yt) in enumerate(tasks):
        z = Xt @ W[t] + b[t]
        if kind == "squared":
            total += np.mean((yt - z) ** 2) / 2
        else:
            total += np.mean(np.logaddexp(0, -(2 * yt - 1) * z))
    return total


def test_sparse_group_lasso_equals_cvxpy():
    X, y = _stacked(d=8)
    task = X[:, 0].astype(int)
    a, r = 0.06, 0.4
    est = MultiTaskSparseGroupLasso(
        alpha=a, l1_ratio=r, task_column=0, tol=TIGHT, alpha_intercepts=0
    )
    est.fit(X, y)
    tasks = _task_lists(X[:, 1:], y, task)
    W, b, obj, _ = _cvx_solve(
        tasks,
        8,
        lambda W: a * r * cp.sum(cp.abs(W)) + a * (1 - r) * cp.sum(cp.norm(W, 2, 0)),
    )
    pen = (
        a * r * np.abs(est.coef_).sum()
        + a * (1 - r) * np.linalg.norm(est.coef_, axis=0).sum()
    )
    assert _objective(tasks, est.coef_, est.intercept_, pen) <= obj + 1e-9
    assert_allclose(est.coef_, W, atol=1e-5)
    assert_allclose(est.intercept_, b, atol=1e-5)
    # both sparsity patterns appear: a zero column and a zero entry in a used column
    used = np.abs(est.coef_).sum(axis=0) > 0
    assert (~used).any() and (est.coef_[:, used] == 0).any()


def test_dirty_model_equals_cvxpy():
    X, y = _stacked(d=6)
    task = X[:, 0].astype(int)
    a_s, a_b = 0.08, 0.05
    est = DirtyMultiTaskLasso(a_s, a_b, task_column=0, tol=TIGHT, alpha_intercepts=0)
    est.fit(X, y)
    tasks = _task_lists(X[:, 1:], y, task)

    def penalty(W):
        P = cp.Variable(W.shape)
        return (
            a_s * cp.sum(cp.norm(P, 2, 0)) + a_b * cp.sum(cp.abs(W - P)),
            P,
        )

    W, b, obj, _ = _cvx_solve(tasks, 6, penalty)
    P, Q = est.coef_group_, est.coef_specific_
    pen = a_s * np.linalg.norm(P, axis=0).sum() + a_b * np.abs(Q).sum()
    assert _objective(tasks, est.coef_, est.intercept_, pen) <= obj + 1e-9
    assert_allclose(est.coef_, W, atol=1e-5)
    assert_allclose(est.coef_, P + Q)
    assert np.any(P != 0) and np.any(Q != 0)


def test_dirty_model_limits():
    X, y = _stacked(d=6)
    big = 1e3
    only_shared = DirtyMultiTaskLasso(0.05, big, task_column=0, tol=TIGHT).fit(X, y)
    lasso = MultiTaskLasso(0.05, task_column=0, tol=TIGHT).fit(X, y)
    assert not only_shared.coef_specific_.any()
    assert_allclose(only_shared.coef_, lasso.coef_, atol=1e-8)
    only_specific = DirtyMultiTaskLasso(
        big, 0.05, task_column=0, tol=TIGHT, alpha_intercepts=0
    ).fit(X, y)
    assert not only_specific.coef_group_.any()
    for t in range(4):
        rows = X[:, 0] == t
        ref = sk.Lasso(alpha=0.05, tol=TIGHT, max_iter=100000).fit(X[rows, 1:], y[rows])
        assert_allclose(only_specific.coef_[t], ref.coef_, atol=1e-6)


@pytest.mark.parametrize("layout", ["stacked", "shared-missing"])
def test_logistic_lasso_equals_cvxpy(layout):
    X, y = make_multitask_classification(
        n_tasks=3,
        n_samples=50,
        n_features=6,
        n_informative=3,
        noise=1.0,
        random_state=0,
        layout="stacked" if layout == "stacked" else "shared",
    )
    a = 0.03
    if layout == "stacked":
        task = X[:, 0].astype(int)
        tasks = _task_lists(X[:, 1:], y, task)
        est = MultiTaskLogisticLasso(
            alpha=a, task_column=0, tol=TIGHT, alpha_intercepts=0
        ).fit(X, y)
    else:
        Y = y.astype(float)
        Y[np.random.default_rng(0).random(Y.shape) < 0.2] = np.nan
        tasks = [(X[~np.isnan(c)], c[~np.isnan(c)]) for c in Y.T]
        est = MultiTaskLogisticLasso(alpha=a, tol=TIGHT, alpha_intercepts=0).fit(X, Y)
    W, b, obj, _ = _cvx_solve(
        tasks, 6, lambda W: a * cp.sum(cp.norm(W, 2, 0)), kind="logistic"
    )
    pen = a * np.linalg.norm(est.coef_, axis=0).sum()
    assert _objective(tasks, est.coef_, est.intercept_, pen, "logistic") <= obj + 1e-9
    assert_allclose(est.coef_, W, atol=1e-5)
    assert_allclose(est.intercept_, b, atol=1e-5)
    assert est.dual_gap_ <= TIGHT * 2 * np.log(2) * 3


def test_logistic_lasso_labels_probabilities_and_gap():
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, random_state=1)
    labels = np.array(["no", "yes"])[y]
    est = MultiTaskLogisticLasso(
        alpha=0.02, task_column=0, tol=1e-8, alpha_intercepts=0
    )
    est.fit(X, labels)
    assert_array_equal(est.classes_, ["no", "yes"])
    proba = est.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    pred = est.predict(X)
    assert_array_equal(pred, np.where(est.decision_function(X) > 0, "yes", "no"))
    assert_array_equal(pred == "yes", proba[:, 1] > 0.5)
    assert est.score(X, labels) > 0.8
    data = validate_fit_data(
        MultiTaskLogisticLasso(task_column=0), X, labels, classification=True
    )
    data.y = (labels == "yes").astype(float)
    design = MultiTaskDesign(data)
    gap, _, b = duality_gap(design, Logistic(), L21(0.02), est.coef_, est.intercept_)
    assert 0 <= gap <= 1e-8 * null_scale(design, Logistic(), True)
    assert_allclose(b, est.intercept_, atol=1e-6)
