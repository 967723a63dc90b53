"""Block coordinate descent over the feature columns of ``W`` with working sets,
gap-safe screening and Anderson extrapolation (the celer / skglm recipe, in numpy).

Solves ``min_{W, b} f(A E(W) + b) + g(W)`` where ``E(W)`` are the effective task
weights (``W`` itself, or ``P + Q`` for penalties with ``n_blocks = 2``), ``f`` a
datafit on the model output and ``g`` a penalty separable over the columns of ``W``
(it must offer ``block_prox`` and ``column_margin``, see ``penalties``).

One *block* is a feature column ``W[:, j]`` (all tasks at once): the datafit is
separable over tasks given the other columns, so its curvature in that block is the
diagonal ``c_tj = curvature * sum_{i in t} omega_i (x_ij - xbar_tj)^2``. Block ``j`` is
updated by ``penalty.block_prox(c_j * w_j + A_j* Theta, c_j)``: the exact block
minimiser for the squared loss, a majorise-minimise step for the logistic loss. In
the stacked layout, or with missing targets, the ``c_tj`` differ across tasks and the
block minimiser solves a 1-D secular equation (``group_shrink``); in the shared
layout without missing targets they are equal and it is a group soft-threshold.
Per-column work is vectorised over tasks (and over the rows of the column); the
Python loop runs over the features of the working set only.

Outer loop (Massias et al. 2018, Bertrand et al. 2022):

1. rebuild the output ``F`` from the working set, compute ``Theta = -grad f(F)``
   and ``V = A* Theta`` for all features (one product with ``X``), rescale ``Theta``
   into the dual feasible set and evaluate the duality gap; stop when it is at most
   ``tol * null_scale`` (see ``base``);
2. gap-safe screening (Ndiaye et al. 2017): the dual is ``1 / (curvature *
   max omega)``-strongly concave, so ``||Theta_opt - Theta|| <= r = sqrt(2 gap
   curvature max omega)`` and a column with ``column_margin(V)_j > r ||A_j||`` is zero
   at the optimum; it is removed for the rest of the solve;
3. working set: the non-zero columns plus the columns closest to their dual
   constraint (smallest ``column_margin / ||A_j||``), twice as many as non-zero columns;
4. inner solve: epochs of block coordinate descent over the working set, with
   Anderson extrapolation of the iterates every ``anderson`` epochs (accepted only
   when it lowers the objective), until the duality gap of the working-set problem
   is below ``0.3`` times the outer gap.

``n_iter`` counts epochs (passes over the working set); ``max_iter`` bounds them.
"""

import math

import numpy as np
import scipy.sparse as sp
from scipy.linalg import get_blas_funcs
from threadpoolctl import ThreadpoolController

from .._ops import task_dot, task_scatter
from . import epochs
from .base import (
    SolverResult,
    feasible_dual,
    null_scale,
    penalised_intercepts,
    refined_dual,
)
from .datafits import Quadratic
from .design import column_square_sums
from .penalties import L21, L21Ridge

__all__ = [
    "alpha_max_design",
    "bcd",
    "column_operator_norms",
    "mean_shrinkage",
    "null_correlations",
]


_CONTROLLER = []


