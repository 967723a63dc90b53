"""MultiTaskLassoCV / MultiTaskElasticNetCV: grid validation, the refit's
convergence report, scikit-learn's folds, metadata routing and parameters."""

import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import MultiTaskElasticNetCV as SkMultiTaskElasticNetCV
from sklearn.linear_model import MultiTaskLassoCV as SkMultiTaskLassoCV
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold

from skmtl._compat import SKLEARN_VERSION, InvalidParameterError
from skmtl._data import validate_fit_data
from skmtl.linear_model import (
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    MultiTaskLogisticLassoCV,
)
from skmtl.linear_model._base import encode_binary_targets
from skmtl.linear_model._cv import cv_splitter


def _grid(n):
    """An automatic grid of n alphas for scikit-learn's CV classes (``n_alphas``
    before 1.7, an int ``alphas`` since)."""
    return {"n_alphas": n} if SKLEARN_VERSION < (1, 7) else {"alphas": n}


def _shared(n=60, d=6, T=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = np.zeros((d, T))
    W[:2] = rng.normal(size=(2, T))
    Y = X @ W + 0.5 * rng.normal(size=(n, T))
    return X, Y


# ----------------------------------------------------------------- defect 3: grids
@pytest.mark.parametrize(
    "Est, kwargs, match",
    [
        (MultiTaskLassoCV, {"alphas": [-1.0]}, r"alphas\[0\] == -1.0"),
        (MultiTaskLassoCV, {"alphas": [0.1, np.nan]}, r"alphas\[1\] == nan"),
        (MultiTaskLassoCV, {"alphas": [np.inf]}, r"alphas\[0\] == inf"),
        (MultiTaskLassoCV, {"alphas": []}, "alphas is empty"),
        (MultiTaskElasticNetCV, {"alphas": [1.0, -0.5]}, r"alphas\[1\] == -0.5"),
        (MultiTaskElasticNetCV, {"l1_ratio": [np.nan]}, r"l1_ratio .*nan"),
        (MultiTaskElasticNetCV, {"l1_ratio": [0.5, 1.5]}, r"l1_ratio .*1.5"),
        (MultiTaskElasticNetCV, {"l1_ratio": [-0.1]}, r"l1_ratio .*-0.1"),
        (MultiTaskElasticNetCV, {"l1_ratio": []}, "l1_ratio is empty"),
    ],
)
def test_invalid_grids_are_refused_naming_the_problem(Est, kwargs, match):
    X, Y = _shared()
    with pytest.raises(InvalidParameterError, match=match):
        Est(cv=3, **kwargs).fit(X, Y)


def test_l1_ratio_zero_needs_an_explicit_grid_as_in_sklearn():
    X, Y = _shared()
    msg = "Automatic alpha grid generation is not supported for l1_ratio=0"
    with pytest.raises(ValueError, match=msg):
        MultiTaskElasticNetCV(l1_ratio=0, cv=3).fit(X, Y)
    with pytest.raises(ValueError, match=msg):
        SkMultiTaskElasticNetCV(l1_ratio=0, cv=3).fit(X, Y)
    # with a grid it is accepted and is a ridge: compare with sklearn's Ridge
    # (our objective is 1/(2n) ||.||^2 + alpha/2 ||W||^2 -> Ridge(alpha * n))
    model = MultiTaskElasticNetCV(
        l1_ratio=0, alphas=[0.05, 0.5], cv=3, tol=1e-12, max_iter=20000
    ).fit(X, Y)
    ridge = Ridge(alpha=model.alpha_ * X.shape[0]).fit(X, Y)
    assert_allclose(model.coef_, ridge.coef_, atol=1e-8)
    assert_allclose(model.intercept_, ridge.intercept_, atol=1e-8)


# --------------------------------------------------- defect 7: refit convergence
def test_refit_reports_non_convergence():
    X, Y = _shared()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MultiTaskLassoCV(alphas=[1e-4], cv=3, max_iter=1, tol=1e-14).fit(X, Y)
    refit = [
        w
        for w in caught
        if issubclass(w.category, ConvergenceWarning) and "refit" in str(w.message)
    ]
    assert len(refit) == 1
    assert str(refit[0].message).startswith("Objective did not converge.")


def test_convergence_warning_uses_sklearns_wording():
    X, Y = _shared()
    # the sentence user code matches on (sklearn/linear_model/_cd_fast.pyx)
    match = (
        r"Objective did not converge\. You might want to increase the number of "
        r"iterations, check the scale of the features or consider increasing "
        r"regularisation\. Duality gap: \S+, tolerance: \S+"
    )
    with pytest.warns(ConvergenceWarning, match=match):
        MultiTaskLasso(alpha=1e-4, max_iter=1, tol=1e-14).fit(X, Y)
    with pytest.warns(ConvergenceWarning, match=match):
        MultiTaskElasticNet(alpha=1e-4, max_iter=1, tol=1e-14).fit(X, Y)


# --------------------------------------------- defect 11: drop-in compatibility
def test_integer_cv_is_sklearns_kfold_in_the_shared_layout():
    X, Y = _shared(n=50)
    ours = MultiTaskLassoCV(alphas=8, cv=5, tol=1e-12, max_iter=5000).fit(X, Y)
    theirs = SkMultiTaskLassoCV(cv=5, tol=1e-12, max_iter=5000, **_grid(8)).fit(X, Y)
    # same folds and grid -> same held-out errors and the same alpha_
    assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-12)
    assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)


