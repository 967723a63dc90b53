"""Multi-task MLP regressor: shared trunk, one linear (or deeper) head per task."""

import numpy as np

from .._compat import fit_context
from .._docstring import fill_doc
from ..base import MultiTaskRegressorMixin
from ._base import (
    _DEFAULT_ALPHA_HEADS,
    _DEFAULT_ALPHA_INTERCEPTS,
    BaseMultiTaskMLP,
    fit_method,
)
from ._docs import FRAGMENTS
from ._losses import SquaredLoss

_Y_FIT = "Targets; 2-D in the shared-design layout (NaN = missing)."


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

    The network fits the standardised target ``(y - target_mean_) / target_scale_``
    (with ``normalize_y=True``; ``l`` and ``alpha``, ``alpha_heads``,
    ``alpha_intercepts`` are on that scale) and ``predict`` maps back, so the model
    does not depend on the target's unit or offset.

    Parameters
    ----------
    %(architecture_parameters)s
    normalize_y : bool, default=True
        Standardise the target by the pooled, sample-weighted mean and standard
        deviation of all observed training targets (one pair for all tasks, fixed
        by the first ``fit`` / ``partial_fit``). Pooled, not per task: a task
        of 2 rows would get a noisy mean and scale of its own, which is exactly
        the free per-task intercept that ``alpha_intercepts`` shrinks.
    %(training_parameters)s

    Attributes
    ----------
    target_mean_ : float
        Mean subtracted from the target (0.0 with ``normalize_y=False``).
    target_scale_ : float
        Standard deviation the target is divided by (1.0 with
        ``normalize_y=False`` or a constant target).
    %(attributes)s

    See Also
    --------
    MultiTaskMLPClassifier : The classifier, one softmax per task.
    sklearn.neural_network.MLPRegressor : The single-task network (what this model
        is with one task and ``normalize_y=False``, see the tests).

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
    >>> model.coef_shared_.shape  # the output weights every head shrinks towards
    (16, 1)
    >>> bool(model.score(X, y) > 0.9)
    True

    A task never seen in ``fit`` gets the size-weighted mean head:

    >>> import numpy as np
    >>> shared = MultiTaskMLPRegressor((16,), task_column=0, unseen_task="shared",
    ...                                max_iter=50, random_state=0).fit(X, y)
    >>> X_new = X[:2].copy()
    >>> X_new[:, 0] = 99
    >>> bool(np.all(np.isfinite(shared.predict(X_new))))
    True
    """

    _parameter_constraints: dict = {
        **BaseMultiTaskMLP._parameter_constraints,
        "normalize_y": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        head_layer_sizes=(),
        task_column=None,
        normalize_y=True,
        task_weighting="equal",
        dwa_temperature=2.0,
        activation="relu",
        solver="adam",
        alpha=0.0001,
        alpha_heads=_DEFAULT_ALPHA_HEADS,
        alpha_intercepts=_DEFAULT_ALPHA_INTERCEPTS,
        unseen_task="error",
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
    ):
        super().__init__(
            hidden_layer_sizes,
            head_layer_sizes=head_layer_sizes,
            task_column=task_column,
            task_weighting=task_weighting,
            dwa_temperature=dwa_temperature,
            activation=activation,
            solver=solver,
            alpha=alpha,
            alpha_heads=alpha_heads,
            alpha_intercepts=alpha_intercepts,
            unseen_task=unseen_task,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
        )
        self.normalize_y = normalize_y

    # ------------------------------------------------------------------ hooks
    def _encode_targets(self, data, first_pass, classes):
        """The targets standardised by the pooled mean and standard deviation of
        the first fit's observed targets (``target_mean_``, ``target_scale_``)."""
        if first_pass:
            self._loss = SquaredLoss(data.n_tasks)
            self.target_mean_, self.target_scale_ = 0.0, 1.0
            if self.normalize_y:
                self.target_mean_, self.target_scale_ = _pooled_moments(data)
        return (np.asarray(data.y, dtype=np.float64) - self.target_mean_) / (
            self.target_scale_
        )

    def _stratify_codes(self, train):
        codes = train.task_codes
        return codes if codes is not None else np.zeros(train.n_rows, int)

    def _validation_reference(self, fit):
        """Each task's training-target variance (the R^2 denominator)."""
        mean = fit.per_task_mean(fit.y)
        centred = fit.y - (mean if fit.task_codes is None else mean[fit.task_codes])
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
    fit = fit_method(_Y_FIT)

    @fill_doc(fragments=FRAGMENTS, y_fit=_Y_FIT)
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, starting from the current weights.

        %(partial_fit)s

        %(fit_sections)s
        """
        return self._fit(X, y, sample_weight, incremental=True)

    @fill_doc
    def predict(self, X):
        """Predict each row with its own task's head.

        %(predict_sections)s
        """
        out, task = self._forward_output(X)
        pred = out[:, 0] if task is not None else out[:, :, 0]
        pred = pred * self.target_scale_ + self.target_mean_
        if task is None and self._layout == "single":
            return pred.ravel()
        return pred


def _pooled_moments(data):
    """Sample-weighted mean and standard deviation of all observed targets (1.0 for
    a constant target)."""
    y = np.asarray(data.y, dtype=np.float64)
    w = data.sample_weight.astype(np.float64)
    if y.ndim == 2:
        w = np.repeat(w[:, None], y.shape[1], axis=1)
        if data.mask is not None:
            w = w * data.mask
        y = np.where(w > 0, y, 0.0)
    total = w.sum()
    mean = float((w * y).sum() / total)
    var = float((w * (y - mean) ** 2).sum() / total)
    scale = np.sqrt(var)
    if not scale > 10 * np.finfo(np.float64).eps * max(abs(mean), 1.0):
        scale = 1.0
    return mean, float(scale)


fill_doc(
    MultiTaskMLPRegressor,
    FRAGMENTS,
    validation=(
        "the mean over tasks of the per-task R^2 on the held-out rows, each task's\n"
        "training-target variance as the reference."
    ),
)
