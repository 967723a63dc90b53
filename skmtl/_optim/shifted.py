"""Shifted solves ``(H_t + r I)^{-1} b_t`` with every task's Gram ``H_t``, any ``r``.

ADMM's ``W`` step (:mod:`admm`) solves one ridge system per task at the current
penalty ``rho``, which residual balancing changes a few times a solve. Two
representations offer the same four operations (``solve``, ``apply``,
``inverse_sum``, ``mean_trace``):

- :class:`EigenShifts`, from each task's thin SVD ``H_t = V_t diag(s2_t) V_t^T``
  (:func:`design.task_svd_factors`): any shift then costs ``O(d k)`` per task
  after one factorisation. Wide and medium tasks (``n_t < 2 d``) take it.
- :class:`GramShifts`, for designs whose tasks are all tall (``n_t >= 2 d``): the
  ``d x d`` Grams, and ``(H_t + r I)^{-1}`` by Cholesky (LAPACK ``potrf`` and
  ``potri``, in one compiled loop over the tasks where ``_gram_fast`` is built)
  once per distinct shift. At d = 50 that is 7x cheaper than the
  eigendecomposition (20 tasks: 0.4 against 3.0 ms), and a solve meets few
  shifts (``bench_low_rank`` (20, 100, 50): 2). From the ``_MAX_INVERSES + 1``-th
  shift on, when the inverses would hold more than ``design._FACTOR_BUDGET``
  floats (the budget of the eigenvectors), for a shift below ``1 /
  _INVERSE_COND`` of the largest trace (the explicit inverse would lose its
  digits) or when a Cholesky factorisation fails, it solves through the Grams'
  eigendecomposition, computed then.

:func:`task_shifts` picks one for a design.
"""

import numpy as np
from scipy.linalg import lapack

from .._compiled import compiled
from .design import (
    _FACTOR_BUDGET,
    _LSTSQ_BUDGET,
    _TALL,
    factors_shape,
    gram_eigh,
    gram_solves,
    task_grams,
    task_svd_factors,
)

_gram_fast = compiled("_optim._gram_fast")  # optional: None without a C compiler

__all__ = ["EigenShifts", "GramShifts", "as_shifts", "task_shifts"]

# distinct shifts GramShifts inverts before it factorises the Grams instead (an
# inverse costs about 1/7 of an eigendecomposition at d = 50, 1/9 asymptotically)
_MAX_INVERSES = 3
# a shift r is inverted explicitly only while (max trace + r) / r, a bound on the
# condition number of H_t + r I, stays below this
_INVERSE_COND = 1e8


class EigenShifts:
    """Shifted solves from per-task eigenpairs ``H_t = V_t diag(s2_t) V_t^T``.

    Parameters
    ----------
    V : ndarray of shape (n_groups, d, k)
        Right singular vectors of each group's design (zero-padded).
    s2 : ndarray of shape (n_groups, k)
        Their squared singular values (zero-padded).
    """

    def __init__(self, V, s2):
        self.V, self.s2 = V, s2

    @property
    def shape(self):
        """``(n_groups, d, k)``."""
        return self.V.shape

    def for_tasks(self, task_omega):
        """The factors of every task: one group serving all tasks (a fully
        observed shared layout, whose task ``t`` weighs the rows by its
        multiplier ``task_omega[t]``) is broadcast and rescaled."""
        T = len(task_omega)
        if self.V.shape[0] == T:
            return self
        ratio = task_omega.astype(float) / float(task_omega[0])
        V = np.broadcast_to(self.V, (T,) + self.V.shape[1:])
        return EigenShifts(V, self.s2 * ratio[:, None])

    def solve(self, B, r):
        """Rows ``(H_t + r I)^{-1} b_t`` of ``B`` (n_groups, d); at ``r = 0``
        NaN unless every ``H_t`` is non-singular (a full basis ``V_t``, no zero
        ``s2``)."""
        V, s2 = self.V, self.s2
        C = np.matmul(B[:, None, :], V)[:, 0, :]  # (T, k): V_t^T b_t
        if r == 0:
            if V.shape[2] < V.shape[1] or not np.all(s2 > 0):
                return np.full(np.broadcast_shapes(B.shape, V.shape[:2]), np.nan)
            return np.matmul(V, (C / s2)[:, :, None])[:, :, 0]
        coef = C / (s2 + r) - C / r
        return B / r + np.matmul(V, coef[:, :, None])[:, :, 0]

    def apply(self, Z):
        """Rows ``H_t z_t`` of ``Z`` (n_groups, d)."""
        V = self.V
        C = self.s2 * np.matmul(Z[:, None, :], V)[:, 0, :]  # diag(s2_t) V_t^T z_t
        return np.matmul(V, C[:, :, None])[:, :, 0]

    def inverse_sum(self, r):
        """``sum_t (H_t + r I)^{-1}``, (d, d)."""
        V = self.V
        coef = 1.0 / (self.s2 + r) - 1.0 / r  # V_t diag(coef_t) V_t^T + I / r
        total = np.einsum("tdk,tk,tek->de", V, coef, V, optimize=True)
        total[np.diag_indices(V.shape[1])] += V.shape[0] / r
        return total

    def mean_trace(self):
        """The tasks' mean ``trace(H_t)``."""
        return float(np.mean(np.sum(self.s2, axis=1)))


