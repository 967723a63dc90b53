"""Linear multi-task models: sparse (L2,1), low-rank and structured families."""

from ._cv import MultiTaskElasticNetCV, MultiTaskLassoCV
from ._cv_path import (
    ClusteredMultiTaskRegressionCV,
    DirtyMultiTaskLassoCV,
    GraphRegularizedMultiTaskRegressionCV,
    MultiTaskLogisticLassoCV,
    MultiTaskSparseGroupLassoCV,
    TraceNormLogisticRegressionCV,
    TraceNormRegressionCV,
)
from ._hierarchical import (
    BayesianHierarchicalRegression,
    HierarchicalRidge,
    HierarchicalRidgeCV,
)
from ._hierarchical_logistic import (
    BayesianHierarchicalClassifier,
    HierarchicalLogisticRegression,
    HierarchicalLogisticRegressionCV,
)
from ._low_rank import (
    ReducedRankRegression,
    TraceNormLogisticRegression,
    TraceNormRegression,
)
from ._path import alpha_max, multitask_enet_path, multitask_lasso_path
from ._sparse import (
    DirtyMultiTaskLasso,
    MultiTaskElasticNet,
    MultiTaskLasso,
    MultiTaskLogisticLasso,
    MultiTaskSparseGroupLasso,
)
from ._structured import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
)

__all__ = [
    "BayesianHierarchicalClassifier",
    "BayesianHierarchicalRegression",
    "ClusteredMultiTaskRegression",
    "ClusteredMultiTaskRegressionCV",
    "DirtyMultiTaskLasso",
    "DirtyMultiTaskLassoCV",
    "GraphRegularizedMultiTaskRegression",
    "GraphRegularizedMultiTaskRegressionCV",
    "HierarchicalLogisticRegression",
    "HierarchicalLogisticRegressionCV",
    "HierarchicalRidge",
    "HierarchicalRidgeCV",
    "MultiTaskElasticNet",
    "MultiTaskElasticNetCV",
    "MultiTaskLasso",
    "MultiTaskLassoCV",
    "MultiTaskLogisticLasso",
    "MultiTaskLogisticLassoCV",
    "MultiTaskSparseGroupLasso",
    "MultiTaskSparseGroupLassoCV",
    "ReducedRankRegression",
    "TraceNormLogisticRegression",
    "TraceNormLogisticRegressionCV",
    "TraceNormRegression",
    "TraceNormRegressionCV",
    "alpha_max",
    "multitask_enet_path",
    "multitask_lasso_path",
]
