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

from .penalties import L1, L21, group_shrink, soft_threshold

__all__ = ["Dirty"]


class Dirty:
    """``alpha_shared * L2,1(P) + alpha_specific * ||Q||_1`` on ``Z = [P; Q]``."""

    n_blocks = 2

    def __init__(self, alpha_shared, alpha_specific):
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self._p = L21(alpha_shared)
        self._q = L1(alpha_specific)

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

    def block_prox(self, u, c, z, n_iter=50, rtol=1e-12):
        """Joint minimisation over ``(p, q)`` of one column by exact alternation.

        Minimises ``sum_t c_t (p_t + q_t)^2 / 2 - u_t (p_t + q_t) + alpha_shared
        ||p|| + alpha_specific ||q||_1``; every half-step is an exact minimisation, so
        each call decreases the objective whatever the number of alternations.
        """
        T = u.shape[0]
        p, q = z[:T], z[T:]
        for _ in range(n_iter):
            p_new = group_shrink(u - c * q, c, self.alpha_shared)
            r = u - c * p_new
            q_shr = soft_threshold(r, self.alpha_specific)
            if np.ndim(c) == 0:
                q_new = q_shr / c if c > 0 else np.zeros_like(q_shr)
            else:
                q_new = np.divide(q_shr, c, out=np.zeros_like(q_shr), where=c > 0)
            moved = np.max(np.abs(p_new - p)) + np.max(np.abs(q_new - q))
            p, q = p_new, q_new
            if moved <= rtol * (np.max(np.abs(p)) + np.max(np.abs(q)) + 1e-300):
                break
        return np.concatenate([p, q])

    def column_margin(self, V):
        VP, VQ = self.split(V)
        return np.minimum(self._p.column_margin(VP), self._q.column_margin(VQ))
