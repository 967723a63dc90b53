"""Kernel evaluation: the base kernel ``k`` and the multi-task ``B[s, t] k(x, z)``.

The one implementation of the multi-task kernel matrix, used by
:func:`skmtl.kernels.multitask_kernel` (validated) and by the estimators of
:mod:`skmtl.svm` and :mod:`skmtl.kernel_ridge` (their rows already validated).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.metrics.pairwise import PAIRWISE_KERNEL_FUNCTIONS, pairwise_kernels
from sklearn.utils import check_array

from ._similarity import check_task_similarity

#: Names accepted as base kernel (those of :func:`sklearn.metrics.pairwise_kernels`).
KERNELS = tuple(sorted(PAIRWISE_KERNEL_FUNCTIONS))


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

    The kernel of the multi-task SVMs and kernel ridge: use it with scikit-learn's
    estimators and ``kernel="precomputed"``, or to inspect what they fit.

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
        The multi-task kernel matrix.

    See Also
    --------
    multitask_feature_map : Explicit features of this kernel (linear base kernel).
    task_similarity_from_mu : The default task similarity ``B``.

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


def _add_offset_kernel(K, task_rows, task_cols, scale):
    """``K += scale * [task_rows[i] == task_cols[j]]`` in place (intercept offsets)."""
    if scale != 0:
        K += scale * (task_rows[:, None] == task_cols[None, :])
    return K


def _scale_gamma(X):
    if sp.issparse(X):
        var = X.multiply(X).mean() - X.mean() ** 2
    else:
        var = X.var()
    return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
