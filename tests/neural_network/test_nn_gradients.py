"""Finite-difference checks of the network's gradients, and of its objective's value.

Central differences with step ``h = 1e-6`` on float64 parameters have truncation
error ``O(h^2) ~ 1e-12`` and round-off ``~ eps |J| / h ~ 1e-10``; gradients here are
of order 1e-3..1, so ``atol=1e-7`` (plus ``rtol=1e-5``) can only pass if the analytic
gradient is right. Every activation, both losses (squared error; per-task softmax with
tasks of 1, 2 and 3 classes), every task-weighting scheme, both evaluation paths
(dense = shared layout, gathered = stacked layout), head hidden layers, mini-batches
with a task absent, and the L2 penalty are covered.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import log_loss

from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.neural_network import MultiTaskMLPClassifier, MultiTaskMLPRegressor
from skmtl.neural_network._activations import ACTIVATIONS
from skmtl.neural_network._base import TrainingSet
from skmtl.neural_network._losses import SquaredLoss, TaskLogLoss
from skmtl.neural_network._network import MultiTaskNetwork
from skmtl.neural_network._weighting import (
    dwa_weights,
    static_weights,
    uncertainty_terms,
)

N_ROWS, N_FEATURES, N_TASKS = 14, 4, 3


@pytest.fixture(params=["select", "gather", "compiled"], autouse=True)
def stacked_path(request, monkeypatch):
    """Every evaluation of the stacked layout's head layers: all heads in one
    product then pick each row's (few tasks, numpy), gather each row's weights
    (numpy), or the compiled kernels (``_nn_fast``; the numpy gather where they
    were not built)."""
    import skmtl.neural_network._network as network
    from skmtl.neural_network import _kernels

    if request.param != "compiled":
        monkeypatch.setattr(_kernels, "ENABLED", False)
    if request.param == "gather":
        monkeypatch.setattr(network, "_SELECT_MAX_UNITS", 0)
    return request.param


N_CLASSES = np.array([1, 2, 3])  # a one-class, a binary and a 3-class task


def _training_set(classification, layout, rng):
    X = rng.standard_normal((N_ROWS, N_FEATURES))
    sw = rng.uniform(0.5, 2.0, N_ROWS)
    if layout == "stacked":
        task = rng.permutation(np.arange(N_ROWS) % N_TASKS)
        y = (
            rng.randint(0, 3, N_ROWS) % N_CLASSES[task]
            if classification
            else rng.standard_normal(N_ROWS)
        )
        return TrainingSet(X, y, task, sw, N_TASKS)
    shape = (N_ROWS, N_TASKS)
    y = rng.randint(0, 3, shape) % N_CLASSES if classification else rng.randn(*shape)
    mask = rng.rand(*shape) > 0.25
    mask[0] = True
    return TrainingSet(X, y, None, sw[:, None] * mask, N_TASKS)


def _network(activation, trunk, heads, loss, rng):
    units = [N_FEATURES] + trunk
    coefs = [rng.standard_normal((a, b)) * 0.8 for a, b in zip(units, units[1:])]
    intercepts = [rng.standard_normal(b) * 0.3 for b in units[1:]]
    head_units = units[-1:] + heads + [loss.width]
    for a, b in zip(head_units, head_units[1:]):
        coefs.append(rng.standard_normal((N_TASKS, a, b)) * 0.8)
        intercepts.append(rng.standard_normal((N_TASKS, b)) * 0.3)
    return MultiTaskNetwork(coefs, intercepts, len(trunk), activation, loss)


def _weights(scheme, ts, rng):
    """``(lam, log_vars, present)`` for a weighting scheme."""
    present = ts.sizes > 0
    if scheme == "uncertainty":
        return None, rng.standard_normal(N_TASKS) * 0.5, present
    if scheme == "dwa":
        history = [rng.uniform(0.5, 2, N_TASKS) for _ in range(3)]
        return dwa_weights(history, ts.sizes, 2.0), None, present
    if scheme == "array":
        return static_weights(np.array([0.2, 1.0, 3.0]), ts.sizes), None, present
    return static_weights(scheme, ts.sizes), None, present


def _check_gradient(net, batch, alpha, lam, log_vars, present, h=1e-6):
    value, grads, rows, _ = net.objective(batch, alpha, lam, log_vars, present)
    params = net.coefs + net.intercepts + ([log_vars] if log_vars is not None else [])

    def J():
        return net.objective(batch, alpha, lam, log_vars, present)[0]

    assert np.isfinite(value)
    for param, grad, r in zip(params, grads, rows):
        full = np.zeros_like(param)
        if r is None:
            full[...] = grad
        else:
            full[r] = grad
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            old = param[i]
            param[i] = old + h
            up = J()
            param[i] = old - h
            down = J()
            param[i] = old
            numeric[i] = (up - down) / (2 * h)
        assert_allclose(full, numeric, rtol=1e-5, atol=1e-7)
    return value


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("classification", [False, True])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_gradient_every_activation_and_loss(activation, classification, layout):
    rng = np.random.RandomState(0)
    ts = _training_set(classification, layout, rng)
    loss = TaskLogLoss(N_CLASSES) if classification else SquaredLoss(N_TASKS)
    net = _network(activation, [5], [3], loss, rng)
    lam = static_weights("equal", ts.sizes)
    _check_gradient(net, ts.batch(slice(None)), 0.3, lam, None, None)


@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("classification", [False, True])
@pytest.mark.parametrize("scheme", ["equal", "size", "array", "dwa", "uncertainty"])
def test_gradient_every_weighting_scheme(scheme, classification, layout):
    rng = np.random.RandomState(1)
    ts = _training_set(classification, layout, rng)
    loss = TaskLogLoss(N_CLASSES) if classification else SquaredLoss(N_TASKS)
    net = _network("tanh", [4], [], loss, rng)
    lam, log_vars, present = _weights(scheme, ts, rng)
    _check_gradient(net, ts.batch(slice(None)), 0.1, lam, log_vars, present)


@pytest.mark.parametrize("scheme", ["equal", "uncertainty"])
@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_gradient_on_minibatch_with_absent_task(layout, scheme):
    """A mini-batch without task 2: the batch objective's gradient is still exact,
    and it is exactly zero for the absent task's head (only present rows move)."""
    rng = np.random.RandomState(2)
    ts = _training_set(False, layout, rng)
    if layout == "stacked":
        idx = np.flatnonzero(ts.task_codes != 2)[:6]
    else:
        ts = TrainingSet(ts.X, ts.y, None, ts.entry_weight * [1, 1, 0], N_TASKS)
        ts.sizes[2] = 1.0  # task 2 "has data elsewhere": absent from this batch only
        idx = np.arange(5)
    net = _network("relu", [4, 3], [2], SquaredLoss(N_TASKS), rng)
    lam, log_vars, present = _weights(scheme, ts, rng)
    batch = ts.batch(idx)
    _check_gradient(net, batch, 0.5, lam, log_vars, present)
    _, grads, rows, _ = net.objective(batch, 0.5, lam, log_vars, present)
    if layout == "stacked":
        assert 2 not in rows[-1]  # the optimiser step does not touch task 2's head


