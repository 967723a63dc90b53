"""The shared trunk learns a representation that independent networks cannot.

Synthetic related tasks: 30 tasks, 10 training rows each, 10 features; every task is
a different linear read-out of the same two non-linear features,
``y_t = tanh(2 x @ U / sqrt(10)) @ a_t + 0.1 noise`` (``U`` is 10 x 2). No task alone
has the rows to learn ``U``; together they have 300.

Same budget on both sides: the multi-task network and one independent network per
task (``IndependentTaskEstimator``) have the same architecture (trunk of 8 tanh
units, linear output), optimiser, epochs and ``alpha``. ``alpha = 1`` is the best
value *for the independent networks* on the grid {0.01, 0.1, 1, 3} (mean held-out
R^2 0.07, 0.30, 0.41, 0.31 over 4 seeds), so the comparison favours the baseline.

Measured on 200 held-out rows per task (mean per-task R^2), seeds 0-3: multi-task
0.86 / 0.83 / 0.78 / 0.88, independent 0.42 / 0.43 / 0.35 / 0.46, a gap of at
least 0.40 on every seed. The test asks for 0.2 on each of 3 seeds (half the smallest
observed gap, leaving room for platform differences in floating point) and for an
absolute level of 0.7.

The trunk also recovers the shared subspace: the share of its first-layer weight
energy inside ``span(U)`` is 0.90-0.95 (chance: 2/10), against 0.62-0.65 for the
independent networks' first layers.
"""

import numpy as np
import pytest

from skmtl.baselines import IndependentTaskEstimator
from skmtl.metrics import explained_variance_per_task
from skmtl.neural_network import MultiTaskMLPRegressor

PARAMS = dict(
    hidden_layer_sizes=(8,),
    activation="tanh",
    learning_rate_init=0.01,
    max_iter=500,
    alpha=1.0,
    random_state=0,
)


def _related_tasks(seed, n_tasks=30, n_train=10, n_test=200, d=10, rank=2):
    rng = np.random.RandomState(seed)
    U = rng.standard_normal((d, rank))
    A = rng.standard_normal((n_tasks, rank))

    def draw(n):
        X = rng.standard_normal((n_tasks * n, d))
        task = np.repeat(np.arange(n_tasks), n)
        H = np.tanh(2 * X @ U / np.sqrt(d))
        y = np.einsum("ij,ij->i", H, A[task]) + 0.1 * rng.standard_normal(task.size)
        return np.column_stack([task, X]), y

    return U, draw(n_train), draw(n_test)


def _energy_in_span(W, U):
    Q, _ = np.linalg.qr(U)
    return np.sum((Q.T @ W) ** 2) / np.sum(W**2)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_trunk_beats_independent_networks_on_held_out_rows(seed):
    U, (X, y), (X_test, y_test) = _related_tasks(seed)
    mtl = MultiTaskMLPRegressor(task_column=0, **PARAMS).fit(X, y)
    ind = IndependentTaskEstimator(MultiTaskMLPRegressor(**PARAMS), task_column=0).fit(
        X, y
    )
    tasks = X_test[:, 0]
    r2_mtl = explained_variance_per_task(y_test, mtl.predict(X_test), tasks)
    r2_ind = explained_variance_per_task(y_test, ind.predict(X_test), tasks)
    assert r2_mtl > 0.7
    assert r2_mtl - r2_ind > 0.2
    share_mtl = _energy_in_span(mtl.coefs_[0], U)
    share_ind = np.mean([_energy_in_span(e.coefs_[0], U) for e in ind.estimators_])
    assert share_mtl > 0.8
    assert share_mtl > share_ind + 0.15
