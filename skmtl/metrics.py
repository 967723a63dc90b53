"""Per-task scores and the task-averaged metrics of the multi-task literature.

Papers report "explained variance", "nMSE" and "RMSE" on multi-task data with
different formulas that can move a result by more than 20 points. Every function here
writes its formula out and offers the variants through ``average``:

========== ============================================================================
average    formula (``t`` runs over tasks, ``n_t`` rows in task ``t``, ``n`` in all)
========== ============================================================================
uniform    mean over tasks of the per-task score
weighted   per-task scores averaged with weights ``n_t / n``
pooled     the score computed on all rows at once, ignoring tasks
ratio      ``nmse``/explained variance only: ``mean_t MSE_t / mean_t Var_t``
None       the per-task scores, ordered by sorted task label
========== ============================================================================

``MSE_t = mean_i (y_i - yhat_i)^2`` and ``Var_t = mean_i (y_i - mean_t(y))^2``
(population variance, ``ddof=0``) over the rows of task ``t``. With
``sample_weight``, every mean and count is weighted.

Inputs come in either layout: stacked (1-D ``y`` plus a ``tasks`` array of labels)
or shared (2-D ``y`` with one column per task, ``NaN`` marking a missing target).
"""

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from ._data import encode_task_labels, resolve_task_column, split_task_column
from ._docstring import fill_doc, register

__all__ = [
    "per_task_scores",
    "nmse",
    "explained_variance_per_task",
    "mean_task_rmse",
    "make_task_scorer",
]

_AVERAGES = ("uniform", "weighted", "pooled", "ratio", None)

register(
    prefix="metrics",
    y_true="""\
        y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; 2-D: shared layout (one column per task), NaN = missing.""",
    y_pred="""\
        y_pred : array-like of the same shape as ``y_true``
            Predictions (or scores) aligned with ``y_true``.""",
    tasks="""\
        tasks : array-like of shape (n_samples,), default=None
            Task label of each row (stacked layout). None with 1-D ``y_true``: one
            task.""",
    sample_weight="""\
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: every mean and count is weighted.""",
    average="""\
        average : {"uniform", "weighted", "pooled", "ratio"} or None, \
default="uniform"
            How the per-task values are combined (see the table above).""",
    returns="""\
        score : float or ndarray of shape (n_tasks,)
            The combined score, or the per-task scores with ``average=None``.""",
)
# the whole Parameters and Returns of the metrics taking every ``average``
register(
    prefix="metrics",
    sections="""\
        Parameters
        ----------
        %(metrics.y_true)s
        %(metrics.y_pred)s
        %(metrics.tasks)s
        %(metrics.average)s
        %(metrics.sample_weight)s

        Returns
        -------
        %(metrics.returns)s""",
)


