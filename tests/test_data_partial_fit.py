"""The data layer's ``reset=False`` mode (partial fits and warm starts)."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator

from skmtl._data import validate_fit_data
from skmtl.base import MultiTaskMixin


class _Est(MultiTaskMixin, BaseEstimator):
    def __init__(self, task_column=None):
        self.task_column = task_column


def _stacked(labels, seed=0):
    rng = np.random.RandomState(seed)
    X = np.column_stack([np.asarray(labels, dtype=object), rng.rand(len(labels), 2)])
    return X, rng.rand(len(labels))


def test_reset_false_encodes_against_fitted_tasks():
    est = _Est(task_column=0)
    X, y = _stacked(["a", "b", "c", "a"])
    validate_fit_data(est, X, y)
    X2, y2 = _stacked(["c", "c", "a"], seed=1)
    data = validate_fit_data(est, X2, y2, reset=False)
    assert list(data.tasks) == ["a", "b", "c"]
    assert_array_equal(data.task, [2, 2, 0])
    assert_array_equal(data.task_sizes(), [1, 0, 2])  # task "b" absent: fine
    assert list(est.tasks_) == ["a", "b", "c"]


def test_reset_false_rejects_unseen_task_and_feature_change():
    est = _Est(task_column=0)
    validate_fit_data(est, *_stacked(["a", "b"]))
    with pytest.raises(ValueError, match="'zz'"):
        validate_fit_data(est, *_stacked(["a", "zz"]), reset=False)
    X, y = _stacked(["a", "b"])
    with pytest.raises(ValueError, match="features"):
        validate_fit_data(est, X[:, :2], y, reset=False)


def test_reset_false_rejects_layout_change():
    est = _Est()
    rng = np.random.RandomState(0)
    X = rng.rand(6, 3)
    validate_fit_data(est, X, rng.rand(6, 3))
    with pytest.raises(ValueError, match="layout"):
        validate_fit_data(est, X, rng.rand(6, 2), reset=False)
    with pytest.raises(ValueError, match="layout"):
        validate_fit_data(est, X, rng.rand(6), reset=False)
    est.set_params(task_column=0)
    with pytest.raises(ValueError, match="must not change"):
        validate_fit_data(est, X, rng.rand(6), reset=False)


def test_zero_weight_only_checked_for_tasks_with_rows():
    est = _Est(task_column=0)
    validate_fit_data(est, *_stacked(["a", "b", "b"]))
    X, y = _stacked(["a", "a", "b"])
    validate_fit_data(est, X[:2], y[:2], sample_weight=[1.0, 0.0], reset=False)
    with pytest.raises(ValueError, match=r"\['a'\] have zero total sample_weight"):
        validate_fit_data(est, X, y, sample_weight=[0.0, 0.0, 1.0], reset=False)
