"""The fused epochs of block coordinate descent: one pass over the working-set
columns with the penalty's closed-form block update (``BlockThreshold``) inlined.

``bcd.WorkingSetSolver`` asks ``plan`` once per working set whether the compiled
epoch (``_cd_fast.epoch``, built from ``_cd_fast.pyx`` when a C compiler was
available at install time) covers its problem, and then runs ``run`` instead of
its Python loop.
Covered: the squared loss (which is also every prox-Newton sub-problem of the
logistic loss), penalties declaring a ``block_threshold`` (L2,1, L2,1 + ridge,
sparse-group and L1, and the dirty model's two blocks per column), dense or sparse
``X``, the shared layout (with or without missing targets / per-entry weights) and
the stacked layout, float64 and float32, free intercepts (centred design) or
penalised ones profiled out (``bcd.profile.InterceptProfile``: the
column-by-column epoch only), with or without the mean-shrinkage term
(``alpha_mean``, its exact block step: the column-by-column epoch only).
Everything else, and every case when the extension
is missing, runs the Python epochs, which give the same iterates up to rounding:
``group_epoch`` and ``group_epoch_blocked`` (the commonest case, below) or the
generic loop of ``WorkingSetSolver``.

``ENABLED`` switches the compiled epoch off (tests compare the two).
"""

import math

import numpy as np
import scipy.sparse as sp

from .._compiled import compiled

_cd_fast = compiled("_optim._cd_fast")  # optional: None without a C compiler

__all__ = [
    "AVAILABLE",
    "ENABLED",
    "fused",
    "group_epoch",
    "group_epoch_blocked",
    "plan",
    "run",
]

AVAILABLE = _cd_fast is not None
ENABLED = True

_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
# the blocked epoch (BLAS-3 products, a Gram matrix per block of columns) from this
# many tasks on: with fewer, its products are too thin to beat the column-by-column
# epoch (measured on a loaded machine: 10-20% slower at 10 tasks; at 20 tasks equal
# on one fit, 7% faster on the 20-alpha path of benchmarks/bench_sparse.py)
BLOCKED_MIN_TASKS = 16


# ``_cd_fast`` penalty codes of the ``BlockThreshold`` kinds, and their two
# parameters (a1, a2)
_PENALTY_CODES = {
    "group": (0, "group", "ridge"),
    "sparse_group": (1, "l1", "group"),
    "l1": (2, "l1", None),
    "dirty": (3, "group", "l1"),
}
# the stacked blocks per column of each code (``penalty.n_blocks``)
_BLOCKS = {0: 1, 1: 1, 2: 1, 3: 2}


def _penalty_code(penalty):
    """``(pen, a1, a2)`` of ``_cd_fast.epoch`` for ``penalty``, or None."""
    threshold = getattr(penalty, "block_threshold", None)
    if threshold is None or threshold.kind not in _PENALTY_CODES:
        return None
    code, a1, a2 = _PENALTY_CODES[threshold.kind]
    return code, getattr(threshold, a1), 0.0 if a2 is None else getattr(threshold, a2)


def _runs(task):
    """Starts of the runs of equal consecutive task codes, then ``n``."""
    n = len(task)
    if n == 0:
        return np.zeros(1, dtype=np.intp)
    starts = np.flatnonzero(np.diff(task)) + 1
    return np.concatenate([[0], starts, [n]]).astype(np.intp)


