"""Conjugate gradient for the quadratic sub-problems of the linear models.

``conjugate_gradient(matvec, rhs, x0)`` minimises ``<x, H x> / 2 - <rhs, x>`` for a
symmetric positive semi-definite operator ``H`` given by ``matvec`` on arrays of
any shape (task-weight matrices ``W``, bases ``U``). It stops when the gradient
``H x - rhs`` has Frobenius norm at most ``tol * ||rhs||``: the relative residual
is what ``tol`` certifies. From any ``x0`` the objective decreases monotonically,
so a few iterations are a valid inexact step inside an alternating method.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["CGResult", "conjugate_gradient"]


@dataclass
class CGResult:
    x: np.ndarray
    n_iter: int
    residual: float  # ||H x - rhs|| / ||rhs||
    converged: bool


def _dot(a, b):
    return float(np.vdot(a, b))


def conjugate_gradient(matvec, rhs, x0, *, tol=1e-6, max_iter=1000, precond=None):
    """Solve ``H x = rhs`` (``H`` symmetric PSD) by (preconditioned) CG.

    Parameters
    ----------
    matvec : callable
        ``x -> H x`` on arrays shaped like ``rhs``.
    rhs, x0 : ndarray
    tol : float
        Stop when ``||H x - rhs||_F <= tol * ||rhs||_F``.
    max_iter : int
    precond : callable or None
        ``r -> P^{-1} r`` for a symmetric positive definite ``P``.

    Returns
    -------
    CGResult
    """
    scale = np.sqrt(_dot(rhs, rhs))
    x = x0.copy()
    if scale == 0:
        return CGResult(np.zeros_like(x), 0, 0.0, True)
    r = rhs - matvec(x)
    z = r if precond is None else precond(r)
    p = z.copy()
    rz = _dot(r, z)
    res = np.sqrt(_dot(r, r)) / scale
    it = 0
    while res > tol and it < max_iter:
        it += 1
        Hp = matvec(p)
        curv = _dot(p, Hp)
        if curv <= 0:  # direction of zero curvature: H p = 0, nothing to gain
            break
        step = rz / curv
        x += step * p
        r -= step * Hp
        if it % 50 == 0:  # refresh the recursive residual against drift
            r = rhs - matvec(x)
        res = np.sqrt(_dot(r, r)) / scale
        z = r if precond is None else precond(r)
        rz_new = _dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return CGResult(x, it, res, res <= tol)
