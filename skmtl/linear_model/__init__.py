"""Linear multi-task models: sparse (L2,1), low-rank and structured families."""

from ._low_rank import TraceNormLogisticRegression, TraceNormRegression
from ._sparse import MultiTaskLasso

__all__ = ["MultiTaskLasso", "TraceNormLogisticRegression", "TraceNormRegression"]
