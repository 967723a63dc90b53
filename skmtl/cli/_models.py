"""Models that ``skmtl demo`` and ``skmtl compare`` know, by name.

Each entry maps a name to a :class:`ModelSpec` whose ``factory(task_column, kind)``
returns an unfitted estimator taking the task label at ``task_column`` (``kind`` is
``"regression"`` or ``"classification"``). Families add their models here.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import GridSearchCV

from ..baselines import IndependentTaskEstimator, PooledTaskEstimator
from ..linear_model import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
    ReducedRankRegression,
    TraceNormLogisticRegression,
    TraceNormRegression,
)
from ..metrics import make_task_scorer
from ..model_selection import TaskStratifiedKFold

ALPHAS = np.logspace(-3, 4, 15)


@dataclass(frozen=True)
class ModelSpec:
    factory: Callable
    kinds: tuple
    description: str
    default: bool = True


def _base(kind):
    if kind == "regression":
        return RidgeCV(alphas=ALPHAS)
    return LogisticRegression(max_iter=1000)


def _tuned(estimator, grid, tc, kind):
    """``GridSearchCV`` over ``grid`` with task-stratified 3-fold CV."""
    metric = "r2" if kind == "regression" else "accuracy"
    return GridSearchCV(
        estimator,
        grid,
        cv=TaskStratifiedKFold(3, task_column=tc),
        scoring=make_task_scorer(metric, task_column=tc),
    )


def _trace_norm(tc, kind):
    if kind == "regression":
        est = TraceNormRegression(task_column=tc)
        return _tuned(est, {"alpha": np.logspace(-1, 2, 4)}, tc, kind)
    est = TraceNormLogisticRegression(task_column=tc)
    return _tuned(est, {"alpha": np.logspace(-3, 0, 4)}, tc, kind)


MODELS = {
    "independent": ModelSpec(
        lambda tc, kind: IndependentTaskEstimator(_base(kind), task_column=tc),
        ("regression", "classification"),
        "one ridge (logistic) model per task, alpha by leave-one-out CV",
    ),
    "pooled": ModelSpec(
        lambda tc, kind: PooledTaskEstimator(_base(kind), task_column=tc),
        ("regression", "classification"),
        "one ridge (logistic) model for all tasks, task label dropped",
    ),
    "pooled_intercepts": ModelSpec(
        lambda tc, kind: PooledTaskEstimator(
            _base(kind), task_column=tc, task_intercepts=True
        ),
        ("regression", "classification"),
        "pooled model plus one-hot task indicators (a shrunken intercept per task)",
    ),
    "trace_norm": ModelSpec(
        _trace_norm,
        ("regression", "classification"),
        "nuclear-norm penalty: tasks share a low-rank subspace (alpha by 3-fold CV)",
    ),
    "reduced_rank": ModelSpec(
        lambda tc, kind: _tuned(
            ReducedRankRegression(alpha=1.0, task_column=tc),
            {"rank": [1, 2, 3, 5]},
            tc,
            kind,
        ),
        ("regression",),
        "hard rank-k shared basis W = V U^T (rank by 3-fold CV)",
        default=False,
    ),
    "clustered": ModelSpec(
        lambda tc, kind: _tuned(
            ClusteredMultiTaskRegression(n_clusters=3, beta=0.1, task_column=tc),
            {"alpha": np.logspace(-1, 2, 4)},
            tc,
            kind,
        ),
        ("regression",),
        "convex clustered MTL, 3 task clusters (alpha by 3-fold CV)",
        default=False,
    ),
    "graph": ModelSpec(
        lambda tc, kind: _tuned(
            GraphRegularizedMultiTaskRegression(task_column=tc),
            {"alpha": np.logspace(-2, 2, 5)},
            tc,
            kind,
        ),
        ("regression",),
        "all task pairs pulled together, sum ||w_s - w_t||^2 (alpha by 3-fold CV)",
        default=False,
    ),
}


def select_models(names, kind):
    """``{name: spec}`` for ``names`` (default models when None) supporting ``kind``."""
    if names is None:
        names = [n for n, s in MODELS.items() if s.default and kind in s.kinds]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise SystemExit(
            f"skmtl: unknown model(s) {unknown}; choose from {sorted(MODELS)}."
        )
    wrong = [n for n in names if kind not in MODELS[n].kinds]
    if wrong:
        raise SystemExit(f"skmtl: model(s) {wrong} do not support {kind}.")
    return {n: MODELS[n] for n in names}
