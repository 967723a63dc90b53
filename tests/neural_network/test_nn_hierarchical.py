"""Shared output layer of the multi-task MLPs: hierarchical intercepts and heads.

Task ``t``'s output layer is ``a -> a (W0 + V_t) + (b0 + c_t)`` with
``alpha_heads / (2N) sum_t ||V_t||^2 + alpha_intercepts / (2N) sum_t ||c_t||^2`` in the
objective. Oracles: central finite differences (tolerances as in
``test_nn_gradients.py``), the closed-form solution of the convex no-trunk case (a
dense normal-equation solve), exact equalities at the limits ``0`` and ``np.inf``,
and hand-computed losses.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skmtl.neural_network import MultiTaskMLPClassifier, MultiTaskMLPRegressor
from skmtl.neural_network._base import TrainingSet
from skmtl.neural_network._losses import SquaredLoss, TaskLogLoss
from skmtl.neural_network._network import MultiTaskNetwork, SharedHead
from skmtl.neural_network._weighting import static_weights

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N_ROWS, N_FEATURES, N_TASKS = 14, 4, 3
N_CLASSES = np.array([2, 3, 3])


@pytest.fixture(params=["select", "gather"])
def stacked_path(request, monkeypatch):
    import skmtl.neural_network._network as network

    if request.param == "gather":
        monkeypatch.setattr(network, "_SELECT_MAX_UNITS", 0)
    return request.param


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


def _network(trunk, heads, loss, rng, alpha_heads, alpha_intercepts):
    units = [N_FEATURES] + trunk
    coefs = [rng.standard_normal((a, b)) * 0.8 for a, b in zip(units, units[1:])]
    intercepts = [rng.standard_normal(b) * 0.3 for b in units[1:]]
    head_units = units[-1:] + heads + [loss.width]
    for a, b in zip(head_units, head_units[1:]):
        coefs.append(rng.standard_normal((N_TASKS, a, b)) * 0.8)
        intercepts.append(rng.standard_normal((N_TASKS, b)) * 0.3)
    shared = SharedHead(
        rng.standard_normal((head_units[-2], loss.width)) * 0.8,
        rng.standard_normal(loss.width) * 0.3,
        alpha_heads,
        alpha_intercepts,
    )
    return MultiTaskNetwork(coefs, intercepts, len(trunk), "tanh", loss, shared)


def _check_gradient(net, batch, alpha, lam, h=1e-6):
    value, grads, rows, _ = net.objective(batch, alpha, lam)
    params = net.coefs + net.intercepts + net.shared.params
    assert len(grads) == len(params)

    def J():
        return net.objective(batch, alpha, lam)[0]

    numerics = []
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
        numerics.append(numeric)
        assert_allclose(full, numeric, rtol=1e-5, atol=1e-7)
    return value, grads, numerics


@pytest.mark.parametrize("heads", [[], [3]], ids=["linear-heads", "deep-heads"])
@pytest.mark.parametrize("layout", ["stacked", "shared"])
@pytest.mark.parametrize("classification", [False, True])
def test_gradient_of_shrinkage_terms(classification, layout, heads, stacked_path):
    rng = np.random.RandomState(0)
    ts = _training_set(classification, layout, rng)
    loss = TaskLogLoss(N_CLASSES) if classification else SquaredLoss(N_TASKS)
    net = _network([5], heads, loss, rng, alpha_heads=0.8, alpha_intercepts=2.5)
    _check_gradient(net, ts.batch(slice(None)), 0.3, static_weights("size", ts.sizes))


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_gradient_on_minibatch_without_trunk(layout, stacked_path):
    """No trunk (the output layer reads the features), a mini-batch: the batch
    objective's gradient is exact and covers only the tasks present."""
    rng = np.random.RandomState(1)
    ts = _training_set(False, layout, rng)
    net = _network([], [], SquaredLoss(N_TASKS), rng, 1.5, 0.4)
    idx = (
        np.flatnonzero(ts.task_codes != 2)[:6] if layout == "stacked" else np.arange(5)
    )
    _check_gradient(net, ts.batch(idx), 0.2, static_weights("equal", ts.sizes))


