"""Hierarchical intercepts, task weighting, unseen tasks and leave-one-out tuning of
the kernel models (issue 12), each against an independent oracle.

Tolerances. Kernel ridge is a direct solve on both sides, so agreement is to
round-off (rtol 1e-8 on problems whose condition number is below ~1e4). libsvm runs
with ``tol=1e-10`` on both sides of an SVM comparison: two libsvm fits on the same
kernel then agree to ~1e-9 of the decision range (asserted 1e-8 relative).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC, SVR

from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.kernel_ridge import MultiTaskKernelRidge, MultiTaskKernelRidgeCV
from skmtl.linear_model import HierarchicalRidge
from skmtl.model_selection import TaskStratifiedKFold
from skmtl.svm import MultiTaskSVC, MultiTaskSVR

GAMMA = 0.3


def _data(n=12, n_tasks=4, d=3, seed=0, shift=7.0):
    X, y = make_multitask_regression(
        n_tasks=n_tasks,
        n_samples=n,
        n_features=d,
        structure="mean",
        spread=0.5,
        random_state=seed,
    )
    # uneven task sizes and uncentred task levels
    rng = np.random.RandomState(seed)
    keep = rng.rand(len(y)) < 0.75
    keep[np.unique(X[:, 0], return_index=True)[1]] = True
    X, y = X[keep], y[keep]
    return X, y + shift + X[:, 0]


def _hand_kernel(X1, X2, mu, a_int, gamma=None):
    """``(1/mu + [s == t]) k(x, z) + [s == t] / alpha_intercepts`` by hand."""
    same = X1[:, [0]] == X2[:, 0][None, :]
    base = (
        X1[:, 1:] @ X2[:, 1:].T
        if gamma is None
        else rbf_kernel(X1[:, 1:], X2[:, 1:], gamma=gamma)
    )
    K = (1.0 / mu + same) * base
    return K if np.isinf(a_int) else K + same / a_int


def _bordered(K, y, alpha, w):
    """Dense solve of ``(K + alpha W^-1) a + 1 b_0 = y, 1' a = 0``."""
    n = len(y)
    A = np.zeros((n + 1, n + 1))
    A[:n, :n] = K + alpha * np.diag(1.0 / w)
    A[:n, n] = A[n, :n] = 1.0
    sol = np.linalg.solve(A, np.append(y, 0.0))
    return sol[:n], sol[n]


# ------------------------------------------------------------ kernel ridge oracles
@pytest.mark.parametrize("gamma", [None, GAMMA])
@pytest.mark.parametrize("a_int", [0.3, np.inf])
def test_kernel_ridge_equals_dense_bordered_solve(gamma, a_int):
    X, y = _data()
    w = np.random.RandomState(1).uniform(0.5, 2.0, len(y))
    X_new = _data(n=5, seed=3)[0]
    mu, alpha = 0.7, 0.4
    model = MultiTaskKernelRidge(
        alpha=alpha,
        kernel="linear" if gamma is None else "rbf",
        gamma=gamma,
        mu=mu,
        alpha_intercepts=a_int,
        solver="kernel",
        task_column=0,
    ).fit(X, y, sample_weight=w)
    dual, b0 = _bordered(_hand_kernel(X, X, mu, a_int, gamma), y, alpha, w)
    assert_allclose(model.dual_coef_, dual, rtol=1e-8, atol=1e-10)
    assert_allclose(model.intercept_shared_, b0, rtol=1e-8)
    pred = _hand_kernel(X_new, X, mu, a_int, gamma) @ dual + b0
    assert_allclose(model.predict(X_new), pred, rtol=1e-8)
    # c_t = sum_{i in t} a_i / alpha_intercepts
    task = X[:, 0].astype(int)
    c = np.zeros(4) if np.isinf(a_int) else np.bincount(task, dual) / a_int
    assert_allclose(model.intercept_deviations_, c, atol=1e-10)


