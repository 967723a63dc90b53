"""Stochastic optimisers (SGD with momentum / Nesterov, Adam) with row-sparse steps.

These follow scikit-learn's ``neural_network._stochastic_optimizers`` (same update
formulas, same learning-rate schedules and stopping rules) with two changes:

- updates are computed in place (fewer temporaries, same floating-point operations);
- ``update_params(params, grads, rows)`` accepts, for a parameter stacked over tasks
  (shape ``(n_tasks, ...)``), the gradient of only the rows (tasks) present in the
  mini-batch: ``grads[k]`` then has shape ``(len(rows[k]), ...)`` and only those rows
  and their optimiser state move ("lazy" updates, like ``torch.optim.SparseAdam``).
  A task absent from a batch has an exactly zero gradient there, so the only
  difference from a dense step is that its momentum is not applied on that step; the
  cost of a step no longer grows with the number of tasks. On a full batch, or in the
  shared layout where every batch holds every task, steps are dense and identical to
  scikit-learn's.

Adam's step runs in one compiled loop per parameter when the optional kernels are
built (``_nn_fast.adam_dense`` / ``adam_rows``: the same operations; see
``_kernels.py``).
"""

import sys

import numpy as np

from ._kernels import kernels

__all__ = ["SGDOptimizer", "AdamOptimizer"]


class BaseOptimizer:
    """Learning-rate bookkeeping shared by the optimisers."""

    def __init__(self, learning_rate_init=0.1):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def update_params(self, params, grads, rows=None):
        """Update ``params`` in place from ``grads``.

        Parameters
        ----------
        params : list of ndarray
        grads : list of ndarray
            ``grads[k]`` has the shape of ``params[k]``, or of ``params[k][rows[k]]``.
        rows : list of (ndarray of int or None), default=None
            Unique row indices that ``grads[k]`` covers (None: all rows).
        """
        if rows is None:
            rows = [None] * len(params)
        self._start_step()
        for k, (param, grad, r) in enumerate(zip(params, grads, rows)):
            self._step(k, param, grad, r)

    def _start_step(self):
        pass

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch."""

    def trigger_stopping(self, msg, verbose):
        """Whether training stops when the loss stalls (see ``SGDOptimizer``)."""
        if verbose:
            print(msg + " Stopping.", file=sys.stderr)
        return True


def _state(buffer, r):
    return buffer if r is None else buffer[r]


def _write(buffer, r, value):
    if r is not None:
        buffer[r] = value


def _apply(param, r, update):
    if r is None:
        param += update
    else:
        param[r] += update


class SGDOptimizer(BaseOptimizer):
    """Stochastic gradient descent with momentum (and Nesterov's variant).

    ``v <- momentum * v - lr * g``; the step is ``v`` (or, with Nesterov,
    ``momentum * v - lr * g``). ``lr_schedule``: "constant", "invscaling"
    (``lr = learning_rate_init / (t + 1) ** power_t`` after ``t`` samples) or
    "adaptive" (divide by 5 when the loss stalls, stop below 1e-6).
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        super().__init__(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = [np.zeros_like(p) for p in params]

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.", file=sys.stderr)
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(
                msg + f" Setting learning rate to {self.learning_rate:f}",
                file=sys.stderr,
            )
        return False

    def _step(self, k, param, grad, r):
        v = _state(self.velocities[k], r)
        v *= self.momentum
        v -= self.learning_rate * grad
        _write(self.velocities[k], r, v)
        if self.nesterov:
            update = self.momentum * v
            update -= self.learning_rate * grad
        else:
            update = v
        _apply(param, r, update)


class AdamOptimizer(BaseOptimizer):
    """Adam (Kingma & Ba 2014), scikit-learn's formulation.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``, step ``-lr_t m / (sqrt(v) + eps)``; the
    step count ``t`` is global (a lazily updated row uses the current ``t``).
    """

    def __init__(
        self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    ):
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        # first and second moments side by side: a lazy step gathers and scatters
        # both with one fancy-indexing operation each
        self.moments = [np.zeros((2,) + p.shape, dtype=p.dtype) for p in params]

    @property
    def ms(self):
        """First moment estimates (views)."""
        return [mv[0] for mv in self.moments]

    @property
    def vs(self):
        """Second moment estimates (views)."""
        return [mv[1] for mv in self.moments]

    def _start_step(self):
        self.t += 1
        self.learning_rate = (
            self.learning_rate_init
            * np.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )

    def _step(self, k, param, grad, r):
        fast = kernels(param, grad) if param.flags.c_contiguous else None
        if fast is not None:  # the same operations in one compiled loop
            m, v = self.moments[k]
            args = (float(self.learning_rate), self.beta_1, self.beta_2, self.epsilon)
            grad = np.ascontiguousarray(grad)
            if r is None:
                flat = (param.reshape(-1), m.reshape(-1), v.reshape(-1))
                fast.adam_dense(*flat, grad.reshape(-1), *args)
            else:
                n = param.shape[0]
                rows = np.ascontiguousarray(r, dtype=np.intp)
                flat = (param.reshape(n, -1), m.reshape(n, -1), v.reshape(n, -1))
                fast.adam_rows(*flat, grad.reshape(rows.shape[0], -1), rows, *args)
            return
        if r is None:
            m, v = self.moments[k]
            m *= self.beta_1
            m += (1 - self.beta_1) * grad
            v *= self.beta_2
            v += (1 - self.beta_2) * (grad * grad)
            denom = np.sqrt(v)
            denom += self.epsilon
            update = -self.learning_rate * m
            update /= denom
            param += update
            return
        # lazy step: the rows' moments are gathered into a copy, updated, written
        # back; the copy then serves as scratch for the step (same operations in
        # the same order as above, fewer temporaries)
        mv = np.take(self.moments[k], r, axis=1)
        m, v = mv
        tmp = np.multiply(grad, 1 - self.beta_1)
        m *= self.beta_1
        m += tmp
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.beta_2
        v *= self.beta_2
        v += tmp
        self.moments[k][:, r] = mv
        np.sqrt(v, out=v)
        v += self.epsilon
        np.multiply(m, -self.learning_rate, out=m)
        m /= v
        param[r] += m
