"""Shared-kernel multi-task support vector machines (Evgeniou & Pontil 2004)."""

from ._classes import MultiTaskSVC, MultiTaskSVR

__all__ = ["MultiTaskSVC", "MultiTaskSVR"]
