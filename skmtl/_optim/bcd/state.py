"""Solver state of block coordinate descent: the working-set columns and the
output-space quantity that their updates keep current.

One class per kind of datafit, so that the loss branch is taken once, when the
state is built (``column_state``), not in every method:

- ``ResidualState`` (squared loss): the state is the residual ``R = Y - A E`` (of
  the centred design when it is centred), and a column's gradient is a product of
  the column with ``R``;
- ``OutputState`` (other datafits): the state is the raw output ``F = X E`` and
  the intercepts ``b``; a column's gradient is a product with ``grad f(F + b)``.

Both share ``_ColumnState``: the rows of the working-set features (gathered once
per working set, copied where the previous working set already held them), the
products ``X_ws E`` and ``A_ws* Theta`` and the block curvatures. ``E`` always
denotes the effective task weights of the working set, shape (p, T)
(``effective_weights``).
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import get_blas_funcs

from ..._ops import task_dot
from ..base import feasible_dual, penalised_intercepts
from ..datafits import Quadratic
from .profile import InterceptProfile

__all__ = ["OutputState", "ResidualState", "column_state", "effective_weights"]


def effective_weights(W, m):
    """Effective task weights: the sum of the ``m`` stacked blocks of ``W``
    (``m * T``, p) (penalties with ``n_blocks = m``, such as the dirty model)."""
    if m == 1:
        return W
    T = W.shape[0] // m
    return W.reshape(m, T, -1).sum(axis=0)


def column_state(design, datafit, b=None, block_size=32):
    """The state for ``datafit``: ``ResidualState`` for the squared loss, else
    ``OutputState``. ``b``: the initial intercepts, updated by the solver (None:
    none, or removed by centring)."""
    cls = ResidualState if isinstance(datafit, Quadratic) else OutputState
    return cls(design, datafit, b, block_size=block_size)


# rows gathered or copied per chunk: no temporary as large as the working set
_CHUNK = 256


class _ColumnState:
    """The working-set columns of a design and the products with them.

    Attributes
    ----------
    ws : ndarray of int
        The working-set features (``set_ws``).
    xbar : ndarray of shape (p, T)
        Their per-task means (zero on an uncentred design).
    xs, xcw : ndarray of shape (p, n) or None
        Dense ``X``: the working-set rows (centred when ``pre_centred``) and the
        same rows times the loss weights (``_weighted_rows``).
    Xs, idx, dat : sparse ``X``: the working-set columns (CSC) and, per column,
        its row indices and values.
    S : ndarray of shape (T,)
        Per-task sums of the loss weights ``omega`` (1 unless reweighted).
    """

    #: the datafit is the squared loss (the state is a residual)
    quadratic = False
    #: penalised intercepts profiled out (``ResidualState.profile``)
    prof = None

    def __init__(self, design, datafit, b=None, block_size=32):
        self.design, self.datafit = design, datafit
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
        self.pre_centred, self.wscale = self._row_layout()
        self.b = None if b is None else np.asarray(b, dtype=design.dtype).copy()
        #: the penalised intercept model of ``b`` (None: free intercepts or none)
        self.intercepts = penalised_intercepts(design, b)
        self.dtype = design.dtype
        self.ger = get_blas_funcs("ger", dtype=self.dtype)
        self.gemm = get_blas_funcs("gemm", dtype=self.dtype)
        self.block_size = block_size
        self.S = design.task_sum(self.omega)  # 1 per task unless reweighted
        self.S_safe = np.maximum(self.S, 1e-300)
        self.set_ws(np.zeros(0, dtype=np.intp))

    def _row_layout(self):
        """``(pre_centred, wscale)``: whether dense rows are stored centred, and
        the single loss weight standing for the weighted rows (or None)."""
        return False, None

    def _weighted_rows(self, xs):
        """The rows ``xs`` times the loss weights, when the state uses them."""
        return None

    # ------------------------------------------------------------ working set
    def set_ws(self, ws):
        """Gather the rows (or sparse columns) of the working-set features."""
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
        # one array per role, filled chunk by chunk: rows of features already
        # in the previous working set are copied (not gathered and centred
        # again), the others gathered from X
        prev, self._dense_ws = getattr(self, "_dense_ws", None), None
        self.xs = self.xc = self.xcw = None
        fresh_at = np.arange(len(ws))
        keep_at = src = fresh_at[:0]
        if prev is not None and len(prev[0]) and len(ws):
            pos = np.minimum(np.searchsorted(prev[0], ws), len(prev[0]) - 1)
            kept = prev[0][pos] == ws
            keep_at, src, fresh_at = np.flatnonzero(kept), pos[kept], fresh_at[~kept]
        first = self._dense_rows(ws[:0], xbar[:0])
        arrays = [
            None if a is None else np.empty((len(ws), a.shape[1]), dtype=a.dtype)
            for a in first
        ]
        for k in range(0, len(keep_at), _CHUNK):
            at, rows = keep_at[k : k + _CHUNK], src[k : k + _CHUNK]
            for out, old in zip(arrays, prev[1]):
                if out is not None:
                    out[at] = old[rows]
        for k in range(0, len(fresh_at), _CHUNK):
            at = fresh_at[k : k + _CHUNK]
            for out, new in zip(arrays, self._dense_rows(ws[at], xbar[at])):
                if out is not None:
                    out[at] = new
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
        return xs, self._weighted_rows(xs)

    def ws_curvature(self):
        """``sum_{i in t} omega_i (x_ik - xbar_tk)^2`` for the working-set
        columns, shape (p, T)."""
        if self.sparse:
            X2 = self.Xs.multiply(self.Xs).tocsc()
            if self.shared:
                c = np.asarray(X2.T @ self.omega)
            else:
                c = self.design.task_scatter(X2, self.omega).T
        else:
            X2 = self.xs * self.xs
            if self.shared:
                c = X2 @ self.omega
            else:
                c = self.design.task_scatter(X2.T, self.omega).T
        if self.center and not self.pre_centred:
            c = c - self.S * self.xbar**2
        return np.maximum(c, 0.0)

    # ------------------------------------------------------------ products
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
        on a centred design, raw (intercepts excluded) otherwise."""
        E = np.asarray(E, dtype=self.dtype)
        F = self._raw_forward(E)
        if self.center and not self.pre_centred:
            means = np.einsum("kt,kt->t", self.xbar, E)
            F = F - self.design.per_row(means)
        return F

    def adjoint_ws(self, Theta):
        """``A_ws* Theta`` (centred when the design is), shape (T, p)."""
        if self.sparse:
            raw = (self.Xs.T @ Theta).T if self.shared else None
            if raw is None:
                raw = self.design.task_scatter(self.Xs, Theta)
        elif self.shared:
            raw = (self.xs @ Theta).T
        else:
            raw = self.design.task_scatter(self.xs.T, Theta)
        raw = np.asarray(raw)
        if self.center and not self.pre_centred:
            raw = raw - self.xbar.T * self.design.task_sum(Theta)[:, None]
        return raw


