"""Shared + task-specific regression (issue 11) against independent oracles.

Oracles: a dense solve of the joint ridge system in all tasks' coefficients;
scikit-learn's Ridge / RidgeCV on one-hot task dummies (the exact limits);
brute-force leave-one-out refits; finite differences of the REML / ML criterion and
dense ``V = W^-1 + Z D Z'`` formulas; lme4 through the ``mixedlm`` package.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold

from skmtl._optim.mixed import (
    design_with_intercept,
    independent_columns,
    marginal_blocks,
    profiled_deviance,
    task_moments,
)
from skmtl.linear_model import (
    BayesianHierarchicalRegression,
    HierarchicalRidge,
    HierarchicalRidgeCV,
)

INF = np.inf


def grouped_data(seed=0, sizes=(3, 8, 15, 5, 30, 1), d=3, slope_sd=0.6, icpt_sd=1.0):
    """Stacked rows (task column first) of tasks with different sizes."""
    rng = np.random.RandomState(seed)
    T = len(sizes)
    task = np.repeat(np.arange(T), sizes)
    X = rng.randn(len(task), d) + 0.5
    w0 = rng.randn(d)
    W = w0 + slope_sd * rng.randn(T, d)
    b = 1.0 + icpt_sd * rng.randn(T)
    y = np.einsum("ij,ij->i", X, W[task]) + b[task] + 0.5 * rng.randn(len(task))
    sw = rng.uniform(0.5, 2.0, len(task))
    return np.column_stack([task, X]), y, sw, task, X


def joint_design(task, X, T):
    """Rows [1, x, e_t, e_t (x) x] of the joint (T p + p) ridge problem."""
    n, d = X.shape
    onehot = np.zeros((n, T))
    onehot[np.arange(n), task] = 1.0
    inter = (onehot[:, :, None] * X[:, None, :]).reshape(n, T * d)
    return onehot, inter


def dense_ridge(task, X, y, sw, a_shared, a_slopes, a_int, T):
    """Solve the normal equations of the joint system directly (oracle)."""
    n, d = X.shape
    onehot, inter = joint_design(task, X, T)
    Phi = np.column_stack([np.ones(n), X, onehot, inter])
    pen = np.concatenate(
        [[0.0], np.full(d, a_shared), np.full(T, a_int), np.tile(a_slopes, T)]
    )
    lhs = Phi.T @ (Phi * sw[:, None]) + np.diag(pen)
    theta = np.linalg.solve(lhs, Phi.T @ (sw * y))
    b0, w0 = theta[0], theta[1 : d + 1]
    c, v = theta[d + 1 : d + 1 + T], theta[d + 1 + T :].reshape(T, d)
    return b0, w0, c, v, Phi, lhs


# --------------------------------------------------------------------------- ridge
@pytest.mark.parametrize(
    "a_shared, a_slopes, a_int",
    [(1.0, 2.0, 0.5), (0.3, [0.1, 5.0, 40.0], 3.0), (0.0, 1.0, 1.0)],
)
def test_ridge_closed_form_equals_dense_joint_solve(a_shared, a_slopes, a_int):
    Xs, y, sw, task, X = grouped_data()
    T, d = task.max() + 1, X.shape[1]
    model = HierarchicalRidge(a_shared, a_slopes, a_int, task_column=0)
    model.fit(Xs, y, sample_weight=sw)
    b0, w0, c, v, *_ = dense_ridge(
        task, X, y, sw, a_shared, np.broadcast_to(a_slopes, (d,)), a_int, T
    )
    tol = dict(rtol=1e-8, atol=1e-10)
    assert_allclose(model.intercept_shared_, b0, **tol)
    assert_allclose(model.coef_shared_, w0, **tol)
    assert_allclose(model.intercept_deviations_, c, **tol)
    assert_allclose(model.coef_deviations_, v, **tol)
    assert_allclose(model.coef_, w0 + v, **tol)
    assert_allclose(model.intercept_, b0 + c, **tol)


def _scaled_dummies(task, X, T, a_int=None, a_slopes=None, a_shared=None):
    """[x / sqrt(a_shared), onehot / sqrt(a_int), onehot (x) x / sqrt(a_slopes)]:
    Ridge(alpha=1) on it penalises each block by its own strength."""
    onehot, inter = joint_design(task, X, T)
    blocks = []
    if a_shared is not None:
        blocks.append(X / np.sqrt(a_shared))
    if a_int is not None:
        blocks.append(onehot / np.sqrt(a_int))
    if a_slopes is not None:
        blocks.append(inter / np.sqrt(a_slopes))
    return np.column_stack(blocks)


def test_limit_pooled_slopes_is_ridge_with_task_dummies():
    Xs, y, sw, task, X = grouped_data(1)
    T = task.max() + 1
    model = HierarchicalRidge(0.7, INF, 2.0, task_column=0).fit(Xs, y, sw)
    D = _scaled_dummies(task, X, T, a_int=2.0, a_shared=0.7)
    ridge = Ridge(alpha=1.0, solver="cholesky").fit(D, y, sample_weight=sw)
    assert_allclose(model.predict(Xs), ridge.predict(D), rtol=1e-8, atol=1e-10)
    assert_allclose(model.coef_deviations_, 0.0, atol=0)
    assert_allclose(model.coef_, np.tile(model.coef_shared_, (T, 1)), rtol=1e-12)
    # the same model with RidgeCV's exact LOO on the dummies: equal criteria
    cv = HierarchicalRidgeCV([0.7], [INF], [0.7], task_column=0).fit(Xs, y)
    D = _scaled_dummies(task, X, T, a_int=1.0, a_shared=1.0)
    rcv = RidgeCV(alphas=[0.7], store_cv_results=True).fit(D, y)
    assert_allclose(cv.best_score_, rcv.cv_results_.mean(), rtol=1e-8)


def test_limit_everything_pooled_is_one_ridge():
    Xs, y, sw, task, X = grouped_data(2)
    model = HierarchicalRidge(3.0, INF, INF, task_column=0).fit(Xs, y, sw)
    ridge = Ridge(alpha=3.0, solver="cholesky").fit(X, y, sample_weight=sw)
    assert_allclose(model.coef_shared_, ridge.coef_, rtol=1e-8)
    assert_allclose(model.intercept_shared_, ridge.intercept_, rtol=1e-8)
    assert_allclose(model.predict(Xs), ridge.predict(X), rtol=1e-8)
    assert_allclose(model.shrinkage_, 1.0)


def test_limit_no_shared_weights_is_ridge_per_task_with_shrunken_intercepts():
    Xs, y, sw, task, X = grouped_data(3)
    T = task.max() + 1
    model = HierarchicalRidge(INF, 0.4, 5.0, task_column=0).fit(Xs, y, sw)
    assert_allclose(model.coef_shared_, 0.0, atol=0)
    D = _scaled_dummies(task, X, T, a_int=5.0, a_slopes=0.4)
    ridge = Ridge(alpha=1.0, solver="cholesky").fit(D, y, sample_weight=sw)
    assert_allclose(model.predict(Xs), ridge.predict(D), rtol=1e-8, atol=1e-10)


def test_limit_independent_tasks_is_ridge_per_task():
    # alpha_shared = inf and nearly free intercepts: one sklearn Ridge per task.
    # The intercept offsets carry a penalty 1e-9, which moves each task's solution
    # by O(1e-9 / n_t) relative: 1e-7 leaves room for the conditioning of the blocks.
    Xs, y, sw, task, X = grouped_data(4, sizes=(6, 9, 20, 12))
    model = HierarchicalRidge(INF, 0.8, 1e-9, task_column=0).fit(Xs, y, sw)
    for t in range(task.max() + 1):
        rows = task == t
        ridge = Ridge(alpha=0.8).fit(X[rows], y[rows], sample_weight=sw[rows])
        assert_allclose(model.coef_[t], ridge.coef_, rtol=1e-7, atol=1e-8)
        assert_allclose(model.intercept_[t], ridge.intercept_, rtol=1e-7, atol=1e-8)


def test_shrinkage_larger_for_smaller_tasks():
    Xs, y, _, task, _ = grouped_data(5, sizes=(2, 50, 10))
    model = HierarchicalRidge(1.0, 2.0, 2.0, task_column=0).fit(Xs, y)
    s = model.shrinkage_[:, 0]
    assert np.all((model.shrinkage_ > 0) & (model.shrinkage_ < 1))
    assert s[0] > s[2] > s[1]


# --------------------------------------------------------------------------- CV
def _loo_brute_force(Xs, y, sw, alphas):
    errs = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        m = HierarchicalRidge(*alphas, task_column=0, unseen_task="shared")
        m.fit(Xs[keep], y[keep], sample_weight=sw[keep])
        errs[i] = y[i] - m.predict(Xs[i : i + 1])[0]
    return float(sw @ errs**2 / sw.sum())


@pytest.mark.parametrize(
    "alphas", [(1.0, 2.0, 0.5), (0.0, 0.3, 4.0), (INF, 1.0, 1.0), (0.5, INF, 2.0)]
)
def test_loo_criterion_equals_brute_force_refits(alphas):
    # the last task has a single row: its leave-one-out prediction is the shared
    # model, which the hat-matrix formula must reproduce too
    Xs, y, sw, *_ = grouped_data(6, sizes=(4, 7, 10, 1))
    cv = HierarchicalRidgeCV(*[[a] for a in alphas], task_column=0)
    cv.fit(Xs, y, sample_weight=sw)
    assert_allclose(cv.best_score_, _loo_brute_force(Xs, y, sw, alphas), rtol=1e-8)


def test_gcv_criterion_equals_dense_hat_matrix():
    Xs, y, sw, task, X = grouped_data(7)
    T, d = task.max() + 1, X.shape[1]
    alphas = (0.6, 1.5, 0.8)
    cv = HierarchicalRidgeCV(*[[a] for a in alphas], criterion="gcv", task_column=0)
    cv.fit(Xs, y, sample_weight=sw)
    *_, Phi, lhs = dense_ridge(task, X, y, sw, alphas[0], np.full(d, 1.5), 0.8, T)
    hat = Phi @ np.linalg.solve(lhs, Phi.T * sw)
    e = y - hat @ y
    n = sw.sum()
    gcv = (sw @ e**2 / n) / (1 - np.trace(hat) / n) ** 2
    assert_allclose(cv.best_score_, gcv, rtol=1e-8)


def test_kfold_criterion_equals_refits():
    Xs, y, sw, *_ = grouped_data(8, sizes=(10, 12, 9))
    alphas = (0.5, 2.0, 1.0)
    folds = KFold(3, shuffle=True, random_state=0)
    cv = HierarchicalRidgeCV(*[[a] for a in alphas], cv=folds, task_column=0)
    cv.fit(Xs, y, sample_weight=sw)
    total = 0.0
    for train, test in folds.split(Xs):
        m = HierarchicalRidge(*alphas, task_column=0).fit(
            Xs[train], y[train], sw[train]
        )
        total += sw[test] @ (y[test] - m.predict(Xs[test])) ** 2
    assert_allclose(cv.best_score_, total / sw.sum(), rtol=1e-10)


def test_cv_selects_minimum_of_its_records_and_refits():
    Xs, y, sw, *_ = grouped_data(9)
    cv = HierarchicalRidgeCV(task_column=0).fit(Xs, y, sw)
    res = cv.cv_results_
    assert cv.best_score_ == pytest.approx(res["criterion"].min(), rel=1e-12)
    ref = HierarchicalRidge(
        cv.alpha_shared_, cv.alpha_slopes_, cv.alpha_intercepts_, task_column=0
    ).fit(Xs, y, sw)
    assert_allclose(cv.coef_, ref.coef_, rtol=1e-12)
    # the limits are on the grid
    assert np.isinf(res["alpha_slopes"]).any() and np.isinf(res["alpha_shared"]).any()


def test_cv_reaches_pooled_when_tasks_are_identical():
    # every task has the same rows and targets: any task deviation only adds
    # variance, so leave-one-out must choose pooled slopes and one intercept
    # (up to strengths so large they are pooled to the criterion's precision)
    rng = np.random.RandomState(0)
    X1 = rng.randn(12, 2)
    y1 = X1 @ [1.0, -2.0] + rng.randn(12)
    Xs = np.column_stack([np.repeat(np.arange(5), 12), np.tile(X1, (5, 1))])
    cv = HierarchicalRidgeCV(task_column=0).fit(Xs, np.tile(y1, 5))
    assert cv.alpha_slopes_ > 1e3 and cv.alpha_intercepts_ > 1e3
    assert np.all(cv.shrinkage_ > 0.99)


# --------------------------------------------------------------------------- EB
def _problem(seed=0, aliased=False):
    Xs, y, sw, task, X = grouped_data(seed, sizes=(5, 9, 14, 7, 20, 11))
    if aliased:
        X = np.column_stack([X, X[:, 0] - 2 * X[:, 1]])
    Z = design_with_intercept(X)
    T = task.max() + 1
    return Z, y, sw, task, T


def _dense_deviance(theta, Z, y, sw, task, T, F, method):
    """-2 log-likelihood up to constants, from dense V_t = W^-1 + Z_t D Z_t'."""
    D = np.diag(theta**2)
    n = sw.sum()
    Vinv, logdet = [], 0.0
    for t in range(T):
        r = task == t
        V = np.diag(1 / sw[r]) + Z[r] @ D @ Z[r].T
        Vinv.append(np.linalg.inv(V))
        logdet += np.linalg.slogdet(V)[1] + np.log(sw[r]).sum()
    A = sum(Z[task == t][:, F].T @ Vinv[t] @ Z[task == t][:, F] for t in range(T))
    b = sum(Z[task == t][:, F].T @ Vinv[t] @ y[task == t] for t in range(T))
    beta = np.linalg.solve(A, b)
    rss = sum(
        (y[task == t] - Z[task == t][:, F] @ beta)
        @ Vinv[t]
        @ (y[task == t] - Z[task == t][:, F] @ beta)
        for t in range(T)
    )
    if method == "ML":
        return n * np.log(rss) + logdet
    return (n - len(F)) * np.log(rss) + logdet + np.linalg.slogdet(A)[1]


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("aliased", [False, True])
def test_deviance_equals_dense_formula(method, aliased):
    Z, y, sw, task, T = _problem(10, aliased)
    mom = task_moments(Z, y, sw, task, T)
    F = independent_columns(Z, sw)
    assert len(F) == Z.shape[1] - aliased
    theta = np.random.RandomState(0).uniform(0.2, 1.5, Z.shape[1])
    free = np.arange(Z.shape[1])
    f, _ = profiled_deviance(theta, mom, F, method, free, sw.sum())
    assert_allclose(f, _dense_deviance(theta, Z, y, sw, task, T, F, method), rtol=1e-10)


