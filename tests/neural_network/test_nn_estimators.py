"""Behaviour of MultiTaskMLPRegressor / MultiTaskMLPClassifier.

Determinism, pickling, partial_fit / warm_start, early stopping within every task,
verbose output, dtypes, sparse input, missing targets, per-task class sets and the
task-weighting schemes' recorded weights.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.neural_network import MultiTaskMLPClassifier, MultiTaskMLPRegressor
from skmtl.neural_network._weighting import dwa_weights

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _regression(n_tasks=4, n_samples=30, seed=0, **kw):
    return make_multitask_regression(
        n_tasks=n_tasks,
        n_samples=n_samples,
        n_features=5,
        structure="low_rank",
        random_state=seed,
        **kw,
    )


def _reg(**params):
    base = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    return MultiTaskMLPRegressor(**{**base, **params})


def _clf(**params):
    base = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    return MultiTaskMLPClassifier(**{**base, **params})


# ----------------------------------------------------------------- determinism
@pytest.mark.parametrize("weighting", ["equal", "uncertainty", "dwa"])
def test_random_state_makes_fit_deterministic(weighting):
    X, y = _regression(n_samples=[20, 40, 60, 80])
    kw = dict(task_column=0, batch_size=16, task_weighting=weighting)
    a = _reg(**kw).fit(X, y)
    b = _reg(**kw).fit(X, y)
    c = _reg(random_state=1, **kw).fit(X, y)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(p, q)
    assert_array_equal(a.task_loss_curves_, b.task_loss_curves_)
    assert_array_equal(a.task_weights_, b.task_weights_)
    assert not np.allclose(a.predict(X), c.predict(X))


def test_early_stopping_is_deterministic():
    X, y = _regression(n_samples=40)
    kw = dict(task_column=0, early_stopping=True, max_iter=100)
    assert_array_equal(
        _reg(**kw).fit(X, y).validation_scores_, _reg(**kw).fit(X, y).validation_scores_
    )


# ----------------------------------------------------------------- pickling
@pytest.mark.parametrize("classifier", [False, True])
def test_pickle_round_trip_and_continue_training(classifier):
    if classifier:
        X, y = make_multitask_classification(n_tasks=3, n_samples=30, random_state=0)
        est = _clf(task_column=0, task_weighting="uncertainty")
    else:
        X, y = _regression()
        est = _reg(task_column=0, task_weighting="uncertainty")
    est.fit(X, y)
    clone = pickle.loads(pickle.dumps(est))
    method = "predict_proba" if classifier else "predict"
    assert_array_equal(getattr(clone, method)(X), getattr(est, method)(X))
    # the optimiser state travels too: one more epoch gives the same weights
    est.partial_fit(X, y)
    clone.partial_fit(X, y)
    for p, q in zip(est.coefs_ + est.intercepts_, clone.coefs_ + clone.intercepts_):
        assert_array_equal(p, q)
    assert_array_equal(est.task_log_variances_, clone.task_log_variances_)


# ----------------------------------------------------------------- partial fit
def test_partial_fit_on_a_subset_of_tasks_moves_only_their_heads():
    X, y = _regression(n_tasks=4)
    est = _reg(task_column=0).partial_fit(X, y)
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1
    heads = [c.copy() for c in est.coefs_[est._n_trunk :]]
    rows = X[:, 0] < 2  # tasks 0 and 1 only
    est.partial_fit(X[rows], y[rows])
    assert len(est.loss_curve_) == 2
    assert_array_equal(est.coefs_[-1][2:], heads[-1][2:])  # tasks 2, 3: untouched
    assert not np.allclose(est.coefs_[-1][:2], heads[-1][:2])
    assert np.isnan(est.task_loss_curves_[1, 2:]).all()
    assert_allclose(est.task_weights_[1], [0.5, 0.5, 0, 0])
    X_new = X[:2].copy()
    X_new[:, 0] = 9
    with pytest.raises(ValueError, match="9"):
        est.partial_fit(X_new, y[:2])


def test_partial_fit_many_epochs_learns():
    X, y = _regression()
    est = _reg(task_column=0, learning_rate_init=0.01)
    for _ in range(200):
        est.partial_fit(X, y)
    assert est.score(X, y) > 0.9
    with pytest.raises(ValueError, match="early_stopping"):
        _reg(early_stopping=True).partial_fit(X, y)


def test_classifier_partial_fit_classes():
    X, y = make_multitask_classification(n_tasks=2, n_samples=20, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        _clf(task_column=0).partial_fit(X, y)
    est = _clf(task_column=0).partial_fit(X, y, classes=[[0, 1], [0, 1, 2]])
    assert [c.tolist() for c in est.task_classes_] == [[0, 1], [0, 1, 2]]
    assert est.coefs_[-1].shape == (2, 8, 3)  # binary: 1 unit (+2 unused), 3-class: 3
    assert est.predict_proba(X).shape == (40, 3)
    y_bad = y.copy()
    y_bad[0] = 2  # task 0 has no class 2
    with pytest.raises(ValueError, match="not among that task's classes"):
        est.partial_fit(X, y_bad)
    shared = _clf(task_column=0).partial_fit(X, y, classes=[0, 1])
    assert [c.tolist() for c in shared.task_classes_] == [[0, 1], [0, 1]]


# ----------------------------------------------------------------- warm start
def test_warm_start_continues_from_previous_solution():
    X, y = _regression()
    est = _reg(task_column=0, warm_start=True, max_iter=20).fit(X, y)
    first = list(est.loss_curve_)
    est.fit(X, y)
    assert len(est.loss_curve_) == 40
    assert est.loss_curve_[20] < first[0]
    cold = _reg(task_column=0, max_iter=20).fit(X, y)
    assert cold.loss_curve_ == first
    with pytest.raises(ValueError, match="architecture"):
        est.set_params(hidden_layer_sizes=(5,)).fit(X, y)


# ----------------------------------------------------------------- early stopping
def test_validation_split_is_within_every_task():
    X, y = _regression(n_tasks=5, n_samples=[2, 3, 10, 20, 50])
    est = _reg(task_column=0, early_stopping=True, validation_fraction=0.2)
    est.fit(X, y)  # sets the private state the split needs
    est._random_state = np.random.RandomState(0)
    data_task = X[:, 0].astype(int)
    from skmtl.neural_network._base import TrainingSet

    ts = TrainingSet(X[:, 1:], y, data_task, np.ones(len(y)), 5)
    fit, val = est._split_validation(ts)
    assert_array_equal(np.bincount(val.task_codes, minlength=5), [1, 1, 2, 4, 10])
    assert_array_equal(np.bincount(fit.task_codes, minlength=5), [1, 2, 8, 16, 40])


def test_validation_split_stratifies_classes_within_tasks():
    X, y = make_multitask_classification(n_tasks=3, n_samples=40, random_state=0)
    est = _clf(task_column=0, early_stopping=True, validation_fraction=0.25)
    est.fit(X, y)
    est._random_state = np.random.RandomState(0)
    from skmtl.neural_network._base import TrainingSet

    task = X[:, 0].astype(int)
    ts = TrainingSet(X[:, 1:], y, task, np.ones(len(y)), 3)
    _, val = est._split_validation(ts)
    for t in range(3):
        counts = np.bincount(y[task == t], minlength=2)
        got = np.bincount(val.y[val.task_codes == t], minlength=2)
        assert_array_equal(got, np.minimum(np.ceil(0.25 * counts), counts - 1))


# ----------------------------------------------------------------- verbose
def test_verbose_prints_total_and_per_task_loss_to_stderr(capsys):
    X, y = _regression(n_tasks=3)
    Xs = X.astype(object)
    Xs[:, 0] = np.array(["north", "south", "west"])[X[:, 0].astype(int)]
    _reg(task_column=0, max_iter=2, verbose=True).fit(Xs, y)
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("Iteration 1, loss = ")
    assert "north: " in lines[0] and "west: " in lines[0]
    assert lines[1].startswith("Iteration 2, loss = ")


# ----------------------------------------------------------------- dtypes, sparse
@pytest.mark.parametrize("classifier", [False, True])
def test_float32_in_float32_out(classifier):
    if classifier:
        X, y = make_multitask_classification(n_tasks=3, n_samples=30, random_state=0)
        est = _clf(task_column=0, shuffle=False)
    else:
        X, y = _regression()
        est = _reg(task_column=0, shuffle=False)
    e32 = est.fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in e32.coefs_ + e32.intercepts_)
    out = (
        e32.predict_proba(X.astype(np.float32))
        if classifier
        else e32.predict(X.astype(np.float32))
    )
    assert out.dtype == np.float32
    e64 = (_clf if classifier else _reg)(task_column=0, shuffle=False).fit(X, y)
    ref = e64.predict_proba(X) if classifier else e64.predict(X)
    # float32 round-off (6e-8) amplified by 30 epochs of Adam
    assert_allclose(out, ref, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("hidden", [(6,), ()])
def test_sparse_input_equals_dense(layout, hidden):
    X, y = _regression(n_tasks=3, layout=layout)
    X = X.copy()
    X[np.abs(X) < 0.5] = 0.0
    kw = dict(task_column=0 if layout == "stacked" else None, hidden_layer_sizes=hidden)
    dense = _reg(**kw).fit(X, y)
    sparse = _reg(**kw).fit(sp.csr_matrix(X), y)
    assert_allclose(sparse.predict(sp.csc_matrix(X)), dense.predict(X), rtol=1e-9)


# ----------------------------------------------------------------- missing targets
@pytest.mark.parametrize("weighting", ["equal", "size", "uncertainty"])
def test_nan_targets_are_masked_out_of_the_loss(weighting):
    """Shared layout with NaN targets == stacked layout without those entries."""
    X, Y = _regression(n_tasks=3, n_samples=25, layout="shared")
    Y = Y.copy()
    missing = np.random.RandomState(0).rand(*Y.shape) < 0.3
    Y[missing] = np.nan
    kw = dict(shuffle=False, max_iter=40, task_weighting=weighting)
    shared = _reg(**kw).fit(X, Y)
    rows, tasks = np.nonzero(~missing)
    order = np.lexsort((rows, tasks))
    Xs = np.column_stack([tasks[order], X[rows[order]]])
    ys = Y[rows[order], tasks[order]]
    stacked = _reg(task_column=0, **kw).fit(Xs, ys)
    assert_allclose(stacked.loss_curve_, shared.loss_curve_, rtol=1e-10)
    full = np.column_stack([np.repeat([0, 1, 2], len(X)), np.tile(X, (3, 1))])
    assert_allclose(
        stacked.predict(full).reshape(3, -1).T, shared.predict(X), rtol=1e-8
    )
    assert np.isfinite(shared.score(X, Y))


# ----------------------------------------------------------------- classes
def test_classifier_per_task_class_sets_string_labels():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((90, 3))
    task = np.repeat(["a", "b", "c"], 30)
    y = np.empty(90, dtype=object)
    y[:30] = np.where(X[:30, 0] > 0, "yes", "no")
    colour = (X[30:60, 1] > 0).astype(int) + (X[30:60, 2] > 0)
    y[30:60] = np.array(["red", "green", "blue"])[colour]
    y[60:] = "only"
    Xs = np.column_stack([task.astype(object), X])
    est = _clf(task_column=0, max_iter=300, learning_rate_init=0.02).fit(Xs, y)
    assert [c.tolist() for c in est.task_classes_] == [
        ["no", "yes"],
        ["blue", "green", "red"],
        ["only"],
    ]
    assert list(est.classes_) == sorted({"no", "yes", "blue", "green", "red", "only"})
    proba = est.predict_proba(Xs)
    assert_allclose(proba.sum(axis=1), 1.0)
    for t, rows in zip(est.task_classes_, (slice(0, 30), slice(30, 60), slice(60, 90))):
        other = ~np.isin(est.classes_, t)
        assert np.all(proba[rows][:, other] == 0)
    pred = est.predict(Xs)
    assert np.all(pred[60:] == "only")
    assert np.mean(pred[:30] == y[:30]) > 0.9
    assert_allclose(np.exp(est.predict_log_proba(Xs[:5])), proba[:5])


def test_classifier_shared_layout_different_classes_per_column():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 3))
    Y = np.column_stack([(X[:, 0] > 0).astype(int), np.digitize(X[:, 1], [-0.5, 0.5])])
    est = _clf(max_iter=200, learning_rate_init=0.02).fit(X, Y)
    assert [len(c) for c in est.classes_] == [2, 3]
    proba = est.predict_proba(X)
    assert [p.shape for p in proba] == [(60, 2), (60, 3)]
    assert est.predict(X).shape == (60, 2)
    assert est.score(X, Y) > 0.85


def test_explicit_task_weights_validation():
    X, y = _regression(n_tasks=3)
    with pytest.raises(ValueError, match="one weight per task"):
        _reg(task_column=0, task_weighting=[1, 2]).fit(X, y)
    with pytest.raises(ValueError, match="non-negative"):
        _reg(task_column=0, task_weighting=[1, -2, 1]).fit(X, y)
    est = _reg(task_column=0, task_weighting=[1, 2, 5]).fit(X, y)
    assert_allclose(est.task_weights_, np.tile([0.125, 0.25, 0.625], (30, 1)))


def test_dwa_weights_follow_the_task_loss_history():
    X, y = _regression(n_tasks=3, n_samples=[20, 40, 80])
    est = _reg(task_column=0, task_weighting="dwa", dwa_temperature=0.5).fit(X, y)
    W, L = est.task_weights_, est.task_loss_curves_
    assert_allclose(W[:2], 1 / 3)
    sizes = np.ones(3)
    for e in range(2, len(W)):
        assert_allclose(W[e], dwa_weights(list(L[:e]), sizes, 0.5), rtol=1e-12)
    assert np.ptp(W[2:], axis=1).max() > 1e-3  # the weights do move


def test_uncertainty_weighting_down_weights_the_noisy_task():
    """Kendall et al.: at the optimum sigma_t^2 = exp(s_t) equals the task's mean
    squared error, so a noisy task ends with a large s_t and a small weight."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 4))
    task = np.repeat([0, 1, 2], 100)
    noise = np.array([0.05, 0.3, 1.5])[task]
    y = X[:, 0] - 0.5 * X[:, 1] + noise * rng.standard_normal(300)
    est = _reg(
        task_column=0,
        task_weighting="uncertainty",
        max_iter=600,
        tol=0,
        learning_rate_init=0.02,
        hidden_layer_sizes=(4,),
    ).fit(np.column_stack([task, X]), y)
    s = est.task_log_variances_
    assert s[0] < s[1] < s[2]
    # Adam moves s_t by up to ~learning_rate_init (0.02) per step, so s_t hovers
    # around its moving optimum log(2 L_t) within a few steps' worth: exp(s_t) is
    # within 15% of 2 L_t (measured: 11%, 1%, 2%)
    assert_allclose(np.exp(s), 2 * est.task_loss_curves_[-1], rtol=0.15)
    assert np.all(np.diff(est.task_weights_[-1]) < 0)


