"""The one place that turns user input into the multi-task view.

Every skmtl estimator calls :func:`validate_fit_data` in ``fit`` and
:func:`validate_predict_data` in ``predict``; both layouts of doc/contract.md
(section 1) are therefore handled identically everywhere.

Layouts
-------
``"stacked"``
    ``task_column`` names a column of ``X`` holding each row's task label and ``y``
    is 1-D. Internally: ``X`` (features only), ``y`` (n,), integer task codes
    ``task_codes`` (n,). Nothing of size ``n_samples * n_tasks`` is ever built.
``"shared"``
    ``task_column=None`` and 2-D ``y`` ``(n_samples, n_tasks)``: every task sees
    the same rows. ``NaN`` in ``y`` marks a missing target; ``mask`` holds the
    observed entries (``None`` when all are observed).
``"single"``
    ``task_column=None`` and 1-D ``y``: one task; handled as a stacked problem whose
    task codes are all zero.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    column_or_1d,
    validate_data,
)

from ._compat import check_sample_weight
from ._ops import count_runs, linear_output

__all__ = [
    "TaskData",
    "resolve_task_column",
    "split_task_column",
    "encode_task_labels",
    "encode_known_tasks",
    "check_task_data",
    "record_layout",
    "validate_fit_data",
    "validate_predict_data",
]

_MAX_LABELS_IN_MESSAGE = 10


def _is_pandas_df(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


@dataclass
class TaskData:
    """Validated multi-task training data.

    Attributes
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Features only (the task column removed), finite, float.
    y : ndarray of shape (n_samples,) or (n_samples, n_tasks)
        Targets. In the shared layout missing entries are set to 0 and flagged by
        ``mask``.
    task_codes : ndarray of int of shape (n_samples,) or None
        Integer task code of each row (stacked and single layouts); ``None`` in
        the shared layout.
    mask : ndarray of shape (n_samples, n_tasks) of bool or None
        Observed entries of ``y`` in the shared layout; ``None`` when all observed.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative row weights (ones when none were given).
    tasks : ndarray of shape (n_tasks,)
        The task labels; ``tasks[k]`` is the label of code ``k``.
    layout : {"stacked", "shared", "single"}
    task_position : int or None
        Position of the task column in ``X`` as passed (task column included);
        ``None`` without a task column.
    """

    X: object
    y: np.ndarray
    task_codes: np.ndarray | None
    mask: np.ndarray | None
    sample_weight: np.ndarray
    tasks: np.ndarray
    layout: str
    task_position: int | None = None
    _groups: list | None = field(default=None, repr=False)

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_tasks(self):
        return len(self.tasks)

    def task_indices(self):
        """List of row-index arrays, one per task (rows with an observed target)."""
        if self._groups is None:
            if self.layout == "shared":
                if self.mask is None:
                    rows = np.arange(self.n_samples)
                    self._groups = [rows] * self.n_tasks
                else:
                    self._groups = [np.flatnonzero(m) for m in self.mask.T]
            else:
                order = np.argsort(self.task_codes, kind="stable")
                bounds = np.cumsum(np.bincount(self.task_codes, minlength=self.n_tasks))
                self._groups = np.split(order, bounds[:-1])
        return self._groups

    def task_sizes(self):
        """Number of rows with an observed target, per task."""
        if self.layout == "shared":
            if self.mask is None:
                return np.full(self.n_tasks, self.n_samples)
            return self.mask.sum(axis=0)
        return np.bincount(self.task_codes, minlength=self.n_tasks)

    def task_weight_sums(self):
        """Sum of the sample weights of each task's observed rows."""
        sw = self.sample_weight
        if self.layout == "shared":
            if self.mask is None:
                return np.full(self.n_tasks, sw.sum())
            return sw @ self.mask
        return np.bincount(self.task_codes, weights=sw, minlength=self.n_tasks)

    def stacked_rows(self):
        """The training set as stacked rows, whatever the layout.

        Returns
        -------
        rows : ndarray of int or None
            Row of ``X`` behind each stacked row (``None``: the rows of ``X`` as
            they are, in the stacked and single layouts). In the shared layout
            ``X``'s rows are tiled task by task, keeping observed targets only.
        task : ndarray of int of shape (n_stacked,)
        y : ndarray of shape (n_stacked,)
        sample_weight : ndarray of shape (n_stacked,)
        """
        if self.layout != "shared":
            return None, self.task_codes, self.y, self.sample_weight
        groups = self.task_indices()
        rows = np.concatenate(groups)
        task = np.repeat(np.arange(self.n_tasks), [len(g) for g in groups])
        return rows, task, self.y[rows, task], self.sample_weight[rows]

    def subset(self, rows):
        """The rows ``rows`` (indices or a mask), every task kept (codes and labels
        unchanged): a cross-validation fold."""
        return TaskData(
            self.X[rows],
            self.y[rows],
            None if self.task_codes is None else self.task_codes[rows],
            None if self.mask is None else self.mask[rows],
            self.sample_weight[rows],
            self.tasks,
            self.layout,
            self.task_position,
        )

    def linear_output(self, coef, intercept=None):
        """Each row's output ``x_i @ coef[t] + intercept[t]`` under its task's
        coefficients: ``(n_samples,)``, or ``(n_samples, n_tasks)`` in the shared
        layout (:func:`~skmtl._ops.linear_output`)."""
        task = None if self.layout == "shared" else self.task_codes
        return linear_output(self.X, coef, task, intercept)

    def grouped_by_task(self):
        """The same data with each task's rows in one run, in the order of the
        task codes (stable within a task); ``self`` when they already are, or in
        the shared layout. The stacked solvers' per-task products then take one
        block of rows per task (``skmtl._ops``, ``skmtl._optim.epochs``)."""
        codes = self.task_codes
        if self.layout == "shared" or codes is None or codes.size < 2:
            return self
        if count_runs(codes) == np.count_nonzero(np.bincount(codes)):
            return self
        return self.subset(np.argsort(codes, kind="stable"))

    def task_subset(self, t):
        """``(X_t, y_t, sample_weight_t)`` for task code ``t``."""
        rows = self.task_indices()[t]
        y = self.y[rows, t] if self.layout == "shared" else self.y[rows]
        return self.X[rows], y, self.sample_weight[rows]