def test_gradient_without_trunk_sparse_free_path():
    """``hidden_layer_sizes=()``: heads read the features directly."""
    rng = np.random.RandomState(3)
    for layout in ("stacked", "shared"):
        ts = _training_set(True, layout, rng)
        net = _network("logistic", [], [3], TaskLogLoss(N_CLASSES), rng)
        lam = static_weights("size", ts.sizes)
        _check_gradient(net, ts.batch(slice(None)), 0.2, lam, None, None)


# --------------------------------------------------------------- value of the objective
def _penalty(model, N):
    """``alpha / (2N) (||W||^2 + ||W0||^2) + alpha_heads / (2N) ||V||^2
    + alpha_intercepts / (2N) ||c||^2`` (finite strengths)."""
    weights = sum(np.sum(c**2) for c in model.coefs_) + np.sum(model.coef_shared_**2)
    heads = np.sum(model.coefs_[-1] ** 2)
    offsets = np.sum(model.intercepts_[-1] ** 2)
    return (model.alpha * weights + model.alpha_heads * heads) / (
        2 * N
    ) + model.alpha_intercepts * offsets / (2 * N)


def _objective(net, ts, model, log_vars=None):
    lam = static_weights(model.task_weighting, ts.sizes) if log_vars is None else None
    present = ts.sizes > 0
    return net.objective(ts.batch(slice(None)), model.alpha, lam, log_vars, present)


@pytest.mark.parametrize("weighting", ["equal", "size", "uncertainty"])
def test_full_batch_objective_matches_independent_formula_regression(weighting):
    X, y = make_multitask_regression(
        n_tasks=3, n_samples=[10, 20, 40], n_features=4, random_state=0
    )
    sw = np.random.RandomState(0).uniform(0.5, 2, len(y))
    model = MultiTaskMLPRegressor(
        (6,),
        task_column=0,
        alpha=0.3,
        alpha_heads=0.7,
        alpha_intercepts=2.0,
        max_iter=3,
        task_weighting=weighting,
        random_state=0,
    )
    with pytest.warns(Warning):
        model.fit(X, y, sample_weight=sw)
    task = X[:, 0].astype(int)
    # the network fits the target standardised by its pooled weighted moments
    mean = np.average(y, weights=sw)
    scale = np.sqrt(np.average((y - mean) ** 2, weights=sw))
    assert_allclose([model.target_mean_, model.target_scale_], [mean, scale])
    y = (y - mean) / scale
    sq = 0.5 * (y - (model.predict(X) - mean) / scale) ** 2
    L = np.array([np.average(sq[task == t], weights=sw[task == t]) for t in range(3)])
    sizes = np.array([sw[task == t].sum() for t in range(3)])
    if weighting == "uncertainty":
        s = model.task_log_variances_
        expected = np.mean(np.exp(-s) * L + s / 2)
    else:
        lam = np.full(3, 1 / 3) if weighting == "equal" else sizes / sizes.sum()
        expected = lam @ L
    expected += _penalty(model, sw.sum())
    ts = TrainingSet(X[:, 1:], y, task, sw, 3)
    value = _objective(model._network(), ts, model, model.task_log_variances_)[0]
    assert_allclose(value, expected, rtol=1e-12)