class _Plan:
    """The arguments of ``_cd_fast.epoch`` that hold for a whole working set."""

    def __init__(self, state, pen, curv, alpha_mean=0.0):
        dt = state.dtype
        self.pen = pen
        self.alpha_mean = float(alpha_mean)
        self.dtype = dt
        self.curv = np.ascontiguousarray(
            np.asarray(curv, dtype=dt).reshape(len(curv), -1)
        )
        T = state.T
        self.empty2 = np.zeros((0, 1), dtype=dt)
        self.empty1 = np.zeros(0, dtype=dt)
        self.iempty = np.zeros(0, dtype=np.intp)
        self.wscale = 1.0
        self.xs = self.xw = self.empty2
        self.indptr = self.indices = self.iempty
        self.data = self.empty1
        self.omega2, self.omega1 = self.empty2, self.empty1
        self.task, self.runs = self.iempty, self.iempty
        self.xbar = np.ascontiguousarray(state.xbar, dtype=dt)
        if self.xbar.shape != (len(state.ws), T):
            self.xbar = np.zeros((len(state.ws), T), dtype=dt)
        self.S = np.ascontiguousarray(state.S, dtype=dt)
        self.center = bool(state.center)
        # penalised intercepts profiled out (``InterceptProfile``): T-vector terms
        self.prof = getattr(state, "prof", None)
        self.pa = (
            self.empty1
            if self.prof is None
            else np.ascontiguousarray(self.prof.a, dtype=dt)
        )
        if state.shared:
            self.omega2 = state.omega
        else:
            self.omega1 = np.ascontiguousarray(state.omega, dtype=dt)
            self.task = np.ascontiguousarray(state.task, dtype=np.intp)
        if state.sparse:
            Xs = state.Xs
            self.indptr = Xs.indptr.astype(np.intp)
            self.indices = Xs.indices.astype(np.intp)
            self.data = np.ascontiguousarray(Xs.data, dtype=dt)
            if state.shared:
                self.mode = 3 if state.rank_one else 4
            else:
                self.mode = 5
            return
        if state.shared and state.rank_one:
            self.mode = 0
            # by blocks of columns (BLAS-3, see _cd_fast.epoch_blocked)
            # (not with profiled intercepts or the mean-shrinkage term: their
            # coupling is not in the Grams)
            blocked = (
                T >= BLOCKED_MIN_TASKS
                and self.prof is None
                and not self.alpha_mean
                and _BLOCKS[pen[0]] == 1
            )
            self.block = int(state.block_size) if blocked else 1
            self.gram = None
            self.xs = state.xc
            if state.xcw is not None:
                self.xw = state.xcw
            else:
                self.wscale = float(state.wscale)
        elif state.shared:
            self.mode = 1
            self.xs = state.xs
        else:
            self.mode = 2
            self.xs, self.xw = state.xc, state.xcw
            self.runs = _runs(self.task)
        self.ok = all(
            a.dtype == dt and a.flags.c_contiguous for a in (self.xs, self.xw)
        )


def _block_grams(state, block, dtype):
    """``gram[k]``: the weighted centred products of column ``k`` with the columns
    of its block (``state.blocks()``), shape (p, block)."""
    p = len(state.ws)
    gram = np.zeros((p, block), dtype=dtype)
    for start, G in state.blocks():
        gram[start : start + G.shape[0], : G.shape[1]] = G
    return gram


def plan(state, penalty, curv, m, alpha_mean=0.0):
    """A ``_Plan`` when the compiled epoch covers this working-set problem, else
    None (then the Python epoch runs). ``alpha_mean``: the strength of the
    mean-shrinkage term in the block step (the column-by-column epoch only)."""
    if not (AVAILABLE and ENABLED) or not state.quadratic:
        return None
    code = _penalty_code(penalty)
    if code is None or m != _BLOCKS[code[0]]:
        return None
    if np.dtype(state.dtype) not in _DTYPES:
        return None
    if state.sparse and not sp.issparse(getattr(state, "Xs", None)):
        return None
    out = _Plan(state, code, curv, alpha_mean)
    out.penalty = penalty  # (the dirty prox's root hint lives on it)
    if not getattr(out, "ok", True) or np.dtype(out.omega2.dtype) != out.dtype:
        return None
    return out


