"""Models that ``skmtl demo`` and ``skmtl compare`` know, by name.

Each entry maps a name to a :class:`ModelSpec` whose ``factory(task_column, kind)``
returns an unfitted estimator taking the task label at ``task_column`` (``kind`` is
``"regression"`` or ``"classification"``). Families add their models here.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from ..baselines import IndependentTaskEstimator, PooledTaskEstimator
from ..kernel_ridge import MultiTaskKernelRidgeCV
from ..linear_model import (
    BayesianHierarchicalClassifier,
    BayesianHierarchicalRegression,
    ClusteredMultiTaskRegressionCV,
    GraphRegularizedMultiTaskRegressionCV,
    HierarchicalLogisticRegressionCV,
    HierarchicalRidgeCV,
    MultiTaskElasticNetCV,
    MultiTaskLassoCV,
    MultiTaskLogisticLassoCV,
    ReducedRankRegression,
    TraceNormLogisticRegressionCV,
    TraceNormRegressionCV,
)
from ..metrics import make_task_scorer
from ..model_selection import TaskStratifiedKFold
from ..neural_network import MultiTaskMLPClassifier, MultiTaskMLPRegressor
from ..svm import MultiTaskSVC, MultiTaskSVR, multitask_svm_grid

ALPHAS = np.logspace(-3, 4, 15)
# the path CV forms: a short warm-started path, 3 task-stratified folds (cheap
# enough for the demo; the estimators' own defaults are 20 values and 5 folds)
PATH = dict(alphas=10, cv=3)


@dataclass(frozen=True)
class ModelSpec:
    factory: Callable
    kinds: tuple
    description: str
    default: bool = True


def _centred(regressor):
    """Standardise the target: the SVR's ``epsilon`` is in target units."""
    return TransformedTargetRegressor(regressor, transformer=StandardScaler())


def _kernel_svm(tc, kind):
    """Linear shared-kernel SVM on liblinear's exact path, tuned over C x mu x
    alpha_intercepts (``multitask_svm_grid``: the grid nests pooled, independent
    and task-dummy models; the SVC weights classes "balanced", which the
    imbalanced Landmine tasks needed)."""
    params = dict(kernel="linear", solver="linear", task_column=tc, random_state=0)
    grid = multitask_svm_grid()
    if kind == "regression":
        # tol=1e-2: liblinear's SVR needs 3-4x fewer epochs than at 1e-3 on
        # School, R^2 changing by less than 0.005
        svr = MultiTaskSVR(tol=1e-2, **params)
        return _centred(_tuned(svr, grid, tc, kind))
    svc = MultiTaskSVC(class_weight="balanced", **params)
    return _tuned(svc, grid, tc, kind)


def _base(kind):
    if kind == "regression":
        return RidgeCV(alphas=ALPHAS)
    return LogisticRegression(max_iter=1000)


def _mlp(task_column, kind):
    # the grid of benchmarks/bench_realdata.py (reasons there, measured on School,
    # Computer Survey, Parkinsons and Landmine at ratios 0.1 and 0.3): no early
    # stopping (it holds out rows of tiny tasks and never refits on them), the head
    # shrinkage alpha_heads tuned next to the trunk's alpha (inf: one shared output
    # layer plus shrunk task intercepts, what CV picks on tasks of a few rows), a
    # learning rate that trains small sets within 200 epochs
    params = dict(
        hidden_layer_sizes=(32,),
        task_column=task_column,
        learning_rate_init=0.003,
        random_state=0,
    )
    grid = {"alpha": [1.0, 10.0], "alpha_heads": [1.0, np.inf]}
    if kind == "classification":
        return _tuned(MultiTaskMLPClassifier(**params), grid, task_column, kind)
    # (the regressor standardises its target itself: normalize_y=True)
    return _tuned(MultiTaskMLPRegressor(**params), grid, task_column, kind)


def _tuned(estimator, grid, tc, kind):
    """``GridSearchCV`` over ``grid`` with task-stratified 3-fold CV."""
    metric = "r2" if kind == "regression" else "accuracy"
    return GridSearchCV(
        estimator,
        grid,
        cv=TaskStratifiedKFold(3, task_column=tc),
        scoring=make_task_scorer(metric, task_column=tc),
    )


def _hierarchical_bayes(tc, kind):
    if kind == "regression":
        return BayesianHierarchicalRegression(task_column=tc)
    return BayesianHierarchicalClassifier(task_column=tc)


def _hierarchical_cv(tc, kind):
    if kind == "regression":
        return HierarchicalRidgeCV(task_column=tc)
    return HierarchicalLogisticRegressionCV(task_column=tc)


