"""The dirty-model penalty (Jalali et al. 2010) on the stacked variable ``[P; Q]``.

The dirty multi-task model writes ``W = P + Q`` and penalises
``alpha_shared * L2,1(P) + alpha_specific * ||Q||_1``. Solvers see the variable
``Z = [P; Q]`` of shape ``(2 n_tasks, n_features)`` whose *effective* coefficients
(what the datafit sees) are ``P + Q``; ``n_blocks = 2`` tells them so. The problem
is ``min_Z f(A [I I] Z) + g(Z)``, a convex problem with the operator ``A [I I]``:
its adjoint is ``[A* Theta; A* Theta]``, so the dual is

    max_Theta  -f*(-Theta)  s.t.  ||A_j* Theta||_2 <= alpha_shared  and
                                   |A_tj* Theta| <= alpha_specific  for all t, j,

and the duality gap is an exact certificate, as for the other penalties.
"""

import numpy as np

from .penalties import (
    L1,
    L21,
    BlockThreshold,
    _compiled_mean_block_prox,
    soft_threshold,
)
from .roots import bracketed_newton

__all__ = ["Dirty"]


class Dirty:
    """``alpha_shared * L2,1(P) + alpha_specific * ||Q||_1`` on ``Z = [P; Q]``."""

    n_blocks = 2

    def __init__(self, alpha_shared, alpha_specific):
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self._p = L21(alpha_shared)
        self._q = L1(alpha_specific)
        self._last_r = 0.0  # a starting point for block_prox's root (none yet)

    @staticmethod
    def split(Z):
        """``(P, Q)`` views of the stacked variable."""
        half = Z.shape[0] // 2
        return Z[:half], Z[half:]

    def value(self, Z):
        P, Q = self.split(Z)
        return self._p.value(P) + self._q.value(Q)

    def prox(self, Z, step):
        P, Q = self.split(Z)
        return np.vstack([self._p.prox(P, step), self._q.prox(Q, step)])

    def dual_scale(self, V):
        """``V`` is the adjoint of the stacked operator: ``[A* Theta; A* Theta]``."""
        VP, VQ = self.split(V)
        return min(self._p.dual_scale(VP), self._q.dual_scale(VQ))

    def conjugate(self, V):
        return 0.0

    def block_prox(self, u, c, z=None, max_iter=100):
        """Exact joint minimiser over ``(p, q)`` of one column.

        Minimises ``sum_t c_t (p_t + q_t)^2 / 2 - u_t (p_t + q_t) + a ||p|| + b
        ||q||_1`` (``a = alpha_shared``, ``b = alpha_specific``). Minimising over
        ``q`` first leaves a Huber-like function of ``p`` whose gradient is
        ``-clip(u_t - c_t p_t, -b, b)``, so ``p = 0`` iff ``||clip(u, -b, b)|| <=
        a``; otherwise, with ``r = ||p||``, each ``p_t = sign(u_t) r min(|u_t| /
        (c_t r + a), b / a)`` and ``r`` is the root of the decreasing function
        ``sum_t min(|u_t| / (c_t r + a), b / a)^2 - 1`` on ``(0, ||u / c||]``
        (Newton steps kept inside a bisection bracket). Then ``q_t = S_b(u_t - c_t
        p_t) / c_t``. Tasks with ``c_t = 0`` (no rows) get 0. ``z`` (the current
        column) is not needed: the interface of ``penalties``. Alternating exact
        half-steps over ``p`` and ``q`` reached the same objective (to 1e-14
        relative, ``tests/_optim``) only after tens of alternations per call
        when both parts are active.
        """
        a, b = float(self.alpha_shared), float(self.alpha_specific)
        dtype = np.result_type(u, c)
        u = np.asarray(u, dtype=np.float64)
        T = u.shape[0]
        c = np.broadcast_to(np.asarray(c, dtype=np.float64), (T,))
        active = c > 0
        ua, ca = np.abs(u[active]), c[active]
        p = np.zeros(T)
        if a <= 0:  # p unpenalised takes the whole column
            p[active] = u[active] / ca
        elif np.sum(np.minimum(ua, b) ** 2) > a * a:
            cap = b / a
            lo, hi = 0.0, float(np.sqrt(np.sum((ua / ca) ** 2)))
            # the last call's root: the mean-shrinkage step (penalties.
            # mean_block_prox) calls this on nearby columns in turn
            hint = self._last_r
            r = hint if lo < hint < hi else hi

            def fdf(r):  # sum_t min(|u_t| / (c_t r + a), cap)^2 - 1, decreasing in r
                den = ca * r + a
                m = ua / den
                v = np.minimum(m, cap)
                # d/dr of the free terms m^2 (the capped ones are constant)
                return float(v @ v) - 1.0, -2.0 * float((m * m * ca / den) @ (m < cap))

            r = bracketed_newton(
                fdf, r, lo, hi, increasing=False, max_iter=max_iter, rtol=1e-15
            )
            p[active] = np.sign(u[active]) * r * np.minimum(ua / (ca * r + a), cap)
            self._last_r = r
        q = soft_threshold(u - c * p, b)
        q = np.divide(q, c, out=np.zeros(T), where=active)
        return np.concatenate([p, q]).astype(dtype, copy=False)

    def block_prox_mean(self, u, c, alpha_mean, w=None):
        """``penalties.mean_block_prox`` of :meth:`block_prox` (the mean of the
        column ``p + q`` shrunk, ``w`` its current value), its root iteration and
        this prox in C where the extension is built."""
        z, root = _compiled_mean_block_prox(
            3,
            float(self.alpha_shared),
            float(self.alpha_specific),
            self.block_prox,
            u,
            c,
            alpha_mean,
            w,
            n_blocks=2,
            hint=float(self._last_r),
        )
        if root is not None:  # (in Python, block_prox keeps it itself)
            self._last_r = root
        return z

    @property
    def block_threshold(self):
        """The compiled epoch's kind of this prox (``epochs``; its root,
        ``_cd_fast._dirty_prox``, mirrors :meth:`block_prox`)."""
        return BlockThreshold(
            "dirty", l1=float(self.alpha_specific), group=float(self.alpha_shared)
        )

    def column_margin(self, V):
        VP, VQ = self.split(V)
        return np.minimum(self._p.column_margin(VP), self._q.column_margin(VQ))
