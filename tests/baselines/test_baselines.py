"""Baselines must be exact: they are the yardstick of every multi-task model."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.tree import DecisionTreeRegressor

from skmtl.baselines import IndependentTaskEstimator, PooledTaskEstimator
from skmtl.datasets import make_multitask_classification, make_multitask_regression


@pytest.fixture
def reg_data():
    return make_multitask_regression(
        n_tasks=4, n_samples=[8, 15, 20, 30], n_features=5, random_state=0
    )


@pytest.fixture
def clf_data():
    return make_multitask_classification(
        n_tasks=3, n_samples=[20, 30, 40], n_features=4, random_state=0
    )


def test_independent_equals_per_task_fits_exactly(reg_data):
    X, y = reg_data
    sw = np.linspace(0.2, 3, len(y))
    model = IndependentTaskEstimator(Ridge(alpha=0.3), task_column=0)
    pred = model.fit(X, y, sample_weight=sw).predict(X)
    for t in range(4):
        rows = X[:, 0] == t
        ref = Ridge(alpha=0.3).fit(X[rows, 1:], y[rows], sample_weight=sw[rows])
        assert_array_equal(pred[rows], ref.predict(X[rows, 1:]))
        assert_array_equal(model.estimators_[t].coef_, ref.coef_)


def test_independent_shared_layout_uses_observed_rows_only():
    X, Y = make_multitask_regression(
        n_tasks=3, n_samples=30, n_features=4, layout="shared", random_state=1
    )
    Y[:7, 1] = np.nan
    pred = IndependentTaskEstimator(Ridge()).fit(X, Y).predict(X)
    assert pred.shape == Y.shape
    ref = Ridge().fit(X[7:], Y[7:, 1]).predict(X)
    assert_array_equal(pred[:, 1], ref)


def test_independent_classifier_union_of_classes():
    # task 0 sees classes {a, b}; task 1 sees {b, c}
    X = np.column_stack([np.repeat([0, 1], 10), np.arange(20.0) % 7])
    y = np.array(["a", "b"] * 5 + ["b", "c"] * 5, dtype=object)
    model = IndependentTaskEstimator(LogisticRegression(), task_column=0).fit(X, y)
    assert list(model.classes_) == ["a", "b", "c"]
    proba = model.predict_proba(X)
    assert proba.shape == (20, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[:10, 2] == 0) and np.all(proba[10:, 0] == 0)
    ref = LogisticRegression().fit(X[10:, 1:], y[10:])
    assert_allclose(proba[10:, 1:], ref.predict_proba(X[10:, 1:]))
    assert set(model.predict(X[:10])) <= {"a", "b"}


def test_independent_single_class_task_error_names_task():
    X = np.column_stack([np.repeat([0, 1], 6), np.arange(12.0)])
    y = np.array([0, 1] * 3 + [1] * 6)
    with pytest.raises(ValueError, match="task 1"):
        IndependentTaskEstimator(LogisticRegression(), task_column=0).fit(X, y)


def test_independent_parallel_equals_sequential(reg_data):
    X, y = reg_data
    seq = IndependentTaskEstimator(Ridge(), task_column=0).fit(X, y).predict(X)
    par = IndependentTaskEstimator(Ridge(), task_column=0, n_jobs=2).fit(X, y)
    assert_array_equal(par.predict(X), seq)


def test_independent_sample_weight_unsupported_is_clear(reg_data):
    X, y = reg_data

    class NoWeights(LinearRegression):
        def fit(self, X, y):
            return super().fit(X, y)

    with pytest.raises(ValueError, match="does not accept sample_weight"):
        IndependentTaskEstimator(NoWeights(), task_column=0).fit(
            X, y, sample_weight=np.ones(len(y))
        )


def test_independent_delegates_nan_support(reg_data):
    X, y = reg_data
    X = X.copy()
    X[3, 2] = np.nan
    model = IndependentTaskEstimator(DecisionTreeRegressor(max_depth=2), task_column=0)
    assert model.fit(X, y).predict(X).shape == y.shape
    with pytest.raises(ValueError, match="NaN"):
        IndependentTaskEstimator(Ridge(), task_column=0).fit(X, y)


def test_sparse_equals_dense(reg_data):
    X, y = reg_data
    for model in (
        IndependentTaskEstimator(Ridge(solver="lsqr", tol=1e-10), task_column=0),
        PooledTaskEstimator(Ridge(), task_column=0, task_intercepts=True),
    ):
        dense = model.fit(X, y).predict(X)
        assert_allclose(
            model.fit(sp.csr_matrix(X), y).predict(sp.csr_matrix(X)),
            dense,
            rtol=1e-6,
            atol=1e-8,
        )


def test_pooled_equals_one_model_on_all_rows(reg_data):
    X, y = reg_data
    pred = PooledTaskEstimator(Ridge(), task_column=0).fit(X, y).predict(X)
    assert_allclose(pred, Ridge().fit(X[:, 1:], y).predict(X[:, 1:]))


def test_pooled_task_intercepts_are_one_hot_columns(reg_data):
    X, y = reg_data
    onehot = (X[:, [0]] == np.arange(4)).astype(float)
    Z = np.hstack([X[:, 1:], onehot])
    model = PooledTaskEstimator(LinearRegression(), task_column=0, task_intercepts=True)
    assert_allclose(model.fit(X, y).predict(X), LinearRegression().fit(Z, y).predict(Z))
    # with OLS each task gets its own unshrunk offset: residuals sum to 0 per task
    resid = y - model.predict(X)
    for t in range(4):
        assert abs(resid[X[:, 0] == t].sum()) < 1e-8


def test_pooled_shared_layout_tiles_rows():
    X, Y = make_multitask_regression(
        n_tasks=3, n_samples=20, n_features=4, layout="shared", random_state=0
    )
    Y[:5, 2] = np.nan
    model = PooledTaskEstimator(Ridge(), task_intercepts=True).fit(X, Y)
    pred = model.predict(X)
    assert pred.shape == (20, 3)
    obs = ~np.isnan(Y)
    rows, cols = np.nonzero(obs.T)
    Z = np.hstack([X[cols], np.eye(3)[rows]])
    ref = Ridge().fit(Z, Y.T[obs.T])
    for t in range(3):
        Zt = np.hstack([X, np.tile(np.eye(3)[t], (20, 1))])
        assert_allclose(pred[:, t], ref.predict(Zt))


def test_pooled_classifier_probabilities(clf_data):
    X, y = clf_data
    model = PooledTaskEstimator(LogisticRegression(), task_column=0).fit(X, y)
    ref = LogisticRegression().fit(X[:, 1:], y)
    assert_allclose(model.predict_proba(X), ref.predict_proba(X[:, 1:]))
    assert_array_equal(model.classes_, [0, 1])


def test_predict_proba_only_if_inner_has_it(reg_data):
    assert not hasattr(IndependentTaskEstimator(Ridge()), "predict_proba")
    assert not hasattr(PooledTaskEstimator(Ridge()), "predict_proba")
    assert hasattr(PooledTaskEstimator(LogisticRegression()), "predict_proba")


def test_score_ignores_missing_targets():
    X, Y = make_multitask_regression(
        n_tasks=2, n_samples=40, n_features=3, layout="shared", random_state=0
    )
    model = IndependentTaskEstimator(Ridge()).fit(X, Y)
    Y_missing = Y.copy()
    Y_missing[:10, 0] = np.nan
    pred = model.predict(X)
    from sklearn.metrics import r2_score

    expected = np.mean(
        [r2_score(Y[10:, 0], pred[10:, 0]), r2_score(Y[:, 1], pred[:, 1])]
    )
    assert model.score(X, Y_missing) == pytest.approx(expected)


def test_pooled_many_tasks_uses_sparse_indicators(monkeypatch):
    """No dense n_samples x n_tasks block when the estimator accepts sparse input."""
    from skmtl.baselines import _pooled

    monkeypatch.setattr(_pooled, "DENSE_INDICATOR_MAX_TASKS", 2)
    X, y = make_multitask_regression(
        n_tasks=5, n_samples=10, n_features=3, random_state=0
    )
    seen = {}

    class Spy(Ridge):
        def fit(self, X, y, sample_weight=None):
            seen["sparse"] = sp.issparse(X)
            return super().fit(X, y, sample_weight)

    exact = {"alpha": 0.1, "solver": "lsqr", "tol": 1e-14}
    pred = (
        PooledTaskEstimator(Spy(**exact), task_column=0, task_intercepts=True)
        .fit(X, y)
        .predict(X)
    )
    assert seen["sparse"]
    dense = PooledTaskEstimator(Ridge(**exact), task_column=0, task_intercepts=True)
    monkeypatch.setattr(_pooled, "DENSE_INDICATOR_MAX_TASKS", 64)
    assert_allclose(pred, dense.fit(X, y).predict(X), rtol=1e-8)


@pytest.mark.parametrize(
    "make",
    [
        lambda: IndependentTaskEstimator(Ridge(alpha=-1.0), task_column=0),
        lambda: PooledTaskEstimator(Ridge(alpha=-1.0), task_column=0),
    ],
    ids=["independent", "pooled"],
)
def test_inner_invalid_parameter_error_keeps_its_type(reg_data, make):
    # issue 10, defect 5: the baselines re-raised it as a plain ValueError
    from skmtl._compat import InvalidParameterError

    X, y = reg_data
    with pytest.raises(InvalidParameterError, match=r"Fitting task .*'alpha'"):
        make().fit(X, y)
