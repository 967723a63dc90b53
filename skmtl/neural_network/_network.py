"""The shared-trunk, per-task-head network: forward pass, objective and gradients.

Parameters (the estimator's ``coefs_`` / ``intercepts_`` lists):

- trunk layer ``l``: ``coefs[l]`` of shape ``(fan_in, fan_out)``, ``intercepts[l]``
  of shape ``(fan_out,)`` -- exactly scikit-learn's ``MLPRegressor`` layers;
- head layer ``l``: the weights of every task stacked, ``coefs[l]`` of shape
  ``(n_tasks, fan_in, fan_out)`` and ``intercepts[l]`` of shape
  ``(n_tasks, fan_out)``.

Two evaluation paths, neither with a Python loop over rows or tasks:

*dense* (``task=None``; shared-design and single-task layouts)
    every row goes through every head: the first head layer of all tasks is one
    matrix product ``A @ [V_1 ... V_T]`` (a single dense layer with ``T * fan_out``
    units), later head layers are one batched ``matmul`` over tasks. Head
    activations have shape ``(n_rows, n_tasks, fan_out)``.
*gathered* (``task`` given; stacked layout)
    row ``i`` goes through head ``task[i]`` only: ``Z[i] = A[i] @ V[task[i]]``
    (a gather of the stacked weights, kept for the backward pass) and the weight
    gradient is the per-task segment sum :meth:`Batch.head_grad` (one sparse
    product), computed only for the tasks present in the batch. The cost is that
    of one dense layer of ``fan_out`` units, whatever the number of tasks. With few
    tasks (``_select``) and no compiled kernels, the first head layer is instead
    evaluated for every task with one matrix product and each row picks its own
    task's output (BLAS beats the numpy gather there).

Compiled kernels (``_nn_fast.pyx``, optional; ``_kernels.py``): on the gathered
path the head layer's forward and backward passes (with the shared output part
folded in), the heads' ridge term and the batch's task bookkeeping each run as one
compiled loop instead of several numpy calls, whose fixed costs dominate on batches
of a few hundred rows; the numpy code below is the reference and the fallback.

Objective of a mini-batch ``B`` (the entries ``e`` are the ``(row, task)`` pairs with
an observed target; ``s_e`` the row's sample weight; ``S_t`` task ``t``'s total
weight, ``N = sum_t S_t`` and ``S_B`` the batch's)::

    J_B = sum_t lambda_t Lhat_t + alpha / (2 S_B) * (||W_trunk||^2
                                                    + sum_t rho_t ||W_head_t||^2)
    Lhat_t = (N / S_B) sum_{e in B, task t} (s_e / S_t) l_e
    rho_t  = (N / S_B) sum_{e in B, task t} (s_e / S_t)

On a full batch ``Lhat_t = L_t`` is task ``t``'s weighted mean loss and
``rho_t = 1``; on a mini-batch both are unbiased estimates, and a task absent from the
batch has ``rho_t = 0``: it gets no gradient at all, so the per-batch cost does not
grow with the number of tasks. With one task this is scikit-learn's MLP objective
(the mean loss of the batch plus ``alpha / (2 S_B) ||W||^2``).

Shared output layer (:class:`SharedHead`, optional): task ``t``'s output layer is
``a -> a (W0 + V_t) + (b0 + c_t)`` where ``V_t``, ``c_t`` are the stacked
``coefs[-1][t]``, ``intercepts[-1][t]`` and ``W0``, ``b0`` are shared by every task.
The batch objective gains::

    alpha / (2 S_B) ||W0||^2
    + alpha_heads / (2 S_B) sum_t rho_t ||V_t||^2
    + alpha_intercepts / (2 S_B) sum_t rho_t ||c_t||^2

(full batch: ``rho_t = 1``, ``S_B = N``). A strength of 0 leaves the offsets free and
the shared part unused (zero gradient, it stays 0); ``np.inf`` freezes the offsets at
0 (zero gradient), so every task has exactly the shared weights / bias.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot

from .._ops import task_dot, task_sum
from ._activations import ACTIVATIONS, DERIVATIVES
from ._kernels import kernels
from ._weighting import uncertainty_terms

__all__ = ["MultiTaskNetwork", "Batch", "SharedHead"]

# stacked layout: with at most this many tasks and head units (n_tasks * fan_out) in
# the first head layer, all heads are evaluated with one dense product (see _select);
# measured crossover with the gather path: ~24 tasks for linear heads, ~10 tasks for
# 16-unit heads (trunk of 100 units, batches of 200 rows). With the compiled head
# kernels the gather wins from 10 tasks on (interleaved timings under load 18, linear
# heads: 10 tasks 1.00x vs 1.71x one shared head, 16 tasks 1.25x vs 1.63x), so the
# dense product is then not used
_SELECT_MAX_TASKS = 16
_SELECT_MAX_UNITS = 128


class Batch:
    """The rows of a mini-batch and its entries.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_rows, n_features)
    task_codes : ndarray of int of shape (n_rows,) or None
        Task code of each row (gathered path); None: every row has every task.
    y : ndarray of shape (n_entries,)
        Target of each entry (row-major ``(n_rows, n_tasks)`` on the dense path).
    weight : ndarray of shape (n_entries,)
        ``(N / S_B) * s_e / S_t``, 0 for a missing target.
    total : float
        ``S_B``, the batch's total entry weight.
    n_tasks : int
    mark : ndarray of intp of shape (n_tasks,), optional
        Scratch of the compiled ``batch_tasks`` (all -1, and left so), kept by the
        training set so that finding the batch's tasks does not cost ``O(n_tasks)``.
    """

    def __init__(self, X, task_codes, y, weight, total, n_tasks, mark=None):
        self.X = X
        self.task_codes = task_codes
        self.y = y
        self.weight = weight
        self.total = total
        self.n_tasks = n_tasks
        if task_codes is None:
            self.rows = None
            return
        fast = None if mark is None else kernels()
        if fast is not None:  # mark: the training set's scratch, one slot per task
            self.local = np.empty(task_codes.shape[0], dtype=np.intp)
            rows = fast.batch_tasks(_codes(task_codes), mark, self.local)
        elif n_tasks <= 8 * task_codes.shape[0]:
            present = np.bincount(task_codes, minlength=n_tasks) > 0
            rows = np.flatnonzero(present)
            self.local = (np.cumsum(present) - 1)[task_codes]
        else:
            rows, self.local = np.unique(task_codes, return_inverse=True)
        self.n_present = rows.shape[0]
        # rows: the tasks whose heads get a gradient (None: all of them)
        self.rows = None if rows.shape[0] == n_tasks else rows

    def head_grad(self, A, D):
        """Per present task, ``sum_i outer(A[i], D[i])`` over the task's rows.

        The gradient of ``sum_i D[i] @ (A[i] @ V[task[i]])`` with respect to the
        present tasks' ``V``: shape ``(n_present, g, k)``. One sparse-times-dense
        product with the ``(n_present * k, n_rows)`` matrix holding ``D[i, c]`` at
        ``(local[i] * k + c, i)`` (one column per row, so no sorting; the sums run
        over the rows in order, as :func:`skmtl._ops.task_scatter`'s).
        """
        n, k = D.shape
        indices = self.local if k == 1 else (self.local[:, None] * k + np.arange(k))
        S = sp.csc_array(
            (D.ravel(), indices.ravel(), np.arange(0, n * k + 1, k)),
            shape=(self.n_present * k, n),
        )
        G = S @ A
        G = G.toarray() if sp.issparse(G) else np.asarray(G)
        return G.reshape(self.n_present, k, -1).transpose(0, 2, 1)

    @property
    def entry_task(self):
        """Task code of each entry."""
        if self.task_codes is not None:
            return self.task_codes
        return np.tile(np.arange(self.n_tasks), self.X.shape[0])

    def per_entry(self, v):
        """A per-task vector ``v`` spread over the entries."""
        if self.task_codes is not None:
            return v[self.task_codes]
        return np.tile(v, self.X.shape[0])

    def per_task(self, v):
        """Sum of the per-entry values ``v`` by task, shape (n_tasks,)."""
        if self.task_codes is None:
            return v.reshape(-1, self.n_tasks).sum(axis=0)
        return np.bincount(self.task_codes, weights=v, minlength=self.n_tasks)


class SharedHead:
    """The shared part ``(W0, b0)`` of the output layer and the offset strengths.

    Parameters
    ----------
    coef : ndarray of shape (fan_in, width)
        ``W0`` (updated in place by the optimiser).
    intercept : ndarray of shape (width,)
        ``b0``.
    alpha_heads, alpha_intercepts : float
        Ridge strengths on the offsets ``V_t`` and ``c_t`` (0: free offsets and no
        shared part; ``np.inf``: offsets fixed at 0).
    """

    def __init__(self, coef, intercept, alpha_heads, alpha_intercepts):
        self.coef = coef
        self.intercept = intercept
        self.alpha_heads = float(alpha_heads)
        self.alpha_intercepts = float(alpha_intercepts)

    @property
    def params(self):
        return [self.coef, self.intercept]

    def add_forward(self, A, Z):
        """Add ``A W0 + b0`` to the output pre-activation ``Z`` in place."""
        if self.alpha_heads > 0:
            if Z.ndim == 3 and A.ndim == 2:  # dense path, linear heads
                Z += _dot(A, self.coef)[:, None, :]
            elif Z.ndim == 3:
                Z += np.matmul(A, self.coef)
            else:
                Z += _dot(A, self.coef)
        if self.alpha_intercepts > 0:
            Z += self.intercept

    def backward(self, A, D, dA):
        """Gradients of ``sum(D * Z)`` w.r.t. ``(W0, b0)``; adds to ``dA`` in place."""
        k = D.shape[-1]
        gb = np.zeros_like(self.intercept)
        gW = np.zeros_like(self.coef)
        if self.alpha_intercepts > 0:
            gb[...] = D.reshape(-1, k).sum(axis=0)
        if self.alpha_heads > 0:
            if D.ndim == 3 and A.ndim == 2:
                Ds = D.sum(axis=1)
                gW[...] = _dot(A.T, Ds)
                if dA is not None:
                    dA += Ds @ self.coef.T
            elif D.ndim == 3:
                gW[...] = np.einsum("ntg,ntk->gk", A, D)
                if dA is not None:
                    dA += D @ self.coef.T
            else:
                gW[...] = _dot(A.T, D)
                if dA is not None:
                    dA += D @ self.coef.T
        return [gW, gb]

    def penalty(self, intercept_grads, r, batch, alpha):
        """Add the intercept offsets' and ``W0``'s shrinkage gradients in place
        (``r``: ``rho`` of the batch's head rows); return their value and the gradient
        of ``alpha / (2 S_B) ||W0||^2``. The weight offsets' term is the network's
        (:meth:`MultiTaskNetwork._add_penalty`, with ``alpha_heads``)."""
        value = 0.0
        grad = intercept_grads[-1]
        if np.isinf(self.alpha_intercepts):
            grad[...] = 0  # offsets frozen at 0: every task has the shared bias
        elif self.alpha_intercepts > 0:
            c = self._offsets[1]
            c = c if batch.rows is None else c[batch.rows]
            scale = self.alpha_intercepts / batch.total
            value += 0.5 * scale * float(r @ np.sum(c * c, axis=1))
            grad += (scale * r)[:, None].astype(grad.dtype) * c
        gW0 = None
        if alpha > 0 and self.alpha_heads > 0:
            value += 0.5 * alpha / batch.total * float(np.sum(self.coef**2))
            gW0 = (alpha / batch.total) * self.coef
        return value, gW0


class MultiTaskNetwork:
    """Forward and backward passes over the estimator's parameter lists.

    Parameters
    ----------
    coefs, intercepts : lists of ndarray
        Shared with the estimator (updated in place by the optimiser).
    n_trunk : int
        Number of trunk layers (the first ``n_trunk`` entries of the lists).
    activation : str
        Hidden activation of trunk and head hidden layers.
    loss : SquaredLoss or TaskLogLoss
    shared : SharedHead or None, default=None
        Shared output weights and bias, and the strengths pulling each task's
        output layer towards them (None: free heads).
    """

    def __init__(self, coefs, intercepts, n_trunk, activation, loss, shared=None):
        self.coefs = coefs
        self.intercepts = intercepts
        self.n_trunk = n_trunk
        self.activation = activation
        self.loss = loss
        self.shared = shared
        if shared is not None:
            shared._offsets = (coefs[-1], intercepts[-1])

    @property
    def n_tasks(self):
        return self.coefs[-1].shape[0]

    def _select(self, layer):
        """Stacked layout, first head layer, few tasks: compute every head on every
        row with one matrix product and pick each row's own (cheaper than gathering
        while ``n_tasks * fan_out`` is small)."""
        W = self.coefs[layer]
        return (
            layer == self.n_trunk
            and kernels(W) is None
            and W.shape[0] <= _SELECT_MAX_TASKS
            and W.shape[0] * W.shape[2] <= _SELECT_MAX_UNITS
        )

    # ------------------------------------------------------------------ forward
    def forward(self, X, task=None, gathered=None):
        """Activations of every layer, ``[X, trunk..., heads...]``.

        The last one is the output pre-activation: ``(n_rows, n_tasks, width)`` on
        the dense path, ``(n_rows, width)`` on the gathered one. ``gathered``: a dict
        that receives, per gathered head layer, each row's weights ``W[task]`` (the
        backward pass reuses them).
        """
        hidden = ACTIVATIONS[self.activation]
        acts = [X]
        A = X
        last = len(self.coefs) - 1
        for layer, (W, b) in enumerate(zip(self.coefs, self.intercepts)):
            folded = False
            if layer < self.n_trunk:
                Z = _dot(A, W)
                Z += b
            elif task is not None and not self._select(layer) and sp.issparse(A):
                Z = task_dot(A, W, task)
                Z += b[task]
            elif task is not None and not self._select(layer) and _fast(A, W, b):
                Z = np.empty((A.shape[0], W.shape[2]), dtype=A.dtype)
                W0, b0, use_W0, use_b0 = self._shared_part(layer, W)
                _fast(A, W, b, W0, b0).head_forward(
                    _c(A), _c(W), _c(b), _codes(task), Z, W0, b0, use_W0, use_b0
                )
                folded = use_W0 or use_b0  # the shared part is in Z
            elif task is not None and not self._select(layer):
                Wg = W[task]  # (n_rows, g, k): a batched (1, g) @ (g, k) product
                Z = np.matmul(A[:, None, :], Wg)[:, 0, :]
                Z += b[task]
                if gathered is not None:
                    gathered[layer] = Wg
            elif task is not None:  # few tasks: every head in one product, then pick
                T, g, k = W.shape
                Z = _dot(A, _concat_heads(W)).reshape(-1, T, k)
                Z = Z[np.arange(Z.shape[0]), task]
                Z += b[task]
            elif layer == self.n_trunk:
                T, g, k = W.shape
                Z = _dot(A, _concat_heads(W)).reshape(-1, T, k)
                Z += b
            else:
                Z = np.matmul(A.transpose(1, 0, 2), W).transpose(1, 0, 2)
                Z += b
            if layer == last and self.shared is not None and not folded:
                self.shared.add_forward(A, Z)
            if layer < last:
                hidden(Z)
            acts.append(Z)
            A = Z
        return acts

    def output_entries(self, acts):
        out = acts[-1]
        return out.reshape(-1, out.shape[-1])

    def _shared_part(self, layer, W):
        """``(W0, b0, use_W0, use_b0)`` for the compiled kernels: the shared output
        weights and bias when ``layer`` is the output layer and a shared head
        uses them (``SharedHead.add_forward``), else empty arrays, unused."""
        shared = self.shared
        if layer != len(self.coefs) - 1 or shared is None:
            return np.empty((0, 0), W.dtype), np.empty(0, W.dtype), False, False
        W0 = _c(shared.coef.astype(W.dtype, copy=False))
        b0 = _c(shared.intercept.astype(W.dtype, copy=False))
        return W0, b0, shared.alpha_heads > 0, shared.alpha_intercepts > 0

    # ------------------------------------------------------------------ backward
    def backward(self, acts, D, batch, gathered=None):
        """Gradients of ``sum(D * output)`` with respect to every layer.

        Head gradients cover only the tasks present in the batch (``batch.rows``;
        all tasks when ``rows`` is None). ``gathered``: the dict :meth:`forward`
        filled (optional).
        """
        gathered = {} if gathered is None else gathered
        derivative = DERIVATIVES[self.activation]
        n_layers = len(self.coefs)
        coef_grads = [None] * n_layers
        intercept_grads = [None] * n_layers
        self.shared_grads = None
        for layer in range(n_layers - 1, -1, -1):
            folded = False
            A, W = acts[layer], self.coefs[layer]
            need_input = layer > 0
            if layer < self.n_trunk:
                coef_grads[layer] = _dot(A.T, D)
                intercept_grads[layer] = D.sum(axis=0)
                dA = D @ W.T if need_input else None
            elif batch.task_codes is not None and self._select(layer):
                T, g, k = W.shape
                D_all = np.zeros((D.shape[0], T, k), dtype=D.dtype)
                D_all[np.arange(D.shape[0]), batch.task_codes] = D
                D2 = D_all.reshape(-1, T * k)
                G = _dot(A.T, D2).reshape(g, T, k).transpose(1, 0, 2)
                present = slice(None) if batch.rows is None else batch.rows
                coef_grads[layer] = G[present]
                intercept_grads[layer] = D_all.sum(axis=0)[present]
                dA = D2 @ _concat_heads(W).T if need_input else None
            elif batch.task_codes is not None and _fast(A, D, W):
                # the three products below in one compiled pass over the rows
                A, D = _c(A), _c(D)
                n, (T, g, k) = D.shape[0], W.shape
                G = np.zeros((batch.n_present, g, k), dtype=W.dtype)
                gb = np.zeros((batch.n_present, k), dtype=W.dtype)
                dA = np.empty((n, g) if need_input else (0, 0), dtype=W.dtype)
                W0, b0, use_W0, use_b0 = self._shared_part(layer, W)
                gW0, gb0 = np.zeros_like(W0), np.zeros_like(b0)
                _fast(A, D, W, W0).head_backward(
                    A,
                    D,
                    _c(W),
                    _codes(batch.task_codes),
                    _codes(batch.local),
                    G,
                    gb,
                    dA,
                    need_input,
                    W0,
                    gW0,
                    gb0,
                    use_W0,
                    use_b0,
                )
                coef_grads[layer], intercept_grads[layer] = G, gb
                dA = dA if need_input else None
                if use_W0 or use_b0:  # and the shared part's gradients
                    folded, self.shared_grads = True, [gW0, gb0]
            elif batch.task_codes is not None:
                coef_grads[layer] = batch.head_grad(A, D)
                intercept_grads[layer] = task_sum(D, batch.local, batch.n_present)
                dA = None
                if need_input:
                    Wg = gathered.get(layer)
                    if Wg is None:
                        Wg = W[batch.task_codes]
                    # dA[i] = D[i] @ W[task[i]].T
                    if D.shape[1] == 1:
                        dA = Wg[:, :, 0] * D
                    else:
                        dA = np.matmul(D[:, None, :], Wg.transpose(0, 2, 1))[:, 0, :]
            elif layer == self.n_trunk:
                T, g, k = W.shape
                D2 = D.reshape(-1, T * k)
                G = _dot(A.T, D2)
                coef_grads[layer] = G.reshape(g, T, k).transpose(1, 0, 2)
                intercept_grads[layer] = D.sum(axis=0)
                dA = D2 @ _concat_heads(W).T if need_input else None
            else:
                Dt = D.transpose(1, 0, 2)
                coef_grads[layer] = np.matmul(A.transpose(1, 2, 0), Dt)
                intercept_grads[layer] = D.sum(axis=0)
                dA = (
                    np.matmul(Dt, W.transpose(0, 2, 1)).transpose(1, 0, 2)
                    if need_input
                    else None
                )
            if layer == n_layers - 1 and self.shared is not None and not folded:
                self.shared_grads = self.shared.backward(A, D, dA)
            if need_input:
                derivative(acts[layer], dA)
                D = dA
        return coef_grads, intercept_grads

    # ------------------------------------------------------------------ objective
    def objective(self, batch, alpha, lam=None, log_vars=None, present=None):
        """Batch objective, gradients and per-task losses.

        Parameters
        ----------
        batch : Batch
        alpha : float
            L2 penalty strength.
        lam : ndarray of shape (n_tasks,), optional
            Task weights (fixed schemes).
        log_vars, present : ndarray of shape (n_tasks,), optional
            Uncertainty weighting: the log-variances ``s_t`` and the mask of tasks
            with data (then ``lam`` is ``exp(-s) / T`` and ``s`` gets a gradient).

        Returns
        -------
        value : float
        grads : list of ndarray
            ``coef_grads + intercept_grads (+ [W0_grad, b0_grad]) (+ [log_var_grad])``.
        rows : list of (ndarray or None)
            Rows each gradient covers (see ``AdamOptimizer.update_params``).
        task_loss : ndarray of shape (n_tasks,)
            ``Lhat_t``, the batch estimate of each task's mean loss.
        """
        gathered = {}
        acts = self.forward(batch.X, batch.task_codes, gathered)
        out = acts[-1]
        loss_e, dZ = self.loss.value_grad(self.output_entries(acts), batch.y, batch)
        task_loss = batch.per_task(batch.weight * loss_e)
        rho = batch.per_task(batch.weight)
        if log_vars is not None:
            lam, value, log_var_grad = uncertainty_terms(
                log_vars, task_loss, rho, present
            )
        else:
            value = float(lam @ task_loss)
        omega = (batch.per_entry(lam) * batch.weight).astype(dZ.dtype, copy=False)
        dZ *= omega[:, None]
        coef_grads, intercept_grads = self.backward(
            acts, dZ.reshape(out.shape), batch, gathered
        )
        shared_grads = self.shared_grads
        r = rho if batch.rows is None else rho[batch.rows]
        value += self._add_penalty(coef_grads, r, batch, alpha)
        if self.shared is not None:
            extra, gW0 = self.shared.penalty(intercept_grads, r, batch, alpha)
            value += extra
            if gW0 is not None:
                shared_grads[0] += gW0
        dtype = out.dtype
        grads = [g.astype(dtype, copy=False) for g in coef_grads + intercept_grads]
        head_rows = batch.rows
        n_layers = len(self.coefs)
        rows = ([None] * self.n_trunk + [head_rows] * (n_layers - self.n_trunk)) * 2
        if self.shared is not None:
            grads += [g.astype(dtype, copy=False) for g in shared_grads]
            rows += [None, None]
        if log_vars is not None:
            g = log_var_grad if head_rows is None else log_var_grad[head_rows]
            grads.append(g.astype(log_vars.dtype, copy=False))
            rows.append(head_rows)
        return value, grads, rows, task_loss

    def _add_penalty(self, coef_grads, r, batch, alpha):
        """Add the L2 terms' gradients in place; return their value.

        Head layer ``l`` of task ``t`` has ``alpha rho_t ||V_t||^2 / (2 S_B)``; the
        output layer's offsets also ``alpha_heads rho_t ||V_t||^2 / (2 S_B)`` with a
        shared head (both in one term: one gather of the batch's rows).
        """
        value = 0.0
        last = len(self.coefs) - 1
        for layer, W in enumerate(self.coefs):
            strength = alpha
            if layer == last and self.shared is not None:
                if np.isinf(self.shared.alpha_heads):
                    coef_grads[layer][...] = 0  # offsets frozen at 0
                    continue
                strength += self.shared.alpha_heads
            if strength == 0:
                continue
            scale = strength / batch.total
            if layer < self.n_trunk:
                value += 0.5 * scale * float(np.dot(W.ravel(), W.ravel()))
                coef_grads[layer] += scale * W
                continue
            fast = _fast(W, coef_grads[layer])
            if fast is not None and coef_grads[layer].flags.c_contiguous:
                rows = np.arange(W.shape[0]) if batch.rows is None else batch.rows
                value += fast.head_penalty(
                    coef_grads[layer].reshape(len(rows), -1),
                    _c(W).reshape(W.shape[0], -1),
                    _codes(rows),
                    np.ascontiguousarray(r, dtype=np.float64),
                    scale,
                )
                continue
            Wr = W if batch.rows is None else W[batch.rows]
            value += 0.5 * scale * float(r @ np.einsum("tij,tij->t", Wr, Wr))
            coef_grads[layer] += (scale * r)[:, None, None].astype(W.dtype) * Wr
        return value


def _dot(A, B):
    """``A @ B`` as a dense array (``A`` may be sparse)."""
    return safe_sparse_dot(A, B, dense_output=True) if sp.issparse(A) else A @ B


def _fast(*arrays):
    """The compiled kernels if they cover ``arrays`` (dense arrays of one floating
    dtype; see ``_kernels.py``; the callers pass them C-contiguous), else None."""
    return kernels(*arrays)


def _c(a):
    return np.ascontiguousarray(a)


def _codes(codes):
    """Task codes as the kernels take them (C-contiguous ``intp``)."""
    return np.ascontiguousarray(codes, dtype=np.intp)


def _concat_heads(W):
    """``(n_tasks, g, k)`` head weights as one ``(g, n_tasks * k)`` dense layer."""
    T, g, k = W.shape
    return W.transpose(1, 0, 2).reshape(g, T * k)