def test_shrinkage_value_and_limits(stacked_path):
    """The objective adds exactly ``alpha_heads/(2N) ||V||^2 +
    alpha_intercepts/(2N) ||c||^2 + alpha/(2N) ||W0||^2``; at 0 the shared part gets
    no gradient, at inf the offsets get none."""
    rng = np.random.RandomState(2)
    ts = _training_set(False, "stacked", rng)
    lam = static_weights("equal", ts.sizes)
    batch = ts.batch(slice(None))
    net = _network([4], [], SquaredLoss(N_TASKS), rng, 0.0, 0.0)
    shared = net.shared
    net.shared = None
    W0, b0 = shared.coef.copy(), shared.intercept.copy()
    shared.coef[...] = 0
    shared.intercept[...] = 0
    free = net.objective(batch, 0.3, lam)[0]
    net.shared = shared
    for a_h, a_c in [(0.0, 0.0), (0.7, 0.0), (0.0, 1.9), (0.7, 1.9)]:
        shared.alpha_heads, shared.alpha_intercepts = a_h, a_c
        value, grads, _, _ = net.objective(batch, 0.3, lam)
        extra = (
            a_h * np.sum(net.coefs[-1] ** 2) + a_c * np.sum(net.intercepts[-1] ** 2)
        ) / (2 * ts.total)
        assert_allclose(value, free + extra, rtol=1e-12)
        # a shared part with strength 0 is unused: no gradient, it stays at 0
        assert (a_h == 0) == np.all(grads[-2] == 0)
        assert (a_c == 0) == np.all(grads[-1] == 0)
    shared.coef[...], shared.intercept[...] = W0, b0
    shared.alpha_heads, shared.alpha_intercepts = 0.0, 0.0
    _, grads, _, _ = net.objective(batch, 0.3, lam)
    assert_array_equal(grads[-2], 0)  # unused shared part: it stays where it is
    assert_array_equal(grads[-1], 0)
    shared.alpha_heads = 0.5
    value = net.objective(batch, 0.3, lam)[0]
    net.shared = None
    # the shared weights enter the output and get the alpha penalty; the value
    # differs from the free network's
    assert value != net.objective(batch, 0.3, lam)[0]
    net.shared = shared
    shared.alpha_heads, shared.alpha_intercepts = np.inf, np.inf
    _, grads, _, _ = net.objective(batch, 0.3, lam)
    n = len(net.coefs)
    assert_array_equal(grads[n - 1], 0)  # V_t frozen
    assert_array_equal(grads[2 * n - 1], 0)  # c_t frozen
    assert np.all(grads[-1] != 0) and np.all(grads[-2] != 0)


def _stacked(n_tasks, sizes, rng, n_features=3):
    task = np.repeat(np.arange(n_tasks), sizes)
    X = rng.standard_normal((len(task), n_features))
    w = rng.standard_normal(n_features) + 0.5 * rng.standard_normal(
        (n_tasks, n_features)
    )
    b = 2.0 + rng.standard_normal(n_tasks)
    y = (
        np.einsum("ij,ij->i", X, w[task])
        + b[task]
        + 0.3 * rng.standard_normal(len(task))
    )
    return np.column_stack([task, X]), y


def _closed_form(X, y, alpha_heads, alpha_intercepts):
    """Dense normal equations of ``1/2 sum_i r_i^2 + alpha_heads/2 sum ||v_t||^2 +
    alpha_intercepts/2 sum c_t^2`` in ``theta = (w0, b0, v_1..v_T, c_1..c_T)``."""
    task, F = X[:, 0].astype(int), X[:, 1:]
    n, p = F.shape
    T = task.max() + 1
    Z = np.zeros((n, p + 1 + T * p + T))
    Z[:, :p] = F
    Z[:, p] = 1
    for t in range(T):  # test oracle: a loop over tasks building a dense design
        rows = task == t
        Z[rows, p + 1 + t * p : p + 1 + (t + 1) * p] = F[rows]
        Z[rows, p + 1 + T * p + t] = 1
    P = np.zeros(Z.shape[1])
    P[p + 1 : p + 1 + T * p] = alpha_heads
    P[p + 1 + T * p :] = alpha_intercepts
    theta = np.linalg.solve(Z.T @ Z + np.diag(P), Z.T @ y)
    return Z @ theta, theta


