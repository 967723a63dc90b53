"""The mean-shrinkage term ``q(W) = (alpha_mean / 2) sum_t ||w_t - wbar||^2``
that pulls the task weights towards their mean, and its part of the duality gap."""

import numpy as np

__all__ = ["centred_tasks", "mean_shrinkage"]


def centred_tasks(W):
    """``W - mean_t(W)``: each column of ``W`` (n_tasks, p) minus its mean."""
    return W - W.mean(axis=0)


def mean_shrinkage(W, alpha_mean):
    """``(alpha_mean / 2) sum_t ||w_t - wbar||^2`` of task weights ``W`` (T, p).

    In the duality gap it is a smooth term: a squared loss on the extra output
    ``sqrt(alpha_mean) (W - wbar)`` with target 0, whose dual variable is
    ``Xi = -sqrt(alpha_mean) (W - wbar)``. The dual then reads ``-f*(-Theta) -
    ||Xi||^2 / 2 - g*(A* Theta + sqrt(alpha_mean) P Xi)`` (``P`` the centring over
    tasks): the block gradient ``A* Theta - alpha_mean (W - wbar)`` enters ``g*``
    and, after the rescaling by ``c``, ``-c^2`` times this value enters the dual.
    """
    if not alpha_mean:
        return 0.0
    D = centred_tasks(W)
    return 0.5 * alpha_mean * float(np.sum(D * D))
