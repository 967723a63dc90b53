# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled stacked-layout products of ``_ops`` (optional).

The forward ``F[i] = X[i] @ W[task[i]]`` and the adjoint ``G[t] = sum_{task[i] =
t} R[i] X[i]`` of the block-diagonal design, for a dense C-contiguous ``X`` and
1-D outputs. Rows are taken by runs of equal task codes: one BLAS matrix-vector
product per run (``gemv``), so rows grouped by task (the usual order of grouped
data) cost one call per task, and any order is still correct (a run of one row is
a dot product). numpy's versions gather ``W[task]`` (an ``n x d`` temporary) or
build a sparse indicator; these read ``X`` once. ``_ops.py`` decides when they
apply and keeps the numpy code, which gives the same numbers up to rounding.
"""

from cython cimport floating

from skmtl._blas cimport _gemv


cdef inline Py_ssize_t _run_end(const Py_ssize_t[::1] task,
                                Py_ssize_t start) noexcept nogil:
    """The end of the run of equal task codes that starts at ``start``."""
    cdef Py_ssize_t stop = start + 1
    while stop < task.shape[0] and task[stop] == task[start]:
        stop += 1
    return stop


def task_dot_runs(const floating[:, ::1] X, const floating[:, ::1] W,
                  const Py_ssize_t[::1] task, floating[::1] out):
    """``out[i] = X[i] @ W[task[i]]`` (``out`` of shape (n_samples,))."""
    cdef Py_ssize_t n = X.shape[0], start = 0, stop
    cdef int d = <int>X.shape[1]
    if d == 0:
        out[:] = 0
        return
    with nogil:
        while start < n:
            # the run's rows, read column-major: A = X[start:stop]^T (d x m)
            stop = _run_end(task, start)
            _gemv(c'T', d, <int>(stop - start), <floating>1.0, <floating*>&X[start, 0],
                  d, <floating*>&W[task[start], 0], <floating>0.0, &out[start])
            start = stop


def task_scatter_runs(const floating[:, ::1] X, const floating[::1] R,
                      const Py_ssize_t[::1] task, floating[:, ::1] out):
    """``out[t] += sum_{task[i] = t} R[i] X[i]`` (``out`` (n_tasks, d), zeroed by
    the caller)."""
    cdef Py_ssize_t n = X.shape[0], start = 0, stop
    cdef int d = <int>X.shape[1]
    if d == 0:
        return
    with nogil:
        while start < n:
            stop = _run_end(task, start)
            _gemv(c'N', d, <int>(stop - start), <floating>1.0, <floating*>&X[start, 0],
                  d, <floating*>&R[start], <floating>1.0, &out[task[start], 0])
            start = stop