@pytest.mark.parametrize("method", ["REML", "ML"])
@pytest.mark.parametrize("aliased", [False, True])
def test_deviance_gradient_equals_finite_differences(method, aliased):
    Z, y, sw, task, T = _problem(11, aliased)
    mom = task_moments(Z, y, sw, task, T)
    F = independent_columns(Z, sw)
    free = np.array([0, 1, 3])
    theta = np.array([0.7, 0.3, 1.2])
    args = (mom, F, method, free, sw.sum())
    _, grad = profiled_deviance(theta, *args)
    h = 1e-6
    fd = np.array(
        [
            (
                profiled_deviance(theta + h * e, *args, gradient=False)
                - profiled_deviance(theta - h * e, *args, gradient=False)
            )
            / (2 * h)
            for e in np.eye(len(theta))
        ]
    )
    # central differences: truncation O(h^2) and rounding O(eps |f| / h) ~ 1e-8
    assert_allclose(grad, fd, rtol=1e-5, atol=1e-6)


def _lme4_data(seed=0, T=15, nt=25):
    rng = np.random.RandomState(seed)
    task = np.repeat(np.arange(T), nt)
    X = rng.randn(T * nt, 2)
    slopes = np.array([1.0, -0.5]) + rng.randn(T, 2) * np.array([0.7, 0.4])
    ints = 0.3 + rng.randn(T) * 0.8
    y = ints[task] + np.einsum("ij,ij->i", X, slopes[task]) + 0.5 * rng.randn(T * nt)
    return task, X, y


