"""Clustered and graph-regularised models: cvxpy, limits, recovery, engine parts."""

import numpy as np
import pytest
import scipy.sparse as sp
from _cvx import clustered, graph, loss_value, solve, task_lists
from numpy.testing import assert_allclose
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from skmtl._data import TaskData
from skmtl._optim.cg import conjugate_gradient
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.structured import ClusteredPenalty, GraphDesign, waterfill
from skmtl.datasets import make_multitask_regression
from skmtl.linear_model import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
)

RNG = np.random.default_rng(0)
TIGHT = {"tol": 1e-12, "max_iter": 100000, "alpha_intercepts": 0.0}


def _problem(T=5, d=4, n=70, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    task = rng.integers(0, T, n)
    task[: 2 * T] = np.repeat(np.arange(T), 2)
    centres = rng.standard_normal((2, d))
    W = centres[np.arange(T) % 2] + 0.3 * rng.standard_normal((T, d))
    y = np.einsum("ij,ij->i", X, W[task]) + 0.3 * rng.standard_normal(n) + 1.0
    return X, y, task, rng.uniform(0.5, 2.0, n)


def _shared_missing(T=4, d=3, n=30, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = X @ rng.standard_normal((T, d)).T + 0.3 * rng.standard_normal((n, T))
    Y[rng.random((n, T)) < 0.2] = np.nan
    return X, Y


def _compare(est, tasks, d, pen_value, penalty):
    Wc, bc, _ = solve(tasks, d, penalty, fit_intercept=est.fit_intercept)
    ours = loss_value(tasks, est.coef_, est.intercept_) + pen_value(est.coef_)
    theirs = loss_value(tasks, Wc, bc) + pen_value(Wc)
    assert_allclose(est.coef_, Wc, atol=1e-4)
    assert_allclose(est.intercept_, bc, atol=1e-4)
    assert ours <= theirs * (1 + 1e-6)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)


# ------------------------------------------------------------------- clustered
@pytest.mark.parametrize("k", [1, 2, 3])
def test_clustered_stacked_matches_cvxpy(k):
    X, y, task, sw = _problem()
    est = ClusteredMultiTaskRegression(k, alpha=0.5, beta=0.05, task_column=0, **TIGHT)
    est.fit(np.column_stack([task, X]), y, sample_weight=sw)
    pen = ClusteredPenalty(0.5, 0.05, k)
    _compare(est, task_lists(X, y, task, sw), 4, pen.value, clustered(0.5, 0.05, k))
    M = est.cluster_matrix_
    eig = np.linalg.eigvalsh(M)
    assert np.trace(M) == pytest.approx(k) and eig.min() > -1e-10
    assert eig.max() < 1 + 1e-10


def test_clustered_shared_missing_sparse_matches_cvxpy():
    X, Y = _shared_missing()
    est = ClusteredMultiTaskRegression(2, alpha=1.0, beta=0.1, **TIGHT)
    est.fit(sp.csr_matrix(X), Y)
    pen = ClusteredPenalty(1.0, 0.1, 2)
    _compare(est, task_lists(X, Y), 3, pen.value, clustered(1.0, 0.1, 2))


def test_clustered_recovers_clusters():
    X, y = make_multitask_regression(
        n_tasks=12,
        n_samples=40,
        n_features=10,
        structure="clustered",
        n_clusters=3,
        spread=0.1,
        random_state=0,
    )
    est = ClusteredMultiTaskRegression(
        3, alpha=2.0, beta=0.01, task_column=0, alpha_intercepts=0.0
    )
    est.fit(X, y)
    truth = np.arange(12) % 3  # the generator's assignment
    assert adjusted_rand_score(truth, est.task_clusters_) == 1.0


def test_clustered_alpha_zero_is_ridge():
    X, y, task, _ = _problem()
    beta = 0.2
    est = ClusteredMultiTaskRegression(2, alpha=0.0, beta=beta, task_column=0, **TIGHT)
    est.fit(np.column_stack([task, X]), y)
    for t in range(5):
        n_t = np.sum(task == t)
        ridge = Ridge(alpha=2 * n_t * beta).fit(X[task == t], y[task == t])
        assert_allclose(est.coef_[t], ridge.coef_, atol=1e-8)


def test_clustered_penalty_large_alpha_limit_is_squared_trace_norm():
    """alpha -> infinity: G(W) -> beta min_{tr M = k, M <= I} tr(W^T M^-1 W), which
    is beta ||W||_*^2 / k while k sigma_1 <= ||W||_* (M <= I inactive)."""
    U, _, Vt = np.linalg.svd(RNG.standard_normal((6, 5)), full_matrices=False)
    W = (U * np.array([3.0, 2.5, 2.0, 1.5, 1.0])) @ Vt  # 2 * 3 <= 10
    beta = 0.3
    limit = beta * 10.0**2 / 2
    for alpha, rel in ((1e3, 1e-2), (1e6, 1e-5)):
        assert ClusteredPenalty(alpha, beta, 2).value(W) == pytest.approx(
            limit, rel=rel
        )


def test_clustered_penalty_prox_and_conjugate():
    pen = ClusteredPenalty(0.7, 0.2, 2)
    W = RNG.standard_normal((5, 4))
    step = 0.3
    P = pen.prox(W, step)

    def obj(U):
        return 0.5 * np.sum((U - W) ** 2) + step * pen.value(U)

    for scale in (1e-1, 1e-3):
        for _ in range(30):
            assert obj(P + scale * RNG.standard_normal(W.shape)) >= obj(P) - 1e-12
    # Fenchel-Young: equality at V = grad G(W), inequality elsewhere
    V = pen.gradient(W)
    assert pen.value(W) + pen.conjugate(V) == pytest.approx(np.sum(W * V))
    for _ in range(20):
        V2 = RNG.standard_normal(W.shape)
        assert pen.value(W) + pen.conjugate(V2) >= np.sum(W * V2) - 1e-12
    # gradient by finite differences
    E = RNG.standard_normal(W.shape)
    fd = (pen.value(W + 1e-6 * E) - pen.value(W - 1e-6 * E)) / 2e-6
    assert fd == pytest.approx(np.sum(V * E), rel=1e-6)


def test_waterfill_solves_its_problem():
    s = np.array([4.0, 1.0, 0.25, 0.0, 2.0])
    m = waterfill(s, 0.3, 1.5, 2)
    assert m.sum() == pytest.approx(2) and m.min() >= 0 and m.max() <= 1

    def f(m):
        return np.sum(s / (0.3 + 1.5 * m))

    for _ in range(200):  # feasible random directions do not improve
        d = RNG.standard_normal(5)
        d -= d.mean()
        m2 = m + 1e-3 * d
        if m2.min() >= 0 and m2.max() <= 1:
            assert f(m2) >= f(m) - 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_waterfill_exact_level_equals_bisection(seed, monkeypatch):
    """The level found from the sorted knots of the piecewise-linear mass gives
    the bisection's answer (200 halvings), with zero entries, implicit zeros
    (``n_total``) and scales from 1e-6 to 1e6."""
    from skmtl._optim import structured

    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(200):
        n = int(rng.integers(2, 40))
        s = rng.exponential(1.0, n) * rng.choice([1e-6, 1.0, 1e6])
        s[rng.random(n) < 0.1] = 0.0
        base = float(rng.choice([0.0, 1e-3, 0.3, 10.0]))
        alpha = float(rng.choice([1e-3, 1.0, 100.0]))
        k = int(rng.integers(1, n))
        n_total = n + int(rng.integers(0, 5)) if rng.random() < 0.5 else None
        cases.append((s, base, alpha, k, n_total))
    exact = [waterfill(s, b, a, k, n_total=t) for s, b, a, k, t in cases]
    monkeypatch.setattr(structured, "_waterfill_level", lambda *args: None)
    for (s, b, a, k, t), m in zip(cases, exact):
        ref = waterfill(s, b, a, k, n_total=t)
        m, ref = (m, ref) if t is None else (m[0], ref[0])
        assert_allclose(m, ref, rtol=0, atol=1e-10)
        assert m.sum() == pytest.approx(ref.sum(), abs=1e-10)


# ----------------------------------------------------------------------- graph
CHAIN = np.diag(np.ones(4), 1) + np.diag(np.ones(4), -1)  # 5 tasks on a path


@pytest.mark.parametrize("l1_ratio", [0.0, 0.4])
@pytest.mark.parametrize("adjacency", ["chain", "complete"])
def test_graph_stacked_matches_cvxpy(l1_ratio, adjacency):
    X, y, task, sw = _problem()
    A = CHAIN if adjacency == "chain" else np.ones((5, 5)) - np.eye(5)
    est = GraphRegularizedMultiTaskRegression(
        A, alpha=0.3, l1_ratio=l1_ratio, task_column=0, **TIGHT
    ).fit(np.column_stack([task, X]), y, sample_weight=sw)
    L = np.diag(A.sum(1)) - A

    def pen_value(W):
        smooth = (1 - l1_ratio) * np.trace(W.T @ L @ W)
        return 0.3 * (smooth + l1_ratio * np.abs(W).sum())

    _compare(est, task_lists(X, y, task, sw), 4, pen_value, graph(0.3, l1_ratio, A))
    if l1_ratio:
        assert est.dual_gap_ <= 1e-12 * 10 and not hasattr(est, "gradient_norm_")
    else:
        assert est.gradient_norm_ <= 1e-12 and not hasattr(est, "dual_gap_")


def test_graph_shared_missing_sparse_matches_cvxpy():
    X, Y = _shared_missing()
    A = np.array([[0, 2, 0, 0], [2, 0, 1, 0], [0, 1, 0, 0.5], [0, 0, 0.5, 0]])
    est = GraphRegularizedMultiTaskRegression(A, alpha=0.2, l1_ratio=0.2, **TIGHT)
    est.fit(sp.csr_matrix(X), Y)
    L = np.diag(A.sum(1)) - A

    def pen_value(W):
        return 0.2 * (0.8 * np.trace(W.T @ L @ W) + 0.2 * np.abs(W).sum())

    _compare(est, task_lists(X, Y), 3, pen_value, graph(0.2, 0.2, A))


def test_graph_labels_as_dict_and_dataframe():
    pd = pytest.importorskip("pandas")
    X, y, task, _ = _problem()
    names = np.array(["a", "b", "c", "d", "e"])[task]
    Xs = np.column_stack([names, X]).astype(object)
    by_array = GraphRegularizedMultiTaskRegression(CHAIN, task_column=0, **TIGHT)
    edges = {("a", "b"): 1, ("b", "c"): 1, ("c", "d"): 1, ("d", "e"): 1}
    by_dict = GraphRegularizedMultiTaskRegression(edges, task_column=0, **TIGHT)
    order = ["e", "c", "a", "d", "b"]  # any order of the frame's labels
    frame = pd.DataFrame(CHAIN, index=list("abcde"), columns=list("abcde"))
    by_frame = GraphRegularizedMultiTaskRegression(
        frame.loc[order, order], task_column=0, **TIGHT
    )
    ref = by_array.fit(Xs, y).coef_
    for est in (by_dict, by_frame):
        assert_allclose(est.fit(Xs, y).coef_, ref, atol=1e-10)
        assert_allclose(est.adjacency_, CHAIN)


@pytest.mark.parametrize(
    "task_graph, match",
    [
        (np.ones((3, 3)), "must be \\(5, 5\\)"),
        (np.triu(np.ones((5, 5))), "symmetric"),
        (-CHAIN, "non-negative"),
        ({(0, 9): 1.0}, "9"),
    ],
)
def test_graph_bad_task_graph(task_graph, match):
    X, y, task, _ = _problem()
    est = GraphRegularizedMultiTaskRegression(
        task_graph, task_column=0, alpha_intercepts=0.0
    )
    with pytest.raises(ValueError, match=match):
        est.fit(np.column_stack([task, X]), y)


def test_graph_alpha_max_and_limits():
    X, y, task, _ = _problem(n=200)
    Xs = np.column_stack([task, X])
    corr = np.array(
        [
            (X[task == t] - X[task == t].mean(0)).T
            @ (y[task == t] - y[task == t].mean())
            / np.sum(task == t)
            for t in range(5)
        ]
    )
    amax = np.abs(corr).max() / 0.5
    zero = GraphRegularizedMultiTaskRegression(
        CHAIN, alpha=amax * 1.0001, l1_ratio=0.5, task_column=0, alpha_intercepts=0.0
    ).fit(Xs, y)
    assert_allclose(zero.coef_, 0.0, atol=1e-14)
    nonzero = GraphRegularizedMultiTaskRegression(
        CHAIN, alpha=amax * 0.99, l1_ratio=0.5, task_column=0, alpha_intercepts=0.0
    ).fit(Xs, y)
    assert np.abs(nonzero.coef_).max() > 0
    # alpha -> 0: independent least squares
    tiny = GraphRegularizedMultiTaskRegression(
        CHAIN, alpha=1e-10, task_column=0, tol=1e-12, alpha_intercepts=0.0
    ).fit(Xs, y)
    for t in range(5):
        ols = LinearRegression().fit(X[task == t], y[task == t])
        assert_allclose(tiny.coef_[t], ols.coef_, atol=1e-7)
    # alpha -> infinity on a connected graph: one common weight vector
    fused = GraphRegularizedMultiTaskRegression(
        CHAIN, alpha=1e6, task_column=0, tol=1e-12, alpha_intercepts=0.0
    ).fit(Xs, y)
    assert np.ptp(fused.coef_, axis=0).max() < 1e-4


def test_graph_design_adjoint_and_cg():
    n, d, T = 30, 4, 5
    data = TaskData(
        RNG.standard_normal((n, d)),
        RNG.standard_normal(n),
        np.arange(n) % T,
        None,
        np.ones(n),
        np.arange(T),
        "stacked",
    )
    for A in (CHAIN, np.ones((T, T)) - np.eye(T)):  # incidence and sqrt(L) paths
        g = GraphDesign(MultiTaskDesign(data, center=True), A, 0.7)
        W = RNG.standard_normal((T, d))
        G = RNG.standard_normal(g.Y.shape)
        assert np.sum(g.forward(W) * G) == pytest.approx(np.sum(W * g.adjoint(G)))
        B = np.asarray(g.B.todense()) if sp.issparse(g.B) else g.B
        assert_allclose(B.T @ B, np.diag(A.sum(1)) - A, atol=1e-12)
    H = RNG.standard_normal((6, 6))
    H = H @ H.T + 0.1 * np.eye(6)
    rhs = RNG.standard_normal((3, 2))
    res = conjugate_gradient(
        lambda x: (H @ x.ravel()).reshape(3, 2), rhs, np.zeros((3, 2)), tol=1e-12
    )
    assert res.converged
    assert_allclose(res.x.ravel(), np.linalg.solve(H, rhs.ravel()), atol=1e-10)


@pytest.mark.parametrize("layout", ["stacked", "stacked-sparse", "shared"])
@pytest.mark.parametrize("intercept", [False, True])
def test_task_lipschitz_direct_is_exact(layout, intercept):
    n, d, T = 45, 6, 4
    X = RNG.standard_normal((n, d))
    sw = RNG.uniform(0.5, 2, n)
    if layout == "shared":
        data = TaskData(
            X, RNG.standard_normal((n, T)), None, None, sw, np.arange(T), "shared"
        )
    else:
        task = np.arange(n) % T
        Xd = sp.csr_matrix(X) if layout == "stacked-sparse" else X
        data = TaskData(
            Xd, RNG.standard_normal(n), task, None, sw, np.arange(T), "stacked"
        )
    design = MultiTaskDesign(data, center=not intercept)
    lips = design.task_lipschitz_direct(intercept=intercept)
    data = design.data  # its rows, grouped by task in the stacked layout
    X = data.X.toarray() if sp.issparse(data.X) else data.X
    for t, rows in enumerate(data.task_indices()):
        om = design.omega[rows, t] if design.shared else design.omega[rows]
        Xt = X[rows] - (om @ X[rows] if not intercept else 0)
        if intercept:
            Xt = np.column_stack([Xt, np.ones(len(rows))])
        top = np.linalg.eigvalsh(Xt.T @ (om[:, None] * Xt))[-1]
        assert top <= lips[t] <= top * (1 + 1e-8)


# ------------------------------------------- clustered: thin-SVD path vs dense
class _DenseClusteredPenalty(ClusteredPenalty):
    """The former implementation: a dense eigendecomposition of ``W W^T``
    (``T x T``) and water-filling over all ``T`` eigenvalues, every call."""

    def _eig(self, W, base):
        lam, Q = np.linalg.eigh(W @ W.T)
        s = np.maximum(lam, 0.0)
        if self.alpha == 0:
            return s, Q, np.full(s.size, self.n_clusters / s.size)
        return s, Q, waterfill(s, base, self.alpha, self.n_clusters)

    def value(self, W):
        s, _, m = self._eig(W, self.beta)
        return float(np.sum(s * self._eigen_weights(m)))

    def gradient(self, W):
        _, Q, m = self._eig(W, self.beta)
        return 2 * (Q * self._eigen_weights(m)) @ (Q.T @ W)

    def prox(self, W, step):
        _, Q, m = self._eig(W, self.beta + 2 * step * self._c)
        shrink = 1.0 / (1.0 + 2 * step * self._eigen_weights(m))
        return (Q * shrink) @ (Q.T @ W)

    def conjugate(self, V):
        lam = np.linalg.eigvalsh(V @ V.T)[::-1][: self.n_clusters]
        top = float(np.sum(np.maximum(lam, 0.0)))
        return (self.beta * float(np.sum(V * V)) + self.alpha * top) / (4 * self._c)


@pytest.fixture
def one_thread():
    """Small dense LAPACK calls: threads only add contention."""
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize("rank", [4, 2, 0])
def test_clustered_penalty_thin_equals_dense(rank, one_thread):
    """rank 4 > k, rank 2 < k (W W^T has fewer positive eigenvalues than
    clusters) and W = 0; 120 tasks, 4 features."""
    rng = np.random.default_rng(rank)
    W = rng.standard_normal((120, rank)) @ rng.standard_normal((rank, 4))
    for alpha in (0.0, 0.7):
        thin, dense = (
            ClusteredPenalty(alpha, 0.2, 3),
            _DenseClusteredPenalty(alpha, 0.2, 3),
        )
        scale = max(1.0, float(np.sum(W * W)))
        assert thin.value(W) == pytest.approx(dense.value(W), rel=1e-12, abs=1e-14)
        assert_allclose(thin.gradient(W), dense.gradient(W), atol=1e-12 * scale)
        for step in (0.05, 3.0):
            assert_allclose(thin.prox(W, step), dense.prox(W, step), atol=1e-12 * scale)
        V = rng.standard_normal(W.shape)
        assert thin.conjugate(V) == pytest.approx(dense.conjugate(V), rel=1e-12)
        M = thin.cluster_matrix(W)
        assert np.trace(M) == pytest.approx(3)
        eig = np.linalg.eigvalsh(M)
        assert eig.min() > -1e-12 and eig.max() < 1 + 1e-12
        if rank > 3:  # M is unique when W W^T has more than k positive eigenvalues
            lam, Q = np.linalg.eigh(W @ W.T)
            m = waterfill(np.maximum(lam, 0.0), 0.2, alpha, 3) if alpha else 3 / 120
            assert_allclose(M, (Q * m) @ Q.T, atol=1e-10)


def test_clustered_fit_thin_equals_dense(monkeypatch, one_thread):
    """The estimator on 90 tasks x 3 rows: the thin-SVD penalty gives the dense
    solver's coefficients, cluster matrix and hard clusters."""
    rng = np.random.default_rng(3)
    T, d = 90, 4
    task = np.repeat(np.arange(T), 3)
    X = rng.standard_normal((3 * T, d))
    W = rng.standard_normal((3, d))[np.arange(T) % 3] + 0.2 * rng.standard_normal(
        (T, d)
    )
    y = np.einsum("ij,ij->i", X, W[task]) + 0.3 * rng.standard_normal(3 * T)
    Xs = np.column_stack([task, X])
    params = dict(n_clusters=3, alpha=1.0, beta=0.05, task_column=0, tol=1e-9)
    thin = ClusteredMultiTaskRegression(**params).fit(Xs, y)
    monkeypatch.setattr(
        ClusteredMultiTaskRegression,
        "_make_penalty",
        lambda self: _DenseClusteredPenalty(self.alpha, self.beta, self.n_clusters),
    )
    dense = ClusteredMultiTaskRegression(**params).fit(Xs, y)
    assert thin.n_iter_ == dense.n_iter_
    assert_allclose(thin.coef_, dense.coef_, rtol=0, atol=1e-10)
    assert_allclose(thin.intercept_, dense.intercept_, rtol=0, atol=1e-10)
    lam, Q = np.linalg.eigh(dense.coef_ @ dense.coef_.T)
    m = waterfill(np.maximum(lam, 0.0), 0.05, 1.0, 3)
    assert_allclose(thin.cluster_matrix_, (Q * m) @ Q.T, atol=1e-10)
    # the former rounding: k-means on the top eigenvectors of the dense M
    lam_M, Q_M = np.linalg.eigh((Q * m) @ Q.T)
    emb = Q_M[:, -3:] * np.sqrt(np.maximum(lam_M[-3:], 0.0))
    former = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(emb)
    assert adjusted_rand_score(thin.task_clusters_, former) == 1.0
