"""Per-entry losses on the output of the task heads.

A loss sees the head outputs ``Z`` of shape ``(n_entries, n_units)`` (one entry per
``(row, task)`` pair the batch trains on), the targets ``y`` and the batch (whose
``entry_task`` gives the task code of each entry). ``value_grad`` returns the
per-entry loss ``l_e`` and its gradient with respect to ``Z``; the network multiplies
them by the entry weights (see ``_network.py``).

This follows the weighting convention of doc/contract.md (section 2): each task's
loss is the weighted mean of its entries,
``L_t = sum_{e in t} s_e l_e / sum_{e in t} s_e``.
"""

import numpy as np

__all__ = ["SquaredLoss", "TaskLogLoss"]


class SquaredLoss:
    """``l(y, z) = (y - z)^2 / 2`` on one output unit per task (regression)."""

    def __init__(self, n_tasks):
        self.n_units = np.ones(n_tasks, dtype=np.intp)
        self.width = 1

    def value_grad(self, Z, y, batch):
        diff = Z[:, 0] - y
        return 0.5 * diff * diff, diff[:, None]


class TaskLogLoss:
    """Cross-entropy of one softmax per task over that task's own classes.

    Task ``t`` with ``k_t`` classes owns ``o_t`` output units:

    - ``k_t >= 3``: one logit per class, softmax over them;
    - ``k_t == 2``: a single logit ``z`` for the second class, the first one having
      the fixed logit 0 (the softmax over ``(0, z)`` is the logistic function: this is
      scikit-learn's binary output unit);
    - ``k_t == 1``: no unit; the only class has probability 1.

    Heads are stored with ``width = max_t o_t`` units; the units a task does not own
    get logit ``-inf``, hence probability and gradient exactly 0.

    Internally every entry gets "extended" logits ``(0 or -inf, z_1, ..., z_width)``:
    column 0 is the implicit zero logit of binary and one-class tasks, and class ``j``
    of task ``t`` is column ``j + offset_t`` (``offset_t = 1`` when ``k_t >= 3``).
    """

    def __init__(self, n_classes):
        k = np.asarray(n_classes, dtype=np.intp)
        self.n_classes = k
        self.n_units = np.where(k >= 3, k, k - 1)
        self.width = max(1, int(self.n_units.max()))
        self.offset = (k >= 3).astype(np.intp)
        cols = np.arange(self.width + 1)
        self.valid = (cols >= self.offset[:, None]) & (
            cols < (self.offset + k)[:, None]
        )

    def extended_logits(self, Z, task):
        L = np.empty((Z.shape[0], self.width + 1), dtype=Z.dtype)
        L[:, 0] = 0
        L[:, 1:] = Z
        L[~self.valid[task]] = -np.inf
        return L

    def _softmax(self, Z, task):
        L = self.extended_logits(Z, task)
        top = L.max(axis=1, keepdims=True)
        P = np.exp(L - top)
        total = P.sum(axis=1, keepdims=True)
        P /= total
        return L, P, top[:, 0] + np.log(total[:, 0])

    def value_grad(self, Z, y, batch):
        task = batch.entry_task
        L, P, log_norm = self._softmax(Z, task)
        rows = np.arange(Z.shape[0])
        col = y + self.offset[task]
        loss = log_norm - L[rows, col]
        P[rows, col] -= 1
        return loss, P[:, 1:]

    def class_proba(self, Z, task):
        """``(n_entries, max_t k_t)``: column ``j`` is the probability of class ``j``
        of the entry's task (0 past its number of classes)."""
        _, P, _ = self._softmax(Z, task)
        kmax = int(self.n_classes.max())
        cols = np.arange(kmax) + self.offset[task][:, None]
        cols = np.minimum(cols, self.width)
        proba = np.take_along_axis(P, cols, axis=1)
        proba[np.arange(kmax) >= self.n_classes[task][:, None]] = 0
        return proba