class ResidualState(_ColumnState):
    """Squared loss: the residual ``R = Y - A E`` of the working-set weights.

    Dense columns are stored centred (per task) so that an update is one rank-one
    product; sparse columns stay sparse and the centring is carried by a per-task
    offset ``o`` (``R_true = R + o`` per task), since
    ``sum_{i in t} omega_i R_true_i = 0`` makes ``A_j* (omega R_true)`` equal to
    ``sum_i omega_i x_ij R_i + o_t xbar_tj``. In the shared layout with unequal
    loss weights ``R`` holds ``omega * residual``. Penalised intercepts may be
    profiled out of a centred state (``profile``).
    """

    quadratic = True

    def __init__(self, design, datafit, b=None, block_size=32):
        if b is not None and design.center:
            raise ValueError("A centred design has no intercepts to update.")
        super().__init__(design, datafit, b, block_size)

    def _row_layout(self):
        # dense working-set rows are stored centred when the epochs use centred
        # rows (then the raw ones are never needed: one array, not two)
        pre_centred = (
            self.center and not self.sparse and (self.rank_one or not self.shared)
        )
        # equal loss weights on every row (no sample weights): the weighted rows
        # are the rows times one number, not a third array
        wscale = None
        if self.rank_one and not self.sparse:
            w0 = self.omega[:, 0]
            if w0.size and np.all(w0 == w0[0]):
                wscale = float(w0[0])
        return pre_centred, wscale

    def _weighted_rows(self, xs):
        if self.rank_one and self.wscale is None:
            return xs * self.omega[:, 0]
        if not self.shared:
            return xs * self.omega
        return None

    def profile(self, intercepts):
        """Solve the squared loss with penalised intercepts ``intercepts`` on this
        centred state, the intercepts profiled out exactly (``InterceptProfile``)."""
        if not (self.center and self.b is None):
            raise ValueError("Offsets are profiled on a centred squared loss.")
        self.prof = InterceptProfile(self.design, intercepts)

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
        rank-one shared): ``Gram = X_B^T Omega X_B`` (centred)."""
        if self._blocks is None:
            b, p = self.block_size, len(self.ws)
            self._blocks = [
                (s, self.weighted_product(s, s + b, self.xc[s : s + b].T))
                for s in range(0, p, b)
            ]
        return self._blocks

    # ------------------------------------------------------------ state
    def reset(self, E, F=None):
        """Rebuild the residual exactly from ``E`` (p, T) (or its ``forward``)."""
        if F is None:
            F = self.forward(E)
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

    def make_contiguous(self):
        """Store ``R`` (Fortran order in the shared layout) and ``o`` contiguously,
        as the compiled epoch takes them."""
        if self.shared and not self.R.flags.f_contiguous:
            self.R = np.asfortranarray(self.R)
        elif not self.shared and not self.R.flags.c_contiguous:
            self.R = np.ascontiguousarray(self.R)
        if not self.o.flags.c_contiguous:
            self.o = np.ascontiguousarray(self.o)

    def fit_intercepts(self, E):
        """Set ``b`` to the exact intercepts of ``E`` (a feasible dual point)."""
        F = self.forward(E)
        self.b = self.datafit.optimal_offsets(
            F, self.design.Y, self.design.omega, self.design, b0=self.b
        ).astype(self.dtype, copy=False)
        self.reset(E, F)

    def full_output(self, F):
        """``forward`` output -> what the datafit sees (``Y - R`` includes ``b``)."""
        return F

    def output(self):
        """Model output ``F`` (with intercepts), as the datafit sees it."""
        return self.Y - self._residual()

    def _residual(self):
        o = self.design.per_row(self.o)
        if not self.shared:
            return self.R + o
        if self.rank_one:
            return (self.R + o) * (self.omega > 0)
        safe = np.where(self.omega > 0, self.omega, 1.0)
        return np.where(self.omega > 0, self.R / safe + o, 0.0)

    def profiled_dual(self):
        """``(Theta, sigma, b)`` of a profiled state (``profile``): the dual point
        ``Theta = omega * r`` of the true residual ``r`` at the exact intercepts
        ``b`` (the centred residual plus ``m_t - b_t`` on task ``t``'s rows), made
        feasible (``base.feasible_dual``), and its per-task sums ``sigma``."""
        b = self.prof.intercepts_b()
        r = self._residual() + self.design.per_row((self.prof.m - b).astype(self.dtype))
        Theta, sigma = feasible_dual(self.design, self.omega * r)
        return Theta, sigma, b

    # ------------------------------------------------------------ columns
    def neg_grad(self, k):
        """``A_k* Theta`` for the current state (T,): minus the block gradient."""
        if self.prof is None:
            return self._column_product(k)
        return self._column_product(k) + self.prof.neg_grad(self.xbar[k])

    def _column_product(self, k):
        if self.sparse:
            i = self.idx[k]
            if self.shared:
                w = self.datw[k] if self.rank_one else self.dat[k]
                g = w @ self.R[i]
            else:
                g = np.bincount(
                    self.tsk[k], weights=self.datw[k] * self.R[i], minlength=self.T
                )
            return g + self.S * self.o * self.xbar[k] if self.center else g
        if self.rank_one:
            if self.xcw is None:
                return (self.xc[k] @ self.R) * self.wscale
            return self.xcw[k] @ self.R
        if self.shared:
            g = self.xs[k] @ self.R
            return g + self.S * self.o * self.xbar[k] if self.center else g
        return np.bincount(self.task, weights=self.xcw[k] * self.R, minlength=self.T)

    def update(self, k, delta):
        """The effective column ``k`` changed by ``delta`` (T,)."""
        if self.prof is not None:
            self.prof.m -= self.xbar[k] * delta
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
            self.ger(-1.0, self.xc[k], delta, a=self.R, overwrite_a=1)
        elif self.shared:
            self.R -= self.omega * np.multiply.outer(self.xs[k], delta)
        else:
            self.R -= self.xc[k] * delta[self.task]

    def update_intercept(self):
        """Exact minimisation over the intercepts (free: each task's weighted
        mean residual; penalised: ``Intercepts.solve``)."""
        o = self.design.per_row(self.o) if self.center else 0.0
        if self.shared and not self.rank_one:  # R holds omega * residual
            num = self.design.task_sum(self.R + self.omega * o)
        else:
            num = self.design.task_sum(self.omega * (self.R + o))
        db = num / self.S_safe
        if self.intercepts is not None:
            m = self.b + db
            db = self.intercepts.solve(m, self.S).astype(self.dtype) - self.b
        self.b = self.b + db
        if self.shared and not self.rank_one:
            self.R -= self.omega * db
        else:
            self.R -= self.design.per_row(db)


class OutputState(_ColumnState):
    """Any datafit on an uncentred design: the raw output ``F = X E`` and the
    intercepts ``b``; the datafit's gradient at ``F + b`` is cached until the
    next update."""

    def __init__(self, design, datafit, b=None, block_size=32):
        if design.center:
            raise ValueError("Only the squared loss is solved on a centred design.")
        super().__init__(design, datafit, b, block_size)

    def reset(self, E, F=None):
        """Rebuild the output exactly from ``E`` (p, T) (or its ``forward``)."""
        if F is None:
            F = self.forward(E)
        self.F = np.asfortranarray(F) if self.shared else F
        self._G = None

    def fit_intercepts(self, E=None):
        """Set ``b`` to the exact intercepts of the current output (a feasible
        dual point); ``E`` is not needed (the output is the state)."""
        self.b = self.datafit.optimal_offsets(
            self.F, self.design.Y, self.design.omega, self.design, b0=self.b
        ).astype(self.dtype, copy=False)
        self._G = None

    def full_output(self, F):
        """``forward`` output -> what the datafit sees (intercepts added)."""
        return F if self.b is None else F + self.design.per_row(self.b)

    def output(self):
        """Model output ``F`` (with intercepts), as the datafit sees it."""
        return self.full_output(self.F)

    def gradient(self):
        """The datafit's gradient at the current output (cached)."""
        if self._G is None:
            self._G = self.datafit.gradient(self.output(), self.Y, self.omega)
        return self._G

    def neg_grad(self, k):
        """``A_k* Theta`` for the current state (T,): minus the block gradient."""
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

    def update(self, k, delta):
        """The effective column ``k`` changed by ``delta`` (T,)."""
        self._G = None
        if self.sparse:
            i = self.idx[k]
            if self.shared:
                self.F[i] += np.multiply.outer(self.dat[k], delta)
            else:
                self.F[i] += self.dat[k] * delta[self.tsk[k]]
        elif self.shared:
            self.ger(1.0, self.xs[k], delta, a=self.F, overwrite_a=1)
        else:
            self.F += self.xs[k] * delta[self.task]

    def update_intercept(self):
        """One majorise-minimise step (curvature bound ``curvature * S_t`` per
        task; penalised intercepts: the exact minimiser of that majoriser plus
        ``h``)."""
        G = self.gradient()
        if self.intercepts is not None:
            L = self.datafit.curvature * self.S_safe
            m = self.b - self.design.task_sum(G) / L
            self.b = self.intercepts.solve(m, L).astype(self.dtype)
        else:
            self.b = self.b - self.design.task_sum(G) / self.datafit.curvature
        self._G = None
