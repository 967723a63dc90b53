"""Sparse multi-task linear models: the L2,1 family.

All of them are solved by block coordinate descent over the feature columns of ``W``
with working sets, gap-safe screening and Anderson extrapolation
(``skmtl._optim.bcd``), and stop on a duality gap.
"""

from numbers import Real

import numpy as np

from .._compat import Interval, StrOptions
from .._docstring import fill_doc
from .._optim._threads import solver_threads
from .._optim.base import SolverResult
from .._optim.bcd import bcd
from .._optim.dirty import Dirty
from .._optim.penalties import L21, L21Ridge, SparseGroupL1L21
from .._optim.prox_newton import prox_newton, prox_newton_affordable
from ._base import _PenalizedMultiTaskClassifier, _PenalizedMultiTaskRegressor
from ._docs import (
    LINEAR,
    MEAN_OR_SIZE_WEIGHTED,
    SIZE_WEIGHTED_MEAN,
    SKLEARN_COMPAT_PARAMS,
)

__all__ = [
    "DirtyMultiTaskLasso",
    "MultiTaskElasticNet",
    "MultiTaskLasso",
    "MultiTaskLogisticLasso",
    "MultiTaskSparseGroupLasso",
]

ALPHA = [Interval(Real, 0, None, closed="left")]
RATIO = [Interval(Real, 0, 1, closed="both")]
#: scikit-learn's parameters kept for compatibility (``SKLEARN_COMPAT_PARAMS``)
SKLEARN_COMPAT = {
    "copy_X": ["boolean"],
    "selection": [StrOptions({"cyclic", "random"})],
    "random_state": ["random_state"],
}

#: the constraints of the L2,1 models with scikit-learn's parameters
#: (``MultiTaskLasso``; with ``l1_ratio``, the elastic net and the sparse group)
L21_CONSTRAINTS = {
    **_PenalizedMultiTaskRegressor._parameter_constraints,
    "alpha": ALPHA,
    "alpha_mean": ALPHA,
    **SKLEARN_COMPAT,
}

BCD_TOL = (
    "Stop when the duality gap is at most ``tol * 2 P0`` where ``P0`` is the\n"
    "objective of the null model (``W = 0``, best intercepts); for the\n"
    "squared loss ``2 P0 = sum_t mean_{i in t} (y_i - ybar_t)^2``,\n"
    "scikit-learn's scaling of ``tol``. A certified bound: ``objective -\n"
    "optimum <= dual_gap_``."
)
BCD_MAX_ITER = (
    "Maximum number of epochs of block coordinate descent (passes over the\n"
    "working set, ``n_iter_``); a ``ConvergenceWarning`` is issued when it\n"
    "stops there before ``tol``."
)
BCD_ATTRIBUTES = """\
    dual_gap_ : float
        Duality gap at exit, in units of the objective.
    n_iter_ : int
        Epochs of block coordinate descent (passes over the working set; at
        least 1).
"""


#: what a tiny task borrows under MultiTaskLasso and MultiTaskElasticNet
L21_BORROWS = """\
    What a tiny task borrows: its intercept from ``b_0`` (``alpha_intercepts``),
    its choice of features from the other tasks (the L2,1 penalty) and, with
    ``alpha_mean > 0``, the values of its weights from their mean ``wbar``.
    Without ``alpha_mean`` nothing pulls a task's weights towards the others':
    a task of a few rows can fit large weights on the shared features.
"""

#: the docstring fragments of the models below (``skmtl.linear_model._docs``)
BCD_FRAGMENTS = {
    **LINEAR,
    "unseen": MEAN_OR_SIZE_WEIGHTED,
    "max_iter_doc": BCD_MAX_ITER,
    "tol_doc": BCD_TOL,
    "solver_attributes": BCD_ATTRIBUTES,
    "sklearn_params": SKLEARN_COMPAT_PARAMS,
    "l21_borrows": L21_BORROWS,
}