def test_no_trunk_equals_closed_form_hierarchical_ridge():
    """``hidden_layer_sizes=()``, linear heads, ``alpha=0``, size weighting: the
    network is Evgeniou & Pontil's shared + task-specific ridge with a hierarchical
    intercept, a convex quadratic; full-batch SGD reaches its closed form."""
    rng = np.random.RandomState(0)
    X, y = _stacked(4, [5, 9, 14, 30], rng)
    est = MultiTaskMLPRegressor(
        (),
        task_column=0,
        normalize_y=False,
        task_weighting="size",
        alpha=0.0,
        alpha_heads=3.0,
        alpha_intercepts=5.0,
        solver="sgd",
        learning_rate_init=0.2,
        max_iter=4000,
        tol=0.0,
        n_iter_no_change=10**6,
        shuffle=False,
        random_state=0,
    ).fit(X, y)
    pred, theta = _closed_form(X, y, 3.0, 5.0)
    assert_allclose(est.predict(X), pred, rtol=1e-7, atol=1e-8)
    p, T = 3, 4
    assert_allclose(
        est.coefs_[0][:, :, 0], theta[p + 1 : p + 1 + T * p].reshape(T, p), atol=1e-7
    )
    assert_allclose(est.intercepts_[0][:, 0], theta[p + 1 + T * p :], atol=1e-7)


def test_infinite_alpha_intercepts_gives_one_shared_bias_exactly():
    """``alpha_intercepts=np.inf``: every task's output bias is ``intercept_shared_``
    (the offsets stay exactly 0); in the no-trunk convex case the fit is the closed
    form with one intercept (offset strength -> inf, i.e. a huge ridge)."""
    rng = np.random.RandomState(1)
    X, y = _stacked(3, [6, 10, 20], rng)
    kw = dict(
        task_column=0,
        normalize_y=False,
        task_weighting="size",
        alpha=0.0,
        alpha_heads=2.0,
        alpha_intercepts=np.inf,
        solver="sgd",
        learning_rate_init=0.2,
        max_iter=4000,
        tol=0.0,
        n_iter_no_change=10**6,
        shuffle=False,
        random_state=0,
    )
    est = MultiTaskMLPRegressor((), **kw).fit(X, y)
    assert_array_equal(est.intercepts_[-1], 0)
    pred, _ = _closed_form(X, y, 2.0, 1e12)
    assert_allclose(est.predict(X), pred, rtol=1e-6, atol=1e-6)
    # with a trunk, and for the classifier: exactly zero offsets as well
    deep = MultiTaskMLPRegressor((5,), **{**kw, "solver": "adam", "max_iter": 20})
    deep.fit(X, y)
    assert_array_equal(deep.intercepts_[-1], 0)
    yc = (y > np.median(y)).astype(int)
    clf = MultiTaskMLPClassifier(
        (5,), task_column=0, alpha_intercepts=np.inf, max_iter=20, random_state=0
    ).fit(X, yc)
    assert_array_equal(clf.intercepts_[-1], 0)
    assert np.all(clf.intercept_shared_ != 0)


