"""BLAS threading for the solvers' many small dense factorisations.

A proximal-gradient iteration on a small problem is a chain of tiny BLAS/LAPACK
calls (an SVD of the ``T x d`` weights, products with a few thousand rows).
Multi-threaded OpenBLAS gains nothing there and, on a busy machine, loses a lot:
an SVD of a ``50 x 200`` matrix measured 0.28 s with the default threads under
load vs 3.6 ms with one thread. Solvers therefore run single-threaded BLAS when
the weight matrix is small; large problems keep the default threading. The same
holds for OpenMP in scikit-learn's k-means on a small embedding (5,000 x 3 points,
10 inits: 5.1 s with the default threads under load vs 0.15 s with one).
"""

from contextlib import nullcontext

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads", "solver_threads"]

SMALL_WEIGHTS = 500_000  # n_tasks * n_features below which one BLAS thread is used
_CONTROLLER = []  # one controller, created on first use (it scans loaded libraries)


def blas_threads(limit, user_api="blas"):
    """Context manager limiting BLAS (or ``user_api``) to ``limit`` threads (None:
    the library's default), through the one controller of this module."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=limit, user_api=user_api)


def solver_threads(n_tasks, n_features, user_api="blas"):
    """Context manager limiting BLAS (or ``user_api``, e.g. ``"openmp"`` for
    scikit-learn's k-means) to one thread for small weight matrices."""
    if n_tasks * n_features > SMALL_WEIGHTS:
        return nullcontext()
    return blas_threads(1, user_api)
