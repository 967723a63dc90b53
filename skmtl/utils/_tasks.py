"""Convert between the stacked layout and per-task lists (MALSAR's cell arrays)."""

import numpy as np
import scipy.sparse as sp

from .._data import encode_task_labels, resolve_task_column, split_task_column

__all__ = ["stack_tasks", "split_tasks"]


def stack_tasks(X_list, y_list, labels=None):
    """Stack per-task data into the stacked layout, task column first.

    The inverse of :func:`split_tasks`: the tasks' rows are concatenated in the
    order of ``X_list`` and a first column holding each row's task label is
    prepended, the layout every skmtl estimator reads with ``task_column=0``.
    Per-task lists are how MALSAR (cell arrays) holds multi-task data.

    Parameters
    ----------
    X_list : list of {array-like, sparse matrix} of shape (n_t, n_features)
        The features of each task, one matrix per task, all with the same number
        of columns. If any is sparse, ``X`` is a CSR matrix.
    y_list : list of array-like of shape (n_t,)
        The targets of each task, in the order of ``X_list``.
    labels : sequence of length n_tasks, default=None
        Task labels (ints or strings); ``range(n_tasks)`` when None. With string
        labels the result is an object array.

    Returns
    -------
    X : ndarray or sparse matrix of shape (sum n_t, 1 + n_features)
        Column 0 holds the task label; use ``task_column=0``.
    y : ndarray of shape (sum n_t,)
        The targets, in the order of the rows of ``X``.

    See Also
    --------
    split_tasks : The inverse conversion, stacked layout to per-task lists.
    skmtl.model_selection.TaskStratifiedKFold : Cross-validation on the stacked
        layout, reading the task labels from column 0 by default.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import stack_tasks
    >>> X, y = stack_tasks([np.ones((2, 3)), np.zeros((1, 3))], [[1, 2], [3]])
    >>> X[:, 0], y
    (array([0., 0., 1.]), array([1, 2, 3]))
    """
    if len(X_list) != len(y_list):
        raise ValueError(
            f"X_list has {len(X_list)} tasks but y_list has {len(y_list)}."
        )
    if len(X_list) == 0:
        raise ValueError("stack_tasks needs at least one task.")
    labels = list(range(len(X_list))) if labels is None else list(labels)
    if len(labels) != len(X_list):
        raise ValueError(f"Got {len(labels)} labels for {len(X_list)} tasks.")
    if len(set(labels)) != len(labels):
        raise ValueError("Task labels must be unique.")
    ys = [np.asarray(y).ravel() for y in y_list]
    sparse = any(sp.issparse(X) for X in X_list)
    Xs = [X if sp.issparse(X) else np.atleast_2d(np.asarray(X)) for X in X_list]
    widths = {X.shape[1] for X in Xs}
    if len(widths) != 1:
        raise ValueError(f"Tasks have different numbers of features: {sorted(widths)}.")
    for k, (X, y) in enumerate(zip(Xs, ys)):
        if X.shape[0] != y.shape[0]:
            raise ValueError(
                f"Task {labels[k]!r}: X has {X.shape[0]} rows but y has {y.shape[0]}."
            )
    col = np.concatenate(
        [np.full(X.shape[0], lab, dtype=object) for X, lab in zip(Xs, labels)]
    )
    string_labels = any(isinstance(lab, str) for lab in labels)
    if sparse:
        if string_labels:
            raise ValueError("String task labels cannot be stored in a sparse X.")
        X = sp.hstack(
            [
                sp.csr_matrix(col.astype(float)[:, None]),
                sp.vstack([sp.csr_matrix(X) for X in Xs]),
            ],
            format="csr",
        )
    elif string_labels:
        X = np.column_stack([col, np.vstack(Xs).astype(object)])
    else:
        X = np.column_stack([col.astype(float), np.vstack(Xs)])
    return X, np.concatenate(ys)


def split_tasks(X, y, task_column=0):
    """Split stacked-layout data into per-task lists.

    The inverse of :func:`stack_tasks`: each task's rows are gathered, in their
    original order, into one feature matrix without the task column and one target
    array, the tasks in the order of their sorted labels. Use it to fit one model
    per task or to feed code written for per-task lists (MALSAR's cell arrays).

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Stacked-layout rows: the features and the task column.
    y : array-like of shape (n_samples,)
        The target of each row of ``X``.
    task_column : int or str, default=0
        Column of ``X`` holding the task labels (an int position, negative
        allowed, or a DataFrame column name).

    Returns
    -------
    labels : ndarray of shape (n_tasks,)
        Sorted unique task labels.
    X_list : list of {ndarray, sparse matrix} of shape (n_t, n_columns - 1)
        Each task's features (task column removed; a DataFrame becomes an
        ndarray), in the order of ``labels``.
    y_list : list of ndarray of shape (n_t,)
        Each task's targets, in the order of ``labels``.

    See Also
    --------
    stack_tasks : The inverse conversion, per-task lists to the stacked layout.
    skmtl.baselines.IndependentTaskEstimator : One clone of an estimator per
        task, fitted on stacked-layout data without splitting it by hand.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.utils import split_tasks
    >>> X = np.array([[1, 0.5], [0, 1.5], [1, 2.5]])
    >>> labels, X_list, y_list = split_tasks(X, np.array([1, 2, 3]))
    >>> labels.tolist(), [x.ravel().tolist() for x in X_list]
    ([0, 1], [[1.5], [0.5, 2.5]])
    >>> [v.tolist() for v in y_list]
    [[2], [1, 3]]
    """
    position = resolve_task_column(task_column, X)
    if position is None:
        raise ValueError("split_tasks needs a task_column.")
    task_labels, features = split_task_column(X, position)
    if hasattr(features, "to_numpy"):
        features = features.to_numpy()
    y = np.asarray(y)
    if y.shape[0] != features.shape[0]:
        raise ValueError(f"X has {features.shape[0]} rows but y has {y.shape[0]}.")
    labels, codes = encode_task_labels(task_labels)
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(labels)))[:-1]
    groups = np.split(order, bounds)
    return labels, [features[g] for g in groups], [y[g] for g in groups]
