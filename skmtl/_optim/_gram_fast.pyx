# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled per-task Cholesky work on a stack of Grams (optional).

Loops over the tasks of a ``(n_tasks, d, d)`` stack of symmetric positive
(semi-)definite float64 Grams ``H_t`` and calls LAPACK for each, without the
Python calls around every small factorisation (about 10 us each through
``scipy.linalg.lapack`` at d = 50, as much as LAPACK's own work):

- :func:`shifted_inverses`: ``(H_t + r I)^{-1}`` by ``potrf`` / ``potri``
  (``shifted.GramShifts``);
- :func:`conditioned_solves`: ``H_t^{-1} b_t`` by ``potrf`` / ``potrs`` where
  LAPACK's condition estimate (``pocon``, 1-norm) is at most ``max_cond``
  (``design._tall_lstsq_dual``);
- :func:`weighted_grams`: the Grams themselves, ``Z_t^T Z_t`` of the centred
  weighted rows of each task, by BLAS ``syrk`` (``design.task_grams``).

A C-ordered symmetric matrix is its own Fortran-ordered transpose, so LAPACK's
upper triangle (``uplo = 'U'``) is the C array's lower one. The callers keep the
``scipy.linalg.lapack`` loops they replace, which give the same numbers.
"""

from libc.math cimport fabs
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dsyrk
from scipy.linalg.cython_lapack cimport dpocon, dpotrf, dpotri, dpotrs

import numpy as np


cdef inline void _symmetrise(double *P, int d) noexcept nogil:
    """Copy the C lower triangle of ``P`` (d x d) onto its upper one (LAPACK's
    upper triangle, ``uplo = 'U'``, is the C lower one)."""
    cdef int i, j
    for i in range(d):
        for j in range(i + 1, d):
            P[i * d + j] = P[j * d + i]


def shifted_inverses(const double[:, :, ::1] H, double r, double[:, :, ::1] out):
    """``out[t] = (H[t] + r I)^{-1}`` (full symmetric); returns -1, or the first
    task whose factorisation failed (``out`` is then partly written)."""
    cdef int T = <int>H.shape[0], d = <int>H.shape[1], t, i, info = 0
    cdef char uplo = b"U"
    cdef double *P
    if d == 0:
        return -1
    with nogil:
        for t in range(T):
            P = &out[t, 0, 0]
            memcpy(P, &H[t, 0, 0], d * d * sizeof(double))
            for i in range(d):
                P[i * d + i] += r
            dpotrf(&uplo, &d, P, &d, &info)
            if info == 0:
                dpotri(&uplo, &d, P, &d, &info)
            if info != 0:
                break
            _symmetrise(P, d)
    return t if info != 0 else -1


def conditioned_solves(const double[:, :, ::1] H, const double[:, ::1] B,
                       double max_cond, double[:, ::1] C, double[:, ::1] chol):
    """``C[t] = H[t]^{-1} B[t]`` for every task whose Gram has a Cholesky factor
    and a condition estimate of at most ``max_cond``; returns -1, or the first
    task that has not (``C`` is then partly written). ``chol`` (d, d) is scratch
    space."""
    cdef int T = <int>H.shape[0], d = <int>H.shape[1], t, i, j, info = 0
    cdef int one = 1
    cdef char uplo = b"U"
    cdef double anorm, colsum, rcond = 0.0
    cdef double[::1] work_v
    cdef int[::1] iwork_v
    cdef double *F
    cdef double *work
    cdef int *iwork
    if d == 0:
        return -1
    work_v = np.empty(3 * d)
    iwork_v = np.empty(d, dtype=np.intc)
    F, work, iwork = &chol[0, 0], &work_v[0], &iwork_v[0]
    with nogil:
        for t in range(T):
            anorm = 0.0  # the 1-norm of H_t (pocon's reference)
            for j in range(d):
                colsum = 0.0
                for i in range(d):
                    colsum = colsum + fabs(H[t, i, j])
                if colsum > anorm:
                    anorm = colsum
            memcpy(F, &H[t, 0, 0], d * d * sizeof(double))
            dpotrf(&uplo, &d, F, &d, &info)
            if info != 0:
                break
            dpocon(&uplo, &d, F, &d, &anorm, &rcond, work, iwork, &info)
            if info != 0 or not rcond * max_cond >= 1.0:
                info = 1
                break
            memcpy(&C[t, 0], &B[t, 0], d * sizeof(double))
            dpotrs(&uplo, &d, &one, F, &d, &C[t, 0], &d, &info)
            if info != 0:
                break
    return t if info != 0 else -1


def weighted_grams(const double[:, ::1] X, const Py_ssize_t[::1] starts,
                   const Py_ssize_t[::1] stops, const double[:, ::1] shift,
                   const double[::1] scale, double[:, :, ::1] out):
    """``out[t] = Z_t^T Z_t`` with ``Z_t = diag(scale_i) (X_i - shift[t])`` over
    the rows ``starts[t] <= i < stops[t]`` (each group's rows contiguous), by
    ``syrk`` on a scratch copy of the block."""
    cdef int T = <int>out.shape[0], d = <int>X.shape[1], m, t, i, j
    cdef Py_ssize_t r, m_max = 0
    cdef char uplo = b"U", trans = b"N"
    cdef double one = 1.0, zero = 0.0, s
    cdef double *Z
    cdef double *P
    cdef double[:, ::1] scratch
    for t in range(T):
        m_max = max(m_max, stops[t] - starts[t])
    if d == 0:
        return
    scratch = np.empty((max(m_max, 1), d))
    Z = &scratch[0, 0]
    with nogil:
        for t in range(T):
            m = <int>(stops[t] - starts[t])
            for i in range(m):
                r = starts[t] + i
                s = scale[r]
                for j in range(d):
                    Z[i * d + j] = s * (X[r, j] - shift[t, j])
            P = &out[t, 0, 0]
            # Z (m x d, C order) is Z^T column-major: P = (Z^T)(Z^T)^T
            dsyrk(&uplo, &trans, &d, &m, &one, Z, &d, &zero, P, &d)
            _symmetrise(P, d)
