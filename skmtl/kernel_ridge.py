"""Multi-task kernel ridge regression with a shared kernel."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, fit_context
from ._kernel_base import BaseMultiTaskKernel, fill_doc
from .base import MultiTaskRegressorMixin

__all__ = ["MultiTaskKernelRidge"]

# explicit paths: a direct (Cholesky) ridge solve up to this min(n_rows, n_features)
_DIRECT_MAX = 4096
# mu form: solve by task blocks when the base features are at most this wide
_BLOCK_MAX_FEATURES = 2048


def _solve_dual(K, y, alpha, sample_weight):
    """``(K + alpha W^{-1})^{-1} y`` for row weights ``W``, overwriting ``K``.

    Solved as ``W^{1/2} (W^{1/2} K W^{1/2} + alpha I)^{-1} W^{1/2} y`` (rows of zero
    weight get a zero coefficient), by Cholesky, or by least squares with a
    warning when the matrix is singular (``alpha = 0``), as scikit-learn's
    ``KernelRidge`` does.
    """
    s = None if sample_weight is None else np.sqrt(sample_weight)
    if s is not None:
        K *= s[:, None]
        K *= s[None, :]
        y = y * s
    K.flat[:: K.shape[0] + 1] += alpha
    try:
        dual = linalg.solve(K, y, assume_a="pos", overwrite_a=False)
    except (linalg.LinAlgError, ValueError):
        warnings.warn(
            "Singular matrix in solving the dual problem; using the least-squares "
            "solution instead."
        )
        dual = linalg.lstsq(K, y)[0]
    return dual if s is None else dual * s


@fill_doc
class MultiTaskKernelRidge(MultiTaskRegressorMixin, BaseMultiTaskKernel):
    """Kernel ridge regression with the multi-task kernel ``B[s, t] k(x, z)``.

    With the multi-task kernel ``K((x, s), (z, t)) = B[s, t] k(x, z)`` (Evgeniou,
    Micchelli & Pontil 2005; ``B = (1/mu) 11^T + I`` by default, i.e. task weights
    ``w_t = w_0 + v_t``), it solves::

        min_f  sum_i s_i (y_i - f_{t_i}(x_i))^2 + alpha * ||f||_K^2

    whose solution is ``f_t(x) = sum_i dual_coef_[i] B[t, t_i] k(x, x_i)`` with
    ``dual_coef_ = (K + alpha I)^{-1} y`` (``s_i``: sample weights, then
    ``(K + alpha S^{-1})^{-1} y``), scikit-learn ``KernelRidge``'s convention (no
    intercept: centre ``y`` or add a constant to the kernel). For the ``mu`` form
    and a linear kernel, ``||f||_K^2 = min_{w_0} mu ||w_0||^2 + sum_t ||w_t -
    w_0||^2``.

    The kernel path solves that ``n x n`` system (``O(n^2)`` memory, ``O(n^3)``
    time); ``solver="linear"`` solves the same problem exactly as a ridge
    regression on the explicit features ``F[t] (x) x``, and ``"nystroem"`` on
    approximate ones, for large ``n``.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
        Regularisation strength (``KernelRidge``'s ``alpha``).
    %(kernel)s
        Default "linear" (as ``KernelRidge``).
    %(kernel_params)s
        Defaults as ``KernelRidge``: ``degree=3``, ``gamma=None``, ``coef0=1``.
    %(task_params)s
    tol : float > 0, default=1e-6
        Tolerance of the iterative ridge solver (``lsqr``), used only on the
        explicit paths with more than 4,096 rows and explicit features when the
        block solver does not apply (see ``solver_detail_``).
    %(solver_params)s
    %(common_params)s

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_rows,)
        Kernel path: the dual coefficients of the stacked training rows.
    X_fit_ : ndarray or sparse matrix of shape (n_rows, n_features)
        Kernel path: features of the stacked training rows (task column
        excluded; the shared layout's rows tiled task by task).
    fit_tasks_ : ndarray of shape (n_rows,)
        Kernel path: task label of each training row.
    primal_coef_ : ndarray of shape (n_explicit_features,)
        Explicit paths: the ridge weights on the explicit features
        ``F[t] (x) psi(x)``.
    solver_detail_ : {"mu-block", "cholesky", "lsqr"}
        Explicit paths: how the ridge problem was solved. "mu-block" (``mu``
        form, ``alpha > 0``, at most 2,048 base features): exactly, by
        eliminating the task blocks (``n_tasks`` solves of size ``d``);
        "cholesky": scikit-learn's ``Ridge`` direct solve (at most 4,096 rows or
        features, ``alpha > 0``); "lsqr": its iterative solver with ``tol``
        (also for ``alpha = 0``, where the direct solve may be singular).
    coef_ : ndarray of shape (n_tasks, n_features)
        ``kernel="linear"`` only (kernel and linear paths): per-task weights,
        ``predict`` is ``x @ coef_[t]``.
    solver_ : {"kernel", "linear", "nystroem"}
    task_similarity_ : ndarray of shape (n_tasks, n_tasks)
    tasks_ : ndarray of shape (n_tasks,)
    n_tasks_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    sklearn.kernel_ridge.KernelRidge : the single-task model.
    skmtl.svm.MultiTaskSVR : the same kernel with the epsilon-insensitive loss.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.kernel_ridge import MultiTaskKernelRidge
    >>> X, y = make_multitask_regression(
    ...     n_tasks=3, n_samples=30, n_features=4, structure="mean", random_state=0)
    >>> krr = MultiTaskKernelRidge(alpha=0.1, mu=1.0, task_column=0).fit(X, y)
    >>> krr.dual_coef_.shape, krr.coef_.shape, round(krr.score(X, y), 3)
    ((90,), (3, 4), 0.999)
    """

    _parameter_constraints = {
        **BaseMultiTaskKernel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        kernel="linear",
        degree=3,
        gamma=None,
        coef0=1,
        mu=1.0,
        task_similarity=None,
        tol=1e-6,
        solver="auto",
        n_components=100,
        memory_limit=2048,
        unseen_task="error",
        task_column=None,
        random_state=None,
    ):
        self.alpha = alpha
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.mu = mu
        self.task_similarity = task_similarity
        self.tol = tol
        self.solver = solver
        self.n_components = n_components
        self.memory_limit = memory_limit
        self.unseen_task = unseen_task
        self.task_column = task_column
        self.random_state = random_state

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the multi-task kernel ridge regression.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            2-D in the shared layout (NaN = missing).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weight of the squared loss.

        Returns
        -------
        self : object
        """
        design = self._fit_design(X, y, sample_weight, classification=False)
        sw = design.sample_weight if design.weighted else None
        if self.solver_ == "kernel":
            self.dual_coef_ = _solve_dual(design.matrix, design.y, self.alpha, sw)
            # own copy: design.X may be a view of the caller's X (the features
            # next to the task column), which the caller may change after fit
            self.X_fit_ = design.X.copy()
            self.fit_tasks_ = self.tasks_[design.task]
            self._ref = {"ref_X": self.X_fit_, "ref_task": design.task}
            if self.kernel == "linear":
                self.coef_ = self._linear_coef(None, self.dual_coef_, **self._ref)
            return self
        if self._use_block_solver(design):
            self.solver_detail_ = "mu-block"
            self.primal_coef_ = self._solve_mu_blocks(design, sw)
        else:
            n, p = design.matrix.shape
            # alpha = 0 can leave the normal equations singular; Ridge's cholesky
            # then falls back to an SVD that refuses the sparse design: lsqr
            direct = min(n, p) <= _DIRECT_MAX and not (
                self.alpha == 0 and sp.issparse(design.matrix)
            )
            self.solver_detail_ = "cholesky" if direct else "lsqr"
            ridge = Ridge(
                alpha=self.alpha,
                fit_intercept=False,
                solver=self.solver_detail_,
                tol=self.tol,
            ).fit(design.matrix, design.y, sample_weight=sw)
            self.primal_coef_ = ridge.coef_
        if self.solver_ == "linear":
            self.coef_ = self._linear_coef(self.primal_coef_)
        return self

    def _use_block_solver(self, design):
        psi_width = design.matrix.shape[1] // self._task_factor.shape[1]
        return (
            self.task_similarity is None
            and np.isfinite(self.mu)
            and self.alpha > 0
            and psi_width <= _BLOCK_MAX_FEATURES
        )

    def _solve_mu_blocks(self, design, sw):
        """Exact ridge on ``phi = [a psi, e_t (x) psi]`` (``a = mu^-1/2``) by blocks.

        With ``G_t = Psi_t^T S_t Psi_t``, ``g_t = Psi_t^T S_t y_t`` the normal
        equations are an arrowhead system; eliminating the task blocks ``v_t =
        (G_t + alpha I)^{-1} (g_t - a G_t u)`` leaves, for the shared block ``u``,
        ``(I + a^2 sum_t G_t (G_t + alpha I)^{-1}) u = a sum_t (G_t + alpha
        I)^{-1} g_t``: ``n_tasks`` solves of size ``d`` instead of one of size
        ``(n_tasks + 1) d``.
        """
        psi = self._base_features(design.X)
        psi = psi.toarray() if sp.issparse(psi) else np.asarray(psi)
        w = np.ones(len(design.y)) if sw is None else sw
        n_tasks, d = self.n_tasks_, psi.shape[1]
        a = 1.0 / np.sqrt(self.mu)
        order = np.argsort(design.task, kind="stable")
        bounds = np.cumsum(np.bincount(design.task, minlength=n_tasks))[:-1]
        lhs, rhs = np.eye(d), np.zeros(d)
        solves = []
        for rows in np.split(order, bounds):
            P, wy = psi[rows], w[rows] * design.y[rows]
            G = P.T @ (P * w[rows, None])
            g = P.T @ wy
            factor = linalg.cho_factor(G + self.alpha * np.eye(d))
            inv_g = linalg.cho_solve(factor, g)
            lhs += a * a * linalg.cho_solve(factor, G).T  # G (G + aI)^-1
            rhs += a * inv_g
            solves.append((factor, G, g))
        u = linalg.solve(lhs, rhs)
        v = [linalg.cho_solve(f, g - a * (G @ u)) for f, G, g in solves]
        return np.concatenate([u] + v)

    def predict(self, X):
        """Prediction of each row by its task's function.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            ``(n_samples, n_tasks)`` in the shared layout.
        """
        check_is_fitted(self)
        if self.solver_ == "kernel":
            return self._collect(X, lambda K: K @ self.dual_coef_, **self._ref)
        return self._collect(X, lambda Phi: Phi @ self.primal_coef_)