@pytest.mark.parametrize(
    "random_slopes, reml", [(True, True), (False, True), (True, False)]
)
def test_matches_lme4(random_slopes, reml):
    mixedlm = pytest.importorskip("mixedlm")
    pd = pytest.importorskip("pandas")
    task, X, y = _lme4_data()
    df = pd.DataFrame({"y": y, "x1": X[:, 0], "x2": X[:, 1], "g": task.astype(str)})
    re = "(1 + x1 + x2 || g)" if random_slopes else "(1 | g)"
    ref = mixedlm.lmer(f"y ~ x1 + x2 + {re}", df, REML=reml)
    est = BayesianHierarchicalRegression(
        method="REML" if reml else "ML", random_slopes=random_slopes, task_column=0
    ).fit(np.column_stack([task, X]), y)
    theta = est.theta_ if random_slopes else est.theta_[:1]
    # lme4 stops its optimiser at ~1e-6 on the deviance; 1e-3 is the target
    assert_allclose(theta, ref.theta, rtol=1e-3)
    assert_allclose(
        np.r_[est.intercept_shared_, est.coef_shared_], ref.beta, rtol=1e-3, atol=1e-4
    )
    assert_allclose(np.sqrt(est.noise_variance_), ref.sigma, rtol=1e-3)
    assert_allclose(est.predict(np.column_stack([task, X])), ref.fitted(), atol=1e-3)
    crit = ref.REMLcrit() if reml else ref.deviance
    crit = crit() if callable(crit) else crit
    assert_allclose(-2 * est.log_marginal_likelihood_, crit, rtol=1e-6)
    assert not est.singular_