def test_full_batch_objective_matches_sklearn_log_loss_per_task():
    """Tasks with different class sets: each task's mean loss is scikit-learn's
    ``log_loss`` of that task's ``predict_proba`` (restricted to its classes)."""
    X, y = make_multitask_classification(
        n_tasks=3, n_samples=30, n_features=4, random_state=0
    )
    task = X[:, 0].astype(int)
    y = y + 2 * (task == 2) * (np.arange(len(y)) % 3 == 0)  # task 2: classes 0..3
    y[task == 0] = 5  # task 0: a single class
    model = MultiTaskMLPClassifier(
        (6,),
        task_column=0,
        alpha=0.2,
        alpha_heads=0.5,
        alpha_intercepts=3.0,
        max_iter=4,
        random_state=0,
    )
    with pytest.warns(Warning):
        model.fit(X, y)
    assert [c.tolist() for c in model.task_classes_] == [[5], [0, 1], [0, 1, 2, 3]]
    proba = model.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    L = []
    for t in range(3):
        cols = np.searchsorted(model.classes_, model.task_classes_[t])
        rows = task == t
        assert np.all(np.delete(proba[rows], cols, axis=1) == 0)
        if len(cols) == 1:
            L.append(0.0)
        else:
            L.append(
                log_loss(y[rows], proba[rows][:, cols], labels=model.task_classes_[t])
            )
    expected = np.mean(L) + _penalty(model, len(y))
    local = np.where(task == 0, 0, y)  # tasks 1 and 2: classes 0..k-1 are local codes
    ts = TrainingSet(X[:, 1:], local, task, np.ones(len(y)), 3)
    assert_allclose(_objective(model._network(), ts, model)[0], expected, rtol=1e-10)


def test_weighting_formulas():
    sizes = np.array([10.0, 30.0, 0.0, 60.0])
    assert_allclose(static_weights("equal", sizes), [1 / 3, 1 / 3, 0, 1 / 3])
    assert_allclose(static_weights("size", sizes), [0.1, 0.3, 0, 0.6])
    # an array is DESIGN.md's omega_t (a per-sample weight of the task's rows):
    # lambda_t = w_t n_t / sum_s w_s n_s = (10, 30, 0, 120) / 160
    assert_allclose(
        static_weights(np.array([1, 1, 5, 2.0]), sizes), [1 / 16, 3 / 16, 0, 0.75]
    )
    assert_allclose(
        static_weights(1 / np.maximum(sizes, 1), sizes), [1 / 3, 1 / 3, 0, 1 / 3]
    )
    assert_allclose(static_weights(np.ones(4), sizes), static_weights("size", sizes))
    # DWA, Liu et al. eq. 2 (normalised to one): exp(r_t / T) / sum_s exp(r_s / T)
    hist = [np.array([4.0, 2.0, np.nan, 1.0]), np.array([2.0, 2.0, np.nan, 0.9])]
    r = np.array([0.5, 1.0, 0.9])
    expected = np.exp(r / 2) / np.exp(r / 2).sum()
    assert_allclose(dwa_weights(hist, sizes, 2.0)[[0, 1, 3]], expected)
    assert dwa_weights(hist, sizes, 2.0)[2] == 0
    assert_allclose(dwa_weights(hist[:1], sizes, 2.0), [1 / 3, 1 / 3, 0, 1 / 3])
    # uncertainty: at its optimum over s, sigma_t^2 = 2 L_t (= the task's MSE)
    L = np.array([0.1, 2.0, 0.0, 0.5])
    s_opt = np.log(2 * L[[0, 1, 3]])
    s = np.zeros(4)
    s[[0, 1, 3]] = s_opt
    present = sizes > 0
    _, _, grad = uncertainty_terms(s, L, present.astype(float), present)
    assert_allclose(grad, 0, atol=1e-12)
    with pytest.raises(ValueError, match="zero weight"):
        static_weights(np.array([0, 0, 1.0, 0]), sizes)
