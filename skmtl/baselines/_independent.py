"""One clone of a scikit-learn estimator per task."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from .._compat import fit_context
from .._docstring import fill_doc
from ._base import (
    FIT_Y,
    _BaselineBase,
    fit_estimator,
    scatter_proba,
    task_label,
    union_classes,
)


@fill_doc
class IndependentTaskEstimator(_BaselineBase):
    """Fit one independent copy of ``estimator`` per task (no sharing at all).

    This is the "no transfer" baseline: task ``t`` gets ``clone(estimator)`` fitted on
    its own rows only, so ``IndependentTaskEstimator(Ridge())`` predicts exactly what
    per-task ``Ridge`` fits predict. It is a classifier or a regressor like
    ``estimator``.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn regressor or classifier, cloned once per task.
    %(task_column)s
    n_jobs : int, default=None
        Number of tasks fitted in parallel with joblib (``None``: 1 unless in a
        ``joblib.parallel_backend`` context; ``-1``: all processors).

    Attributes
    ----------
    estimators_ : list of estimators
        ``estimators_[k]`` is fitted on task ``tasks_[k]``.
    classes_ : ndarray or list of ndarray
        Classifiers only. Stacked and single layouts: the sorted union of the classes
        of all tasks (``predict_proba`` has one column per class, zero for classes a
        task never saw). Shared layout: one array per task (like
        ``MultiOutputClassifier``).
    %(layout_attributes)s

    See Also
    --------
    PooledTaskEstimator : The other baseline, one model for all tasks.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skmtl.baselines import IndependentTaskEstimator
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=[10, 20, 30],
    ...                                  random_state=0)
    >>> model = IndependentTaskEstimator(Ridge(), task_column=0).fit(X, y)
    >>> len(model.estimators_)
    3
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **_BaselineBase._parameter_constraints,
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, *, task_column=None, n_jobs=None):
        self.estimator = estimator
        self.task_column = task_column
        self.n_jobs = n_jobs

    @fill_doc(
        y_fit=FIT_Y,
        sample_weight_fit="Passed to each clone's ``fit`` (the estimator must "
        "accept it).",
    )
    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit one clone of ``estimator`` on each task's rows.

        %(fit_sections)s
        """
        data = self._validate_fit(X, y, sample_weight)
        sw = None if sample_weight is None else data.sample_weight
        jobs = []
        for t in range(data.n_tasks):
            X_t, y_t, sw_t = data.task_subset(t)
            jobs.append(
                delayed(fit_estimator)(
                    clone(self.estimator),
                    X_t,
                    y_t,
                    None if sw is None else sw_t,
                    task_label(data.tasks, t),
                )
            )
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(jobs)
        if is_classifier(self.estimator):
            per_task = [e.classes_ for e in self.estimators_]
            self.classes_ = (
                per_task if self._layout == "shared" else union_classes(per_task)
            )
        return self

    def _per_task(self, X, method):
        """Apply ``method`` of each task's estimator to that task's rows."""
        check_is_fitted(self)
        Xf, task = self._validate_predict(X)
        if task is None:  # shared layout: every estimator sees every row
            return [getattr(e, method)(Xf) for e in self.estimators_], None
        order = np.argsort(task, kind="stable")
        bounds = np.cumsum(np.bincount(task, minlength=self.n_tasks_))[:-1]
        results = {}
        for t, rows in enumerate(np.split(order, bounds)):
            if rows.size:
                results[t] = (rows, getattr(self.estimators_[t], method)(Xf[rows]))
        return results, task

    def _apply(self, X, method):
        """``method`` of each row's own task estimator (``_BaselineBase`` API)."""
        results, task = self._per_task(X, method)
        if method == "predict_proba":
            return self._collect_proba(results, task)
        if task is None:
            return np.column_stack(results)
        first = next(iter(results.values()))[1]
        out = np.empty(
            task.shape[0],
            dtype=first.dtype
            if not is_classifier(self)
            else np.asarray(self.classes_).dtype,
        )
        for rows, pred in results.values():
            out[rows] = pred
        return out

    def _collect_proba(self, results, task):
        if task is None:
            return results
        out = np.zeros((task.shape[0], len(self.classes_)))
        for t, (rows, proba) in results.items():
            out[rows] = scatter_proba(
                proba, self.estimators_[t].classes_, self.classes_
            )
        return out