class GramShifts:
    """Shifted solves from the Grams ``H_t``, by explicit inverses per shift.

    Parameters
    ----------
    H : ndarray of shape (n_tasks, d, d)
        Every task's Gram (float64, symmetric positive semi-definite).
    """

    def __init__(self, H):
        self.H = H
        self._inverses = {}  # shift -> (n_tasks, d, d) inverses of H_t + r I
        self._eigen = None
        self._upper = None  # the indices of the strict upper triangle
        self._traces = np.trace(H, axis1=1, axis2=2)
        # r = 0: None (not asked yet), False (a Gram is ill-conditioned), True
        # (well conditioned, H^-1 over the budget) or the stack of H_t^-1
        self._unshifted = None

    @property
    def shape(self):
        """``(n_tasks, d, d)``."""
        return self.H.shape

    def for_tasks(self, task_omega):
        """Itself: it holds one Gram per task."""
        return self

    def _inverse(self, r):
        """``(H_t + r I)^{-1}`` for every task, or None where the module
        docstring sends the shift to the eigendecomposition."""
        if r in self._inverses:
            return self._inverses[r]
        if (
            self._eigen is not None
            or len(self._inverses) >= _MAX_INVERSES
            or (len(self._inverses) + 1) * self.H.size > _FACTOR_BUDGET
            or not r * _INVERSE_COND > float(np.max(self._traces, initial=0.0)) + r
        ):
            return None
        out = self._invert(r)
        if out is None:  # from now on, every new shift by the eigenpairs
            self._eigenshifts()
            return None
        self._inverses[r] = out
        return out

    def _invert(self, r):
        """``(H_t + r I)^{-1}`` by Cholesky (``potrf``, ``potri``), None where a
        factorisation fails."""
        d = self.H.shape[1]
        if _gram_fast is not None and self.H.flags.c_contiguous:  # the loop in C
            out = np.empty_like(self.H)
            return None if _gram_fast.shifted_inverses(self.H, r, out) >= 0 else out
        out = self.H.copy()
        out[:, np.arange(d), np.arange(d)] += r
        for P in out:
            # P.T: the same memory in Fortran order (P is symmetric), factorised
            # and inverted in place; LAPACK's upper triangle is P's lower one
            chol, info = lapack.dpotrf(P.T, lower=0, clean=0, overwrite_a=1)
            if info == 0:
                _, info = lapack.dpotri(chol, lower=0, overwrite_c=1)
            if info != 0:
                return None
        if self._upper is None:
            self._upper = np.triu_indices(d, 1)
        i, j = self._upper
        out[:, i, j] = out[:, j, i]
        return out

    def _unshifted_solve(self, B):
        """``H_t^{-1} b_t``, NaN unless every Gram is well conditioned. The
        first call decides by LAPACK's condition estimates
        (:func:`design.gram_solves`) and keeps ``H_t^{-1}`` where it fits the
        float budget, so that later calls (ADMM's stalled gap checks) are one
        batched product."""
        B = np.broadcast_to(B, self.H.shape[:2])
        if isinstance(self._unshifted, np.ndarray):
            return np.matmul(self._unshifted, B[:, :, None])[:, :, 0]
        C = None if self._unshifted is False else gram_solves(self.H, B)
        if self._unshifted is None:  # the first call: keep the verdict
            fits = (len(self._inverses) + 1) * self.H.size <= _FACTOR_BUDGET
            self._unshifted = (
                False if C is None else (self._invert(0.0) if fits else True)
            )
        return np.full(self.H.shape[:2], np.nan) if C is None else C

    def _eigenshifts(self):
        if self._eigen is None:
            self._eigen = EigenShifts(*gram_eigh(self.H)[::-1])
        return self._eigen

    def solve(self, B, r):
        """Rows ``(H_t + r I)^{-1} b_t`` of ``B`` (n_tasks, d); at ``r = 0`` by
        the Grams' Cholesky factors (:func:`design.gram_solves`), NaN unless
        every Gram is well conditioned."""
        if r == 0:
            return self._unshifted_solve(B)
        P = self._inverse(r)
        if P is None:
            return self._eigenshifts().solve(B, r)
        return np.matmul(P, B[:, :, None])[:, :, 0]

    def apply(self, Z):
        """Rows ``H_t z_t`` of ``Z`` (n_tasks, d)."""
        return np.matmul(self.H, Z[:, :, None])[:, :, 0]

    def inverse_sum(self, r):
        """``sum_t (H_t + r I)^{-1}``, (d, d)."""
        P = self._inverse(r)
        if P is None:
            return self._eigenshifts().inverse_sum(r)
        return P.sum(axis=0)

    def mean_trace(self):
        """The tasks' mean ``trace(H_t)``."""
        return float(np.mean(self._traces))


def as_shifts(factors):
    """``factors`` as shifted solves: a ``(V, s2)`` pair of
    :func:`design.task_svd_factors` becomes :class:`EigenShifts`."""
    if isinstance(factors, tuple):
        return EigenShifts(*factors)
    return factors


def task_shifts(design, budget=_LSTSQ_BUDGET, max_floats=_FACTOR_BUDGET, shift=None):
    """The shifted solves of every task group's weighted design ``Omega_t^{1/2}
    (X_t - shift_t)`` (centred when ``design.center``; ``shift`` (n_groups, d) or
    None): :class:`GramShifts` when every task has its own group and all are
    tall, else :class:`EigenShifts`; None over the budgets of
    :func:`design.task_svd_factors`."""
    shape = factors_shape(design, budget, max_floats)
    if shape is None:
        return None
    groups = design._task_groups()
    tall = all(len(g) >= _TALL * shape[1] for g in groups)
    if tall and shape[1] > 0 and len(groups) == design.n_tasks:
        return GramShifts(task_grams(design, shift))
    return EigenShifts(*task_svd_factors(design, budget, max_floats, shift))
