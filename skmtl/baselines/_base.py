"""What the two baseline meta-estimators share: type delegation, validation, scoring."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import has_fit_parameter

from .._compat import HasMethods
from .._data import validate_fit_data, validate_predict_data
from .._docstring import fill_doc
from ..base import multitask_accuracy_score, multitask_r2_score

TASK_COLUMN_CONSTRAINT = [Integral, str, None]

#: ``y`` in the ``fit`` of both baselines (``fill_doc(y_fit=FIT_Y)`` with the
#: shared ``%(fit_sections)s``; each names where ``sample_weight`` goes)
FIT_Y = """\
    Targets of ``estimator``; 2-D (``task_column=None``): one column per
    task, NaN = missing."""


def _inner_has(name):
    def check(self):
        getattr(self.estimator, name)
        return True

    return check


class _BaselineBase(MetaEstimatorMixin, BaseEstimator):
    """A meta-estimator that is a classifier or a regressor like its ``estimator``."""

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "task_column": TASK_COLUMN_CONSTRAINT,
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.target_tags.multi_output = True
        tags.target_tags.required = True
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags

    # -- validation ---------------------------------------------------------------
    def _finite(self):
        return "allow-nan" if get_tags(self.estimator).input_tags.allow_nan else True

    def _validate_fit(self, X, y, sample_weight):
        if sample_weight is not None and not has_fit_parameter(
            self.estimator, "sample_weight"
        ):
            raise ValueError(
                f"{type(self.estimator).__name__} does not accept sample_weight."
            )
        data = validate_fit_data(
            self,
            X,
            y,
            sample_weight,
            classification=is_classifier(self.estimator),
            dtype=(np.float64, np.float32),
            ensure_all_finite=self._finite(),
        )
        return data

    def _validate_predict(self, X):
        return validate_predict_data(self, X, ensure_all_finite=self._finite())

    # -- prediction ---------------------------------------------------------------
    def _apply(self, X, method):
        """``method`` (``"predict"`` or ``"predict_proba"``) of the fitted model(s)
        for every row of ``X``."""
        raise NotImplementedError

    @fill_doc
    def predict(self, X):
        """Predict each row with the model of its task.

        %(predict_sections)s
        """
        return self._apply(X, "predict")

    @available_if(_inner_has("predict_proba"))
    @fill_doc
    def predict_proba(self, X):
        """Compute class probabilities under each row's task model.

        %(X_predict_returns)s
        proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Stacked and single layouts: columns follow ``classes_`` (for
            :class:`IndependentTaskEstimator` the union over tasks; a class unseen
            by a row's task has probability 0). Shared layout: one
            ``(n_samples, n_classes_t)`` array per task.
        """
        return self._apply(X, "predict_proba")

    # -- scoring ------------------------------------------------------------------
    @fill_doc
    def score(self, X, y, sample_weight=None):
        """Return the accuracy (classifiers) or R^2 (regressors) of ``predict(X)``.

        Over all rows in the stacked layout. In the shared layout R^2 is averaged
        uniformly over tasks and accuracy is taken over the observed entries; NaN
        targets count as missing.

        Parameters
        ----------
        %(X_predict)s
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            Accuracy or R^2 of ``predict(X)`` against ``y``.
        """
        score = multitask_accuracy_score if is_classifier(self) else multitask_r2_score
        return score(y, self.predict(X), sample_weight=sample_weight)


def fit_estimator(estimator, X, y, sample_weight, label):
    """Fit ``estimator`` on one task's rows; errors name the task."""
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    try:
        return estimator.fit(X, y, **kwargs)
    except ValueError as exc:
        # keep the inner error's type (InvalidParameterError, a ValueError
        # subclass, must stay catchable as such); fall back to ValueError for a
        # subclass whose constructor takes more than a message
        message = f"Fitting task {label!r} failed: {exc}"
        try:
            wrapped = type(exc)(message)
        except Exception:
            wrapped = ValueError(message)
        raise wrapped from exc


def task_label(tasks, t):
    label = tasks[t]
    return label.item() if hasattr(label, "item") else label


def union_classes(class_lists):
    """Sorted union of per-task class arrays."""
    return np.unique(np.concatenate([np.asarray(c) for c in class_lists]))


def scatter_proba(proba, task_classes, all_classes):
    """Place one task's ``predict_proba`` columns into the union of all classes."""
    out = np.zeros((proba.shape[0], len(all_classes)), dtype=proba.dtype)
    out[:, np.searchsorted(all_classes, task_classes)] = proba
    return out
