"""Template of the shared + task-specific models ``w_t = w_0 + v_t``.

The regression (:mod:`._hierarchical`) and logistic (:mod:`._hierarchical_logistic`)
families fit the same coefficients on the same stacked design ``Z = [1, X]``. What
they share lives here once: ``fit`` (validate, build the stacked problem, solve under
a BLAS thread cap), the fitted attributes of the decomposition, and prediction (from
``coef_`` / ``intercept_``, an unseen task getting the shared model). A concrete model
says only how it solves the stacked problem (``_fit_stacked``).
"""

from numbers import Integral
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator

from .._compat import StrOptions
from .._data import TaskData, validate_fit_data
from .._docstring import register
from .._optim._threads import solver_threads
from .._optim.mixed import design_with_intercept
from ..base import LinearMultiTaskMixin, MultiTaskMixin
from ._base import FitTemplateMixin

register(
    prefix="hierarchical",
    unseen_task="""\
        unseen_task : {"error", "shared"}, default="error"
            Prediction for a task label not seen in ``fit``: raise a ValueError
            naming it, or predict with the shared model ``(w_0, b_0)``.""",
    coefficients="""\
        coef_ : ndarray of shape (n_tasks, n_features)
            Task weights ``w_t = w_0 + v_t`` (task column excluded).
        intercept_ : ndarray of shape (n_tasks,)
            Task intercepts ``b_t = b_0 + c_t``.
        coef_shared_ : ndarray of shape (n_features,)
            Shared weights ``w_0`` (the model of an unseen task).
        intercept_shared_ : float
            Shared intercept ``b_0``.
        coef_deviations_ : ndarray of shape (n_tasks, n_features)
            Task deviations ``v_t``.
        intercept_deviations_ : ndarray of shape (n_tasks,)
            Task intercept offsets ``c_t``.""",
)

HIERARCHICAL_CONSTRAINTS = {
    "task_column": [Integral, str, None],
    "unseen_task": [StrOptions({"error", "shared"})],
}


class StackedProblem(NamedTuple):
    """The training data as stacked rows, whatever the layout."""

    data: TaskData
    Z: np.ndarray  # (n_rows, p): [1, x] per stacked row, dense float64
    task: np.ndarray  # (n_rows,) task codes
    y: np.ndarray  # (n_rows,) float64 targets (0/1 for the classifiers)
    sw: np.ndarray  # (n_rows,) float64 sample weights
    origin: np.ndarray  # (n_rows,) the row of X behind each stacked row
    X: object  # X and y as passed to fit (for a user's CV splitter)
    y_in: object


class _HierarchicalModel(
    FitTemplateMixin, MultiTaskMixin, LinearMultiTaskMixin, BaseEstimator
):
    """``fit`` template, fitted decomposition and prediction of both families."""

    _parameter_constraints = dict(HIERARCHICAL_CONSTRAINTS)
    _classification = False
    _predict_dtype = np.float64  # fitted in float64: predict in float64 too

    def _targets(self, data):
        """Targets in the solver's encoding (identity for regression)."""
        return data.y

    def _stacked_problem(self, X, y, sample_weight):
        data = validate_fit_data(
            self,
            X,
            y,
            sample_weight,
            classification=self._classification,
            warm_start=getattr(self, "warm_start", False),
        )
        data.y = self._targets(data)
        rows, task, yv, sw = data.stacked_rows()
        origin = np.arange(data.n_samples) if rows is None else rows
        Xs = data.X if rows is None else data.X[rows]
        return StackedProblem(
            data,
            design_with_intercept(Xs),
            np.asarray(task, dtype=np.intp),
            np.asarray(yv, dtype=np.float64),
            np.asarray(sw, dtype=np.float64),
            origin,
            X,
            y,
        )

    def _solver_threads(self, problem):
        """BLAS thread cap of the solve (one thread for small problems)."""
        return solver_threads(problem.data.n_tasks, problem.Z.shape[1] ** 2)

    def _fit_stacked(self, problem):
        raise NotImplementedError

    def _fit(self, X, y, sample_weight):
        problem = self._stacked_problem(X, y, sample_weight)
        with self._solver_threads(problem):
            self._fit_stacked(problem)
        return self

    def _set_coefficients(self, beta, U):
        """Fitted attributes from the shared ``beta`` (p,) and deviations ``U`` (T, p)
        (column 0: the intercept)."""
        self.intercept_shared_ = float(beta[0])
        self.coef_shared_ = beta[1:].copy()
        self.intercept_deviations_ = U[:, 0].copy()
        self.coef_deviations_ = U[:, 1:].copy()
        self.intercept_ = self.intercept_shared_ + self.intercept_deviations_
        self.coef_ = self.coef_shared_[None, :] + self.coef_deviations_
