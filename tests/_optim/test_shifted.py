"""Shifted solves ``(H_t + r I)^{-1}`` (``skmtl._optim.shifted``) against dense
linear algebra, and ADMM on both representations."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import skmtl._optim.shifted as shifted
from skmtl._data import validate_fit_data
from skmtl._optim.admm import admm_quadratic, centred_factors
from skmtl._optim.datafits import Quadratic
from skmtl._optim.design import MultiTaskDesign, gram_eigh, task_grams
from skmtl._optim.intercepts import Intercepts
from skmtl._optim.penalties import TraceNorm
from skmtl._optim.shifted import EigenShifts, GramShifts, as_shifts, task_shifts
from skmtl.linear_model import TraceNormRegression


def _grams(T=4, n=30, d=6, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((T, n, d)) * rng.uniform(0.1, 10.0, size=d)
    return np.einsum("tni,tnj->tij", Z, Z)


def _dense_solve(H, B, r):
    eye = np.eye(H.shape[1])
    return np.stack([np.linalg.solve(Ht + r * eye, b) for Ht, b in zip(H, B)])


@pytest.mark.parametrize("kind", ["gram", "eigen"])
def test_operations_match_dense_linear_algebra(kind):
    """solve / apply / inverse_sum / mean_trace of both representations equal
    their dense definitions, for shifts from 1e-3 to 1e3 of the mean curvature
    (more distinct shifts than GramShifts inverts: the later ones go through
    its eigendecomposition)."""
    H = _grams()
    shifts = GramShifts(H) if kind == "gram" else EigenShifts(*gram_eigh(H)[::-1])
    rng = np.random.default_rng(1)
    B = rng.standard_normal((H.shape[0], H.shape[1]))
    scale = np.trace(H, axis1=1, axis2=2).mean() / H.shape[1]
    assert_allclose(shifts.mean_trace(), np.trace(H, axis1=1, axis2=2).mean())
    assert_allclose(shifts.apply(B), np.einsum("tij,tj->ti", H, B), rtol=1e-12)
    for r in scale * np.array([1e-3, 1.0, 1e3, 0.5, 1.0, 2.0, 1e-3]):
        expected = _dense_solve(H, B, r)
        # the dense solve's own error is eps cond(H + r I) relative
        cond = max(np.linalg.cond(Ht + r * np.eye(H.shape[1])) for Ht in H)
        tol = 50 * cond * np.finfo(float).eps
        assert_allclose(shifts.solve(B, r), expected, rtol=tol, atol=tol * 1e-3)
        inv = sum(np.linalg.inv(Ht + r * np.eye(H.shape[1])) for Ht in H)
        assert_allclose(shifts.inverse_sum(r), inv, rtol=tol, atol=tol * 1e-3)
    if kind == "gram":
        assert len(shifts._inverses) == shifted._MAX_INVERSES
        assert shifts._eigen is not None  # the fourth distinct shift


def test_gram_shifts_fall_back_without_losing_digits(monkeypatch):
    """A shift too small for an explicit inverse (below 1 / _INVERSE_COND of
    the largest trace), inverses over the float budget and a failed Cholesky
    factorisation all go through the eigendecomposition; a broadcast
    right-hand side is accepted."""
    H = _grams()
    with monkeypatch.context() as m:
        m.setattr(shifted, "_FACTOR_BUDGET", 2 * H.size - 1)  # room for one
        shifts = GramShifts(H)
        B = np.ones(H.shape[:2])
        for r in (1.0, 2.0):
            assert_allclose(shifts.solve(B, r), _dense_solve(H, B, r), rtol=1e-10)
        assert list(shifts._inverses) == [1.0] and shifts._eigen is not None
    tiny = 1e-10 * np.trace(H, axis1=1, axis2=2).max()
    shifts = GramShifts(H)
    B = np.broadcast_to(np.ones(H.shape[1]), H.shape[:2])
    assert_allclose(shifts.solve(B, tiny), _dense_solve(H, B, tiny), rtol=1e-4)
    assert not shifts._inverses and shifts._eigen is not None
    # not positive definite: H_0 + r I has a negative eigenvalue
    bad = H.copy()
    bad[0] -= 2 * np.linalg.eigvalsh(H[0])[-1] * np.eye(H.shape[1])
    failed = GramShifts(bad)
    assert failed._inverse(1.0) is None
    # the failure is not retried: every new shift goes to the eigenpairs
    assert failed._eigen is not None and not failed._inverses


def test_eigen_shifts_of_one_group_serve_every_task():
    """One factorisation for all tasks (fully observed shared layout): task t's
    Gram is that of task 0 times ``omega_t / omega_0``."""
    H = _grams(T=1)
    omega = np.array([0.5, 1.0, 2.0])
    shifts = EigenShifts(*gram_eigh(H)[::-1]).for_tasks(omega)
    B = np.random.default_rng(2).standard_normal((3, H.shape[1]))
    expected = _dense_solve(H[0] * (omega / omega[0])[:, None, None], B, 0.7)
    assert_allclose(shifts.solve(B, 0.7), expected, rtol=1e-10)
    assert as_shifts((shifts.V, shifts.s2)).shape == (3, H.shape[1], H.shape[1])


def _design(n_t, d=5, T=4, seed=0):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(T), n_t)
    X = np.column_stack([task, rng.standard_normal((T * n_t, d)) + 2.0])
    y = rng.standard_normal(T * n_t) + task
    data = validate_fit_data(TraceNormRegression(task_column=0), X, y)
    return data


@pytest.mark.parametrize("n_t, kind", [(10, GramShifts), (9, EigenShifts)])
def test_task_shifts_pick_grams_for_tall_tasks(n_t, kind):
    """Every task tall (n_t >= 2 d): GramShifts, else EigenShifts; both hold the
    tasks' weighted centred Grams."""
    design = MultiTaskDesign(_design(n_t), center=True)
    shifts = task_shifts(design)
    assert type(shifts) is kind
    if kind is GramShifts:  # one copy of the Grams: the design's cache views it
        assert all(np.shares_memory(shifts.H, g) for g in design._grams.values())
    H = []
    for t, rows in enumerate(design._task_groups()):
        Z = np.sqrt(design.omega[rows])[:, None] * (design.X[rows] - design.X_mean[t])
        H.append(Z.T @ Z)
    B = np.random.default_rng(3).standard_normal((4, 5))
    assert_allclose(shifts.solve(B, 0.3), _dense_solve(np.array(H), B, 0.3))


