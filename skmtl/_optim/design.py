"""The multi-task linear operator ``W -> F`` of both layouts, with per-task weights.

Every linear multi-task model evaluates ``F = A(W)`` where row ``i`` of task ``t``
gets ``F_i = x_i @ w_t`` (stacked layout: ``F`` is ``(n_samples,)``; shared layout:
``F`` is ``(n_samples, n_tasks)`` with ``F[i, t] = x_i @ w_t``), and the adjoint
``A*(G)`` whose row ``t`` is ``sum_{i in t} G_i x_i``. Solvers only talk to this class
and to a datafit on ``F``; they never see which layout they solve.

Loss weights: ``omega_i = sample_weight_i * omega_t`` with the task multipliers
``omega_t`` of ``task_weighting`` (:mod:`skmtl._weights`); with "equal" (the default)
``omega_t = 1 / sum_{j in t} sample_weight_j``, so that each task's loss is its
(weighted) mean, as in doc/contract.md (section 2). In the shared layout
``omega`` is ``(n_samples, n_tasks)`` and zero on missing targets.

Centring (``center=True``, for the squared loss with an intercept): features and
targets are centred per task with ``omega`` (implicitly: a sparse ``X`` stays sparse),
which removes the unpenalised intercepts exactly; ``intercept(W)`` recovers them.
"""

import copy

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from .._compiled import compiled
from .._ops import TaskScatter, linear_output, task_scatter
from .._weights import task_multipliers

_gram_fast = compiled("_optim._gram_fast")  # optional: None without a C compiler

__all__ = [
    "MultiTaskDesign",
    "column_square_sums",
    "factors_shape",
    "task_svd_factors",
]

# rows of a dense X squared at a time by column_square_sums (about 32 MB of float64)
_SQUARE_CHUNK = 1 << 22
# multiply-adds allowed for the per-task least-squares residuals of
# MultiTaskDesign.least_squares_dual (about a second of LAPACK at most)
_LSTSQ_BUDGET = 3e8
# floats allowed for the per-task right singular vectors of task_right_factors (80 MB)
_FACTOR_BUDGET = 1e7
# singular values below this fraction of the largest count as zero
_RANK_RTOL = 1e-12
# a group with at least this many times as many rows as columns is "tall": its
# factors come from its Gram's eigendecomposition, 2-3x faster than the SVD
_TALL = 2
# the least-squares residual of a tall group comes from the Cholesky factor of its
# Gram when the Gram's condition number (LAPACK's 1-norm estimate) is at most
# this: the normal equations then lose at most about 1e8 eps (1e-8 relative) of
# the residual; else from the SVD. A wide group's rows count as of full rank under
# the same bound on its rows' Gram
_GRAM_COND = 1e8


