"""Low-rank multi-task linear models: trace norm (convex) and reduced rank."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._optim.penalties import TraceNorm
from ._base import _PenalizedMultiTaskClassifier, _PenalizedMultiTaskRegressor
from ._docs import fill

__all__ = ["TraceNormRegression", "TraceNormLogisticRegression"]


class _TraceNormMixin:
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
        return TraceNorm(self.alpha)

    def _fit(self, X, y, sample_weight):
        super()._fit(X, y, sample_weight)
        self.rank_ = numerical_rank(self.coef_)
        return self


def numerical_rank(W, rtol=1e-10):
    """Number of singular values of ``W`` above ``rtol`` times the largest."""
    s = np.linalg.svd(W, compute_uv=False)
    return int(np.sum(s > rtol * max(s.max(initial=0.0), 1e-300)))


class TraceNormRegression(_TraceNormMixin, _PenalizedMultiTaskRegressor):
    r"""Multi-task least squares with a nuclear-norm penalty (shared low-rank W).

    Minimises, over task weights ``W`` (one row per task) and intercepts ``b``::

        sum_t 1 / (2 n_t) * ||y_t - X_t w_t - b_t||^2  +  alpha * ||W||_*

    where ``||W||_*`` is the sum of the singular values of ``W`` (MALSAR
    ``Least_Trace``; Argyriou, Evgeniou & Pontil 2008). The penalty drives ``W``
    to low rank: the tasks' weight vectors share a low-dimensional subspace.
    ``n_t`` is task ``t``'s number of rows (its total sample weight with
    ``sample_weight``). ``alpha >= ||A*(r0)||_2`` (the spectral norm of the
    per-task correlations ``X_t^T (y_t - ybar_t) / n_t``) gives ``W = 0``.

    Solved by accelerated proximal gradient (FISTA, adaptive restart) whose prox
    is singular-value soft-thresholding by a partial eigendecomposition of the
    ``min(T, d)`` Gram matrix once ``min(T, d) > 64``.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the nuclear-norm penalty.
%(common_params)s
    Attributes
    ----------
%(common_attributes)s    dual_gap_ : float
        Duality gap at exit (``objective - optimum <= dual_gap_``).
    rank_ : int
        Numerical rank of ``coef_``.

    See Also
    --------
    ReducedRankRegression : hard rank constraint instead of a convex penalty.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import TraceNormRegression
    >>> X, y = make_multitask_regression(n_tasks=8, n_samples=30, n_features=10,
    ...     structure="low_rank", rank=2, random_state=0)
    >>> model = TraceNormRegression(alpha=0.3, task_column=0).fit(X, y)
    >>> model.coef_.shape, model.rank_
    ((8, 10), 2)
    """


class TraceNormLogisticRegression(_TraceNormMixin, _PenalizedMultiTaskClassifier):
    r"""Per-task binary logistic regression with a nuclear-norm penalty.

    Minimises, over task weights ``W`` and intercepts ``b``::

        sum_t 1 / n_t * sum_{i in t} log(1 + exp(-s_i (x_i w_t + b_t)))
            +  alpha * ||W||_*

    with ``s_i = +1`` for ``classes_[1]`` and ``-1`` for ``classes_[0]`` (MALSAR
    ``Logistic_Trace``). Every task is a binary problem over the same two labels;
    the intercepts are unpenalised and, before each duality-gap evaluation, set to
    their exact optimum for the current ``W``.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the nuclear-norm penalty.
%(common_params)s
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels shared by all tasks.
%(common_attributes)s    dual_gap_ : float
        Duality gap at exit.
    rank_ : int
        Numerical rank of ``coef_``.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.linear_model import TraceNormLogisticRegression
    >>> X, y = make_multitask_classification(n_tasks=6, n_samples=40, n_features=8,
    ...     structure="low_rank", rank=1, random_state=0)
    >>> clf = TraceNormLogisticRegression(alpha=0.05, task_column=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """


TraceNormRegression.__doc__ = fill(TraceNormRegression.__doc__)
TraceNormLogisticRegression.__doc__ = fill(
    TraceNormLogisticRegression.__doc__,
    tol_doc=(
        "Stop when the duality gap is at most ``tol * 2 P0`` (``P0``: the\n"
        "        objective of the intercept-only model)."
    ),
)
