"""The MLP's compiled step kernels (``skmtl/neural_network/_nn_fast.pyx``) against
the numpy code they replace (``_kernels.ENABLED`` switched off).

Both run the same floating-point operations (the sums of the gradients over each
task's rows in row order, the matrix-vector products in BLAS or SIMD order), so a
single call agrees to rounding: relative 1e-12 in float64 (a few ulps of sums of at
most a few hundred terms), 1e-5 in float32. Whole fits compare the parameters after
a few epochs, where rounding differences pass through a few hundred Adam steps
(``m / (sqrt(v) + eps)`` amplifies a relative error of the gradient by at most its
own size): 1e-9 relative.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skmtl.neural_network import MultiTaskMLPClassifier, MultiTaskMLPRegressor, _kernels
from skmtl.neural_network._base import TrainingSet
from skmtl.neural_network._losses import SquaredLoss, TaskLogLoss
from skmtl.neural_network._network import MultiTaskNetwork, SharedHead
from skmtl.neural_network._optimizers import AdamOptimizer
from skmtl.neural_network._weighting import static_weights

pytestmark = pytest.mark.skipif(
    not _kernels.AVAILABLE, reason="the compiled kernels were not built (no compiler)"
)

RTOL = {np.float64: 1e-12, np.float32: 1e-5}


class _Counting:
    """Stands for the ``_nn_fast`` module and counts the calls of each kernel."""

    def __init__(self, module):
        self.module, self.calls = module, {}

    def __getattr__(self, name):
        def call(*args):
            self.calls[name] = self.calls.get(name, 0) + 1
            return getattr(self.module, name)(*args)

        return call


@pytest.fixture
def counting(monkeypatch):
    """The kernels' call counts (checks that the compiled path did run)."""
    proxy = _Counting(_kernels._nn_fast)
    monkeypatch.setattr(_kernels, "_nn_fast", proxy)
    return proxy.calls