class _BCDMixin:
    """Solve with block coordinate descent (working sets, screening, Anderson)."""

    def _solve(self, design, datafit, penalty, W0, b0):
        options = self._solver_options(alpha_mean=getattr(self, "alpha_mean", 0.0))
        return bcd(design, datafit, penalty, W0, b0, **options)


class MultiTaskLasso(_BCDMixin, _PenalizedMultiTaskRegressor):
    r"""Multi-task Lasso: features selected jointly across tasks (L2,1 penalty).

    Minimises, over task weights ``W`` (one row per task) and intercepts ``b``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2 + alpha sum_j ||W[:, j]||_2
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    %(objective_terms)s
    ``wbar`` is the mean of the rows of ``W``. With the default "equal" weighting
    ``omega_t = 1 / n_t`` (``n_t`` task ``t``'s number of rows, its total sample
    weight when ``sample_weight`` is given). In the shared-design layout with
    ``alpha_intercepts=0`` and ``alpha_mean=0`` this is exactly scikit-learn's
    ``MultiTaskLasso``; in the stacked layout each task has its own rows. A
    feature is used by all tasks or by none.

    %(l21_borrows)s

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the L2,1 penalty; ``alpha >= alpha_max(X, y)`` gives ``W = 0``
        (with ``alpha_intercepts=0``; ``skmtl._optim.bcd.alpha_max_design`` for any
        intercept model).
    %(alpha_mean_param)s
    %(common_params)s
    %(sklearn_params)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    MultiTaskLassoCV : The same model with ``alpha`` chosen by cross-validation.
    MultiTaskElasticNet : The L2,1 penalty plus a ridge term.
    multitask_lasso_path : Solutions along a path of ``alpha``.
    alpha_max : The smallest ``alpha`` giving ``W = 0``.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskLasso
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=30, n_features=10,
    ...                                  n_informative=3, random_state=0)
    >>> model = MultiTaskLasso(alpha=0.1, task_column=0).fit(X, y)
    >>> model.coef_.shape
    (4, 10)
    >>> int((abs(model.coef_).sum(axis=0) > 0).sum())
    3
    """

    _parameter_constraints = dict(L21_CONSTRAINTS)

    def __init__(
        self,
        alpha=1.0,
        *,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
        copy_X=True,
        selection="cyclic",
        random_state=None,
    ):
        self.alpha = alpha
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.copy_X = copy_X
        self.selection = selection
        self.random_state = random_state

    def _make_penalty(self):
        return L21(self.alpha)


class MultiTaskElasticNet(_BCDMixin, _PenalizedMultiTaskRegressor):
    r"""Multi-task elastic net: L2,1 feature sharing plus a ridge term.

    Minimises, over task weights ``W`` (one row per task) and intercepts ``b``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2
            + alpha * l1_ratio * sum_j ||W[:, j]||_2
            + alpha * (1 - l1_ratio) / 2 * ||W||_F^2
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    %(objective_terms)s
    ``wbar`` is the mean of the rows of ``W``. scikit-learn's
    ``MultiTaskElasticNet`` convention (equal to it in the shared-design layout
    with ``alpha_intercepts=0`` and ``alpha_mean=0``). The ridge term keeps the
    selection of correlated features stable; it shrinks every task's weights
    towards 0, ``alpha_mean`` towards their mean.

    %(l21_borrows)s

    Parameters
    ----------
    alpha : float, default=1.0
        Overall penalty strength.
    l1_ratio : float, default=0.5
        Share of the L2,1 term (1: ``MultiTaskLasso``; 0: ridge).
    %(alpha_mean_param)s
    %(common_params)s
    %(sklearn_params)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    MultiTaskElasticNetCV : The same model with ``alpha`` and ``l1_ratio`` chosen
        by cross-validation.
    MultiTaskLasso : The L2,1 penalty alone (``l1_ratio=1``).
    multitask_enet_path : Solutions along a path of ``alpha``.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskElasticNet
    >>> X, y, W = make_multitask_regression(n_tasks=3, n_samples=40, n_features=8,
    ...                                     n_informative=2, coef=True, random_state=0)
    >>> model = MultiTaskElasticNet(alpha=0.1, l1_ratio=0.7, task_column=0)
    >>> support = abs(model.fit(X, y).coef_).sum(axis=0) > 0
    >>> bool((support == (abs(W).sum(axis=0) > 0)).all())  # the true features
    True
    """

    _parameter_constraints = {**L21_CONSTRAINTS, "l1_ratio": RATIO}

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
        copy_X=True,
        selection="cyclic",
        random_state=None,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.copy_X = copy_X
        self.selection = selection
        self.random_state = random_state

    def _make_penalty(self):
        return L21Ridge(self.alpha, self.l1_ratio)