# --------------------------------------------------------------------------- tasks
def resolve_task_column(task_column, X, n_columns=None):
    """Return the integer position of ``task_column`` in ``X`` (or None).

    An int is a position (negative counts from the end); any other value is a column
    name and needs a pandas DataFrame.
    """
    if task_column is None:
        return None
    if n_columns is None:
        n_columns = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if isinstance(task_column, numbers.Integral) and not isinstance(task_column, bool):
        if n_columns is None:
            raise ValueError(
                "task_column needs a 2-D X; got an input with shape "
                f"{getattr(X, 'shape', None)}."
            )
        if not -n_columns <= task_column < n_columns:
            raise ValueError(
                f"task_column={task_column} is out of range for X with {n_columns} "
                "columns."
            )
        return int(task_column) % n_columns
    if _is_pandas_df(X):
        columns = list(X.columns)
        if task_column not in columns:
            raise ValueError(
                f"task_column={task_column!r} is not a column of X; columns are "
                f"{columns[:20]}{' ...' if len(columns) > 20 else ''}."
            )
        return columns.index(task_column)
    raise ValueError(
        f"task_column={task_column!r} is a column name, which needs X to be a pandas "
        "DataFrame; with an array give the column position as an int."
    )


def split_task_column(X, position):
    """Return ``(labels, features)`` where ``features`` is ``X`` without the column.

    ``X`` is not modified. ``features`` keeps the container type (DataFrame,
    sparse matrix or ndarray) so that it can be validated afterwards.
    """
    if _is_pandas_df(X):
        labels = X.iloc[:, position].to_numpy()
        keep = [i for i in range(X.shape[1]) if i != position]
        return labels, X.iloc[:, keep]
    if sp.issparse(X):
        X = X.tocsc() if X.format not in ("csr", "csc") else X
        labels = X[:, [position]].toarray().ravel()
        keep = np.delete(np.arange(X.shape[1]), position)
        return labels, X[:, keep]
    X = np.asarray(X) if not hasattr(X, "dtype") else X
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D X holding a task column; got shape {np.shape(X)}."
        )
    labels = X[:, position]
    if position == 0:
        features = X[:, 1:]
    elif position == X.shape[1] - 1:
        features = X[:, :-1]
    else:
        features = np.delete(X, position, axis=1)
    return labels, features


