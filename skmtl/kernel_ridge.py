"""Multi-task kernel ridge regression with a shared kernel."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, fit_context
from ._docstring import fill_doc
from ._kernel._base import BaseMultiTaskKernel
from ._kernel._feature_map import _nystroem_basis
from ._kernel._gram import _base_kernel
from ._kernel._similarity import check_task_similarity, task_similarity_from_mu
from ._optim.mixed import (
    block_row_design,
    design_with_intercept,
    fixed_effects,
    loo_hat_diagonal,
    marginal_blocks,
    posterior_coef_cov,
    task_deviations,
    task_moments,
)
from .base import MultiTaskRegressorMixin, RefitMixin

__all__ = ["MultiTaskKernelRidge", "MultiTaskKernelRidgeCV"]

# explicit paths: a direct (Cholesky) ridge solve up to this min(n_rows, n_features)
_DIRECT_MAX = 4096
# mu form: solve by task blocks when the base features are at most this wide
_BLOCK_MAX_FEATURES = 2048
# solver="auto" with kernel="linear" in the mu form: the explicit path (its block
# solves) when they cost at most 1/10 of the kernel path's factorisations, in
# flops (small blocks run slower per flop than one large factorisation). Measured
# on one core for MultiTaskKernelRidgeCV: the kernel path took 16.0 / 1.6 / 18.7 /
# 0.72 s and the blocks 4.2 / 0.72 / 0.71 / 1.03 s (School 10%, Parkinsons 10% and
# 30%, Computer Survey 10%; the same criterion to 6 digits), where the rule picks
# blocks, blocks, blocks, kernel
_LINEAR_COST_RATIO = 10.0
# ... and only where the kernel path's factorisation is worth saving (about 0.1 s
# on one core): below, "auto" keeps the kernel path (and its dual_coef_) as before
_MIN_KERNEL_FLOPS = 1e8


def _blocks_are_cheaper(n, p, n_tasks, n_solves=1, kernel_flops=None):
    """Whether ``n_solves`` block solves of the ``mu`` form (``n p^2`` for the
    moments, then ``n_tasks p^3`` each) cost less than ``1 / _LINEAR_COST_RATIO``
    of the kernel path's ``kernel_flops`` (default ``n^3 / 3``, a Cholesky), when
    these exceed ``_MIN_KERNEL_FLOPS``."""
    kernel_flops = float(n) ** 3 / 3 if kernel_flops is None else kernel_flops
    blocks = n * p * p + n_solves * n_tasks * p**3
    return (
        kernel_flops > _MIN_KERNEL_FLOPS and _LINEAR_COST_RATIO * blocks < kernel_flops
    )


def _solve_dual(K, y, alpha, sample_weight, fit_intercept):
    """Dual coefficients and free intercept ``b_0`` of weighted kernel ridge.

    Minimises ``sum_i s_i (y_i - (K a)_i - b_0)^2 + alpha a' K a`` (``b_0 = 0``
    without ``fit_intercept``), overwriting ``K``. The optimality conditions are the
    bordered system ``(K + alpha S^-1) a + 1 b_0 = y``, ``1' a = 0``; with ``s =
    S^(1/2)`` and ``M = s K s + alpha I`` it is solved by one Cholesky factorisation
    of ``M`` and two right-hand sides: ``z_y = M^-1 s y``, ``z_1 = M^-1 s``,
    ``b_0 = s' z_y / s' z_1``, ``a = s (z_y - b_0 z_1)``. A singular ``M``
    (``alpha = 0``) falls back to least squares with a warning, as scikit-learn's
    ``KernelRidge`` does.
    """
    n = K.shape[0]
    s = np.ones(n) if sample_weight is None else np.sqrt(sample_weight)
    K *= s[:, None]
    K *= s[None, :]
    K.flat[:: n + 1] += alpha
    rhs = np.column_stack([s * y, s]) if fit_intercept else (s * y)[:, None]
    try:
        z = linalg.cho_solve(linalg.cho_factor(K, overwrite_a=False), rhs)
        if not np.all(np.isfinite(z)):
            raise linalg.LinAlgError("non-finite solution")
        b0 = float(s @ z[:, 0] / (s @ z[:, 1])) if fit_intercept else 0.0
        dual = z[:, 0] - b0 * z[:, 1] if fit_intercept else z[:, 0]
    except (linalg.LinAlgError, ValueError):
        warnings.warn(
            "Singular matrix in solving the dual problem; using the least-squares "
            "solution instead."
        )
        if fit_intercept:
            bordered = np.block([[K, s[:, None]], [s[None, :], np.zeros((1, 1))]])
            sol = linalg.lstsq(bordered, np.append(s * y, 0.0))[0]
            dual, b0 = sol[:n], float(sol[n])
        else:
            dual, b0 = linalg.lstsq(K, s * y)[0], 0.0
    return dual * s, b0


def _block_strengths(d, alpha, mu, alpha_intercepts, fit_intercept):
    """The ``mu`` form as a mixed-model block problem on ``Z = [1, psi]`` (or ``psi``).

    With base features ``psi`` the model ``f_t(x) = psi' (w_0 + v_t) + b_0 + c_t``
    and the objective ``sum_i w_i r_i^2 + alpha (mu ||w_0||^2 + sum_t ||v_t||^2 +
    alpha_intercepts sum_t c_t^2)`` is :class:`~skmtl.linear_model.HierarchicalRidge`
    (whose loss has a factor 1/2) with ``alpha_shared = alpha mu``,
    ``alpha_slopes = alpha`` and ``alpha_intercepts = alpha * alpha_intercepts``.
    Returns the deviation scales ``s`` (prior sd, 0 = no deviation), the columns
    ``F`` with a shared coefficient and their prior precisions (0 = free ``b_0``).
    """
    slopes = np.full(d, 1.0 / np.sqrt(alpha))
    shared = np.arange(d) if np.isfinite(mu) else np.zeros(0, dtype=np.intp)
    prior = np.full(shared.size, alpha * mu)
    if not fit_intercept:
        return slopes, shared, prior
    a_int = alpha * alpha_intercepts
    s0 = 0.0 if np.isinf(a_int) else 1.0 / np.sqrt(a_int)
    F = np.concatenate([[0], shared + 1]).astype(np.intp)
    return np.concatenate([[s0], slopes]), F, np.concatenate([[0.0], prior])


def _block_fit(mom, d, alpha, mu, alpha_intercepts, fit_intercept, blocks=None):
    """Shared coefficients ``beta``, deviations ``U`` and the blocks
    (:mod:`skmtl._optim.mixed`: ``n_tasks`` factorisations of size ``p``)."""
    scales, F, prior = _block_strengths(d, alpha, mu, alpha_intercepts, fit_intercept)
    if blocks is None:
        blocks = marginal_blocks(mom, scales)
    beta, _, A_chol, _ = fixed_effects(blocks, F, prior)
    U = task_deviations(mom, blocks, beta)
    return beta, U, blocks, F, A_chol


def _block_design(psi, fit_intercept):
    psi = psi.toarray() if sp.issparse(psi) else np.asarray(psi, dtype=np.float64)
    return design_with_intercept(psi) if fit_intercept else psi


def _mu_block_solution(
    psi, y, w, task, n_tasks, alpha, mu, alpha_intercepts, fit_intercept
):
    """Exact primal ridge of the ``mu`` form by blocks: ``(w_0, V, b_0, c)``."""
    Z = _block_design(psi, fit_intercept)
    mom = task_moments(Z, y, w, task, n_tasks)
    beta, U, *_ = _block_fit(
        mom, psi.shape[1], alpha, mu, alpha_intercepts, fit_intercept
    )
    if fit_intercept:
        return beta[1:], U[:, 1:], float(beta[0]), U[:, 0]
    return beta, U, 0.0, np.zeros(n_tasks)


@fill_doc
class MultiTaskKernelRidge(MultiTaskRegressorMixin, BaseMultiTaskKernel):
    """Kernel ridge regression with the multi-task kernel ``B[s, t] k(x, z)``.

    With the multi-task kernel ``K((x, s), (z, t)) = B[s, t] k(x, z)`` (Evgeniou,
    Micchelli & Pontil 2005; ``B = (1/mu) 11^T + I`` by default, i.e. task weights
    ``w_t = w_0 + v_t``), task ``t`` predicts ``f_t(x) + b_0 + c_t`` and the
    estimator solves::

        min_{f, b_0, c}  sum_i s_i omega_{t_i} (y_i - f_{t_i}(x_i) - b_0 - c_{t_i})^2
                         + alpha * (||f||_K^2 + alpha_intercepts * sum_t c_t^2)

    (``s_i``: sample weights; ``omega_t``: ``task_weighting``; ``b_0`` free). For
    the ``mu`` form and a linear kernel ``||f||_K^2 = mu ||w_0||^2 + sum_t ||v_t||^2``:
    this is :class:`~skmtl.linear_model.HierarchicalRidge` with ``alpha_shared =
    alpha * mu``, ``alpha_slopes = alpha`` and its ``alpha_intercepts`` equal to
    ``alpha * alpha_intercepts`` here. The offsets are a kernel term: the solution is
    ``f_t(x) + c_t = sum_i dual_coef_[i] (B[t, t_i] k(x, x_i) + [t == t_i] /
    alpha_intercepts)`` with ``dual_coef_`` and ``b_0`` from one bordered linear
    system (the augmented kernel plus ``alpha`` times the inverse row weights,
    bordered by the unpenalised constant).

    Intercepts, and why ``fit_intercept=True`` is the default: scikit-learn's
    ``KernelRidge`` has no intercept, so an uncentred target is fitted through the
    origin of the kernel's feature space (on grouped data the previous default
    scored an R^2 of -0.33 for that reason alone). Here ``b_0`` is free (a pooled
    model's intercept) and each task's level moves away from it only as far as its
    data justify: a task with few rows keeps an offset near 0 and borrows ``b_0``,
    the random intercept of a mixed model. ``fit_intercept=False`` gives the
    previous (``KernelRidge``) model. ``alpha_intercepts=1`` penalises the offsets
    like the weights of a one-hot task feature of unit scale next to the kernel's own
    features; :class:`MultiTaskKernelRidgeCV` chooses it from the data.

    What a small task borrows: its function ``f_t = f_0 + g_t`` (the shared part
    ``f_0`` has norm weight ``mu``, the task part ``g_t`` weight 1) and its offset
    ``c_t`` are shrunk towards the shared function and ``b_0`` as its rows get fewer.

    The kernel path solves that ``n x n`` system (``O(n^2)`` memory, ``O(n^3)``
    time); ``solver="linear"`` solves the same problem exactly as a ridge
    regression on the explicit features ``F[t] (x) x`` (plus a one-hot task block
    of scale ``alpha_intercepts^-1/2``), and ``"nystroem"`` on approximate ones,
    for large ``n``.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
        Regularisation strength (``KernelRidge``'s ``alpha``).
    %(kernel.kernel)s
        Default "linear" (as ``KernelRidge``).
    %(kernel.kernel_params)s
        Defaults as ``KernelRidge``: ``degree=3``, ``gamma=None``, ``coef0=1``.
    %(kernel.task_params)s
    fit_intercept : bool, default=True
        Fit the free shared intercept ``b_0`` and the task offsets ``c_t``
        (``alpha_intercepts``). False: no intercept at all (``KernelRidge``'s
        model: centre ``y`` yourself).
    %(kernel.offset_params)s
        Default 1.0; ignored when ``fit_intercept=False``.
    tol : float > 0, default=1e-6
        Tolerance of the iterative ridge solver (``lsqr``), used only on the
        explicit paths with more than 4,096 rows and explicit features when the
        block solver does not apply (see ``solver_detail_``).
    %(kernel.solver_params)s
    %(kernel.common_params)s

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
        ``F[t] (x) psi(x)`` (then the one-hot offset block, with offsets).
    solver_detail_ : {"mu-block", "cholesky", "lsqr"}
        Explicit paths: how the ridge problem was solved. "mu-block" (``mu``
        form, ``alpha > 0``, at most 2,048 base features): exactly, through the
        block algebra of :class:`~skmtl.linear_model.HierarchicalRidge`
        (``n_tasks`` solves of size ``d + 1``); "cholesky": scikit-learn's
        ``Ridge`` direct solve (at most 4,096 rows or features); "lsqr": its
        iterative solver with ``tol`` (also for ``alpha = 0``, where the direct
        solve may be singular). The free ``b_0`` is profiled out of two
        ridge solves (for ``y`` and for the constant) on the last two.
    coef_ : ndarray of shape (n_tasks, n_features)
        ``kernel="linear"`` only (kernel and linear paths): per-task weights,
        ``predict`` is ``x @ coef_[t] + intercept_[t]``.
    intercept_ : ndarray of shape (n_tasks,)
        Task intercepts ``b_0 + c_t`` (zeros with ``fit_intercept=False``).
    intercept_shared_ : float
        ``b_0``: the intercept of an unseen task (``unseen_task="shared"``).
    intercept_deviations_ : ndarray of shape (n_tasks,)
        The offsets ``c_t``.
    solver_ : {"kernel", "linear", "nystroem"}
    task_similarity_ : ndarray of shape (n_tasks, n_tasks)
    %(layout_attributes)s

    See Also
    --------
    MultiTaskKernelRidgeCV : ``alpha``, ``mu`` and ``alpha_intercepts`` chosen by
        exact leave-one-out.
    sklearn.kernel_ridge.KernelRidge : The single-task model.
    skmtl.linear_model.HierarchicalRidge : The linear-kernel ``mu`` form, with one
        strength per block.
    skmtl.svm.MultiTaskSVR : The same kernel with the epsilon-insensitive loss.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.kernel_ridge import MultiTaskKernelRidge
    >>> X, y = make_multitask_regression(
    ...     n_tasks=3, n_samples=30, n_features=4, structure="mean", random_state=0)
    >>> y = y + 50.0  # an uncentred target: the free intercept absorbs it
    >>> krr = MultiTaskKernelRidge(alpha=0.1, mu=1.0, task_column=0).fit(X, y)
    >>> krr.dual_coef_.shape, krr.coef_.shape, krr.intercept_.shape
    ((90,), (3, 4), (3,))
    >>> round(krr.score(X, y), 3)
    0.999
    """

    _parameter_constraints = {
        **BaseMultiTaskKernel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
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
        fit_intercept=True,
        alpha_intercepts=1.0,
        task_weighting="size",
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
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.tol = tol
        self.solver = solver
        self.n_components = n_components
        self.memory_limit = memory_limit
        self.unseen_task = unseen_task
        self.task_column = task_column
        self.random_state = random_state

    def _offset_scale(self):
        return super()._offset_scale() if self.fit_intercept else 0.0

    @fill_doc(sample_weight_fit="Per-row weight of the squared loss.")
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the multi-task kernel ridge regression.

        %(fit_sections)s
        """
        design = self._fit_design(X, y, sample_weight, classification=False)
        return self._fit_from_design(design)

    def _fit_from_design(self, design):
        sw = design.sample_weight if design.weighted else None
        if self.solver_ == "kernel":
            self.dual_coef_, b0 = _solve_dual(
                design.matrix, design.y, self.alpha, sw, self.fit_intercept
            )
            # own copy: design.X may be a view of the caller's X (the features
            # next to the task column), which the caller may change after fit
            self.X_fit_ = design.X.copy()
            self.fit_tasks_ = self.tasks_[design.task]
            self._ref = {"ref_X": self.X_fit_, "ref_task": design.task}
            if self.kernel == "linear":
                self.coef_ = self._linear_coef(None, self.dual_coef_, **self._ref)
            offsets = self._offsets(dual=self.dual_coef_, ref_task=design.task)
            self._store_intercepts(b0, offsets)
            return self
        if self._use_block_solver(design):
            self.solver_detail_ = "mu-block"
            psi = self._base_features(design.X)
            w = np.ones(len(design.y)) if sw is None else sw
            w0, V, b0, c = _mu_block_solution(
                psi,
                design.y,
                w,
                design.task,
                self.n_tasks_,
                self.alpha,
                self.mu,
                self.alpha_intercepts,
                self.fit_intercept,
            )
            parts = [np.sqrt(self.mu) * w0, V.ravel()]
            if self._n_offset_columns():
                parts.append(c * np.sqrt(self.alpha_intercepts))
            self.primal_coef_ = np.concatenate(parts)
        else:
            n, p = design.matrix.shape
            # alpha = 0 can leave the normal equations singular; Ridge's cholesky
            # then falls back to an SVD that refuses the sparse design: lsqr
            direct = min(n, p) <= _DIRECT_MAX and not (
                self.alpha == 0 and sp.issparse(design.matrix)
            )
            self.solver_detail_ = "cholesky" if direct else "lsqr"
            target = design.y
            if self.fit_intercept:  # b_0 profiled out of a second right-hand side
                target = np.column_stack([design.y, np.ones(n)])
            ridge = Ridge(
                alpha=self.alpha,
                fit_intercept=False,
                solver=self.solver_detail_,
                tol=self.tol,
            ).fit(design.matrix, target, sample_weight=sw)
            coef, b0 = ridge.coef_, 0.0
            if self.fit_intercept:
                w = np.ones(n) if sw is None else sw
                resid = target - design.matrix @ coef.T
                denom = float(w @ resid[:, 1])
                # the design spans the constant (alpha = 0 with free offsets): b_0
                # is not identifiable and the offsets carry the level
                scale = float(w @ np.ones(n))
                b0 = float(w @ resid[:, 0]) / denom if denom > 1e-10 * scale else 0.0
                coef = coef[0] - b0 * coef[1]
            self.primal_coef_ = coef
        if self.solver_detail_ != "mu-block":
            c = self._offsets(inner_coef=self.primal_coef_)
        self._store_intercepts(b0, c)
        if self.solver_ == "linear":
            self.coef_ = self._linear_coef(self.primal_coef_)
        return self

    def _store_intercepts(self, b0, offsets):
        self.intercept_shared_ = float(b0)
        self.intercept_deviations_ = np.asarray(offsets, dtype=np.float64)
        self.intercept_ = self.intercept_shared_ + self.intercept_deviations_

    def _select_solver(self, n, n_features=None):
        """The base rule, and with ``kernel="linear"`` in the ``mu`` form the
        explicit path below ``AUTO_KERNEL_MAX_ROWS`` too where its block solve
        costs a tenth of the kernel path's Cholesky or less
        (``_blocks_are_cheaper``)."""
        solver = super()._select_solver(n, n_features)
        blocks = (
            self.solver == "auto"
            and solver == "kernel"
            and self.kernel == "linear"
            and n_features is not None
            and self._block_form(n_features)
        )
        if blocks:
            p = n_features + int(self.fit_intercept)
            if _blocks_are_cheaper(n, p, self.n_tasks_):
                return "linear"
        return solver

    def _block_form(self, psi_width):
        """Whether the explicit path solves by the ``mu`` form's blocks
        (``_mu_block_solution``) on ``psi_width`` base features."""
        return (
            self.task_similarity is None
            and np.isfinite(self.mu)
            and self.alpha > 0
            and psi_width <= _BLOCK_MAX_FEATURES
        )

    def _use_block_solver(self, design):
        psi_width = (
            design.matrix.shape[1] - self._n_offset_columns()
        ) // self._task_factor.shape[1]
        return self._block_form(psi_width)

    @fill_doc
    def predict(self, X):
        """Prediction of each row by its task's function.

        A task unseen in ``fit`` (``unseen_task="shared"``) gets the shared
        function plus ``b_0``.

        %(predict_sections)s
        """
        check_is_fitted(self)
        b0 = self.intercept_shared_
        if self.solver_ == "kernel":
            return self._collect(X, lambda K: K @ self.dual_coef_ + b0, **self._ref)
        return self._collect(X, lambda Phi: Phi @ self.primal_coef_ + b0)


# --------------------------------------------------------------------------- CV
#: ``solver="auto"`` of the CV class uses the exact kernel path (one ``n x n``
#: eigendecomposition per ``(mu, alpha_intercepts)`` candidate) up to this many rows.
CV_KERNEL_MAX_ROWS = 2000
# the default alpha grid of the CV class: this many values over 8 decades
_CV_N_ALPHAS = 25


def _loo_eigen(K, y, s, alphas, fit_intercept):
    """Exact leave-one-out criterion of weighted kernel ridge for every ``alpha``.

    ``K`` is the (augmented) kernel of the training rows, ``s`` the square roots of
    the row weights. In scaled coordinates ``K~ = s K s``, ``y~ = s y`` and with
    ``Q`` the projector that removes the direction ``s`` of the free ``b_0`` (the
    identity without intercept), the residuals are ``e~ = alpha (Q K~ Q + alpha
    I)^-1 Q y~`` and ``1 - h_ii = [alpha (Q K~ Q + alpha I)^-1 Q]_ii``: one
    eigendecomposition ``Q K~ Q = V diag(lam) V'`` on the complement of ``s`` gives
    both for all ``alpha`` (scikit-learn ``RidgeCV``'s eigen mode). The
    leave-one-out residual of row ``i`` is ``e_i / (1 - h_ii)`` (row weights held
    fixed), and the criterion ``sum_i w_i (e_i / (1 - h_ii))^2 / sum_i w_i``.
    """
    Kt = K * s[:, None] * s[None, :]
    yt = s * y
    if fit_intercept:
        # restrict to the orthogonal complement of s exactly: the Householder
        # reflector P maps s / ||s|| to e_1, so P[:, 1:] is a basis of it (an
        # eigendecomposition of Q K~ Q would mix s into the null space of K~)
        v = s / np.linalg.norm(s)
        v[0] += 1.0 if v[0] >= 0 else -1.0
        v /= np.linalg.norm(v)
        Kv = Kt @ v
        PK = Kt - 2.0 * np.outer(v, Kv)  # P K~
        PKP = PK - 2.0 * np.outer(PK @ v, v)  # P K~ P
        if len(y) > 1:
            lam, W = linalg.eigh(PKP[1:, 1:], check_finite=False)
        else:  # one row: an empty complement (scipy < 1.12 fails on 0 x 0)
            lam, W = np.zeros(0), np.zeros((0, 0))
        V = np.vstack([np.zeros((1, W.shape[1])), W])
        V -= 2.0 * np.outer(v, v @ V)  # P [0; W]
    else:
        lam, V = linalg.eigh(Kt, check_finite=False)
    lam = np.clip(lam, 0.0, None)
    qy = V.T @ yt
    factor = alphas[None, :] / (lam[:, None] + alphas[None, :])  # (k, n_alphas)
    resid = V @ (factor * qy[:, None])
    diag = (V * V) @ factor
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = np.where(diag > 1e-12, resid / diag, np.inf)
    return (loo**2).sum(axis=0) / (s @ s)


def _loo_blocks(Z, y, w, task, n_tasks, alphas, mu, alpha_intercepts, fit_intercept):
    """The same criterion on the explicit ``mu``-form features through the blocks:
    ``h_ii = w_i z_i' Cov(beta + u_t) z_i`` (as :class:`HierarchicalRidgeCV`)."""
    mom = task_moments(Z, y, w, task, n_tasks)
    design = block_row_design(Z, task, n_tasks)
    d = Z.shape[1] - int(fit_intercept)
    out = np.empty(alphas.size)
    for k, alpha in enumerate(alphas):
        try:
            beta, U, blocks, F, A_chol = _block_fit(
                mom, d, alpha, mu, alpha_intercepts, fit_intercept
            )
        except np.linalg.LinAlgError:  # not positive definite at this strength
            out[k] = np.inf
            continue
        C = posterior_coef_cov(blocks, F, A_chol)
        e = y - design @ (beta[None, :] + U).ravel()
        h = loo_hat_diagonal(design, Z, w, C)
        denom = 1.0 - h
        out[k] = (
            np.inf
            if np.any(denom <= 1e-12)
            else float(w @ (e / denom) ** 2) / float(w.sum())
        )
    return out


def _grid(values, default, name, allow_inf):
    if values is None:
        return default
    g = np.unique(np.asarray(values, dtype=np.float64).ravel())
    bad = np.isnan(g) | (g <= 0) | (np.isinf(g) & (not allow_inf))
    if g.size == 0 or np.any(bad):
        kind = "> 0 (np.inf allowed)" if allow_inf else "finite and > 0"
        raise ValueError(f"{name} must be non-empty and {kind}; got {values!r}.")
    return g


_CV_FORWARD = (
    "kernel",
    "degree",
    "gamma",
    "coef0",
    "task_similarity",
    "fit_intercept",
    "task_weighting",
    "n_components",
    "memory_limit",
    "unseen_task",
    "task_column",
    "random_state",
)


@fill_doc
class MultiTaskKernelRidgeCV(RefitMixin, MultiTaskRegressorMixin, BaseMultiTaskKernel):
    """Multi-task kernel ridge with its strengths chosen by exact leave-one-out.

    The objective fitted for each candidate ``(alpha, mu, alpha_intercepts)`` is
    that of :class:`MultiTaskKernelRidge`::

        min_{f, b_0, c}  sum_i s_i omega_{t_i} (y_i - f_{t_i}(x_i) - b_0 - c_{t_i})^2
                         + alpha * (||f||_K^2 + alpha_intercepts * sum_t c_t^2)

    and the criterion is its exact leave-one-out mean squared error,
    ``sum_i w_i (e_i / (1 - h_ii))^2 / sum_i w_i`` (``w_i = s_i omega_{t_i}``, held
    fixed when a row is left out), computed without refitting:

    - kernel path: one eigendecomposition of the augmented multi-task kernel
      (``B[s, t] k(x, z) + [s == t] / alpha_intercepts``, with the direction of the
      free ``b_0`` projected out) per ``(mu, alpha_intercepts)`` candidate gives the
      criterion for every ``alpha`` at once, as ``RidgeCV``'s eigen mode;
    - explicit paths (``mu`` form only): the block algebra of
      :class:`~skmtl.linear_model.HierarchicalRidgeCV` on the features ``psi``
      (``x`` for "linear", Nystroem features for "nystroem"), ``n_tasks`` solves of
      size ``d + 1`` per candidate.

    Search: a coordinate search over the ``mus`` and ``alphas_intercepts`` grids
    (each in turn, the other fixed, until neither changes), each point scored at its
    best ``alpha``. Then :class:`MultiTaskKernelRidge` is refitted with the winner
    (``estimator_``).

    Default grids, and why: the strengths are relative to the data, not to one data
    set. ``alpha`` multiplies a norm whose natural unit is the mean diagonal
    ``kappa`` of the base kernel on the training rows (``n_features`` times the mean
    feature variance for standardised linear features, 1 for "rbf"): the grid is
    ``kappa * 10^(-4 .. 4)``, three values per decade. ``mu`` (the shared part's
    weight relative to the task part): ``10^(-3 .. 3)`` and ``np.inf``
    (independent tasks). ``alpha_intercepts`` (the offsets' weight relative to the
    function): ``10^(-3 .. 3)`` and ``np.inf`` (one intercept). So the pooled model
    (small ``mu``, ``alpha_intercepts=np.inf``), independent tasks and shrunken task
    intercepts are all candidates.

    What a small task borrows, and the meaning of ``unseen_task="shared"``: as for
    :class:`MultiTaskKernelRidge` (the shared function plus ``b_0``).

    Parameters
    ----------
    alphas : array-like of float > 0, default=None
        Candidate ``alpha`` values (None: the default grid above).
    mus : array-like of float > 0, default=None
        Candidate ``mu`` values (``np.inf`` allowed; ignored with a
        ``task_similarity``). None: the default grid.
    alphas_intercepts : array-like of float > 0, default=None
        Candidate ``alpha_intercepts`` values (``np.inf`` allowed; ignored with
        ``fit_intercept=False``). None: the default grid.
    %(kernel.kernel)s
        Default "linear".
    %(kernel.kernel_params)s
        Defaults as ``KernelRidge``: ``degree=3``, ``gamma=None``, ``coef0=1``.
    task_similarity : array-like of shape (n_tasks, n_tasks), default=None
        A fixed user task similarity ``B`` instead of the ``mu`` form (then only
        ``alpha`` and ``alpha_intercepts`` are searched; kernel path only).
    fit_intercept : bool, default=True
        As in :class:`MultiTaskKernelRidge`.
    task_weighting : {"size", "equal"} or array-like of shape (n_tasks,), \
default="size"
        As in :class:`MultiTaskKernelRidge`; it also weights the criterion.
    solver : {"auto", "kernel", "linear", "nystroem"}, default="auto"
        "auto": "kernel" up to 2,000 training rows (the eigendecompositions cost
        ``O(n^3)`` each), otherwise "linear" for ``kernel="linear"`` and
        "nystroem" for any other kernel. With ``kernel="linear"`` (and no
        ``task_similarity``) also "linear" below 2,000 rows where its blocks
        cost a tenth of an eigendecomposition or less (``n p^2 + n_alphas T
        p^3 < n^3 / 10`` for ``p`` columns with the intercept, 25 alphas by
        default; from ``n^3 > 10^8``, about 460 rows): the same criterion,
        e.g. 0.7 s against 18.7 s on 1,743 rows, 42 tasks, 19 features. The
        refitted estimator uses the same path.
    n_components : int, default=100
        Nystroem landmarks (see :class:`MultiTaskKernelRidge`).
    memory_limit : float or None, default=2048
        As in :class:`MultiTaskKernelRidge`.
    %(kernel.common_params)s

    Attributes
    ----------
    alpha_ : float
    mu_ : float
    alpha_intercepts_ : float
        The selected strengths (``mu_`` is NaN with a ``task_similarity``;
        ``alpha_intercepts_`` is ``np.inf`` with ``fit_intercept=False``).
    best_score_ : float
        The leave-one-out mean squared error at the selected strengths.
    cv_results_ : dict of ndarray
        ``"mu"``, ``"alpha_intercepts"``, ``"alpha"`` and ``"criterion"`` of every
        evaluated candidate.
    estimator_ : MultiTaskKernelRidge
        The model refitted with the selected strengths; ``predict`` uses it.
    intercept_ : ndarray of shape (n_tasks,)
    intercept_shared_ : float
    intercept_deviations_ : ndarray of shape (n_tasks,)
        As in :class:`MultiTaskKernelRidge`.
    coef_ : ndarray of shape (n_tasks, n_features)
        ``kernel="linear"`` only.
    solver_ : {"kernel", "linear", "nystroem"}
    %(layout_attributes)s

    See Also
    --------
    MultiTaskKernelRidge : Fixed strengths.
    skmtl.linear_model.HierarchicalRidgeCV : The linear ``mu`` form with one
        strength per block (shared weights, slopes, intercepts).

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.kernel_ridge import MultiTaskKernelRidgeCV
    >>> X, y = make_multitask_regression(4, 20, 3, structure="mean", random_state=0)
    >>> model = MultiTaskKernelRidgeCV(kernel="rbf", task_column=0).fit(X, y + 10)
    >>> model.solver_, model.intercept_.shape, bool(model.best_score_ > 0)
    ('kernel', (4,), True)
    >>> bool(model.score(X, y + 10) > 0.9)
    True
    """

    _parameter_constraints = {
        **{
            k: v
            for k, v in BaseMultiTaskKernel._parameter_constraints.items()
            if k not in ("mu", "alpha_intercepts")
        },
        "alphas": ["array-like", None],
        "mus": ["array-like", None],
        "alphas_intercepts": ["array-like", None],
        "fit_intercept": ["boolean"],
    }

    def __init__(
        self,
        alphas=None,
        mus=None,
        alphas_intercepts=None,
        *,
        kernel="linear",
        degree=3,
        gamma=None,
        coef0=1,
        task_similarity=None,
        fit_intercept=True,
        task_weighting="size",
        solver="auto",
        n_components=100,
        memory_limit=2048,
        unseen_task="error",
        task_column=None,
        random_state=None,
    ):
        self.alphas = alphas
        self.mus = mus
        self.alphas_intercepts = alphas_intercepts
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.task_similarity = task_similarity
        self.fit_intercept = fit_intercept
        self.task_weighting = task_weighting
        self.solver = solver
        self.n_components = n_components
        self.memory_limit = memory_limit
        self.unseen_task = unseen_task
        self.task_column = task_column
        self.random_state = random_state

    def _model(self, **strengths):
        params = {k: getattr(self, k) for k in _CV_FORWARD}
        return MultiTaskKernelRidge(solver=self.solver_, **params, **strengths)

    @fill_doc(
        sample_weight_fit="Per-row weight of the squared loss and of the criterion."
    )
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Choose the strengths by leave-one-out, then refit.

        %(fit_sections)s
        """
        probe = MultiTaskKernelRidge(
            **{k: getattr(self, k) for k in _CV_FORWARD}, solver=self.solver, mu=np.inf
        )
        data, Xfit, task, y_fit, w, _ = probe._fit_rows(
            X, y, sample_weight, classification=False
        )
        n, T = Xfit.shape[0], data.n_tasks
        if self.solver == "auto":
            big = n > CV_KERNEL_MAX_ROWS and self.task_similarity is None
            if self.kernel == "linear" and self.task_similarity is None:
                p = Xfit.shape[1] + int(self.fit_intercept)
                n_alphas = _CV_N_ALPHAS if self.alphas is None else np.size(self.alphas)
                # one eigendecomposition (n^3) against n_alphas block solves
                big = big or _blocks_are_cheaper(n, p, T, n_alphas, float(n) ** 3)
            self.solver_ = (
                "kernel"
                if not big
                else "linear"
                if self.kernel == "linear"
                else "nystroem"
            )
        else:
            self.solver_ = probe._select_solver(n)
        if self.solver_ != "kernel" and self.task_similarity is not None:
            raise ValueError(
                "MultiTaskKernelRidgeCV computes leave-one-out on the explicit paths "
                "through the blocks of the mu form; with a task_similarity use "
                "solver='kernel'."
            )
        params = probe._resolve_kernel_params(Xfit)
        if self.solver_ == "kernel":
            probe.solver_ = "kernel"
            probe._check_memory(8.0 * n * n, f"a {n} x {n} kernel matrix")
            Kb = _base_kernel(Xfit, Xfit, self.kernel, params)
            kappa = float(np.mean(np.diag(Kb)))
        else:
            probe.solver_ = self.solver_
            if self.solver_ == "nystroem":
                probe._kernel_params = params
                probe._nystroem = _nystroem_basis(
                    data.X, self.n_components, self.kernel, params, self.random_state
                )
            psi = probe._base_features(Xfit)
            Z = _block_design(psi, self.fit_intercept)
            kappa = float(np.mean(np.einsum("ij,ij->i", Z, Z))) - int(
                self.fit_intercept
            )
        kappa = kappa if np.isfinite(kappa) and kappa > 0 else 1.0
        alphas = _grid(
            self.alphas, kappa * np.logspace(-4, 4, _CV_N_ALPHAS), "alphas", False
        )
        default = np.append(np.logspace(-3, 3, 7), np.inf)
        mus = (
            np.array([np.nan])
            if self.task_similarity is not None
            else _grid(self.mus, default, "mus", True)
        )
        a_ints = (
            np.array([np.inf])
            if not self.fit_intercept
            else _grid(self.alphas_intercepts, default, "alphas_intercepts", True)
        )
        B_user = (
            None
            if self.task_similarity is None
            else check_task_similarity(self.task_similarity, T)
        )
        s = np.sqrt(w)

        def scores(mu, a_int):
            if self.solver_ == "kernel":
                B = B_user if B_user is not None else task_similarity_from_mu(T, mu)
                K = Kb * np.take(B[task], task, axis=1)
                if np.isfinite(a_int):
                    K += (task[:, None] == task[None, :]) / a_int
                return _loo_eigen(K, y_fit, s, alphas, self.fit_intercept)
            return _loo_blocks(
                Z, y_fit, w, task, T, alphas, mu, a_int, self.fit_intercept
            )

        history = []
        cache = {}

        def evaluate(i, j):
            if (i, j) not in cache:
                values = scores(mus[i], a_ints[j])
                values = np.where(np.isfinite(values), values, np.inf)
                cache[i, j] = values
                history.extend(
                    (mus[i], a_ints[j], a, v) for a, v in zip(alphas, values)
                )
            return float(cache[i, j].min())

        i, j = len(mus) // 2, len(a_ints) // 2
        for _ in range(20):
            i_new = int(np.argmin([evaluate(k, j) for k in range(len(mus))]))
            j_new = int(np.argmin([evaluate(i_new, k) for k in range(len(a_ints))]))
            if (i_new, j_new) == (i, j):
                break
            i, j = i_new, j_new
        values = cache[i, j]
        if not np.isfinite(values.min()):
            raise ValueError(
                "The leave-one-out criterion is not finite for any candidate: it "
                "needs more than one training row (n_samples = 1?) and rows that "
                "are not fitted exactly at some strength (with features of large "
                "values every candidate in alphas may be negligible: standardise "
                "the features or pass larger alphas)."
            )
        k = int(np.argmin(values))
        self.alpha_ = float(alphas[k])
        self.mu_ = float(mus[i])
        self.alpha_intercepts_ = float(a_ints[j])
        self.best_score_ = float(values[k])
        hist = np.array(history, dtype=np.float64).reshape(-1, 4)
        self.cv_results_ = {
            name: hist[:, c]
            for c, name in enumerate(("mu", "alpha_intercepts", "alpha", "criterion"))
        }
        mu = 1.0 if np.isnan(self.mu_) else self.mu_
        self.estimator_ = self._model(
            alpha=self.alpha_, mu=mu, alpha_intercepts=self.alpha_intercepts_
        ).fit(X, y, sample_weight=sample_weight)
        for name in (
            "tasks_",
            "n_tasks_",
            "n_features_in_",
            "feature_names_in_",
            "task_similarity_",
            "intercept_",
            "intercept_shared_",
            "intercept_deviations_",
            "coef_",
        ):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
        self._task_position = self.estimator_._task_position
        self._layout = self.estimator_._layout
        return self
