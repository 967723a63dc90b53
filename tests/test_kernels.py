"""skmtl.kernels: the multi-task kernel, its feature map and the task similarities."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.kernel_approximation import Nystroem
from sklearn.metrics.pairwise import polynomial_kernel, rbf_kernel

from skmtl._kernel._feature_map import _nystroem_basis
from skmtl.kernel_ridge import MultiTaskKernelRidge
from skmtl.kernels import (
    check_task_similarity,
    multitask_feature_map,
    multitask_kernel,
    task_similarity_from_graph,
    task_similarity_from_mu,
    task_similarity_sqrt,
)


def _problem(n=12, d=3, n_tasks=3, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, d), rng.randint(n_tasks, size=n)


def _loop_kernel(X, Y, tx, ty, B, k):
    """The definition, entry by entry."""
    K = np.empty((len(X), len(Y)))
    for i in range(len(X)):
        for j in range(len(Y)):
            K[i, j] = B[tx[i], ty[j]] * k(X[i : i + 1], Y[j : j + 1])[0, 0]
    return K


def _callable(a, b):
    """A user kernel in SVC's convention: the Gram matrix (dense or sparse rows)."""
    gram = a @ b.T
    return (np.asarray(gram.todense() if sp.issparse(gram) else gram) + 1.0) ** 2


@pytest.mark.parametrize(
    "kernel, params, k",
    [
        ("linear", {}, lambda a, b: a @ b.T),
        ("rbf", {"gamma": 0.3}, lambda a, b: rbf_kernel(a, b, gamma=0.3)),
        (
            "poly",
            {"degree": 2, "gamma": 0.5, "coef0": 1.0},
            lambda a, b: polynomial_kernel(a, b, degree=2, gamma=0.5, coef0=1.0),
        ),
        (_callable, {}, lambda a, b: (a @ b.T + 1.0) ** 2),
    ],
)
def test_multitask_kernel_matches_its_definition(kernel, params, k):
    X, tx = _problem()
    Y, ty = _problem(n=7, seed=1)
    B = task_similarity_from_mu(3, mu=0.7)
    K = multitask_kernel(X, tasks_X=tx, kernel=kernel, task_similarity=B, **params)
    assert_allclose(K, _loop_kernel(X, X, tx, tx, B, k), rtol=1e-12)
    K_xy = multitask_kernel(
        X, Y, tasks_X=tx, tasks_Y=ty, kernel=kernel, task_similarity=B, **params
    )
    assert_allclose(K_xy, _loop_kernel(X, Y, tx, ty, B, k), rtol=1e-12)
    K_sparse = multitask_kernel(
        sp.csr_matrix(X), tasks_X=tx, kernel=kernel, task_similarity=B, **params
    )
    assert_allclose(K_sparse, K, rtol=1e-12)


def test_multitask_kernel_input_errors():
    X, tx = _problem()
    B = task_similarity_from_mu(3)
    with pytest.raises(ValueError, match=r"integer task codes in \[0, 3\)"):
        multitask_kernel(X, tasks_X=tx + 1, task_similarity=B)
    with pytest.raises(ValueError, match="one task code per row"):
        multitask_kernel(X, tasks_X=tx[:-1], task_similarity=B)
    with pytest.raises(ValueError, match="tasks_Y"):
        multitask_kernel(X, X, tasks_X=tx, task_similarity=B)
    with pytest.raises(ValueError, match="features"):
        multitask_kernel(X, X[:, :2], tasks_X=tx, tasks_Y=tx, task_similarity=B)
    with pytest.raises(ValueError, match="Unknown kernel"):
        multitask_kernel(X, tasks_X=tx, kernel="gaussian", task_similarity=B)
    with pytest.raises(ValueError, match="Gram matrix"):
        multitask_kernel(
            X, tasks_X=tx, kernel=lambda a, b: np.ones(3), task_similarity=B
        )


def test_task_similarity_from_mu():
    B = task_similarity_from_mu(4, mu=0.25)
    assert_allclose(B, 4.0 * np.ones((4, 4)) + np.eye(4))
    assert_allclose(task_similarity_from_mu(3, mu=np.inf), np.eye(3))
    with pytest.raises(ValueError, match="mu"):
        task_similarity_from_mu(3, mu=0.0)


@pytest.mark.parametrize(
    "B, match",
    [
        (np.ones((2, 3)), "square"),
        (np.eye(4), r"4 tasks|shape \(4, 4\) but there are 3"),
        (np.array([[1.0, 0.5, 0], [0.4, 1, 0], [0, 0, 1]]), "symmetric"),
        (np.array([[1.0, 2.0, 0], [2.0, 1, 0], [0, 0, 1]]), "positive semi-definite"),
        (np.array([[1.0, np.nan, 0], [np.nan, 1, 0], [0, 0, 1]]), "NaN"),
    ],
)
def test_check_task_similarity_errors(B, match):
    with pytest.raises(ValueError, match=match):
        check_task_similarity(B, n_tasks=3)


