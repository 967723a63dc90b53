"""Block coordinate descent engine: block updates, screening, certified optima."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from skmtl._data import TaskData
from skmtl._optim import epochs
from skmtl._optim.base import duality_gap, null_scale
from skmtl._optim.bcd import bcd, column_operator_norms
from skmtl._optim.bcd import state as bcd_state
from skmtl._optim.bcd.state import column_state
from skmtl._optim.datafits import Logistic, Quadratic
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.dirty import Dirty
from skmtl._optim.penalties import (
    L1,
    L21,
    L21Ridge,
    SparseGroupL1L21,
    TraceNorm,
    group_shrink,
)
from skmtl._optim.prox_grad import fista

RNG = np.random.default_rng(0)


def _stacked(n=80, d=12, T=3, sparse=False, weights=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.5
    if sparse:
        X[rng.random((n, d)) < 0.6] = 0
        X = sp.csr_matrix(X)
    task = rng.integers(0, T, n)
    task[:T] = np.arange(T)
    sw = rng.uniform(0.5, 2, n) if weights else np.ones(n)
    y = rng.standard_normal(n) + task
    return TaskData(X, y, task, None, sw, np.arange(T), "stacked")


def _shared(n=50, d=12, T=3, missing=True, sparse=False, weights=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.5
    if sparse:
        X[rng.random((n, d)) < 0.6] = 0
        X = sp.csr_matrix(X)
    Y = rng.standard_normal((n, T))
    mask = rng.random((n, T)) > 0.25 if missing else None
    if mask is not None:
        Y = np.where(mask, Y, 0)
    sw = rng.uniform(0.5, 2, n) if weights else np.ones(n)
    return TaskData(X, Y, None, mask, sw, np.arange(T), "shared")


DATA = {
    "stacked": _stacked,
    "stacked-sparse": lambda: _stacked(sparse=True),
    "weighted": lambda: _stacked(weights=True),
    "shared": lambda: _shared(missing=False),
    "shared-sparse": lambda: _shared(missing=False, sparse=True),
    "shared-weighted": lambda: _shared(missing=False, weights=True),
    "shared-missing": _shared,
    "shared-missing-sparse": lambda: _shared(sparse=True),
}
PENALTIES = {
    "l21": L21(0.08),
    "l1": L1(0.05),
    "l21ridge": L21Ridge(0.1, 0.6),
    "sgl": SparseGroupL1L21(0.1, 0.4),
}


@pytest.mark.parametrize("make", DATA.values(), ids=DATA.keys())
@pytest.mark.parametrize("penalty", PENALTIES.values(), ids=PENALTIES.keys())
@pytest.mark.parametrize("center", [True, False])
def test_bcd_certified_and_equal_to_fista(make, penalty, center):
    design = MultiTaskDesign(make(), center=center)
    W0 = np.zeros((design.n_tasks, design.n_features))
    res = bcd(design, Quadratic(), penalty, W0, max_iter=5000, tol=1e-13)
    assert res.converged
    gap, primal, _ = duality_gap(design, Quadratic(), penalty, res.W)
    assert gap == pytest.approx(res.gap, abs=1e-13)
    assert -1e-13 <= gap <= 1e-13 * null_scale(design, Quadratic(), False)
    ref = fista(design, Quadratic(), penalty, W0, max_iter=100000, tol=1e-13)
    assert primal <= ref.primal + 1e-12
    assert_allclose(res.W, ref.W, atol=1e-5)


@pytest.mark.parametrize("make", DATA.values(), ids=DATA.keys())
def test_bcd_logistic_with_intercepts_is_certified(make):
    data = make()
    data.y = (data.y > np.median(data.y)).astype(float)
    if data.mask is not None:
        data.y = data.y * data.mask
    design = MultiTaskDesign(data, center=False)
    W0 = np.zeros((design.n_tasks, design.n_features))
    b0 = np.zeros(design.n_tasks)
    res = bcd(design, Logistic(), L21(0.02), W0, b0, max_iter=5000, tol=1e-12)
    assert res.converged
    gap, primal, b = duality_gap(design, Logistic(), L21(0.02), res.W, res.b)
    assert 0 <= gap <= 1e-12 * null_scale(design, Logistic(), True) + 1e-15
    ref = fista(design, Logistic(), L21(0.02), W0, b0, max_iter=100000, tol=1e-12)
    assert primal <= ref.primal + 1e-12
    assert_allclose(res.W, ref.W, atol=1e-5)


@pytest.mark.parametrize("make", [DATA["stacked"], DATA["shared-missing"]])
def test_dirty_bcd_matches_fista_on_the_stacked_variable(make):
    design = MultiTaskDesign(make(), center=True)
    pen = Dirty(0.1, 0.06)
    T, d = design.n_tasks, design.n_features
    res = bcd(design, Quadratic(), pen, np.zeros((2 * T, d)), tol=1e-13)
    assert res.converged

    class Doubled:  # the operator [A A] on [P; Q], for the generic FISTA
        def __init__(self, base):
            self.__dict__.update(base.__dict__)
            self.base = base
            self.n_tasks = 2 * T  # null_scale builds W = 0 from these

        def forward(self, Z):
            return self.base.forward(Z[:T] + Z[T:])

        def adjoint(self, G):
            V = self.base.adjoint(G)
            return np.vstack([V, V])

        def task_lipschitz(self, **kw):
            return 2 * self.base.task_lipschitz(**kw)

    doubled = Doubled(design)
    ref = fista(
        doubled, Quadratic(), pen, np.zeros((2 * T, d)), max_iter=200000, tol=1e-13
    )
    gap, primal, _ = duality_gap(doubled, Quadratic(), pen, res.W)
    assert -1e-13 <= gap <= 1e-12
    assert primal <= ref.primal + 1e-12
    assert_allclose(res.W[:T] + res.W[T:], ref.W[:T] + ref.W[T:], atol=1e-5)


@pytest.mark.parametrize("equal", [True, False])
def test_group_shrink_is_the_block_minimiser(equal):
    for _ in range(30):
        T = RNG.integers(1, 8)
        u = RNG.standard_normal(T) * 3
        c = 1.3 if equal else RNG.exponential(size=T) + 1e-3
        lam = RNG.exponential()
        w = group_shrink(u, c, lam)

        def objective(v):
            return np.sum(c * v**2 / 2 - u * v) + lam * np.linalg.norm(v)

        ref = minimize(
            objective,
            np.ones(T),
            method="Powell",
            options={"xtol": 1e-12, "ftol": 1e-15, "maxiter": 100000},
        )
        assert objective(w) <= ref.fun + 1e-10
        # optimality: c w - u + lam w / ||w|| = 0, or ||u|| <= lam at w = 0
        if np.any(w):
            assert_allclose(c * w - u + lam * w / np.linalg.norm(w), 0, atol=1e-10)
        else:
            assert np.linalg.norm(u) <= lam


def test_block_prox_of_every_penalty_beats_perturbations():
    T = 5
    u = RNG.standard_normal(T) * 2
    c = RNG.exponential(size=T) + 0.1
    for pen in [*PENALTIES.values(), Dirty(0.3, 0.2)]:
        m = getattr(pen, "n_blocks", 1)
        z = RNG.standard_normal(m * T) * 0.1
        new = pen.block_prox(u, c, z)

        def objective(v, pen=pen, m=m):
            e = v.reshape(m, T).sum(axis=0)
            return np.sum(c * e**2 / 2 - u * e) + pen.value(v.reshape(m * T, 1))

        best = objective(new)
        for scale in (1e-2, 1e-4, 1e-6):
            for _ in range(40):
                trial = new + scale * RNG.standard_normal(new.shape)
                assert objective(trial) >= best - 1e-12


def test_column_margin_is_lipschitz_and_nonnegative_when_feasible():
    for pen in [*PENALTIES.values(), Dirty(0.3, 0.2)]:
        m = getattr(pen, "n_blocks", 1)
        V = RNG.standard_normal((3, 20))
        Vm = np.tile(V, (m, 1))
        scale = pen.dual_scale(Vm)
        if scale < 1:  # scaled into the dual set: margins non-negative
            assert np.all(pen.column_margin(scale * Vm) >= -1e-12)
        E = 1e-3 * RNG.standard_normal(V.shape)
        diff = np.abs(pen.column_margin(np.tile(V + E, (m, 1))) - pen.column_margin(Vm))
        assert np.all(diff <= np.linalg.norm(E, axis=0) + 1e-15)


@pytest.mark.parametrize("make", DATA.values(), ids=DATA.keys())
def test_screening_is_safe_and_changes_nothing(make):
    design = MultiTaskDesign(make(), center=True)
    W0 = np.zeros((design.n_tasks, design.n_features))
    pen = L21(0.15)
    on = bcd(design, Quadratic(), pen, W0, tol=1e-13)
    off = bcd(design, Quadratic(), pen, W0, tol=1e-13, screening=False, anderson=0)
    assert_allclose(on.W, off.W, atol=1e-7)
    # the safe rule at the (near-)optimum removes no feature that is active
    Theta = design.omega * (design.Y - design.forward(on.W))
    V = design.adjoint(Theta)
    slack = 10 * np.finfo(float).eps * abs(on.primal)  # as the solver
    radius = np.sqrt(2 * (max(on.gap, 0) + slack) * design.omega.max())
    margin = pen.column_margin(pen.dual_scale(V) * V)
    screened = margin > radius * column_operator_norms(design)
    assert not np.any(on.W[:, screened])


def test_column_operator_norms_by_brute_force():
    for make in DATA.values():
        data = make()
        design = MultiTaskDesign(data, center=True)
        norms = column_operator_norms(design)
        X = data.X.toarray() if sp.issparse(data.X) else data.X
        for j in range(X.shape[1]):
            best = 0.0
            for t, rows in enumerate(data.task_indices()):
                col = X[rows, j] - design.X_mean[t, j]
                best = max(best, np.linalg.norm(col))
            assert norms[j] == pytest.approx(best, rel=1e-10)


def test_blocked_epoch_equals_plain_epoch():
    data = _shared(n=70, d=40, missing=False)
    design = MultiTaskDesign(data, center=True)
    runs = []
    for block in (1, 7):
        kernel = column_state(design, Quadratic(), block_size=block)
        kernel.set_ws(np.arange(40))
        W = np.zeros((40, 3))
        kernel.reset(W)
        curv = design.column_curvature()[0].tolist()
        nz, vn = [False] * 40, np.zeros(40)
        epoch = epochs.group_epoch_blocked if block > 1 else epochs.group_epoch
        for _ in range(4):
            epoch(kernel, W, curv, nz, vn, 0.05, 0.0)
        runs.append((W.copy(), kernel.R.copy(), vn.copy()))
    for a, b in zip(*runs):
        assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [DATA["stacked"], DATA["weighted"], DATA["shared"], DATA["shared-weighted"]],
    ids=["stacked", "weighted", "shared", "shared-weighted"],
)
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("chunk", [256, 2])
def test_working_set_rows_reused_equal_fresh_rows(make, center, chunk, monkeypatch):
    """Rows copied from the previous working set equal rows gathered afresh, and
    the stored rows are the (centred) columns of X, whether they are copied and
    gathered in one chunk or in several."""
    monkeypatch.setattr(bcd_state, "_CHUNK", chunk)
    design = MultiTaskDesign(make(), center=center)
    first, second = np.array([0, 2, 3, 4, 9]), np.array([1, 2, 3, 4, 5, 9, 11])
    reused = column_state(design, Quadratic())
    reused.set_ws(first)
    reused.set_ws(second)
    fresh = column_state(design, Quadratic())
    fresh.set_ws(second)
    assert_allclose(reused.xs, fresh.xs, rtol=0, atol=0)
    if fresh.xcw is not None:
        assert_allclose(reused.xcw, fresh.xcw, rtol=0, atol=0)
    X = design.X
    task = np.zeros(X.shape[0], dtype=int) if design.shared else design.task
    expected = X[:, second] - (design.X_mean[task][:, second] if center else 0)
    assert_allclose(fresh.xs.T, expected, atol=1e-12)
    # the curvature of the stored rows matches the design's, centred or not
    curv = design.column_curvature()[:, second].T
    assert_allclose(fresh.ws_curvature(), curv, atol=1e-12)
    # forward and adjoint on the working set agree with the design's
    E = RNG.standard_normal((len(second), design.n_tasks))
    W = np.zeros((design.n_tasks, design.n_features))
    W[:, second] = E.T
    assert_allclose(fresh.forward(E), design.forward(W), atol=1e-12)
    G = RNG.standard_normal(design.Y.shape)
    assert_allclose(fresh.adjoint_ws(G), design.adjoint(G)[:, second], atol=1e-12)


def test_penalty_without_block_prox_is_refused():
    """bcd checks what it needs of the penalty before it starts (as skglm's
    solvers do) and names what is missing."""
    design = MultiTaskDesign(_shared(missing=False), center=True)
    W0 = np.zeros((design.n_tasks, design.n_features))
    with pytest.raises(AttributeError, match="TraceNorm.*block_prox, column_margin"):
        bcd(design, Quadratic(), TraceNorm(0.1), W0)


class _NoGradient:
    curvature = 1.0


def test_datafit_without_gradient_is_refused():
    design = MultiTaskDesign(_shared(missing=False), center=True)
    W0 = np.zeros((design.n_tasks, design.n_features))
    with pytest.raises(AttributeError, match="datafit _NoGradient.*value, gradient"):
        bcd(design, _NoGradient(), L21(0.1), W0)


def test_penalties_declare_their_block_threshold():
    """The fused and compiled epochs find the closed form of the block update
    in what the penalty declares, not in its type."""
    assert L21(0.5).block_threshold == ("group", 0.0, 0.5, 0.0)
    assert L21Ridge(1.0, 0.25).block_threshold == ("group", 0.0, 0.25, 0.75)
    assert SparseGroupL1L21(1.0, 0.25).block_threshold == (
        "sparse_group",
        0.25,
        0.75,
        0.0,
    )
    assert L1(0.5).block_threshold == ("l1", 0.5, 0.0, 0.0)
    # the dirty model: the kind of its two-block prox, for the compiled epoch
    assert Dirty(0.1, 0.2).block_threshold == ("dirty", 0.2, 0.1, 0.0)


def test_next_gap_check_follows_the_linear_rate():
    """After a failed exact gap check the solver waits for the epoch where the
    rate of the last two checks reaches the target (gap 1e-1 at epoch 10, 1e-2
    at 12: 1e-4 is 4 epochs on), at most 8; with no rate it doubles its wait."""
    from skmtl._optim.bcd.working_set import _next_check

    assert _next_check((10, 1e-1), (12, 1e-2), 1e-4, 1) == 4
    assert _next_check((10, 1e-1), (12, 1e-2), 1e-20, 1) == 8
    assert _next_check((10, 1e-1), (12, 1e-2), 9e-3, 4) == 1
    assert _next_check(None, (12, 1e-2), 1e-4, 2) == 4
    assert _next_check((10, 1e-2), (12, 1e-2), 1e-4, 4) == 8  # no progress
    assert _next_check((10, 1e-1), (12, 1e-2), 0.0, 1) == 2


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("task_weights", [[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]])
def test_shared_design_centres_with_one_mean(sparse, weights, task_weights):
    """A fully observed shared layout has one weighted mean for all its tasks,
    computed once: ``X_mean`` and the centred adjoint equal the per-task
    formulas, also when a task has weight 0 (its mean is 0, as before; 6b415fd
    took task 0's mean for all tasks, 0 for all when task 0 had weight 0)."""
    data = _shared(missing=False, sparse=sparse, weights=weights)
    design = MultiTaskDesign(data, center=True, task_weighting=np.array(task_weights))
    X = data.X.toarray() if sparse else data.X
    G = RNG.standard_normal(design.Y.shape)
    for t in range(design.n_tasks):
        om = design.omega[:, t]
        xbar = X.T @ om / om.sum() if om.sum() > 0 else np.zeros(X.shape[1])
        assert_allclose(design.X_mean[t], xbar, atol=1e-12)
        expected = (X - xbar).T @ G[:, t]
        assert_allclose(design.adjoint(G)[t], expected, atol=1e-10)
