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

    def optimal_offsets(self, F, Y, omega, design):
        """Per-task ``b`` minimising ``f(F + b)``: the weighted mean residual."""
        return design.task_sum(omega * (Y - F))


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
        """Per-task ``b`` minimising ``f(F + b)`` by damped Newton steps (all tasks at
        once); the weighted residual of every task then sums to ~0."""
        b = np.zeros(design.n_tasks, dtype=F.dtype) if b0 is None else b0.copy()
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
