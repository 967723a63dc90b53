"""stack_tasks / split_tasks round trips."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from skmtl.utils import all_estimators, split_tasks, stack_tasks


def test_round_trip():
    rng = np.random.default_rng(0)
    X_list = [rng.standard_normal((n, 3)) for n in (2, 5, 1)]
    y_list = [rng.standard_normal(n) for n in (2, 5, 1)]
    X, y = stack_tasks(X_list, y_list)
    assert X.shape == (8, 4)
    assert_array_equal(X[:, 0], [0, 0, 1, 1, 1, 1, 1, 2])
    labels, X_back, y_back = split_tasks(X, y)
    assert_array_equal(labels, [0, 1, 2])
    for a, b in zip(X_back, X_list):
        assert_array_equal(a, b)
    for a, b in zip(y_back, y_list):
        assert_array_equal(a, b)


def test_string_labels_and_order():
    X, y = stack_tasks(
        [np.ones((1, 2)), np.zeros((2, 2))], [[1], [2, 3]], labels=["zeta", "alpha"]
    )
    assert X.dtype == object and list(X[:, 0]) == ["zeta", "alpha", "alpha"]
    labels, X_list, y_list = split_tasks(X, y)
    assert list(labels) == ["alpha", "zeta"]
    assert_array_equal(y_list[0], [2, 3])


def test_sparse_stack():
    X, y = stack_tasks([sp.csr_matrix(np.eye(2)), np.ones((1, 2))], [[1, 2], [3]])
    assert sp.issparse(X) and X.shape == (3, 3)
    labels, X_list, _ = split_tasks(X, y)
    assert_array_equal(X_list[1].toarray(), [[1, 1]])


def test_errors():
    with pytest.raises(ValueError, match="different numbers of features"):
        stack_tasks([np.ones((1, 2)), np.ones((1, 3))], [[1], [2]])
    with pytest.raises(ValueError, match="2 rows but y has 1"):
        stack_tasks([np.ones((2, 2))], [[1]])
    with pytest.raises(ValueError, match="unique"):
        stack_tasks([np.ones((1, 2))] * 2, [[1], [2]], labels=["a", "a"])
    with pytest.raises(ValueError, match="needs a task_column"):
        split_tasks(np.ones((2, 2)), [1, 2], task_column=None)


def test_all_estimators_finds_public_classes():
    names = dict(all_estimators())
    assert "IndependentTaskEstimator" in names and "MultiTaskLasso" in names
    assert all(not n.startswith("_") for n in names)