def test_integer_cv_keeps_every_task_in_training_with_missing_targets():
    """Shared layout, a task observed on 4 contiguous rows only: KFold(5)'s
    second block holds all 4 (the task has no training row in that fold); the
    rows dealt by their rarest observed task keep it in every training fold."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    Y = X @ rng.standard_normal((3, 3)) + 0.1 * rng.standard_normal((40, 3))
    Y[:, 2] = np.nan
    Y[8:12, 2] = X[8:12] @ np.ones(3)
    assert any(not np.isin(np.arange(8, 12), tr).any() for tr, _ in KFold(5).split(X))
    est = MultiTaskLassoCV(alphas=3, cv=5, tol=1e-10).fit(X, Y)
    assert est.mse_path_.shape == (3, 5)
    # task 2's 4 rows are dealt one per test fold: 3 or 4 of them train
    data = validate_fit_data(est, X, Y)
    for train, test in cv_splitter(5, data, None).split(X):
        assert np.isin(np.arange(8, 12), train).sum() >= 3
        assert len(train) + len(test) == 40


def test_integer_cv_keeps_both_classes_of_a_sparsely_observed_task():
    """The same for a classifier: task 2, observed on rows 8-13 only with classes
    0, 0, 0, 1, 1, 1 in order, keeps both classes in every training fold."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    Y = (X @ rng.standard_normal((3, 3)) > 0).astype(float)
    Y[:, 2] = np.nan
    Y[8:14, 2] = [0, 0, 0, 1, 1, 1]
    est = MultiTaskLogisticLassoCV(alphas=2, alpha_means=1, cv=3, tol=1e-8)
    est.fit(X, Y)
    data = validate_fit_data(est, X, Y, classification=True)
    data.y = encode_binary_targets(data)[1]
    for train, _ in cv_splitter(3, data, None, classification=True).split(X):
        kept = Y[np.intersect1d(train, np.arange(8, 14)), 2]
        assert set(kept) == {0.0, 1.0}


def test_integer_cv_keeps_both_classes_of_every_task_when_fully_observed():
    """Fully observed shared layout: task 1's three positives are rows 6-8, one
    block of KFold(5), whose training rows then hold no positive of task 1. Rows
    dealt by their rarest (task, class) keep both classes of every task in every
    training fold, as scikit-learn's classifiers stratify by class."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((30, 3))
    Y = (rng.random((30, 2)) < 0.5).astype(float)
    Y[:, 1] = 0.0
    Y[6:9, 1] = 1.0
    assert any(set(Y[tr, 1]) == {0.0} for tr, _ in KFold(5).split(X))
    est = MultiTaskLogisticLassoCV(alphas=2, alpha_means=1, cv=5, tol=1e-8)
    est.fit(X, Y)
    data = validate_fit_data(est, X, Y, classification=True)
    data.y = encode_binary_targets(data)[1]
    folds = list(cv_splitter(5, data, None, classification=True).split(X))
    assert len(folds) == 5
    for train, test in folds:
        assert len(train) + len(test) == 30 and not np.isin(test, train).any()
        for t in range(2):
            assert set(Y[train, t]) == {0.0, 1.0}


def test_group_kfold_with_metadata_routing():
    X, Y = _shared(n=60)
    groups = np.repeat(np.arange(6), 10)
    cv = GroupKFold(n_splits=3)
    with sklearn.config_context(enable_metadata_routing=True):
        model = MultiTaskLassoCV(alphas=5, cv=cv, tol=1e-10).fit(X, Y, groups=groups)
        theirs = SkMultiTaskLassoCV(cv=cv, tol=1e-10, **_grid(5)).fit(
            X, Y, groups=groups
        )
    assert model.mse_path_.shape == (5, 3)
    assert_allclose(model.mse_path_, theirs.mse_path_, rtol=1e-5)
    # without routing, metadata is refused with scikit-learn's error
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        MultiTaskLassoCV(alphas=5, cv=cv).fit(X, Y, groups=groups)
    routing = MultiTaskLassoCV(cv=cv).get_metadata_routing()
    assert "splitter" in routing._route_mappings


@pytest.mark.parametrize(
    "Est",
    [MultiTaskLasso, MultiTaskElasticNet, MultiTaskLassoCV, MultiTaskElasticNetCV],
)
def test_sklearn_constructor_parameters(Est):
    X, Y = _shared()
    kw = {"alphas": 4, "cv": 3} if Est.__name__.endswith("CV") else {"alpha": 0.05}
    base = Est(tol=1e-12, **kw).fit(X, Y)
    X0 = X.copy()
    other = Est(tol=1e-12, copy_X=False, selection="random", random_state=0, **kw).fit(
        X, Y
    )
    np.testing.assert_array_equal(X, X0)  # copy_X=False never overwrites X
    assert_allclose(other.coef_, base.coef_, rtol=1e-10, atol=1e-12)
    with pytest.raises(InvalidParameterError, match="selection"):
        Est(selection="shuffled", **kw).fit(X, Y)


def test_a_training_fold_of_one_class_is_named():
    """A classifier's training fold whose targets are all one class (every task
    present) stops with an error naming the fold, before the fit's generic
    'needs samples of 2 classes'."""
    rng = np.random.default_rng(0)
    task = np.repeat([0, 1], 6)
    X = np.column_stack([task, rng.standard_normal((12, 2))])
    y = np.tile([0, 0, 1, 1, 1, 1], 2)
    ones = np.flatnonzero(y == 1)
    folds = [(ones, np.flatnonzero(y == 0)), (np.arange(12)[::2], np.arange(12)[1::2])]
    est = MultiTaskLogisticLassoCV(alphas=2, alpha_means=1, cv=folds, task_column=0)
    with pytest.raises(ValueError, match="Training fold 0 has targets of one class"):
        est.fit(X, y)