_MISSING_LABELS = (
    "The task column contains missing labels (None/NaN/pd.NA); every row needs a "
    "task label."
)
# types of pandas' missing-value scalars (pd.NA, pd.NaT), named to avoid importing
# pandas here
_PANDAS_MISSING = {"NAType", "NaTType"}


def _normalise_labels(labels):
    """Task labels as an int64, float64 or object-of-str array.

    Clear errors for missing (None/NaN) labels and for a mix of strings and numbers.
    Type checks run at C speed (``set(map(type, ...))``), not per row in Python.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError("Task labels must be one value per row.")
    if labels.dtype.kind in "biuf":
        if labels.dtype.kind == "f":
            if np.isnan(labels).any():
                raise ValueError(_MISSING_LABELS)
            if not np.all(np.isfinite(labels)):
                raise ValueError(
                    "The task column contains infinite labels; every row needs a "
                    "finite task label."
                )
            if np.all(labels == np.round(labels)):
                return labels.astype(np.int64)
            return labels.astype(np.float64)
        return labels.astype(np.int64)
    if labels.dtype.kind in "US":
        return labels.astype(object)
    kinds = set(map(type, labels))
    if all(issubclass(k, str) for k in kinds):
        return labels
    if all(
        issubclass(k, numbers.Number) and not issubclass(k, (bool, np.bool_))
        for k in kinds
    ):
        return _normalise_labels(labels.astype(np.float64))
    # error path only: look for None / NaN / pandas' NA and NaT among the values
    if (
        type(None) in kinds
        or any(k.__name__ in _PANDAS_MISSING for k in kinds)
        or any(isinstance(v, float) and v != v for v in labels)
    ):
        raise ValueError(_MISSING_LABELS)
    names = sorted(k.__name__ for k in kinds)
    raise ValueError(
        f"Task labels must be all numbers or all strings; got a mix of {names}."
    )


def _factorize_strings(labels):
    """Sorted unique strings and codes, by hashing (much faster than sorting rows)."""
    index = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in labels),
        dtype=np.intp,
        count=labels.shape[0],
    )
    uniques = np.array(list(index), dtype=object)
    order = np.argsort(uniques.astype(str), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return uniques[order], rank[codes]


def encode_task_labels(labels):
    """Sorted unique task labels and the integer code of each row."""
    labels = _normalise_labels(labels)
    if labels.size == 0:
        raise ValueError("Found 0 samples: no task labels.")
    if labels.dtype == object:
        return _factorize_strings(labels)
    tasks, codes = np.unique(labels, return_inverse=True)
    return tasks, codes.astype(np.intp)


def encode_known_tasks(labels, tasks, *, allow_unseen=False):
    """Codes of ``labels`` in the fitted ``tasks``; ValueError naming unknown ones.

    With ``allow_unseen=True`` a label not in ``tasks`` gets the code ``-1`` instead
    (for estimators that document a fallback for new tasks).
    """
    labels = _normalise_labels(labels)
    known = np.asarray(tasks)
    if labels.size == 0:
        return np.zeros(0, dtype=np.intp)
    if (labels.dtype == object) != (known.dtype == object):
        codes = np.full(labels.shape[0], -1)
    elif labels.dtype == object:
        lookup = {label: k for k, label in enumerate(known)}
        codes = np.fromiter(
            (lookup.get(v, -1) for v in labels), dtype=np.intp, count=labels.shape[0]
        )
    else:
        codes = np.minimum(np.searchsorted(known, labels), len(known) - 1)
        codes[known[codes] != labels] = -1
    if allow_unseen or np.all(codes >= 0):
        return codes.astype(np.intp)
    unknown = list(dict.fromkeys(labels[codes < 0].tolist()))
    shown = ", ".join(repr(v) for v in unknown[:_MAX_LABELS_IN_MESSAGE])
    more = (
        f" (and {len(unknown) - _MAX_LABELS_IN_MESSAGE} more)"
        if len(unknown) > _MAX_LABELS_IN_MESSAGE
        else ""
    )
    raise ValueError(
        f"Unknown task label(s) {shown}{more}: these tasks were not seen in fit. "
        f"Fitted tasks: {len(known)} labels, e.g. {known[:5].tolist()}."
    )


# --------------------------------------------------------------------------- fit
def _check_2d(X):
    """Reject 1-D (or 3-D) X with scikit-learn's usual message."""
    if _is_pandas_df(X) or sp.issparse(X):
        return
    shape = getattr(X, "shape", None)
    if (len(shape) if shape is not None else np.asarray(X).ndim) != 2:
        check_array(X, dtype=None, ensure_all_finite=False, input_name="X")


