"""Sparse multi-task linear models: the L2,1 family."""

from numbers import Real

from sklearn.utils._param_validation import Interval

from .._optim.penalties import L21
from ._base import _PenalizedMultiTaskRegressor


class MultiTaskLasso(_PenalizedMultiTaskRegressor):
    r"""Multi-task Lasso: features selected jointly across tasks (L2,1 penalty).

    Minimises, over task weights ``W`` (one row per task) and intercepts ``b``::

        sum_t 1 / (2 n_t) * ||y_t - X_t w_t - b_t||^2  +  alpha * sum_j ||W[:, j]||_2

    where ``n_t`` is task ``t``'s number of rows (its total sample weight when
    ``sample_weight`` is given). In the shared-design layout every ``n_t = n_samples``
    and this is exactly scikit-learn's ``MultiTaskLasso``; in the stacked layout each
    task has its own rows. A feature is used by all tasks or by none.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the L2,1 penalty; ``alpha >= alpha_max`` gives ``W = 0``.
    task_column : int, str or None, default=None
        Column of ``X`` holding the task labels (stacked layout). None: ``y`` is
        ``(n_samples, n_tasks)`` (NaN = missing) or 1-D (one task).
    fit_intercept : bool, default=True
        Fit one unpenalised intercept per task.
    max_iter : int, default=1000
    tol : float, default=1e-4
        Stop when the duality gap is at most ``tol * sum_t mean_{i in t} (y_i -
        ybar_t)^2`` (scikit-learn's scaling).
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    verbose : int, default=0

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Task weights (task column excluded).
    intercept_ : ndarray of shape (n_tasks,)
    dual_gap_ : float
        Duality gap at exit (certifies ``objective - optimum <= dual_gap_``).
    n_iter_ : int
    tasks_ : ndarray of shape (n_tasks,)
    n_tasks_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str

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

    _parameter_constraints = {
        **_PenalizedMultiTaskRegressor._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        task_column=None,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
    ):
        self.alpha = alpha
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        return L21(self.alpha)
