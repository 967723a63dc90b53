"""Smooth losses on the model output ``F`` with per-entry weights ``omega``.

A datafit is ``f(F) = sum_i omega_i * loss(Y_i, F_i)`` (``F``, ``Y``, ``omega`` of the
same shape: ``(n_samples,)`` stacked, ``(n_samples, n_tasks)`` shared). It knows its
value, gradient with respect to ``F``, curvature bound, optimal intercepts for a fixed
``F`` and the conjugate term of the Fenchel dual, so that any solver can certify a
solution with a duality gap:

    P(W) = f(A W) + g(W)  >=  D(Theta) = -f*(-Theta) - g*(A* Theta)
"""

import numpy as np
from scipy.special import expit, xlogy

__all__ = ["Quadratic", "Logistic"]


class Quadratic:
    """``loss(y, f) = (y - f)^2 / 2``."""

    curvature = 1.0  # second derivative bound in f

    def value(self, F, Y, omega):
        return 0.5 * float(np.sum(omega * (Y - F) ** 2))

    def gradient(self, F, Y, omega):
        return omega * (F - Y)

    def hessian(self, F, Y, omega):
        """Diagonal of the Hessian in ``F``."""
        return omega

    def dual_value(self, Theta, Y, omega):
        """``-f*(-Theta) = sum Theta y - Theta^2 / (2 omega)`` (0 where omega = 0)."""
        safe = np.where(omega > 0, omega, 1.0)
        return float(np.sum(np.where(omega > 0, Theta * Y - Theta**2 / (2 * safe), 0)))

    def optimal_offsets(self, F, Y, omega, design, b0=None):
        """Per-task ``b`` minimising ``f(F + b) + h(b)`` in closed form.

        ``h`` is the intercept penalty of ``design.intercepts`` (none: free
        intercepts, each task's weighted mean residual). The squared loss is
        ``sum_t S_t / 2 (m_t - b_t)^2`` plus a constant in ``b``, with ``S_t`` the
        task's sum of ``omega`` and ``m_t`` its weighted mean residual, so
        ``Intercepts.solve(m, S)`` is exact. ``b0`` is unused (no iteration).
        """
        S = design.task_sum(omega)
        sums = design.task_sum(omega * (Y - F))
        m = np.where(S > 0, sums / np.where(S > 0, S, 1.0), 0.0).astype(sums.dtype)
        intercepts = getattr(design, "intercepts", None)
        if intercepts is None or intercepts.free:
            return m
        return intercepts.solve(m, S).astype(sums.dtype, copy=False)


class Logistic:
    """``loss(y, f) = log(1 + exp(f)) - y f`` for labels ``y`` in {0, 1}."""

    curvature = 0.25

    def value(self, F, Y, omega):
        return float(np.sum(omega * (np.logaddexp(0, F) - Y * F)))

    def gradient(self, F, Y, omega):
        return omega * (expit(F) - Y)

    def hessian(self, F, Y, omega):
        """Diagonal of the Hessian in ``F``: ``omega p (1 - p)``."""
        p = expit(F)
        return omega * p * (1 - p)

    def dual_value(self, Theta, Y, omega):
        """``-sum omega h*(y - Theta / omega)``, ``h*(p) = p log p + (1-p) log(1-p)``.

        Requires ``y - Theta/omega`` in [0, 1]; returns ``-inf`` otherwise.
        """
        safe = np.where(omega > 0, omega, 1.0)
        p = np.where(omega > 0, Y - Theta / safe, 0.5)
        if np.any(p < -1e-12) or np.any(p > 1 + 1e-12):
            return -np.inf
        p = np.clip(p, 0.0, 1.0)
        ent = xlogy(p, p) + xlogy(1 - p, 1 - p)
        return float(-np.sum(np.where(omega > 0, omega * ent, 0)))

    def optimal_offsets(self, F, Y, omega, design, b0=None, n_iter=100, tol=1e-12):
        """Per-task ``b`` minimising ``f(F + b) + h(b)`` by damped Newton steps (all
        tasks at once); ``h`` is the penalty of ``design.intercepts`` (none: free
        intercepts, and the weighted residual of every task then sums to ~0).

        With an intercept penalty each step minimises the local quadratic model
        ``sum_t H_t / 2 (b_t - g_t / H_t - b_t')^2 + h(b')`` exactly
        (``Intercepts.solve`` with ``m = b - g / H`` and ``S = H``), clipped to 4
        per task; it stops when no task moves by more than ``tol`` (relative).
        """
        b = np.zeros(design.n_tasks, dtype=F.dtype) if b0 is None else b0.copy()
        intercepts = getattr(design, "intercepts", None)
        if intercepts is not None and not intercepts.free:
            for _ in range(n_iter):
                p = expit(F + design.per_row(b))
                g = design.task_sum(omega * (p - Y))
                h = design.task_sum(omega * p * (1 - p))
                safe = np.maximum(h, 1e-300)
                target = intercepts.solve(np.where(h > 0, b - g / safe, b), h)
                step = np.clip(target - b, -4.0, 4.0)
                b = b + step
                if np.max(np.abs(step)) <= tol * max(1.0, np.max(np.abs(b))):
                    break
            return b
        for _ in range(n_iter):
            p = expit(F + design.per_row(b))
            g = design.task_sum(omega * (p - Y))
            if np.max(np.abs(g)) <= tol:
                break
            h = design.task_sum(omega * p * (1 - p))
            # the logistic loss has curvature <= 1/4 and task weights sum to 1, so a
            # step of at most 4|g| in each task cannot overshoot badly; clip Newton
            b -= np.clip(g / np.maximum(h, 1e-12), -4.0, 4.0)
        return b