def column_square_sums(X, G):
    """``(X ** 2).T @ G`` without forming ``X ** 2`` whole.

    ``G`` of shape (n_samples,) or (n_samples, k); returns (n_features,) or
    (n_features, k). A dense ``X`` is squared by blocks of rows (``X ** 2`` of a
    2,000 x 20,000 design is 320 MB); a sparse one through its non-zeros.
    """
    if sp.issparse(X):
        if X.format in ("csr", "csc") and X.has_canonical_format:
            # the squares on X's own structure (no copy of its indices)
            X2 = X.__class__((X.data**2, X.indices, X.indptr), shape=X.shape)
        else:  # duplicate entries are summed before squaring
            X2 = X.multiply(X)
        return np.asarray(X2.T @ G)
    if G.ndim == 1:  # one pass, no temporary
        return np.einsum("ij,ij,i->j", X, X, G)
    step = max(1, _SQUARE_CHUNK // max(X.shape[1], 1))
    out = None
    for start in range(0, X.shape[0], step):
        block = X[start : start + step]
        part = (block * block).T @ G[start : start + step]
        out = part if out is None else out + part
    if out is None:
        return np.zeros((X.shape[1],) + G.shape[1:], dtype=X.dtype)
    return out


class MultiTaskDesign:
    """Layout-aware linear operator, loss weights and per-task centring.

    Parameters
    ----------
    data : skmtl._data.TaskData
    center : bool
        Centre features and targets per task (squared loss with free intercepts).
    task_weighting : {"equal", "size"} or array-like of shape (n_tasks,)
        Per-task loss multipliers (:func:`skmtl._weights.task_multipliers`, scaled
        so that they sum to the number of tasks with rows: "equal" is each task's
        weighted mean loss).
    intercepts : skmtl._optim.intercepts.Intercepts or None
        How the intercepts the solvers update (their ``b``) are penalised; None
        with ``center=True`` or without intercepts.
    """

    #: loss weights that may differ between tasks row by row also in a fully
    #: observed shared layout (a :meth:`with_weights` copy, or the working-set
    #: model of ``bcd.newton.NewtonDesign``): every task is then its own group
    reweighted = False
    _CACHES = (
        "_curvature",
        "_column_operator_norms",
        "_lstsq_dual",
        "_lstsq_pair",
        "_svds",
        "_factors",
        "_grams",
        "_gram_stack",
        "_centred_copy",
        "_feature_centred_copy",
    )

    def __init__(self, data, center=False, task_weighting="equal", intercepts=None):
        # each task's rows in one block: the products and epochs of the stacked
        # layout go by blocks of rows (shuffled School rows made an L2,1 fit 3x
        # slower); the solution does not depend on the order of the rows
        data = data.grouped_by_task()
        self.data = data
        # a column slice (task column dropped) is not contiguous: every product
        # with it would copy it, so make it contiguous once
        self.X = data.X if sp.issparse(data.X) else np.ascontiguousarray(data.X)
        self.shared = data.layout == "shared"
        self.task = data.task_codes
        self.n_tasks = data.n_tasks
        self.n_features = data.X.shape[1]
        self.dtype = data.X.dtype
        sums = data.task_weight_sums()
        #: per-sample loss multiplier of each task (``omega_t``)
        n_present = np.count_nonzero(sums > 0)
        self.task_omega = task_multipliers(task_weighting, sums, n_present).astype(
            self.dtype
        )
        self.intercepts = intercepts
        sw = data.sample_weight.astype(self.dtype)
        if self.shared:
            mask = np.ones(data.y.shape, dtype=bool) if data.mask is None else data.mask
            self.omega = (sw[:, None] * mask) * self.task_omega[None, :]
        else:
            self.omega = sw * self.task_omega[self.task]
        self.Y = data.y.astype(self.dtype, copy=False)
        self.center = center
        zeros_t = np.zeros(self.n_tasks, dtype=self.dtype)
        self.X_mean = np.zeros((self.n_tasks, self.n_features), dtype=self.dtype)
        self.y_mean = zeros_t
        #: per-task sums of the loss weights (1 with "equal" weighting)
        sums = self.task_sum(self.omega)
        # sums that are 1 but for summation rounding ("equal" weighting, or "size"
        # with equal tasks) are taken as exactly 1: the centred path then gives
        # bit for bit the results of the weighting it had before task_weighting
        n_max = (
            max(int(np.max(np.bincount(self.task), initial=1)), 1)
            if (self.task is not None)
            else self.X.shape[0]
        )
        close = np.abs(sums - 1.0) <= 64 * np.finfo(self.dtype).eps * max(n_max, 1)
        self.task_omega_sums = np.where(close, 1.0, sums).astype(self.dtype)
        if center:
            self._centre()

    def _centre(self, targets=True):
        """Centre per task with ``omega``: ``X_mean`` and, with ``targets``,
        ``y_mean`` and a centred ``Y`` (else ``y_mean`` stays 0)."""
        self.center = True
        # omega-weighted means (the task sums of omega are 1 only with "equal")
        inv = np.where(self.task_omega_sums > 0, 1.0, 0.0) / np.where(
            self.task_omega_sums > 0, self.task_omega_sums, 1.0
        )
        inv = inv.astype(self.dtype)
        # one weighted mean for all tasks (their rows and weights are the same up
        # to a factor per task): the mean under the row shares omega_t / S_t of a
        # task of positive weight; a task of weight 0 has none (0)
        if self._one_group and inv.any():
            t0 = int(np.argmax(inv > 0))
            mean = self._raw_adjoint(self.omega[:, t0 : t0 + 1])[0] * inv[t0]
            self.X_mean = np.tile(mean, (self.n_tasks, 1)) * (inv > 0)[:, None]
        else:
            self.X_mean = self._raw_adjoint(self.omega) * inv[:, None]
        if not targets:
            return
        self.y_mean = self.task_sum(self.omega * self.Y) * inv
        self.Y = self.Y - self.per_row(self.y_mean)
        if self.shared:
            self.Y = self.Y * (self.omega > 0)

    def centred(self):
        """The same design centred per task (``center=True``, no intercept model),
        sharing ``X`` (a sparse ``X`` stays sparse: the centring is implicit). An
        uncentred design with penalised intercepts solves its squared loss on it
        (``bcd``: the offsets profiled out). Cached: a path solves many problems
        on one design."""
        if self.center:
            return self
        return self._centred_copy_of("_centred_copy", targets=True)

    def feature_centred(self):
        """The design with its features centred per task and its targets as they
        are, for free intercepts fitted jointly (a loss other than the squared).

        The same model: ``X_t w_t + b_t = (X_t - xbar_t) w_t + b~_t`` with ``b~_t
        = b_t + xbar_t w_t``, the intercept at the task's mean features
        (``intercept_at_zero`` converts back). Without the coupling of ``w`` and
        ``b`` through the feature means: on features of mean 100 a gradient step
        sized for ``[X_t, 1]`` is about 10^4 times shorter than one sized for
        ``[X_t - xbar_t, 1]``, whose blocks are orthogonal under ``omega``.
        ``center`` is True (the solvers' products are centred) with ``y_mean``
        0. Cached."""
        if self.center:
            raise ValueError("The design is already centred.")
        return self._centred_copy_of("_feature_centred_copy", targets=False)

    def _centred_copy_of(self, cache_key, targets):
        """A copy sharing ``X``, centred per task (its targets too with
        ``targets``), without intercept model or cached products; cached on
        ``self`` under ``cache_key``."""
        cached = getattr(self, cache_key, None)
        if cached is not None:
            return cached
        out = copy.copy(self)
        for key in self._CACHES:
            out.__dict__.pop(key, None)
        out.intercepts = None
        out._centre(targets=targets)
        setattr(self, cache_key, out)
        return out

    def with_weights(self, omega, Y):
        """A copy sharing ``X`` (uncentred, its intercept model kept) with loss
        weights ``omega`` and targets ``Y`` of the shape of ``Y``, without cached
        products: e.g. the weighted least-squares model of a Newton step. The
        weights may differ between tasks row by row, also in a fully observed
        shared layout (each task is then a group of its own). A
        :meth:`feature_centred` design gives the raw features: the outputs ``F``
        of a model are the same in both (its intercepts are not)."""
        if self.center and np.any(self.y_mean):
            raise ValueError("Reweight a design whose targets are not centred.")
        out = copy.copy(self)
        for key in self._CACHES:
            out.__dict__.pop(key, None)
        if self.center:  # feature_centred: the raw features (F is the same)
            out.center = False
            out.X_mean = np.zeros_like(self.X_mean)
        out.omega, out.Y = omega, Y
        out.task_omega_sums = out.task_sum(omega)
        out.reweighted = True
        return out

    @property
    def _one_group(self):
        """Whether all tasks share one design and its row weights (a fully
        observed shared layout, not :meth:`with_weights`)."""
        return self.shared and self.data.mask is None and not self.reweighted

    def intercept_at_zero(self, b, W):
        """``b_t = b~_t - xbar_t w_t``: intercepts of a :meth:`feature_centred`
        design back at zero features."""
        return (b - np.einsum("td,td->t", self.X_mean, W)).astype(b.dtype, copy=False)

    # ------------------------------------------------------------ per-task helpers
    def per_row(self, v):
        """Broadcast a per-task vector to the shape of ``F``."""
        return v[None, :] if self.shared else v[self.task]

    def task_sum(self, G):
        """Per-task sums of an output-space array ``G``: shape (n_tasks,), in the
        precision of ``G`` (float64 sums of float64 dual points on float32
        data: ``base.duality_gap`` needs them feasible to rounding)."""
        if self.shared:
            return G.sum(axis=0)
        return np.bincount(self.task, weights=G, minlength=self.n_tasks).astype(
            np.result_type(self.dtype, G.dtype), copy=False
        )

    def _raw_adjoint(self, G):
        if self.shared:
            if not sp.issparse(self.X):
                return np.asarray(G.T @ self.X)
            if getattr(self, "_XT", None) is None:
                # X^T in CSR (X in CSC, one copy kept): its product gathers rows,
                # 4-6x faster than the scattering product with X^T of a CSR X
                self._XT = self.X.T.tocsr()
            return np.asarray(self._XT @ np.ascontiguousarray(G)).T
        return self.task_scatter(self.X, G)

    def task_scatter(self, X, R):
        """``task_scatter(X, R, self.task, n_tasks)`` (stacked layout) through one
        :class:`~skmtl._ops.TaskScatter` built per design, which its copies and
        the column states of ``bcd`` share (``X``: these rows or a subset of
        their columns)."""
        if getattr(self, "_scatter", None) is None:
            self._scatter = TaskScatter(self.task, self.n_tasks)
        return self._scatter(X, R)

    # ------------------------------------------------------------ operator
    def forward(self, W):
        """``F = A(W)`` (centred when ``center``), shape of ``Y``."""
        F = linear_output(self.X, W, None if self.shared else self.task)
        if self.center:
            F = F - self.per_row(np.einsum("td,td->t", self.X_mean, W))
        return F

    def adjoint(self, G):
        """``A*(G)``: row ``t`` is ``sum_{i in t} G_i x_i`` (centred), (n_tasks, d)."""
        out = self._raw_adjoint(G)
        if self.center:
            out = out - self.X_mean * self.task_sum(G)[:, None]
        return out

    def intercept(self, W):
        """Intercepts that centring removed: ``b_t = ybar_t - xbar_t @ w_t``."""
        return self.y_mean - np.einsum("td,td->t", self.X_mean, W)

    # ------------------------------------------------------------ least squares
    def _task_groups(self):
        """Row indices of each distinct task design: one group (all rows) in a
        fully observed shared layout, else each task's rows."""
        if self._one_group:
            return [np.arange(self.X.shape[0])]
        return self.data.task_indices()

    def _task_block(self, t, rows):
        """``(X_t, omega_t)``: group ``t``'s dense rows (centred when ``center``)
        and loss weights."""
        Xt = self.X[rows]
        Xt = Xt.toarray() if sp.issparse(Xt) else np.array(Xt)
        om = self._task_omega(t, rows)
        if self.center:
            Xt -= self.X_mean[t]  # X_mean rows are equal without a mask
        return Xt, om

    def _task_omega(self, t, rows):
        """Loss weights of group ``t``'s rows."""
        if self._one_group:
            return self.omega[rows, 0]
        if self.shared:
            return self.omega[rows, t]
        return self.omega[rows]

    def least_squares_dual(self, budget=_LSTSQ_BUDGET):
        """``omega * r`` where ``r`` is each task's residual of the weighted least
        squares fit of ``Y`` on its (centred) design (singular values below
        ``1e-12`` times the largest count as zero): the dual optimum of the
        squared loss as the penalty vanishes. ``A*`` of it is 0 (to rounding), so
        it is dual feasible for every penalty whose conjugate is finite at 0.

        Computed once (cached) from one factorisation per distinct task design
        (one in a fully observed shared layout; shared with
        ``task_right_factors``): the Cholesky factor of a tall group's
        well-conditioned Gram matrix (the Gram is shared), the eigenvalues of a
        wide group's rows' Gram, else its thin SVD; None when the cost
        estimate ``sum_t n_t min(n_t, d)^2`` exceeds ``budget`` multiply-adds.
        """
        if getattr(self, "_lstsq_dual", False) is not False:
            return self._lstsq_dual
        self._lstsq_dual = None
        d = self.n_features
        groups = self._task_groups()
        cost = sum(len(g) * min(len(g), d) ** 2 for g in groups)
        # with no more rows than features a task's residual is generically 0
        # (then Theta0 = 0 and the SVDs buy nothing)
        if cost > budget or d == 0 or all(len(g) <= d + 1 for g in groups):
            return None
        R = _tall_lstsq_dual(self, groups)
        if R is not None:
            self._lstsq_dual = R
            return R
        R = np.zeros_like(self.Y)
        for t, rows in enumerate(groups):
            om = self._task_omega(t, rows)
            if self.shared and not self._one_group:
                yt = self.Y[rows, t]
            else:
                yt = self.Y[rows]
            sq = np.sqrt(om)
            ry = _lstsq_residual(self, t, (sq * yt.T).T)
            res = (sq * ry.T).T  # omega * residual
            if self._one_group:
                R[rows] = res
            elif self.shared:
                R[rows, t] = res
            else:
                R[rows] = res
        self._lstsq_dual = R
        return self._lstsq_dual

    def task_right_factors(self, budget=_LSTSQ_BUDGET, max_floats=_FACTOR_BUDGET):
        """``(V, s2)`` with ``Z_t^T Z_t = V_t diag(s2_t) V_t^T`` for every task.

        ``Z_t = Omega_t^{1/2} (X_t - xbar_t)`` (centred when ``center``); ``V_t``
        (``d x k``, ``k = max_t min(n_t, d)``) holds the right singular vectors
        of a thin SVD of ``Z_t``, padded with zero columns (and ``s2`` with
        zeros) to a common ``k``. ``V`` is ``(n_tasks, d, k)``, or ``(1, d, k)``
        in a fully observed shared layout (one design for all tasks). Shifted
        solves ``(Z_t^T Z_t + rho I)^{-1}`` then cost ``O(d k)`` for any ``rho``
        (see ``admm``). None when ``sum_t n_t min(n_t, d)^2`` exceeds ``budget``
        multiply-adds or the factors would exceed ``max_floats`` floats.
        """
        return task_svd_factors(self, budget, max_floats)

    # ------------------------------------------------------------ curvature
    def column_curvature(self):
        """``c[t, j] = sum_{i in t} omega_i (x_ij - xbar_tj)^2``, shape (n_tasks, d).

        Computed once (cached, read-only): a regularisation path solves many
        problems on one design."""
        if getattr(self, "_curvature", None) is not None:
            return self._curvature
        if self._one_group:
            # every task weighs the rows alike: one weighted column sum
            c = column_square_sums(self.X, self.omega[:, 0])[None, :]
        elif self.shared:
            c = column_square_sums(self.X, self.omega).T
        else:
            X2 = self.X.multiply(self.X).tocsr() if sp.issparse(self.X) else self.X**2
            c = task_scatter(X2, self.omega, self.task, self.n_tasks)
        if self.center:
            c = c - self.task_omega_sums[:, None] * self.X_mean**2
        c = np.maximum(np.broadcast_to(c, (self.n_tasks, self.n_features)), 0.0)
        c.setflags(write=False)
        self._curvature = c
        return c

    def task_lipschitz(self, n_iter=100, tol=1e-6, intercept=False, random_state=0):
        """Largest eigenvalue of ``X_t^T Omega_t X_t`` for every task at once.

        Power iteration on the block-diagonal operator ``A* Omega A``, one vector per
        task, normalised per task. With ``intercept=True`` a column of ones is
        appended to each ``X_t`` (for solvers that update intercepts jointly).
        Returns the estimate times ``1 + 10 tol`` (power iteration approaches from
        below; the margin keeps step sizes safe). It stops when two estimates agree
        to ``tol``, which with a small eigengap can be further below the top than
        the margin (1e-9 relative at ``tol=1e-10`` seen): an upper bound in
        practice, not a certified one (:meth:`task_lipschitz_direct` is exact).
        """
        rng = np.random.default_rng(random_state)
        T, d = self.n_tasks, self.n_features
        V = rng.standard_normal((T, d)).astype(self.dtype)
        v0 = np.ones(T, dtype=self.dtype) if intercept else None
        lam = np.zeros(T)
        for _ in range(n_iter):
            norm = np.sqrt(np.sum(V**2, axis=1) + (v0**2 if intercept else 0.0))
            norm[norm == 0] = 1.0
            V = V / norm[:, None]
            F = self.forward(V)
            if intercept:
                v0 = v0 / norm
                F = F + self.per_row(v0)
            G = self.omega * F
            V = self.adjoint(G)
            if intercept:
                v0 = self.task_sum(G)
            new = np.sqrt(np.sum(V**2, axis=1) + (v0**2 if intercept else 0.0))
            if np.all(np.abs(new - lam) <= tol * np.maximum(new, 1e-300)):
                lam = new
                break
            lam = new
        return lam * (1 + 10 * tol)

    def task_lipschitz_direct(self, intercept=False, max_dim=1000):
        """``task_lipschitz`` computed exactly from each task's small Gram matrix.

        For task ``t`` the top eigenvalue of ``Z_t Z_t^T`` or ``Z_t^T Z_t``
        (whichever is smaller; ``Z_t = Omega_t^{1/2} (X_t - xbar_t)``, plus a
        column ``omega^{1/2}`` with ``intercept``), by a partial eigensolver; one
        computation in a fully observed shared layout. Falls back to the power
        iteration of :meth:`task_lipschitz` with missing shared targets, or when
        a task's smaller dimension exceeds ``max_dim``. The loop is over tasks,
        never over samples.
        """
        if self.shared and self.data.mask is not None:
            return self.task_lipschitz(intercept=intercept)
        groups = self._task_groups()
        sizes = [min(len(rows), self.n_features + intercept) for rows in groups]
        if max(sizes, default=0) > max_dim:
            return self.task_lipschitz(intercept=intercept)
        lam = np.empty(len(groups))
        grams = {}  # Gram size -> (task indices, matrices): one batched eigvalsh
        for t, rows in enumerate(groups):
            Xt, om = self._task_block(t, rows)
            Z = np.sqrt(om)[:, None] * Xt
            if intercept:
                Z = np.column_stack([Z, np.sqrt(om)])
            G = Z @ Z.T if Z.shape[0] <= Z.shape[1] else Z.T @ Z
            idx, mats = grams.setdefault(G.shape[0], ([], []))
            idx.append(t)
            mats.append(G)
        for idx, mats in grams.values():
            lam[idx] = np.linalg.eigvalsh(np.stack(mats))[:, -1]
        if self.shared:
            lam = np.full(self.n_tasks, lam[0])
        return np.maximum(lam, 0.0) * (1 + 1e-10)


def factors_shape(design, budget=_LSTSQ_BUDGET, max_floats=_FACTOR_BUDGET):
    """The shape ``(n_groups, d, k)`` of the ``V`` of :func:`task_svd_factors`,
    or None when they exceed its budgets; nothing is computed."""
    d = design.n_features
    groups = design._task_groups()
    k = max((min(len(g), d) for g in groups), default=0)
    cost = sum(len(g) * min(len(g), d) ** 2 for g in groups)
    if cost > budget or len(groups) * d * k > max_floats:
        return None
    return len(groups), d, k


def task_svd_factors(
    design, budget=_LSTSQ_BUDGET, max_floats=_FACTOR_BUDGET, shift=None
):
    """``(V, s2)`` of the thin SVDs of every task group's weighted design
    ``Omega_t^{1/2} (X_t - shift_t)`` (``X_t`` centred when ``design.center``;
    ``shift`` (n_groups, d) or None), as ``MultiTaskDesign.task_right_factors``
    describes, or None over the same budgets. In float64."""
    shape = factors_shape(design, budget, max_floats)
    if shape is None:
        return None
    V, s2 = np.zeros(shape), np.zeros(shape[::2])
    groups = design._task_groups()
    # kept for least_squares_dual when it can be asked for (a group of more than
    # d + 1 rows; see there)
    share = shift is None and any(len(g) > shape[1] + 1 for g in groups)
    for t, rows in enumerate(groups):
        if share:
            sv2, right = _cached_factors(design, t, rows)
        else:
            sh = None if shift is None else shift[t]
            sv2, right = _block_factors(_weighted_block(design, t, rows, sh))
        V[t, :, : len(sv2)] = right
        s2[t, : len(sv2)] = sv2
    return V, s2


def _weighted_block(design, t, rows, shift=None):
    """``Omega_t^{1/2} (X_t - shift)`` in float64: group ``t``'s design (centred
    when ``design.center``) weighted by the square roots of its loss weights."""
    Xt, om = design._task_block(t, rows)
    Xt = Xt.astype(float, copy=False)
    if shift is not None:
        Xt = Xt - shift
    return np.sqrt(om.astype(float, copy=False))[:, None] * Xt


def _block_factors(Z):
    """``(s2, V)``: the squared singular values (descending) and right singular
    vectors of the block ``Z`` (float64), by the cheapest accurate route."""
    n_t, d = Z.shape
    if n_t <= d:
        # a wide block: the eigendecomposition of its n_t x n_t Gram, 2-3x faster
        # than the SVD (50 x 200: 0.19 against 0.47 ms). Eigenvalues at rounding
        # level are dropped; the others give V = Z^T U / s, whose error (eps
        # ||Z||^2 / s^2) the shifted solves weigh by s^2 / (s^2 + rho)
        lam, U = np.linalg.eigh(Z @ Z.T)
        lam, U = lam[::-1], U[:, ::-1]
        keep = lam > n_t * np.finfo(float).eps * lam[:1].max(initial=0.0)
        sv2 = np.where(keep, lam, 0.0)
        return sv2, (Z.T @ U) * (keep / np.sqrt(np.where(keep, lam, 1.0)))
    if n_t >= _TALL * d:
        return gram_eigh(Z.T @ Z)
    _, sv, Vt = np.linalg.svd(Z, full_matrices=False)
    return sv**2, Vt.T


def gram_eigh(H):
    """``(lam, Q)``: the eigendecomposition of a tall block's Gram ``H = Z^T Z``
    (eigenvalues descending, clipped at 0), 2-3x faster than the SVD of ``Z`` (82
    x 27: 55 against 124 us; 100 x 50: 160 against 360 us); its eigenvalues are
    accurate to eps ``||Z||^2``, enough for the ADMM's shifted solves ``(H + rho
    I)^{-1}``. ``H`` may be a stack ``(..., d, d)``."""
    lam, Q = np.linalg.eigh(H)
    return np.maximum(lam[..., ::-1], 0.0), Q[..., ::-1]


def _cached_factors(design, t, rows):
    """``_block_factors`` of group ``t``'s weighted design, from the
    factorisation ``least_squares_dual`` shares when there is one."""
    svds = getattr(design, "_svds", None) or {}
    if t in svds:
        _, sv, Vt = svds[t]
        return sv**2, Vt.T
    d = design.n_features
    if d < len(rows) < _TALL * d:  # the least-squares dual needs its left vectors
        _, sv, Vt = _task_svd(design, t, rows)
        return sv**2, Vt.T
    return _task_factors(design, t, rows)


def _task_factors(design, t, rows):
    """``_block_factors`` of a wide or tall group ``t``'s weighted design,
    computed once (``task_svd_factors`` and ``least_squares_dual`` share it; a
    tall group's from its cached Gram, :func:`task_grams`)."""
    factors = getattr(design, "_factors", None)
    if factors is None:
        factors = design._factors = {}
    if t not in factors:
        if len(rows) >= _TALL * design.n_features:
            factors[t] = gram_eigh(_task_gram(design, t, rows))
        else:
            factors[t] = _block_factors(_weighted_block(design, t, rows))
    return factors[t]


def _task_gram(design, t, rows):
    """The Gram ``Z_t^T Z_t`` (float64) of group ``t``'s weighted design,
    computed once (shared by ``least_squares_dual``, ``task_svd_factors`` and
    :func:`task_grams`)."""
    grams = getattr(design, "_grams", None)
    if grams is None:
        grams = design._grams = {}
    if t not in grams:
        Z = _weighted_block(design, t, rows)
        grams[t] = Z.T @ Z
    return grams[t]


def task_grams(design, shift=None):
    """``(n_groups, d, d)``: the Grams ``Z_t^T Z_t`` of every task group's weighted
    design ``Z_t = Omega_t^{1/2} (X_t - shift_t)`` (as :func:`task_svd_factors`),
    in float64; cached on ``design`` without ``shift`` (the cache then holds
    views of the returned stack: one copy of the Grams; callers do not write
    it). For designs whose groups are all tall (``admm``'s shifted solves
    invert ``Z_t^T Z_t + rho I``)."""
    if shift is None and getattr(design, "_gram_stack", None) is not None:
        return design._gram_stack
    groups = design._task_groups()
    d = design.n_features
    out = np.empty((len(groups), d, d))
    if not _compiled_grams(design, groups, shift, out):
        for t, rows in enumerate(groups):
            if shift is None:
                out[t] = _task_gram(design, t, rows)
            else:
                Z = _weighted_block(design, t, rows, shift[t])
                out[t] = Z.T @ Z
    if shift is None:  # the per-group cache: views of the stack
        design._grams = dict(enumerate(out))
        design._gram_stack = out
    return out


def _compiled_grams(design, groups, shift, out):
    """:func:`task_grams` into ``out`` by ``_gram_fast.weighted_grams`` where it
    applies (a dense float64 C-ordered ``X``, each group's rows one contiguous
    range, one loss weight per row); False otherwise (nothing written)."""
    X = design.X
    if (
        _gram_fast is None
        or not isinstance(X, np.ndarray)
        or X.dtype != np.float64
        or not X.flags.c_contiguous
        or (design.shared and not design._one_group)
    ):
        return False
    starts = np.array([g[0] if len(g) else 0 for g in groups], dtype=np.intp)
    stops = starts + np.array([len(g) for g in groups], dtype=np.intp)
    for g, a in zip(groups, starts):  # ascending, distinct rows (task_indices)
        if len(g) and g[-1] != a + len(g) - 1:
            return False
    om = design.omega[:, 0] if design._one_group else design.omega
    centre = np.zeros((len(groups), X.shape[1]))
    if design.center:
        centre += design.X_mean[: len(groups)]
    if shift is not None:
        centre += shift
    _gram_fast.weighted_grams(X, starts, stops, centre, np.sqrt(om.astype(float)), out)
    return True


def _task_svd(design, t, rows):
    """The thin SVD ``(U, s, Vt)`` (float64) of group ``t``'s weighted design,
    computed once (``least_squares_dual`` and ``task_svd_factors`` share it)."""
    svds = getattr(design, "_svds", None)
    if svds is None:
        svds = design._svds = {}
    if t not in svds:
        svds[t] = np.linalg.svd(_weighted_block(design, t, rows), full_matrices=False)
    return svds[t]


def _conditioned_cholesky(H):
    """The upper Cholesky factor of a Gram ``H`` whose condition number (LAPACK's
    1-norm estimate, ``dpocon``) is at most ``_GRAM_COND``, else None."""
    if not H.size:
        return None
    chol, info = lapack.dpotrf(H, lower=0, clean=1)
    if info != 0:
        return None
    rcond, _ = lapack.dpocon(chol, float(np.abs(H).sum(axis=0).max()))
    return chol if rcond * _GRAM_COND >= 1.0 else None


def gram_solves(H, B):
    """``C[t] = H_t^{-1} b_t`` for a stack ``H`` (n_tasks, d, d) of float64 Grams
    and ``B`` (n_tasks, d), by each Gram's Cholesky factor; None unless every
    Gram has one with a condition estimate of at most ``_GRAM_COND``
    (:func:`_conditioned_cholesky`). One compiled loop
    (``_gram_fast.conditioned_solves``) where it is built."""
    B = np.ascontiguousarray(B, dtype=np.float64)
    C = np.empty_like(B)
    if _gram_fast is not None and H.flags.c_contiguous and H.dtype == np.float64:
        scratch = np.empty(H.shape[1:])
        failed = _gram_fast.conditioned_solves(H, B, _GRAM_COND, C, scratch)
        return None if failed >= 0 else C
    for t in range(H.shape[0]):
        chol = _conditioned_cholesky(H[t])
        if chol is None:
            return None
        C[t] = lapack.dpotrs(chol, B[t], lower=0)[0]
    return C


def _tall_lstsq_dual(design, groups):
    """``least_squares_dual`` of a float64 design whose tasks are each a tall
    group with a well-conditioned Gram (None otherwise): the coefficients ``c_t
    = H_t^{-1} A*(omega Y)_t`` (:func:`gram_solves`), then ``omega (Y - A C)``,
    through the design's products instead of each task's block (20 tasks of 100
    x 50: 0.25 against 0.8 ms)."""
    d = design.n_features
    if (
        design._one_group
        or design.dtype != np.float64
        or any(len(rows) < _TALL * d for rows in groups)
    ):
        return None
    B = design.adjoint(design.omega * design.Y)
    C = gram_solves(task_grams(design), B)
    return None if C is None else design.omega * (design.Y - design.forward(C))


def _lstsq_residual(design, t, ry):
    """``ry`` (rows of group ``t`` times ``sqrt(omega)``) minus its projection on
    the range of the group's weighted design ``Z``: by the normal equations of a
    tall group whose Gram is well conditioned (its Cholesky factor, with LAPACK's
    condition estimate against ``_GRAM_COND``), else by the left
    singular vectors (no coefficients: they blow up on the numerically zero
    singular values of a rank-deficient ``Z`` and rounding with them)."""
    rows = design._task_groups()[t]
    dt = design.dtype
    if len(rows) <= design.n_features:
        # a wide block of full row rank spans every row: a residual of 0; centred,
        # its left null space holds u = sqrt(omega) (sum_i omega_i (x_i - xbar)
        # = 0), and with rank n_t - 1 it is span(u): the residual is u u^T ry.
        # Its rows' Gram eigenvalues (descending; those at rounding level are 0)
        # decide, instead of an SVD
        lam = _task_factors(design, t, rows)[0]
        k = len(rows) - (2 if design.center else 1)  # the smallest one that counts
        if k >= 0 and lam[k] > 0 and lam[0] <= _GRAM_COND * lam[k]:
            if not design.center:
                return np.zeros_like(ry, dtype=dt)
            u = np.sqrt(design._task_block(t, rows)[1].astype(float, copy=False))
            u = u / np.linalg.norm(u)
            return np.multiply.outer(u, u @ ry).astype(dt, copy=False)
    elif len(rows) >= _TALL * design.n_features:
        chol = _conditioned_cholesky(_task_gram(design, t, rows))
        if chol is not None:
            Z = _weighted_block(design, t, rows)
            coef, _ = lapack.dpotrs(chol, Z.T @ ry, lower=0)
            return (ry - Z @ coef).astype(dt, copy=False)
    U, sv, _ = _task_svd(design, t, rows)
    U = U[:, sv > _RANK_RTOL * sv[:1].max(initial=0.0)].astype(dt, copy=False)
    return ry - U @ (U.T @ ry)
