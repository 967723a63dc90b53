"""Linear multi-task models: sparse (L2,1), low-rank and structured families."""

from ._cv import MultiTaskElasticNetCV, MultiTaskLassoCV
from ._path import alpha_max, multitask_enet_path, multitask_lasso_path
from ._sparse import (
    DirtyMultiTaskLasso,
    MultiTaskElasticNet,
    MultiTaskLasso,
    MultiTaskLogisticLasso,
    MultiTaskSparseGroupLasso,
)

__all__ = [
    "DirtyMultiTaskLasso",
    "MultiTaskElasticNet",
    "MultiTaskElasticNetCV",
    "MultiTaskLasso",
    "MultiTaskLassoCV",
    "MultiTaskLogisticLasso",
    "MultiTaskSparseGroupLasso",
    "alpha_max",
    "multitask_enet_path",
    "multitask_lasso_path",
]