def test_no_trunk_is_a_per_task_linear_model():
    """``hidden_layer_sizes=()`` with free linear heads (``alpha_heads=0``,
    ``alpha_intercepts=0``) and ``alpha=0`` is per-task least squares: full-batch
    SGD with momentum converges linearly on this convex quadratic; compare with the
    closed form (on the raw target: ``normalize_y=False``)."""
    X, y = _regression(n_tasks=3, n_samples=40)
    est = MultiTaskMLPRegressor(
        (),
        task_column=0,
        alpha=0.0,
        alpha_heads=0.0,
        alpha_intercepts=0.0,
        normalize_y=False,
        solver="sgd",
        learning_rate_init=0.1,
        max_iter=2000,
        tol=0.0,
        n_iter_no_change=10**6,
        shuffle=False,
        random_state=0,
    ).fit(X, y)
    for t in range(3):
        rows = X[:, 0] == t
        A = np.column_stack([X[rows, 1:], np.ones(rows.sum())])
        coef = np.linalg.lstsq(A, y[rows], rcond=None)[0]
        assert_allclose(est.coefs_[0][t, :, 0], coef[:-1], rtol=1e-8, atol=1e-10)
        assert_allclose(est.intercepts_[0][t, 0], coef[-1], rtol=1e-8, atol=1e-10)


def test_diverging_sgd_names_the_step_as_a_cause():
    """alpha=1e6 with 'sgd' diverges (as scikit-learn's MLPRegressor does on the
    same data); the error says the step may be what is too large, not only the
    data."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.arange(12) % 2, rng.standard_normal((12, 3))])
    y = rng.standard_normal(12)
    est = MultiTaskMLPRegressor(alpha=1e6, solver="sgd", task_column=0, random_state=0)
    with pytest.raises(ValueError, match="learning_rate_init times alpha"):
        est.fit(X, y)
