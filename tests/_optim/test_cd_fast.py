"""The compiled fused epoch (``skmtl/_optim/_cd_fast.pyx``) against the Python epoch.

Both epochs run the same block coordinate descent: from the same state, a few
epochs of each give the same iterates, residuals, dual estimates and duality gaps
up to rounding (``test_epochs_equal``, relative 1e-12, every layout and penalty
covered). End to end (``_fit_both``: the compiled epoch on and off through
``epochs.ENABLED``, and checked to have run), rounding may flip a decision of the
solver (an Anderson step taken, an epoch more), so the fits are compared to the
precision their duality gap certifies: both gaps below the tolerance and the
coefficients equal to 1e-6 relative (most cases agree to 1e-13).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from skmtl._data import TaskData
from skmtl._optim import epochs
from skmtl._optim.bcd.solver import _curvatures
from skmtl._optim.bcd.state import column_state, effective_weights
from skmtl._optim.bcd.working_set import WorkingSetSolver
from skmtl._optim.datafits import Quadratic
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.dirty import Dirty
from skmtl._optim.penalties import L1, L21, L21Ridge, SparseGroupL1L21
from skmtl.linear_model import (
    DirtyMultiTaskLasso,
    GraphRegularizedMultiTaskRegression,
    MultiTaskElasticNet,
    MultiTaskLasso,
    MultiTaskLogisticLasso,
    MultiTaskSparseGroupLasso,
    multitask_lasso_path,
)

pytestmark = pytest.mark.skipif(
    not epochs.AVAILABLE, reason="the compiled epoch was not built (no C compiler)"
)


class _Counting:
    """Stands for the ``_cd_fast`` module and counts its epochs."""

    def __init__(self, module):
        self.module, self.calls = module, 0

    def epoch(self, *args):
        self.calls += 1
        return self.module.epoch(*args)

    def epoch_blocked(self, *args):
        self.calls += 1
        return self.module.epoch_blocked(*args)


@pytest.fixture
def counting(monkeypatch):
    wrapper = _Counting(epochs._cd_fast)
    monkeypatch.setattr(epochs, "_cd_fast", wrapper)
    return wrapper


def _fit_both(make, X, y, counting, monkeypatch, **fit_params):
    out = {}
    for compiled in (True, False):
        monkeypatch.setattr(epochs, "ENABLED", compiled)
        before = counting.calls
        est = make().fit(X, y, **fit_params)
        out[compiled] = est
        if compiled:
            assert counting.calls > before, "the compiled epoch did not run"
        else:
            assert counting.calls == before
    return out[True], out[False]


def _assert_same(fast, slow, rtol=1e-6, gap=1e-8):
    """Both fits certified (gap below ``gap``: tol = 1e-10 times the null
    objective, at most ~10 here) and their coefficients equal to ``rtol``."""
    scale = max(float(np.max(np.abs(slow.coef_))), 1e-300)
    assert np.max(np.abs(fast.coef_ - slow.coef_)) <= rtol * scale
    np.testing.assert_allclose(fast.intercept_, slow.intercept_, rtol=rtol, atol=1e-9)
    assert fast.dual_gap_ <= gap and slow.dual_gap_ <= gap


# ---------------------------------------------------------------- one epoch
def _task_data(layout, sparse, weights, missing=False, shuffle=True, seed=0):
    rng = np.random.default_rng(seed)
    n, d, T = 70, 15, 4
    X = rng.standard_normal((n, d)) + 0.5
    if sparse:
        X[rng.random((n, d)) < 0.6] = 0
        X = sp.csr_matrix(X)
    sw = rng.uniform(0.5, 2, n) if weights else np.ones(n)
    if layout == "stacked":
        task = np.repeat(np.arange(T), -(-n // T))[:n]
        if shuffle:
            task = rng.permutation(task)
        y = rng.standard_normal(n) + task
        return TaskData(X, y, task, None, sw, np.arange(T), "stacked")
    Y = rng.standard_normal((n, T))
    mask = rng.random((n, T)) > 0.25 if missing else None
    if mask is not None:
        Y = np.where(mask, Y, 0)
    return TaskData(X, Y, None, mask, sw, np.arange(T), "shared")


def _run_epochs(
    data,
    make_penalty,
    center,
    intercept,
    compiled,
    monkeypatch,
    block_size=32,
    alpha_mean=0.0,
):
    monkeypatch.setattr(epochs, "ENABLED", compiled)
    monkeypatch.setattr(epochs, "BLOCKED_MIN_TASKS", 0)  # blocks whenever asked
    design = MultiTaskDesign(data, center=center)
    T, d = design.n_tasks, design.n_features
    datafit = Quadratic()
    centred = MultiTaskDesign(data, center=True)
    amax = L21(1.0).dual_norm(centred.adjoint(centred.omega * centred.Y))
    penalty = make_penalty(0.5 * amax)
    # the mean-shrinkage strength relative to the columns' curvatures
    am = alpha_mean * float(np.mean(MultiTaskDesign(data).column_curvature()))
    b0 = np.zeros(T) if intercept else None
    kernel = column_state(design, datafit, b0, block_size=block_size)
    ws = np.arange(d)
    kernel.set_ws(ws)
    m = getattr(penalty, "n_blocks", 1)  # the dirty model: blocks [p; q]
    W = 0.1 * np.random.default_rng(1).standard_normal((d, m * T))
    W[::3] = 0
    E = W if m == 1 else np.ascontiguousarray(effective_weights(W.T, m).T)
    kernel.reset(E)
    curv_full, equal = _curvatures(design, datafit)
    curv = curv_full[:, ws].T
    curv = np.ascontiguousarray(curv[:, 0] if equal else curv)
    if equal:
        curv = curv.tolist()
    inner = WorkingSetSolver(kernel, penalty, curv, m, anderson=0, alpha_mean=am)
    assert (inner.compiled is not None) == compiled
    nz = np.any(W != 0, axis=1).tolist()
    V = np.zeros(d if inner.fused is not None else (d, T))
    for _ in range(4):
        inner.epoch(W, E, nz, V)
    if m > 1:  # the effective weights follow the blocks
        np.testing.assert_allclose(E, effective_weights(W.T, m).T, rtol=1e-14)
    return W, V, kernel.output(), nz, inner.gap(W), inner.gap(W, V)


PENALTIES = {
    "l21": L21,
    "enet": lambda a: L21Ridge(a, 0.6),
    "sgl": lambda a: SparseGroupL1L21(a, 0.3),
    "l1": lambda a: L1(0.3 * a),
    "dirty": lambda a: Dirty(0.8 * a, 0.3 * a),
}
CASES = {
    "shared": dict(layout="shared", sparse=False, weights=False),
    # column by column, and blocks of 4 (several blocks, the last one partial)
    "shared-unblocked": dict(layout="shared", sparse=False, weights=True, block=1),
    "shared-blocks": dict(layout="shared", sparse=False, weights=False, block=4),
    "shared-weights": dict(layout="shared", sparse=False, weights=True),
    "shared-missing": dict(layout="shared", sparse=False, weights=True, missing=True),
    "shared-sparse": dict(layout="shared", sparse=True, weights=False),
    "shared-sparse-missing": dict(
        layout="shared", sparse=True, weights=True, missing=True
    ),
    "stacked": dict(layout="stacked", sparse=False, weights=True),
    "stacked-sorted": dict(layout="stacked", sparse=False, weights=False, shuffle=0),
    "stacked-sparse": dict(layout="stacked", sparse=True, weights=True),
}


@pytest.mark.parametrize("alpha_mean", [0.0, 2.0], ids=["", "mean-shrinkage"])
@pytest.mark.parametrize("center,intercept", [(True, False), (False, True)])
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("case", list(CASES))
def test_epochs_equal(case, penalty, center, intercept, alpha_mean, monkeypatch):
    """``alpha_mean``: the exact block step with the mean-shrinkage term, at twice
    the columns' mean curvature (the blocked cases then run column by column)."""
    params = dict(CASES[case])
    block = params.pop("block", 32)
    data = _task_data(**params)
    fast, slow = (
        _run_epochs(
            data,
            PENALTIES[penalty],
            center,
            intercept,
            compiled,
            monkeypatch,
            block,
            alpha_mean,
        )
        for compiled in (True, False)
    )
    W, V, F = slow[:3]
    # both kinds of columns (with the mean term, some cases keep every column)
    assert np.any(W != 0) and (alpha_mean > 0 or np.any(W == 0))
    for a, b in zip(fast[:3], slow[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.max(np.abs(b)))
    assert fast[3] == slow[3]
    # the gaps (exact and from V) are differences of objectives of order 1
    np.testing.assert_allclose(fast[4:], slow[4:], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("case", list(CASES))
def test_closed_form_squared_gap_equals_the_generic_gap(case, penalty, dtype):
    """``WorkingSetSolver._squared_gap`` (the squared loss without intercepts in
    the loop, profiles or mean shrinkage: the gap from ``<Theta, Y>`` and
    ``<Theta, r>``) equals the generic gap through ``Quadratic.value`` and
    ``dual_value``, exact and from a given ``V`` (full or column norms), also
    with missing targets, sample weights, sparse X and float32, to 1e-10 of the
    objective (1e-5 in float32)."""
    params = dict(CASES[case])
    params.pop("block", None)
    data = _task_data(**params)
    data.X = data.X.astype(dtype)
    data.y = data.y.astype(dtype)
    design = MultiTaskDesign(data, center=True)
    T, d = design.n_tasks, design.n_features
    datafit = Quadratic()
    amax = L21(1.0).dual_norm(design.adjoint(design.omega * design.Y))
    pen = PENALTIES[penalty](0.5 * amax)
    state = column_state(design, datafit)
    state.set_ws(np.arange(d))
    m = getattr(pen, "n_blocks", 1)
    W = (0.1 * np.random.default_rng(1).standard_normal((d, m * T))).astype(dtype)
    W[::3] = 0
    E = W if m == 1 else np.ascontiguousarray(effective_weights(W.T, m).T)
    state.reset(E)
    curv = np.ascontiguousarray(_curvatures(design, datafit)[0].T)
    inner = WorkingSetSolver(state, pen, curv, m, anderson=0)
    assert inner._plain_squared
    Theta = state.omega * state._residual()
    V = state.adjoint_ws(Theta).T  # (d, T)
    givens = [None, V, np.sqrt(np.sum(V**2, axis=1))] if m == 1 else [None, V]
    for given in givens:
        fast = inner.gap(W, given)
        inner._plain_squared = False
        slow = inner.gap(W, given)
        inner._plain_squared = True
        scale = inner.objective(W, state.output())
        rtol = 1e-10 if dtype == np.float64 else 1e-5
        assert abs(fast - slow) <= rtol * scale, (fast, slow, scale)


def _shared(n=60, d=40, T=5, seed=0, density=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if density is not None:
        X = X * (rng.random((n, d)) < density)
    W = np.zeros((T, d))
    W[:, :6] = rng.standard_normal((T, 6))
    Y = X @ W.T + 0.3 * rng.standard_normal((n, T)) + 2.0
    return X, Y


def _stacked(T=6, n_t=15, d=30, seed=1, shuffle=False):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(T), n_t)
    if shuffle:  # task rows interleaved: many short runs
        task = rng.permutation(task)
    X = rng.standard_normal((T * n_t, d))
    W = np.zeros((T, d))
    W[:, :5] = rng.standard_normal((T, 5))
    y = np.einsum("ij,ij->i", X, W[task]) + 0.3 * rng.standard_normal(T * n_t) + task
    return np.column_stack([task, X]), y


TOL = 1e-10


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(
    "make",
    [
        lambda: MultiTaskLasso(alpha=0.05, tol=TOL, max_iter=5000),
        lambda: MultiTaskElasticNet(alpha=0.05, l1_ratio=0.6, tol=TOL, max_iter=5000),
        lambda: MultiTaskSparseGroupLasso(
            alpha=0.05, l1_ratio=0.3, tol=TOL, max_iter=5000
        ),
        lambda: MultiTaskLasso(alpha=0.05, fit_intercept=False, tol=TOL),
    ],
    ids=["lasso", "enet", "sgl", "no-intercept"],
)
def test_shared_layout(make, sparse, counting, monkeypatch):
    X, Y = _shared(density=0.3 if sparse else None)
    if sparse:
        X = sp.csr_matrix(X)
    fast, slow = _fit_both(make, X, Y, counting, monkeypatch)
    assert np.any(slow.coef_ != 0)
    _assert_same(fast, slow)


@pytest.mark.parametrize("sparse", [False, True])
def test_shared_missing_targets_and_weights(sparse, counting, monkeypatch):
    """Per-entry loss weights: NaN targets, and unequal sample weights."""
    X, Y = _shared(seed=3, density=0.4 if sparse else None)
    if sparse:
        X = sp.csc_matrix(X)
    Y[np.random.default_rng(0).random(Y.shape) < 0.15] = np.nan
    sw = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    fast, slow = _fit_both(
        lambda: MultiTaskLasso(alpha=0.03, tol=TOL, max_iter=5000),
        X,
        Y,
        counting,
        monkeypatch,
        sample_weight=sw,
    )
    _assert_same(fast, slow)
    # unequal weights, no missing target (weighted rows, one weight per row)
    X2, Y2 = _shared(seed=4, density=0.4 if sparse else None)
    fast, slow = _fit_both(
        lambda: MultiTaskElasticNet(alpha=0.03, l1_ratio=0.5, tol=TOL, max_iter=5000),
        sp.csr_matrix(X2) if sparse else X2,
        Y2,
        counting,
        monkeypatch,
        sample_weight=sw,
    )
    _assert_same(fast, slow)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_stacked_layout(sparse, shuffle, counting, monkeypatch):
    X, y = _stacked(shuffle=shuffle)
    if sparse:  # the task column stays whole
        keep = np.random.default_rng(2).random(X.shape) < 0.5
        keep[:, 0] = True
        X = sp.csr_matrix(X * keep)
    for make in (
        lambda: MultiTaskLasso(alpha=0.05, task_column=0, tol=TOL, max_iter=5000),
        lambda: MultiTaskSparseGroupLasso(
            alpha=0.05, l1_ratio=0.4, task_column=0, tol=TOL, max_iter=5000
        ),
    ):
        fast, slow = _fit_both(make, X, y, counting, monkeypatch)
        assert np.any(slow.coef_ != 0)
        _assert_same(fast, slow)


@pytest.mark.parametrize("alpha_intercepts", [0.0, "auto"])
def test_mean_shrinkage_fits(alpha_intercepts, counting, monkeypatch):
    """``alpha_mean > 0`` (the exact block step with the mean-shrinkage term in
    the compiled epoch), free intercepts and penalised ones profiled out."""
    X, y = _stacked(shuffle=True)
    common = dict(
        alpha_mean=0.5,
        alpha_intercepts=alpha_intercepts,
        task_column=0,
        tol=TOL,
        max_iter=5000,
    )
    for make in (
        lambda: MultiTaskLasso(alpha=0.3, **common),
        lambda: MultiTaskElasticNet(alpha=0.3, l1_ratio=0.7, **common),
        lambda: MultiTaskSparseGroupLasso(alpha=0.3, l1_ratio=0.4, **common),
    ):
        fast, slow = _fit_both(make, X, y, counting, monkeypatch)
        assert np.any(slow.coef_ != 0) and np.any(slow.coef_ == 0)
        _assert_same(fast, slow)


@pytest.mark.parametrize("task_column", [None, 0])
def test_logistic_newton_subproblems(task_column, counting, monkeypatch):
    """The logistic loss runs prox-Newton; its weighted least-squares
    sub-problems use the compiled epoch."""
    rng = np.random.default_rng(5)
    n, d, T = 80, 20, 4
    X = rng.standard_normal((n, d))
    W = np.zeros((T, d))
    W[:, :4] = 2 * rng.standard_normal((T, 4))
    if task_column is None:
        y = (X @ W.T + 0.5 * rng.standard_normal((n, T)) > 0).astype(int)
    else:
        task = rng.integers(0, T, n)
        y = (np.einsum("ij,ij->i", X, W[task]) > 0).astype(int)
        X = np.column_stack([task, X])
    fast, slow = _fit_both(
        lambda: MultiTaskLogisticLasso(
            alpha=0.02, task_column=task_column, tol=1e-9, max_iter=5000
        ),
        X,
        y,
        counting,
        monkeypatch,
    )
    _assert_same(fast, slow, rtol=1e-5, gap=1e-8)


def test_float32(counting, monkeypatch):
    X, Y = _shared(seed=6)
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    fast, slow = _fit_both(
        lambda: MultiTaskLasso(alpha=0.05, tol=1e-5), X, Y, counting, monkeypatch
    )
    assert fast.coef_.dtype == np.float32
    np.testing.assert_allclose(fast.coef_, slow.coef_, rtol=1e-4, atol=1e-5)
    # the mean-shrinkage and dirty block steps (float64 inside) on float32 data,
    # penalised intercepts profiled out: equal to float32's precision (5e-7
    # relative measured; the solvers stop at tol 1e-6)
    Xs, ys = _stacked(shuffle=True)
    Xs, ys = Xs.astype(np.float32), ys.astype(np.float32)
    common = dict(alpha_mean=0.5, task_column=0, alpha_intercepts="auto", tol=1e-6)
    for make in (
        lambda: MultiTaskLasso(alpha=0.3, **common),
        lambda: MultiTaskSparseGroupLasso(alpha=0.3, l1_ratio=0.4, **common),
        lambda: DirtyMultiTaskLasso(alpha_shared=0.2, alpha_specific=0.1, **common),
    ):
        fast, slow = _fit_both(make, Xs, ys, counting, monkeypatch)
        assert fast.coef_.dtype == np.float32
        scale = float(np.max(np.abs(slow.coef_)))
        assert np.max(np.abs(fast.coef_ - slow.coef_)) <= 1e-5 * scale


@pytest.mark.parametrize("alpha_mean", [0.0, 0.5])
def test_dirty_fits(alpha_mean, counting, monkeypatch):
    """The dirty model's two blocks per column, with and without the
    mean-shrinkage term, shared (free intercepts) and stacked (penalised ones
    profiled out) layouts."""
    X, Y = _shared(seed=7)
    Xs, ys = _stacked(shuffle=True)
    common = dict(alpha_mean=alpha_mean, tol=TOL, max_iter=5000)
    for make, data in (
        (
            lambda: DirtyMultiTaskLasso(
                alpha_shared=0.1, alpha_specific=0.05, **common
            ),
            (X, Y),
        ),
        (
            lambda: DirtyMultiTaskLasso(
                alpha_shared=0.2,
                alpha_specific=0.1,
                task_column=0,
                alpha_intercepts="auto",
                **common,
            ),
            (Xs, ys),
        ),
    ):
        fast, slow = _fit_both(make, *data, counting, monkeypatch)
        assert np.any(slow.coef_ != 0)
        _assert_same(fast, slow)
        # both blocks are used
        assert np.any(slow.coef_group_ != 0) and np.any(slow.coef_specific_ != 0)


def test_graph_still_solves(monkeypatch):
    """A penalty the compiled epoch covers through another design (the task
    graph's L1) gives the Python epoch's solution."""
    X, Y = _shared(seed=7)
    make = lambda: GraphRegularizedMultiTaskRegression(  # noqa: E731
        alpha=0.05, l1_ratio=0.5, tol=TOL
    )
    out = {}
    for compiled in (True, False):
        monkeypatch.setattr(epochs, "ENABLED", compiled)
        out[compiled] = make().fit(X, Y)
    scale = float(np.max(np.abs(out[False].coef_)))
    diff = np.max(np.abs(out[True].coef_ - out[False].coef_))
    assert diff <= 1e-9 * scale


def test_path_equal(counting, monkeypatch):
    X, Y = _shared(n=50, d=80, T=4, seed=8)
    res = {}
    for compiled in (True, False):
        monkeypatch.setattr(epochs, "ENABLED", compiled)
        res[compiled] = multitask_lasso_path(X, Y, alphas=8, tol=TOL)
    alphas, coefs_fast, _ = res[True]
    _, coefs_slow, _ = res[False]
    scale = float(np.max(np.abs(coefs_slow)))
    assert np.max(np.abs(coefs_fast - coefs_slow)) <= 1e-6 * scale
    assert counting.calls > 0
