"""Support Newton steps of block coordinate descent (``bcd.newton``)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmtl._data import TaskData
from skmtl._optim.base import duality_gap
from skmtl._optim.bcd import bcd
from skmtl._optim.bcd.newton import SupportNewton
from skmtl._optim.datafits import Quadratic
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.penalties import L21, SparseGroupL1L21


def _collinear(center, n=150, T=5, noise=0.01, seed=0):
    """Stacked tasks whose features come in nearly equal pairs (correlation
    0.9999), and whose true coefficients are zero for some tasks: coordinate
    descent is slow there, and the sparse-group solution has zero entries in
    non-zero columns."""
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(T), n // T)
    Z = rng.standard_normal((task.size, 4))
    X = np.column_stack([Z, Z + noise * rng.standard_normal(Z.shape)])
    w = rng.standard_normal((T, X.shape[1])) * (rng.random((T, X.shape[1])) < 0.6)
    y = np.einsum("ij,ij->i", X, w[task]) + 0.3 * rng.standard_normal(task.size)
    data = TaskData(X, y, task, None, np.ones(task.size), np.arange(T), "stacked")
    return MultiTaskDesign(data, center=center)


def _spy(monkeypatch):
    """Record every call of ``SupportNewton.direction`` and whether steps were
    taken."""
    calls = []
    direction = SupportNewton.direction

    def recording(self, Wl, S, grad, mask=None):
        D = direction(self, Wl, S, grad, mask)
        calls.append((self, Wl.copy(), S.copy(), grad.copy(), mask, D))
        return D

    recording.__wrapped__ = direction
    monkeypatch.setattr(SupportNewton, "direction", recording)
    return calls


@pytest.mark.parametrize(
    "penalty", [L21(0.05), SparseGroupL1L21(0.05, 0.5)], ids=["l21", "sgl"]
)
def test_newton_direction_solves_the_masked_newton_system(penalty, monkeypatch):
    # oracle: central differences of the smooth objective's gradient along D
    # (the loss through the design's own forward/adjoint, the penalty in
    # closed form) must give -grad on the entries that move
    design = _collinear(center=False)
    calls = _spy(monkeypatch)
    W0 = np.zeros((design.n_tasks, design.n_features))
    bcd(design, Quadratic(), penalty, W0, max_iter=300, tol=1e-12, ws_min=100)
    calls = [c for c in calls if c[-1] is not None]
    assert calls
    lam = penalty.block_threshold.group
    l1 = penalty.block_threshold.l1

    def gradient(W):  # (T, d): loss plus the smooth penalty, on nonzero columns
        G = design.adjoint(
            Quadratic().gradient(design.forward(W), design.Y, design.omega)
        )
        norms = np.linalg.norm(W, axis=0)
        on = norms > 0
        G[:, on] += lam * W[:, on] / norms[on] + l1 * np.sign(W[:, on])
        return G

    # at a point of the solver's path, moved (signs and zeros kept) so that the
    # gradient is far from 0 and the differences far above rounding
    newton, Wl, S, _, mask, _ = next(c for c in calls if c[4] is None or not c[4].all())
    ws = newton.state.ws
    rng = np.random.default_rng(1)
    Wl = Wl * rng.uniform(0.5, 1.5, Wl.shape)
    W = np.zeros((design.n_tasks, design.n_features))
    W[:, ws] = Wl.T
    grad = gradient(W)[:, ws[S]].T
    if mask is not None:
        grad = grad * mask
    D = SupportNewton.direction.__wrapped__(newton, Wl, S, grad, mask)
    step = np.zeros_like(W)
    step[:, ws[S]] = D.T
    eps = 1e-5 / np.abs(step).max()
    HD = (gradient(W + eps * step) - gradient(W - eps * step)) / (2 * eps)
    HD = HD[:, ws[S]].T  # (s, T), as grad
    moving = np.ones(grad.shape, bool) if mask is None else mask
    if mask is not None:
        assert l1 > 0 and not mask.all() and not np.any(D[~mask])
    assert np.abs(grad).max() > 1e-2
    assert_allclose(HD[moving], -grad[moving], atol=1e-7 * np.abs(grad).max())


@pytest.mark.parametrize("center", [False, True])
def test_sparse_group_newton_steps_are_taken_and_keep_the_optimum(center, monkeypatch):
    penalty = SparseGroupL1L21(0.05, 0.5)
    W0 = np.zeros((5, 8))
    runs = {}
    for newton in (True, False):
        design = _collinear(center=center)
        if not newton:
            monkeypatch.setattr(SupportNewton, "maybe", lambda *a: None)
        calls = _spy(monkeypatch) if newton else None
        res = bcd(design, Quadratic(), penalty, W0, max_iter=20000, tol=1e-10)
        assert res.converged
        gap, primal, _ = duality_gap(design, Quadratic(), penalty, res.W, res.b)
        runs[newton] = res, primal, calls
    (res_n, primal_n, calls), (res_cd, primal_cd, _) = runs[True], runs[False]
    assert calls and any(c[-1] is not None for c in calls)
    assert primal_n == pytest.approx(primal_cd, rel=1e-9)
    assert_allclose(res_n.W, res_cd.W, atol=1e-5)
    assert np.any(res_n.W == 0) and np.any(res_n.W != 0, axis=0).any()
    # the Newton steps make the ill-conditioned problem fast (measured: 270
    # against 956 epochs centred, fewer than half in both cases)
    assert res_n.n_iter < res_cd.n_iter / 2