def test_singular_fit_returns_boundary_solution_with_note():
    # identical tasks: no between-task variation, so every component is at 0 and the
    # model is pooled ordinary least squares (statsmodels' MixedLM errors here)
    rng = np.random.RandomState(0)
    X1 = rng.randn(15, 2)
    y1 = X1 @ [1.0, 2.0] + rng.randn(15)
    Xs = np.column_stack([np.repeat(np.arange(4), 15), np.tile(X1, (4, 1))])
    y = np.tile(y1, 4)
    est = BayesianHierarchicalRegression(task_column=0).fit(Xs, y)
    assert est.singular_ and "boundary" in est.convergence_note_
    assert_allclose(est.theta_, 0.0, atol=1e-4)
    ols = np.linalg.lstsq(design_with_intercept(X1), y1, rcond=None)[0]
    assert_allclose(np.r_[est.intercept_shared_, est.coef_shared_], ols, atol=1e-6)
    assert_allclose(est.shrinkage_, 1.0, atol=1e-6)


def test_aliased_fixed_effect_is_dropped_like_lme4():
    task, X, y = _lme4_data(1, T=8, nt=20)
    Xa = np.column_stack([X, X[:, 0] + 2 * X[:, 1]])
    a = BayesianHierarchicalRegression(random_slopes=False, task_column=0)
    b = BayesianHierarchicalRegression(random_slopes=False, task_column=0)
    a.fit(np.column_stack([task, Xa]), y)
    b.fit(np.column_stack([task, X]), y)
    assert a.coef_shared_[2] == 0.0
    assert_allclose(
        a.predict(np.column_stack([task, Xa])),
        b.predict(np.column_stack([task, X])),
        rtol=1e-6,
    )
    assert_allclose(a.intercept_variance_, b.intercept_variance_, rtol=1e-6)


