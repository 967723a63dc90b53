# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled kernels of the multi-task MLP's mini-batch step (optional).

Each reproduces a numpy computation of ``_network.py`` / ``_optimizers.py`` with
the same floating-point operations, in one C loop instead of several numpy calls
(on mini-batches of a few hundred rows with one head per task, the numpy calls'
fixed costs dominate: gathers of the batch's tasks' weights and optimiser state,
temporaries, a sparse matrix per step). ``_kernels.py`` decides when they apply;
without a C compiler the package runs the numpy code, which gives the same
numbers up to rounding.

- :func:`adam_dense`, :func:`adam_rows`: scikit-learn's Adam update
  (``AdamOptimizer._step``) on a whole parameter or on the rows (tasks) of a
  stacked parameter that the batch holds (the "lazy" step);
- :func:`head_forward`: a gathered head layer, ``Z[i] = A[i] @ W[task[i]] +
  b[task[i]]`` (plus the shared part ``A[i] @ W0 + b0`` of the output layer);
- :func:`head_backward`: its gradients, ``G[local[i]] += outer(A[i], D[i])``,
  ``gb[local[i]] += D[i]`` (sums over each task's rows in row order) and
  ``dA[i] = W[task[i]] @ D[i]`` (and the shared part's gradients);
- :func:`head_penalty`: the heads' ridge term, value and gradient;
- :func:`batch_tasks`: the tasks a batch holds without an ``O(n_tasks)`` pass.
"""

from cython cimport floating
from libc.math cimport sqrt
from scipy.linalg.cython_blas cimport ddot, sdot


cdef inline void _adam(
    floating* p,
    floating* m,
    floating* v,
    const floating* grad,
    Py_ssize_t n,
    floating b1,
    floating c1,
    floating b2,
    floating c2,
    floating eps,
    floating lr,
) noexcept nogil:
    """One contiguous run of the Adam step (a loop over plain pointers, which the
    compiler vectorises)."""
    cdef Py_ssize_t i
    cdef floating g
    for i in range(n):
        g = grad[i]
        m[i] = b1 * m[i] + c1 * g
        v[i] = b2 * v[i] + c2 * (g * g)
        p[i] += (lr * m[i]) / (sqrt(v[i]) + eps)


def adam_dense(
    floating[::1] param,
    floating[::1] m,
    floating[::1] v,
    const floating[::1] grad,
    double learning_rate,
    double beta_1,
    double beta_2,
    double epsilon,
):
    """Adam step on every entry of (flattened) ``param``, in place."""
    cdef floating b1 = beta_1, c1 = 1 - beta_1, b2 = beta_2, c2 = 1 - beta_2
    cdef floating eps = epsilon, lr = -learning_rate
    if param.shape[0] == 0:
        return
    with nogil:
        _adam(&param[0], &m[0], &v[0], &grad[0], param.shape[0], b1, c1, b2, c2, eps, lr)


def adam_rows(
    floating[:, ::1] param,
    floating[:, ::1] m,
    floating[:, ::1] v,
    const floating[:, ::1] grad,
    const Py_ssize_t[::1] rows,
    double learning_rate,
    double beta_1,
    double beta_2,
    double epsilon,
):
    """Adam step on rows ``rows`` of ``param`` (``grad[j]`` is row ``rows[j]``'s)."""
    cdef Py_ssize_t j, r, width = param.shape[1]
    cdef floating b1 = beta_1, c1 = 1 - beta_1, b2 = beta_2, c2 = 1 - beta_2
    cdef floating eps = epsilon, lr = -learning_rate
    if width == 0:
        return
    with nogil:
        for j in range(rows.shape[0]):
            r = rows[j]
            _adam(&param[r, 0], &m[r, 0], &v[r, 0], &grad[j, 0], width,
                  b1, c1, b2, c2, eps, lr)


cdef inline floating _dot(int n, const floating* x, const floating* y) noexcept nogil:
    """``x @ y`` (BLAS)."""
    cdef int one = 1
    if floating is double:
        return ddot(&n, <double*>x, &one, <double*>y, &one)
    else:
        return sdot(&n, <float*>x, &one, <float*>y, &one)


def head_forward(
    const floating[:, ::1] A,
    const floating[:, :, ::1] W,
    const floating[:, ::1] b,
    const Py_ssize_t[::1] task,
    floating[:, ::1] Z,
    const floating[:, ::1] W0,
    const floating[::1] b0,
    bint use_W0,
    bint use_b0,
):
    """``Z[i] = A[i] @ W[task[i]] + b[task[i]]`` for every row ``i``, plus the
    shared part ``A[i] @ W0`` (``use_W0``) and ``b0`` (``use_b0``) of the output
    layer (``SharedHead.add_forward``)."""
    cdef Py_ssize_t i, j, c, t, n = A.shape[0], g = A.shape[1], k = W.shape[2]
    cdef floating a
    cdef floating* z
    if g == 0 or k == 0:
        return
    with nogil:
        for i in range(n):
            t = task[i]
            z = &Z[i, 0]
            if k == 1:  # linear heads: one dot product a row
                z[0] = _dot(<int>g, &A[i, 0], &W[t, 0, 0]) + b[t, 0]
                if use_W0:
                    z[0] += _dot(<int>g, &A[i, 0], &W0[0, 0])
                if use_b0:
                    z[0] += b0[0]
                continue
            for c in range(k):
                z[c] = 0
            for j in range(g):
                a = A[i, j]
                for c in range(k):
                    z[c] += a * W[t, j, c]
            for c in range(k):
                z[c] += b[t, c]
            if use_W0:
                for j in range(g):
                    a = A[i, j]
                    for c in range(k):
                        z[c] += a * W0[j, c]
            if use_b0:
                for c in range(k):
                    z[c] += b0[c]


def head_backward(
    const floating[:, ::1] A,
    const floating[:, ::1] D,
    const floating[:, :, ::1] W,
    const Py_ssize_t[::1] task,
    const Py_ssize_t[::1] local,
    floating[:, :, ::1] G,
    floating[:, ::1] gb,
    floating[:, ::1] dA,
    bint need_input,
    const floating[:, ::1] W0,
    floating[:, ::1] gW0,
    floating[::1] gb0,
    bint use_W0,
    bint use_b0,
):
    """Gradients of ``sum_i D[i] @ Z[i]`` of :func:`head_forward`.

    ``G`` (``(n_present, g, k)``) and ``gb`` (``(n_present, k)``) must be zero on
    entry; row ``i`` adds to entry ``local[i]`` (its task among the batch's tasks).
    With ``need_input``, ``dA[i] = W[task[i]] @ D[i]`` (plus ``W0 @ D[i]`` with
    ``use_W0``). The shared part's gradients (``SharedHead.backward``), zero on
    entry: ``gW0 = sum_i outer(A[i], D[i])`` (``use_W0``), ``gb0 = sum_i D[i]``
    (``use_b0``).
    """
    cdef Py_ssize_t i, j, c, t, l, n = A.shape[0], g = A.shape[1], k = W.shape[2]
    cdef floating s, d
    cdef floating* gl
    cdef const floating* a
    cdef const floating* w
    cdef floating* da
    if g == 0 or k == 0:
        return
    with nogil:
        for i in range(n):
            l = local[i]
            t = task[i]
            a = &A[i, 0]
            if k == 1:  # linear heads: plain vector loops
                d = D[i, 0]
                gb[l, 0] += d
                gl = &G[l, 0, 0]
                for j in range(g):
                    gl[j] += a[j] * d
                if use_b0:
                    gb0[0] += d
                if use_W0:
                    gl = &gW0[0, 0]
                    for j in range(g):
                        gl[j] += a[j] * d
                if need_input:
                    w = &W[t, 0, 0]
                    da = &dA[i, 0]
                    for j in range(g):
                        da[j] = d * w[j]
                    if use_W0:
                        w = &W0[0, 0]
                        for j in range(g):
                            da[j] += d * w[j]
                continue
            for c in range(k):
                gb[l, c] += D[i, c]
                if use_b0:
                    gb0[c] += D[i, c]
            for j in range(g):
                gl = &G[l, j, 0]
                for c in range(k):
                    gl[c] += a[j] * D[i, c]
                if use_W0:
                    gl = &gW0[j, 0]
                    for c in range(k):
                        gl[c] += a[j] * D[i, c]
            if need_input:
                for j in range(g):
                    s = 0
                    for c in range(k):
                        s = s + D[i, c] * W[t, j, c]
                    if use_W0:
                        d = 0
                        for c in range(k):
                            d = d + D[i, c] * W0[j, c]
                        s = s + d
                    dA[i, j] = s


def head_penalty(
    floating[:, ::1] G,
    const floating[:, ::1] W,
    const Py_ssize_t[::1] rows,
    const double[::1] r,
    double scale,
):
    """Add the ridge term of the batch's heads: ``G[j] += (scale r[j]) W[rows[j]]``
    (``G``, ``W`` flattened per task); return ``scale / 2 sum_j r[j]
    ||W[rows[j]]||^2``."""
    cdef Py_ssize_t j, i, t, width = W.shape[1]
    cdef floating s
    cdef floating* gj
    cdef const floating* w
    cdef double value = 0
    if width == 0:
        return 0.0
    with nogil:
        for j in range(rows.shape[0]):
            t = rows[j]
            s = <floating>(scale * r[j])
            w = &W[t, 0]
            gj = &G[j, 0]
            for i in range(width):
                gj[i] += s * w[i]
            value += r[j] * _dot(<int>width, w, w)
    return 0.5 * scale * value


def batch_tasks(
    const Py_ssize_t[::1] task,
    Py_ssize_t[::1] mark,
    Py_ssize_t[::1] local,
):
    """The tasks a batch holds, in increasing order, and each row's position
    among them (``local``); ``mark`` (one entry per task, all -1) is scratch,
    left all -1. Cost ``O(n_rows log n_rows)``, whatever the number of tasks."""
    cdef Py_ssize_t i, j, t, n = task.shape[0], count = 0
    import numpy as np

    rows_arr = np.empty(n, dtype=np.intp)
    cdef Py_ssize_t[::1] rows = rows_arr
    with nogil:
        for i in range(n):
            t = task[i]
            if mark[t] < 0:
                mark[t] = 0
                rows[count] = t
                count += 1
    rows_arr = np.sort(rows_arr[:count])
    rows = rows_arr
    with nogil:
        for j in range(count):
            mark[rows[j]] = j
        for i in range(n):
            local[i] = mark[task[i]]
        for j in range(count):
            mark[rows[j]] = -1
    return rows_arr
