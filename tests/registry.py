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
from skmtl.kernel_ridge import MultiTaskKernelRidge
from skmtl.svm import MultiTaskSVC, MultiTaskSVR

# scikit-learn marks the same checks as expected failures for SVC, SVR, LinearSVC and
# LinearSVR themselves (meta-issue #16298): libsvm/liblinear stop on a tolerance, so
# a weight of 2 and a repeated row give solutions equal only up to that tolerance.
_SW_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
}


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
    "MultiTaskSVC": Entry(
        [
            MultiTaskSVC(tol=1e-8),
            MultiTaskSVC(
                kernel="linear", solver="linear", tol=1e-6, random_state=0
            ),
        ],
        xfail=_SW_XFAIL,
    ),
    "MultiTaskSVR": Entry(
        [
            MultiTaskSVR(tol=1e-8),
            MultiTaskSVR(
                C=0.1,
                kernel="linear",
                solver="linear",
                intercept_scaling=1.0,  # converges in ~200 liblinear epochs here
                tol=1e-6,
                random_state=0,
            ),
        ],
        rtol=1e-3,  # liblinear's L1-loss SVR stops at a relative gradient norm
        xfail=_SW_XFAIL,
    ),
    "MultiTaskKernelRidge": Entry(
        [
            MultiTaskKernelRidge(),
            MultiTaskKernelRidge(kernel="rbf", mu=0.5),
            MultiTaskKernelRidge(solver="linear", mu=2.0),
        ]
    ),
}


def all_instances():
    return [est for entry in ENTRIES.values() for est in entry.instances]


def expected_failed_checks(estimator):
    return ENTRIES[type(estimator).__name__].xfail


def rtol(estimator):
    return ENTRIES[type(estimator).__name__].rtol