def _check_columns(estimator, X, *, reset):
    """Reject an ``X`` that is not 2-D, then record (``reset``) or check the
    estimator's ``n_features_in_`` and column names on ``X`` as passed (task column
    included)."""
    _check_2d(X)
    validate_data(estimator, X, reset=reset, skip_check_array=True)


def _split_and_check(X, position, **check_params):
    """Return the task labels (None without a task column) and the validated
    features of a 2-D ``X``."""
    labels, features = (None, X) if position is None else split_task_column(X, position)
    return labels, _check_features(features, **check_params)


def _check_features(
    X, *, dtype, accept_sparse, ensure_min_samples=1, ensure_all_finite=True
):
    return check_array(
        X,
        accept_sparse=accept_sparse,
        dtype=dtype,
        ensure_all_finite=ensure_all_finite,
        ensure_min_samples=ensure_min_samples,
        input_name="X",
    )


def _check_y_stacked(y, n_samples, classification):
    y = np.asarray(y) if not hasattr(y, "dtype") else y
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    if y.ndim == 2 and y.shape[1] != 1:
        raise ValueError(
            "With task_column set (stacked layout), y must be 1-D with one target per "
            f"row; got y with shape {y.shape}. For one column per task, use "
            "task_column=None (shared-design layout)."
        )
    if not (isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biuf"):
        # (column_or_1d leaves a 1-D numeric array as it is, at 60-100 us a call)
        y = column_or_1d(y, warn=True)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} rows but y has {y.shape[0]}; they must match."
        )
    if classification:
        _check_class_labels(y)
    else:
        y = _as_float_target(y)
        if not np.all(np.isfinite(y)):
            raise ValueError(
                "Input y contains NaN or infinity. NaN marks a missing target only in "
                "the shared-design layout (2-D y); in the stacked layout drop those "
                "rows."
            )
    return y


def _check_class_labels(y):
    """``check_classification_targets`` plus clear errors for None/NaN among object
    labels and for strings mixed with numbers (which scikit-learn's check leaves to
    a failing sort: "'<' not supported between instances of 'float' and 'str'")."""
    if y.dtype == object:
        if np.any(y != y) or np.any(y == None):  # noqa: E711 (elementwise)
            raise ValueError(
                "Input y contains NaN or None: every row needs a class label."
            )
        kinds = set(map(type, y))
        if len({issubclass(k, str) for k in kinds}) > 1:
            names = sorted(k.__name__ for k in kinds)
            raise ValueError(
                "Class labels must be all strings or all numbers; got a mix of "
                f"{names}."
            )
    check_classification_targets(y)


def _as_float_target(y, dtype=np.float64):
    try:
        return np.asarray(y, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must be numeric for a regressor: {exc}") from None


def _check_y_shared(y, n_samples, classification, allow_missing, dtype):
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X has {n_samples} rows but y has {y.shape[0]}; they must match."
        )
    if y.shape[1] == 0:
        raise ValueError("y has 0 columns: the shared-design layout needs >= 1 task.")
    mask = None
    if y.dtype.kind == "f" or not classification:
        y = _as_float_target(y, dtype)
        if np.isinf(y).any():
            raise ValueError("Input y contains infinity.")
        nan = np.isnan(y)
        if nan.any():
            if not allow_missing:
                raise ValueError(
                    "Input y contains NaN; this estimator does not accept missing "
                    "targets."
                )
            mask = ~nan
            empty = np.flatnonzero(~mask.any(axis=0))
            if empty.size:
                raise ValueError(
                    f"Task column(s) {empty.tolist()[:10]} of y have no observed "
                    "(non-NaN) target; every task needs at least one row."
                )
            y = np.where(mask, y, 0.0).astype(dtype, copy=False)
    if classification:
        for t in range(y.shape[1]):
            col = y[:, t] if mask is None else y[mask[:, t], t]
            _check_class_labels(col)
    return y, mask


