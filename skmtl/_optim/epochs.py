"""Dispatch of a block-coordinate-descent epoch to the compiled loop.

``bcd._Inner.epoch`` asks ``plan`` once per working set whether the compiled epoch
(``_cd_fast.epoch``, built from ``_cd_fast.pyx`` when a C compiler was available at
install time) covers its problem, and then runs ``run`` instead of its Python loop.
Covered: the squared loss (which is also every prox-Newton sub-problem of the
logistic loss), one block per column (not the dirty model), the L2,1, L2,1 + ridge,
sparse-group and L1 penalties, dense or sparse ``X``, the shared layout (with or
without missing targets / per-entry weights) and the stacked layout, float64 and
float32, free intercepts (centred design) or penalised ones profiled out
(``bcd._Profile``: the column-by-column epoch only). Everything else, and every
case when the extension is missing, runs the Python epochs, which give the same
iterates up to rounding.

``ENABLED`` switches the compiled epoch off (tests compare the two).
"""

import numpy as np
import scipy.sparse as sp

from .penalties import L1, L21, L21Ridge, SparseGroupL1L21

try:  # optional: built by setup.py when a compiler is available
    from . import _cd_fast
except ImportError:  # pragma: no cover - depends on the build
    _cd_fast = None

__all__ = ["AVAILABLE", "ENABLED", "plan", "run"]

AVAILABLE = _cd_fast is not None
ENABLED = True

_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
# the blocked epoch (BLAS-3 products, a Gram matrix per block of columns) from this
# many tasks on: with fewer, its products are too thin to beat the column-by-column
# epoch (measured on a loaded machine: 10-20% slower at 10 tasks; at 20 tasks equal
# on one fit, 7% faster on the 20-alpha path of benchmarks/bench_sparse.py)
BLOCKED_MIN_TASKS = 16


def _penalty_code(penalty):
    """``(pen, a1, a2)`` of ``_cd_fast.epoch`` for ``penalty``, or None."""
    kind = type(penalty)
    if kind is L21:
        return 0, float(penalty.alpha), 0.0
    if kind is L21Ridge:
        return 0, float(penalty._l21.alpha), float(penalty._ridge)
    if kind is SparseGroupL1L21:
        return 1, float(penalty._l1), float(penalty._l21)
    if kind is L1:
        return 2, float(penalty.alpha), 0.0
    return None


def _runs(task):
    """Starts of the runs of equal consecutive task codes, then ``n``."""
    n = len(task)
    if n == 0:
        return np.zeros(1, dtype=np.intp)
    starts = np.flatnonzero(np.diff(task)) + 1
    return np.concatenate([[0], starts, [n]]).astype(np.intp)


class _Plan:
    """The arguments of ``_cd_fast.epoch`` that hold for a whole working set."""

    def __init__(self, kernel, pen, curv):
        dt = kernel.dtype
        self.pen = pen
        self.dtype = dt
        self.curv = np.ascontiguousarray(
            np.asarray(curv, dtype=dt).reshape(len(curv), -1)
        )
        T = kernel.T
        self.empty2 = np.zeros((0, 1), dtype=dt)
        self.empty1 = np.zeros(0, dtype=dt)
        self.iempty = np.zeros(0, dtype=np.intp)
        self.wscale = 1.0
        self.xs = self.xw = self.empty2
        self.indptr = self.indices = self.iempty
        self.data = self.empty1
        self.omega2, self.omega1 = self.empty2, self.empty1
        self.task, self.runs = self.iempty, self.iempty
        self.xbar = np.ascontiguousarray(kernel.xbar, dtype=dt)
        if self.xbar.shape != (len(kernel.ws), T):
            self.xbar = np.zeros((len(kernel.ws), T), dtype=dt)
        self.S = np.ascontiguousarray(kernel._S, dtype=dt)
        self.center = bool(kernel.center)
        # penalised intercepts profiled out (bcd._Profile): the T-vector terms
        self.prof = getattr(kernel, "prof", None)
        self.pa = (
            self.empty1
            if self.prof is None
            else np.ascontiguousarray(self.prof.a, dtype=dt)
        )
        if kernel.shared:
            self.omega2 = kernel.omega
        else:
            self.omega1 = np.ascontiguousarray(kernel.omega, dtype=dt)
            self.task = np.ascontiguousarray(kernel.task, dtype=np.intp)
        if kernel.sparse:
            Xs = kernel.Xs
            self.indptr = Xs.indptr.astype(np.intp)
            self.indices = Xs.indices.astype(np.intp)
            self.data = np.ascontiguousarray(Xs.data, dtype=dt)
            if kernel.shared:
                self.mode = 3 if kernel.rank_one else 4
            else:
                self.mode = 5
            return
        if kernel.shared and kernel.rank_one:
            self.mode = 0
            # by blocks of columns (BLAS-3, see _cd_fast.epoch_blocked)
            # (not with profiled intercepts: their coupling is not in the Grams)
            blocked = T >= BLOCKED_MIN_TASKS and self.prof is None
            self.block = int(kernel.block_size) if blocked else 1
            self.gram = None
            self.xs = kernel.xc
            if kernel.xcw is not None:
                self.xw = kernel.xcw
            else:
                self.wscale = float(kernel.wscale)
        elif kernel.shared:
            self.mode = 1
            self.xs = kernel.xs
        else:
            self.mode = 2
            self.xs, self.xw = kernel.xc, kernel.xcw
            self.runs = _runs(self.task)
        self.ok = all(
            a.dtype == dt and a.flags.c_contiguous for a in (self.xs, self.xw)
        )


