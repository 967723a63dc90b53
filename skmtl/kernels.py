"""Multi-task kernels: K((x, s), (z, t)) = B[s, t] * k(x, z).

Regularised multi-task learning (Evgeniou & Pontil 2004) writes the weights of task
``t`` as ``w_t = w_0 + v_t``. Its dual is an ordinary kernel machine whose kernel
multiplies a base kernel ``k`` on the features by a task-similarity matrix ``B``
(Evgeniou, Micchelli & Pontil 2005): any symmetric positive semi-definite ``B`` gives
a valid kernel. This module holds the one implementation of that kernel, of its
explicit feature map and of the task-similarity builders; ``skmtl.svm`` and
``skmtl.kernel_ridge`` are built on it.

Task similarity ``B`` (``n_tasks x n_tasks``, rows and columns in the order of the
integer task codes, i.e. of an estimator's ``tasks_``):

- :func:`task_similarity_from_mu`: ``B = (1/mu) 11^T + I``, the ``w_t = w_0 + v_t``
  model; large ``mu``: nearly independent tasks, small ``mu``: nearly one pooled
  function.
- :func:`task_similarity_from_graph`: ``B = (L + rho I)^{-1}`` for the Laplacian
  ``L`` of a task graph: the regulariser ``sum_{s<t} A_st ||w_s - w_t||^2 +
  rho sum_t ||w_t||^2`` pulls tasks joined by an edge together.
- any user matrix, checked by :func:`check_task_similarity`.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels
from sklearn.utils import check_array, check_random_state

from ._compat import Interval, validate_params

__all__ = [
    "KERNELS",
    "multitask_kernel",
    "multitask_feature_map",
    "task_similarity_from_mu",
    "task_similarity_from_graph",
    "task_similarity_sqrt",
    "check_task_similarity",
]

#: Names accepted as base kernel (those of :func:`sklearn.metrics.pairwise_kernels`).
KERNELS = tuple(sorted(PAIRWISE_KERNEL_FUNCTIONS))

# relative tolerances of the symmetry and PSD checks of a task-similarity matrix
_SYM_RTOL = 1e-8
_PSD_RTOL = 1e-8


# --------------------------------------------------------------------- base kernel
def _base_kernel(X, Y, kernel, params):
    """Base kernel ``k(X, Y)`` as a dense float64 array.

    ``kernel`` is a name of :data:`KERNELS` (``params`` are passed on, e.g.
    ``gamma``, ``degree``, ``coef0``) or a callable ``kernel(X, Y, **params)``
    returning the ``(n_X, n_Y)`` Gram matrix (scikit-learn ``SVC``'s convention).
    """
    if callable(kernel):
        K = kernel(X, Y, **params)
        K = K.toarray() if sp.issparse(K) else np.asarray(K, dtype=np.float64)
        if K.shape != (X.shape[0], Y.shape[0]):
            raise ValueError(
                f"The kernel callable returned shape {K.shape}; expected the Gram "
                f"matrix of shape {(X.shape[0], Y.shape[0])}."
            )
        return K
    if kernel not in PAIRWISE_KERNEL_FUNCTIONS:
        raise ValueError(f"Unknown kernel {kernel!r}; choose from {list(KERNELS)}.")
    K = pairwise_kernels(X, Y, metric=kernel, **params)
    return np.asarray(K, dtype=np.float64)


def _multitask_gram(X, Y, tasks_X, tasks_Y, task_similarity, kernel, params):
    """``B[tasks_X][:, tasks_Y] * k(X, Y)`` without any validation (internal)."""
    K = _base_kernel(X, Y, kernel, params)
    K *= np.take(task_similarity[tasks_X], tasks_Y, axis=1)
    return K


def _check_codes(tasks, n_rows, n_tasks, name):
    tasks = np.asarray(tasks)
    if tasks.ndim != 1 or tasks.shape[0] != n_rows:
        raise ValueError(
            f"{name} must hold one task code per row: expected shape ({n_rows},), "
            f"got {tasks.shape}."
        )
    if tasks.size and (
        tasks.dtype.kind not in "iu" or tasks.min() < 0 or tasks.max() >= n_tasks
    ):
        raise ValueError(
            f"{name} must hold integer task codes in [0, {n_tasks}) indexing the rows "
            "of task_similarity; encode labels first, e.g. with np.unique(labels, "
            "return_inverse=True)."
        )
    return tasks.astype(np.intp, copy=False)


def multitask_kernel(
    X, Y=None, *, tasks_X, tasks_Y=None, kernel="linear", task_similarity, **params
):
    """Multi-task kernel matrix ``K[i, j] = B[tasks_X[i], tasks_Y[j]] * k(X[i], Y[j])``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples_X, n_features)
        Features (no task column).
    Y : {array-like, sparse matrix} of shape (n_samples_Y, n_features), default=None
        Second set of rows; ``None`` means ``Y = X`` (and ``tasks_Y = tasks_X``).
    tasks_X : array-like of int of shape (n_samples_X,)
        Task code of each row of ``X``: an index into ``task_similarity``.
    tasks_Y : array-like of int of shape (n_samples_Y,), default=None
        Task code of each row of ``Y``; required when ``Y`` is given.
    kernel : str or callable, default="linear"
        Base kernel on the features: a name of :data:`KERNELS` (those of
        :func:`sklearn.metrics.pairwise_kernels`: "linear", "rbf", "poly",
        "sigmoid", "laplacian", "cosine", "chi2", ...) or a callable
        ``kernel(X, Y, **params)`` returning the Gram matrix.
    task_similarity : array-like of shape (n_tasks, n_tasks)
        Symmetric positive semi-definite task similarity ``B`` (checked by
        :func:`check_task_similarity`), e.g. :func:`task_similarity_from_mu`.
    **params
        Parameters of the base kernel (``gamma``, ``degree``, ``coef0``, ...).

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y)

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.kernels import multitask_kernel, task_similarity_from_mu
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> B = task_similarity_from_mu(2, mu=1.0)  # [[2, 1], [1, 2]]
    >>> multitask_kernel(X, tasks_X=[0, 0, 1], task_similarity=B)
    array([[2., 0., 1.],
           [0., 2., 1.],
           [1., 1., 4.]])
    """
    B = check_task_similarity(task_similarity)
    X = check_array(X, accept_sparse=("csr", "csc"), dtype=np.float64)
    tasks_X = _check_codes(tasks_X, X.shape[0], B.shape[0], "tasks_X")
    if Y is None:
        if tasks_Y is not None:
            raise ValueError("tasks_Y is given but Y is None; pass Y as well.")
        Y, tasks_Y = X, tasks_X
    else:
        if tasks_Y is None:
            raise ValueError("Y is given: pass its task codes as tasks_Y.")
        Y = check_array(Y, accept_sparse=("csr", "csc"), dtype=np.float64)
        if Y.shape[1] != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features but Y has {Y.shape[1]}; they must match."
            )
        tasks_Y = _check_codes(tasks_Y, Y.shape[0], B.shape[0], "tasks_Y")
    return _multitask_gram(X, Y, tasks_X, tasks_Y, B, kernel, params)


# --------------------------------------------------------------- task similarity
@validate_params(
    {
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "mu": [Interval(Real, 0, None, closed="right")],
    },
    prefer_skip_nested_validation=True,
)
def task_similarity_from_mu(n_tasks, mu=1.0):
    """Task similarity of the ``w_t = w_0 + v_t`` model: ``B = (1/mu) 11^T + I``.

    With the feature map ``phi(x, t) = (x / sqrt(mu), e_t (x) x)`` the weights of
    task ``t`` are a shared part ``w_0`` plus a task-specific deviation ``v_t``, and
    the kernel's penalty on them is (Evgeniou & Pontil 2004)::

        min_{w_0}  mu * ||w_0||^2 + sum_t ||w_t - w_0||^2.

    ``B`` is the Gram matrix of the task embeddings. Large ``mu`` makes the tasks
    close to independent (``B -> I``); small ``mu`` makes them close to one pooled
    function (``B ~ (1/mu) 11^T``).

    Parameters
    ----------
    n_tasks : int
    mu : float > 0, default=1.0
        ``np.inf`` gives ``B = I`` (independent tasks).

    Returns
    -------
    B : ndarray of shape (n_tasks, n_tasks)

    Examples
    --------
    >>> from skmtl.kernels import task_similarity_from_mu
    >>> task_similarity_from_mu(3, mu=2.0)
    array([[1.5, 0.5, 0.5],
           [0.5, 1.5, 0.5],
           [0.5, 0.5, 1.5]])
    """
    return np.full((n_tasks, n_tasks), 1.0 / mu) + np.eye(n_tasks)


@validate_params(
    {
        "adjacency": ["array-like", "sparse matrix"],
        "rho": [Interval(Real, 0, None, closed="neither")],
        "normalized": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def task_similarity_from_graph(adjacency, *, rho=1.0, normalized=False):
    """Task similarity from a task graph: ``B = (L + rho I)^{-1}``.

    ``L = D - A`` is the Laplacian of the weighted adjacency matrix ``A``
    (``D = diag(A 1)``; ``normalized=True`` uses ``I - D^{-1/2} A D^{-1/2}``).
    The multi-task kernel with this ``B`` is the one of the regulariser
    (Evgeniou, Micchelli & Pontil 2005)::

        sum_{s < t} A_st ||w_s - w_t||^2 + rho * sum_t ||w_t||^2
            = sum_{s, t} (L + rho I)_st <w_s, w_t>,

    which pulls the weights of tasks joined by an edge together. ``rho`` large:
    nearly independent tasks (``B ~ I / rho``); ``rho`` small on a connected
    graph: nearly one pooled function (``B ~ 11^T / (n_tasks rho)``).

    Parameters
    ----------
    adjacency : {array-like, sparse matrix} of shape (n_tasks, n_tasks)
        Symmetric, non-negative edge weights; the diagonal is ignored.
    rho : float > 0, default=1.0
    normalized : bool, default=False
        Use the normalised Laplacian (isolated tasks keep ``L_tt = 0``).

    Returns
    -------
    B : ndarray of shape (n_tasks, n_tasks)
        Symmetric positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.kernels import task_similarity_from_graph
    >>> A = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])  # tasks 0 and 1 linked
    >>> np.round(task_similarity_from_graph(A, rho=1.0), 3) + 0.0
    array([[0.667, 0.333, 0.   ],
           [0.333, 0.667, 0.   ],
           [0.   , 0.   , 1.   ]])
    """
    A = adjacency.toarray() if sp.issparse(adjacency) else adjacency
    A = check_array(A, dtype=np.float64, input_name="adjacency")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"adjacency must be square; got shape {A.shape}.")
    if (A < 0).any():
        raise ValueError("adjacency must have non-negative edge weights.")
    if not np.allclose(A, A.T, rtol=_SYM_RTOL, atol=_SYM_RTOL * np.abs(A).max()):
        raise ValueError("adjacency must be symmetric (an undirected task graph).")
    A = (A + A.T) / 2
    np.fill_diagonal(A, 0.0)
    degree = A.sum(axis=1)
    if normalized:
        inv_sqrt = np.zeros_like(degree)
        inv_sqrt[degree > 0] = 1.0 / np.sqrt(degree[degree > 0])
        L = np.diag((degree > 0).astype(float)) - inv_sqrt[:, None] * A * inv_sqrt
    else:
        L = np.diag(degree) - A
    E = L + rho * np.eye(A.shape[0])
    B = linalg.inv(E, check_finite=False)
    return (B + B.T) / 2


def check_task_similarity(task_similarity, n_tasks=None):
    """Validate a task-similarity matrix: square, finite, symmetric, PSD.

    Parameters
    ----------
    task_similarity : {array-like, sparse matrix} of shape (n_tasks, n_tasks)
    n_tasks : int, default=None
        Expected size (the number of tasks seen in ``fit``).

    Returns
    -------
    B : ndarray of shape (n_tasks, n_tasks)
        A float64 copy, made exactly symmetric.

    Raises
    ------
    ValueError
        With a message saying which property fails: size, symmetry (relative
        tolerance 1e-8) or positive semi-definiteness (smallest eigenvalue below
        ``-1e-8`` times the largest).

    Examples
    --------
    >>> from skmtl.kernels import check_task_similarity
    >>> check_task_similarity([[1.0, 0.5], [0.5, 1.0]], n_tasks=2)
    array([[1. , 0.5],
           [0.5, 1. ]])
    """
    B = task_similarity
    B = B.toarray() if sp.issparse(B) else B
    B = check_array(
        B, dtype=np.float64, ensure_min_samples=1, input_name="task_similarity"
    )
    if B.shape[0] != B.shape[1]:
        raise ValueError(
            f"task_similarity must be a square (n_tasks, n_tasks) matrix; got shape "
            f"{B.shape}."
        )
    if n_tasks is not None and B.shape[0] != n_tasks:
        raise ValueError(
            f"task_similarity has shape {B.shape} but there are {n_tasks} tasks; it "
            f"must be ({n_tasks}, {n_tasks}) with rows and columns in the order of "
            "the sorted task labels (tasks_)."
        )
    scale = np.abs(B).max()
    if not np.allclose(B, B.T, rtol=_SYM_RTOL, atol=_SYM_RTOL * scale):
        i, j = np.unravel_index(np.argmax(np.abs(B - B.T)), B.shape)
        raise ValueError(
            f"task_similarity must be symmetric; B[{i}, {j}] = {B[i, j]:.6g} but "
            f"B[{j}, {i}] = {B[j, i]:.6g}."
        )
    B = (B + B.T) / 2
    eig = linalg.eigvalsh(B, check_finite=False)
    if eig[0] < -_PSD_RTOL * max(eig[-1], 0.0) or (eig[-1] <= 0 and eig[0] < 0):
        raise ValueError(
            "task_similarity must be positive semi-definite; its smallest eigenvalue "
            f"is {eig[0]:.3g} (largest {eig[-1]:.3g}). Build it with "
            "task_similarity_from_mu, task_similarity_from_graph, or as F @ F.T."
        )
    return B


def task_similarity_sqrt(task_similarity):
    """Symmetric PSD square root ``B^{1/2}`` (negative round-off eigenvalues -> 0).

    ``F = B^{1/2}`` satisfies ``F @ F.T = B``, so ``F[t] (x) x`` is an explicit
    feature map of the multi-task kernel with a linear base kernel.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.kernels import task_similarity_from_mu, task_similarity_sqrt
    >>> B = task_similarity_from_mu(3, mu=0.5)
    >>> F = task_similarity_sqrt(B)
    >>> bool(np.allclose(F @ F.T, B))
    True
    """
    B = check_task_similarity(task_similarity)
    eig, V = linalg.eigh(B, check_finite=False)
    return (V * np.sqrt(np.clip(eig, 0.0, None))) @ V.T


# ------------------------------------------------------------------ feature maps
def _rowwise_kron(A, B):
    """Row-wise Kronecker product of two CSR matrices with the same rows.

    Row ``i`` of the result is ``kron(A[i], B[i])``: column ``a * B.shape[1] + j``
    holds ``A[i, a] * B[i, j]``. Vectorised over all stored entries (no loop over
    rows); columns come out sorted when those of ``A`` and ``B`` are.
    """
    n, d = A.shape[0], B.shape[1]
    nb = np.diff(B.indptr)
    rows_a = np.repeat(np.arange(n), np.diff(A.indptr))
    size = nb[rows_a]  # output entries produced by each stored entry of A
    total = int(size.sum())
    ia = np.repeat(np.arange(A.indices.size), size)
    start = np.cumsum(size) - size
    offset = np.arange(total) - np.repeat(start, size)
    ib = B.indptr[rows_a][ia] + offset
    cols = A.indices[ia].astype(np.int64) * d + B.indices[ib]
    index_dtype = np.int32 if A.shape[1] * d < np.iinfo(np.int32).max else np.int64
    data = A.data[ia] * B.data[ib]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.diff(A.indptr) * nb, out=indptr[1:])
    return sp.csr_matrix(
        (data, cols.astype(index_dtype), indptr.astype(index_dtype)),
        shape=(n, A.shape[1] * d),
    )


def _feature_map_nnz(X, tasks, task_factor):
    """Number of stored entries of :func:`multitask_feature_map` (without building
    it): ``sum_i nnz(F[tasks[i]]) * nnz(X[i])``."""
    per_task = np.count_nonzero(np.asarray(task_factor), axis=1)
    if sp.issparse(X):
        per_row = np.diff(sp.csr_matrix(X).indptr)
    else:
        per_row = np.count_nonzero(X, axis=1)
    return int(np.dot(per_task[tasks].astype(np.int64), per_row))


def multitask_feature_map(X, *, tasks, task_factor):
    """Explicit features ``phi(x, t) = F[t] (x) x`` of the multi-task kernel.

    For any factor ``F`` with ``F @ F.T = B`` (e.g. ``B^{1/2}`` from
    :func:`task_similarity_sqrt`), ``phi(x, s) . phi(z, t) = B[s, t] * x . z``: the
    multi-task kernel with a linear base kernel. Pass base-kernel features (e.g. a
    Nystroem map) as ``X`` to approximate other base kernels.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
    tasks : array-like of int of shape (n_samples,)
        Task code of each row (a row index of ``task_factor``).
    task_factor : array-like of shape (n_tasks, r)

    Returns
    -------
    Phi : sparse CSR matrix of shape (n_samples, r * n_features)
        Row ``i`` is ``kron(F[tasks[i]], X[i])``; only non-zero products are stored,
        so a sparse factor (as ``[1/sqrt(mu) 1, I]`` for the ``mu`` form) gives a
        sparse map.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.kernels import (multitask_feature_map, multitask_kernel,
    ...                            task_similarity_from_mu, task_similarity_sqrt)
    >>> rng = np.random.RandomState(0)
    >>> X, tasks = rng.randn(5, 3), np.array([0, 1, 1, 2, 0])
    >>> B = task_similarity_from_mu(3, mu=0.5)
    >>> Phi = multitask_feature_map(X, tasks=tasks, task_factor=task_similarity_sqrt(B))
    >>> K = multitask_kernel(X, tasks_X=tasks, task_similarity=B)
    >>> bool(np.allclose((Phi @ Phi.T).toarray(), K))
    True
    """
    X = check_array(X, accept_sparse=("csr", "csc"), dtype=np.float64)
    F = check_array(task_factor, dtype=np.float64, input_name="task_factor")
    tasks = _check_codes(tasks, X.shape[0], F.shape[0], "tasks")
    Fs = sp.csr_matrix(F)
    Fs.eliminate_zeros()
    Xs = sp.csr_matrix(X)
    Xs.sort_indices()
    return _rowwise_kron(Fs[tasks], Xs)


# --------------------------------------------------------------------- Nystroem
def _nystroem_basis(X, n_components, kernel, params, random_state):
    """Landmarks and normalisation of a Nystroem approximation of ``k``.

    The same construction as :class:`sklearn.kernel_approximation.Nystroem`
    (``n_components`` rows drawn by ``random_state.permutation``, normalisation
    ``K_mm^{-1/2}`` by SVD), but calling :func:`_base_kernel` so that a callable
    kernel follows the Gram-matrix convention. ``n_components`` is capped at the
    number of rows (the map is then exact on them).

    Returns
    -------
    basis : ndarray or sparse matrix of shape (m, n_features)
    normalization : ndarray of shape (m, m)
        ``psi(x) = k(x, basis) @ normalization.T``.
    """
    rng = check_random_state(random_state)
    n = X.shape[0]
    m = min(n_components, n)
    idx = rng.permutation(n)[:m]
    basis = X[idx]
    U, S, V = linalg.svd(_base_kernel(basis, basis, kernel, params))
    S = np.maximum(S, 1e-12)
    return basis, np.dot(U / np.sqrt(S), V)