def run(p, state, Wl, nz, V, El=None):
    """One compiled epoch (without the intercept step) on the state of ``state``:
    ``Wl`` (p, m T), the list ``nz`` and ``V`` updated in place, as the Python
    epoch does, and for the dirty model (``m = 2``) the effective weights ``El``
    (p, T). False (nothing done) when an array is not as expected."""
    dt = p.dtype
    if Wl.dtype != dt or not Wl.flags.c_contiguous or V.dtype != dt:
        return False
    dirty = _BLOCKS[p.pen[0]] == 2
    if dirty and (El is None or El.dtype != dt or not El.flags.c_contiguous):
        return False
    shared = state.shared
    state.make_contiguous()
    if state.R.dtype != dt or state.o.dtype != dt:
        return False
    prof = p.prof
    if prof is not None and (
        prof.m.dtype != dt or not prof.m.flags.c_contiguous or prof is not state.prof
    ):
        return False
    flags = np.fromiter(nz, dtype=np.uint8, count=len(nz))
    pen, a1, a2 = p.pen
    norms_only = V.ndim == 1
    # the arguments both compiled epochs take first
    common = (
        pen,
        a1,
        a2,
        Wl,
        p.curv,
        flags,
        p.empty2 if norms_only else V,
        V if norms_only else p.empty1,
        norms_only,
        p.xs,
        p.xw,
        p.wscale,
    )
    if p.mode == 0 and p.block > 1:
        if p.gram is None:
            p.gram = _block_grams(state, p.block, dt)
        _cd_fast.epoch_blocked(*common, state.R, p.gram, p.block)
    else:
        root = _cd_fast.epoch(
            p.mode,
            *common,
            p.indptr,
            p.indices,
            p.data,
            state.R if shared else p.empty2.T,
            p.empty1 if shared else state.R,
            p.omega2,
            p.omega1,
            p.task,
            p.runs,
            p.center,
            p.xbar,
            p.S,
            state.o,
            prof is not None,
            p.pa,
            p.empty1 if prof is None else prof.m,
            0.0 if prof is None else prof.asum,
            p.alpha_mean,
            El if dirty else p.empty2,
            float(getattr(p.penalty, "_last_r", 0.0)),
        )
        if dirty:
            p.penalty._last_r = root
    nz[:] = flags.astype(bool).tolist()
    return True


def fused(state, penalty, curv):
    """``(lam, ridge)`` of ``group_epoch`` when the Python fused epochs cover
    this working-set problem (squared loss, dense ``X``, shared layout without
    missing targets or profiled intercepts, one curvature per column, a
    ``"group"`` block threshold), else None."""
    threshold = getattr(penalty, "block_threshold", None)
    if threshold is None or threshold.kind != "group":
        return None
    if not (state.quadratic and state.rank_one) or state.sparse:
        return None
    if state.prof is not None or not isinstance(curv, list):
        return None
    return threshold.group, threshold.ridge


def group_epoch(state, Wl, curv, nz, vnorm, lam, ridge):
    """Fused Python epoch for the commonest case: shared layout without missing
    targets, dense X, squared loss, ``BlockThreshold`` of kind ``"group"``
    (threshold ``lam``, ``ridge``), one curvature per column (``curv``).

    ``vnorm[k]`` receives ``||A_k* Theta||`` just after column ``k`` is updated."""
    xc, R, ger = state.xc, state.R, state.ger
    xw, sc = (xc, state.wscale) if state.xcw is None else (state.xcw, 1.0)
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


def group_epoch_blocked(state, Wl, curv, nz, vnorm, lam, ridge):
    """``group_epoch`` by blocks of columns: the block's
    ``U = X_B^T Omega R + c W_B`` comes from one product and is kept current inside
    the block with the block's Gram matrix (``O(b T)`` per column instead of
    ``O(n T)``); ``R`` is updated once per block: BLAS-3 products instead of BLAS-2
    ones, the same iterates."""
    xc, R = state.xc, state.R
    ger, gemm = state.ger, state.gemm
    sqrt = math.sqrt
    c_all = np.asarray(curv)
    for start, gram in state.blocks():
        stop = start + gram.shape[0]
        W_old = Wl[start:stop].copy()
        UB = state.weighted_product(start, stop, R)
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
