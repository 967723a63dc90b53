"""Per-task primitives of skmtl._ops against per-row loops and the adjoint identity."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import skmtl._ops as skmtl_ops
from skmtl._data import check_task_data
from skmtl._ops import (
    TaskScatter,
    count_runs,
    linear_output,
    task_dot,
    task_scatter,
    task_sum,
)

N, P, K, T = 37, 6, 3, 5  # K > 2 and K in (1, None) cover both scatter algorithms


def _data(sparse, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((N, P))
    X[rng.rand(N, P) < 0.4] = 0.0
    task = rng.randint(0, T - 1, size=N)  # task T-1 has no rows
    return (sp.csr_matrix(X) if sparse else X), X, task, rng


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("k", [None, 1, K])
def test_task_dot_matches_row_loop(sparse, k):
    Xin, X, task, rng = _data(sparse)
    W = rng.standard_normal((T, P) if k is None else (T, P, k))
    expected = np.array([X[i] @ W[task[i]] for i in range(N)])
    assert_allclose(task_dot(Xin, W, task), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("with_intercept", [False, True])
def test_linear_output_matches_row_loop(sparse, with_intercept):
    Xin, X, task, rng = _data(sparse)
    W, b = rng.standard_normal((T, P)), rng.standard_normal(T)
    b_or_none = b if with_intercept else None
    shift = b if with_intercept else np.zeros(T)
    stacked = [X[i] @ W[task[i]] + shift[task[i]] for i in range(N)]
    shared = [[X[i] @ W[t] + shift[t] for t in range(T)] for i in range(N)]
    out = linear_output(Xin, W, task, b_or_none)
    assert isinstance(out, np.ndarray) and out.shape == (N,)
    assert_allclose(out, stacked, rtol=1e-12, atol=1e-12)
    out = linear_output(Xin, W, None, b_or_none)
    assert isinstance(out, np.ndarray) and out.shape == (N, T)
    assert_allclose(out, shared, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_task_data_linear_output_follows_the_layout(layout):
    _, X, task, rng = _data(False)
    if layout == "stacked":
        y = rng.standard_normal(N)
        data = check_task_data(np.column_stack([task, X]), y, task_column=0)
    else:
        data = check_task_data(X, rng.standard_normal((N, T)))
    W, b = rng.standard_normal((data.n_tasks, P)), rng.standard_normal(data.n_tasks)
    codes = data.task_codes if layout == "stacked" else None
    assert_allclose(data.linear_output(W, b), linear_output(X, W, codes, b))
    expected_shape = (N,) if layout == "stacked" else (N, T)
    assert data.linear_output(W).shape == expected_shape


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("k", [None, 1, 2, K])
def test_task_scatter_matches_row_loop_and_is_adjoint(sparse, k):
    Xin, X, task, rng = _data(sparse, seed=1)
    R = rng.standard_normal(N if k is None else (N, k))
    G = task_scatter(Xin, R, task, T)
    expected = np.zeros((T, P) if k is None else (T, P, k))
    for i in range(N):
        expected[task[i]] += X[i] * R[i] if k is None else np.outer(X[i], R[i])
    assert G.shape == expected.shape
    assert_allclose(G, expected, rtol=1e-12, atol=1e-12)
    assert np.all(G[T - 1] == 0)  # a task without rows gets a zero gradient
    # adjoint: <task_dot(X, W), R> == <W, task_scatter(X, R)>
    W = rng.standard_normal(G.shape)
    lhs = np.sum(task_dot(Xin, W, task) * R)
    assert_allclose(lhs, np.sum(W * G), rtol=1e-12)


def test_task_scatter_blocked_equals_unblocked(monkeypatch):
    import skmtl._ops

    _, X, task, rng = _data(False, seed=3)
    R = rng.standard_normal((N, K))
    full = task_scatter(X, R, task, T)
    monkeypatch.setattr(skmtl._ops, "_BLOCK_ELEMENTS", 2 * P * K)  # 2 rows a block
    assert_allclose(task_scatter(X, R, task, T), full, rtol=1e-12)
    assert (
        task_scatter(X.astype(np.float32), R.astype(np.float32), task, T).dtype
        == np.float32
    )


@pytest.mark.parametrize("shape", [(N,), (N, K)])
def test_task_sum_matches_row_loop(shape):
    rng = np.random.RandomState(2)
    R = rng.standard_normal(shape).astype(np.float32)
    task = rng.randint(0, T, size=N)
    S = task_sum(R, task, T)
    expected = np.zeros((T,) + shape[1:])
    for i in range(N):
        expected[task[i]] += R[i]
    assert S.dtype == np.float32
    assert_allclose(S, expected, rtol=1e-5)


@pytest.mark.parametrize("sparse", [False, True])
def test_task_scatter_with_fixed_tasks_equals_task_scatter(sparse):
    """``TaskScatter`` (one indicator refilled per call) gives ``task_scatter``'s
    sums for every call, in the dtype of ``R``, with an empty task and tasks in
    any row order; a returned array is not overwritten by the next call."""
    rng = np.random.default_rng(3)
    n, d, T = 40, 6, 5
    task = rng.choice([0, 1, 3, 4], n)  # task 2 has no row
    X = rng.standard_normal((n, d))
    if sparse:
        X[rng.random(X.shape) < 0.5] = 0
        X = sp.csr_matrix(X)
    scatter = TaskScatter(task, T)
    first = None
    for dtype in (np.float64, np.float32, np.float64):
        for _ in range(2):
            R = rng.standard_normal(n).astype(dtype)
            got = scatter(X, R)
            want = task_scatter(X, R, task, T)
            assert got.dtype == want.dtype and got.shape == (T, d)
            assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-12)
            assert not np.any(got[2])
            if first is None:
                first, kept = got, got.copy()
    assert_allclose(first, kept, rtol=0)
    R2 = rng.standard_normal((n, 2))  # 2-D R: task_scatter itself
    assert_allclose(scatter(X, R2), task_scatter(X, R2, task, T), rtol=1e-12)


def _grouped(dtype, d=P, seed=5):
    """Rows grouped by task (the compiled products' case): runs of 4-12 rows,
    a task appearing in two runs, and task T - 1 without rows."""
    rng = np.random.RandomState(seed)
    sizes = [9, 12, 4, 10, 8]
    codes = [0, 1, 2, 0, 3]
    task = np.repeat(codes, sizes)
    X = rng.standard_normal((task.size, d)).astype(dtype)
    return X, task, rng


@pytest.mark.skipif(skmtl_ops._ops_fast is None, reason="compiled products not built")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [P, 0])
def test_compiled_products_on_grouped_rows_match_row_loops(dtype, d, monkeypatch):
    X, task, rng = _grouped(dtype, d)
    assert skmtl_ops._long_runs(task) is not None  # the compiled path applies
    W = rng.standard_normal((T, d)).astype(dtype)
    R = rng.standard_normal(task.size).astype(dtype)
    X.flags.writeable = W.flags.writeable = R.flags.writeable = False  # read-only ok
    n = task.size
    F = task_dot(X, W, task)
    G = task_scatter(X, R, task, T)
    G_fixed = TaskScatter(task, T)(X, R)
    Xd, Wd, Rd = (a.astype(np.float64) for a in (X, W, R))
    F_loop = np.array([Xd[i] @ Wd[task[i]] for i in range(n)])
    G_loop = np.zeros((T, d))
    for i in range(n):
        G_loop[task[i]] += Rd[i] * Xd[i]
    tol = 1e-12 if dtype == np.float64 else 2e-5  # float32: ~10 products summed
    for got, want in ((F, F_loop), (G, G_loop), (G_fixed, G_loop)):
        assert got.dtype == dtype
        assert_allclose(got, want, rtol=tol, atol=tol)
    assert np.all(G[T - 1] == 0)
    # the numpy code gives the same numbers up to rounding
    monkeypatch.setattr(skmtl_ops, "ENABLED", False)
    assert_allclose(task_dot(X, W, task), F, rtol=tol, atol=tol)
    assert_allclose(task_scatter(X, R, task, T), G, rtol=tol, atol=tol)
    assert_allclose(TaskScatter(task, T)(X, R), G, rtol=tol, atol=tol)


def test_compiled_products_skip_short_runs_and_strided_rows():
    X, task, rng = _grouped(np.float64)
    assert skmtl_ops._long_runs(rng.permutation(task)) is None  # runs of ~1 row
    W = rng.standard_normal((T, P))
    Xs = np.asfortranarray(X)  # not C-contiguous: the numpy code
    assert not skmtl_ops._dense_pair(Xs, W)
    assert_allclose(task_dot(Xs, W, task), task_dot(X, W, task), rtol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    runs=st.lists(
        st.tuples(st.integers(0, 4), st.integers(1, 20)), min_size=1, max_size=8
    ),
    d=st.integers(0, 7),
    single=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_compiled_products_equal_numpy_on_any_runs(runs, d, single, seed):
    """Property: on rows in any runs of task codes (repeated tasks, empty tasks,
    runs of one row) the products give numpy's numbers, compiled or not."""
    task = np.repeat([t for t, _ in runs], [m for _, m in runs])
    rng = np.random.default_rng(seed)
    dtype = np.float32 if single else np.float64
    X = rng.standard_normal((task.size, d)).astype(dtype)
    W = rng.standard_normal((5, d)).astype(dtype)
    R = rng.standard_normal(task.size).astype(dtype)
    got = (
        task_dot(X, W, task),
        task_scatter(X, R, task, 5),
        TaskScatter(task, 5)(X, R),
    )
    with pytest.MonkeyPatch.context() as m:
        m.setattr(skmtl_ops, "ENABLED", False)
        want = (
            task_dot(X, W, task),
            task_scatter(X, R, task, 5),
            TaskScatter(task, 5)(X, R),
        )
    tol = 1e-12 if dtype == np.float64 else 1e-4
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert_allclose(g, w, rtol=tol, atol=tol)


def test_count_runs():
    assert count_runs(np.array([], dtype=int)) == 0
    assert count_runs([4]) == 1
    assert count_runs([0, 0, 1, 1, 0, 2, 2, 2]) == 4