def _check_y_given(y, who):
    """Reject ``y=None`` with a message naming ``who`` (an estimator, a function)."""
    if y is None:
        raise ValueError(f"{who} requires y to be passed, but the target y is None.")


def check_task_data(
    X,
    y,
    sample_weight=None,
    *,
    task_column=None,
    multi_output=True,
    tasks=None,
    classification=False,
    allow_missing=True,
    dtype=(np.float64, np.float32),
    accept_sparse=("csr", "csc"),
    ensure_all_finite=True,
):
    """Validate training data and return its multi-task view; write nothing.

    The pure part of :func:`validate_fit_data`: it takes no estimator, does not
    modify its arguments and records nothing anywhere (functions without an
    estimator, such as :func:`~skmtl.linear_model.alpha_max`, call it directly).
    The layout follows from the arguments (see the module docstring): stacked with
    a ``task_column``, shared with a 2-D ``y`` (of more than one column without
    ``multi_output``), single otherwise.

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        The features, and the task column if ``task_column`` is set.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        The targets: 1-D in the stacked and single layouts, one column per task
        in the shared layout (NaN marks a missing target there).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights; every task needs a positive total weight.
    task_column : int, str or None, default=None
        Position (int) or name (str, with a DataFrame) of the column of ``X``
        holding each row's task label; None: no task column.
    multi_output : bool, default=True
        Read a 2-D ``y`` of one column as the shared layout with one task (the
        ``multi_output`` tag of an estimator, True for every skmtl estimator);
        False: as the single layout.
    tasks : array-like or None, default=None
        Stacked layout: the task labels known beforehand (a fitted estimator's
        ``tasks_``); the labels are encoded against them, a label not among them
        raises a ValueError naming it, and ``data.tasks`` is ``tasks``. None: the
        sorted unique labels of the task column. Ignored in the other layouts.
    classification : bool, default=False
        Keep ``y`` as labels (checked with ``check_classification_targets``)
        instead of converting it to float.
    allow_missing : bool, default=True
        Accept NaN targets in the shared layout (treated as missing).
    dtype : dtype, list of dtypes or None, default=(np.float64, np.float32)
        Passed to :func:`sklearn.utils.check_array` for the features.
    accept_sparse : str, list of str or False, default=("csr", "csc")
        Passed to :func:`sklearn.utils.check_array` for the features.
    ensure_all_finite : bool or "allow-nan", default=True
        Passed to :func:`sklearn.utils.check_array` for the features.

    Returns
    -------
    data : TaskData
        The validated data; ``data.task_position`` is the position of the task
        column in ``X`` (None without one).

    See Also
    --------
    validate_fit_data : The same validation for an estimator's ``fit``, which
        also records the layout on the estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._data import check_task_data
    >>> X = np.array([[0, 1.0], [1, 2.0], [0, 3.0], [1, 4.0]])
    >>> data = check_task_data(X, [1.0, 2.0, 3.0, 4.0], task_column=0)
    >>> data.layout, data.tasks.tolist(), data.task_codes.tolist(), data.X.shape
    ('stacked', [0, 1], [0, 1, 0, 1], (4, 1))
    """
    _check_y_given(y, "check_task_data")
    position = resolve_task_column(task_column, X)
    _check_2d(X)
    labels, Xf = _split_and_check(
        X,
        position,
        dtype=dtype,
        accept_sparse=accept_sparse,
        ensure_all_finite=ensure_all_finite,
    )
    n = Xf.shape[0]
    y_arr = y if hasattr(y, "shape") else np.asarray(y)
    mask, task = None, None
    if position is not None:
        y_arr = _check_y_stacked(y_arr, n, classification)
        if tasks is None:
            tasks, task = encode_task_labels(labels)
        else:
            task = encode_known_tasks(labels, tasks)
        layout = "stacked"
    elif y_arr.ndim == 2 and (y_arr.shape[1] > 1 or multi_output):
        y_arr, mask = _check_y_shared(y_arr, n, classification, allow_missing, Xf.dtype)
        tasks = np.arange(y_arr.shape[1])
        layout = "shared"
    else:
        y_arr = _check_y_stacked(y_arr, n, classification)
        tasks = np.array([0])
        task = np.zeros(n, dtype=np.intp)
        layout = "single"
    if not classification and y_arr.dtype != Xf.dtype:
        y_arr = y_arr.astype(Xf.dtype)
    sw = check_sample_weight(
        sample_weight, Xf, dtype=Xf.dtype, ensure_non_negative=True
    )
    data = TaskData(Xf, y_arr, task, mask, sw, tasks, layout, position)
    _check_task_weights(data)
    return data


