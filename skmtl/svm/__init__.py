"""Shared-kernel multi-task support vector machines (Evgeniou & Pontil 2004)."""

from ._classes import MultiTaskSVC, MultiTaskSVR
from ._grid import multitask_svm_grid

__all__ = ["MultiTaskSVC", "MultiTaskSVR", "multitask_svm_grid"]