class MultiTaskSparseGroupLasso(_BCDMixin, _PenalizedMultiTaskRegressor):
    r"""Sparse-group multi-task Lasso: shared features plus per-task selection.

    Minimises, over task weights ``W`` (one row per task) and intercepts ``b``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2
            + alpha * (l1_ratio * sum_tj |W[t, j]|
                       + (1 - l1_ratio) * sum_j ||W[:, j]||_2)
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    %(objective_terms)s
    ``wbar`` is the mean of the rows of ``W``. The L2,1 term selects features for
    all tasks together; the L1 term lets a task drop a selected feature (Friedman,
    Hastie & Tibshirani 2010, with the tasks of a feature as its group).

    What a tiny task borrows: its intercept from ``b_0`` (``alpha_intercepts``),
    its choice of features from the other tasks (the L2,1 term; the L1 term lets
    it drop some) and, with ``alpha_mean > 0``, the values of its weights from
    their mean ``wbar``.

    Parameters
    ----------
    alpha : float, default=1.0
        Overall penalty strength.
    l1_ratio : float, default=0.5
        Share of the entry-wise L1 term (0: ``MultiTaskLasso``; 1: a Lasso per
        task).
    %(alpha_mean_param)s
    %(common_params)s
    %(sklearn_params)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    MultiTaskSparseGroupLassoCV : The same model with ``alpha`` (and ``l1_ratio``)
        chosen by cross-validation.
    MultiTaskLasso : Features shared by all tasks only (``l1_ratio=0``).
    DirtyMultiTaskLasso : Shared and task-specific features as two separate
        weight matrices.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskSparseGroupLasso
    >>> X, y = make_multitask_regression(3, 40, 8, n_informative=2, layout="shared",
    ...                                  random_state=0)
    >>> y.shape  # one column per task, every task on the same rows
    (40, 3)
    >>> model = MultiTaskSparseGroupLasso(alpha=0.1).fit(X, y)
    >>> model.coef_.shape
    (3, 8)
    """

    _parameter_constraints = {**L21_CONSTRAINTS, "l1_ratio": RATIO}

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
        copy_X=True,
        selection="cyclic",
        random_state=None,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.copy_X = copy_X
        self.selection = selection
        self.random_state = random_state

    def _make_penalty(self):
        return SparseGroupL1L21(self.alpha, self.l1_ratio)


