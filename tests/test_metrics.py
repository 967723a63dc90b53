"""Every metric variant against its formula computed by a plain per-task loop."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score

from skmtl.baselines import IndependentTaskEstimator
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.metrics import (
    explained_variance_per_task,
    make_task_scorer,
    mean_task_rmse,
    nmse,
    per_task_scores,
)
from skmtl.model_selection import TaskStratifiedKFold

RNG = np.random.default_rng(0)


@pytest.fixture
def stacked():
    tasks = np.repeat(["a", "b", "c"], [5, 20, 75])
    offset = np.array([0.0, 5.0, -3.0])[np.searchsorted(["a", "b", "c"], tasks)]
    y = offset + RNG.standard_normal(100) * np.where(tasks == "a", 0.5, 2.0)
    pred = y + RNG.standard_normal(100)
    return y, pred, tasks


def _loop(y, pred, tasks):
    """Per-task MSE, variance (ddof=0) and size, by plain loops."""
    out = []
    for t in np.unique(tasks):
        r = tasks == t
        out.append((mean_squared_error(y[r], pred[r]), np.var(y[r]), r.sum()))
    return np.array(out).T


def test_nmse_variants(stacked):
    y, pred, tasks = stacked
    mse, var, n = _loop(y, pred, tasks)
    assert nmse(y, pred, tasks) == pytest.approx(np.mean(mse / var))
    assert nmse(y, pred, tasks, average="weighted") == pytest.approx(
        np.sum(n * mse / var) / n.sum()
    )
    assert nmse(y, pred, tasks, average="pooled") == pytest.approx(
        np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    )
    assert nmse(y, pred, tasks, average="ratio") == pytest.approx(
        np.mean(mse) / np.mean(var)
    )
    assert_allclose(nmse(y, pred, tasks, average=None), mse / var)


def test_variants_really_differ(stacked):
    """The formulas the literature mixes up give different numbers here."""
    y, pred, tasks = stacked
    values = [
        explained_variance_per_task(y, pred, tasks, average=a)
        for a in ("uniform", "weighted", "pooled", "ratio")
    ]
    assert np.ptp(values) > 0.05


def test_explained_variance_is_per_task_r2(stacked):
    y, pred, tasks = stacked
    per_task = [r2_score(y[tasks == t], pred[tasks == t]) for t in "abc"]
    assert_allclose(explained_variance_per_task(y, pred, tasks, average=None), per_task)
    assert explained_variance_per_task(y, pred, tasks, average="pooled") == (
        pytest.approx(r2_score(y, pred))
    )


def test_mean_task_rmse_variants(stacked):
    y, pred, tasks = stacked
    mse, _, n = _loop(y, pred, tasks)
    assert mean_task_rmse(y, pred, tasks) == pytest.approx(np.mean(np.sqrt(mse)))
    assert mean_task_rmse(y, pred, tasks, average="weighted") == pytest.approx(
        np.sum(n * np.sqrt(mse)) / n.sum()
    )
    assert mean_task_rmse(y, pred, tasks, average="pooled") == pytest.approx(
        np.sqrt(np.mean((y - pred) ** 2))
    )
    with pytest.raises(ValueError, match="average"):
        mean_task_rmse(y, pred, tasks, average="ratio")


def test_sample_weight_equals_repetition(stacked):
    y, pred, tasks = stacked
    w = RNG.integers(1, 4, len(y))
    rep = np.repeat(np.arange(len(y)), w)
    for average in ("uniform", "weighted", "pooled", "ratio"):
        assert nmse(y, pred, tasks, average=average, sample_weight=w) == (
            pytest.approx(nmse(y[rep], pred[rep], tasks[rep], average=average))
        )


def test_shared_layout_equals_stacked_with_missing():
    Y = RNG.standard_normal((30, 3))
    P = Y + 0.5 * RNG.standard_normal((30, 3))
    Y[:4, 1] = np.nan
    obs = ~np.isnan(Y)
    rows, cols = np.nonzero(obs)
    for average in ("uniform", "weighted", "pooled", "ratio", None):
        assert_allclose(
            nmse(Y, P, average=average),
            nmse(Y[rows, cols], P[rows, cols], cols, average=average),
        )
    scores = per_task_scores(Y, P, metric="mae")
    assert list(scores) == [0, 1, 2]
    assert scores[1] == pytest.approx(np.mean(np.abs(Y[4:, 1] - P[4:, 1])))


def test_constant_task_warns():
    y = np.array([1.0, 1.0, 2.0, 3.0])
    with pytest.warns(RuntimeWarning, match="zero target variance"):
        out = nmse(y, y + 0.1, [0, 0, 1, 1], average=None)
    assert np.isinf(out[0])


def test_shape_errors():
    with pytest.raises(ValueError, match="rows"):
        nmse([1.0, 2.0], [1.0], [0, 0])
    with pytest.raises(ValueError, match="labels"):
        nmse([1.0, 2.0], [1.0, 2.0], [0])
    with pytest.raises(ValueError, match="Unknown metric"):
        per_task_scores([1.0], [1.0], metric="nope")


def test_task_scorer_in_cross_val_score():
    X, y = make_multitask_regression(n_tasks=3, n_samples=[20, 30, 40], random_state=0)
    model = IndependentTaskEstimator(Ridge(), task_column=0)
    cv = TaskStratifiedKFold(3, task_column=0)
    scores = cross_val_score(
        model, X, y, cv=cv, scoring=make_task_scorer("rmse", task_column=0)
    )
    manual = []
    for train, test in cv.split(X):
        pred = model.fit(X[train], y[train]).predict(X[test])
        manual.append(-mean_task_rmse(y[test], pred, X[test, 0]))
    assert_allclose(scores, manual)
    weighted = make_task_scorer("mse", task_column=0, average="weighted")
    fitted = model.fit(X, y)
    assert weighted(fitted, X, y) == pytest.approx(
        -mean_squared_error(y, fitted.predict(X))
    )


def test_task_scorer_roc_auc_uses_probabilities():
    X, y = make_multitask_classification(n_tasks=2, n_samples=50, random_state=0)
    model = IndependentTaskEstimator(LogisticRegression(), task_column=0).fit(X, y)
    scorer = make_task_scorer("roc_auc", task_column=0)
    proba = model.predict_proba(X)[:, 1]
    expected = np.mean(
        [roc_auc_score(y[X[:, 0] == t], proba[X[:, 0] == t]) for t in (0, 1)]
    )
    assert scorer(model, X, y) == pytest.approx(expected)


def test_task_scorer_gridsearch_picks_best_and_callable_metric():
    X, y = make_multitask_regression(n_tasks=3, n_samples=30, random_state=0)
    search = GridSearchCV(
        IndependentTaskEstimator(Ridge(), task_column=0),
        {"estimator__alpha": [1e-3, 1e4]},
        cv=TaskStratifiedKFold(3, task_column=0),
        scoring=make_task_scorer(lambda a, b: -np.max(np.abs(a - b)), task_column=0),
    ).fit(X, y)
    assert search.best_params_ == {"estimator__alpha": 1e-3}
    assert "make_task_scorer" in repr(make_task_scorer("r2"))


@given(
    seed=st.integers(0, 2**31 - 1),
    n_tasks=st.integers(1, 6),
    n_rows=st.integers(1, 40),
    weighted=st.booleans(),
    constant_task=st.booleans(),
    exact_task=st.booleans(),
)
@settings(max_examples=100, deadline=None, derandomize=True, database=None)
def test_per_task_scores_from_sums_equal_scikit_learn(
    seed, n_tasks, n_rows, weighted, constant_task, exact_task
):
    # "r2", "mse" and "rmse" come from per-task sums in one pass; scikit-learn's
    # functions task by task are the oracle (to 1e-12: summation order), except
    # that a constant task scores exactly 1.0 / 0.0 (predicted exactly or not)
    # where scikit-learn may divide by a rounding-error SST
    rng = np.random.default_rng(seed)
    tasks = rng.integers(0, n_tasks, n_rows).astype(str)
    y = rng.standard_normal(n_rows) * rng.choice([1e-3, 1.0, 1e3])
    pred = y + rng.standard_normal(n_rows) * rng.choice([0.0, 0.1, 1.0])
    first = tasks == tasks[0]
    if constant_task:
        y[first] = 0.1
    if exact_task:
        pred[first] = y[first]
    w = rng.uniform(0.1, 2.0, n_rows) if weighted else None
    oracles = {
        "r2": skm.r2_score,
        "mse": skm.mean_squared_error,
        "rmse": lambda a, b, **kw: np.sqrt(skm.mean_squared_error(a, b, **kw)),
    }
    for name, oracle in oracles.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fast = per_task_scores(y, pred, tasks, name, sample_weight=w)
            slow = per_task_scores(y, pred, tasks, oracle, sample_weight=w)
        assert list(fast) == list(slow)
        for label, value in fast.items():
            yt = y[tasks == label]
            if name == "r2" and np.all(yt == yt[0]) and len(yt) > 1:
                assert value == float(np.all(pred[tasks == label] == yt))
            elif np.isnan(slow[label]):
                assert np.isnan(value)
            elif name == "r2":  # 1 - SSE / SST: the ratio is what is exact to
                # rounding (an R^2 near 0 loses digits to the subtraction)
                assert 1 - value == pytest.approx(1 - slow[label], rel=1e-12)
            else:
                assert value == pytest.approx(slow[label], rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("metric", ["r2", "mse", "rmse", "mae", "explained_variance"])
def test_per_task_scores_name_a_task_of_zero_weight(metric):
    """A task whose rows all weigh 0 has no score: the moment-based metrics gave
    nan silently, the others scikit-learn's error without the task's name."""
    y = [1.0, 2.0, 3.0, 4.0, 5.0, 7.0]
    pred = [1.0, 2.5, 3.0, 5.0, 5.0, 6.0]
    tasks = ["a", "a", "b", "b", "c", "c"]
    with pytest.raises(ValueError, match=r"task\(s\) \['a'\]"):
        per_task_scores(y, pred, tasks, metric, sample_weight=[0, 0, 1, 2, 1, 1])
    out = per_task_scores(y, pred, tasks, metric, sample_weight=[1e-9, 0, 1, 2, 1, 1])
    assert set(out) == {"a", "b", "c"} and np.all(np.isfinite(list(out.values())))
