"""MultiTaskKernelRidge against closed forms (everything here is a direct solve, so
the tolerances are round-off: rtol 1e-8 unless an iterative solver is involved)."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import rbf_kernel

import skmtl.kernel_ridge as kr_module
from skmtl.datasets import make_multitask_regression
from skmtl.kernel_ridge import MultiTaskKernelRidge, MultiTaskKernelRidgeCV


def _data(n=25, n_tasks=3, d=4, seed=0):
    return make_multitask_regression(
        n_tasks=n_tasks,
        n_samples=n,
        n_features=d,
        structure="mean",
        spread=0.5,
        random_state=seed,
    )


def _hand_kernel(X1, X2, mu, gamma=None):
    B = 1.0 / mu + (X1[:, [0]] == X2[:, 0][None, :])
    if gamma is None:
        return B * (X1[:, 1:] @ X2[:, 1:].T)
    return B * rbf_kernel(X1[:, 1:], X2[:, 1:], gamma=gamma)


@pytest.mark.parametrize("gamma", [None, 0.4])
def test_closed_form_and_sklearn_kernel_ridge(gamma):
    X, y = _data()
    X_new = _data(n=8, seed=3)[0]
    mu, alpha = 0.8, 0.3
    kernel = "linear" if gamma is None else "rbf"
    model = MultiTaskKernelRidge(
        fit_intercept=False,
        alpha=alpha,
        kernel=kernel,
        gamma=gamma,
        mu=mu,
        task_column=0,
    ).fit(X, y)
    K = _hand_kernel(X, X, mu, gamma)
    dual = np.linalg.solve(K + alpha * np.eye(len(y)), y)
    assert_allclose(model.dual_coef_, dual, rtol=1e-8)
    K_new = _hand_kernel(X_new, X, mu, gamma)
    assert_allclose(model.predict(X_new), K_new @ dual, rtol=1e-8)
    ref = KernelRidge(alpha=alpha, kernel="precomputed").fit(K, y)
    assert_allclose(model.predict(X_new), ref.predict(K_new), rtol=1e-8)


def test_sample_weight_closed_form_and_repetition():
    X, y = _data()
    sw = np.random.RandomState(0).randint(0, 3, len(y)).astype(float)
    model = MultiTaskKernelRidge(fit_intercept=False, alpha=0.5, mu=2.0, task_column=0)
    model.fit(X, y, sample_weight=sw)
    # minimiser of sum_i s_i (y_i - f_i)^2 + alpha ||f||^2: (K + alpha S^-1)^-1 y
    # on the rows of positive weight
    keep = sw > 0
    K = _hand_kernel(X[keep], X[keep], 2.0)
    dual = np.linalg.solve(K + 0.5 * np.diag(1.0 / sw[keep]), y[keep])
    assert_allclose(model.predict(X), _hand_kernel(X, X[keep], 2.0) @ dual, rtol=1e-8)
    # an integer weight is the row repeated
    reps = np.repeat(np.arange(len(y)), sw.astype(int))
    rep = MultiTaskKernelRidge(
        fit_intercept=False, alpha=0.5, mu=2.0, task_column=0
    ).fit(X[reps], y[reps])
    assert_allclose(model.predict(X), rep.predict(X), rtol=1e-8)


def test_mu_form_is_the_w0_plus_v_primal():
    """coef_ minimises sum (y - x w_t)^2 + alpha (mu ||w0||^2 + sum ||w_t - w0||^2)
    over (w0, W): one linear system in (w0, w_1 .. w_T)."""
    X, y = _data()
    task, Z = X[:, 0].astype(int), X[:, 1:]
    T, d, mu, alpha = 3, 4, 0.6, 0.9
    H = np.zeros(((T + 1) * d, (T + 1) * d))
    g = np.zeros((T + 1) * d)
    eye = np.eye(d)
    H[:d, :d] = alpha * (mu + T) * eye
    for t in range(T):
        blk = slice((t + 1) * d, (t + 2) * d)
        Zt = Z[task == t]
        H[blk, blk] = Zt.T @ Zt + alpha * eye
        H[:d, blk] = H[blk, :d] = -alpha * eye
        g[blk] = Zt.T @ y[task == t]
    sol = np.linalg.solve(H, g)
    model = MultiTaskKernelRidge(
        fit_intercept=False, alpha=alpha, mu=mu, task_column=0
    ).fit(X, y)
    assert_allclose(model.coef_, sol[d:].reshape(T, d), rtol=1e-8)


@pytest.mark.parametrize("similarity", [None, "user"])
def test_linear_path_equals_kernel_path(similarity):
    X, y = _data()
    X_new = _data(n=8, seed=4)[0]
    X_new[0, 0] = 7  # an unseen task
    B = None
    if similarity == "user":
        F = np.random.RandomState(1).randn(3, 3)
        B = F @ F.T + 0.1 * np.eye(3)
    kw = dict(alpha=0.4, mu=0.5, task_similarity=B, task_column=0, unseen_task="shared")
    k = MultiTaskKernelRidge(solver="kernel", **kw).fit(X, y)
    lin = MultiTaskKernelRidge(solver="linear", **kw).fit(X, y)
    assert_allclose(lin.predict(X_new), k.predict(X_new), rtol=1e-8, atol=1e-10)
    assert_allclose(lin.coef_, k.coef_, rtol=1e-8, atol=1e-12)


def test_explicit_ridge_solvers_agree_with_kernel_path(monkeypatch):
    X, y = _data()
    kernel = MultiTaskKernelRidge(alpha=0.4, solver="kernel", task_column=0).fit(X, y)
    blocks = MultiTaskKernelRidge(alpha=0.4, solver="linear", task_column=0)
    assert blocks.fit(X, y).solver_detail_ == "mu-block"
    monkeypatch.setattr(kr_module, "_BLOCK_MAX_FEATURES", 0)
    chol = MultiTaskKernelRidge(alpha=0.4, solver="linear", task_column=0)
    assert chol.fit(X, y).solver_detail_ == "cholesky"
    monkeypatch.setattr(kr_module, "_DIRECT_MAX", 2)
    lsqr = MultiTaskKernelRidge(
        alpha=0.4, solver="linear", tol=1e-10, task_column=0
    ).fit(X, y)
    assert lsqr.solver_detail_ == "lsqr"
    for model in (blocks, chol):
        assert_allclose(model.predict(X), kernel.predict(X), rtol=1e-8)
    assert_allclose(lsqr.predict(X), kernel.predict(X), rtol=1e-6)
    monkeypatch.undo()
    sw = np.random.RandomState(0).uniform(0.0, 3.0, len(y))
    kw = dict(alpha=0.4, mu=3.0, task_column=0)
    weighted = MultiTaskKernelRidge(solver="linear", **kw).fit(X, y, sample_weight=sw)
    assert weighted.solver_detail_ == "mu-block"
    ref = MultiTaskKernelRidge(solver="kernel", **kw).fit(X, y, sample_weight=sw)
    assert_allclose(weighted.predict(X), ref.predict(X), rtol=1e-8)


def test_nystroem_with_every_row_as_landmark_is_exact():
    """n_components >= n: psi(x) . psi(z) = k(x, L) K_LL^-1 k(L, z) equals k(x, z)
    whenever z is a training row, which is all that predictions need."""
    X, y = _data()
    X_new = _data(n=8, seed=5)[0]
    kw = dict(alpha=0.3, kernel="rbf", gamma=0.5, mu=1.5, task_column=0)
    k = MultiTaskKernelRidge(solver="kernel", **kw).fit(X, y)
    ny = MultiTaskKernelRidge(solver="nystroem", n_components=500, **kw).fit(X, y)
    assert_allclose(ny.predict(X_new), k.predict(X_new), rtol=1e-6, atol=1e-8)


def test_shared_layout_sparse_and_missing():
    X, Y = make_multitask_regression(
        n_tasks=3,
        n_samples=20,
        n_features=4,
        structure="mean",
        layout="shared",
        random_state=0,
    )
    Y[[1, 4], [0, 2]] = np.nan
    model = MultiTaskKernelRidge(alpha=0.2, kernel="rbf").fit(X, Y)
    pred = model.predict(X)
    assert pred.shape == (20, 3)
    obs = ~np.isnan(Y.T.ravel())
    Xs = np.column_stack([np.repeat(np.arange(3), 20), np.tile(X, (3, 1))])
    stacked = MultiTaskKernelRidge(alpha=0.2, kernel="rbf", task_column=0).fit(
        Xs[obs], Y.T.ravel()[obs]
    )
    assert_allclose(pred.T.ravel(), stacked.predict(Xs), rtol=1e-8)
    sparse = MultiTaskKernelRidge(alpha=0.2, kernel="rbf").fit(sp.csr_matrix(X), Y)
    assert_allclose(sparse.predict(sp.csr_matrix(X)), pred, rtol=1e-8)
    assert 0.0 < model.score(X, Y) <= 1.0


def test_alpha_zero_singular_warns():
    X, y = _data()
    X = np.column_stack([X[:, :2], X[:, 1]])  # rank-deficient linear kernel
    with pytest.warns(UserWarning, match="least-squares"):
        MultiTaskKernelRidge(alpha=0.0, mu=1.0, task_column=0).fit(X, y)


def test_changing_X_after_fit_does_not_change_predictions():
    # issue 10, defect 2: X_fit_ was a no-copy slice of the caller's X
    X, y = _data()
    X = np.ascontiguousarray(X, dtype=np.float64)
    X_new = _data(n=8, seed=3)[0]
    model = MultiTaskKernelRidge(kernel="rbf", task_column=0).fit(X, y)
    before = model.predict(X_new)
    X[:, 1:] += 10.0
    assert not np.shares_memory(model.X_fit_, X)
    assert_allclose(model.predict(X_new), before, rtol=0, atol=0)


def test_blocks_loo_skips_a_strength_whose_system_is_not_positive_definite():
    """Features ~1e6, explicit small strengths, the block solver: at alpha=1 the
    mixed-model system of this draw is not positive definite in floating point.
    That candidate's leave-one-out criterion is infinite (before, the fit raised
    numpy's LinAlgError), and the other one is chosen."""
    rng = np.random.default_rng(12)
    n = rng.integers(6, 14)
    task = rng.integers(0, 2, n)
    task[:2] = [0, 1]
    X = np.column_stack([task, rng.standard_normal((n, 3)) * 1e6])
    y = rng.standard_normal(n)
    est = MultiTaskKernelRidgeCV(
        task_column=0, alphas=[0.1, 1.0], alphas_intercepts=[1.0], solver="linear"
    ).fit(X, y)
    assert est.alpha_ == 0.1
    assert np.all(np.isfinite(est.predict(X)))
