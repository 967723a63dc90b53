"""Layout conversion and discovery utilities."""

from ._discovery import all_estimators
from ._tasks import split_tasks, stack_tasks

__all__ = ["stack_tasks", "split_tasks", "all_estimators"]
