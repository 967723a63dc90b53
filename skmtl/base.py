"""Mixins shared by skmtl estimators: tags, scoring, linear prediction."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import check_is_fitted

from ._data import validate_predict_data
from ._docstring import fill_doc
from ._ops import linear_output

__all__ = [
    "MultiTaskMixin",
    "MultiTaskRegressorMixin",
    "MultiTaskClassifierMixin",
    "LinearMultiTaskMixin",
    "RefitMixin",
    "multitask_r2_score",
    "multitask_accuracy_score",
]


class MultiTaskMixin:
    """Tags every skmtl estimator shares: 2-D targets (shared layout), sparse X."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags


def multitask_r2_score(y_true, y_pred, sample_weight=None):
    """R^2 that skips missing (NaN) targets of a 2-D ``y_true``.

    With 1-D ``y_true`` or no NaN this is ``sklearn.metrics.r2_score`` (uniform
    average over tasks). With NaN in a 2-D ``y_true``, each task's R^2 uses only its
    observed rows, and the task R^2 are averaged uniformly.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.ndim == 1 or not np.isnan(y_true).any():
        return r2_score(y_true, y_pred, sample_weight=sample_weight)
    scores = []
    for t in range(y_true.shape[1]):
        obs = ~np.isnan(y_true[:, t])
        sw = None if sample_weight is None else np.asarray(sample_weight)[obs]
        scores.append(r2_score(y_true[obs, t], y_pred[obs, t], sample_weight=sw))
    return float(np.mean(scores))


class MultiTaskRegressorMixin(RegressorMixin):
    """``RegressorMixin`` whose ``score`` ignores missing (NaN) targets."""

    @fill_doc
    def score(self, X, y, sample_weight=None):
        """Return the R^2 of ``predict(X)``, averaged over tasks in the shared layout.

        In the stacked layout this is the R^2 over all rows (pooled). NaN entries of a
        2-D ``y`` are treated as missing and skipped.

        Parameters
        ----------
        %(X_predict)s
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets (NaN = missing in the shared layout).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            R^2 of ``predict(X)`` against ``y``.
        """
        return multitask_r2_score(y, self.predict(X), sample_weight=sample_weight)


def multitask_accuracy_score(y_true, y_pred, sample_weight=None):
    """Accuracy over every observed entry; NaN in a float ``y_true`` is missing.

    1-D ``y_true``: ``sklearn.metrics.accuracy_score``. 2-D ``y_true`` (shared
    layout): the fraction of observed ``(row, task)`` entries predicted right, a row's
    ``sample_weight`` applying to each of its entries.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim == 1:
        return accuracy_score(y_true, y_pred.ravel(), sample_weight=sample_weight)
    y_pred = y_pred.reshape(y_true.shape)
    sw = np.ones(y_true.shape[0]) if sample_weight is None else sample_weight
    sw = np.broadcast_to(np.asarray(sw, dtype=float)[:, None], y_true.shape)
    observed = (
        ~np.isnan(y_true)
        if y_true.dtype.kind == "f"
        else np.ones(y_true.shape, dtype=bool)
    )
    right = (y_true == y_pred) & observed
    return float(np.sum(sw[right]) / np.sum(sw[observed]))


class MultiTaskClassifierMixin(ClassifierMixin):
    """``ClassifierMixin`` whose ``score`` handles 2-D targets and missing entries."""

    @fill_doc
    def score(self, X, y, sample_weight=None):
        """Return the accuracy of ``predict(X)``.

        Over all rows in the stacked and single layouts; over all observed
        ``(row, task)`` entries in the shared layout, where NaN in a float ``y`` marks
        a missing target.

        Parameters
        ----------
        %(X_predict)s
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels (NaN in a float ``y`` = missing in the shared layout).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights (in the shared layout, of each of the row's entries).

        Returns
        -------
        score : float
            Fraction of the (weighted) entries predicted right.
        """
        return multitask_accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class RefitMixin:
    """``predict`` of a form that refits a model on all the data (``estimator_``,
    with the strengths it chose by cross-validation): that model's predictions."""

    @fill_doc
    def predict(self, X):
        """Predict with the refitted estimator (``estimator_``).

        %(predict_sections)s
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)


class LinearMultiTaskMixin:
    """Prediction from ``coef_`` (n_tasks, n_features) and ``intercept_`` (n_tasks,).

    With ``unseen_task="shared"`` a row of a task not seen in ``fit`` is predicted
    by ``coef_shared_`` and ``intercept_shared_``. The output has the dtype of
    ``X`` unless ``_predict_dtype`` fixes it (models fitted in float64 throughout).
    """

    _predict_dtype = None

    def _decision_function(self, X):
        check_is_fitted(self)
        shared = getattr(self, "unseen_task", "error") == "shared"
        Xf, task = validate_predict_data(self, X, allow_unseen=shared)
        dtype = Xf.dtype if self._predict_dtype is None else self._predict_dtype
        coef = self.coef_.astype(dtype, copy=False)
        intercept = np.asarray(self.intercept_, dtype=dtype)
        if task is not None and (task < 0).any():
            # unseen tasks: one more "task" holding the shared model
            coef = np.vstack([coef, np.asarray(self.coef_shared_, dtype=dtype)])
            intercept = np.append(
                intercept, np.dtype(dtype).type(self.intercept_shared_)
            )
            task = np.where(task < 0, len(coef) - 1, task)
        return linear_output(Xf, coef, task, intercept)