def record_layout(estimator, data):
    """Record the task layout of validated training data on ``estimator``.

    The one step of :func:`validate_fit_data` that writes the layout: what
    :func:`validate_predict_data` and later partial fits check against.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted; gets ``tasks_``, ``n_tasks_`` and the private
        ``_task_position`` and ``_layout``.
    data : TaskData
        The data of its ``fit``, from :func:`check_task_data`.
    """
    estimator.tasks_ = data.tasks
    estimator.n_tasks_ = data.n_tasks
    estimator._task_position = data.task_position
    estimator._layout = data.layout


def validate_fit_data(
    estimator,
    X,
    y,
    sample_weight=None,
    *,
    reset=True,
    warm_start=False,
    **options,
):
    """Validate training data and record the task layout on ``estimator``.

    Sets ``n_features_in_``, ``feature_names_in_`` (describing ``X`` as passed, task
    column included), ``tasks_``, ``n_tasks_`` and the private ``_task_position`` and
    ``_layout`` used by :func:`validate_predict_data`. The validation itself is
    :func:`check_task_data`; the layout is recorded by :func:`record_layout`.

    With ``reset=False`` (``partial_fit``, warm starts) nothing is recorded: ``X`` is
    checked against what the first call recorded (number and names of the columns,
    position of the task column, layout) and the task labels are encoded against the
    fitted ``tasks_`` (a label unseen before raises a ValueError naming it). A call
    may then hold only some of the tasks; ``data.tasks`` is the fitted ``tasks_``.

    Parameters
    ----------
    estimator : estimator with a ``task_column`` parameter
    X, y, sample_weight : the arguments of ``fit``
    reset : bool, default=True
        Record the layout (``fit``) or check against the recorded one (``False``).
    warm_start : bool, default=False
        This ``fit`` continues the previous one (the estimator's ``warm_start``):
        once fitted, the task labels must be exactly the fitted ``tasks_``; a new
        or a missing label raises a ValueError naming it (the one ``warm_start``
        rule of every skmtl family; ``partial_fit`` passes False).
    **options : the validation options of :func:`check_task_data`
        ``classification``, ``allow_missing``, ``dtype``, ``accept_sparse`` and
        ``ensure_all_finite``, with its defaults.

    Returns
    -------
    data : TaskData
    """
    _check_y_given(y, type(estimator).__name__)
    task_column = getattr(estimator, "task_column", None)
    position = resolve_task_column(task_column, X)
    if not reset and position != estimator._task_position:
        raise ValueError(
            f"task_column={task_column!r} points at column {position}, but "
            f"the first fit used column {estimator._task_position}; it must not change "
            "between partial fits."
        )
    _check_columns(estimator, X, reset=reset)
    continued = warm_start and hasattr(estimator, "tasks_")
    data = check_task_data(
        X,
        y,
        sample_weight,
        task_column=task_column,
        # the tag only decides a 2-D y of one column; not asked for a 1-D y
        multi_output=getattr(y, "ndim", 2) == 2 and _tags_multi_output(estimator),
        # a warm start checks its labels against tasks_ below, with its own message
        tasks=None if reset or continued else estimator.tasks_,
        **options,
    )
    if continued:
        _check_warm_start_tasks(estimator, data.tasks)
    if reset:
        record_layout(estimator, data)
    else:
        _check_same_layout(estimator, data)
    return data