@pytest.mark.parametrize("alpha_mean", [0.0, 1.0])
@pytest.mark.parametrize("joint", [False, True])
def test_admm_same_optimum_from_grams_and_eigenpairs(joint, alpha_mean):
    """ADMM reaches the same certified optimum from GramShifts as from the
    eigenpairs of the same Grams (free intercepts by centring, or hierarchical
    intercepts fitted jointly; with and without the mean shrinkage)."""
    data = _design(20)
    if joint:
        design = MultiTaskDesign(data)
        design.intercepts = Intercepts(0.5, design.task_omega)
        factors = centred_factors(design)
        assert type(factors[0]) is GramShifts
        eigen = (EigenShifts(*gram_eigh(factors[0].H)[::-1]),) + factors[1:]
        b0 = np.zeros(design.n_tasks)
    else:
        design = MultiTaskDesign(data, center=True)
        factors = task_shifts(design)
        assert type(factors) is GramShifts
        eigen = design.task_right_factors()
        b0 = None
    alpha = 0.05 * np.linalg.norm(design.adjoint(design.omega * design.Y), 2)
    runs = [
        admm_quadratic(
            design,
            Quadratic(),
            TraceNorm(alpha),
            np.zeros((4, 5)),
            f,
            b0=b0,
            alpha_mean=alpha_mean,
            tol=1e-11,
            max_iter=20000,
        )
        for f in (factors, eigen)
    ]
    assert runs[0].converged and runs[1].converged
    # both gaps certify 1e-11 of the null objective
    assert_allclose(runs[0].primal, runs[1].primal, rtol=1e-9)
    assert_allclose(runs[0].W, runs[1].W, atol=1e-4)


@pytest.mark.skipif(shifted._gram_fast is None, reason="compiled loops not built")
def test_compiled_gram_loops_equal_the_lapack_calls(monkeypatch):
    """``_gram_fast`` gives the numbers of the ``scipy.linalg.lapack`` loops it
    replaces: the shifted inverses (and their failure on a Gram that is not
    positive definite), and the least-squares dual of an all-tall design (and
    None on an ill-conditioned Gram)."""
    import skmtl._optim.design as design_module

    H = _grams()
    bad = H.copy()
    bad[2] -= 2 * np.linalg.eigvalsh(H[2])[-1] * np.eye(H.shape[1])
    B = np.random.default_rng(3).standard_normal(H.shape[:2])

    def run():
        good, failed = GramShifts(H), GramShifts(bad)
        return [good.solve(B, r) for r in (0.5, 3.0)] + [
            good._inverse(0.5),
            failed._inverse(1.0),
            failed._eigen is not None,
        ]

    def lstsq(ill):
        rng = np.random.default_rng(0)
        X = np.column_stack([np.repeat(np.arange(4), 40), rng.random((160, 5))])
        y = rng.standard_normal(160)
        if ill:  # task 1's last feature repeats its first to 1e-9
            X[40:80, -1] = X[40:80, 1] * (1 + 1e-9)
        data = validate_fit_data(TraceNormRegression(task_column=0), X, y)
        d = MultiTaskDesign(data, center=True)
        return design_module._tall_lstsq_dual(d, d._task_groups())

    compiled = run() + [lstsq(False), lstsq(True)]
    monkeypatch.setattr(shifted, "_gram_fast", None)
    monkeypatch.setattr(design_module, "_gram_fast", None)
    python = run() + [lstsq(False), lstsq(True)]
    for a, b in zip(compiled, python):
        if isinstance(a, np.ndarray):
            assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        else:
            assert a == b or (a is None and b is None)
    assert compiled[3] is None and compiled[4] is True
    assert compiled[5] is not None and compiled[6] is None