class DirtyMultiTaskLasso(_BCDMixin, _PenalizedMultiTaskRegressor):
    r"""Dirty multi-task Lasso (Jalali et al. 2010): shared plus task-specific parts.

    The task weights are split ``W = P + Q``; ``P`` is row-sparse (features shared
    by all tasks) and ``Q`` entry-wise sparse (a feature used by one task only).
    Minimises, over ``P``, ``Q`` (one row per task) and intercepts ``b``::

        sum_t omega_t / 2 * ||y_t - X_t (p_t + q_t) - b_t||^2
            + alpha_shared * sum_j ||P[:, j]||_2 + alpha_specific * sum_tj |Q[t, j]|
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    %(objective_terms)s
    ``w_t = p_t + q_t`` and ``wbar`` is the mean of the rows of ``W = P + Q``.

    With ``alpha_specific >= alpha_shared`` (``sqrt(n_tasks)`` times smaller for
    a wholly shared feature) the split favours ``P``; with
    ``alpha_specific >= alpha_max`` of the Lasso per task, ``Q = 0`` and this is
    ``MultiTaskLasso(alpha_shared)``.

    ``dual_gap_`` is the exact duality gap of this problem: with the operator
    ``[A A]`` acting on ``[P; Q]``, a dual point ``Theta`` must satisfy both
    ``||A_j* Theta||_2 <= alpha_shared`` and ``|A_tj* Theta| <= alpha_specific``.

    What a tiny task borrows: its intercept from ``b_0`` (``alpha_intercepts``),
    through ``P`` the choice of the features shared by all tasks and, with
    ``alpha_mean > 0``, the values of its weights from their mean ``wbar``.
    Without ``alpha_mean`` nothing pulls the values of a task's weights towards
    the other tasks'.

    Parameters
    ----------
    alpha_shared : float, default=1.0
        Strength of the L2,1 penalty on the shared part ``P``.
    alpha_specific : float, default=1.0
        Strength of the L1 penalty on the task-specific part ``Q``.
    %(alpha_mean_param)s
    %(common_params)s

    Attributes
    ----------
    coef_group_ : ndarray of shape (n_tasks, n_features)
        ``P``, the row-sparse part (features used by all tasks).
    coef_specific_ : ndarray of shape (n_tasks, n_features)
        ``Q``, the entry-wise sparse part.
    %(common_attributes)s

    See Also
    --------
    DirtyMultiTaskLassoCV : The same model with its strengths chosen by
        cross-validation.
    MultiTaskLasso : The shared part alone (``Q = 0``).
    MultiTaskSparseGroupLasso : Shared and per-task selection in one weight
        matrix.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import DirtyMultiTaskLasso
    >>> X, y = make_multitask_regression(3, 40, 8, n_informative=2, random_state=0)
    >>> model = DirtyMultiTaskLasso(0.1, 0.3, task_column=0).fit(X, y)
    >>> bool((model.coef_ == model.coef_group_ + model.coef_specific_).all())
    True
    >>> int((model.coef_specific_ != 0).sum())  # the support is shared by all tasks
    0
    """

    _parameter_constraints = {
        **_PenalizedMultiTaskRegressor._parameter_constraints,
        "alpha_shared": ALPHA,
        "alpha_specific": ALPHA,
        "alpha_mean": ALPHA,
    }

    def __init__(
        self,
        alpha_shared=1.0,
        alpha_specific=1.0,
        *,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
    ):
        self.alpha_shared = alpha_shared
        self.alpha_specific = alpha_specific
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        return Dirty(self.alpha_shared, self.alpha_specific)

    def _initial(self, data):
        W0, b0 = super()._initial(data)
        T, d = W0.shape
        if (
            self.warm_start
            and hasattr(self, "coef_group_")
            and self.coef_group_.shape == (T, d)
        ):
            Z0 = np.vstack([self.coef_group_, self.coef_specific_])
            return Z0.astype(W0.dtype), b0
        return np.zeros((2 * T, d), dtype=W0.dtype), b0

    def _solve(self, design, datafit, penalty, W0, b0):
        result = super()._solve(design, datafit, penalty, W0, b0)
        P, Q = Dirty.split(result.W)
        self._parts = (P.copy(), Q.copy())
        return SolverResult(
            P + Q, result.b, result.n_iter, result.gap, result.primal, result.converged
        )

    def _fit(self, X, y, sample_weight):
        super()._fit(X, y, sample_weight)
        self.coef_group_, self.coef_specific_ = self._parts
        del self._parts
        return self


