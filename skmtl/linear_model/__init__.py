"""Linear multi-task models: sparse (L2,1), low-rank and structured families."""

from ._sparse import MultiTaskLasso

__all__ = ["MultiTaskLasso"]
