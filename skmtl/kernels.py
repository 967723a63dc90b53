"""Multi-task kernels: K((x, s), (z, t)) = B[s, t] * k(x, z).

Regularised multi-task learning (Evgeniou & Pontil 2004) writes the weights of task
``t`` as ``w_t = w_0 + v_t``. Its dual is an ordinary kernel machine whose kernel
multiplies a base kernel ``k`` on the features by a task-similarity matrix ``B``
(Evgeniou, Micchelli & Pontil 2005): any symmetric positive semi-definite ``B`` gives
a valid kernel. This module is the public face of the one implementation of that
kernel, of its explicit feature map and of the task-similarity builders (in the
private ``skmtl._kernel`` package); ``skmtl.svm`` and ``skmtl.kernel_ridge`` are
built on it.

Task similarity ``B`` (``n_tasks x n_tasks``, rows and columns in the order of the
integer task codes, i.e. of an estimator's ``tasks_``):

- :func:`task_similarity_from_mu`: ``B = (1/mu) 11^T + I``, the ``w_t = w_0 + v_t``
  model; large ``mu``: nearly independent tasks, small ``mu``: nearly one pooled
  function.
- :func:`task_similarity_from_graph`: ``B = (L + rho I)^{-1}`` for the Laplacian
  ``L`` of a task graph: the regulariser ``sum_{s<t} A_st ||w_s - w_t||^2 +
  rho sum_t ||w_t||^2`` pulls tasks joined by an edge together.
- any user matrix, checked by :func:`check_task_similarity`.
"""

from ._kernel._feature_map import multitask_feature_map
from ._kernel._gram import KERNELS, multitask_kernel
from ._kernel._similarity import (
    check_task_similarity,
    task_similarity_from_graph,
    task_similarity_from_mu,
    task_similarity_sqrt,
)

__all__ = [
    "KERNELS",
    "multitask_kernel",
    "multitask_feature_map",
    "task_similarity_from_mu",
    "task_similarity_from_graph",
    "task_similarity_sqrt",
    "check_task_similarity",
]
