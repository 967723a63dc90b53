"""Shipped School data and the structured generators."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skmtl.datasets import (
    load_school,
    load_school_splits,
    make_multitask_classification,
    make_multitask_regression,
)


def test_load_school():
    school = load_school()
    assert school.data.shape == (15362, 28)
    assert school.feature_names[0] == "school" and len(school.feature_names) == 28
    assert school.task_column == 0
    sizes = np.bincount(school.data[:, 0].astype(int))
    assert len(sizes) == 139 and sizes.min() == 22 and sizes.max() == 251
    assert school.target.mean() == pytest.approx(20.60, abs=0.01)
    assert "Goldstein" in school.DESCR and "Argyriou" in school.DESCR
    X, y = load_school(return_X_y=True)
    assert_array_equal(X, school.data)


def test_load_school_as_frame():
    pytest.importorskip("pandas")
    school = load_school(as_frame=True)
    assert list(school.data.columns[:2]) == ["school", "year_1985"]
    assert school.data["school"].dtype.kind == "i"
    assert school.frame.shape == (15362, 29)
    assert school.target.name == "exam_score"


def test_school_splits():
    splits = load_school_splits()
    assert len(splits) == 10
    tasks = load_school().data[:, 0].astype(int)
    sizes = np.bincount(tasks)
    for train, test in splits:
        assert len(train) == 11472 and len(test) == 3890
        assert len(np.intersect1d(train, test)) == 0
        assert_array_equal(np.bincount(tasks[train]), np.floor(0.75 * sizes))
    assert not np.array_equal(splits[0][1], splits[1][1])


def test_low_rank_structure():
    X, y, W = make_multitask_regression(
        n_tasks=8,
        n_features=12,
        structure="low_rank",
        rank=3,
        coef=True,
        random_state=0,
    )
    assert np.linalg.matrix_rank(W) == 3


def test_row_sparse_structure():
    _, _, W = make_multitask_regression(
        n_tasks=5, n_features=30, n_informative=4, coef=True, random_state=0
    )
    assert (np.abs(W).sum(axis=0) > 0).sum() == 4


def test_clustered_structure():
    _, _, W = make_multitask_regression(
        n_tasks=9,
        n_features=20,
        structure="clustered",
        n_clusters=3,
        spread=0.01,
        coef=True,
        random_state=0,
    )
    dist = np.linalg.norm(W[:, None] - W[None], axis=2)
    same = (np.arange(9)[:, None] % 3) == (np.arange(9)[None] % 3)
    assert dist[same].max() < dist[~same].min()


def test_mean_structure_and_noise():
    X, y, W = make_multitask_regression(
        n_tasks=4,
        n_samples=500,
        n_features=3,
        structure="mean",
        spread=0.0,
        noise=0.0,
        coef=True,
        random_state=0,
    )
    assert np.allclose(W, W[0])
    task = X[:, 0].astype(int)
    assert np.allclose(y, np.einsum("ij,ij->i", X[:, 1:], W[task]))


def test_unequal_sizes_and_shared_layout():
    X, y = make_multitask_regression(n_tasks=3, n_samples=[2, 5, 9], random_state=0)
    assert_array_equal(np.bincount(X[:, 0].astype(int)), [2, 5, 9])
    X, Y = make_multitask_regression(
        n_tasks=3, n_samples=7, n_features=4, layout="shared", random_state=0
    )
    assert X.shape == (7, 4) and Y.shape == (7, 3)
    with pytest.raises(ValueError, match="must be an int"):
        make_multitask_regression(n_tasks=2, n_samples=[3, 4], layout="shared")
    with pytest.raises(ValueError, match="3 task sizes for 2 tasks"):
        make_multitask_regression(n_tasks=2, n_samples=[3, 4, 5])


def test_classification_every_task_has_both_classes():
    X, y = make_multitask_classification(
        n_tasks=300, n_samples=3, n_features=2, noise=0.0, random_state=0
    )
    task = X[:, 0].astype(int)
    assert np.all(np.bincount(task, weights=y) > 0)
    assert np.all(np.bincount(task, weights=1 - y) > 0)
    _, Y = make_multitask_classification(
        n_tasks=4, n_samples=30, layout="shared", random_state=0
    )
    assert Y.shape == (30, 4) and set(np.unique(Y)) == {0, 1}


def test_generators_are_deterministic():
    a = make_multitask_regression(random_state=3)
    b = make_multitask_regression(random_state=3)
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[1], b[1])


def test_bad_structure_rejected():
    with pytest.raises(ValueError, match="structure"):
        make_multitask_regression(structure="banana")