def test_blups_are_posterior_means_of_the_dense_model():
    # u_t = D Z_t' V_t^-1 (y_t - Z_t beta) at the fitted components
    task, X, y = _lme4_data(2, T=6, nt=12)
    est = BayesianHierarchicalRegression(task_column=0).fit(
        np.column_stack([task, X]), y
    )
    Z = design_with_intercept(X)
    beta = np.r_[est.intercept_shared_, est.coef_shared_]
    D = np.diag(est.theta_**2)
    for t in range(6):
        r = task == t
        V = np.eye(r.sum()) + Z[r] @ D @ Z[r].T
        u = D @ Z[r].T @ np.linalg.solve(V, y[r] - Z[r] @ beta)
        assert_allclose(
            np.r_[est.intercept_deviations_[t], est.coef_deviations_[t]],
            u,
            rtol=1e-8,
            atol=1e-10,
        )
        K = D @ Z[r].T @ np.linalg.solve(V, Z[r])
        assert_allclose(est.shrinkage_[t], 1 - np.diag(K), rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------- all
ALL = [
    HierarchicalRidge(0.5, 2.0, 1.0),
    HierarchicalRidgeCV(criterion="gcv"),
    BayesianHierarchicalRegression(),
    BayesianHierarchicalRegression(method="ML", random_slopes=False),
]


@pytest.mark.parametrize("est", ALL, ids=lambda e: type(e).__name__)
def test_weight_two_equals_repeated_row(est):
    Xs, y, _, *_ = grouped_data(12)
    sw = np.ones(len(y))
    sw[::3] = 2.0
    rep = np.repeat(np.arange(len(y)), sw.astype(int))
    a = est.set_params(task_column=0).fit(Xs, y, sample_weight=sw)
    pa = a.predict(Xs)
    b = est.fit(Xs[rep], y[rep])
    # closed forms agree to rounding; L-BFGS-B stops at its gradient tolerance
    assert_allclose(pa, b.predict(Xs), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("est", ALL, ids=lambda e: type(e).__name__)
def test_shared_layout_with_missing_equals_stacked(est):
    rng = np.random.RandomState(13)
    X = rng.randn(20, 3)
    Y = X @ rng.randn(3, 4) + rng.randn(4) + 0.3 * rng.randn(20, 4)
    Y[rng.rand(20, 4) < 0.2] = np.nan
    shared = est.set_params(task_column=None).fit(X, Y)
    obs = ~np.isnan(Y)
    t, r = np.nonzero(obs.T)
    Xs = np.column_stack([t, X[r]])
    stacked = type(est)(**{**est.get_params(), "task_column": 0}).fit(Xs, Y[r, t])
    assert_allclose(shared.coef_, stacked.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(shared.predict(X)[r, t], stacked.predict(Xs), rtol=1e-6)


@pytest.mark.parametrize("est", ALL, ids=lambda e: type(e).__name__)
def test_unseen_task(est):
    Xs, y, *_ = grouped_data(14)
    new = Xs[:3].copy()
    new[:, 0] = 99
    fitted = est.set_params(task_column=0, unseen_task="error").fit(Xs, y)
    with pytest.raises(ValueError, match="99"):
        fitted.predict(new)
    fitted.set_params(unseen_task="shared")
    expected = new[:, 1:] @ fitted.coef_shared_ + fitted.intercept_shared_
    mixed = np.vstack([new, Xs[:2]])
    pred = fitted.predict(mixed)
    assert_allclose(pred[:3], expected, rtol=1e-12)
    assert_allclose(pred[3:], fitted.predict(Xs[:2]), rtol=1e-12)


def test_bad_strengths_are_refused():
    Xs, y, *_ = grouped_data(15)
    with pytest.raises(ValueError, match="alpha_slopes"):
        HierarchicalRidge(alpha_slopes=[1.0, 2.0], task_column=0).fit(Xs, y)
    with pytest.raises(ValueError, match="alpha_slopes"):
        HierarchicalRidge(alpha_slopes=[1.0, 0.0, 2.0], task_column=0).fit(Xs, y)
    with pytest.raises(ValueError, match="alphas_intercepts"):
        HierarchicalRidgeCV(alphas_intercepts=[0.0, 1.0], task_column=0).fit(Xs, y)


def test_bayesian_effects_are_the_ridge_at_its_variance_ratios():
    # BLUPs with flat fixed effects are the ridge solution with alpha_shared = 0 and
    # strengths 1 / theta^2 (noise variance 1 units): two estimators, one model
    task, X, y = _lme4_data(3, T=7, nt=15)
    Xs = np.column_stack([task, X])
    eb = BayesianHierarchicalRegression(task_column=0).fit(Xs, y)
    assert np.all(eb.theta_ > 1e-3)
    alphas = 1.0 / eb.theta_**2
    ridge = HierarchicalRidge(0.0, alphas[1:], alphas[0], task_column=0).fit(Xs, y)
    assert_allclose(ridge.coef_, eb.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(ridge.intercept_, eb.intercept_, rtol=1e-8, atol=1e-10)
    assert_allclose(ridge.shrinkage_, eb.shrinkage_, rtol=1e-8, atol=1e-10)


def test_cv_opens_to_near_independent_when_tasks_differ():
    # large tasks with very different slopes and little noise: leave-one-out must
    # leave the slopes nearly free (shrinkage of a slope below 5%)
    rng = np.random.RandomState(1)
    T, nt = 5, 200
    task = np.repeat(np.arange(T), nt)
    X = rng.randn(T * nt, 2)
    W = 3.0 * rng.randn(T, 2)
    y = np.einsum("ij,ij->i", X, W[task]) + 0.1 * rng.randn(T * nt)
    cv = HierarchicalRidgeCV(task_column=0).fit(np.column_stack([task, X]), y)
    assert np.all(cv.shrinkage_[:, 1:] < 0.05)
    assert_allclose(cv.coef_, W, atol=0.05)


def test_deviance_at_huge_scales_is_infinite_not_an_error():
    # 2 rows a task, 14 coefficients: at theta ~ 1e8 the Cholesky factor of
    # I + S G_t S fails numerically (seen on Computer Survey at 10%); the deviance
    # must be +inf there so that L-BFGS-B steps back, and the fit stays bounded
    rng = np.random.RandomState(0)
    T, d = 190, 13
    task = np.repeat(np.arange(T), 2)
    X = rng.choice([-1.0, 1.0], size=(2 * T, d))
    y = rng.randn(2 * T)
    Z = design_with_intercept(X)
    mom = task_moments(Z, y, np.ones(2 * T), task, T)
    F, free = np.arange(d + 1), np.arange(d + 1)
    with pytest.raises(np.linalg.LinAlgError):
        marginal_blocks(mom, np.full(d + 1, 1e10))
    f = profiled_deviance(np.full(d + 1, 1e10), mom, F, "REML", free, 2 * T)
    assert f[0] == np.inf
    est = BayesianHierarchicalRegression(task_column=0).fit(
        np.column_stack([task, X]), y
    )
    assert np.all(np.isfinite(est.predict(np.column_stack([task, X]))))


def test_degenerate_random_slopes_fall_back_to_random_intercepts(monkeypatch):
    # with n_t <= q rows a task the REML/ML criterion is unbounded as the residual
    # variance goes to 0 (lme4 refuses such a model); when the optimiser ends there
    # (seen on Computer Survey, 2 rows a task) the fit falls back to random
    # intercepts with a note. Force the degenerate end on the first optimisation.
    rng = np.random.RandomState(0)
    task = np.repeat(np.arange(30), 4)
    X = rng.randn(120, 3)
    y = X @ [1.0, -1.0, 0.5] + rng.randn(30)[task] + rng.randn(120)
    Xs = np.column_stack([task, X])
    original = BayesianHierarchicalRegression._optimise
    calls = []

    def degenerate_first(self, smom, F, free, n, p):
        out = original(self, smom, F, free, n, p)
        calls.append(len(free))
        return out if len(calls) > 1 else (*out[:5], 0.0)

    monkeypatch.setattr(BayesianHierarchicalRegression, "_optimise", degenerate_first)
    est = BayesianHierarchicalRegression(task_column=0).fit(Xs, y)
    assert calls == [4, 1]
    assert "refitted with random intercepts only" in est.convergence_note_
    assert_allclose(est.slope_variances_, 0.0)
    monkeypatch.undo()
    ref = BayesianHierarchicalRegression(task_column=0, random_slopes=False).fit(Xs, y)
    assert_allclose(est.predict(Xs), ref.predict(Xs), rtol=1e-10)


def _huge_features(seed):
    """Two tasks, features in units ~1e6 (incomes, say), a few rows a task."""
    rng = np.random.default_rng(seed)
    n = rng.integers(6, 14)
    task = rng.integers(0, 2, n)
    task[:2] = [0, 1]
    F = rng.standard_normal((n, 3)) * 1e6
    return np.column_stack([task, F]), rng.standard_normal(n)


def test_features_of_large_values_give_a_clear_error():
    """Features ~1e6 and a 2-row task: at the default strengths the deviations are
    almost unpenalised and the block system loses its definiteness to
    cancellation (lme4 stops there too). The fit raises a LinAlgError, a
    ValueError, that says what to do, instead of numpy's bare one; the input is
    left as it was, and standardised features fit."""
    X, y = _huge_features(30)
    X0 = X.copy()
    with pytest.raises(ValueError, match="large values.*Standardise the features"):
        HierarchicalRidge(task_column=0).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    Xs = X.copy()
    Xs[:, 1:] = (X[:, 1:] - X[:, 1:].mean(axis=0)) / X[:, 1:].std(axis=0)
    assert np.all(np.isfinite(HierarchicalRidge(task_column=0).fit(Xs, y).coef_))
