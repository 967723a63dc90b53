"""Per-task linear algebra on the stacked layout, vectorised over rows and tasks.

In the stacked layout row ``i`` belongs to task ``task[i]`` and is multiplied by that
task's weight vector. The two primitives below are the forward and adjoint of that
block-diagonal design; they never build an ``(n_samples, n_tasks)`` array and never
loop in Python over samples.
"""

import numpy as np
import scipy.sparse as sp

from ._compiled import compiled

_ops_fast = compiled("_ops_fast")  # optional: None without a C compiler

__all__ = [
    "TaskScatter",
    "count_runs",
    "linear_output",
    "task_dot",
    "task_indicator",
    "task_scatter",
    "task_sum",
]

# rows per block in dense task_dot: bounds the gathered W[task] temporary to ~32 MB
_BLOCK_ELEMENTS = 1 << 22
# the compiled products (one BLAS call per run of equal task codes) take over
# from this mean run length on: 2000 x 50 rows by task, 10 / 12 us against numpy's
# 51 / 23 us (forward / adjoint); one row per run, 68 / 62 us against 52 / 27 us
_MIN_RUN = 8
# switches the compiled products off (tests compare the two)
ENABLED = True


def count_runs(task):
    """The number of runs of equal consecutive codes in ``task`` (0 when empty)."""
    task = np.asarray(task)
    return int(np.count_nonzero(task[1:] != task[:-1])) + 1 if task.size else 0


def _long_runs(task):
    """``task`` as ``intp`` if its rows come in runs of equal codes of mean length
    at least ``_MIN_RUN`` (and the compiled products are built), else None."""
    if _ops_fast is None or len(task) == 0:
        return None
    task = np.asarray(task, dtype=np.intp)
    if count_runs(task) * _MIN_RUN > task.shape[0]:
        return None
    return task


def _dense_pair(X, other):
    """Whether the compiled products take ``X`` with ``other`` (``W`` or 1-D
    ``R``): a dense C-contiguous float ``X`` of the dtype of ``other``."""
    return (
        ENABLED
        and isinstance(X, np.ndarray)
        and X.dtype in (np.float64, np.float32)
        and X.dtype == other.dtype
        and X.flags.c_contiguous
    )


def _scatter_runs(X, R, codes, n_tasks):
    """The compiled adjoint for 1-D ``R`` (see :func:`_long_runs`)."""
    out = np.zeros((n_tasks, X.shape[1]), dtype=X.dtype)
    _ops_fast.task_scatter_runs(X, np.ascontiguousarray(R), codes, out)
    return out