def _blas_threads(limit):
    """Context limiting BLAS threads. The solver calls BLAS on vectors and thin
    matrices (a column of ``X`` against the residual) thousands of times, where
    waking threads costs more than the product: with 2 OpenBLAS threads on a busy
    2-core machine a fit was 10x slower than with one (measured). Only the
    products with the whole ``X`` may use more threads."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=limit, user_api="blas")


# products with X of at least this many multiply-adds may use all BLAS threads
_THREADED_PRODUCT = 5e7


def _n_blocks(penalty):
    return getattr(penalty, "n_blocks", 1)


def _effective(W, m):
    """Effective task weights: the sum of the ``m`` stacked blocks of ``W``."""
    if m == 1:
        return W
    T = W.shape[0] // m
    return W.reshape(m, T, -1).sum(axis=0)


def column_operator_norms(design):
    """``||A_j||``: the largest per-task Euclidean norm of the centred column ``j``.

    ``A_j* Theta`` is the vector ``(sum_{i in t} Theta_i (x_ij - xbar_tj))_t``; its
    operator norm (on outputs that vanish where ``omega = 0``) is
    ``max_t ||x_j^(t) - xbar_tj||_2`` over the observed rows of each task.
    Cached on ``design`` (a path solves many problems on one design).
    """
    cached = getattr(design, "_column_operator_norms", None)
    if cached is not None:
        return cached
    design._column_operator_norms = out = _column_operator_norms(design)
    out.setflags(write=False)
    return out


def _column_operator_norms(design):
    X, data = design.X, design.data
    n, T = X.shape[0], design.n_tasks
    if design.shared and data.mask is None:  # every task has every row
        ones = np.ones(n, dtype=design.dtype)
        s1 = np.asarray(X.T @ ones)[None, :]
        s2 = column_square_sums(X, ones)[None, :]
        counts = np.full(T, n)
    elif design.shared:
        M = data.mask.astype(design.dtype)
        s1 = np.asarray(X.T @ M).T
        s2 = column_square_sums(X, M).T
        counts = M.sum(axis=0)
    else:
        X2 = X.multiply(X).tocsr() if sp.issparse(X) else X**2
        ones = np.ones(n, dtype=design.dtype)
        s1 = task_scatter(X, ones, design.task, T)
        s2 = task_scatter(X2, ones, design.task, T)
        counts = np.bincount(design.task, minlength=T)
    xbar = design.X_mean
    ss = s2 - 2 * xbar * s1 + counts[:, None] * xbar**2
    return np.sqrt(np.max(np.maximum(ss, 0.0), axis=0, initial=0.0))


class _Kernel:
    """Output-space state and the column operations on the working-set columns.

    Squared loss (``quadratic``): the state is the residual ``R = Y - A E`` of the
    centred design. Dense columns are stored centred (per task) so that an update is
    one rank-one product; sparse columns stay sparse and the centring is carried by a
    per-task offset ``o`` (``R_true = R + o`` per task), since
    ``sum_{i in t} omega_i R_true_i = 0`` makes ``A_j* (omega R_true)`` equal to
    ``sum_i omega_i x_ij R_i + o_t xbar_tj``.
    Other datafits: the state is the raw output ``F = X E`` and intercepts ``b``.
    """

    def __init__(self, design, datafit, b=None, block_size=32):
        self.design, self.datafit = design, datafit
        self.quadratic = isinstance(datafit, Quadratic)
        if not self.quadratic and design.center:
            raise ValueError("Only the squared loss is solved on a centred design.")
        if self.quadratic and b is not None and design.center:
            raise ValueError("A centred design has no intercepts to update.")
        self.shared = design.shared
        self.sparse = sp.issparse(design.X)
        self.X = design.X.tocsc() if self.sparse else design.X
        self.T = design.n_tasks
        self.omega, self.Y, self.task = design.omega, design.Y, design.task
        self.center = design.center
        self.rank_one = (
            self.shared
            and design.data.mask is None
            and not getattr(design, "reweighted", False)
        )
        # dense working-set rows are stored centred when the epochs use centred
        # rows (then the raw ones are never needed: one array, not two)
        self.pre_centred = (
            self.quadratic
            and self.center
            and not self.sparse
            and (self.rank_one or not self.shared)
        )
        # equal loss weights on every row (no sample weights): the weighted rows
        # are the rows times one number, not a third array
        self.wscale = None
        if self.quadratic and self.rank_one and not self.sparse:
            w0 = self.omega[:, 0]
            if w0.size and np.all(w0 == w0[0]):
                self.wscale = float(w0[0])
        self.b = None if b is None else np.asarray(b, dtype=design.dtype).copy()
        #: the penalised intercept model of ``b`` (None: free intercepts or none)
        self.intercepts = penalised_intercepts(design, b)
        self.dtype = design.dtype
        self._ger = get_blas_funcs("ger", dtype=self.dtype)
        self._gemm = get_blas_funcs("gemm", dtype=self.dtype)
        self.block_size = block_size
        self._S = design.task_sum(self.omega)  # 1 per task unless reweighted
        self._omega_sums = np.maximum(self._S, 1e-300)
        #: profiled penalised intercepts (see ``_Profile``), set by ``profile``
        self.prof = None
        self.set_ws(np.zeros(0, dtype=np.intp))

    def profile(self, intercepts):
        """Solve the squared loss with penalised intercepts ``intercepts`` on this
        centred kernel, the intercepts profiled out exactly (``_Profile``)."""
        if not (self.quadratic and self.center and self.b is None):
            raise ValueError("Offsets are profiled on a centred squared loss.")
        self.prof = _Profile(self.design, intercepts)

    # ------------------------------------------------------------ working set
    def set_ws(self, ws):
        self.ws = ws
        xbar = self.design.X_mean[:, ws].T.copy()  # (p, T)
        self.xbar = xbar
        if self.sparse:
            Xs = self.X[:, ws]
            Xs.sort_indices()
            self.Xs = Xs
            ptr, ind, dat = Xs.indptr, Xs.indices, Xs.data
            self.idx = [ind[ptr[k] : ptr[k + 1]] for k in range(len(ws))]
            self.dat = [dat[ptr[k] : ptr[k + 1]] for k in range(len(ws))]
            if self.shared:
                if self.rank_one:
                    v = self.omega[:, 0]
                    self.datw = [d * v[i] for i, d in zip(self.idx, self.dat)]
            else:
                self.tsk = [self.task[i] for i in self.idx]
                self.datw = [d * self.omega[i] for i, d in zip(self.idx, self.dat)]
            return
        prev = getattr(self, "_dense_ws", None)
        arrays = None
        if prev is not None and len(prev[0]) and len(ws):
            # rows of features already in the previous working set are copied
            # (contiguous), not gathered and centred again
            pos = np.minimum(np.searchsorted(prev[0], ws), len(prev[0]) - 1)
            kept = prev[0][pos] == ws
            if kept.any():
                keep_at, fresh_at = np.flatnonzero(kept), np.flatnonzero(~kept)
                runs = _runs(keep_at, pos[keep_at])
                fresh = self._dense_rows(ws[fresh_at], xbar[fresh_at])
                arrays = []
                for old_rows, new_rows in zip(prev[1], fresh):
                    if old_rows is None:
                        arrays.append(None)
                        continue
                    out = np.empty((len(ws), old_rows.shape[1]), dtype=old_rows.dtype)
                    for dst, src, size in runs:  # slice copies: no temporaries
                        out[dst : dst + size] = old_rows[src : src + size]
                    out[fresh_at] = new_rows
                    arrays.append(out)
        if arrays is None:
            arrays = self._dense_rows(ws, xbar)
        self.xs, self.xcw = arrays
        self.xc = self.xs  # centred when ``pre_centred``
        self._dense_ws = (ws, arrays)
        self._blocks = None

    def _dense_rows(self, feats, xbar):
        """``(xs, xcw)``: the rows of the features ``feats`` (centred when
        ``pre_centred``) and the same rows times the loss weights ``omega`` (None
        when not used, or when ``wscale`` stands for them)."""
        xs = np.ascontiguousarray(self.X[:, feats].T)  # (p, n): column k is row k
        if self.pre_centred:
            # equal task means without missing targets in the shared layout
            xs -= xbar[:, :1] if self.rank_one else xbar[:, self.task]
        xcw = None
        if self.quadratic:
            if self.rank_one and self.wscale is None:
                xcw = xs * self.omega[:, 0]
            elif not self.shared:
                xcw = xs * self.omega
        return xs, xcw

    def weighted_product(self, start, stop, M):
        """Rows ``start:stop`` times the loss weights, times ``M`` (rank-one
        shared case)."""
        if self.xcw is not None:
            return self.xcw[start:stop] @ M
        out = self.xc[start:stop] @ M
        out *= self.wscale
        return out

    def blocks(self):
        """``(start, Gram)`` of consecutive working-set column blocks (dense,
        rank-one shared squared loss): ``Gram = X_B^T Omega X_B`` (centred)."""
        if self._blocks is None:
            b, p = self.block_size, len(self.ws)
            self._blocks = [
                (s, self.weighted_product(s, s + b, self.xc[s : s + b].T))
                for s in range(0, p, b)
            ]
        return self._blocks

    def ws_curvature(self):
        """``sum_{i in t} omega_i (x_ik - xbar_tk)^2`` for the working-set
        columns, shape (p, T)."""
        if self.sparse:
            X2 = self.Xs.multiply(self.Xs).tocsc()
            if self.shared:
                c = np.asarray(X2.T @ self.omega)
            else:
                c = task_scatter(X2, self.omega, self.task, self.T).T
        else:
            X2 = self.xs * self.xs
            if self.shared:
                c = X2 @ self.omega
            else:
                c = task_scatter(X2.T, self.omega, self.task, self.T).T
        if self.center and not self.pre_centred:
            c = c - self._S * self.xbar**2
        return np.maximum(c, 0.0)

    def _raw_forward(self, E):
        """``X_ws E`` in output space for ``E`` of shape (p, T)."""
        if self.shared:
            if self.sparse:
                return np.asarray(self.Xs @ E)
            return self.xs.T @ E
        if self.sparse:
            return task_dot(self.Xs, E.T, self.task)
        return task_dot(self.xs.T, E.T, self.task)

    def forward(self, E):
        """The model output for effective working-set weights ``E`` (p, T): centred
        for the squared loss, raw (intercepts excluded) otherwise."""
        E = np.asarray(E, dtype=self.dtype)
        F = self._raw_forward(E)
        if self.quadratic and self.center and not self.pre_centred:
            means = np.einsum("kt,kt->t", self.xbar, E)
            F = F - self.design.per_row(means)
        return F

    def reset(self, E, F=None):
        """Rebuild the state exactly from ``E`` (p, T) (or its ``forward``)."""
        if F is None:
            F = self.forward(E)
        if self.quadratic:
            R = self.Y - F
            if self.b is not None:
                R = R - self.design.per_row(self.b)
            if self.shared:
                R = np.asfortranarray(R * (self.omega > 0))
                self.R = R if self.rank_one else np.asfortranarray(self.omega * R)
            else:
                self.R = R
            self.o = np.zeros(self.T, dtype=self.dtype)
            if self.prof is not None:
                self.prof.reset(self.xbar, E)
        else:
            self.F = np.asfortranarray(F) if self.shared else F
            self._G = None

    def full_output(self, F):
        """``forward`` output -> what the datafit sees (intercepts added)."""
        if self.quadratic or self.b is None:
            return F
        return F + self.design.per_row(self.b)

    # ------------------------------------------------------------ state views
    def output(self):
        """Model output ``F`` (with intercepts), as the datafit sees it."""
        if self.quadratic:
            return self.Y - self._residual()
        if self.b is None:
            return self.F
        return self.F + self.design.per_row(self.b)

    def _residual(self):
        o = self.design.per_row(self.o)
        if not self.shared:
            return self.R + o
        if self.rank_one:
            return (self.R + o) * (self.omega > 0)
        safe = np.where(self.omega > 0, self.omega, 1.0)
        return np.where(self.omega > 0, self.R / safe + o, 0.0)

    def gradient(self):
        if self._G is None:
            self._G = self.datafit.gradient(self.output(), self.Y, self.omega)
        return self._G

    def adjoint_ws(self, Theta):
        """``A_ws* Theta`` (centred when the design is), shape (T, p)."""
        if self.sparse:
            raw = (self.Xs.T @ Theta).T if self.shared else None
            if raw is None:
                raw = task_scatter(self.Xs, Theta, self.task, self.T)
        elif self.shared:
            raw = (self.xs @ Theta).T
        else:
            raw = task_scatter(self.xs.T, Theta, self.task, self.T)
        raw = np.asarray(raw)
        if self.center and not self.pre_centred:
            raw = raw - self.xbar.T * self.design.task_sum(Theta)[:, None]
        return raw

    # ------------------------------------------------------------ columns
    def neg_grad(self, k):
        """``A_k* Theta`` for the current state (T,): minus the block gradient."""
        if self.prof is None:
            return self._neg_grad(k)
        return self._neg_grad(k) + self.prof.neg_grad(self.xbar[k])

    def _neg_grad(self, k):
        if not self.quadratic:
            G = self.gradient()
            if self.sparse:
                i = self.idx[k]
                if self.shared:
                    return -(self.dat[k] @ G[i])
                return -np.bincount(
                    self.tsk[k], weights=self.dat[k] * G[i], minlength=self.T
                )
            if self.shared:
                return -(self.xs[k] @ G)
            return -np.bincount(self.task, weights=self.xs[k] * G, minlength=self.T)
        if self.sparse:
            i = self.idx[k]
            if self.shared:
                w = self.datw[k] if self.rank_one else self.dat[k]
                g = w @ self.R[i]
            else:
                g = np.bincount(
                    self.tsk[k], weights=self.datw[k] * self.R[i], minlength=self.T
                )
            return g + self._S * self.o * self.xbar[k] if self.center else g
        if self.rank_one:
            if self.xcw is None:
                return (self.xc[k] @ self.R) * self.wscale
            return self.xcw[k] @ self.R
        if self.shared:
            g = self.xs[k] @ self.R
            return g + self._S * self.o * self.xbar[k] if self.center else g
        return np.bincount(self.task, weights=self.xcw[k] * self.R, minlength=self.T)

    def update(self, k, delta):
        """The effective column ``k`` changed by ``delta`` (T,)."""
        if self.prof is not None:
            self.prof.m -= self.xbar[k] * delta
        if not self.quadratic:
            self._G = None
            if self.sparse:
                i = self.idx[k]
                if self.shared:
                    self.F[i] += np.multiply.outer(self.dat[k], delta)
                else:
                    self.F[i] += self.dat[k] * delta[self.tsk[k]]
            elif self.shared:
                self._ger(1.0, self.xs[k], delta, a=self.F, overwrite_a=1)
            else:
                self.F += self.xs[k] * delta[self.task]
            return
        if self.center and (self.sparse or (self.shared and not self.rank_one)):
            self.o += self.xbar[k] * delta
        if self.sparse:
            i = self.idx[k]
            if self.shared:
                upd = np.multiply.outer(self.dat[k], delta)
                self.R[i] -= upd if self.rank_one else self.omega[i] * upd
            else:
                self.R[i] -= self.dat[k] * delta[self.tsk[k]]
        elif self.rank_one:
            self._ger(-1.0, self.xc[k], delta, a=self.R, overwrite_a=1)
        elif self.shared:
            self.R -= self.omega * np.multiply.outer(self.xs[k], delta)
        else:
            self.R -= self.xc[k] * delta[self.task]

    def profiled_dual(self):
        """``(Theta, sigma, b)`` of a profiled kernel (``profile``): the dual point
        ``Theta = omega * r`` of the true residual ``r`` at the exact intercepts
        ``b`` (the centred residual plus ``m_t - b_t`` on task ``t``'s rows), made
        feasible (``base.feasible_dual``), and its per-task sums ``sigma``."""
        b = self.prof.intercepts_b()
        r = self._residual() + self.design.per_row((self.prof.m - b).astype(self.dtype))
        Theta, sigma = feasible_dual(self.design, self.omega * r)
        return Theta, sigma, b

    def update_intercept(self):
        """Squared loss: exact minimisation over the intercepts (free: each task's
        weighted mean residual; penalised: ``Intercepts.solve``). Other datafits:
        one majorise-minimise step (curvature bound ``curvature * S_t`` per task;
        penalised intercepts: the exact minimiser of that majoriser plus ``h``)."""
        if self.quadratic:
            o = self.design.per_row(self.o) if self.center else 0.0
            if self.shared and not self.rank_one:  # R holds omega * residual
                num = self.design.task_sum(self.R + self.omega * o)
            else:
                num = self.design.task_sum(self.omega * (self.R + o))
            db = num / self._omega_sums
            if self.intercepts is not None:
                m = self.b + db
                db = self.intercepts.solve(m, self._S).astype(self.dtype) - self.b
            self.b = self.b + db
            if self.shared and not self.rank_one:
                self.R -= self.omega * db
            else:
                self.R -= self.design.per_row(db)
            return
        G = self.gradient()
        if self.intercepts is not None:
            L = self.datafit.curvature * self._omega_sums
            m = self.b - self.design.task_sum(G) / L
            self.b = self.intercepts.solve(m, L).astype(self.dtype)
        else:
            self.b = self.b - self.design.task_sum(G) / self.datafit.curvature
        self._G = None


def _centred_tasks(W):
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
    D = _centred_tasks(W)
    return 0.5 * alpha_mean * float(np.sum(D * D))


def _profiled_intercepts(design, datafit, b):
    """The penalised (hierarchical or pooled) intercept model that ``bcd`` profiles
    out of the squared loss (``_Profile``), or None."""
    intercepts = penalised_intercepts(design, b)
    if intercepts is None or design.center or not isinstance(datafit, Quadratic):
        return None
    return intercepts


class _Profile:
    """Penalised intercepts profiled out of the squared loss exactly.

    With intercepts ``b_t = b_0 + c_t`` and the penalty ``(lam / 2) sum_t rho_t
    c_t^2`` (``Intercepts``), minimising over ``c`` and ``b_0`` leaves a
    function of ``W`` alone: the datafit of the per-task centred design (the
    free-intercept problem, every layout of which ``_Kernel`` handles with
    ``center=True``) plus a quadratic in the per-task mean residuals::

        F(W) = min_b f(A W + b) + h(b)
             = f_c(W) + 1/2 sum_t a_t (m_t - mbar)^2,

    ``m_t = ybar_t - xbar_t @ w_t`` (the intercept task ``t`` would take alone),
    ``a_t = S_t lam rho_t / (S_t + lam rho_t) = (1 - k_t) S_t`` (``S_t`` the
    task's sum of ``omega``, ``k_t = S_t / (S_t + lam rho_t)`` the fraction of its
    mean the task keeps; ``a_t = S_t`` for one pooled intercept) and ``mbar =
    sum_t a_t m_t / sum_t a_t``, the optimal ``b_0``. (Task ``t``'s residual
    ``r`` enters through ``sum omega (r - rbar)^2 + S_t (1 - k_t)^2 rbar^2 +
    lam rho_t k_t^2 rbar^2``: the partial centring ``P_t = I - k_t / S_t 1
    1^T Omega_t`` of ``admm``, split into its centred part and its mean.)

    So block ``j``'s negative gradient gains ``xbar_j * a * (m - mbar)``
    (``neg_grad``; the dual's per-task sums ``sigma_t = a_t (m_t - mbar)``), and
    its Hessian ``diag(c_j + a xbar_j^2) - (a xbar_j)(a xbar_j)^T / sum a``:
    the diagonal ``curvature`` majorises it (a rank-one term is subtracted), so
    the existing block step applies. Features of large mean couple the columns through
    ``a_t xbar_t xbar_t^T`` (every task's mean residual depends on all of
    them): the support Newton steps (``_SupportNewton``, L2,1 penalties) carry
    that term and its rank-one correction in their Hessian, which coordinate
    descent alone converges on slowly. ``b_0`` is never a coordinate: it is
    ``mbar`` at every step, ``m`` a ``T``-vector updated with each column (no
    ``O(n)`` work). The intercepts ``b = Intercepts.solve(m, S)`` come out in
    closed form.
    """

    def __init__(self, design, intercepts):
        self.intercepts = intercepts
        dt = design.dtype
        self.S = design.task_sum(design.omega).astype(np.float64)
        if intercepts.pooled:
            a = self.S.copy()
        else:
            lr = intercepts.strength * intercepts.rho
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.where((self.S > 0) & (lr > 0), self.S * lr / (self.S + lr), 0.0)
        self.a = a.astype(dt)
        self.asum = float(np.sum(a))
        self.ybar = np.asarray(design.y_mean, dtype=np.float64)
        self.m = np.zeros(design.n_tasks, dtype=dt)

    def means(self, xbar, E):
        """``m = ybar - xbar @ e`` per task for working-set means ``xbar`` and
        effective weights ``E`` (both (p, T))."""
        return (self.ybar - np.einsum("kt,kt->t", xbar, E)).astype(self.m.dtype)

    def reset(self, xbar, E):
        self.m = self.means(xbar, E)

    def mbar(self, m=None):
        m = self.m if m is None else m
        return float(self.a @ m) / self.asum if self.asum > 0 else 0.0

    def neg_grad(self, xbar_k):
        """The profiled term's part of ``A_k* Theta`` (T,)."""
        return xbar_k * self.a * (self.m - self.mbar())

    def value(self, m=None):
        """``1/2 sum_t a_t (m_t - mbar)^2``: the intercept part of ``F``."""
        m = self.m if m is None else m
        dev = np.asarray(m, dtype=np.float64) - self.mbar(m)
        return 0.5 * float(self.a.astype(np.float64) @ (dev * dev))

    def curvature(self, xbar):
        """``a_t xbar_tj^2``: what the profiled term adds to the block curvature
        (``xbar`` of shape (T, d))."""
        return self.a.astype(np.float64)[:, None] * np.asarray(xbar, float) ** 2

    def intercepts_b(self):
        """The exact intercepts ``b_t = b_0 + c_t`` at the current ``m``."""
        return self.intercepts.solve(self.m, self.S)


def _runs(dst, src):
    """Maximal runs where both increasing index arrays step by one:
    ``[(dst_start, src_start, length), ...]``."""
    if not len(dst):
        return []
    breaks = np.flatnonzero((np.diff(dst) != 1) | (np.diff(src) != 1)) + 1
    starts = np.concatenate([[0], breaks])
    lengths = np.diff(np.concatenate([starts, [len(dst)]]))
    return list(zip(dst[starts].tolist(), src[starts].tolist(), lengths.tolist()))


# ---------------------------------------------------------------- Anderson
def _anderson(iterates):
    """Extrapolate from ``K + 1`` iterates (Anderson / RNA, as in skglm)."""
    A = np.stack(iterates, axis=1)
    U = np.diff(A, axis=1)
    UtU = U.T @ U
    try:
        z = np.linalg.solve(UtU, np.ones(U.shape[1]))
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(z)) or np.sum(z) == 0:
        return None
    return A[:, 1:] @ (z / np.sum(z))


def _group_params(penalty):
    """``(threshold, ridge)`` when the scalar-curvature block update of ``penalty``
    is the group soft-threshold ``u (1 - lam / ||u||)_+ / (c + ridge)``, else None."""
    if type(penalty) is L21:
        return penalty.alpha, 0.0
    if type(penalty) is L21Ridge:
        return penalty._l21.alpha, penalty._ridge
    return None


def _epoch_group_shared(kernel, Wl, curv, nz, vnorm, lam, ridge):
    """Fused epoch for the commonest case: shared layout without missing targets,
    dense X, squared loss, L2,1 (+ ridge) penalty (scalar curvature per column).

    ``vnorm[k]`` receives ``||A_k* Theta||`` just after column ``k`` is updated."""
    xc, R, ger = kernel.xc, kernel.R, kernel._ger
    xw, sc = (xc, kernel.wscale) if kernel.xcw is None else (kernel.xcw, 1.0)
    sqrt = math.sqrt
    for k in range(Wl.shape[0]):
        u = xw[k] @ R
        if sc != 1.0:
            u *= sc
        if nz[k]:
            w = Wl[k]
            ck = curv[k]
            u += ck * w
        nu = sqrt(u @ u)
        if nu <= lam:
            vnorm[k] = nu
            if nz[k]:
                ger(1.0, xc[k], w, a=R, overwrite_a=1)
                Wl[k] = 0.0
                nz[k] = False
            continue
        if not nz[k]:
            w = Wl[k]
            ck = curv[k]
        scale = (1.0 - lam / nu) / (ck + ridge)
        u *= scale
        ger(-1.0, xc[k], u - w, a=R, overwrite_a=1)
        Wl[k] = u
        vnorm[k] = lam + ridge * scale * nu
        nz[k] = True


def _epoch_group_shared_blocked(kernel, Wl, curv, nz, vnorm, lam, ridge):
    """``_epoch_group_shared`` by blocks of columns: the block's
    ``U = X_B^T Omega R + c W_B`` comes from one product and is kept current inside
    the block with the block's Gram matrix (``O(b T)`` per column instead of
    ``O(n T)``); ``R`` is updated once per block: BLAS-3 products instead of BLAS-2
    ones, the same iterates."""
    xc, R = kernel.xc, kernel.R
    ger, gemm = kernel._ger, kernel._gemm
    sqrt = math.sqrt
    c_all = kernel.curv_array
    for start, gram in kernel.blocks():
        stop = start + gram.shape[0]
        W_old = Wl[start:stop].copy()
        UB = kernel.weighted_product(start, stop, R)
        UB += c_all[start:stop, None] * W_old
        UB = np.asfortranarray(UB)
        changed = False
        for i in range(stop - start):
            k = start + i
            u = UB[i]
            nu = sqrt(u @ u)
            if nu <= lam:
                vnorm[k] = nu
                if nz[k]:
                    ger(1.0, gram[i], Wl[k], a=UB, overwrite_a=1)
                    Wl[k] = 0.0
                    nz[k] = False
                    changed = True
                continue
            scale = (1.0 - lam / nu) / (curv[k] + ridge)
            new = u * scale
            ger(-1.0, gram[i], new - Wl[k], a=UB, overwrite_a=1)
            Wl[k] = new
            vnorm[k] = lam + ridge * scale * nu
            nz[k] = True
            changed = True
        if changed:
            DB = Wl[start:stop] - W_old
            gemm(-1.0, xc[start:stop], DB, beta=1.0, c=R, trans_a=1, overwrite_c=1)


# multiply-adds allowed for the per-task Gram matrices of a support Newton step
_NEWTON_GRAM_BUDGET = 1e8


class _SupportNewton:
    """Newton steps on the support of an L2,1 (+ ridge) squared-loss problem.

    Where every column ``j`` of the support ``S`` is non-zero the objective is
    smooth in ``W[:, S]``: Hessian ``blockdiag_t(G_t) + sum_j (alpha / ||w_j||)
    (I - u_j u_j^T) + ridge I`` (``G_t`` task ``t``'s weighted centred Gram of the
    support columns, ``u_j = w_j / ||w_j||``). Coordinate descent is slow exactly
    here on rank-deficient designs: the loss is flat along each task's null space,
    where only the penalty, of curvature ``alpha / ||w_j||``, moves ``W``, by
    ``O(alpha / (c_j ||w_j||))`` per epoch. The step solves the Newton system by
    conjugate gradients preconditioned with the per-task blocks ``G_t + diag(alpha
    / ||w_j|| + ridge)``: the rest of the Hessian has rank ``|S|``, so CG ends in
    about ``|S|`` iterations. The caller keeps the step only if the objective
    decreases (backtracking); coordinate descent still decides the support.
    """

    def __init__(self, kernel, lam, ridge):
        self.kernel, self.lam, self.ridge = kernel, lam, ridge
        self._key, self._grams = None, None

    @staticmethod
    def applies(kernel, penalty, m):
        params = _group_params(penalty)
        if params is None or m != 1 or not kernel.quadratic or kernel.sparse:
            return None
        if kernel.b is not None or getattr(kernel.design, "reweighted", False):
            return None
        return params

    def _gram(self, S):
        """Per-task Gram matrices ``(T, s, s)`` of the support columns, or None
        when over budget."""
        key = tuple(S.tolist())
        if key == self._key:
            return self._grams
        kernel, design = self.kernel, self.kernel.design
        T, s = kernel.T, len(S)
        n = design.X.shape[0]
        if (
            n * s * s * (1 if not kernel.shared or kernel.rank_one else T)
            > (_NEWTON_GRAM_BUDGET)
            or T * s**3 > _NEWTON_GRAM_BUDGET
        ):
            self._key, self._grams = key, None
            return None
        xs = kernel.xs[S]  # (s, n), centred when kernel.pre_centred
        xbar = kernel.xbar[S]  # (s, T)
        center = kernel.center and not kernel.pre_centred
        if kernel.shared and kernel.rank_one:
            w = kernel.omega[:, 0]
            G = (xs * w) @ xs.T
            if center:
                G -= np.outer(xbar[:, 0], xbar[:, 0])
            grams = np.broadcast_to(G, (T, s, s))
        elif kernel.shared:
            grams = np.empty((T, s, s))
            for t in range(T):
                G = (xs * kernel.omega[:, t]) @ xs.T
                if center:
                    G -= np.outer(xbar[:, t], xbar[:, t])
                grams[t] = G
        else:
            grams = np.empty((T, s, s))
            xw = xs * kernel.omega
            for t, rows in enumerate(design.data.task_indices()):
                grams[t] = xw[:, rows] @ xs[:, rows].T
        self._key, self._grams = key, grams
        return grams

    def direction(self, Wl, S, grad):
        """Newton direction ``(s, T)`` on support ``S`` (rows of ``Wl``) for the
        smooth objective's gradient ``grad`` (s, T), or None."""
        grams = self._gram(S)
        if grams is None:
            return None
        W = Wl[S]  # (s, T)
        norms = np.sqrt(np.einsum("st,st->s", W, W))
        if np.any(norms == 0):
            return None
        U = W / norms[:, None]
        k = self.lam / norms  # (s,)
        diag = k + self.ridge
        prof = self.kernel.prof
        if prof is not None:  # profiled intercepts: a_t xbar_t xbar_t^T - rank one
            xb = self.kernel.xbar[S]  # (s, T)
            a = prof.a.astype(np.float64)
            grams = grams + a[:, None, None] * np.einsum("at,bt->tab", xb, xb)

        def hess(D):  # D (s, T)
            out = np.einsum("tab,bt->at", grams, D)
            out += diag[:, None] * D
            out -= (k * np.einsum("st,st->s", U, D))[:, None] * U
            if prof is not None and prof.asum > 0:
                u = np.einsum("st,st->t", xb, D)
                out -= xb * (a * (float(a @ u) / prof.asum))
            return out

        M = grams + np.eye(len(S))[None] * diag[None, None, :]
        try:
            chol = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            return None

        def precond(Rm):  # solve M_t z_t = r_t for every task
            rhs = Rm.T[:, :, None]
            z = np.linalg.solve(chol, rhs)
            z = np.linalg.solve(np.swapaxes(chol, 1, 2), z)
            return z[:, :, 0].T

        # preconditioned conjugate gradients on hess(D) = -grad
        D = np.zeros_like(grad)
        Rm = -grad
        Z = precond(Rm)
        P = Z.copy()
        rz = float(np.sum(Rm * Z))
        r0 = math.sqrt(float(np.sum(Rm * Rm)))
        for _ in range(len(S) + 10):
            HP = hess(P)
            pHp = float(np.sum(P * HP))
            if pHp <= 0:
                break
            step = rz / pHp
            D += step * P
            Rm -= step * HP
            if math.sqrt(float(np.sum(Rm * Rm))) <= 1e-10 * r0:
                break
            Z = precond(Rm)
            rz_new = float(np.sum(Rm * Z))
            P = Z + (rz_new / rz) * P
            rz = rz_new
        return D


class _Inner:
    """Block coordinate descent epochs on the working set.

    Each epoch also records, for every column, ``A_k* Theta`` right after the
    column's update (exact then, for the squared loss: ``g_k - c_k delta_k``); the
    gap of the working-set problem estimated from these (no product with ``X``) tells
    when to run the exact check.
    """

    def __init__(
        self, kernel, penalty, curv, m, anderson, reset_every=10, alpha_mean=0.0
    ):
        if alpha_mean > 0:
            if m != 1:
                raise ValueError("alpha_mean needs one block of task weights.")
            # block majoriser of the mean-shrinkage term: curvature + alpha_mean
            if isinstance(curv, list):
                curv = [c + alpha_mean for c in curv]
            else:
                curv = curv + alpha_mean
        self.kernel, self.penalty, self.curv, self.m = kernel, penalty, curv, m
        self.anderson, self.reset_every = anderson, reset_every
        self.alpha_mean = float(alpha_mean)
        # the least-squares dual point (squared loss, no free intercepts)
        self.refine = (
            kernel.quadratic
            and kernel.b is None
            and kernel.prof is None
            and alpha_mean == 0
            and hasattr(kernel.design, "least_squares_dual")
        )
        params = _SupportNewton.applies(kernel, penalty, m)
        if alpha_mean > 0:
            params = None
        self.newton = None if params is None else _SupportNewton(kernel, *params)
        params = _group_params(penalty)
        self.fused = (
            params
            if params is not None
            and kernel.quadratic
            and kernel.rank_one
            and not kernel.sparse
            and kernel.prof is None
            and isinstance(curv, list)
            and alpha_mean == 0
            else None
        )
        # the compiled epoch (``epochs``), when it covers this problem
        # (not with the mean-shrinkage term, whose gradient it does not add)
        self.compiled = (
            epochs.plan(kernel, penalty, curv, m) if alpha_mean == 0 else None
        )

    def epoch(self, Wl, El, nz, V):
        """One pass over the working-set columns, then the intercept step."""
        self._columns(Wl, El, nz, V)
        if self.kernel.b is not None:
            self.kernel.update_intercept()

    def _columns(self, Wl, El, nz, V):
        if self.compiled is not None and epochs.run(
            self.compiled, self.kernel, Wl, nz, V
        ):
            return
        if self.fused is not None:
            self.kernel.curv_array = np.asarray(self.curv)
            epoch = (
                _epoch_group_shared_blocked
                if self.kernel.block_size > 1
                else _epoch_group_shared
            )
            epoch(self.kernel, Wl, self.curv, nz, V, *self.fused)
            return
        kernel, penalty, curv, m = self.kernel, self.penalty, self.curv, self.m
        am = self.alpha_mean
        T = El.shape[1]
        for k in range(Wl.shape[0]):
            g = kernel.neg_grad(k)
            ck = curv[k]
            e = El[k]
            if am:  # majoriser (c + am) of the datafit plus (am/2)||P e||^2
                u = (ck - am) * e + g + am * e.mean()
            else:
                u = ck * e + g
            new = penalty.block_prox(u, ck, Wl[k])
            e_new = new if m == 1 else new.reshape(m, T).sum(axis=0)
            if not nz[k] and not e_new.any():
                V[k] = g
                continue
            delta = e_new - e
            if am:
                V[k] = g - (ck - am) * delta - am * (e_new - e_new.mean())
            else:
                V[k] = g - ck * delta
            kernel.update(k, delta)
            Wl[k] = new
            El[k] = e_new
            nz[k] = bool(new.any())

    def objective(self, Wl, F, b=None):
        """Objective of the working-set problem at ``Wl`` with output ``F`` (and
        the intercept penalty of ``b``, the kernel's intercepts by default)."""
        kernel = self.kernel
        value = kernel.datafit.value(F, kernel.Y, kernel.omega) + self.penalty.value(
            Wl.T
        )
        if self.alpha_mean:
            value += mean_shrinkage(Wl.T, self.alpha_mean)
        if kernel.intercepts is not None:
            value += kernel.intercepts.value(kernel.b if b is None else b)
        if kernel.prof is not None:  # the profiled intercepts at Wl
            El = Wl if self.m == 1 else _effective(Wl.T, self.m).T
            value += kernel.prof.value(kernel.prof.means(kernel.xbar, El))
        return value

    def gap(self, Wl, V=None, tol=None):
        """Duality gap of the working-set problem (intercepts as they are), from
        ``V = A_ws* Theta`` (p, T) or its column norms (p,) when given (the L2,1
        penalties depend on the columns of ``V`` through their norms only), else
        computed exactly. With ``tol``, a plain gap already at most ``tol`` is
        returned without the refined dual point (it certifies the stop alone)."""
        kernel = self.kernel
        F = kernel.output()
        prof = kernel.prof
        if prof is not None:
            Theta, sigma, _ = kernel.profiled_dual()
        else:
            Theta = -kernel.datafit.gradient(F, kernel.Y, kernel.omega)
        if kernel.intercepts is not None:
            Theta, sigma = feasible_dual(kernel.design, Theta)
        norms = None
        if V is None:
            V = kernel.adjoint_ws(Theta)
            if prof is not None:  # the raw adjoint (Theta is not centred)
                V = V + kernel.xbar.T * sigma[:, None]
            if self.alpha_mean:  # the dual part of the mean-shrinkage term
                V = V - self.alpha_mean * _centred_tasks(Wl.T)
        elif V.ndim == 1:  # column norms only (fused epochs: L2,1 penalties)
            norms = V
            V = np.zeros((kernel.T, norms.shape[0]), dtype=norms.dtype)
            V[0] = norms
        else:
            V = V.T
        if self.m > 1:
            V = np.tile(V, (self.m, 1))
        c = self.penalty.dual_scale(V)
        dual = kernel.datafit.dual_value(
            c * Theta, kernel.Y, kernel.omega
        ) - self.penalty.conjugate(c * V)
        if self.alpha_mean:
            dual -= c * c * mean_shrinkage(Wl.T, self.alpha_mean)
        if kernel.intercepts is not None:
            dual += kernel.intercepts.dual_value(c * sigma)
        if prof is not None:  # Y is centred: sum Theta y = ... + sigma @ ybar
            dual += c * float(sigma @ prof.ybar)
            dual += prof.intercepts.dual_value(c * sigma)
        primal = self.objective(Wl, F)
        if self.refine and primal - dual > (0.0 if tol is None else tol):
            dual = max(
                dual,
                refined_dual(
                    kernel.design,
                    kernel.datafit,
                    self.penalty,
                    Theta,
                    V if norms is None else norms,
                    cols=kernel.ws,
                    m=self.m,
                ),
            )
        return primal - dual

    def _newton_step(self, Wl, nz):
        """One support Newton step (see ``_SupportNewton``), kept only if it
        lowers the objective: the full step, else from a step moving no column by
        more than half its norm, halved up to 4 times. True if taken."""
        kernel = self.kernel
        norms = np.sqrt(np.einsum("kt,kt->k", Wl, Wl))
        # columns at rounding level are where the norm has its kink, not smooth
        S = np.flatnonzero(norms > 1e-6 * norms.max(initial=0.0))
        if not len(S):
            return False
        if kernel.prof is not None:  # the profiled datafit's gradient
            Theta, sigma, _ = kernel.profiled_dual()
            V = (kernel.adjoint_ws(Theta) + kernel.xbar.T * sigma[:, None]).T
        else:
            Theta = -kernel.datafit.gradient(kernel.output(), kernel.Y, kernel.omega)
            V = kernel.adjoint_ws(Theta).T  # (p, T): minus the loss gradient
        W = Wl[S]
        norms = np.sqrt(np.einsum("st,st->s", W, W))
        grad = -V[S] + self.newton.lam * W / norms[:, None] + self.newton.ridge * W
        D = self.newton.direction(Wl, S, grad)
        if D is None or not np.all(np.isfinite(D)):
            return False
        p_old = self.objective(Wl, kernel.output())
        trial = Wl.copy()
        # the norm is quadratic only near w_j: no column may move by more than
        # half its norm (a trust region)
        move = np.sqrt(np.einsum("st,st->s", D, D)) / norms
        safe = min(1.0, 0.5 / max(float(move.max(initial=0.0)), 1e-300))
        steps = [safe * 0.5**i for i in range(5)]
        if safe < 1.0:
            steps.insert(0, 1.0)  # the full step first: often fine
        for step in steps:
            trial[S] = W + step * D
            F = kernel.forward(trial)
            if self.objective(trial, kernel.full_output(F)) < p_old:
                Wl[:] = trial
                kernel.reset(Wl, F)
                return True
        return False

    def _extrapolate(self, history, Wl, El, nz):
        """Anderson step; kept only if it lowers the objective. True if taken."""
        extra = _anderson(history)
        if extra is None:
            return False
        kernel, m = self.kernel, self.m
        We = extra.reshape(Wl.shape)
        Ee = We if m == 1 else np.ascontiguousarray(_effective(We.T, m).T)
        Fe = kernel.forward(Ee)
        p_extra = self.objective(We, kernel.full_output(Fe))
        if p_extra >= self.objective(Wl, kernel.output()):
            return False
        Wl[:] = We
        if m > 1:
            El[:] = Ee
        nz[:] = np.any(We != 0, axis=1).tolist()
        kernel.reset(El, Fe)
        return True

    def run(self, Wl, tol, max_epochs, dw_tol=None, dw_spent=0):
        """Epochs until the working-set gap is at most ``tol``; returns epochs.

        With ``dw_tol`` (squared loss) it also waits until the largest change of
        an entry of ``W`` in the last epoch is at most ``dw_tol`` times the
        largest entry (scikit-learn's coordinate descent checks its gap only
        then), for at most as many epochs again as the gap took (``dw_spent``:
        epochs of earlier working sets); ``self.dw_ok`` tells whether it is
        done.
        """
        kernel, m = self.kernel, self.m
        self.dw_ok = True
        if not kernel.quadratic:
            return _newton(self, Wl, tol, max_epochs)
        El = Wl if m == 1 else np.ascontiguousarray(_effective(Wl.T, m).T)
        nz = np.any(Wl != 0, axis=1).tolist()
        V = np.zeros(
            Wl.shape[0] if self.fused else (Wl.shape[0], kernel.T), dtype=Wl.dtype
        )
        history = [Wl.ravel().copy()]
        epochs, wait, waited = 0, 1, 0
        nz_prev, deadline = None, None
        while epochs < max_epochs:
            if dw_tol is not None:
                W_prev = Wl.copy()
            self.epoch(Wl, El, nz, V)
            epochs += 1
            waited += 1
            if dw_tol is not None:
                w_max = float(np.max(np.abs(Wl), initial=0.0))
                dw_max = float(np.max(np.abs(Wl - W_prev), initial=0.0))
                self.dw_ok = w_max == 0.0 or dw_max <= dw_tol * w_max
            if epochs % self.reset_every == 0:
                kernel.reset(El)  # no drift
                if self.newton is not None and nz == nz_prev:
                    if self._newton_step(Wl, nz):
                        history = [Wl.ravel().copy()]
                        continue  # V is stale
            if self.newton is not None and epochs % self.reset_every == 1:
                nz_prev = list(nz)
            if self.anderson:
                history.append(Wl.ravel().copy())
                if len(history) > self.anderson:
                    taken = self._extrapolate(history, Wl, El, nz)
                    history = [Wl.ravel().copy()]
                    if taken:
                        continue  # V is stale
            # the estimate from V lags (columns updated early in the epoch have
            # moved since): confirm exactly, and after a failed confirmation wait
            # longer before the next one (each costs a product with X_ws)
            if deadline is not None:  # the gap was met: waiting for dw only
                if self.dw_ok or epochs >= deadline:
                    self.dw_ok = True
                    break
                continue
            if waited >= wait and self.gap(Wl, V, tol) <= tol:
                if self.gap(Wl, tol=tol) <= tol:
                    if self.dw_ok:
                        break
                    # at most as many epochs again (and 10) for the change
                    # condition: it refines W where the gap bounds it only by
                    # its square root, and must not cost more than the solve
                    deadline = epochs + max(epochs + dw_spent, 10)
                    continue
                wait, waited = min(2 * wait, 8), 0
        return epochs


class _NewtonDesign:
    """The weighted least-squares model of a prox-Newton step on the working set
    ``ws``: the design of ``base`` with loss weights ``H`` (the Hessian diagonal)
    and target ``z`` (the working response). With intercepts (``center=True``) it
    is centred per task with the weights ``H`` so that the intercepts drop out
    (they are ``zbar - xbar @ w``); without, it is the raw design: centring would
    solve the model of a problem with free intercepts, whose step is not a descent
    direction of the problem without them."""

    reweighted = True

    def __init__(self, base, H, z, ws, center=True):
        for key in ("data", "X", "shared", "task", "dtype", "n_tasks", "n_features"):
            setattr(self, key, getattr(base, key))
        self.per_row, self.task_sum = base.per_row, base.task_sum
        self.center = center
        self.omega = H
        self.X_mean = np.zeros((self.n_tasks, self.n_features), dtype=self.dtype)
        if not center:
            self.zbar = np.zeros(self.n_tasks, dtype=self.dtype)
            self.Y = z * (H > 0)
            return
        S = np.maximum(base.task_sum(H), 1e-300)
        self.zbar = base.task_sum(H * z) / S
        self.Y = (z - base.per_row(self.zbar)) * (H > 0)
        Xs = self.X[:, ws]
        if self.shared:
            means = np.asarray(Xs.T @ H).T
        else:
            means = task_scatter(Xs, H, self.task, self.n_tasks)
        self.X_mean[:, ws] = means / S[:, None]

    def intercept(self, E, ws):
        """Intercepts of effective weights ``E`` (p, T) on the working set."""
        return self.zbar - np.einsum("kt,tk->t", E, self.X_mean[:, ws])


def _newton(inner, Wl, tol, max_epochs, max_sub_epochs=20):
    """Prox-Newton on the working set for a non-quadratic datafit (as skglm).

    Each step solves the penalised weighted least-squares model of the datafit at
    the current point (centred with the Hessian weights, so the intercepts are
    exact) by block coordinate descent, then backtracks along the direction on the
    true objective (Armijo)."""
    kernel, penalty, m = inner.kernel, inner.penalty, inner.m
    datafit, Y, omega, design = kernel.datafit, kernel.Y, kernel.omega, kernel.design

    def eff(Z):  # effective weights (p, T) of working-set blocks (p, m T)
        return Z if m == 1 else np.ascontiguousarray(_effective(Z.T, m).T)

    penalised = kernel.intercepts  # None: free intercepts (centred model) or none
    am = inner.alpha_mean

    def rest(W, b):  # the convex terms besides the datafit
        value = penalty.value(W.T) + mean_shrinkage(W.T, am)
        return value + (0.0 if penalised is None else penalised.value(b))

    epochs = 0
    while epochs < max_epochs:
        if penalised is not None:  # exact intercepts: a feasible dual point
            kernel.b = datafit.optimal_offsets(kernel.F, Y, omega, design, b0=kernel.b)
            kernel._G = None
        gap = inner.gap(Wl)
        if gap <= tol:
            break
        Fo = kernel.output()
        G = datafit.gradient(Fo, Y, omega)
        H = np.maximum(datafit.hessian(Fo, Y, omega), 1e-12 * omega)
        z = Fo - np.divide(G, H, out=np.zeros_like(G), where=H > 0)
        if penalised is None:
            sub_design = _NewtonDesign(
                design, H, z, kernel.ws, center=kernel.b is not None
            )
            sub = _Kernel(sub_design, _QUADRATIC)
        else:  # the model keeps the intercepts and their penalty (joint step)
            sub_design = _NewtonDesign(design, H, z, kernel.ws, center=False)
            sub_design.intercepts = penalised
            sub = _Kernel(sub_design, _QUADRATIC, b=kernel.b)
        sub.set_ws(kernel.ws)
        sub.reset(eff(Wl))
        curv = np.ascontiguousarray(sub.ws_curvature())
        W_new = Wl.copy()
        sub_inner = _Inner(sub, penalty, curv, m, anderson=0, alpha_mean=am)
        epochs += sub_inner.run(
            W_new, 0.3 * min(gap, tol), min(max_sub_epochs, max_epochs - epochs)
        )
        dW = W_new - Wl
        dF = kernel.forward(eff(dW))
        db = None
        if penalised is not None:
            db = sub.b - kernel.b
        elif kernel.b is not None:
            db = sub_design.intercept(eff(W_new), kernel.ws) - kernel.b
        b_old = kernel.b
        if db is not None:
            dF = dF + design.per_row(db)
        g_old = rest(Wl, b_old)
        p_old = datafit.value(Fo, Y, omega) + g_old
        b_new = None if db is None else b_old + db
        decrease = float(np.sum(G * dF)) + rest(W_new, b_new) - g_old
        step = 1.0
        for _ in range(30):
            trial = Wl + step * dW
            b_trial = None if db is None else b_old + step * db
            p_trial = datafit.value(Fo + step * dF, Y, omega) + rest(trial, b_trial)
            if p_trial <= p_old + 0.5 * step * min(decrease, 0.0):
                break
            step *= 0.5
        else:
            break  # no descent: the direction is numerically zero
        Wl[:] = trial
        if db is not None:
            kernel.b = b_trial
        kernel.reset(eff(Wl))
    return max(epochs, 1)


_QUADRATIC = Quadratic()


def _curvatures(design, datafit):
    """Per-(task, feature) block curvature and whether tasks share it."""
    c = datafit.curvature * design.column_curvature()
    equal = design.shared and design.data.mask is None
    return c, equal


def null_correlations(design, datafit, fit_intercept=True):
    """``A* Theta0`` (n_tasks, d): minus the datafit's gradient in ``W`` at
    ``W = 0`` with the optimal intercepts of the intercept model
    ``design.intercepts`` (free when None: each task's best constant; penalised:
    ``b_t = b_0 + c_t`` with the ridge on ``c``, via ``datafit.optimal_offsets``).
    ``Theta0`` is then dual feasible for the intercepts (``sum_t sigma_t = 0``), so
    ``W = 0`` is optimal exactly when ``g*`` is finite at ``A* Theta0``."""
    F = np.zeros(design.Y.shape, dtype=design.dtype)
    if fit_intercept and not design.center:
        b = datafit.optimal_offsets(F, design.Y, design.omega, design)
        F = F + design.per_row(b)
    return design.adjoint(-datafit.gradient(F, design.Y, design.omega))


def alpha_max_design(design, datafit, penalty, fit_intercept=True):
    """Smallest penalty strength with ``W = 0`` optimal, for any intercept model.

    ``penalty`` is the penalty at unit strength (``L21(1.0)``, ``SparseGroupL1L21(1.0,
    r)``, ...): ``alpha_max = penalty.dual_norm(null_correlations(...))``. With
    ``design.intercepts`` hierarchical the intercepts at ``W = 0`` are the shrunken
    ones, so ``alpha_max`` is that of the problem the estimator solves. A
    mean-shrinkage term (``alpha_mean``) has zero gradient at ``W = 0`` and does
    not change it.
    """
    return float(penalty.dual_norm(null_correlations(design, datafit, fit_intercept)))


def bcd(design, datafit, penalty, W0, b0=None, **kwargs):
    """Minimise ``f(A E(W) + b) + g(W)`` from ``(W0, b0)``; see the module docstring
    and ``_bcd`` for the parameters. BLAS runs single-threaded (see
    ``_blas_threads``)."""
    with _blas_threads(1):
        return _bcd(design, datafit, penalty, W0, b0, **kwargs)


def _bcd(
    design,
    datafit,
    penalty,
    W0,
    b0=None,
    *,
    max_iter=1000,
    tol=1e-4,
    verbose=0,
    ws_min=10,
    anderson=5,
    screening=True,
    inner_ratio=0.3,
    full_ratio=0.5,
    alpha_mean=0.0,
):
    """Minimise ``f(A E(W) + b) + g(W) [+ h(b)] [+ q(W)]`` from ``(W0, b0)``; see the
    module docstring.

    Parameters
    ----------
    design : MultiTaskDesign
    datafit : Quadratic (on a centred or uncentred design) or any datafit on an
        uncentred design (intercepts ``b`` then updated jointly when ``b0`` is given).
    penalty : separable penalty with ``block_prox`` and ``column_margin``.
    W0 : ndarray of shape (n_blocks * n_tasks, n_features)
    b0 : ndarray of shape (n_tasks,) or None
    max_iter : int
        Maximum number of epochs (passes over the working set).
    tol : float
        Relative duality-gap tolerance (unit: ``base.null_scale``). For
        the squared loss, as in scikit-learn, the solve also runs until the
        last epoch changed no entry of ``W`` by more than ``tol`` times its
        largest entry.
    ws_min : int
        Smallest working set.
    anderson : int
        Iterates per Anderson extrapolation (0 disables it).
    screening : bool
        Gap-safe screening of the features.
    inner_ratio : float
        The working-set problem is solved to ``inner_ratio`` times the outer gap.
    full_ratio : float
        A working set of more than this fraction of the unscreened features is
        extended to all of them and solved to ``tol`` directly.
    alpha_mean : float
        Strength of the mean-shrinkage term ``q(W) = (alpha_mean / 2) sum_t
        ||w_t - wbar||^2`` (``mean_shrinkage``; one block of weights only).

    Returns
    -------
    SolverResult
    """
    m = _n_blocks(penalty)
    T, d = design.n_tasks, design.n_features
    if W0.shape != (m * T, d):
        raise ValueError(f"W0 has shape {W0.shape}; expected {(m * T, d)}.")
    if alpha_mean > 0 and m != 1:
        raise ValueError("alpha_mean needs one block of task weights.")
    W = np.array(W0, dtype=design.dtype)
    profiled = _profiled_intercepts(design, datafit, b0)
    if profiled is not None:
        # penalised intercepts of the squared loss: profiled out exactly on the
        # centred design (``_Profile``); ``design`` still defines the gap
        work = design.centred()
        kernel = _Kernel(work, datafit)
        kernel.profile(profiled)
        curv_full, equal = _curvatures(work, datafit)
        curv_full = curv_full + kernel.prof.curvature(work.X_mean)
        equal = equal and bool(np.all(curv_full == curv_full[:1]))
    else:
        kernel = _Kernel(design, datafit, b0)
        curv_full, equal = _curvatures(design, datafit)
    colnorm = column_operator_norms(design)
    radius_unit = 2.0 * datafit.curvature * float(np.max(design.omega))
    if alpha_mean > 0:
        # the dual variable Xi of the mean-shrinkage term (see mean_shrinkage)
        # is 1-strongly concave and adds sqrt(alpha_mean) to a column's norm
        radius_unit = max(radius_unit, 2.0)
        colnorm = np.sqrt(colnorm**2 + alpha_mean)
    threshold = tol * null_scale(design, datafit, b0 is not None)
    screened = np.zeros(d, dtype=bool)
    big_products = design.X.shape[0] * d * T >= _THREADED_PRODUCT
    ws = np.flatnonzero(np.any(W != 0, axis=0))
    kernel.set_ws(ws)
    n_epochs, gap, primal, converged = 0, np.inf, np.inf, False
    ws_size = ws_min
    # scikit-learn's second stopping condition (squared loss): the last epoch
    # changed no entry of W by more than tol times the largest (none yet: True)
    dw_ok = True
    while True:
        E = _effective(W[:, ws], m).T
        kernel.reset(E)
        if kernel.b is not None:  # exact intercepts: a feasible dual point
            F_raw = kernel.forward(E) if kernel.quadratic else kernel.F
            kernel.b = datafit.optimal_offsets(
                F_raw, design.Y, design.omega, design, b0=kernel.b
            ).astype(design.dtype, copy=False)
            if kernel.quadratic:
                kernel.reset(E, F_raw)
            kernel._G = None
        F = kernel.output()
        if profiled is not None:
            Theta, sigma, _ = kernel.profiled_dual()
        else:
            Theta = -datafit.gradient(F, design.Y, design.omega)
        if kernel.intercepts is not None:
            Theta, sigma = feasible_dual(design, Theta)
        if big_products:
            with _blas_threads(None):
                V = design.adjoint(Theta)
        else:
            V = design.adjoint(Theta)
        if alpha_mean > 0:
            V = V - alpha_mean * _centred_tasks(W)
        Vb = V if m == 1 else np.tile(V, (m, 1))
        scale = penalty.dual_scale(Vb)
        Yd = design.Y if profiled is None else kernel.Y  # centred when profiled
        primal = datafit.value(F, Yd, design.omega) + penalty.value(W)
        dual = datafit.dual_value(scale * Theta, Yd, design.omega) - penalty.conjugate(
            scale * Vb
        )
        if profiled is not None:  # see _Inner.gap
            primal += kernel.prof.value()
            dual += scale * float(sigma @ kernel.prof.ybar) + profiled.dual_value(
                scale * sigma
            )
        if alpha_mean > 0:
            q = mean_shrinkage(W, alpha_mean)
            primal += q
            dual -= scale * scale * q
        if kernel.intercepts is not None:
            primal += kernel.intercepts.value(kernel.b)
            dual += kernel.intercepts.dual_value(scale * sigma)
        if (
            kernel.quadratic
            and kernel.b is None
            and profiled is None
            and alpha_mean == 0
            and primal - dual > 0
        ):
            dual = max(dual, refined_dual(design, datafit, penalty, Theta, Vb, m=m))
        gap = primal - dual
        if verbose:
            print(
                f"epoch {n_epochs}: primal {primal:.10g} gap {gap:.3e} "
                f"(target {threshold:.3e}), working set {len(ws)}, "
                f"screened {int(screened.sum())}"
            )
        if gap <= threshold and (dw_ok or n_epochs >= max_iter):
            converged = True
            break
        if n_epochs >= max_iter:
            break
        margin = penalty.column_margin(scale * Vb)
        if screening and np.isfinite(gap):
            # a gap at rounding level must not shrink the safe sphere to nothing
            slack = 10 * np.finfo(W.dtype).eps * abs(primal)
            radius = math.sqrt((max(gap, 0.0) + slack) * radius_unit)
            screened |= margin > radius * colnorm
        active = np.any(W != 0, axis=0)
        if np.any(active & screened):  # cannot happen at the optimum; be safe
            screened &= ~active
        with np.errstate(divide="ignore", invalid="ignore"):
            priority = np.where(colnorm > 0, margin / colnorm, np.inf)
        priority[active] = -np.inf
        priority[screened] = np.inf
        n_free = d - int(screened.sum())
        ws_size = min(n_free, max(ws_min, 2 * int(active.sum()), ws_size))
        if ws_size > full_ratio * n_free:  # not worth the outer iterations
            ws_size = n_free
        if ws_size == 0:
            break
        ws = np.sort(np.argpartition(priority, ws_size - 1)[:ws_size])
        kernel.set_ws(ws)
        Wl = np.ascontiguousarray(W[:, ws].T)
        kernel.reset(_effective(Wl.T, m).T)
        curv = curv_full[:, ws].T
        curv = np.ascontiguousarray(curv[:, 0] if equal else curv)
        if equal:
            curv = curv.tolist()  # python floats: the scalar closed form
        inner = _Inner(kernel, penalty, curv, m, anderson, alpha_mean=alpha_mean)
        # a working set holding every unscreened feature is the whole problem
        final = ws_size == n_free or gap <= threshold
        tol_in = 0.5 * threshold if final else inner_ratio * gap
        n_epochs += inner.run(
            Wl,
            tol_in,
            max_iter - n_epochs,
            dw_tol=tol if final else None,
            dw_spent=n_epochs,
        )
        dw_ok = inner.dw_ok
        W[:, ws] = Wl.T
    b = kernel.b
    if profiled is not None:  # the state is that of W (reset at the gap)
        b = kernel.prof.intercepts_b().astype(design.dtype)
    return SolverResult(W, b, max(n_epochs, 1), gap, primal, converged)
