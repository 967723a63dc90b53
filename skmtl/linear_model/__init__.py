"""Linear multi-task models: sparse (L2,1), low-rank and structured families."""

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
    "MultiTaskLasso",
    "MultiTaskLogisticLasso",
    "MultiTaskSparseGroupLasso",
]
