"""One scikit-learn estimator for the rows of all tasks."""

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from .._compat import fit_context
from .._docstring import fill_doc
from ._base import FIT_Y, _BaselineBase, fit_estimator

# above this many tasks a dense X gets its indicator block as a sparse matrix
DENSE_INDICATOR_MAX_TASKS = 64


def _with_indicators(X, task, n_tasks, sparse_ok):
    """Append one-hot task indicator columns to ``X``.

    The block is dense for a dense ``X`` with few tasks; otherwise (many tasks and an
    estimator that accepts sparse input) the result is sparse, so that memory stays
    O(n_samples * n_features + n_samples) instead of O(n_samples * n_tasks).
    """
    n = X.shape[0]
    onehot = sp.csr_matrix(
        (np.ones(n, dtype=X.dtype), (np.arange(n), task)), shape=(n, n_tasks)
    )
    if sp.issparse(X) or (sparse_ok and n_tasks > DENSE_INDICATOR_MAX_TASKS):
        return sp.hstack([sp.csr_matrix(X), onehot], format="csr")
    return np.hstack([X, onehot.toarray()])


@fill_doc
class PooledTaskEstimator(_BaselineBase):
    """Fit one copy of ``estimator`` on the rows of all tasks together.

    This is the "full sharing" baseline: the task label is dropped and every task gets
    the same model. With ``task_intercepts=True``, one-hot task indicators are appended
    to the features so that each task gets its own offset (a strong baseline on real
    data: for a linear estimator it is a per-task intercept; a penalised estimator
    such as ``Ridge`` shrinks these offsets like any coefficient, which amounts to a
    random-intercept model). With more than 64 tasks and an ``estimator`` that
    accepts sparse input, the features and indicators are passed as one sparse
    matrix, so memory grows with ``n_samples``, not ``n_samples * n_tasks`` (an
    estimator without sparse support gets a dense ``n_samples x (n_features +
    n_tasks)`` design).

    In the shared-design layout the rows of ``X`` are repeated once per task and
    stacked (only the observed, non-NaN targets are kept), so the pooled training set
    has up to ``n_samples * n_tasks`` rows.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn regressor or classifier.
    %(task_column)s
    task_intercepts : bool, default=False
        Append one indicator column per task to the features.

    Attributes
    ----------
    estimator_ : estimator
        The fitted pooled model.
    classes_ : ndarray
        Classifiers only: the classes of ``estimator_``.
    %(layout_attributes)s

    See Also
    --------
    IndependentTaskEstimator : One model per task.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skmtl.baselines import PooledTaskEstimator
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, random_state=0)
    >>> model = PooledTaskEstimator(Ridge(), task_column=0, task_intercepts=True)
    >>> model.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **_BaselineBase._parameter_constraints,
        "task_intercepts": ["boolean"],
    }

    def __init__(self, estimator, *, task_column=None, task_intercepts=False):
        self.estimator = estimator
        self.task_column = task_column
        self.task_intercepts = task_intercepts

    def _design(self, X, task):
        if self.task_intercepts:
            sparse_ok = get_tags(self.estimator).input_tags.sparse
            return _with_indicators(X, task, self.n_tasks_, sparse_ok)
        return X

    @fill_doc(
        y_fit=FIT_Y,
        sample_weight_fit="Passed to ``estimator.fit`` (which must accept it).",
    )
    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the pooled model.

        %(fit_sections)s
        """
        data = self._validate_fit(X, y, sample_weight)
        rows, task, yp, sw = data.stacked_rows()
        Xp = data.X if rows is None else data.X[rows]
        self.estimator_ = fit_estimator(
            clone(self.estimator),
            self._design(Xp, task),
            yp,
            None if sample_weight is None else sw,
            "all (pooled)",
        )
        if is_classifier(self.estimator):
            self.classes_ = self.estimator_.classes_
        return self

    def _apply(self, X, method):
        """``method`` of the pooled model (``_BaselineBase`` API)."""
        check_is_fitted(self)
        Xf, task = self._validate_predict(X)
        fn = getattr(self.estimator_, method)
        if task is not None:
            return fn(self._design(Xf, task))
        if not self.task_intercepts:
            out = fn(Xf)
            return (
                [out] * self.n_tasks_
                if method == "predict_proba"
                else (np.repeat(out[:, None], self.n_tasks_, axis=1))
            )
        outs = [
            fn(self._design(Xf, np.full(Xf.shape[0], t))) for t in range(self.n_tasks_)
        ]
        return outs if method == "predict_proba" else np.column_stack(outs)
