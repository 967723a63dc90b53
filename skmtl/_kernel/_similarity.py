"""Task-similarity matrices ``B``: the ``mu`` form, graph Laplacians, checks, roots."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.utils import check_array

from .._compat import Interval, validate_params

# relative tolerances of the symmetry and PSD checks of a task-similarity matrix
_SYM_RTOL = 1e-8
_PSD_RTOL = 1e-8


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
        Number of tasks.
    mu : float > 0, default=1.0
        Coupling of the tasks; ``np.inf`` gives ``B = I`` (independent tasks).

    Returns
    -------
    B : ndarray of shape (n_tasks, n_tasks)
        The task similarity, symmetric positive definite.

    See Also
    --------
    task_similarity_from_graph : Similarity from a graph of related tasks.
    skmtl.kernel_ridge.MultiTaskKernelRidge : Uses this ``B`` by default.

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
        Ridge on every task's weights, ``rho sum_t ||w_t||^2``; it makes ``L +
        rho I`` invertible and sets how far apart unlinked tasks are.
    normalized : bool, default=False
        Use the normalised Laplacian (isolated tasks keep ``L_tt = 0``).

    Returns
    -------
    B : ndarray of shape (n_tasks, n_tasks)
        Symmetric positive definite.

    See Also
    --------
    task_similarity_from_mu : The ``w_t = w_0 + v_t`` similarity (all tasks
        equally related).
    check_task_similarity : The checks a user matrix must pass.

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

    The estimators run this check on their ``task_similarity`` parameter in
    ``fit``; call it to check a matrix before a long search.

    Parameters
    ----------
    task_similarity : {array-like, sparse matrix} of shape (n_tasks, n_tasks)
        The candidate matrix ``B``.
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

    See Also
    --------
    task_similarity_sqrt : A factor ``F`` with ``F @ F.T = B``.

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

    Parameters
    ----------
    task_similarity : {array-like, sparse matrix} of shape (n_tasks, n_tasks)
        Symmetric positive semi-definite ``B`` (checked by
        :func:`check_task_similarity`).

    Returns
    -------
    F : ndarray of shape (n_tasks, n_tasks)
        The symmetric square root of ``B``.

    See Also
    --------
    multitask_feature_map : The explicit features built from ``F``.

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