@pytest.fixture
def numpy_path(monkeypatch):
    """Call ``f()`` with the kernels off; returns its result."""

    def run(f):
        monkeypatch.setattr(_kernels, "ENABLED", False)
        try:
            return f()
        finally:
            monkeypatch.setattr(_kernels, "ENABLED", True)

    return run


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_dense_and_rows_equal_numpy(dtype, numpy_path, counting):
    rng = np.random.RandomState(0)
    shapes = [(7, 5), (30, 6, 2), (30, 2), (30,)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    steps = []
    for _ in range(4):  # dense and lazy steps, rows in no particular order
        rows = [None, rng.choice(30, 9, replace=False), np.array([3, 0, 29]), None]
        grads = [
            rng.standard_normal(
                p.shape if r is None else (len(r),) + p.shape[1:]
            ).astype(dtype)
            for p, r in zip(params, rows)
        ]
        grads[1] = np.asfortranarray(grads[1])  # non-contiguous gradients too
        steps.append((grads, rows))

    def run():
        ps = [p.copy() for p in params]
        opt = AdamOptimizer(ps, 0.01)
        for grads, rows in steps:
            opt.update_params(ps, grads, rows)
        return ps, opt.moments

    fast, fast_moments = run()
    assert counting == {"adam_dense": 8, "adam_rows": 8}
    slow, slow_moments = numpy_path(run)
    assert counting == {"adam_dense": 8, "adam_rows": 8}
    for a, b in zip(fast + fast_moments, slow + slow_moments):
        assert a.dtype == dtype
        assert_allclose(a, b, rtol=RTOL[dtype], atol=0)
    assert not np.allclose(fast[0], params[0])  # the steps moved the parameters


def _stacked(n_tasks, width_heads, classification, dtype, rng, shared=None):
    n, p = 120, 6
    X = rng.standard_normal((n, p)).astype(dtype)
    task = rng.randint(0, n_tasks, n)
    task[:3] = [0, n_tasks - 1, 1]
    if classification:
        n_classes = np.array([2, 3] * (n_tasks // 2))
        loss = TaskLogLoss(n_classes)
        y = rng.randint(0, 3, n) % n_classes[task]
    else:
        loss = SquaredLoss(n_tasks)
        y = rng.standard_normal(n).astype(dtype)
    ts = TrainingSet(X, y, task, rng.uniform(0.5, 2, n).astype(dtype), n_tasks)
    units = [p, 8]
    coefs = [rng.standard_normal((p, 8)).astype(dtype)]
    intercepts = [rng.standard_normal(8).astype(dtype)]
    head_units = units[-1:] + width_heads + [loss.width]
    for a, b in zip(head_units, head_units[1:]):
        coefs.append(rng.standard_normal((n_tasks, a, b)).astype(dtype) * 0.5)
        intercepts.append(rng.standard_normal((n_tasks, b)).astype(dtype) * 0.3)
    head = None
    if shared:  # (alpha_heads, alpha_intercepts)
        head = SharedHead(
            rng.standard_normal(coefs[-1].shape[1:]).astype(dtype),
            rng.standard_normal(loss.width).astype(dtype),
            *shared,
        )
    net = MultiTaskNetwork(coefs, intercepts, 1, "relu", loss, head)
    return net, ts


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("classification", [False, True])
@pytest.mark.parametrize("heads", [[], [5]])
@pytest.mark.parametrize("shared", [None, (2.0, 0.5), (0.0, 0.5), (2.0, 0.0)])
def test_head_forward_backward_equal_numpy(
    dtype, classification, heads, shared, numpy_path, counting
):
    """Gathered head layers (40 tasks: past the few-task dense product), linear
    and hidden heads, output widths 1 and 3, a batch holding some of the tasks,
    free heads and a shared output part (weights and bias, either alone)."""
    rng = np.random.RandomState(1)
    net, ts = _stacked(40, heads, classification, dtype, rng, shared)
    lam = static_weights("size", ts.sizes)
    batch = ts.batch(np.arange(50))
    assert batch.rows is not None  # some tasks absent from the batch
    assert counting.pop("batch_tasks") == 1
    slow_batch = numpy_path(lambda: ts.batch(np.arange(50)))
    assert_array_equal(batch.rows, slow_batch.rows)
    assert_array_equal(batch.local, slow_batch.local)
    assert_array_equal(ts._mark, -1)  # the scratch is left clean

    def run():
        value, grads, rows, task_loss = net.objective(batch, 0.3, lam=lam)
        out = net.forward(ts.X, ts.task_codes)[-1]
        return [np.asarray(value), out, task_loss] + grads, rows

    fast, fast_rows = run()
    n_layers = 1 + len(heads)  # gathered layers, each once in forward and backward
    assert counting == {
        "head_forward": 2 * n_layers,
        "head_backward": n_layers,
        "head_penalty": n_layers,
    }
    slow, slow_rows = numpy_path(run)
    assert counting["head_backward"] == n_layers
    for r, s in zip(fast_rows, slow_rows):
        assert (r is None and s is None) or np.array_equal(r, s)
    for a, b in zip(fast, slow):
        assert a.shape == b.shape
        assert_allclose(a, b, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(b).max())


@pytest.mark.parametrize(
    "Est, y_kind", [(MultiTaskMLPRegressor, "reg"), (MultiTaskMLPClassifier, "clf")]
)
def test_fit_equal_numpy(Est, y_kind, numpy_path, counting):
    """Three epochs of mini-batch Adam on 30 tasks: the same fitted network."""
    rng = np.random.RandomState(2)
    n, T = 600, 30
    task = rng.randint(0, T, n)
    X = rng.standard_normal((n, 5))
    z = X @ rng.standard_normal(5) + rng.standard_normal(T)[task]
    y = z + 0.1 * rng.standard_normal(n) if y_kind == "reg" else (z > 0).astype(int)
    Xs = np.column_stack([task, X])

    def fit():
        est = Est(
            (8,),
            task_column=0,
            batch_size=64,
            max_iter=3,
            learning_rate_init=0.01,
            random_state=0,
        )
        with pytest.warns(Warning):  # max_iter reached
            est.fit(Xs, y)
        return est.coefs_ + est.intercepts_ + [est.coef_shared_, est.intercept_shared_]

    fast = fit()
    assert counting["head_backward"] > 0 and counting["adam_rows"] > 0
    slow = numpy_path(fit)
    for a, b in zip(fast, slow):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("n_tasks", [5, 300, 5000])
def test_batch_tasks_equal_numpy(n_tasks, numpy_path, counting):
    """The batch's tasks (sorted) and each row's position among them, with all,
    some, and few of the tasks in the batch."""
    rng = np.random.RandomState(3)
    n = 200
    task = rng.randint(0, n_tasks, n)
    ts = TrainingSet(np.ones((n, 1)), np.zeros(n), task, np.ones(n), n_tasks)
    for idx in (np.arange(n), rng.permutation(n)[:37]):
        fast = ts.batch(idx)
        slow = numpy_path(lambda: ts.batch(idx))
        assert (fast.rows is None) == (slow.rows is None) == (n_tasks == 5)
        if fast.rows is not None:
            assert_array_equal(fast.rows, slow.rows)
        assert_array_equal(fast.local, slow.local)
        assert fast.n_present == slow.n_present
        assert_array_equal(ts._mark, -1)
    assert counting == {"batch_tasks": 2}