class MultiTaskLogisticLasso(_BCDMixin, _PenalizedMultiTaskClassifier):
    r"""Binary logistic regression per task with features selected jointly (L2,1).

    Every task is a binary problem over the same two labels (``classes_``, of any
    type). Minimises, over task weights ``W`` (one row per task) and intercepts
    ``b``::

        sum_t omega_t * sum_{i in t} log(1 + exp(-s_i (x_i @ w_t + b_t)))
            + alpha * sum_j ||W[:, j]||_2
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    %(objective_terms)s
    ``s_i = +1`` for ``classes_[1]`` and ``-1`` for ``classes_[0]`` (MALSAR's
    ``Logistic_L21`` with "equal" weighting and free intercepts), ``wbar`` the
    mean of the rows of ``W``. In the shared-design layout ``y`` has one column
    per task (NaN in a float ``y`` marks a missing label).

    What a tiny task borrows: its intercept (log-odds level) from ``b_0``
    (``alpha_intercepts``; the ``n_t / (n_t + lam)`` reading of the squared loss
    holds on the curvature scale), its choice of features from the other tasks
    (L2,1) and, with ``alpha_mean > 0``, the values of its weights from ``wbar``.

    ``dual_gap_`` is a certified duality gap: before each evaluation the intercepts
    are set to their exact minimisers for the current ``W`` (Newton's method), so
    that the task sums ``sigma_t`` of ``Theta = -grad`` satisfy the dual's
    constraint (0 for each task with free intercepts, ``sum_t sigma_t = 0`` with
    the intercept penalty, whose conjugate ``sum_t sigma_t^2 / (2 lam omega_t)``
    enters the dual); the dual point is then rescaled into
    ``{||A_j* Theta|| <= alpha}``.

    Solved by block coordinate descent (working sets, screening). When it stops
    unconverged and the per-task SVDs fit their budget, proximal Newton steps
    with ADMM subproblems (as :class:`TraceNormLogisticRegression`) continue from
    its point, with up to ``max_iter`` further steps; ``n_iter_`` counts both.
    On Landmine (10% training rows, ``alpha = 0.0004``) BCD stopped at 1,000
    epochs with a gap of 0.47; the Newton steps certify ``tol=1e-6`` in 14-18
    steps. Where BCD converges (synthetic designs up to 1,000 features) it is
    2-7x faster than the Newton solver, so it goes first.

    Parameters
    ----------
    alpha : float, default=0.01
        Strength of the L2,1 penalty; ``alpha >= alpha_max(X, y,
        loss="logistic")`` gives ``W = 0`` (with ``alpha_intercepts=0``).
    %(alpha_mean_param)s
    %(common_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``decision_function > 0`` predicts ``classes_[1]``.
    %(common_attributes)s

    See Also
    --------
    MultiTaskLogisticLassoCV : The same model with ``alpha`` chosen by
        cross-validation.
    MultiTaskLasso : The L2,1 penalty with the squared loss.
    TraceNormLogisticRegression : Per-task logistic regression with a low-rank
        (nuclear-norm) penalty.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.linear_model import MultiTaskLogisticLasso
    >>> X, y = make_multitask_classification(n_tasks=3, n_samples=60, n_features=8,
    ...                                      n_informative=2, class_sep=2.0,
    ...                                      random_state=0)
    >>> model = MultiTaskLogisticLasso(alpha=0.05, task_column=0).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **_PenalizedMultiTaskClassifier._parameter_constraints,
        "alpha": ALPHA,
        "alpha_mean": ALPHA,
    }

    def __init__(
        self,
        alpha=0.01,
        *,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
    ):
        self.alpha = alpha
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        return L21(self.alpha)

    def _solve(self, design, datafit, penalty, W0, b0):
        result = super()._solve(design, datafit, penalty, W0, b0)
        if result.converged or not prox_newton_affordable(design, self.alpha_mean):
            return result
        # BCD stalls on some real designs (Landmine at alpha_max / 100: 1,000
        # epochs, gap 0.47): proximal Newton continues from its point
        options = self._solver_options(alpha_mean=self.alpha_mean)
        with solver_threads(design.n_tasks, design.n_features):
            rescue = prox_newton(
                design, datafit, penalty, result.W, result.b, **options
            )
        rescue.n_iter += result.n_iter
        return rescue


for _cls in (
    MultiTaskLasso,
    MultiTaskElasticNet,
    MultiTaskSparseGroupLasso,
    MultiTaskLogisticLasso,
):
    fill_doc(_cls, BCD_FRAGMENTS)
fill_doc(DirtyMultiTaskLasso, BCD_FRAGMENTS, unseen=SIZE_WEIGHTED_MEAN)
