"""Baselines every multi-task model is judged against: no sharing and full sharing."""

from ._independent import IndependentTaskEstimator
from ._pooled import PooledTaskEstimator

__all__ = ["IndependentTaskEstimator", "PooledTaskEstimator"]
