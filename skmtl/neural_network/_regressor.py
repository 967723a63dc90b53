"""Multi-task MLP regressor: shared trunk, one linear (or deeper) head per task."""

import numpy as np

from .._compat import fit_context
from ..base import MultiTaskRegressorMixin
from ._base import BaseMultiTaskMLP
from ._docs import fill
from ._losses import SquaredLoss


class MultiTaskMLPRegressor(MultiTaskRegressorMixin, BaseMultiTaskMLP):
    """Multi-task multi-layer perceptron regressor (hard parameter sharing).

    All tasks share the hidden layers of a trunk network; each task has its own head
    on top. The trunk learns a representation from the rows of every task, so a task
    with few rows borrows strength from the others; the heads keep the tasks apart.
    The core is vectorised numpy (no torch): per-task heads are evaluated for a
    whole mini-batch by gathering the stacked head weights, so many tasks cost about
    as much as one dense layer.

    %(objective)s

    Here ``l(y, f) = (y - f)^2 / 2``.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    MultiTaskMLPClassifier : the classifier, one softmax per task.
    sklearn.neural_network.MLPRegressor : the single-task network (what this model
        is with one task, see the tests).

    %(references)s

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.neural_network import MultiTaskMLPRegressor
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=50, n_features=5,
    ...                                  structure="low_rank", random_state=0)
    >>> model = MultiTaskMLPRegressor((16,), task_column=0, learning_rate_init=0.01,
    ...                               max_iter=300, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    >>> model.coefs_[0].shape, model.coefs_[1].shape  # trunk, then the 4 heads
    ((5, 16), (4, 16, 1))
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    # ------------------------------------------------------------------ hooks
    def _encode_targets(self, data, first_pass, classes):
        if first_pass:
            self._loss = SquaredLoss(data.n_tasks)
        return data.y

    def _stratify_codes(self, train):
        return train.task if train.task is not None else np.zeros(train.n_rows, int)

    def _validation_reference(self, fit):
        """Each task's training-target variance (the R^2 denominator)."""
        mean = fit.per_task_mean(fit.y)
        centred = fit.y - (mean if fit.task is None else mean[fit.task])
        var = fit.per_task_mean(centred**2)
        return np.where(var > 0, var, 1.0)

    def _validation_score(self, entries, val):
        """``1 - mean_t MSE_t / Var_t``: per-task R^2 (``Var_t`` of the training
        rows) averaged over the tasks with validation rows."""
        err = (entries[:, 0] - val.y.ravel()) ** 2
        mse = val.per_task_mean(err.reshape(val.y.shape))
        present = val.sizes > 0
        return float(1.0 - np.mean(mse[present] / self._val_reference[present]))

    # ------------------------------------------------------------------ API
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Features (and the task column in the stacked layout).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; 2-D in the shared-design layout (NaN = missing).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights (a row's weight applies to all its targets).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, starting from the current weights.

        The first call fixes the tasks (``tasks_``) and the layout; later calls may
        hold only some of the tasks (a task label not seen in the first call raises
        a ValueError). Task weights are computed over the tasks present in the call.

        Parameters
        ----------
        X, y, sample_weight : as in :meth:`fit`

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict each row with its own task's head.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            ``(n_samples, n_tasks)`` in the shared-design layout.
        """
        out, task = self._forward_output(X)
        if task is not None:
            return out[:, 0]
        pred = out[:, :, 0]
        return pred.ravel() if self._layout == "single" else pred


MultiTaskMLPRegressor.__doc__ = fill(
    MultiTaskMLPRegressor.__doc__,
    validation=(
        "the mean over tasks of the per-task R^2 on the held-out rows, each task's\n"
        "        training-target variance as the reference."
    ),
)