def test_infinite_alpha_heads_is_one_shared_head():
    rng = np.random.RandomState(2)
    X, y = _stacked(3, [6, 10, 20], rng)
    est = MultiTaskMLPRegressor(
        (6,),
        task_column=0,
        alpha_heads=np.inf,
        alpha_intercepts=np.inf,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    assert_array_equal(est.coefs_[-1], 0)
    assert_array_equal(est.intercepts_[-1], 0)
    # every task predicts the same function of x
    Xs = X.copy()
    Xs[:, 0] = 0
    p0 = est.predict(Xs)
    for t in (1, 2):
        Xs[:, 0] = t
        assert_allclose(est.predict(Xs), p0, rtol=1e-12)
    # a warm start from free heads folds the offsets into the shared part
    est.set_params(alpha_heads=0.0, alpha_intercepts=0.0, warm_start=True).fit(X, y)
    assert np.any(est.coefs_[-1] != 0)
    est.set_params(alpha_heads=np.inf, alpha_intercepts=np.inf, max_iter=1).fit(X, y)
    assert_array_equal(est.coefs_[-1], 0)
    assert_array_equal(est.intercepts_[-1], 0)


def test_free_heads_are_the_previous_network():
    """``alpha_heads = alpha_intercepts = 0``: the shared part is not used and the
    run is the one of plain per-task heads (same trajectory as one task per fit is
    covered by the scikit-learn parity tests); its attributes stay 0."""
    rng = np.random.RandomState(3)
    X, y = _stacked(3, [6, 10, 20], rng)
    est = MultiTaskMLPRegressor(
        (6,),
        task_column=0,
        alpha_heads=0,
        alpha_intercepts=0,
        max_iter=20,
        random_state=0,
    ).fit(X, y)
    assert_array_equal(est.coef_shared_, 0)
    assert_array_equal(est.intercept_shared_, 0)
    assert est._network().shared is None


def test_shrinkage_pulls_a_tiny_task_towards_the_others():
    """A 2-row task's output bias offset is pulled towards 0 (the shared bias) more
    as ``alpha_intercepts`` grows."""
    rng = np.random.RandomState(4)
    X, y = _stacked(5, [2, 30, 30, 30, 30], rng)
    y[X[:, 0] == 0] += 8.0  # the tiny task looks far off
    offsets = []
    for a in (0.0, 10.0, 1000.0):
        est = MultiTaskMLPRegressor(
            (),
            task_column=0,
            alpha_heads=1.0,
            alpha_intercepts=a,
            task_weighting="size",
            solver="sgd",
            learning_rate_init=0.1,
            max_iter=1500,
            tol=0,
            n_iter_no_change=10**6,
            shuffle=False,
            random_state=0,
        ).fit(X, y)
        full = est.intercepts_[-1][:, 0] + est.intercept_shared_[0]
        offsets.append(abs(full[0] - np.median(full[1:])))
    assert offsets[0] > offsets[1] > offsets[2]
    assert offsets[2] < 0.05 * offsets[0]


# --------------------------------------------------------------- target standardisation
def test_normalize_y_shift_and_scale_equivariance():
    """A target shifted by 1e4 and scaled by 1e3 gives the same predictions mapped
    back by the same affine map (the network sees the same standardised target)."""
    rng = np.random.RandomState(5)
    X, y = _stacked(4, [10, 15, 20, 25], rng)
    kw = dict(task_column=0, max_iter=50, random_state=0)
    a = MultiTaskMLPRegressor((8,), **kw).fit(X, y)
    b = MultiTaskMLPRegressor((8,), **kw).fit(X, 1e4 + 1e3 * y)
    assert_allclose(b.predict(X), 1e4 + 1e3 * a.predict(X), rtol=1e-9)
    assert_allclose(b.target_mean_, 1e4 + 1e3 * a.target_mean_, rtol=1e-12)
    assert_allclose(b.target_scale_, 1e3 * a.target_scale_, rtol=1e-12)
    # the scaler is fitted from the observed targets only (shared layout, NaN)
    Y = rng.standard_normal((20, 3)) * 5 + 40
    Y[3, 1] = np.nan
    m = MultiTaskMLPRegressor((4,), max_iter=5, random_state=0).fit(X[:20, 1:], Y)
    assert_allclose(m.target_mean_, np.nanmean(Y))
    assert_allclose(m.target_scale_, np.nanstd(Y))


# --------------------------------------------------------------- unseen tasks
def test_unseen_task_error_names_the_label():
    rng = np.random.RandomState(6)
    X, y = _stacked(3, [5, 5, 5], rng)
    est = MultiTaskMLPRegressor((4,), task_column=0, max_iter=5, random_state=0)
    est.fit(X, y)
    X_new = X[:2].copy()
    X_new[:, 0] = 7
    with pytest.raises(ValueError, match="7"):
        est.predict(X_new)


def test_unseen_task_shared_is_the_size_weighted_mean_head():
    """An unseen label is predicted with the trunk and the mean head: for linear
    heads, the task-size-weighted mean of the fitted tasks' predictions."""
    rng = np.random.RandomState(7)
    X, y = _stacked(3, [4, 8, 20], rng)
    sw = rng.uniform(0.5, 2.0, len(y))
    est = MultiTaskMLPRegressor(
        (6,), task_column=0, unseen_task="shared", max_iter=30, random_state=0
    ).fit(X, y, sample_weight=sw)
    X_new = rng.standard_normal((5, 4))
    X_new[:, 0] = [99, 0, 99, 1, 2]
    pred = est.predict(X_new)
    sizes = np.array([sw[X[:, 0] == t].sum() for t in range(3)])
    per_task = []
    for t in range(3):
        Xt = X_new.copy()
        Xt[:, 0] = t
        per_task.append(est.predict(Xt))
    mean = (sizes / sizes.sum()) @ np.array(per_task)
    assert_allclose(pred[[0, 2]], mean[[0, 2]], rtol=1e-10)
    assert_allclose(pred[[1, 3, 4]], [per_task[0][1], per_task[1][3], per_task[2][4]])


def test_unseen_task_shared_classifier():
    rng = np.random.RandomState(8)
    X, y = _stacked(3, [10, 10, 20], rng)
    yc = (y > np.median(y)).astype(int)
    clf = MultiTaskMLPClassifier(
        (6,), task_column=0, unseen_task="shared", max_iter=30, random_state=0
    ).fit(X, yc)
    X_new = X[:4].copy()
    X_new[:, 0] = -5
    proba = clf.predict_proba(X_new)
    assert proba.shape == (4, 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    # the mean head's logit is the size-weighted mean of the heads' logits
    sizes = np.array([10, 10, 20]) / 40
    logits = []
    for t in range(3):
        Xt = X_new.copy()
        Xt[:, 0] = t
        p = clf.predict_proba(Xt)[:, 1]
        logits.append(np.log(p / (1 - p)))
    p = proba[:, 1]
    assert_allclose(np.log(p / (1 - p)), sizes @ np.array(logits), rtol=1e-8)
    # tasks with different classes: no mean head, a clear error
    yc[X[:, 0] == 2] = 2 + (yc[X[:, 0] == 2])
    clf.fit(X, yc)
    with pytest.raises(ValueError, match="same classes"):
        clf.predict(X_new)


# --------------------------------------------------------------- task weighting
@pytest.mark.parametrize("weighting", ["equal", "size", "array"])
def test_task_weighting_is_design_omega(weighting):
    """``J = sum_t omega_t sum_{i in t} l_i / sum_t omega_t n_t`` (+ penalties) with
    omega_t = 1/n_t ("equal"), 1 ("size") or the user array, computed by hand."""
    rng = np.random.RandomState(9)
    X, y = _stacked(3, [3, 7, 20], rng)
    w = np.array([2.0, 0.5, 1.0])
    est = MultiTaskMLPRegressor(
        (5,),
        task_column=0,
        task_weighting=w if weighting == "array" else weighting,
        alpha=0.0,
        alpha_heads=0.0,
        alpha_intercepts=0.0,
        normalize_y=False,
        max_iter=2,
        random_state=0,
        batch_size=len(y),
        shuffle=False,
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    task = X[:, 0].astype(int)
    n = np.bincount(task).astype(float)
    omega = {"equal": 1 / n, "size": np.ones(3), "array": w}[weighting]
    sq = 0.5 * (y - est.predict(X)) ** 2
    expected = np.sum(omega[task] * sq) / np.sum(omega * n)
    ts = TrainingSet(X[:, 1:], y, task, np.ones(len(y)), 3)
    lam = static_weights(est.task_weighting if weighting != "array" else w, ts.sizes)
    value = est._network().objective(ts.batch(slice(None)), 0.0, lam)[0]
    assert_allclose(value, expected, rtol=1e-12)


# --------------------------------------------------------------- safe defaults
def test_defaults_stay_in_range_on_a_thousand_tiny_tasks():
    """1,000 tasks of 2-10 rows, a 0-10 target: with default parameters no prediction
    falls outside ``[min - range, max + range]`` on training or new rows."""
    rng = np.random.RandomState(0)
    T, d = 1000, 5
    sizes = rng.randint(2, 11, T)
    task = np.repeat(np.arange(T), sizes)
    X = rng.standard_normal((len(task), d))
    w0 = rng.standard_normal(d)
    level = rng.standard_normal(T)
    score = X @ w0 + level[task] + 0.5 * rng.standard_normal(len(task))
    y = np.clip(5 + 1.5 * score, 0, 10)
    Xs = np.column_stack([task, X])
    est = MultiTaskMLPRegressor(task_column=0, random_state=0).fit(Xs, y)
    X_new = np.column_stack([rng.randint(0, T, 3000), rng.standard_normal((3000, d))])
    lo, hi = y.min() - (y.max() - y.min()), y.max() + (y.max() - y.min())
    for pred in (est.predict(Xs), est.predict(X_new)):
        assert np.all(np.isfinite(pred))
        assert lo <= pred.min() and pred.max() <= hi
