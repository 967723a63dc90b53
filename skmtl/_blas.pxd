# cython: language_level=3
"""Fused-type BLAS wrappers shared by the compiled modules (``cimport`` only)."""

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemv, sgemv


cdef inline void _gemv(char trans, int m, int n, floating alpha, floating *A,
                       int lda, floating *x, floating beta,
                       floating *y) noexcept nogil:
    """y = alpha op(A) x + beta y, A (m, n) column-major (BLAS writes only y)."""
    cdef int one = 1
    if floating is float:
        sgemv(&trans, &m, &n, &alpha, A, &lda, x, &one, &beta, y, &one)
    else:
        dgemv(&trans, &m, &n, &alpha, A, &lda, x, &one, &beta, y, &one)