@pytest.mark.parametrize("solver", ["kernel", "linear"])
def test_linear_kernel_ridge_is_hierarchical_ridge(solver):
    """mu form, linear kernel: alpha_shared = alpha mu, alpha_slopes = alpha and
    HierarchicalRidge's alpha_intercepts = alpha * alpha_intercepts (its loss has a
    factor 1/2 on every term, so the ratios are what match)."""
    X, y = _data(n=20)
    w = np.random.RandomState(2).uniform(0.5, 2.0, len(y))
    alpha, mu, a_int = 0.6, 0.3, 2.5
    krr = MultiTaskKernelRidge(
        alpha=alpha, mu=mu, alpha_intercepts=a_int, solver=solver, task_column=0
    ).fit(X, y, sample_weight=w)
    hr = HierarchicalRidge(
        alpha_shared=alpha * mu,
        alpha_slopes=alpha,
        alpha_intercepts=alpha * a_int,
        task_column=0,
    ).fit(X, y, sample_weight=w)
    assert_allclose(krr.coef_, hr.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(krr.intercept_, hr.intercept_, rtol=1e-8)
    assert_allclose(krr.intercept_shared_, hr.intercept_shared_, rtol=1e-8)
    assert_allclose(krr.intercept_deviations_, hr.intercept_deviations_, atol=1e-9)
    # an unseen task: the shared component w_0 and b_0 of both models
    new = X[:5].copy()
    new[:, 0] = 99
    krr.set_params(unseen_task="shared")
    hr.set_params(unseen_task="shared")
    assert_allclose(krr.predict(new), hr.predict(new), rtol=1e-8)
    assert_allclose(
        krr.predict(new), new[:, 1:] @ hr.coef_shared_ + hr.intercept_shared_, rtol=1e-8
    )


def test_explicit_ridge_with_user_similarity_profiles_b0_exactly():
    """Non-block explicit path (user B): b_0 profiled from two ridge solves."""
    X, y = _data(n=15)
    B = np.array(
        [
            [2.0, 0.5, 0.1, 0.0],
            [0.5, 1.0, 0.3, 0.2],
            [0.1, 0.3, 1.0, 0.1],
            [0.0, 0.2, 0.1, 1.5],
        ]
    )
    kw = dict(alpha=0.5, task_similarity=B, alpha_intercepts=0.8, task_column=0)
    k = MultiTaskKernelRidge(solver="kernel", **kw).fit(X, y)
    lin = MultiTaskKernelRidge(solver="linear", **kw).fit(X, y)
    assert lin.solver_detail_ == "cholesky"
    assert_allclose(lin.predict(X), k.predict(X), rtol=1e-8)
    assert_allclose(lin.intercept_, k.intercept_, rtol=1e-8)


def test_intercept_makes_predictions_shift_equivariant():
    """With the free b_0 a constant added to y shifts every prediction by it (the
    previous model, without intercept, did not: fit_intercept=False)."""
    X, y = _data(n=20)
    for a_int in (1.0, np.inf):
        m1 = MultiTaskKernelRidge(kernel="rbf", alpha_intercepts=a_int, task_column=0)
        m2 = MultiTaskKernelRidge(kernel="rbf", alpha_intercepts=a_int, task_column=0)
        assert_allclose(
            m2.fit(X, y + 100.0).predict(X), m1.fit(X, y).predict(X) + 100.0, rtol=1e-9
        )
    no = MultiTaskKernelRidge(kernel="rbf", fit_intercept=False, task_column=0)
    shift = no.fit(X, y + 100.0).predict(X) - no.fit(X, y).predict(X)
    assert np.abs(shift - 100.0).max() > 1.0


def test_large_alpha_intercepts_limit_and_offsets_shrink_small_tasks():
    X, y = _data(n=20)
    one = MultiTaskKernelRidge(alpha_intercepts=np.inf, task_column=0).fit(X, y)
    big = MultiTaskKernelRidge(alpha_intercepts=1e9, task_column=0).fit(X, y)
    assert_allclose(big.predict(X), one.predict(X), rtol=1e-6)
    assert np.all(one.intercept_deviations_ == 0)
    # a task reduced to 1 row gets a smaller offset (in size) than with all its rows
    task = X[:, 0].astype(int)
    drop = np.flatnonzero(task == 3)[1:]
    keep = np.setdiff1d(np.arange(len(y)), drop)
    y2 = y.copy()
    y2[task == 3] += 5.0
    full = MultiTaskKernelRidge(alpha_intercepts=0.05, task_column=0).fit(X, y2)
    tiny = MultiTaskKernelRidge(alpha_intercepts=0.05, task_column=0).fit(
        X[keep], y2[keep]
    )
    assert abs(tiny.intercept_deviations_[3]) < abs(full.intercept_deviations_[3])


# ---------------------------------------------------------------- task weighting
def _row_weights(X, sw, lam):
    """s_i omega_t with omega_t = lambda_t N / n_t (lambda normalised)."""
    task = X[:, 0].astype(int)
    n_t = np.bincount(task, sw)
    lam = np.asarray(lam, float) / np.sum(lam)
    return sw * (lam * sw.sum() / n_t)[task]


@pytest.mark.parametrize("solver", ["kernel", "linear"])
def test_task_weighting_equals_row_weights(solver):
    X, y = _data(n=20)
    sw = np.random.RandomState(4).uniform(0.5, 2.0, len(y))
    n_t = np.bincount(X[:, 0].astype(int), sw)
    w = np.array([1.0, 2.0, 0.5, 3.0])
    # an array is DESIGN.md's omega_t, a per-row weight: lambda_t = w_t n_t
    for scheme, lam in [("equal", np.ones(4)), (w, w * n_t)]:
        kw = dict(alpha=0.3, alpha_intercepts=0.5, solver=solver, task_column=0)
        m = MultiTaskKernelRidge(task_weighting=scheme, **kw).fit(
            X, y, sample_weight=sw
        )
        ref = MultiTaskKernelRidge(**kw).fit(
            X, y, sample_weight=_row_weights(X, sw, lam)
        )
        assert_allclose(m.predict(X), ref.predict(X), rtol=1e-8)
        assert_allclose(m.intercept_, ref.intercept_, rtol=1e-8)
    # "equal" moves the model away from "size" on uneven tasks
    size = MultiTaskKernelRidge(alpha=0.3, task_column=0).fit(X, y)
    equal = MultiTaskKernelRidge(alpha=0.3, task_weighting="equal", task_column=0)
    assert np.abs(equal.fit(X, y).predict(X) - size.predict(X)).max() > 1e-3


def test_task_weighting_validation():
    X, y = _data()
    with pytest.raises(ValueError, match="one weight per task"):
        MultiTaskKernelRidge(task_weighting=[1.0, 2.0], task_column=0).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        MultiTaskSVR(task_weighting=[1.0, -1.0, 1.0, 1.0], task_column=0).fit(X, y)


# --------------------------------------------------------------- leave-one-out CV
@pytest.mark.parametrize("solver", ["kernel", "linear"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_loo_equals_brute_force_refits(solver, fit_intercept):
    X, y = _data(n=9, n_tasks=3)
    sw = np.random.RandomState(5).uniform(0.5, 2.0, len(y))
    kernel = "linear" if solver == "linear" else "rbf"
    alphas = np.array([0.05, 0.5, 5.0])
    kw = dict(kernel=kernel, gamma=GAMMA, fit_intercept=fit_intercept, task_column=0)
    kw.update(solver=solver)
    for mu, a_int in [(0.5, 2.0), (np.inf, np.inf), (3.0, np.inf)]:
        cv = MultiTaskKernelRidgeCV(
            alphas=alphas, mus=[mu], alphas_intercepts=[a_int], **kw
        ).fit(X, y, sample_weight=sw)
        got = cv.cv_results_["criterion"]
        want = []
        for alpha in alphas:
            err = []
            for i in range(len(y)):
                keep = np.arange(len(y)) != i
                m = MultiTaskKernelRidge(
                    alpha=alpha, mu=mu, alpha_intercepts=a_int, **kw
                ).fit(X[keep], y[keep], sample_weight=sw[keep])
                err.append((y[i] - m.predict(X[i : i + 1])[0]) ** 2)
            want.append(np.dot(sw, err) / sw.sum())
        assert_allclose(got, want, rtol=1e-8)


def test_cv_selects_the_best_candidate_and_refits():
    X, y = _data(n=25, n_tasks=5)
    cv = MultiTaskKernelRidgeCV(kernel="rbf", gamma=GAMMA, task_column=0).fit(X, y)
    res = cv.cv_results_
    best = np.argmin(res["criterion"])
    assert cv.best_score_ == res["criterion"][best]
    assert (cv.alpha_, cv.mu_, cv.alpha_intercepts_) == (
        res["alpha"][best],
        res["mu"][best],
        res["alpha_intercepts"][best],
    )
    ref = MultiTaskKernelRidge(
        alpha=cv.alpha_,
        mu=cv.mu_,
        alpha_intercepts=cv.alpha_intercepts_,
        kernel="rbf",
        gamma=GAMMA,
        task_column=0,
    ).fit(X, y)
    assert_allclose(cv.predict(X), ref.predict(X), rtol=1e-10)


def test_cv_explicit_path_for_many_rows_and_user_similarity_error(monkeypatch):
    import skmtl.kernel_ridge as kr

    monkeypatch.setattr(kr, "CV_KERNEL_MAX_ROWS", 10)
    X, y = _data(n=20)
    cv = MultiTaskKernelRidgeCV(alphas=[0.1, 1.0], task_column=0).fit(X, y)
    assert cv.solver_ == "linear" and cv.estimator_.solver_detail_ == "mu-block"
    with pytest.raises(ValueError, match="solver='kernel'"):
        MultiTaskKernelRidgeCV(
            task_similarity=np.eye(4), solver="linear", task_column=0
        ).fit(X, y)


def test_cv_auto_takes_the_cheaper_exact_path_for_the_linear_kernel():
    """kernel="linear", "auto": the explicit blocks where they cost a tenth of an
    eigendecomposition or less (many rows, few features), the kernel path
    otherwise (few rows, many features); the criterion and the selection are
    the kernel path's."""
    from skmtl.kernel_ridge import _blocks_are_cheaper

    assert _blocks_are_cheaper(1477, 28, 139, 25, 1477.0**3)  # School 10%
    assert not _blocks_are_cheaper(380, 15, 190, 25, 380.0**3)  # Computer Survey
    assert not _blocks_are_cheaper(200, 2, 2, 25, 200.0**3)  # not worth it
    rng = np.random.RandomState(0)
    T, n_t, d = 4, 150, 2  # 600 rows: the eigendecomposition is worth saving
    task = np.repeat(np.arange(T), n_t)
    Xf = rng.randn(T * n_t, d)
    y = Xf @ rng.randn(d) + rng.randn(T)[task] + 0.5 * rng.randn(T * n_t)
    X = np.column_stack([task, Xf])
    common = dict(alphas=[0.1, 1.0, 10.0], mus=[0.1, 1.0, np.inf], task_column=0)
    auto = MultiTaskKernelRidgeCV(**common).fit(X, y)
    exact = MultiTaskKernelRidgeCV(solver="kernel", **common).fit(X, y)
    assert auto.solver_ == "linear" and exact.solver_ == "kernel"
    assert (auto.alpha_, auto.mu_, auto.alpha_intercepts_) == (
        exact.alpha_,
        exact.mu_,
        exact.alpha_intercepts_,
    )
    assert_allclose(
        auto.cv_results_["criterion"], exact.cv_results_["criterion"], rtol=1e-8
    )
    assert_allclose(auto.predict(X), exact.predict(X), rtol=1e-8)
    # few rows, many features: the kernel path
    wide = MultiTaskKernelRidgeCV(task_column=0).fit(
        np.column_stack([task[:20] % 2, rng.randn(20, 30)]), rng.randn(20)
    )
    assert wide.solver_ == "kernel"


def test_many_tiny_tasks_predictions_stay_in_range():
    """1,000 tasks of 2-10 rows (issue 12): the defaults and the CV form predict
    held-out rows inside the target's range (the previous default, without
    intercept, scored R^2 far below 0 on such data)."""
    rng = np.random.RandomState(0)
    T, d = 1000, 5
    sizes = rng.randint(2, 11, T)
    task = np.repeat(np.arange(T), sizes)
    Xf = rng.randn(len(task), d)
    w0 = rng.randn(d)
    W = w0 + 0.3 * rng.randn(T, d)
    y = 5.0 + rng.randn(T)[task] + np.einsum("ij,ij->i", Xf, W[task])
    y += rng.randn(len(task))
    X = np.column_stack([task, Xf])
    test = np.zeros(len(y), bool)
    test[np.cumsum(sizes) - 1] = True  # the last row of every task
    lo, hi = y.min(), y.max()
    # the default linear model at this size is the kernel path (13 s here); the
    # linear path solves the same problem exactly (test_kernel_ridge), in 0.1 s
    for model in (
        MultiTaskKernelRidge(solver="linear", task_column=0),
        MultiTaskKernelRidge(kernel="rbf", solver="nystroem", task_column=0),
        MultiTaskKernelRidgeCV(task_column=0),
    ):
        pred = model.fit(X[~test], y[~test]).predict(X[test])
        span = hi - lo
        assert lo - 0.25 * span <= pred.min() and pred.max() <= hi + 0.25 * span
        r2 = 1 - np.mean((y[test] - pred) ** 2) / np.var(y[test])
        assert r2 > 0.5, (type(model).__name__, r2)


# ------------------------------------------------------------------------- SVMs
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_svc_offsets_equal_precomputed_svc_on_augmented_kernel(kernel):
    X, y = make_multitask_classification(
        n_tasks=3, n_samples=30, n_features=4, structure="mean", random_state=0
    )
    sw = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    X_new = X[::3]
    mu, a_int = 0.6, 0.4
    gamma = None if kernel == "linear" else GAMMA
    model = MultiTaskSVC(
        kernel=kernel,
        gamma=GAMMA,
        mu=mu,
        alpha_intercepts=a_int,
        task_weighting="equal",
        tol=1e-10,
        task_column=0,
    ).fit(X, y, sample_weight=sw)
    K = _hand_kernel(X, X, mu, a_int, gamma)
    ref = SVC(kernel="precomputed", tol=1e-10).fit(
        K, y, sample_weight=_row_weights(X, sw, np.ones(3))
    )
    dec = ref.decision_function(_hand_kernel(X_new, X, mu, a_int, gamma))
    assert_allclose(model.decision_function(X_new), dec, rtol=1e-8, atol=1e-8)
    # c_t = sum of the task's dual coefficients / alpha_intercepts
    task_sv = X[ref.support_, 0].astype(int)
    c = np.bincount(task_sv, ref.dual_coef_[0], minlength=3) / a_int
    assert_allclose(model.intercept_deviations_, c, rtol=1e-7, atol=1e-9)
    if kernel == "linear":
        lin = X_new[:, 1:] @ model.coef_.T
        t = X_new[:, 0].astype(int)
        own = lin[np.arange(len(t)), t] + model.intercept_ + c[t]
        assert_allclose(model.decision_function(X_new), own, rtol=1e-7, atol=1e-8)


def test_svr_offsets_equal_precomputed_svr_and_unseen_task_gets_b0():
    X, y = _data(n=20)
    mu, a_int = 1.5, 0.2
    model = MultiTaskSVR(
        kernel="rbf",
        gamma=GAMMA,
        C=5.0,
        mu=mu,
        alpha_intercepts=a_int,
        tol=1e-10,
        task_column=0,
        unseen_task="shared",
    ).fit(X, y)
    ref = SVR(kernel="precomputed", C=5.0, tol=1e-10).fit(
        _hand_kernel(X, X, mu, a_int, GAMMA), y
    )
    X_new = X[::4]
    want = ref.predict(_hand_kernel(X_new, X, mu, a_int, GAMMA))
    assert_allclose(model.predict(X_new), want, rtol=1e-8)
    new = X_new.copy()
    new[:, 0] = 42
    # unseen: B row 1/mu, no offset term, libsvm's b_0
    K = (1.0 / mu) * rbf_kernel(new[:, 1:], X[:, 1:], gamma=GAMMA)
    shared = K[:, ref.support_] @ ref.dual_coef_[0] + ref.intercept_
    assert_allclose(model.predict(new), shared, rtol=1e-8)


def test_svm_linear_path_offsets_match_kernel_path():
    """Explicit features with the one-hot offset block (liblinear) against libsvm on
    sign-mirrored data with a symmetric task structure, where b_0 = 0 by symmetry so
    liblinear's intercept penalty is inactive (see test_svm.py)."""
    X, y = make_multitask_classification(
        n_tasks=3, n_samples=30, n_features=4, structure="mean", random_state=1
    )
    y = 2 * y - 1
    Xm = X.copy()
    Xm[:, 1:] *= -1
    X, y = np.vstack([X, Xm]), np.concatenate([y, -y])
    kw = dict(kernel="linear", alpha_intercepts=0.5, task_column=0)
    # libsvm at tol=1e-10 takes ~95 s on these 180 rows for a change of 5e-8 relative
    # against tol=1e-6 (measured), far inside the 1e-4 asserted below
    k = MultiTaskSVC(solver="kernel", tol=1e-6, **kw).fit(X, y)
    lin = MultiTaskSVC(
        solver="linear", max_iter=100_000, random_state=0, tol=1e-10, **kw
    )
    lin.fit(X, y)
    dk = k.decision_function(X)
    assert np.abs(lin.decision_function(X) - dk).max() <= 1e-4 * np.abs(dk).max()
    assert_allclose(lin.intercept_deviations_, k.intercept_deviations_, atol=1e-4)


def test_svm_grid_search_recipe():
    X, y = _data(n=15)
    grid = GridSearchCV(
        MultiTaskSVR(kernel="rbf", task_column=0),
        {"C": [1.0, 10.0], "alpha_intercepts": [0.5, np.inf]},
        cv=TaskStratifiedKFold(3),
    ).fit(X, y)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_params_["C"] in (1.0, 10.0)
    assert grid.best_estimator_.intercept_deviations_.shape == (4,)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"alpha_intercepts": np.inf},
        {"fit_intercept": False},
        {"task_weighting": "equal"},
        {"unseen_task": "shared"},
    ],
    ids=["default", "pooled-intercept", "no-intercept", "equal", "unseen"],
)
def test_auto_linear_kernel_path_equals_the_kernel_path(weighted, extra):
    """1,200 rows, 5 features: ``solver="auto"`` takes the explicit block solve
    (the Cholesky is worth saving) and predicts what the kernel path predicts,
    with zero and unequal row weights, a 3-row and a 1-row task, and an unseen
    task (1e-14 measured)."""
    rng = np.random.default_rng(0)
    T, n, d = 40, 1200, 5
    task = rng.integers(0, T, n)
    task[:3] = T
    task[3] = T + 1
    Xf = rng.standard_normal((n, d))
    y = Xf @ rng.standard_normal(d) + rng.standard_normal(T + 2)[task]
    y += 0.3 * rng.standard_normal(n)
    sw = rng.uniform(0, 2, n)
    sw[rng.random(n) < 0.1] = 0.0
    X = np.column_stack([task, Xf])
    X_new = X[:50].copy()
    if extra.get("unseen_task") == "shared":
        X_new[:5, 0] = 999
    fit = {"sample_weight": sw} if weighted else {}
    common = dict(kernel="linear", alpha=3.0, mu=0.5, task_column=0, **extra)
    auto = MultiTaskKernelRidge(**common).fit(X, y, **fit)
    exact = MultiTaskKernelRidge(solver="kernel", **common).fit(X, y, **fit)
    assert auto.solver_ == "linear" and auto.solver_detail_ == "mu-block"
    scale = float(np.max(np.abs(exact.predict(X_new))))
    assert_allclose(auto.predict(X_new), exact.predict(X_new), atol=1e-10 * scale)
    assert_allclose(auto.intercept_, exact.intercept_, atol=1e-10 * scale)
