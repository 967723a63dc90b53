"""Real multi-task benchmarks shipped with skmtl and generators with known structure."""

from ._generators import make_multitask_classification, make_multitask_regression
from ._school import load_school, load_school_splits

__all__ = [
    "load_school",
    "load_school_splits",
    "make_multitask_regression",
    "make_multitask_classification",
]