def _block_grams(kernel, block, dtype):
    """``gram[k]``: the weighted centred products of column ``k`` with the columns
    of its block (``kernel.blocks()``), shape (p, block)."""
    p = len(kernel.ws)
    gram = np.zeros((p, block), dtype=dtype)
    for start, G in kernel.blocks():
        gram[start : start + G.shape[0], : G.shape[1]] = G
    return gram


def plan(kernel, penalty, curv, m):
    """A ``_Plan`` when the compiled epoch covers this working-set problem, else
    None (then the Python epoch runs)."""
    if not (AVAILABLE and ENABLED) or m != 1 or not kernel.quadratic:
        return None
    code = _penalty_code(penalty)
    if code is None or np.dtype(kernel.dtype) not in _DTYPES:
        return None
    if kernel.sparse and not sp.issparse(getattr(kernel, "Xs", None)):
        return None
    out = _Plan(kernel, code, curv)
    if not getattr(out, "ok", True) or np.dtype(out.omega2.dtype) != out.dtype:
        return None
    return out


def run(p, kernel, Wl, nz, V):
    """One compiled epoch (without the intercept step) on the state of ``kernel``:
    ``Wl`` (p, T), the list ``nz`` and ``V`` updated in place, as the Python
    epoch does. False (nothing done) when an array is not as expected."""
    dt = p.dtype
    if Wl.dtype != dt or not Wl.flags.c_contiguous or V.dtype != dt:
        return False
    shared = kernel.shared
    if shared and not kernel.R.flags.f_contiguous:
        kernel.R = np.asfortranarray(kernel.R)
    elif not shared and not kernel.R.flags.c_contiguous:
        kernel.R = np.ascontiguousarray(kernel.R)
    if kernel.R.dtype != dt or kernel.o.dtype != dt:
        return False
    if not kernel.o.flags.c_contiguous:
        kernel.o = np.ascontiguousarray(kernel.o)
    prof = p.prof
    if prof is not None and (
        prof.m.dtype != dt or not prof.m.flags.c_contiguous or prof is not kernel.prof
    ):
        return False
    flags = np.fromiter(nz, dtype=np.uint8, count=len(nz))
    pen, a1, a2 = p.pen
    norms_only = V.ndim == 1
    if p.mode == 0 and p.block > 1:
        if p.gram is None:
            p.gram = _block_grams(kernel, p.block, dt)
        _cd_fast.epoch_blocked(
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
            kernel.R,
            p.gram,
            p.block,
        )
        nz[:] = flags.astype(bool).tolist()
        return True
    _cd_fast.epoch(
        p.mode,
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
        p.indptr,
        p.indices,
        p.data,
        kernel.R if shared else p.empty2.T,
        p.empty1 if shared else kernel.R,
        p.omega2,
        p.omega1,
        p.task,
        p.runs,
        p.center,
        p.xbar,
        p.S,
        kernel.o,
        prof is not None,
        p.pa,
        p.empty1 if prof is None else prof.m,
        0.0 if prof is None else prof.asum,
    )
    nz[:] = flags.astype(bool).tolist()
    return True