def task_dot(X, W, task):
    """Row-wise product with each row's own task weights.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    W : ndarray of shape (n_tasks, n_features) or (n_tasks, n_features, k)
    task : ndarray of int of shape (n_samples,)

    Returns
    -------
    F : ndarray of shape (n_samples,) or (n_samples, k)
        ``F[i] = X[i] @ W[task[i]]``.
    """
    n = X.shape[0]
    if sp.issparse(X):
        X = X.tocsr()
        rows = np.repeat(np.arange(n), np.diff(X.indptr))
        vals = W[task[rows], X.indices]
        if W.ndim == 2:
            return np.bincount(rows, weights=X.data * vals, minlength=n).astype(
                W.dtype, copy=False
            )
        prod = X.data[:, None] * vals
        out = np.zeros((n, W.shape[2]), dtype=W.dtype)
        np.add.at(out, rows, prod)
        return out
    if W.ndim == 2 and _dense_pair(X, W):
        codes = _long_runs(task)
        if codes is not None:
            out = np.empty(n, dtype=X.dtype)
            _ops_fast.task_dot_runs(X, np.ascontiguousarray(W), codes, out)
            return out
    d = max(X.shape[1], 1)
    k = 1 if W.ndim == 2 else W.shape[2]
    block = max(1, _BLOCK_ELEMENTS // (d * k))
    out = np.empty((n,) if W.ndim == 2 else (n, k), dtype=np.result_type(X, W))
    for start in range(0, n, block):
        sl = slice(start, start + block)
        if W.ndim == 2:
            out[sl] = np.einsum("ij,ij->i", X[sl], W[task[sl]])
        else:  # a batched (1, p) @ (p, k) product: BLAS-backed, ~2x einsum's speed
            out[sl] = np.matmul(X[sl][:, None, :], W[task[sl]])[:, 0, :]
    return out


def linear_output(X, coef, task=None, intercept=None):
    """Each row's linear output under its own task's coefficients.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    coef : ndarray of shape (n_tasks, n_features)
    task : ndarray of int of shape (n_samples,) or None
        Task code of each row (stacked layout), or None: every row feeds every
        task (shared layout).
    intercept : ndarray of shape (n_tasks,) or None

    Returns
    -------
    F : ndarray of shape (n_samples,), or (n_samples, n_tasks) when ``task`` is None
        ``X[i] @ coef[task[i]] + intercept[task[i]]``, or ``X @ coef.T + intercept``.
    """
    if task is None:
        F = np.asarray(X @ coef.T)
        return F if intercept is None else F + intercept
    F = task_dot(X, coef, task)
    return F if intercept is None else F + intercept[task]


def task_indicator(task, n_tasks, values=None, dtype=np.float64):
    """Sparse ``(n_tasks, n_samples)`` matrix with ``values[i]`` at ``(task[i], i)``."""
    n = task.shape[0]
    if values is None:
        values = np.ones(n, dtype=dtype)
    return sp.csr_matrix((values, (task, np.arange(n))), shape=(n_tasks, n))


class TaskScatter:
    """:func:`task_scatter` for one fixed ``task`` vector, called many times (a
    solver's adjoint, once an iteration).

    The sparse indicator's structure (a stable sort of the rows by task) is
    built once; a call with 1-D ``R`` refills its values (``R`` gathered in that
    order) and multiplies. Building the matrix costs 30-100 us of index checks
    and sorting, more than the product on a few thousand rows. Rows grouped by
    task (runs of mean length ``_MIN_RUN`` or more) of a dense ``X`` of ``R``'s
    dtype take the compiled product instead. Other ``R`` go to
    :func:`task_scatter`. Not for concurrent use (the values are one buffer).
    """

    def __init__(self, task, n_tasks):
        self.task, self.n_tasks = np.asarray(task), n_tasks
        self.order = np.argsort(self.task, kind="stable")
        self._structure = task_indicator(self.task, n_tasks)
        self._by_dtype = {}
        self._codes = _long_runs(self.task)

    def __call__(self, X, R):
        R = np.asarray(R)
        if R.ndim != 1:
            return task_scatter(X, R, self.task, self.n_tasks)
        if self._codes is not None and _dense_pair(X, R):
            return _scatter_runs(X, R, self._codes, self.n_tasks)
        S = self._by_dtype.get(R.dtype)
        if S is None:
            base = self._structure
            S = sp.csr_matrix(
                (np.empty(base.nnz, dtype=R.dtype), base.indices, base.indptr),
                shape=base.shape,
            )
            self._by_dtype[R.dtype] = S
        np.take(R, self.order, out=S.data)
        G = S @ X
        return G.toarray() if sp.issparse(G) else np.asarray(G)


def task_scatter(X, R, task, n_tasks):
    """Adjoint of :func:`task_dot`: per-task sums of ``R[i] * X[i]``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    R : ndarray of shape (n_samples,) or (n_samples, k)
    task : ndarray of int of shape (n_samples,)
    n_tasks : int

    Returns
    -------
    G : ndarray of shape (n_tasks, n_features) or (n_tasks, n_features, k)
        ``G[t] = sum_{i : task[i] = t} R[i] * X[i]`` for 1-D ``R``, and
        ``G[t] = sum_{i : task[i] = t} outer(X[i], R[i])`` for 2-D ``R`` (the adjoint
        of :func:`task_dot` with a 3-D ``W``: the gradient of ``sum_i R[i] @ F[i]``
        with respect to ``W`` when ``F = task_dot(X, W, task)``).
    """
    R = np.asarray(R)
    if R.ndim == 1:
        codes = _long_runs(task) if _dense_pair(X, R) else None
        if codes is not None:
            return _scatter_runs(X, R, codes, n_tasks)
        S = task_indicator(task, n_tasks, values=R)
        G = S @ X
        if sp.issparse(G):
            G = G.toarray()
        return np.asarray(G)
    n, k = R.shape
    p = X.shape[1]
    if sp.issparse(X):
        # one sparse row per (task, output): Q[t * k + c, i] = R[i, c] if task[i] = t
        rows = (np.asarray(task)[:, None] * k + np.arange(k)).ravel()
        Q = sp.csr_matrix(
            (R.ravel(), (rows, np.repeat(np.arange(n), k))), shape=(n_tasks * k, n)
        )
        G = (Q @ X).toarray()
        return G.reshape(n_tasks, k, p).transpose(0, 2, 1)
    if k > 2:
        # block-row design: row i holds X[i] in the columns of task[i]'s block (already
        # in CSR order, nothing to sort); G = design.T @ R costs n * p * k
        design = sp.csr_matrix(
            (
                np.ascontiguousarray(X).ravel(),
                (np.asarray(task)[:, None] * p + np.arange(p)).ravel(),
                np.arange(0, n * p + 1, p),
            ),
            shape=(n, n_tasks * p),
        )
        G = np.asarray(design.T @ R)
        return G.reshape(n_tasks, p, k).astype(np.result_type(X, R), copy=False)
    # few outputs: one flat bincount of the outer products over (task, feature,
    # output) cells -- exact (float64 accumulation), as fast for 1,000 tasks as for 1
    size = p * k
    out = None
    cell = np.arange(size)
    block = max(1, _BLOCK_ELEMENTS // max(size, 1))
    for start in range(0, n, block):
        sl = slice(start, start + block)
        prod = X[sl][:, :, None] * R[sl][:, None, :]
        idx = (task[sl][:, None] * size + cell).ravel()
        part = np.bincount(idx, weights=prod.ravel(), minlength=n_tasks * size)
        out = part if out is None else out + part
    if out is None:
        out = np.zeros(n_tasks * size)
    dtype = np.result_type(X, R)
    return out.reshape(n_tasks, p, k).astype(dtype, copy=False)


def task_sum(R, task, n_tasks):
    """Per-task sums of the rows of ``R`` (a segment sum by task).

    Parameters
    ----------
    R : ndarray of shape (n_samples,) or (n_samples, k)
    task : ndarray of int of shape (n_samples,)
    n_tasks : int

    Returns
    -------
    S : ndarray of shape (n_tasks,) or (n_tasks, k)
        ``S[t] = sum_{i : task[i] = t} R[i]`` (accumulated in float64, returned in
        the dtype of ``R``).
    """
    R = np.asarray(R)
    dtype = R.dtype if R.dtype.kind == "f" else np.float64
    if R.ndim == 1:
        return np.bincount(task, weights=R, minlength=n_tasks).astype(dtype, copy=False)
    k = R.shape[1]
    idx = (np.asarray(task)[:, None] * k + np.arange(k)).ravel()
    S = np.bincount(idx, weights=R.ravel(), minlength=n_tasks * k)
    return S.reshape(n_tasks, k).astype(dtype, copy=False)
