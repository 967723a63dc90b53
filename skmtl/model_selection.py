"""Cross-validation and train/test splits that keep every task in every training set."""

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from ._compat import Interval, num_samples, validate_params
from ._data import encode_task_labels, resolve_task_column, split_task_column

__all__ = ["TaskStratifiedKFold", "train_test_split_per_task"]


def _task_codes(X, task_column):
    position = resolve_task_column(task_column, X)
    n = num_samples(X)
    if position is None:
        return np.zeros(n, dtype=np.intp)
    return encode_task_labels(split_task_column(X, position)[0])[1]


def _rank_within_task(codes, rng):
    """Position of each row inside its task (random order when ``rng`` is given)."""
    n = codes.shape[0]
    key = np.arange(n) if rng is None else rng.permutation(n)
    order = np.lexsort((key, codes))
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.intp)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    return rank, counts


class TaskStratifiedKFold(BaseCrossValidator):
    """K-fold cross-validation stratified by task.

    Each task's rows are dealt round-robin over the folds, so every task appears in
    every training set and in every test fold it has rows for, and each task is
    split in the same proportions.

    Small tasks are not an error (real data has tasks with 2 or 3 rows):

    - a task with at least 2 but fewer than ``n_splits`` rows lends each row to one
      test fold (the other folds test none of its rows); its remaining rows stay in
      training, so it is never missing from a training set;
    - a task with a single row is always in training and never tested.

    To balance fold sizes, each task starts dealing at a different fold (the running
    row count modulo ``n_splits``, or a random fold when ``shuffle=True``).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    task_column : int, str or None, default=0
        Column of ``X`` holding the task labels (0 is where skmtl's loaders and
        ``stack_tasks`` put it). None: the shared-design layout (every task sees every
        row), where this is an ordinary K-fold over rows.
    shuffle : bool, default=False
        Shuffle the rows within each task (and the starting folds) before dealing.
    random_state : int, RandomState instance or None, default=None
        Used when ``shuffle=True``.

    See Also
    --------
    train_test_split_per_task : A single train/test split that also keeps every
        task in the training set.
    sklearn.model_selection.StratifiedKFold : Stratification by class label; with
        the task labels as ``y`` it spreads each task over the folds too, but tests
        a single-row task's row (that fold then trains without the task), with a
        warning.
    sklearn.model_selection.GroupKFold : The opposite split, each task entirely in
        one test fold, to evaluate on tasks never seen in training.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X = np.array([[0, 1.], [0, 2.], [0, 3.], [1, 4.], [1, 5.], [2, 6.]])
    >>> for train, test in TaskStratifiedKFold(n_splits=2).split(X):
    ...     print(train, test)
    [1 3 5] [0 2 4]
    [0 2 4 5] [1 3]
    """

    def __init__(self, n_splits=5, *, task_column=0, shuffle=False, random_state=None):
        if not isinstance(n_splits, Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an int >= 2; got {n_splits!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False."
            )
        self.n_splits = n_splits
        self.task_column = task_column
        self.shuffle = shuffle
        self.random_state = random_state

    def _folds(self, X):
        """Test fold of each row (-1: never tested)."""
        codes = _task_codes(X, self.task_column)
        rng = check_random_state(self.random_state) if self.shuffle else None
        rank, counts = _rank_within_task(codes, rng)
        k = self.n_splits
        if rng is None:
            offset = np.concatenate([[0], np.cumsum(counts)[:-1]]) % k
        else:
            offset = rng.randint(k, size=counts.shape[0])
        fold = (rank + offset[codes]) % k
        fold[counts[codes] < 2] = -1
        return fold

    def _iter_test_indices(self, X=None, y=None, groups=None):
        fold = self._folds(X)
        for k in range(self.n_splits):
            yield np.flatnonzero(fold == k)

    def split(self, X, y=None, groups=None):
        """Generate ``(train, test)`` row indices.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Must hold the task column (unless ``task_column=None``).
        y, groups : ignored
            Present for API compatibility.

        Yields
        ------
        train, test : ndarray of int
        """
        fold = self._folds(X)
        for k in range(self.n_splits):
            yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splits, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object, default=None
            Ignored, present for API compatibility.

        Returns
        -------
        n_splits : int
            The number of ``(train, test)`` pairs that :meth:`split` yields.
        """
        return self.n_splits


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "task_column": [Integral, str, None],
        "train_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def train_test_split_per_task(
    X, y, *, task_column=0, train_size=0.75, random_state=None
):
    """Split each task's rows into train and test at the same ratio (MALSAR style).

    Task ``t`` with ``n_t`` rows keeps ``max(1, floor(train_size * n_t))`` random rows
    for training and the rest for testing; so every task is in the training set, and
    every task with at least 2 rows is also in the test set. (This is the rule of the
    standard School splits, see :func:`skmtl.datasets.load_school_splits`.)

    Parameters
    ----------
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Rows to split, holding the task column (unless ``task_column=None``).
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Targets of the rows of ``X``, split with them (2-D in the shared-design
        layout).
    task_column : int, str or None, default=0
        Column of ``X`` holding the task labels (an int position or a DataFrame
        column name). None: shared-design layout, rows are split as one task.
    train_size : float in (0, 1), default=0.75
        Share of each task's rows kept for training (rounded down, at least one).
    random_state : int, RandomState instance or None, default=None
        Draws each task's training rows; pass an int for a reproducible split.

    Returns
    -------
    X_train, X_test, y_train, y_test
        The training and test rows of ``X`` and ``y``, of the same types as the
        inputs. Rows keep their original relative order.

    See Also
    --------
    TaskStratifiedKFold : K-fold cross-validation that keeps every task in every
        training set.
    sklearn.model_selection.train_test_split : One split of all rows; stratified
        by the task labels it needs at least 2 rows in every task.
    skmtl.datasets.load_school_splits : The standard School splits, made by this
        rule.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.model_selection import train_test_split_per_task
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=[4, 8, 10],
    ...                                  random_state=0)
    >>> parts = train_test_split_per_task(X, y, random_state=0)
    >>> len(parts[2]), len(parts[3])
    (16, 6)
    """
    n = num_samples(X)
    if num_samples(y) != n:
        raise ValueError(f"X has {n} rows but y has {num_samples(y)}.")
    codes = _task_codes(X, task_column)
    rank, counts = _rank_within_task(codes, check_random_state(random_state))
    n_train = np.maximum(1, np.floor(train_size * counts).astype(int))
    train = rank < n_train[codes]
    tr, te = np.flatnonzero(train), np.flatnonzero(~train)
    return _take(X, tr), _take(X, te), _take(y, tr), _take(y, te)


def _take(a, rows):
    if hasattr(a, "iloc"):
        return a.iloc[rows]
    if hasattr(a, "shape") and not isinstance(a, list):
        return a[rows]
    return np.asarray(a)[rows]
