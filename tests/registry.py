"""Every public estimator registers here, once, with small constructor parameters.

``ENTRIES[class name]`` lists the instances that ``test_common.py`` feeds to
scikit-learn's ``parametrize_with_checks`` (``task_column`` left at None, as the checks
expect) and that ``test_layouts.py`` re-parametrises with a ``task_column`` to check
the multi-task layout invariants. ``rtol`` is the tolerance of those invariants for
iterative solvers (row order changes floating-point summation order); ``xfail`` maps
a sklearn check name to the one-line reason it is expected to fail.
"""

from dataclasses import dataclass, field

from sklearn.linear_model import LogisticRegression, Ridge

from skmtl.baselines import IndependentTaskEstimator, PooledTaskEstimator
from skmtl.linear_model import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
    MultiTaskLasso,
    ReducedRankRegression,
    TraceNormLogisticRegression,
    TraceNormRegression,
)


@dataclass
class Entry:
    instances: list
    rtol: float = 1e-7
    xfail: dict = field(default_factory=dict)


ENTRIES = {
    "IndependentTaskEstimator": Entry(
        [
            IndependentTaskEstimator(Ridge()),
            IndependentTaskEstimator(LogisticRegression()),
        ]
    ),
    "PooledTaskEstimator": Entry(
        [
            PooledTaskEstimator(Ridge()),
            PooledTaskEstimator(LogisticRegression(), task_intercepts=True),
        ]
    ),
    # ---- skmtl.linear_model
    "MultiTaskLasso": Entry([MultiTaskLasso(alpha=0.01, tol=1e-10)], rtol=1e-6),
    "TraceNormRegression": Entry(
        [TraceNormRegression(alpha=0.01, tol=1e-10, max_iter=5000)], rtol=1e-6
    ),
    "TraceNormLogisticRegression": Entry(
        [TraceNormLogisticRegression(alpha=0.01, tol=1e-10, max_iter=5000)],
        rtol=1e-6,
    ),
    "ReducedRankRegression": Entry(
        [ReducedRankRegression(rank=1, tol=1e-12, max_iter=5000)], rtol=1e-6
    ),
    "ClusteredMultiTaskRegression": Entry(
        [ClusteredMultiTaskRegression(n_clusters=1, alpha=0.1, beta=0.01, tol=1e-12)],
        rtol=1e-6,
    ),
    "GraphRegularizedMultiTaskRegression": Entry(
        [
            GraphRegularizedMultiTaskRegression(alpha=0.1, tol=1e-12),
            GraphRegularizedMultiTaskRegression(alpha=0.01, l1_ratio=0.5, tol=1e-12),
        ],
        rtol=1e-6,
    ),
}


def all_instances():
    return [est for entry in ENTRIES.values() for est in entry.instances]


def expected_failed_checks(estimator):
    return ENTRIES[type(estimator).__name__].xfail


def rtol(estimator):
    return ENTRIES[type(estimator).__name__].rtol