def _trace_norm(tc, kind):
    if kind == "regression":
        return TraceNormRegressionCV(task_column=tc, **PATH)
    return TraceNormLogisticRegressionCV(task_column=tc, **PATH)


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
    "majority": ModelSpec(
        lambda tc, kind: IndependentTaskEstimator(
            DummyClassifier(strategy="most_frequent"), task_column=tc
        ),
        ("classification",),
        "reference: each task's most frequent training class (the accuracy to beat)",
    ),
    "hierarchical": ModelSpec(
        _hierarchical_bayes,
        ("regression", "classification"),
        "shared + task-specific effects w_t = w_0 + v_t, b_t = b_0 + c_t, with "
        "per-feature variances learned by empirical Bayes (the mixed model "
        "y ~ x + (1 + x || task); Laplace GLMM for binary targets)",
    ),
    "hierarchical_cv": ModelSpec(
        _hierarchical_cv,
        ("regression", "classification"),
        "shared + task-specific effects with ridge strengths chosen by exact "
        "leave-one-out (regression) or 5-fold CV on a warm-started path (binary)",
    ),
    "mlp": ModelSpec(
        _mlp,
        ("regression", "classification"),
        "multi-task MLP: shared trunk of 32 ReLU units, one linear head per task "
        "shrunk towards a shared one (alpha in {1, 10} x alpha_heads in {1, inf} "
        "by 3-fold CV; standardised target); opt-in: tuning costs 13 network fits",
        default=False,
    ),
    "mtl_lasso": ModelSpec(
        lambda tc, kind: MultiTaskLassoCV(
            task_column=tc, alpha_intercepts="auto", alpha_means=4, **PATH
        ),
        ("regression",),
        "multi-task Lasso: features selected jointly (L2,1), hierarchical "
        "intercepts ('auto') and a ridge towards the mean weights, alpha and "
        "alpha_mean by 3-fold task-stratified CV",
    ),
    "mtl_enet": ModelSpec(
        lambda tc, kind: MultiTaskElasticNetCV(
            l1_ratio=[0.5, 0.9, 1.0], alphas=15, cv=3, task_column=tc
        ),
        ("regression",),
        "multi-task elastic net (L2,1 + ridge), alpha and l1_ratio by 3-fold CV",
        default=False,
    ),
    "mtl_logistic_lasso": ModelSpec(
        lambda tc, kind: MultiTaskLogisticLassoCV(task_column=tc, **PATH),
        ("classification",),
        "per-task logistic regressions with features selected jointly (L2,1), "
        "alpha by 3-fold CV (held-out log-loss) on a warm-started path",
    ),
    "mtl_kernel_ridge": ModelSpec(
        lambda tc, kind: MultiTaskKernelRidgeCV(task_column=tc),
        ("regression",),
        "shared-kernel ridge, w_t = w_0 + v_t (Evgeniou & Pontil), linear kernel; "
        "alpha, mu and the intercept shrinkage by exact leave-one-out; opt-in: "
        "an eigendecomposition per candidate costs ~40 s a School split",
        default=False,
    ),
    "mtl_svm": ModelSpec(
        _kernel_svm,
        ("regression", "classification"),
        "shared-kernel linear SVM (SVR / class-balanced SVC, liblinear path); C, "
        "task coupling mu (pooled .. independent) and intercept shrinkage by "
        "3-fold task-stratified CV; opt-in: the 60-candidate grid costs ~2 min "
        "a School split",
        default=False,
    ),
    "trace_norm": ModelSpec(
        _trace_norm,
        ("regression", "classification"),
        "nuclear-norm penalty: tasks share a low-rank subspace (alpha by 3-fold CV "
        "on a warm-started path)",
    ),
    "reduced_rank": ModelSpec(
        lambda tc, kind: _tuned(
            ReducedRankRegression(task_column=tc),
            {"rank": [1, 2, 3, 5], "alpha": [0.1, 10.0]},
            tc,
            kind,
        ),
        ("regression",),
        "hard rank-k shared basis W = V U^T (rank and ridge alpha by 3-fold CV)",
        default=False,
    ),
    "clustered": ModelSpec(
        lambda tc, kind: ClusteredMultiTaskRegressionCV(
            n_clusters=3, task_column=tc, **PATH
        ),
        ("regression",),
        "convex clustered MTL, 3 task clusters (strength by 3-fold CV on a "
        "warm-started path)",
        default=False,
    ),
    "graph": ModelSpec(
        lambda tc, kind: GraphRegularizedMultiTaskRegressionCV(task_column=tc, **PATH),
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
