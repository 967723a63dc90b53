"""Task-aware splitters: every task in every training fold, for any task sizes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from skmtl.datasets import load_school, load_school_splits
from skmtl.model_selection import TaskStratifiedKFold, train_test_split_per_task


def _stacked(sizes, labels=None):
    labels = np.arange(len(sizes)) if labels is None else np.asarray(labels)
    col = np.repeat(labels, sizes)
    X = np.column_stack([col.astype(object), np.arange(col.size)])
    return X, np.arange(col.size, dtype=float)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=15),
    n_splits=st.integers(2, 6),
    shuffle=st.booleans(),
    seed=st.integers(0, 100),
)
def test_task_stratified_kfold_invariants(sizes, n_splits, shuffle, seed):
    X, _ = _stacked(sizes)
    cv = TaskStratifiedKFold(
        n_splits, shuffle=shuffle, random_state=seed if shuffle else None
    )
    tasks = X[:, 0].astype(int)
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits() == n_splits
    tested = np.concatenate([test for _, test in splits])
    # each row is tested at most once; train and test partition the rows
    assert len(tested) == len(set(tested))
    for train, test in splits:
        assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(X)))
        # every task is in every training fold
        assert set(tasks[train]) == set(tasks)
    sizes = np.asarray(sizes)
    for t, n_t in enumerate(sizes):
        rows_tested = np.isin(np.flatnonzero(tasks == t), tested).sum()
        if n_t == 1:
            assert rows_tested == 0  # a one-row task is always in training
        else:
            assert rows_tested == n_t  # otherwise every row is tested once
        if n_t >= n_splits:  # and the task is in every test fold
            assert all(t in tasks[test] for _, test in splits)


def test_balanced_folds_and_determinism():
    X, _ = _stacked([2] * 50)
    cv = TaskStratifiedKFold(5)
    sizes = [len(test) for _, test in cv.split(X)]
    assert max(sizes) - min(sizes) <= 1  # small tasks spread over the folds
    a = [
        test
        for _, test in TaskStratifiedKFold(5, shuffle=True, random_state=3).split(X)
    ]
    b = [
        test
        for _, test in TaskStratifiedKFold(5, shuffle=True, random_state=3).split(X)
    ]
    for u, v in zip(a, b):
        assert_array_equal(u, v)


def test_string_labels_dataframe_and_name():
    pd = pytest.importorskip("pandas")
    X, _ = _stacked([6, 7], labels=["north", "south"])
    df = pd.DataFrame({"f": X[:, 1].astype(float), "region": X[:, 0]})
    by_name = list(TaskStratifiedKFold(3, task_column="region").split(df))
    by_pos = list(TaskStratifiedKFold(3, task_column=-1).split(df))
    for (a, b), (c, d) in zip(by_name, by_pos):
        assert_array_equal(a, c)
        assert_array_equal(b, d)


def test_shared_layout_is_plain_kfold():
    X = np.zeros((10, 2))
    folds = [test for _, test in TaskStratifiedKFold(5, task_column=None).split(X)]
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))
    assert all(len(f) == 2 for f in folds)


def test_bad_parameters():
    with pytest.raises(ValueError, match="n_splits"):
        TaskStratifiedKFold(1)
    with pytest.raises(ValueError, match="shuffle"):
        TaskStratifiedKFold(3, random_state=0)


def test_train_test_split_per_task_sizes():
    X, y = _stacked([1, 2, 4, 10])
    X_tr, X_te, y_tr, y_te = train_test_split_per_task(
        X, y, train_size=0.75, random_state=0
    )
    count = {t: (X_tr[:, 0] == t).sum() for t in range(4)}
    assert count == {0: 1, 1: 1, 2: 3, 3: 7}
    assert len(y_tr) + len(y_te) == len(y)
    assert_array_equal(X_tr[:, 1].astype(float), y_tr)  # rows stay aligned
    assert np.all(np.diff(y_tr) > 0)  # original order kept


def test_train_test_split_matches_school_protocol():
    """The rule floor(0.75 n_t) reproduces the standard School split sizes."""
    school = load_school()
    train, test = load_school_splits()[0]
    X_tr, X_te, _, _ = train_test_split_per_task(
        school.data, school.target, random_state=0
    )
    assert len(X_tr) == len(train) and len(X_te) == len(test)
    tasks = school.data[:, 0]
    assert_array_equal(
        np.bincount(X_tr[:, 0].astype(int)), np.bincount(tasks[train].astype(int))
    )
