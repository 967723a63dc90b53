"""Inspect multi-task models: does sharing help each task, and which tasks are alike.

- :func:`transfer_report`: paired cross-validated gains of a model over the
  independent and pooled baselines, per task, with a verdict (helped / no clear
  effect / hurt) and a summary across tasks;
- :func:`task_similarity`: the task relatedness a fitted model learned,
  :func:`cluster_tasks` to group tasks and :func:`plot_task_similarity` to draw it.
"""

from ._similarity import cluster_tasks, plot_task_similarity, task_similarity
from ._transfer import TransferReport, default_baselines, transfer_report

__all__ = [
    "TransferReport",
    "cluster_tasks",
    "default_baselines",
    "plot_task_similarity",
    "task_similarity",
    "transfer_report",
]
