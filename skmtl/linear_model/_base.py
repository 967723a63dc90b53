"""Template of the penalised linear multi-task models.

A concrete model only says which penalty it uses (``_make_penalty``) and, if it is not
the squared loss, which datafit (``_datafit``); fitting, validation, warm starts,
intercepts, convergence reporting and prediction live here once.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval

from .._data import validate_fit_data
from .._optim.datafits import Quadratic
from .._optim.design import MultiTaskDesign
from .._optim.prox_grad import fista
from ..base import LinearMultiTaskMixin, MultiTaskMixin, MultiTaskRegressorMixin

COMMON_CONSTRAINTS = {
    "task_column": [Integral, str, None],
    "fit_intercept": ["boolean"],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
}


class _PenalizedMultiTaskLinear(MultiTaskMixin, LinearMultiTaskMixin, BaseEstimator):
    """Fit ``min_{W,b} sum_t mean-loss_t + penalty(W)`` for any datafit/penalty pair."""

    _parameter_constraints = dict(COMMON_CONSTRAINTS)
    _datafit = Quadratic
    _classification = False

    def _make_penalty(self):
        raise NotImplementedError

    def _targets(self, data):
        """Targets in the datafit's encoding (identity for regression)."""
        return data.y

    def _solve(self, design, datafit, penalty, W0, b0):
        return fista(
            design,
            datafit,
            penalty,
            W0,
            b0,
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
        )

    def _initial(self, data):
        T, d = data.n_tasks, data.n_features
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (T, d):
            return (
                self.coef_.astype(data.X.dtype),
                np.asarray(self.intercept_, dtype=data.X.dtype),
            )
        return np.zeros((T, d), dtype=data.X.dtype), np.zeros(T, dtype=data.X.dtype)

    def _fit(self, X, y, sample_weight):
        data = validate_fit_data(
            self, X, y, sample_weight, classification=self._classification
        )
        data.y = self._targets(data)
        datafit = self._datafit()
        center = self.fit_intercept and isinstance(datafit, Quadratic)
        design = MultiTaskDesign(data, center=center)
        W0, b0 = self._initial(data)
        joint_b = b0 if (self.fit_intercept and not center) else None
        result = self._solve(design, datafit, self._make_penalty(), W0, joint_b)
        self.coef_ = result.W
        if center:
            self.intercept_ = design.intercept(result.W)
        elif self.fit_intercept:
            self.intercept_ = result.b
        else:
            self.intercept_ = np.zeros(data.n_tasks, dtype=data.X.dtype)
        self.n_iter_ = result.n_iter
        self.dual_gap_ = result.gap
        if not result.converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations: duality gap {result.gap:.3e}. Increase max_iter, or "
                "relax tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self


class _PenalizedMultiTaskRegressor(MultiTaskRegressorMixin, _PenalizedMultiTaskLinear):
    """Squared-loss models: ``predict`` is the linear output."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            With ``task_column`` set, the column holding each row's task label.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            2-D (``task_column=None``): one column per task, NaN = missing.
        sample_weight : array-like of shape (n_samples,), default=None
            Rescales each row's loss term (within its task's mean).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight)

    def predict(self, X):
        """Predict each row with its task's weights.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            ``(n_samples, n_tasks)`` in the shared layout.
        """
        return self._decision_function(X)
