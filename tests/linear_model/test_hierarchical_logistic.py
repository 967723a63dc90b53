"""Shared + task-specific logistic models against independent oracles.

- HierarchicalLogisticRegression: cvxpy (CLARABEL, interior point) on the same sum-loss
  objective, and scikit-learn's LogisticRegression at the limits;
- HierarchicalLogisticRegressionCV: warm-started path == cold fits; selection on data
  generated pooled / independent;
- BayesianHierarchicalClassifier: a dense brute-force Laplace approximation, finite
  differences of the criterion, lme4's glmer(nAGQ=0) through the ``mixedlm`` port
  (the same criterion) and GPBoost's random-intercept GLMM (a close one).
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from skmtl._optim.mixed_logistic import TaskBlocks
from skmtl.linear_model import (
    BayesianHierarchicalClassifier,
    HierarchicalLogisticRegression,
    HierarchicalLogisticRegressionCV,
)
from skmtl.linear_model._hierarchical_logistic import (
    _fit_penalised,
    _LaplaceModel,
)
from skmtl.model_selection import train_test_split_per_task


def _simulate(T=6, m=25, d=3, slope_sd=0.5, int_sd=0.8, seed=0, sizes=None):
    rng = np.random.RandomState(seed)
    sizes = np.full(T, m) if sizes is None else np.asarray(sizes)
    task = np.repeat(np.arange(T), sizes)
    n = task.size
    x = rng.randn(n, d)
    w0 = rng.randn(d)
    W = w0 + slope_sd * rng.randn(T, d)
    b = 0.3 + int_sd * rng.randn(T)
    eta = np.einsum("ij,ij->i", x, W[task]) + b[task]
    y = (rng.rand(n) < expit(eta)).astype(int)
    return task, x, y


def _objective(task, x, y, sw, beta, U, a_sh, a_sl, a_int):
    theta = beta[None, :] + U
    z = theta[task, 0] + np.einsum("ij,ij->i", x, theta[task, 1:])
    loss = np.sum(sw * (np.logaddexp(0, z) - y * z))
    return (
        loss
        + 0.5 * a_sh * beta[1:] @ beta[1:]
        + 0.5 * np.sum(np.asarray(a_sl) * U[:, 1:] ** 2)
        + 0.5 * a_int * np.sum(U[:, 0] ** 2)
    )


def _cvxpy_solution(task, x, y, sw, a_sh, a_sl, a_int):
    cp = pytest.importorskip("cvxpy")
    T, d = task.max() + 1, x.shape[1]
    b0, w0 = cp.Variable(), cp.Variable(d)
    c, V = cp.Variable(T), cp.Variable((T, d))
    terms = []
    for t in range(T):
        rows = task == t
        z = x[rows] @ (w0 + V[t]) + b0 + c[t]
        terms.append(
            cp.sum(cp.multiply(sw[rows], cp.logistic(z) - cp.multiply(y[rows], z)))
        )
    a_sl = np.broadcast_to(np.asarray(a_sl, float), (d,))
    obj = (
        cp.sum(terms)
        + 0.5 * a_sh * cp.sum_squares(w0)
        + 0.5 * cp.sum(cp.multiply(np.tile(a_sl, (T, 1)), cp.square(V)))
        + 0.5 * a_int * cp.sum_squares(c)
    )
    prob = cp.Problem(cp.Minimize(obj))
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    beta = np.concatenate([[b0.value], w0.value])
    U = np.column_stack([c.value, V.value])
    return beta, U, prob.value


# ------------------------------------------------------------------ penalised model
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_penalised_matches_cvxpy(layout, weighted):
    rng = np.random.RandomState(1)
    a_sh, a_sl, a_int = 0.7, np.array([0.5, 2.0, 1.3]), 1.5
    if layout == "stacked":
        task, x, y = _simulate(T=4, sizes=[8, 15, 25, 30], seed=1)
        sw = rng.uniform(0.3, 2.0, len(y)) if weighted else np.ones(len(y))
        X = np.column_stack([task, x])
        est = HierarchicalLogisticRegression(
            a_sh, a_sl, a_int, task_column=0, tol=1e-14
        ).fit(X, y, sample_weight=sw if weighted else None)
        task_s, x_s, y_s, sw_s = task, x, y, sw
    else:
        T, n = 3, 30
        x = rng.randn(n, 3)
        Y = (rng.rand(n, T) < expit(x @ rng.randn(3, T) + 0.2)).astype(float)
        Y[[0, 5, 9], [0, 1, 2]] = np.nan  # missing labels
        sw = rng.uniform(0.3, 2.0, n) if weighted else np.ones(n)
        est = HierarchicalLogisticRegression(a_sh, a_sl, a_int, tol=1e-14).fit(
            x, Y, sample_weight=sw if weighted else None
        )
        obs = ~np.isnan(Y.T)
        task_s = np.repeat(np.arange(T), obs.sum(axis=1))
        x_s = np.vstack([x[o] for o in obs])
        y_s = np.concatenate([Y[o, t] for t, o in enumerate(obs)])
        sw_s = np.concatenate([sw[o] for o in obs])
    beta, U, value = _cvxpy_solution(task_s, x_s, y_s, sw_s, a_sh, a_sl, a_int)
    # CLARABEL's 1e-12 gaps leave ~1e-7 on the coefficients of this strictly convex
    # problem (curvature >= 0.5); Newton's answer is exact to ~1e-12
    assert_allclose(est.coef_, (beta[1:] + U[:, 1:]), rtol=1e-5, atol=1e-7)
    assert_allclose(est.intercept_, beta[0] + U[:, 0], rtol=1e-5, atol=1e-7)
    assert_allclose(est.coef_shared_, beta[1:], rtol=1e-5, atol=1e-7)
    ours = _objective(
        task_s,
        x_s,
        y_s,
        sw_s,
        np.concatenate([[est.intercept_shared_], est.coef_shared_]),
        np.column_stack([est.intercept_deviations_, est.coef_deviations_]),
        a_sh,
        a_sl,
        a_int,
    )
    assert_allclose(ours, est.objective_, rtol=1e-12)
    assert ours <= value * (1 + 1e-9)
    assert_allclose(ours, value, rtol=1e-7)


def test_limit_pooled_equals_sklearn_logistic():
    task, x, y = _simulate(T=5, seed=2)
    X = np.column_stack([task, x])
    est = HierarchicalLogisticRegression(
        0.8, np.inf, np.inf, task_column=0, tol=1e-14
    ).fit(X, y)
    ref = LogisticRegression(
        C=1 / 0.8, tol=1e-12, max_iter=1000, solver="newton-cholesky"
    ).fit(x, y)
    assert_allclose(est.coef_, np.tile(ref.coef_, (5, 1)), rtol=1e-6, atol=1e-8)
    assert_allclose(est.intercept_, np.full(5, ref.intercept_[0]), rtol=1e-6)
    assert_allclose(est.coef_deviations_, 0.0)


def test_limit_pooled_slopes_equals_logistic_with_task_dummies():
    # alpha_slopes=inf, alpha_shared = alpha_intercepts = a: ridge logistic on
    # [x, one-hot(task)] with a free global intercept
    task, x, y = _simulate(T=5, seed=3)
    X = np.column_stack([task, x])
    est = HierarchicalLogisticRegression(
        0.6, np.inf, 0.6, task_column=0, tol=1e-14
    ).fit(X, y)
    onehot = np.eye(5)[task]
    ref = LogisticRegression(
        C=1 / 0.6, tol=1e-12, max_iter=1000, solver="newton-cholesky"
    )
    ref.fit(np.column_stack([x, onehot]), y)
    assert_allclose(est.coef_shared_, ref.coef_[0, :3], rtol=1e-6)
    assert_allclose(est.intercept_deviations_, ref.coef_[0, 3:], rtol=1e-6, atol=1e-9)
    assert_allclose(est.intercept_shared_, ref.intercept_[0], rtol=1e-6)


def test_limit_independent_equals_per_task_logistic():
    task, x, y = _simulate(T=4, sizes=[12, 20, 30, 40], slope_sd=1.0, seed=4)
    X = np.column_stack([task, x])
    est = HierarchicalLogisticRegression(
        np.inf, 0.9, 0.0, task_column=0, tol=1e-14
    ).fit(X, y)
    assert_allclose(est.coef_shared_, 0.0)
    for t in range(4):
        rows = task == t
        ref = LogisticRegression(
            C=1 / 0.9, tol=1e-12, max_iter=1000, solver="newton-cholesky"
        )
        ref.fit(x[rows], y[rows])
        assert_allclose(est.coef_[t], ref.coef_[0], rtol=1e-6, atol=1e-9)
        assert_allclose(est.intercept_[t], ref.intercept_[0], rtol=1e-6, atol=1e-9)


def test_stacked_equals_shared_with_weights():
    rng = np.random.RandomState(5)
    x = rng.randn(40, 3)
    Y = (rng.rand(40, 3) < expit(x @ rng.randn(3, 3))).astype(int)
    sw = rng.uniform(0.5, 2, 40)
    shared = HierarchicalLogisticRegression(tol=1e-14).fit(x, Y, sample_weight=sw)
    Xs = np.column_stack([np.repeat(np.arange(3), 40), np.tile(x, (3, 1))])
    stacked = HierarchicalLogisticRegression(task_column=0, tol=1e-14).fit(
        Xs, Y.T.ravel(), sample_weight=np.tile(sw, 3)
    )
    assert_allclose(stacked.coef_, shared.coef_, rtol=1e-9)
    assert_allclose(stacked.intercept_, shared.intercept_, rtol=1e-9)
    assert_allclose(stacked.predict_proba(Xs)[:, 1], shared.predict_proba(x).T.ravel())


@pytest.mark.parametrize(
    "est",
    [
        HierarchicalLogisticRegression(task_column=0, tol=1e-14),
        BayesianHierarchicalClassifier(task_column=0, tol=1e-10),
    ],
    ids=["penalised", "bayes"],
)
def test_weight_two_equals_repeated_row(est):
    task, x, y = _simulate(T=4, m=20, seed=6)
    X = np.column_stack([task, x])
    sw = np.ones(len(y))
    sw[::3] = 2.0
    rep = np.repeat(np.arange(len(y)), sw.astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = est.fit(X, y, sample_weight=sw).predict_proba(X)
        b = est.fit(X[rep], y[rep]).predict_proba(X)
    assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_unseen_task_shared_and_error():
    task, x, y = _simulate(T=3, seed=7)
    X = np.column_stack([task, x])
    new = np.column_stack([np.full(4, 42), x[:4]])
    for est in (
        HierarchicalLogisticRegression(task_column=0, unseen_task="shared"),
        BayesianHierarchicalClassifier(
            random_slopes=False, task_column=0, unseen_task="shared"
        ),
    ):
        est.fit(X, y)
        expected = x[:4] @ est.coef_shared_ + est.intercept_shared_
        assert_allclose(est.decision_function(new), expected)
        mixed = np.vstack([X[:2], new[:2]])
        assert_allclose(est.decision_function(mixed)[:2], est.decision_function(X[:2]))
        est.set_params(unseen_task="error")
        with pytest.raises(ValueError, match="42"):
            est.predict(new)


def test_one_class_task_and_one_class_problem():
    task, x, y = _simulate(T=4, seed=8)
    y = y.copy()
    y[task == 3] = 1  # task 3 has one class
    X = np.column_stack([task, x])
    for est in (
        HierarchicalLogisticRegression(task_column=0),
        HierarchicalLogisticRegressionCV(cv=3, task_column=0),
        BayesianHierarchicalClassifier(task_column=0),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(X, y)
        assert np.all(np.isfinite(est.intercept_))
        assert np.abs(est.intercept_[3]) < 20  # shrunk, finite
        with pytest.raises(ValueError, match="one class"):
            est.fit(X, np.ones_like(y))


def test_string_labels_and_classes_order():
    task, x, y = _simulate(T=3, seed=9)
    X = np.column_stack([task, x])
    labels = np.where(y == 1, "yes", "no")
    est = HierarchicalLogisticRegression(task_column=0).fit(X, labels)
    ref = HierarchicalLogisticRegression(task_column=0).fit(X, y)
    assert_array_equal(est.classes_, ["no", "yes"])
    assert_allclose(est.predict_proba(X), ref.predict_proba(X))
    assert_allclose(est.predict_log_proba(X), np.log(ref.predict_proba(X)))


def test_alpha_slopes_array_shape_checked():
    task, x, y = _simulate(T=3, seed=10)
    X = np.column_stack([task, x])
    with pytest.raises(ValueError, match="alpha_slopes"):
        HierarchicalLogisticRegression(alpha_slopes=[1.0, 2.0], task_column=0).fit(X, y)


def test_warm_start_reaches_the_same_solution():
    task, x, y = _simulate(T=5, seed=11)
    X = np.column_stack([task, x])
    est = HierarchicalLogisticRegression(
        alpha_slopes=0.3, task_column=0, warm_start=True, tol=1e-14
    ).fit(X, y)
    cold = HierarchicalLogisticRegression(alpha_slopes=2.0, task_column=0, tol=1e-14)
    est.set_params(alpha_slopes=2.0).fit(X, y)
    assert_allclose(est.coef_, cold.fit(X, y).coef_, rtol=1e-9, atol=1e-12)
    assert est.n_iter_ <= cold.n_iter_


# ------------------------------------------------------------------ CV
def test_cv_warm_path_equals_cold_fits():
    task, x, y = _simulate(T=5, seed=12)
    Z = np.column_stack([np.ones(len(y)), x])
    blocks = TaskBlocks(Z, y.astype(float), np.ones(len(y)), task, 5)
    cv = HierarchicalLogisticRegressionCV(max_iter=100)
    grids = (
        np.array([np.inf, 1.0]),
        np.array([np.inf, 10.0, 0.1]),
        np.array([np.inf, 1.0, 0.01]),
    )
    warm = {}
    cv._path(blocks, 3, grids, 1e-14, lambda i, j, k, r: warm.__setitem__((i, j, k), r))
    assert len(warm) == 18
    for (i, j, k), res in warm.items():
        alphas = (grids[0][i], grids[1][j], grids[2][k])
        cold = _fit_penalised(blocks, 3, alphas, None, None, 1e-14, 100)
        assert_allclose(res.beta, cold.beta, rtol=1e-8, atol=1e-10)
        assert_allclose(res.U, cold.U, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cv_picks_pooled_on_pooled_data(seed):
    task, x, y = _simulate(T=10, m=60, slope_sd=0.0, int_sd=0.0, seed=seed)
    X = np.column_stack([task, x])
    est = HierarchicalLogisticRegressionCV(task_column=0).fit(X, y)
    # on data without task differences the CV keeps the deviations strongly
    # penalised (alpha >= 10 on ~48 training rows a task, whose logistic curvature
    # is ~48 * 0.2 ~ 10: deviations shrunk by half or more) ...
    assert est.alpha_slopes_ >= 10
    assert est.alpha_intercepts_ >= 10
    # ... and predicts like the pooled model: the mean probability gap to
    # LogisticRegression on the pooled rows (measured 0.02-0.04 over these seeds)
    # stays below the sampling noise of a 60-row task's base rate (~0.065)
    pooled = LogisticRegression(C=1.0).fit(x, y).predict_proba(x)[:, 1]
    gap = np.abs(est.predict_proba(X)[:, 1] - pooled).mean()
    assert gap < 0.05, gap


@pytest.mark.parametrize("seed", [0, 1])
def test_cv_picks_near_independent_on_independent_data(seed):
    rng = np.random.RandomState(seed)
    T, m, d = 8, 80, 3
    task = np.repeat(np.arange(T), m)
    x = rng.randn(T * m, d)
    W = 2.0 * rng.randn(T, d)  # unrelated tasks
    b = 1.5 * rng.randn(T)
    y = (rng.rand(T * m) < expit(np.einsum("ij,ij->i", x, W[task]) + b[task])).astype(
        int
    )
    est = HierarchicalLogisticRegressionCV(task_column=0).fit(
        np.column_stack([task, x]), y
    )
    # deviations penalised at most like a weak ridge: each task is nearly its own
    assert est.alpha_slopes_ <= 1.0
    assert est.alpha_intercepts_ <= 1.0
    # and it beats the pooled grid point by a wide margin
    i = list(est.alphas_shared_).index(est.alpha_shared_)
    assert est.best_score_ > est.mean_cv_scores_[i, 0, 0] + 0.1


def test_cv_shared_layout_and_scoring():
    rng = np.random.RandomState(13)
    x = rng.randn(60, 2)
    Y = (rng.rand(60, 3) < expit(x @ rng.randn(2, 3))).astype(int)
    est = HierarchicalLogisticRegressionCV(
        alphas_shared=[1.0], alphas_slopes=[1.0, np.inf], cv=3, scoring="roc_auc"
    ).fit(x, Y)
    assert est.cv_scores_.shape == (3, 1, 2, 6)
    assert np.all((est.cv_scores_ >= 0) & (est.cv_scores_ <= 1))
    assert est.predict_proba(x).shape == (60, 3)


# ------------------------------------------------------------------ empirical Bayes
def _dense_laplace(task, x, y, sw, theta, ridge, random_cols):
    """Brute force: dense PIRLS on (beta, a) and log det of the dense a-Hessian."""
    n, d = x.shape
    p = d + 1
    T = task.max() + 1
    Z = np.column_stack([np.ones(n), x])
    q = len(random_cols)
    Zr = np.zeros((n, T * q))  # Zr[i, t*q + k] = z_i[random_cols[k]] theta_k
    for k, j in enumerate(random_cols):
        Zr[np.arange(n), task * q + k] = Z[:, j] * theta[k]
    D = np.column_stack([Z, Zr])
    prec = np.concatenate([[0.0], np.full(d, ridge), np.ones(T * q)])
    phi = np.zeros(p + T * q)
    for _ in range(100):
        mu = expit(D @ phi)
        g = D.T @ (sw * (mu - y)) + prec * phi
        H = D.T @ (D * (sw * mu * (1 - mu))[:, None]) + np.diag(prec)
        step = np.linalg.solve(H, g)
        phi -= step
        if np.abs(step).max() < 1e-14:
            break
    eta = D @ phi
    psi = np.sum(sw * (np.logaddexp(0, eta) - y * eta)) + 0.5 * prec @ phi**2
    mu = expit(eta)
    Daa = Zr
    Haa = Daa.T @ (Daa * (sw * mu * (1 - mu))[:, None]) + np.eye(T * q)
    return -psi - 0.5 * np.linalg.slogdet(Haa)[1], phi


@pytest.mark.parametrize("random_slopes", [True, False])
def test_laplace_criterion_equals_dense_brute_force(random_slopes):
    task, x, y = _simulate(T=5, m=20, d=2, seed=14)
    sw = np.random.RandomState(0).uniform(0.5, 1.5, len(y))
    X = np.column_stack([task, x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = BayesianHierarchicalClassifier(
            random_slopes, alpha_shared=0.01, task_column=0
        ).fit(X, y, sample_weight=sw)
    theta = np.sqrt(np.concatenate([[est.intercept_variance_], est.slope_variances_]))
    cols = [0, 1, 2] if random_slopes else [0]
    F, phi = _dense_laplace(task, x, y, sw, theta[cols], 0.01, cols)
    assert_allclose(est.log_marginal_likelihood_, F, rtol=1e-10)
    assert_allclose(est.intercept_shared_, phi[0], rtol=1e-8, atol=1e-10)
    assert_allclose(est.coef_shared_, phi[1:3], rtol=1e-8, atol=1e-10)
    # brute force at a point away from the optimum, through the same code path
    blocks = TaskBlocks(
        np.column_stack([np.ones(len(y)), x]), y.astype(float), sw, task, 5
    )
    model = _LaplaceModel(blocks, 0.01, random_slopes)
    th = np.array([0.9, 0.4, 0.7])[: len(cols)]
    assert_allclose(
        model.evaluate(th)[0],
        _dense_laplace(task, x, y, sw, th, 0.01, cols)[0],
        rtol=1e-10,
    )


@pytest.mark.parametrize("random_slopes", [True, False])
def test_laplace_gradient_matches_finite_differences(random_slopes):
    task, x, y = _simulate(T=6, sizes=[5, 10, 20, 30, 15, 8], d=2, seed=15)
    sw = np.random.RandomState(1).uniform(0.5, 1.5, len(y))
    blocks = TaskBlocks(
        np.column_stack([np.ones(len(y)), x]), y.astype(float), sw, task, 6
    )
    model = _LaplaceModel(blocks, 0.1, random_slopes)
    th = np.array([0.8, 0.5, 0.3])[: 3 if random_slopes else 1]
    _, grad = model.evaluate(th)
    h = 1e-5
    fd = np.array(
        [
            (model.evaluate(th + h * e)[0] - model.evaluate(th - h * e)[0]) / (2 * h)
            for e in np.eye(len(th))
        ]
    )
    # central differences: O(h^2) truncation ~1e-10 plus PIRLS noise ~1e-12 / h
    assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)
    # at theta = 0 (the boundary) the one-sided derivative is finite and matches
    th0 = np.zeros_like(th)
    _, grad0 = model.evaluate(th0)
    fd0 = np.array(
        [
            (model.evaluate(th0 + h * e)[0] - model.evaluate(th0)[0]) / h
            for e in np.eye(len(th))
        ]
    )
    assert_allclose(grad0, fd0, rtol=1e-4, atol=1e-4)


def _glmm_data(seed=0, T=40, m=150, slopes=True):
    rng = np.random.RandomState(seed)
    task = np.repeat(np.arange(T), m)
    x = rng.randn(T * m, 2)
    b = 0.8 * rng.randn(T)
    v = 0.4 * rng.randn(T) if slopes else np.zeros(T)
    eta = x @ np.array([1.0, -0.5]) + x[:, 0] * v[task] + 0.3 + b[task]
    y = (rng.rand(T * m) < expit(eta)).astype(int)
    return task, x, y


@pytest.mark.parametrize("random_slopes", [True, False])
def test_bayes_matches_lme4_glmer_nagq0(random_slopes):
    """lme4's glmer with nAGQ=0 optimises the same criterion: the Laplace
    approximation with the fixed effects inside PIRLS. mixedlm (a port of lme4) runs
    it; lme4 stops its optimiser at ~1e-6 relative, hence the tolerances."""
    mixedlm = pytest.importorskip("mixedlm")
    pd = pytest.importorskip("pandas")
    task, x, y = _glmm_data(slopes=random_slopes)
    df = pd.DataFrame({"y": y, "x1": x[:, 0], "x2": x[:, 1], "g": task.astype(str)})
    formula = (
        "y ~ x1 + x2 + (1 + x1 + x2 || g)" if random_slopes else "y ~ x1 + x2 + (1 | g)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = mixedlm.glmer(formula, df, family=mixedlm.families.Binomial(), nAGQ=0)
        est = BayesianHierarchicalClassifier(
            random_slopes, alpha_shared=0.0, task_column=0
        ).fit(np.column_stack([task, x]), y)
    ours = np.concatenate([[est.intercept_variance_], est.slope_variances_])
    theirs = np.asarray(ref.theta) ** 2
    if random_slopes:
        big = theirs > 1e-3
        assert_allclose(ours[big], theirs[big], rtol=1e-4)
        assert np.all(ours[~big] < 1e-3)
    else:
        assert_allclose(ours[0], theirs[0], rtol=1e-4)
    fixef = np.array(list(ref.fixef().values()))
    assert_allclose(
        np.concatenate([[est.intercept_shared_], est.coef_shared_]), fixef, rtol=1e-5
    )
    assert_allclose(est.log_marginal_likelihood_, float(ref.logLik().value), rtol=1e-7)


def test_bayes_random_intercept_close_to_gpboost():
    """GPBoost maximises the Laplace approximation over the fixed effects too (lme4's
    nAGQ=1), where ours keeps them at the PIRLS mode (nAGQ=0, matched exactly by the
    glmer test above): by design the two differ by O(1/n_t). With 40 tasks of 400
    rows and no ridge (alpha_shared=0) the measured gaps are 1e-4 relative on the
    variance and <= 2.8e-3 on the coefficients; tolerances 1e-2 and 5e-3."""
    gpb = pytest.importorskip("gpboost")
    task, x, y = _glmm_data(seed=1, m=400, slopes=False)
    est = BayesianHierarchicalClassifier(False, alpha_shared=0.0, task_column=0).fit(
        np.column_stack([task, x]), y
    )
    gp = gpb.GPModel(group_data=task, likelihood="bernoulli_logit")
    # GPBoost's default convergence (delta_rel_conv=1e-6) leaves ~1e-2 on the
    # intercept here; 1e-10 reaches lme4's nAGQ=1 answer to 1e-5
    gp.fit(
        y=y,
        X=np.column_stack([np.ones(len(y)), x]),
        params={"trace": False, "delta_rel_conv": 1e-10, "maxit": 5000},
    )
    var = float(np.asarray(gp.get_cov_pars()).ravel()[0])
    coef = np.asarray(gp.get_coef()).ravel()
    assert_allclose(est.intercept_variance_, var, rtol=1e-2)
    assert_allclose(
        np.concatenate([[est.intercept_shared_], est.coef_shared_]), coef, atol=5e-3
    )


def test_bayes_boundary_is_a_note_not_an_error():
    # no task effect at all: the variances are estimated at (or next to) 0
    rng = np.random.RandomState(16)
    task = np.repeat(np.arange(8), 60)
    x = rng.randn(480, 2)
    y = (rng.rand(480) < expit(x[:, 0])).astype(int)
    X = np.column_stack([task, x])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BayesianHierarchicalClassifier(task_column=0).fit(X, y)
    assert est.at_boundary_.any() and est.singular_
    assert "boundary (singular) fit" in est.convergence_note_
    j = np.flatnonzero(est.at_boundary_)
    theta2 = np.concatenate([[est.intercept_variance_], est.slope_variances_])
    assert_array_equal(theta2[j], 0.0)
    assert_allclose(est.shrinkage_[:, j], 1.0)
    # a pooled component: every task has the fixed effect there
    assert_allclose(
        np.column_stack([est.intercept_deviations_, est.coef_deviations_])[:, j], 0.0
    )


def test_bayes_shrinkage_definition_and_order():
    task, x, y = _simulate(T=6, sizes=[4, 8, 16, 40, 80, 160], d=2, seed=17)
    X = np.column_stack([task, x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = BayesianHierarchicalClassifier(False, task_column=0).fit(X, y)
    s = est.shrinkage_
    assert s.shape == (6, 3)
    assert_allclose(s[:, 1:], 1.0)  # no random slopes: slopes fully pooled
    if est.intercept_variance_ > 0:
        # closed form for one random coefficient: 1 / (1 + theta^2 g_t)
        Z = np.ones(len(y))
        mu = expit(est.decision_function(X))
        g = np.bincount(task, weights=Z * mu * (1 - mu))
        assert_allclose(s[:, 0], 1 / (1 + est.intercept_variance_ * g), rtol=1e-6)
        assert np.all(np.diff(s[:, 0]) < 0)  # bigger tasks borrow less


def test_bayes_single_task_and_sparse_pandas():
    sp = pytest.importorskip("scipy.sparse")
    pd = pytest.importorskip("pandas")
    task, x, y = _simulate(T=4, seed=18)
    X = np.column_stack([task, x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dense = BayesianHierarchicalClassifier(task_column=0).fit(X, y)
        sparse = BayesianHierarchicalClassifier(task_column=0).fit(sp.csr_matrix(X), y)
        df = pd.DataFrame(x, columns=["a", "b", "c"])
        df["school"] = pd.Categorical(np.array(["s0", "s1", "s2", "s3"])[task])
        frame = BayesianHierarchicalClassifier(task_column="school").fit(df, y)
    assert_allclose(sparse.predict_proba(X), dense.predict_proba(X), rtol=1e-6)
    assert_allclose(frame.predict_proba(df), dense.predict_proba(X), rtol=1e-6)
    assert list(frame.tasks_) == ["s0", "s1", "s2", "s3"]


def test_landmine_like_split_runs():
    # the per-task split helper and the CV model together, small
    task, x, y = _simulate(T=5, m=40, seed=19)
    X = np.column_stack([task, x])
    Xtr, Xte, ytr, yte = train_test_split_per_task(X, y, train_size=0.3, random_state=0)
    est = HierarchicalLogisticRegressionCV(cv=3, task_column=0).fit(Xtr, ytr)
    assert est.predict_proba(Xte).shape == (len(yte), 2)


def test_convergence_warning_at_max_iter():
    from sklearn.exceptions import ConvergenceWarning

    task, x, y = _simulate(T=4, seed=20)
    X = np.column_stack([task, x])
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        est = HierarchicalLogisticRegression(task_column=0, max_iter=1).fit(X, y)
    assert est.n_iter_ == 1
    # the certified stop: at tol the Newton decrement bounds the suboptimality
    full = HierarchicalLogisticRegression(task_column=0, tol=1e-14).fit(X, y)
    loose = HierarchicalLogisticRegression(task_column=0, tol=1e-4).fit(X, y)
    assert 0 <= loose.objective_ - full.objective_ <= 1e-4 * len(y)


def test_predict_log_proba_is_stable_for_large_scores():
    task, x, y = _simulate(T=3, seed=21)
    X = np.column_stack([task, x])
    est = HierarchicalLogisticRegression(task_column=0).fit(X, y)
    far = X[:3].copy()
    far[:, 1:] *= 1e4
    logp = est.predict_log_proba(far)
    assert np.all(np.isfinite(logp))
    assert_allclose(np.logaddexp(logp[:, 0], logp[:, 1]), 0.0, atol=1e-12)


def test_cv_accepts_a_splitter_and_an_iterable():
    from skmtl.model_selection import TaskStratifiedKFold

    task, x, y = _simulate(T=4, m=30, seed=22)
    X = np.column_stack([task, x])
    grid = dict(
        alphas_shared=[1.0], alphas_slopes=[1.0, np.inf], alphas_intercepts=[1.0]
    )
    splitter = TaskStratifiedKFold(3, task_column=0, shuffle=True, random_state=0)
    a = HierarchicalLogisticRegressionCV(cv=splitter, task_column=0, **grid).fit(X, y)
    folds = list(splitter.split(X))
    b = HierarchicalLogisticRegressionCV(cv=folds, task_column=0, **grid).fit(X, y)
    assert_allclose(a.cv_scores_, b.cv_scores_)
    # each fold's score is the held-out log loss of a plain fit on its training rows
    train, test = folds[0]
    ref = HierarchicalLogisticRegression(1.0, np.inf, 1.0, task_column=0, tol=1e-10)
    ref.fit(X[train], y[train])
    expected = -np.mean(
        np.logaddexp(0, ref.decision_function(X[test]))
        - y[test] * ref.decision_function(X[test])
    )
    # the grids run from strong to weak: alphas_slopes_ == [inf, 1.0]
    assert_allclose(a.alphas_slopes_, [np.inf, 1.0])
    assert_allclose(a.cv_scores_[0, 0, 0, 0], expected, rtol=1e-6)


def test_cv_parallel_folds_equal_sequential():
    task, x, y = _simulate(T=4, m=30, seed=23)
    X = np.column_stack([task, x])
    grid = dict(alphas_shared=[1.0], alphas_slopes=[1.0, np.inf], cv=3, task_column=0)
    seq = HierarchicalLogisticRegressionCV(**grid).fit(X, y)
    par = HierarchicalLogisticRegressionCV(n_jobs=2, **grid).fit(X, y)
    assert_array_equal(par.cv_scores_, seq.cv_scores_)
    assert_array_equal(par.coef_, seq.coef_)
