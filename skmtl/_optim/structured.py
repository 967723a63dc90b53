"""Task-structure terms: the clustered-MTL penalty and the task-graph quadratic.

``ClusteredPenalty`` is the convex relaxation of clustered multi-task learning
(Zhou, Chen & Ye 2011; Jacob, Bach & Vert 2008; MALSAR ``Least_CMTL``)::

    G(W) = min_{M in M_k}  beta (alpha + beta) tr(W^T (beta I + alpha M)^{-1} W)
    M_k  = {M in S^T : 0 <= M <= I, tr M = k}

(``W`` is ``(T, d)``, ``M`` is ``T x T``). With ``M = F F^T`` for a normalised
cluster indicator ``F`` it equals ``alpha * (within-cluster scatter of the rows of
W) + beta * ||W||_F^2`` on the cluster directions; MALSAR writes it with
``rho1 = alpha``, ``rho2 = beta``, ``eta = beta / alpha``. ``G`` is a convex,
``2 (alpha + beta)``-smooth spectral function of ``W``: its prox and value need
only the eigendecomposition of ``W W^T`` (``T x T``) and a water-filling problem
for the eigenvalues of ``M``; its conjugate is finite everywhere (Ky Fan)::

    G*(V) = (beta ||V||_F^2 + alpha * sum of the k largest sigma_i(V)^2)
            / (4 beta (alpha + beta))

so the duality gap of the engine applies with ``dual_scale = 1``.

``GraphDesign`` appends the task-graph quadratic
``c * sum_{s<t} a_st ||w_s - w_t||^2 = c * ||B W||_F^2`` (``B^T B = L``, the graph
Laplacian) to the outputs of a :class:`MultiTaskDesign`, so that the squared-loss
datafit on the stacked outputs ``[A W; B W]`` with weights ``[omega; 2 c]`` is the
smooth part of MALSAR's ``Least_SRMTL`` and its Fenchel dual is the usual one.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = ["ClusteredPenalty", "GraphDesign", "graph_laplacian", "waterfill"]


def waterfill(s, base, alpha, k, n_halvings=200):
    """``argmin_m sum_i s_i / (base + alpha m_i)``, ``0 <= m <= 1``, ``sum m = k``.

    KKT: ``m_i = clip((sqrt(s_i) tau - base) / alpha, 0, 1)`` with ``tau`` set by
    bisection so that ``sum m = k``. Entries with ``s_i = 0`` do not affect the
    value; they take the mass left once every positive entry is saturated.
    """
    s = np.maximum(np.asarray(s, dtype=float), 0.0)
    T = s.size
    root = np.sqrt(s)
    pos = root > 0
    m = np.zeros(T)
    if pos.sum() <= k:
        m[pos] = 1.0
        rest = T - pos.sum()
        if rest:
            m[~pos] = (k - pos.sum()) / rest
        return m

    def mass(tau):
        return np.clip((root * tau - base) / alpha, 0.0, 1.0)

    lo, hi = 0.0, (base + alpha) / root[pos].min()
    for _ in range(n_halvings):
        mid = 0.5 * (lo + hi)
        if mass(mid).sum() < k:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-16 * hi:
            break
    return mass(0.5 * (lo + hi))


def top_eigvals(S, k):
    """The ``k`` largest eigenvalues of a dense symmetric ``S`` (partial)."""
    m = S.shape[0]
    k = min(k, m)
    return scipy.linalg.eigvalsh(S, subset_by_index=[m - k, m - 1])[::-1]


def _gram_eig(W):
    """Eigenvalues (clipped at 0) and eigenvectors of ``W W^T`` (``T x T``)."""
    lam, Q = np.linalg.eigh(W @ W.T)
    return np.maximum(lam, 0.0), Q


class ClusteredPenalty:
    """Convex clustered-MTL penalty ``G(W)`` (module docstring), ``k`` clusters.

    Parameters
    ----------
    alpha : float >= 0
        Weight of the within-cluster scatter.
    beta : float > 0
        Weight of the squared norm (keeps ``G`` strongly convex).
    n_clusters : int
        ``k``, at most the number of tasks.
    """

    def __init__(self, alpha, beta, n_clusters):
        self.alpha = alpha
        self.beta = beta
        self.n_clusters = n_clusters
        self._c = beta * (alpha + beta)

    def _eigen_weights(self, m):
        """Eigenvalues of ``beta (alpha + beta) (beta I + alpha M)^{-1}``."""
        return self._c / (self.beta + self.alpha * m)

    def cluster_matrix(self, W):
        """The minimising ``M`` at ``W`` (``T x T``) and its eigenvalues."""
        s, Q = _gram_eig(W)
        m = self._m(s, self.beta)
        return (Q * m) @ Q.T, m

    def _m(self, s, base):
        if self.alpha == 0:
            return np.full(s.size, self.n_clusters / s.size)
        return waterfill(s, base, self.alpha, self.n_clusters)

    def value(self, W):
        s, _ = _gram_eig(W)
        return float(np.sum(s * self._eigen_weights(self._m(s, self.beta))))

    def gradient(self, W):
        """``2 beta (alpha + beta) (beta I + alpha M*)^{-1} W`` (Danskin)."""
        s, Q = _gram_eig(W)
        d = self._eigen_weights(self._m(s, self.beta))
        return 2 * (Q * d) @ (Q.T @ W)

    def prox(self, W, step):
        s, Q = _gram_eig(W)
        m = self._m(s, self.beta + 2 * step * self._c)
        shrink = 1.0 / (1.0 + 2 * step * self._eigen_weights(m))
        return (Q * shrink) @ (Q.T @ W)

    def dual_scale(self, V):
        return 1.0

    def conjugate(self, V):
        top = float(np.sum(np.maximum(top_eigvals(V @ V.T, self.n_clusters), 0.0)))
        total = float(np.sum(V * V))
        return (self.beta * total + self.alpha * top) / (4 * self._c)


def graph_laplacian(A):
    """Laplacian ``D - A`` of a symmetric non-negative adjacency (dense array)."""
    A = np.array(A, dtype=float)
    np.fill_diagonal(A, 0.0)
    return np.diag(A.sum(axis=1)) - A


def _graph_factor(A):
    """``B`` with ``B^T B = L``: weighted incidence (sparse) when there are at most
    ``T`` edges, else the symmetric square root of ``L`` (``T x T``)."""
    A = np.array(A, dtype=float)
    np.fill_diagonal(A, 0.0)
    T = A.shape[0]
    s, t = np.nonzero(np.triu(A, 1))
    if len(s) <= T:
        w = np.sqrt(A[s, t])
        rows = np.repeat(np.arange(len(s)), 2)
        cols = np.column_stack([s, t]).ravel()
        vals = np.column_stack([w, -w]).ravel()
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(s), T))
    lam, Q = np.linalg.eigh(graph_laplacian(A))
    return (Q * np.sqrt(np.maximum(lam, 0.0))) @ Q.T


class GraphDesign:
    """A :class:`MultiTaskDesign` whose outputs are extended by ``B W``.

    Outputs are flat vectors ``[ravel(A W), ravel(B W)]``; ``Y`` and ``omega`` are
    extended by zeros and ``2 c``, so ``Quadratic`` on them is
    ``f(A W) + c tr(W^T L W)``. Only for the squared loss without joint intercepts
    (centring removes them).
    """

    def __init__(self, base, adjacency, c):
        self.base = base
        self.B = _graph_factor(adjacency)
        self.c = c
        self.n_tasks, self.n_features = base.n_tasks, base.n_features
        self.dtype = base.dtype
        self.center = base.center
        self._n_out = base.Y.size
        self._shape = base.Y.shape
        n_graph = self.B.shape[0] * self.n_features
        self.Y = np.concatenate([base.Y.ravel(), np.zeros(n_graph, self.dtype)])
        self.omega = np.concatenate(
            [base.omega.ravel(), np.full(n_graph, 2.0 * c, self.dtype)]
        )
        L = graph_laplacian(adjacency)
        self.graph_lipschitz = 2.0 * c * float(np.linalg.eigvalsh(L)[-1])

    def forward(self, W):
        return np.concatenate(
            [self.base.forward(W).ravel(), np.asarray(self.B @ W).ravel()]
        )

    def adjoint(self, G):
        G_data = G[: self._n_out].reshape(self._shape)
        G_graph = G[self._n_out :].reshape(self.B.shape[0], self.n_features)
        return self.base.adjoint(G_data) + np.asarray(self.B.T @ G_graph)

    def intercept(self, W):
        return self.base.intercept(W)

    def lipschitz(self):
        """Bound on the Lipschitz constant of ``W -> A*(omega A W) + 2c L W``."""
        data = float(np.max(self.base.task_lipschitz_direct(), initial=0.0))
        return data + self.graph_lipschitz
