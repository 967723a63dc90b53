"""Per-task loss weights: the one home of ``task_weighting`` for every family.

Every family combines per-task losses as ``sum_t lambda_t L_t`` where ``L_t`` is task
``t``'s (sample-weighted) mean loss. With ``n_t`` the sum of task ``t``'s sample
weights, that is ``sum_t omega_t sum_{i in t} s_i l_i`` (doc/contract.md,
section 2) with ``omega_t = lambda_t / n_t``. The fixed schemes, normalised so that
``sum_t lambda_t = 1`` over the tasks with data:

``"equal"``
    ``lambda_t = 1 / T``: each task's mean loss counts the same (``omega_t`` is
    proportional to ``1 / n_t``; MALSAR's convention).
``"size"``
    ``lambda_t = n_t / n``: the pooled mean loss, each sample counting once
    (``omega_t`` the same for every task), as pooled and mixed models do.
array ``w`` of shape (n_tasks,)
    ``omega_t`` proportional to ``w_t`` (a per-sample weight for task ``t``'s rows):
    ``lambda_t = w_t n_t / sum_s w_s n_s``. ``w = 1 / n_t`` is ``"equal"``, ``w = 1``
    is ``"size"``.

Each family then scales ``lambda`` to its own objective: the linear models multiply
by ``T`` (so that ``"equal"`` is their historical ``sum_t mean-loss_t`` and the
shared layout matches scikit-learn's ``MultiTaskLasso`` under both schemes), the
kernel models by ``n`` (so that ``"size"`` gives every row the weight 1).
"""

import numpy as np

__all__ = ["check_weights", "static_weights", "task_multipliers"]


def check_weights(task_weighting, n_tasks):
    """Validate an explicit weight array: shape (n_tasks,), finite, >= 0, sum > 0."""
    w = np.asarray(task_weighting, dtype=np.float64)
    if w.shape != (n_tasks,):
        raise ValueError(
            f"task_weighting as an array needs one weight per task: shape "
            f"({n_tasks},) in the order of tasks_; got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            "task_weighting weights must be finite, non-negative and not all zero; "
            f"got {w.tolist()[:10]}."
        )
    return w


def static_weights(task_weighting, sizes):
    """``lambda`` of the fixed schemes over the tasks with data (``sizes > 0``).

    ``task_weighting`` is "equal" (or a scheme that starts equal, such as the MLP's
    "dwa" and "uncertainty"), "size" or a validated array; ``sizes`` are the
    weighted task sizes of the training data. Returns ``lambda`` summing to one.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    present = sizes > 0
    if isinstance(task_weighting, str):
        w = sizes if task_weighting == "size" else present
    else:  # omega_t = w_t per sample: lambda_t proportional to w_t n_t
        w = np.where(present, task_weighting * sizes, 0.0)
    w = np.asarray(w, dtype=np.float64)
    if w.sum() <= 0:
        raise ValueError(
            "task_weighting gives zero weight to every task that has rows in this "
            "call; nothing would be learned."
        )
    return w / w.sum()


def task_multipliers(task_weighting, sizes, total):
    """Per-sample loss multipliers ``omega_t`` (n_tasks,) with
    ``sum_t omega_t n_t = total``.

    ``task_weighting``: "equal", "size" or an array (validated here); ``sizes``: the
    sample-weight sums ``n_t`` of the tasks (0 for a task without rows, which gets
    ``omega_t = 0``). ``total = T`` is the linear models' scale, ``total = n`` the
    kernel models'.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    if not isinstance(task_weighting, str):
        task_weighting = check_weights(task_weighting, len(sizes))
    lam = static_weights(task_weighting, sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sizes > 0, total * lam / sizes, 0.0)