def test_check_task_similarity_accepts_psd_and_round_off():
    F = np.random.RandomState(0).randn(4, 2)
    B = F @ F.T  # rank 2: two eigenvalues are round-off around 0
    B[0, 1] += 1e-14
    out = check_task_similarity(B, n_tasks=4)
    assert_allclose(out, out.T, rtol=0, atol=0)
    S = task_similarity_sqrt(B)
    assert_allclose(S @ S.T, B, atol=1e-12)
    assert_allclose(S, S.T, atol=1e-12)


def _laplacian_oracle_coef(X, y, task, A, rho, alpha):
    """Primal ridge with the graph regulariser, solved as one linear system.

    min_W sum_i (y_i - x_i w_{t_i})^2 + alpha * (sum_{s<t} A_st ||w_s - w_t||^2
                                               + rho * sum_t ||w_t||^2)
    """
    n_tasks, d = A.shape[0], X.shape[1]
    L = np.diag(A.sum(1)) - A
    E = L + rho * np.eye(n_tasks)
    H = alpha * np.kron(E, np.eye(d))
    g = np.zeros(n_tasks * d)
    for t in range(n_tasks):
        Xt, yt = X[task == t], y[task == t]
        H[t * d : (t + 1) * d, t * d : (t + 1) * d] += Xt.T @ Xt
        g[t * d : (t + 1) * d] = Xt.T @ yt
    return np.linalg.solve(H, g).reshape(n_tasks, d)


def test_graph_similarity_is_the_laplacian_regulariser():
    rng = np.random.RandomState(0)
    n_tasks, d = 4, 3
    A = np.array([[0, 2, 0, 0], [2, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]], dtype=float)
    task = np.repeat(np.arange(n_tasks), 15)
    X = rng.randn(len(task), d)
    y = rng.randn(len(task))
    alpha, rho = 0.7, 0.3
    B = task_similarity_from_graph(A, rho=rho)
    assert_allclose(B, np.linalg.inv(np.diag(A.sum(1)) - A + rho * np.eye(4)))
    model = MultiTaskKernelRidge(
        alpha=alpha,
        kernel="linear",
        task_similarity=B,
        fit_intercept=False,
        task_column=0,
    ).fit(np.column_stack([task, X]), y)
    assert_allclose(
        model.coef_, _laplacian_oracle_coef(X, y, task, A, rho, alpha), rtol=1e-8
    )


def test_graph_similarity_normalized_and_errors():
    A = np.array([[0, 1, 0], [1, 0, 3], [0, 3, 0]], dtype=float)
    deg = A.sum(1)
    L = np.eye(3) - A / np.sqrt(np.outer(deg, deg))
    B = task_similarity_from_graph(sp.csr_matrix(A), rho=0.5, normalized=True)
    assert_allclose(B, np.linalg.inv(L + 0.5 * np.eye(3)), rtol=1e-12)
    check_task_similarity(B, n_tasks=3)
    with pytest.raises(ValueError, match="symmetric"):
        task_similarity_from_graph(np.triu(A))
    with pytest.raises(ValueError, match="non-negative"):
        task_similarity_from_graph(-A)
    with pytest.raises(ValueError, match="square"):
        task_similarity_from_graph(A[:2])


@pytest.mark.parametrize("sparse", [False, True])
def test_feature_map_reproduces_the_kernel(sparse):
    X, tx = _problem(n=20, d=4, n_tasks=3)
    X[X < -0.5] = 0.0  # some structural zeros
    Xin = sp.csr_matrix(X) if sparse else X
    mu = 0.4
    B = task_similarity_from_mu(3, mu=mu)
    K = multitask_kernel(X, tasks_X=tx, task_similarity=B)
    mu_factor = np.hstack([np.full((3, 1), mu**-0.5), np.eye(3)])
    for F in (task_similarity_sqrt(B), mu_factor):
        Phi = multitask_feature_map(Xin, tasks=tx, task_factor=F)
        assert sp.isspmatrix_csr(Phi) and Phi.has_sorted_indices
        dense = np.stack([np.kron(F[t], x) for t, x in zip(tx, X)])
        assert_allclose(Phi.toarray(), dense, rtol=1e-14)
        assert_allclose((Phi @ Phi.T).toarray(), K, rtol=1e-10, atol=1e-12)
    # the mu factor stores 2 * nnz(x) entries per row
    Phi = multitask_feature_map(Xin, tasks=tx, task_factor=mu_factor)
    assert Phi.nnz == 2 * np.count_nonzero(X)


def test_nystroem_basis_is_sklearns_nystroem():
    X = np.random.RandomState(0).randn(50, 4)
    basis, norm = _nystroem_basis(X, 20, "rbf", {"gamma": 0.2}, 0)
    psi = rbf_kernel(X, basis, gamma=0.2) @ norm.T
    ref = Nystroem(kernel="rbf", gamma=0.2, n_components=20, random_state=0)
    assert_allclose(psi, ref.fit_transform(X), rtol=1e-10, atol=1e-12)
    # capped at n rows: exact on the rows themselves
    basis, norm = _nystroem_basis(X[:10], 30, "rbf", {"gamma": 0.2}, 0)
    psi = rbf_kernel(X[:10], basis, gamma=0.2) @ norm.T
    assert_allclose(psi @ psi.T, rbf_kernel(X[:10], gamma=0.2), atol=1e-8)