# --------------------------------------------------------------------------- layout
def _as_stacked(y_true, y_pred, tasks, sample_weight):
    """Flatten either layout to ``(labels, codes, y_true, y_pred, weights)``."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true has {y_true.shape[0]} rows but y_pred has {y_pred.shape[0]}."
        )
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if y_true.ndim == 2 and tasks is None:
        if y_pred.shape != y_true.shape:
            raise ValueError(
                f"y_pred has shape {y_pred.shape}; expected {y_true.shape} like y_true."
            )
        observed = ~_isnan(y_true)
        rows, cols = np.nonzero(observed)
        w = None if sw is None else sw[rows]
        return (
            np.arange(y_true.shape[1]),
            cols,
            y_true[rows, cols],
            y_pred[rows, cols],
            w,
        )
    y_true = y_true.ravel() if y_true.ndim == 2 and y_true.shape[1] == 1 else y_true
    if y_true.ndim != 1:
        raise ValueError(
            "With tasks given, y_true must be 1-D (stacked layout); got shape "
            f"{y_true.shape}."
        )
    if tasks is None:
        tasks = np.zeros(y_true.shape[0], dtype=int)
    tasks = np.asarray(tasks)
    if tasks.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"tasks has {tasks.shape[0]} labels for {y_true.shape[0]} rows."
        )
    labels, codes = encode_task_labels(tasks)
    return labels, codes, y_true, y_pred, sw


def _isnan(y):
    return np.isnan(y) if y.dtype.kind == "f" else np.zeros(y.shape, dtype=bool)


def _moments(codes, yt, yp, w, T):
    """Per-task weight sums, SSE and SST (about the task mean) of stacked rows,
    and the float arrays ``(yt, w)``."""
    yt = yt.astype(float)
    yp = yp.astype(float).reshape(yt.shape)
    w = np.ones_like(yt) if w is None else w
    n_t = np.bincount(codes, weights=w, minlength=T)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_t = np.bincount(codes, weights=w * yt, minlength=T) / n_t
    sse_t = np.bincount(codes, weights=w * (yt - yp) ** 2, minlength=T)
    sst_t = np.bincount(codes, weights=w * (yt - mean_t[codes]) ** 2, minlength=T)
    return n_t, sse_t, sst_t, yt, w


def _task_moments(y_true, y_pred, tasks, sample_weight):
    """Per-task weight sums, SSE and SST (about the task mean), plus pooled SST."""
    labels, codes, yt, yp, w = _as_stacked(y_true, y_pred, tasks, sample_weight)
    n_t, sse_t, sst_t, yt, w = _moments(codes, yt, yp, w, len(labels))
    sst_pooled = np.sum(w * (yt - np.average(yt, weights=w)) ** 2)
    return labels, n_t, sse_t, sst_t, sst_pooled


def _check_average(average, allowed):
    if average not in allowed:
        raise ValueError(f"average must be one of {list(allowed)}; got {average!r}.")


def _ratio(num, den, what):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    if np.any(den == 0):
        warnings.warn(
            f"{int(np.sum(den == 0))} task(s) have zero target variance; their {what} "
            "is inf or nan.",
            RuntimeWarning,
            stacklevel=3,
        )
    return out


# --------------------------------------------------------------------------- metrics
@fill_doc
def nmse(y_true, y_pred, tasks=None, *, average="uniform", sample_weight=None):
    """Normalised mean squared error of multi-task predictions.

    ========== =========================================================
    average    formula
    ========== =========================================================
    uniform    ``mean_t (MSE_t / Var_t)``
    weighted   ``sum_t (n_t / n) * MSE_t / Var_t``
    pooled     ``sum_i (y_i - yhat_i)^2 / sum_i (y_i - mean(y))^2`` over all rows
    ratio      ``mean_t MSE_t / mean_t Var_t``
    None       array of ``MSE_t / Var_t``, ordered by sorted task label
    ========== =========================================================

    ``Var_t`` is the population variance (``ddof=0``) of task ``t``'s targets. A task
    with constant targets has an infinite (or nan) nMSE and triggers a warning.

    %(metrics.sections)s

    See Also
    --------
    explained_variance_per_task : ``1 - nmse``.
    mean_task_rmse : The root mean squared error averaged over tasks.

    Examples
    --------
    >>> from skmtl.metrics import nmse
    >>> y, pred, tasks = [1., 2., 3., 10., 20.], [1., 2., 2., 10., 10.], [0, 0, 0, 1, 1]
    >>> round(nmse(y, pred, tasks), 4), round(nmse(y, pred, tasks, average="pooled"), 4)
    (1.25, 0.3964)
    """
    _check_average(average, _AVERAGES)
    _, n_t, sse_t, sst_t, sst_pooled = _task_moments(
        y_true, y_pred, tasks, sample_weight
    )
    if average == "pooled":
        return float(_ratio(sse_t.sum(), sst_pooled, "nMSE"))
    if average == "ratio":
        return float(_ratio(np.mean(sse_t / n_t), np.mean(sst_t / n_t), "nMSE"))
    per_task = _ratio(sse_t, sst_t, "nMSE")
    if average is None:
        return per_task
    if average == "weighted":
        return float(np.sum(per_task * n_t) / n_t.sum())
    return float(np.mean(per_task))


@fill_doc
def explained_variance_per_task(
    y_true, y_pred, tasks=None, *, average="uniform", sample_weight=None
):
    """Explained variance ``1 - nMSE`` (an R^2) of multi-task predictions.

    ========== =========================================================
    average    formula
    ========== =========================================================
    uniform    ``mean_t (1 - MSE_t / Var_t)`` (the mean per-task R^2)
    weighted   ``sum_t (n_t / n) * (1 - MSE_t / Var_t)``
    pooled     ``1 - SSE / SST`` over all rows, SST about the overall mean
               (Argyriou et al. 2008's "explained variance" on School)
    ratio      ``1 - mean_t MSE_t / mean_t Var_t``
    None       array of ``1 - MSE_t / Var_t``, ordered by sorted task label
    ========== =========================================================

    This is an R^2 (``1 - MSE / Var``), not scikit-learn's
    ``explained_variance_score`` (which subtracts the mean residual first). Pooled and
    per-task values differ because pooled SST also contains the variance between the
    task means. Parameters and return as in :func:`nmse`.

    %(metrics.sections)s

    See Also
    --------
    nmse : The normalised mean squared error, ``1 -`` this score.
    per_task_scores : Any metric, task by task.

    Examples
    --------
    >>> from skmtl.metrics import explained_variance_per_task
    >>> y, pred, tasks = [1., 2., 3., 10., 20.], [1., 2., 2., 10., 10.], [0, 0, 0, 1, 1]
    >>> explained_variance_per_task(y, pred, tasks, average=None).round(2)
    array([ 0.5, -1. ])
    """
    value = nmse(y_true, y_pred, tasks, average=average, sample_weight=sample_weight)
    return 1.0 - value


@fill_doc
def mean_task_rmse(
    y_true, y_pred, tasks=None, *, average="uniform", sample_weight=None
):
    """Root mean squared error averaged over tasks.

    ========== =========================================================
    average    formula
    ========== =========================================================
    uniform    ``mean_t RMSE_t``
    weighted   ``sum_t (n_t / n) * RMSE_t`` (MALSAR's ``eval_MTL_mse``)
    pooled     ``sqrt(sum_i (y_i - yhat_i)^2 / n)`` over all rows
    None       array of ``RMSE_t``, ordered by sorted task label
    ========== =========================================================

    Parameters
    ----------
    %(metrics.y_true)s
    %(metrics.y_pred)s
    %(metrics.tasks)s
    average : {"uniform", "weighted", "pooled"} or None, default="uniform"
        How the per-task values are combined (see the table above).
    %(metrics.sample_weight)s

    Returns
    -------
    %(metrics.returns)s

    See Also
    --------
    nmse : The normalised mean squared error.
    per_task_scores : Any metric, task by task.

    Examples
    --------
    >>> from skmtl.metrics import mean_task_rmse
    >>> y, pred, tasks = [1., 2., 3., 10., 20.], [1., 2., 2., 10., 10.], [0, 0, 0, 1, 1]
    >>> round(mean_task_rmse(y, pred, tasks), 4)
    3.8242
    """
    _check_average(average, ("uniform", "weighted", "pooled", None))
    _, n_t, sse_t, _, _ = _task_moments(y_true, y_pred, tasks, sample_weight)
    if average == "pooled":
        return float(np.sqrt(sse_t.sum() / n_t.sum()))
    rmse_t = np.sqrt(sse_t / n_t)
    if average is None:
        return rmse_t
    if average == "weighted":
        return float(np.sum(rmse_t * n_t) / n_t.sum())
    return float(np.mean(rmse_t))


# --------------------------------------------------------------------------- per task
def _mse(y_true, y_pred, sample_weight=None):
    return skm.mean_squared_error(y_true, y_pred, sample_weight=sample_weight)


def _rmse(y_true, y_pred, sample_weight=None):
    return np.sqrt(_mse(y_true, y_pred, sample_weight))


def _nmse_single(y_true, y_pred, sample_weight=None):
    return float(nmse(y_true, y_pred, sample_weight=sample_weight))


def _roc_auc(y_true, y_score, sample_weight=None):
    y_score = np.asarray(y_score)
    if y_score.ndim == 2 and y_score.shape[1] == 2:
        y_score = y_score[:, 1]
    return skm.roc_auc_score(y_true, y_score, sample_weight=sample_weight)


def _r2_from_moments(codes, yt, yp, w, T):
    """Per-task ``r2_score`` of scikit-learn from one pass of sums: ``1 - SSE /
    SST``; a constant task (SST 0) scores 1.0 if predicted exactly, else 0.0, and a
    task of fewer than two rows nan (scikit-learn's choices, with its warning)."""
    _, sse, sst, yt, _ = _moments(codes, yt, yp, w, T)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=T)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    present = counts > 0
    # constant tasks exactly (summation rounding could leave SST at 1e-34)
    sorted_y = yt[order]
    lo = np.minimum.reduceat(sorted_y, starts[present]) if present.any() else []
    hi = np.maximum.reduceat(sorted_y, starts[present]) if present.any() else []
    constant = np.zeros(T, dtype=bool)
    constant[present] = np.asarray(lo) == np.asarray(hi)
    sst = np.where(constant, 0.0, sst)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst != 0, 1.0 - sse / sst, np.where(sse != 0, 0.0, 1.0))
    few = counts < 2
    if few.any():
        warnings.warn(
            f"R^2 score is not well-defined with less than two samples: "
            f"{int(few.sum())} task(s) score nan.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    return np.where(few, np.nan, r2)


def _mse_from_moments(codes, yt, yp, w, T):
    n_t, sse, _, _, _ = _moments(codes, yt, yp, w, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sse / n_t


# metrics of per_task_scores computed for every task at once from per-task sums
# (a loop of scikit-learn calls costs ~100 us a task: most of a grid search's time
# on data of hundreds of small tasks)
_FROM_MOMENTS = {
    "r2": _r2_from_moments,
    "explained_variance": _r2_from_moments,
    "mse": _mse_from_moments,
    "rmse": lambda *args: np.sqrt(_mse_from_moments(*args)),
}

# name -> (function, greater_is_better, response_method)
METRICS = {
    "r2": (skm.r2_score, True, "predict"),
    "explained_variance": (skm.r2_score, True, "predict"),  # 1 - MSE_t / Var_t
    "nmse": (_nmse_single, False, "predict"),
    "mse": (_mse, False, "predict"),
    "rmse": (_rmse, False, "predict"),
    "mae": (skm.mean_absolute_error, False, "predict"),
    "accuracy": (skm.accuracy_score, True, "predict"),
    "balanced_accuracy": (skm.balanced_accuracy_score, True, "predict"),
    "f1": (skm.f1_score, True, "predict"),
    "roc_auc": (_roc_auc, True, ("decision_function", "predict_proba")),
}


def _resolve_metric(metric):
    if callable(metric):
        return metric, True, "predict"
    if metric not in METRICS:
        raise ValueError(
            f"Unknown metric {metric!r}; use a callable or one of {sorted(METRICS)}."
        )
    return METRICS[metric]


@fill_doc
def per_task_scores(y_true, y_pred, tasks=None, metric="r2", *, sample_weight=None):
    """Score each task separately.

    The rows of each task (observed entries of its column in the shared layout) are
    scored on their own with ``metric``.

    Parameters
    ----------
    %(metrics.y_true)s
    y_pred : array-like
        Predictions (or scores) aligned with ``y_true``.
    %(metrics.tasks)s
    metric : str or callable, default="r2"
        ``metric(y_true_t, y_pred_t)`` (with ``sample_weight=`` when given) or one of
        ``"r2"``, ``"explained_variance"`` (``1 - MSE_t/Var_t``, the same as ``"r2"``
        per task; not scikit-learn's ``explained_variance_score``), ``"nmse"``,
        ``"mse"``,
        ``"rmse"``, ``"mae"``, ``"accuracy"``, ``"balanced_accuracy"``, ``"f1"``,
        ``"roc_auc"``.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights, passed to ``metric`` task by task. Every task needs a
        positive total weight (else a ValueError names the tasks).

    Returns
    -------
    scores : dict
        ``{task label: score}`` in sorted label order (column index in the shared
        layout).

    See Also
    --------
    make_task_scorer : The per-task scores averaged, as a ``scoring=`` callable.

    Examples
    --------
    >>> from skmtl.metrics import per_task_scores
    >>> per_task_scores([1, 2, 3, 4], [1, 2, 3, 5], tasks=["a", "a", "b", "b"],
    ...                 metric="mae")
    {'a': 0.0, 'b': 0.5}
    """
    func = _resolve_metric(metric)[0]
    labels, codes, yt, yp, w = _as_stacked(y_true, y_pred, tasks, sample_weight)
    if w is not None:
        empty = np.bincount(codes, weights=w, minlength=len(labels)) == 0
        if np.any(empty):
            raise ValueError(
                f"sample_weight is zero on every row of task(s) "
                f"{[_item(t) for t in labels[empty]][:10]}: a task needs a positive "
                "weight to be scored."
            )
    if isinstance(metric, str) and metric in _FROM_MOMENTS:
        values = _FROM_MOMENTS[metric](codes, yt, yp, w, len(labels))
        return {_item(label): float(v) for label, v in zip(labels, values)}
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(labels)))[:-1]
    scores = {}
    for k, rows in enumerate(np.split(order, bounds)):
        kwargs = {} if w is None else {"sample_weight": w[rows]}
        scores[_item(labels[k])] = float(func(yt[rows], yp[rows], **kwargs))
    return scores


def _item(label):
    return label.item() if hasattr(label, "item") else label


# --------------------------------------------------------------------------- scorer
@dataclass(repr=False, eq=False)
class _TaskScorer:
    """``scoring=`` callable that averages a metric over the tasks found in ``X``."""

    metric: object
    task_column: object
    average: str
    sign: float
    response_method: object

    def _response(self, estimator, X):
        methods = self.response_method
        methods = (methods,) if isinstance(methods, str) else methods
        for name in methods:
            if hasattr(estimator, name):
                return getattr(estimator, name)(X)
        raise AttributeError(f"{type(estimator).__name__} has none of {methods}.")

    def __call__(self, estimator, X, y, sample_weight=None):
        y_pred = self._response(estimator, X)
        tasks = None
        position = resolve_task_column(self.task_column, X)
        if position is not None:
            tasks = split_task_column(X, position)[0]
        scores = per_task_scores(
            y, y_pred, tasks, self.metric, sample_weight=sample_weight
        )
        values = np.fromiter(scores.values(), dtype=float)
        if self.average == "weighted":
            _, codes, _, _, w = _as_stacked(y, y_pred, tasks, sample_weight)
            sizes = np.bincount(codes, weights=w, minlength=len(values))
            return self.sign * float(np.sum(values * sizes) / sizes.sum())
        return self.sign * float(np.mean(values))

    def __repr__(self):
        return (
            f"make_task_scorer({self.metric!r}, task_column={self.task_column!r}, "
            f"average={self.average!r}, greater_is_better={self.sign > 0})"
        )


def make_task_scorer(
    metric,
    *,
    task_column=None,
    average="uniform",
    greater_is_better=None,
    response_method=None,
):
    """Make a ``scoring=`` callable that averages a metric over tasks.

    The scorer reads each row's task from the task column of the ``X`` it is given
    (no metadata routing needed), scores each task with ``metric`` and averages the
    per-task scores. Like scikit-learn's scorers it returns ``-score`` for a metric
    where lower is better, so that greater is always better.

    Parameters
    ----------
    metric : str or callable
        A name of :func:`per_task_scores` (e.g. ``"r2"``, ``"explained_variance"``,
        ``"nmse"``, ``"rmse"``, ``"accuracy"``, ``"roc_auc"``) or
        ``metric(y_true_t, y_pred_t)``.
    task_column : int, str or None, default=None
        Task column of the raw ``X`` passed to ``score`` (before any Pipeline step).
        None: ``y`` is 2-D (one column per task, NaN = missing) or a single task.
    average : {"uniform", "weighted"}, default="uniform"
        ``"uniform"``: mean of the per-task scores; ``"weighted"``: weighted by the
        number of rows (or total sample weight) of each task.
    greater_is_better : bool, default=None
        None: known for named metrics (e.g. False for ``"rmse"``), True for callables.
    response_method : str or tuple of str, default=None
        Estimator method giving the values scored; default ``"predict"`` (for
        ``"roc_auc"``: ``decision_function`` or else ``predict_proba``).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    See Also
    --------
    per_task_scores : The per-task scores themselves.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import cross_val_score
    >>> from skmtl.baselines import IndependentTaskEstimator
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.metrics import make_task_scorer
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, random_state=0)
    >>> scorer = make_task_scorer("rmse", task_column=0)
    >>> scores = cross_val_score(IndependentTaskEstimator(Ridge(), task_column=0), X, y,
    ...                          cv=TaskStratifiedKFold(3, task_column=0),
    ...                          scoring=scorer)
    >>> bool((scores < 0).all())
    True
    """
    func, default_gib, default_method = _resolve_metric(metric)
    _check_average(average, ("uniform", "weighted"))
    gib = default_gib if greater_is_better is None else greater_is_better
    return _TaskScorer(
        metric,
        task_column,
        average,
        1.0 if gib else -1.0,
        response_method or default_method,
    )