def _check_warm_start_tasks(estimator, tasks):
    """``warm_start``: the tasks of this fit must be the fitted ``tasks_``."""
    known = np.asarray(estimator.tasks_)
    same_kind = (tasks.dtype == object) == (known.dtype == object)
    if same_kind and tasks.shape == known.shape and np.all(tasks == known):
        return

    def shown(values):
        values = [v.item() if hasattr(v, "item") else v for v in values]
        head = ", ".join(repr(v) for v in values[:_MAX_LABELS_IN_MESSAGE])
        more = len(values) - _MAX_LABELS_IN_MESSAGE
        return head + (f" (and {more} more)" if more > 0 else "") if values else "none"

    old, new = set(known.tolist()), set(tasks.tolist())
    added = [v for v in tasks.tolist() if v not in old]
    missing = [v for v in known.tolist() if v not in new]
    raise ValueError(
        f"warm_start=True continues the previous fit, whose tasks were "
        f"{len(known)} label(s); this fit's task labels differ: new {shown(added)}, "
        f"missing {shown(missing)}. Set warm_start=False (or fit a clone) to fit "
        "a different set of tasks."
    )


def _tags_multi_output(estimator):
    try:
        return estimator.__sklearn_tags__().target_tags.multi_output
    except AttributeError:
        return False


def _check_same_layout(estimator, data):
    """``reset=False``: the layout and number of tasks must be the first fit's."""
    if data.layout != estimator._layout or (
        data.layout == "shared" and data.n_tasks != estimator.n_tasks_
    ):
        shape = f"y with {data.n_tasks} columns" if data.layout == "shared" else "1-D y"
        raise ValueError(
            f"This call has the {data.layout!r} layout ({shape}), but the estimator "
            f"was fitted on the {estimator._layout!r} layout with "
            f"{estimator.n_tasks_} task(s); the layout must not change between fits."
        )


def _check_task_weights(data):
    # tasks without rows (possible in a partial fit) are fine; tasks with rows need
    # a positive total weight
    zero = np.flatnonzero((data.task_weight_sums() <= 0) & (data.task_sizes() > 0))
    if zero.size:
        names = [
            data.tasks[t].item() if hasattr(data.tasks[t], "item") else data.tasks[t]
            for t in zero[:10]
        ]
        raise ValueError(
            f"Task(s) {names} have zero total sample_weight; every task needs "
            "positive weight."
        )


# --------------------------------------------------------------------------- predict
def validate_predict_data(
    estimator,
    X,
    *,
    dtype=(np.float64, np.float32),
    accept_sparse=("csr", "csc"),
    ensure_all_finite=True,
    allow_unseen=False,
):
    """Validate prediction data against what ``fit`` saw.

    Parameters
    ----------
    estimator : fitted estimator (``validate_fit_data`` was called in its ``fit``)
    X : the argument of ``predict``
    dtype, accept_sparse, ensure_all_finite : passed to
        :func:`sklearn.utils.check_array` for the features.
    allow_unseen : bool, default=False
        Stacked layout: give rows whose task label was not seen in ``fit`` the code
        ``-1`` instead of raising (for estimators with a documented fallback such
        as ``unseen_task="shared"``).

    Returns
    -------
    X : ndarray or sparse matrix
        Features only (task column removed).
    task : ndarray of int or None
        Task code of each row in the stacked layout (a ValueError names labels unseen
        in fit, or they get ``-1`` with ``allow_unseen``); zeros in the single
        layout; ``None`` in the shared layout.
    """
    _check_columns(estimator, X, reset=False)
    labels, Xf = _split_and_check(
        X,
        estimator._task_position,
        dtype=dtype,
        accept_sparse=accept_sparse,
        ensure_all_finite=ensure_all_finite,
    )
    if estimator._layout == "stacked":
        task = encode_known_tasks(labels, estimator.tasks_, allow_unseen=allow_unseen)
    elif estimator._layout == "single":
        task = np.zeros(Xf.shape[0], dtype=np.intp)
    else:
        task = None
    return Xf, task
