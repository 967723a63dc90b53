"""Reduced-rank solvers (``skmtl._optim.reduced_rank``): the alternating solver's
operators against their definitions, its monotone descent, and its stationary
point against the closed form. ``ReducedRankRegression``'s own tests (the
estimator on both solvers) are in ``tests/linear_model/test_low_rank.py``."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from skmtl._data import check_task_data
from skmtl._optim.design import MultiTaskDesign
from skmtl._optim.reduced_rank import (
    AlternatingRRR,
    closed_form,
    loadings_and_components,
)

LAYOUTS = ["stacked", "stacked-sparse", "shared", "shared-missing"]


def _design(layout, center=True, n=60, d=6, T=4, seed=0):
    """A rank-2 problem with row weights, intercepts and noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.5
    W = rng.standard_normal((T, 2)) @ rng.standard_normal((2, d))
    sw = rng.uniform(0.5, 2.0, n)
    if layout.startswith("shared"):
        Y = X @ W.T + 0.3 * rng.standard_normal((n, T)) + 1.0
        if layout == "shared-missing":
            Y[rng.random((n, T)) < 0.2] = np.nan
        data = check_task_data(X, Y, sw)
    else:
        task = rng.integers(0, T, n)
        task[: 2 * T] = np.repeat(np.arange(T), 2)
        y = np.einsum("ij,ij->i", X, W[task]) + 0.3 * rng.standard_normal(n) + task
        Xt = np.column_stack([task, X])
        if layout == "stacked-sparse":
            Xt[:, 1:][rng.random((n, d)) < 0.5] = 0
            Xt = sp.csr_matrix(Xt)
        data = check_task_data(Xt, y, sw, task_column=0)
    return MultiTaskDesign(data, center=center)


def _solver(design, rank=2, alpha=0.3, tol=1e-10, max_iter=500):
    return AlternatingRRR(design, rank, alpha, tol=tol, max_iter=max_iter, verbose=0)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_forward_and_adjoint_match_the_design(layout, center):
    """``forward(U, V)`` is ``A(V U^T)``, ``adjoint_v(G, V)`` is ``A*(G)^T V``."""
    design = _design(layout, center=center)
    solver = _solver(design)
    rng = np.random.default_rng(1)
    U = rng.standard_normal((design.n_features, 2))
    V = rng.standard_normal((design.n_tasks, 2))
    G = rng.standard_normal(design.Y.shape)
    assert_allclose(solver.forward(U, V), design.forward(V @ U.T), atol=1e-12)
    assert_allclose(solver.adjoint_v(G, V), design.adjoint(G).T @ V, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_loadings_minimise_and_grad_u_is_the_gradient(layout):
    """The loadings are the exact minimiser for fixed ``U`` (zero gradient in
    ``V``), and ``grad_u`` matches central finite differences of the objective."""
    design = _design(layout)
    solver = _solver(design)
    U = solver.init_basis()
    assert_allclose(U.T @ U, np.eye(2), atol=1e-12)
    V = solver.loadings(U)
    F = design.omega * (solver.forward(U, V) - design.Y)
    grad_v = design.adjoint(F) @ U + solver.alpha * V @ (U.T @ U)
    assert_allclose(grad_v, 0.0, atol=1e-10)
    g = solver.grad_u(U, V)
    rng = np.random.default_rng(2)
    D = rng.standard_normal(U.shape)
    h = 1e-6
    diff = (
        solver.objective(V @ (U + h * D).T) - solver.objective(V @ (U - h * D).T)
    ) / (2 * h)
    assert diff == pytest.approx(float(np.sum(g * D)), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_alternations_decrease_the_objective(layout):
    """Each loadings step and each CG step on ``U`` (with its QR) is monotone;
    the QR leaves ``W = V U^T`` unchanged."""
    design = _design(layout)
    solver = _solver(design)
    U = solver.init_basis()
    previous = np.inf
    for _ in range(8):
        V = solver.loadings(U)
        value = solver.objective(V @ U.T)
        assert value <= previous + 1e-12 * abs(value)
        g = solver.grad_u(U, V)
        U, V = solver.u_step(U, V, float(np.linalg.norm(g)))
        assert_allclose(U.T @ U, np.eye(2), atol=1e-12)
        previous = solver.objective(V @ U.T)
        assert previous <= value + 1e-12 * abs(value)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_stationary_point_is_the_closed_form(alpha):
    """On a fully observed shared design the alternating solver's stationary
    point is the closed form's global minimiser; ``run`` reports it converged."""
    design = _design("shared")
    solver = _solver(design, alpha=alpha)
    U, V, n_iter, crit, converged = solver.run(solver.init_basis())
    assert converged and n_iter > 1
    V_exact, components = closed_form(design, 2, alpha)
    assert_allclose(V @ U.T, V_exact @ components, atol=1e-7)
    assert solver.objective(V @ U.T) == pytest.approx(
        solver.objective(V_exact @ components), rel=1e-10
    )


def test_run_stops_at_max_iter_unconverged():
    design = _design("stacked")
    U, V, n_iter, crit, converged = _solver(design, tol=0.0, max_iter=2).run(
        _solver(design).init_basis()
    )
    assert not converged and n_iter == 2 and crit > 0


def test_loadings_and_components_factor_with_decreasing_singular_values():
    rng = np.random.default_rng(3)
    E, _ = np.linalg.qr(rng.standard_normal((7, 3)))
    B = rng.standard_normal((3, 5))
    loadings, components = loadings_and_components(E, B)
    assert_allclose(loadings @ components, E @ B, atol=1e-12)
    assert_allclose(components @ components.T, np.eye(3), atol=1e-12)
    norms = np.linalg.norm(loadings, axis=0)
    assert_allclose(norms, np.linalg.svd(E @ B, compute_uv=False)[:3], rtol=1e-12)
