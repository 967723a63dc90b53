"""Task-weighting schemes: how the per-task mean losses make one objective.

Every scheme combines the per-task losses ``L_t`` (each the weighted mean loss of
task ``t``'s entries) as ``sum_t lambda_t L_t`` over the tasks that have data.
With ``n_t`` the (sample-weighted) size of task ``t``, this is
``sum_t omega_t sum_{i in t} l_i`` (doc/contract.md, section 4) with
``omega_t = lambda_t / n_t``; the fixed schemes are normalised so that
``sum_t lambda_t = sum_t omega_t n_t = 1``:

``"equal"``
    ``omega_t`` proportional to ``1 / n_t``: ``lambda_t = 1 / T``, each task's
    mean loss counts the same.
``"size"``
    ``omega_t = 1 / n`` (``n = sum_s n_s``): ``lambda_t = n_t / n``, the pooled
    mean loss over all entries, each sample counting once.
array ``w``
    ``omega_t`` proportional to ``w_t`` (a per-sample weight for task ``t``'s rows):
    ``lambda_t = w_t n_t / sum_s w_s n_s``. ``w = 1 / n_t`` is ``"equal"``,
    ``w = 1`` is ``"size"``.
``"dwa"``
    Dynamic weight average (Liu, Johns & Davison, CVPR 2019, eq. 2), with the
    weights summing to one instead of ``T``:
    ``lambda_t(e) = exp(r_t / tau) / sum_s exp(r_s / tau)`` where
    ``r_t = L_t(e - 1) / L_t(e - 2)`` is the ratio of the task's mean training loss
    over the two previous epochs (equal weights for the first two epochs). A task
    whose loss falls slowly gets more weight.
``"uncertainty"``
    Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018): one
    learned log-variance ``s_t = log sigma_t^2`` per task and the objective
    ``(1 / T) sum_t [exp(-s_t) L_t + s_t / 2]``, minimised jointly over the network
    and ``s``; so ``lambda_t = exp(-s_t) / T``. With ``L_t`` half the mean squared
    error this is Kendall et al.'s Gaussian likelihood (eq. 7: ``sigma_t^2`` tends to
    the task's mean squared error); with the cross-entropy it is their eq. 10. At
    ``s = 0`` it equals ``"equal"``.
"""

import numpy as np

from .._weights import check_weights, static_weights

__all__ = ["SCHEMES", "check_weights", "static_weights", "dwa_weights"]

SCHEMES = ("equal", "size", "uncertainty", "dwa")


def dwa_weights(task_loss_history, sizes, temperature):
    """Dynamic weight average from the per-epoch task losses seen so far.

    Parameters
    ----------
    task_loss_history : list of ndarray of shape (n_tasks,)
        Mean training loss of each task in each past epoch (NaN: task absent).
    sizes : ndarray of shape (n_tasks,)
        Weighted task sizes of the current training data (0: task absent).
    temperature : float
    """
    present = sizes > 0
    if len(task_loss_history) < 2:
        return static_weights("equal", sizes)
    last, before = task_loss_history[-1], task_loss_history[-2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = last / before
    ratio = np.where(np.isfinite(ratio) & (before > 0), ratio, 1.0)
    a = np.where(present, ratio / temperature, -np.inf)
    w = np.exp(a - a[present].max())
    return w / w.sum()


def uncertainty_terms(log_vars, task_loss, rho, present):
    """Value, weights and log-variance gradient of the uncertainty objective.

    ``(1 / T) sum_t [exp(-s_t) L_t + rho_t s_t / 2]`` over the ``T`` tasks with data;
    ``rho_t`` is the batch's share of task ``t`` relative to the task's share of the
    data (1 on a full batch; 0 for a task absent from the batch), so that the
    mini-batch objective is an unbiased estimate and absent tasks get no gradient.
    """
    scale = 1.0 / max(int(present.sum()), 1)
    lam = np.where(present, np.exp(-log_vars) * scale, 0.0)
    value = float(lam @ task_loss + 0.5 * scale * (rho @ log_vars))
    grad = -lam * task_loss + 0.5 * scale * rho
    return lam, value, grad
