"""Explicit feature maps of the multi-task kernel: ``F[t] (x) psi(x)`` and Nystroem."""

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.utils import check_array, check_random_state

from ._gram import _base_kernel, _check_codes


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
        Features (no task column), or base-kernel features ``psi(x)``.
    tasks : array-like of int of shape (n_samples,)
        Task code of each row (a row index of ``task_factor``).
    task_factor : array-like of shape (n_tasks, r)
        A factor ``F`` of the task similarity, ``F @ F.T = B``.

    Returns
    -------
    Phi : sparse CSR matrix of shape (n_samples, r * n_features)
        Row ``i`` is ``kron(F[tasks[i]], X[i])``; only non-zero products are stored,
        so a sparse factor (as ``[1/sqrt(mu) 1, I]`` for the ``mu`` form) gives a
        sparse map.

    See Also
    --------
    multitask_kernel : The kernel matrix these features reproduce.
    task_similarity_sqrt : A factor ``F`` of any task similarity.

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
