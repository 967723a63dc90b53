"""Linear multi-task models: sparse (L2,1), low-rank and structured families."""

from ._low_rank import (
    ReducedRankRegression,
    TraceNormLogisticRegression,
    TraceNormRegression,
)
from ._sparse import MultiTaskLasso
from ._structured import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
)

__all__ = [
    "ClusteredMultiTaskRegression",
    "GraphRegularizedMultiTaskRegression",
    "MultiTaskLasso",
    "ReducedRankRegression",
    "TraceNormLogisticRegression",
    "TraceNormRegression",
]