@pytest.mark.skipif(shifted._gram_fast is None, reason="compiled loops not built")
@pytest.mark.parametrize("case", ["sorted", "shuffled", "shared", "float32", "shift"])
def test_compiled_task_grams_equal_the_numpy_blocks(case, monkeypatch):
    """``task_grams`` by ``_gram_fast.weighted_grams`` (rows of each task in one
    range, as the design groups them) gives the Grams of the numpy blocks;
    float32 designs take the numpy code. Size-weighted loss weights, so that rows
    are scaled unequally."""
    import skmtl._optim.design as design_module

    rng = np.random.default_rng(4)
    T, n_t, d = 3, 14, 4
    task = np.repeat(np.arange(T), n_t + np.arange(T))
    X = rng.standard_normal((task.size, d)) * 3.0 + 10.0
    y = rng.standard_normal(task.size)
    if case == "shuffled":
        order = rng.permutation(task.size)
        task, X, y = task[order], X[order], y[order]
    if case == "shared":
        X, y = X[: 2 * n_t], rng.standard_normal((2 * n_t, T))
        model = TraceNormRegression(task_weighting="size")
        data = validate_fit_data(model, X.astype(np.float64), y)
    else:
        model = TraceNormRegression(task_column=0, task_weighting="size")
        Xs = np.column_stack([task, X]).astype(
            np.float32 if case == "float32" else np.float64
        )
        data = validate_fit_data(model, Xs, y)
    shift = rng.standard_normal((T, d)) if case == "shift" else None

    def grams():
        des = MultiTaskDesign(data, center=True, task_weighting="size")
        return des, task_grams(des, shift)

    des, compiled = grams()
    applies = design_module._compiled_grams(
        des, des._task_groups(), shift, np.empty_like(compiled)
    )
    assert applies == (case != "float32")
    monkeypatch.setattr(design_module, "_gram_fast", None)
    _, numpy_grams = grams()
    assert_allclose(compiled, numpy_grams, rtol=1e-12, atol=1e-12)


def test_unshifted_solves_or_nan(monkeypatch):
    """``solve(B, 0)``: ``H_t^{-1} b_t`` where every Gram is non-singular (ADMM's
    stationary dual point at ``rho = 0``), NaN otherwise (it is then unused)."""
    H = _grams()
    B = np.random.default_rng(5).standard_normal(H.shape[:2])
    expected = np.stack([np.linalg.solve(Ht, b) for Ht, b in zip(H, B)])
    cond = max(np.linalg.cond(Ht) for Ht in H)
    tol = 50 * cond * np.finfo(float).eps
    for shifts in (GramShifts(H), EigenShifts(*gram_eigh(H)[::-1])):
        assert_allclose(shifts.solve(B, 0.0), expected, rtol=tol, atol=tol)
        # again: GramShifts by the inverses its first call kept
        assert_allclose(shifts.solve(B, 0.0), expected, rtol=tol, atol=tol)
    with monkeypatch.context() as m:  # H^-1 over the float budget: solves again
        m.setattr(shifted, "_FACTOR_BUDGET", H.size - 1)
        over = GramShifts(H)
        for _ in range(2):
            assert_allclose(over.solve(B, 0.0), expected, rtol=tol, atol=tol)
        assert over._unshifted is True
    singular = H.copy()
    singular[1] = np.outer(H[1, 0], H[1, 0])  # rank one
    V, s2 = gram_eigh(singular)[::-1]
    for shifts in (
        GramShifts(singular),
        EigenShifts(V, s2),
        EigenShifts(V[:, :, :2], s2[:, :2]),
    ):
        for _ in range(2):  # (GramShifts: the second from its kept verdict)
            assert np.all(np.isnan(shifts.solve(B, 0.0)))
