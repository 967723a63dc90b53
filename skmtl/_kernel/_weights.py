"""Per-task loss multipliers of the kernel models' ``task_weighting``."""

import numpy as np

from ..neural_network._weighting import check_weights, static_weights


def task_loss_weights(task_weighting, task, sample_weight, n_tasks):
    """Per-task loss multipliers ``omega_t`` of the ``task_weighting`` schemes.

    ``omega_t = lambda_t N / n_t`` with ``lambda`` from
    :func:`skmtl.neural_network._weighting.static_weights` (summing to one over the
    tasks with rows), ``n_t`` the sum of task ``t``'s sample weights and ``N`` their
    total: the row weights ``s_i omega_t`` sum to ``N``, and "size" gives 1.
    """
    sizes = np.bincount(task, weights=sample_weight, minlength=n_tasks)
    if isinstance(task_weighting, str) and task_weighting == "size":
        return np.ones(n_tasks)
    if not isinstance(task_weighting, str):
        task_weighting = check_weights(task_weighting, n_tasks)
    lam = static_weights(task_weighting, sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        omega = np.where(sizes > 0, lam * sizes.sum() / sizes, 0.0)
    return omega
