"""Penalised intercepts profiled out of the squared loss (``InterceptProfile``)."""

import numpy as np

from ..base import penalised_intercepts
from ..datafits import Quadratic

__all__ = ["InterceptProfile", "profiled_intercepts"]


def profiled_intercepts(design, datafit, b):
    """The penalised (hierarchical or pooled) intercept model that ``bcd`` profiles
    out of the squared loss (``InterceptProfile``), or None."""
    intercepts = penalised_intercepts(design, b)
    if intercepts is None or design.center or not isinstance(datafit, Quadratic):
        return None
    return intercepts


class InterceptProfile:
    """Penalised intercepts profiled out of the squared loss exactly.

    With intercepts ``b_t = b_0 + c_t`` and the penalty ``(lam / 2) sum_t rho_t
    c_t^2`` (``Intercepts``), minimising over ``c`` and ``b_0`` leaves a
    function of ``W`` alone: the datafit of the per-task centred design (the
    free-intercept problem, every layout of which ``ResidualState`` handles
    with ``center=True``) plus a quadratic in the per-task mean residuals::

        F(W) = min_b f(A W + b) + h(b)
             = f_c(W) + 1/2 sum_t a_t (m_t - mbar)^2,

    ``m_t = ybar_t - xbar_t @ w_t`` (the intercept task ``t`` would take alone),
    ``a_t = S_t lam rho_t / (S_t + lam rho_t) = (1 - k_t) S_t`` (``S_t`` the
    task's sum of ``omega``, ``k_t = S_t / (S_t + lam rho_t)`` the fraction of its
    mean the task keeps; ``a_t = S_t`` for one pooled intercept) and ``mbar =
    sum_t a_t m_t / sum_t a_t``, the optimal ``b_0``. (Task ``t``'s residual
    ``r`` enters through ``sum omega (r - rbar)^2 + S_t (1 - k_t)^2 rbar^2 +
    lam rho_t k_t^2 rbar^2``: the partial centring ``P_t = I - k_t / S_t 1
    1^T Omega_t`` of ``admm``, split into its centred part and its mean.)

    So block ``j``'s negative gradient gains ``xbar_j * a * (m - mbar)``
    (``neg_grad``; the dual's per-task sums ``sigma_t = a_t (m_t - mbar)``), and
    its Hessian ``diag(c_j + a xbar_j^2) - (a xbar_j)(a xbar_j)^T / sum a``:
    the diagonal ``curvature`` majorises it (a rank-one term is subtracted), so
    the existing block step applies. Features of large mean couple the columns through
    ``a_t xbar_t xbar_t^T`` (every task's mean residual depends on all of
    them): the support Newton steps (``newton.SupportNewton``, L2,1 and
    sparse-group penalties) carry that term and its rank-one correction in their
    Hessian, which coordinate descent alone converges on slowly. ``b_0`` is never
    a coordinate: it is ``mbar`` at every step, ``m`` a ``T``-vector updated with
    each column (no ``O(n)`` work). The intercepts ``b = Intercepts.solve(m, S)``
    come out in closed form.
    """

    def __init__(self, design, intercepts):
        self.intercepts = intercepts
        dt = design.dtype
        self.S = design.task_sum(design.omega).astype(np.float64)
        if intercepts.pooled:
            a = self.S.copy()
        else:
            lr = intercepts.strength * intercepts.rho
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.where((self.S > 0) & (lr > 0), self.S * lr / (self.S + lr), 0.0)
        self.a = a.astype(dt)
        self.asum = float(np.sum(a))
        self.ybar = np.asarray(design.y_mean, dtype=np.float64)
        self.m = np.zeros(design.n_tasks, dtype=dt)

    def means(self, xbar, E):
        """``m = ybar - xbar @ e`` per task for working-set means ``xbar`` and
        effective weights ``E`` (both (p, T))."""
        return (self.ybar - np.einsum("kt,kt->t", xbar, E)).astype(self.m.dtype)

    def reset(self, xbar, E):
        self.m = self.means(xbar, E)

    def mbar(self, m=None):
        m = self.m if m is None else m
        return float(self.a @ m) / self.asum if self.asum > 0 else 0.0

    def neg_grad(self, xbar_k):
        """The profiled term's part of ``A_k* Theta`` (T,)."""
        return xbar_k * self.a * (self.m - self.mbar())

    def value(self, m=None):
        """``1/2 sum_t a_t (m_t - mbar)^2``: the intercept part of ``F``."""
        m = self.m if m is None else m
        dev = np.asarray(m, dtype=np.float64) - self.mbar(m)
        return 0.5 * float(self.a.astype(np.float64) @ (dev * dev))

    def curvature(self, xbar):
        """``a_t xbar_tj^2``: what the profiled term adds to the block curvature
        (``xbar`` of shape (T, d))."""
        return self.a.astype(np.float64)[:, None] * np.asarray(xbar, float) ** 2

    def intercepts_b(self):
        """The exact intercepts ``b_t = b_0 + c_t`` at the current ``m``."""
        return self.intercepts.solve(self.m, self.S)
