"""Foundation pieces added for the kernel models: unseen task codes, stacked rows,
the classifier score over observed entries."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skmtl._data import TaskData, encode_known_tasks
from skmtl.base import MultiTaskClassifierMixin


def test_encode_known_tasks_allow_unseen():
    tasks = np.array(["a", "c"], dtype=object)
    codes = encode_known_tasks(np.array(["c", "b", "a"]), tasks, allow_unseen=True)
    assert_array_equal(codes, [1, -1, 0])
    assert_array_equal(
        encode_known_tasks(np.array([1, 2]), tasks, allow_unseen=True), [-1, -1]
    )
    with pytest.raises(ValueError, match="'b'"):
        encode_known_tasks(np.array(["c", "b"]), tasks)


def test_stacked_rows_of_the_shared_layout_skip_missing():
    X = np.arange(6.0).reshape(3, 2)
    y = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 6.0]])
    mask = np.array([[True, True], [True, False], [True, True]])
    data = TaskData(X, y, None, mask, np.array([1.0, 2.0, 3.0]), np.arange(2), "shared")
    rows, task, ys, sw = data.stacked_rows()
    assert_array_equal(rows, [0, 1, 2, 0, 2])
    assert_array_equal(task, [0, 0, 0, 1, 1])
    assert_array_equal(ys, [1, 3, 5, 2, 6])
    assert_array_equal(sw, [1, 2, 3, 1, 3])


class _Fixed(MultiTaskClassifierMixin):
    def __init__(self, pred):
        self.pred = pred

    def predict(self, X):
        return self.pred


def test_classifier_score_ignores_missing_targets():
    pred = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    y = np.array([[0.0, np.nan], [0.0, 1.0], [1.0, 1.0]])
    assert _Fixed(pred).score(None, y) == pytest.approx(3 / 5)
    assert _Fixed(pred).score(None, y, sample_weight=[1, 0, 1]) == pytest.approx(2 / 3)
    assert _Fixed(pred[:, 0]).score(None, y[:, 0]) == pytest.approx(2 / 3)
