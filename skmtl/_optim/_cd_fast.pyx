# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled fused epoch of block coordinate descent (squared loss).

One call runs one pass over the working-set columns of
``bcd.WorkingSetSolver.epoch``: for each column ``k`` the negative block gradient
``g = A_k* Theta``, the block proximal step ``new = prox(c_k w_k + g, c_k)`` and
the rank-one update of the residual, in C (BLAS through ``scipy.linalg.cython_blas``, no GIL). It reproduces
the Python epoch's iterates up to rounding; ``epochs.py`` decides when it applies
and prepares its arguments from the state ``bcd.state.ResidualState``.

Layouts (``mode``), mirroring ``ResidualState.neg_grad`` / ``.update``:

0. dense, shared, every row weighted alike (``rank_one``): ``R`` (n, T) is the
   residual, rows of ``X`` pre-centred; ``g = (x_k * omega) @ R``;
1. dense, shared, per-entry weights: ``R`` holds ``omega * residual``, rows raw,
   centring carried by the per-task offset ``o``;
2. dense, stacked: ``R`` (n,) per row, rows pre-centred, ``g_t`` sums task ``t``'s
   rows (by runs of equal task codes);
3. - 5. the same three on a CSC working set (rows raw, centring by ``o``).

Penalties (``pen``): 0 the L2,1 norm plus a ridge (``group_shrink`` with curvature
``c + ridge``), 1 the sparse-group L1 + L2,1, 2 the L1 norm, 3 the dirty model
(``dirty.Dirty``: two stacked blocks per column, whose sum is what the loss sees);
each with or without the mean-shrinkage term ``alpha_mean / 2 sum_t ||w_t -
wbar||^2`` in the block step (``_mean_prox``).
"""

from cython cimport floating
from libc.math cimport fabs, isinf, isnan, sqrt
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport (
    daxpy,
    ddot,
    dgemm,
    dger,
    saxpy,
    sdot,
    sgemm,
    sger,
)

import numpy as np

from skmtl._blas cimport _gemv


# ------------------------------------------------------------------ BLAS (fused)
cdef inline floating _dot(int n, floating *x, int incx, floating *y,
                          int incy) noexcept nogil:
    if floating is float:
        return sdot(&n, x, &incx, y, &incy)
    else:
        return ddot(&n, x, &incx, y, &incy)


cdef inline void _axpy(int n, floating a, floating *x, floating *y) noexcept nogil:
    cdef int one = 1
    if floating is float:
        saxpy(&n, &a, x, &one, y, &one)
    else:
        daxpy(&n, &a, x, &one, y, &one)


cdef inline void _gemv_t(int n, int T, floating alpha, floating *A, int lda,
                         floating *x, floating *y) noexcept nogil:
    """y = alpha A^T x for A (n, T) column-major."""
    _gemv(c'T', n, T, alpha, A, lda, x, <floating>0.0, y)


cdef inline void _ger(int n, int T, floating alpha, floating *x, floating *y,
                      floating *A, int lda) noexcept nogil:
    """A += alpha x y^T for A (n, T) column-major."""
    cdef int one = 1
    if floating is float:
        sger(&n, &T, &alpha, x, &one, y, &one, A, &lda)
    else:
        dger(&n, &T, &alpha, x, &one, y, &one, A, &lda)


cdef inline void _gemm(char transa, char transb, int m, int n, int k,
                       floating alpha, floating *A, int lda, floating *B, int ldb,
                       floating beta, floating *C, int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C, column-major."""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, A, &lda, B, &ldb, &beta, C, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, A, &lda, B, &ldb, &beta, C, &ldc)


# ------------------------------------------------------------------ block prox
cdef double _group_shrink(int T, floating *u, floating *c, int c_stride,
                          double ridge, double lam, double rho0,
                          floating *out) noexcept nogil:
    """``penalties.group_shrink(u, c + ridge, lam, rho0)`` into ``out``; returns
    ``||u||``. ``c_stride`` 0: one curvature for every task (the closed form)."""
    cdef int t, it
    cdef double nu = 0.0, low, rho, d, q, h, s, slope, step, new, cmax, ct
    for t in range(T):
        nu += u[t] * u[t]
    nu = sqrt(nu)
    if nu <= lam:
        for t in range(T):
            out[t] = 0.0
        return nu
    if lam == 0.0:
        for t in range(T):
            ct = c[t * c_stride] + ridge
            out[t] = u[t] / ct if ct > 0 else 0.0
        return nu
    if c_stride == 0:
        s = (1.0 - lam / nu) / (c[0] + ridge)
        for t in range(T):
            out[t] = u[t] * s
        return nu
    cmax = c[0] + ridge
    for t in range(1, T):
        if c[t] + ridge > cmax:
            cmax = c[t] + ridge
    low = (nu - lam) / cmax
    rho = rho0 if rho0 > low else low
    for it in range(50):
        h = 0.0
        slope = 0.0
        for t in range(T):
            ct = c[t] + ridge
            d = ct * rho + lam
            q = u[t] / d
            h += q * q
            slope += q * q * ct / d
        s = 1.0 / sqrt(h)
        slope *= s * s * s
        step = (s - 1.0) / slope
        new = rho - step
        if new < low:
            new = low
        if fabs(new - rho) <= 1e-12 * new:
            rho = new
            break
        rho = new
    for t in range(T):
        out[t] = u[t] * (rho / ((c[t] + ridge) * rho + lam))
    return nu


cdef inline double _soft(double x, double thr) noexcept nogil:
    if x > thr:
        return x - thr
    if x < -thr:
        return x + thr
    return 0.0


cdef void _prox(int pen, int T, floating *u, floating *c, int c_stride,
                double a1, double a2, floating *w, floating *out) noexcept nogil:
    """The block prox of the penalty on one column (``block_prox(u, c, w)``)."""
    cdef int t
    cdef double rho0 = 0.0, ct
    if pen == 2:  # L1: soft_threshold(u, a1) / c
        for t in range(T):
            ct = c[t * c_stride]
            out[t] = _soft(u[t], a1) / ct if ct > 0 else 0.0
        return
    for t in range(T):
        rho0 += w[t] * w[t]
    rho0 = sqrt(rho0)
    if pen == 1:  # sparse group: group_shrink(soft_threshold(u, a1), c, a2)
        for t in range(T):
            u[t] = _soft(u[t], a1)
        _group_shrink(T, u, c, c_stride, 0.0, a2, rho0, out)
        return
    _group_shrink(T, u, c, c_stride, a2, a1, rho0, out)  # L2,1 + ridge a2


# ------------------------------------------------------------------ epoch
def epoch(
    int mode,
    int pen,
    double a1,
    double a2,
    floating[:, ::1] W,
    floating[:, ::1] curv,
    unsigned char[::1] nz,
    floating[:, ::1] V2,
    floating[::1] V1,
    bint norms_only,
    floating[:, ::1] xs,
    floating[:, ::1] xw,
    double wscale,
    Py_ssize_t[::1] indptr,
    Py_ssize_t[::1] indices,
    floating[::1] data,
    floating[::1, :] R2,
    floating[::1] R1,
    floating[:, :] omega2,
    floating[::1] omega1,
    Py_ssize_t[::1] task,
    Py_ssize_t[::1] runs,
    bint center,
    floating[:, ::1] xbar,
    floating[::1] S,
    floating[::1] o,
    bint profile=False,
    floating[::1] pa=None,
    floating[::1] pm=None,
    double asum=0.0,
    double alpha_mean=0.0,
    floating[:, ::1] E=None,
    double hint=0.0,
):
    """One epoch over the ``p`` working-set columns (see the module docstring).

    ``W`` (p, T) and ``nz`` (p,) are updated in place, with the residual (``R2``
    or ``R1``) and the offsets ``o``. ``V2[k]`` (or ``V1[k]``, its norm, when
    ``norms_only``) receives ``A_k* Theta`` just after column ``k``'s update.
    ``curv`` is (p, T), or (p, 1) when every task has the column's curvature.
    ``xw`` holds the weighted rows (mode 0 with unequal row weights, mode 2),
    else is empty and ``wscale`` is the row weight. ``runs`` (mode 2) holds the
    starts of runs of equal task codes, then ``n``.

    ``profile``: penalised intercepts profiled out (``InterceptProfile``): ``g``
    gains ``xbar_k * pa * (pm - mbar)`` with ``mbar = pa @ pm / asum``, and the
    per-task mean residuals ``pm`` follow the update (``pm -= xbar_k * delta``).

    ``alpha_mean > 0``: the block step has the mean-shrinkage term
    ``alpha_mean / 2 ||w - wbar||^2`` (``_mean_prox``), whose gradient ``V``
    gains, as ``WorkingSetSolver._columns``'s Python loop.

    ``pen`` 3, the dirty model: ``W`` (p, 2 T) holds the blocks ``[p; q]`` of
    each column and ``E`` (p, T) their sum, the effective weights (both updated);
    ``hint`` starts the root of the first column's prox (``Dirty._last_r``), and
    the last root is returned. Otherwise ``E`` is unused and ``hint`` returned.
    """
    cdef Py_ssize_t p = W.shape[0], k, j, i, r
    cdef bint dirty = pen == 3
    cdef int T = E.shape[1] if dirty else W.shape[1]
    cdef int nw = 2 * T if dirty else T  # a column's stacked blocks
    cdef int c_stride = 1 if curv.shape[1] > 1 else 0
    cdef int n = 0, t, length
    cdef bint has_xw = xw.shape[0] > 0
    cdef bint moved
    cdef double acc, vn, dt, mbar, nbar
    cdef floating *ck
    cdef floating *wk
    cdef floating *ek
    cdef floating *en
    cdef floating *xk
    cdef floating *Rp = NULL
    cdef double root = hint
    dt_np = np.float32 if floating is float else np.float64
    cdef floating[::1] g = np.zeros(T, dtype=dt_np)
    cdef floating[::1] u = np.zeros(T, dtype=dt_np)
    cdef floating[::1] new = np.zeros(max(nw, 1), dtype=dt_np)
    cdef floating[::1] summed = np.zeros(max(T, 1), dtype=dt_np)
    cdef floating[::1] delta = np.zeros(T, dtype=dt_np)
    # float64 scratch of _mean_prox (12 T with the dirty blocks) and _dirty_step
    cdef double[::1] mbuf = np.zeros(12 * T + 1)
    if mode in (0, 1, 3, 4):
        n = R2.shape[0]
        Rp = &R2[0, 0] if n > 0 and T > 0 else NULL
    else:
        n = R1.shape[0]
        Rp = &R1[0] if n > 0 else NULL
    if T == 0 or n == 0:
        return root
    with nogil:
        for k in range(p):
            wk = &W[k, 0]
            ek = &E[k, 0] if dirty else wk  # the column's effective weights
            en = &summed[0] if dirty else &new[0]
            ck = &curv[k, 0]
            # ---------------------------------------------- g = A_k* Theta
            if mode == 0:
                if has_xw:
                    _gemv_t(n, T, 1.0, Rp, n, &xw[k, 0], &g[0])
                else:
                    _gemv_t(n, T, wscale, Rp, n, &xs[k, 0], &g[0])
            elif mode == 1:
                _gemv_t(n, T, 1.0, Rp, n, &xs[k, 0], &g[0])
            elif mode == 2:
                for t in range(T):
                    g[t] = 0.0
                xk = &xw[k, 0]
                for r in range(runs.shape[0] - 1):
                    i = runs[r]
                    length = <int>(runs[r + 1] - i)
                    g[task[i]] += _dot(length, &xk[i], 1, &Rp[i], 1)
            else:
                for t in range(T):
                    g[t] = 0.0
                if mode == 3:
                    for j in range(indptr[k], indptr[k + 1]):
                        i = indices[j]
                        acc = data[j] * omega2[i, 0]
                        for t in range(T):
                            g[t] += acc * Rp[i + t * n]
                elif mode == 4:
                    for j in range(indptr[k], indptr[k + 1]):
                        i = indices[j]
                        for t in range(T):
                            g[t] += data[j] * Rp[i + t * n]
                else:
                    for j in range(indptr[k], indptr[k + 1]):
                        i = indices[j]
                        g[task[i]] += data[j] * omega1[i] * Rp[i]
            if center and mode != 0 and mode != 2:
                for t in range(T):
                    g[t] += S[t] * o[t] * xbar[k, t]
            if profile:
                mbar = 0.0
                if asum > 0:
                    for t in range(T):
                        mbar += pa[t] * pm[t]
                    mbar /= asum
                for t in range(T):
                    g[t] += xbar[k, t] * pa[t] * (pm[t] - mbar)
            # ---------------------------------------------- block prox
            for t in range(T):
                u[t] = ck[t * c_stride] * ek[t] + g[t]
            if alpha_mean > 0:
                root = _mean_prox(pen, T, &u[0], ck, c_stride, a1, a2, alpha_mean,
                                  ek, &new[0], &mbuf[0], root)
            elif dirty:
                root = _dirty_step(T, &u[0], ck, c_stride, a1, a2, &new[0],
                                   &mbuf[0], root)
            else:
                _prox(pen, T, &u[0], ck, c_stride, a1, a2, wk, &new[0])
            if dirty:
                for t in range(T):
                    en[t] = new[t] + new[T + t]
            moved = False  # (the effective column, as the Python loop)
            for t in range(T):
                if en[t] != 0:
                    moved = True
                    break
            if not nz[k] and not moved:
                if norms_only:
                    vn = 0.0
                    for t in range(T):
                        vn += g[t] * g[t]
                    V1[k] = sqrt(vn)
                else:
                    for t in range(T):
                        V2[k, t] = g[t]
                continue
            nbar = 0.0
            if alpha_mean > 0:
                for t in range(T):
                    nbar += en[t]
                nbar /= T
            vn = 0.0
            for t in range(T):
                delta[t] = en[t] - ek[t]
                dt = g[t] - ck[t * c_stride] * delta[t]
                if alpha_mean > 0:
                    dt -= alpha_mean * (en[t] - nbar)
                vn += dt * dt
                if not norms_only:
                    V2[k, t] = dt
            if norms_only:
                V1[k] = sqrt(vn)
            # ---------------------------------------------- residual update
            if center and mode != 0 and mode != 2:
                for t in range(T):
                    o[t] += xbar[k, t] * delta[t]
            if profile:
                for t in range(T):
                    pm[t] -= xbar[k, t] * delta[t]
            if mode == 0:
                _ger(n, T, -1.0, &xs[k, 0], &delta[0], Rp, n)
            elif mode == 1:
                xk = &xs[k, 0]
                for t in range(T):
                    if delta[t] != 0:
                        for i in range(n):
                            Rp[i + t * n] -= omega2[i, t] * xk[i] * delta[t]
            elif mode == 2:
                xk = &xs[k, 0]
                for r in range(runs.shape[0] - 1):
                    i = runs[r]
                    length = <int>(runs[r + 1] - i)
                    if delta[task[i]] != 0:
                        _axpy(length, -delta[task[i]], &xk[i], &Rp[i])
            elif mode == 3:
                for j in range(indptr[k], indptr[k + 1]):
                    i = indices[j]
                    for t in range(T):
                        Rp[i + t * n] -= data[j] * delta[t]
            elif mode == 4:
                for j in range(indptr[k], indptr[k + 1]):
                    i = indices[j]
                    for t in range(T):
                        Rp[i + t * n] -= omega2[i, t] * data[j] * delta[t]
            else:
                for j in range(indptr[k], indptr[k + 1]):
                    i = indices[j]
                    Rp[i] -= data[j] * delta[task[i]]
            moved = False
            for t in range(nw):
                wk[t] = new[t]
                if new[t] != 0:
                    moved = True
            if dirty:
                for t in range(T):
                    ek[t] = en[t]
            nz[k] = moved
    return root


def epoch_blocked(
    int pen,
    double a1,
    double a2,
    floating[:, ::1] W,
    floating[:, ::1] curv,
    unsigned char[::1] nz,
    floating[:, ::1] V2,
    floating[::1] V1,
    bint norms_only,
    floating[:, ::1] xs,
    floating[:, ::1] xw,
    double wscale,
    floating[::1, :] R,
    floating[:, ::1] gram,
    int block,
):
    """``epoch`` in mode 0 by blocks of ``block`` consecutive columns (as
    ``epochs.group_epoch_blocked``): the block's gradients ``U = X_B^T Omega
    R`` come from one matrix product and are kept current inside the block with
    the block's Gram matrix (``gram[k]``: column ``k`` against the columns of its
    block, weighted and centred); ``R`` is updated once per block. BLAS-3 products
    instead of BLAS-2 ones, the same iterates up to rounding."""
    cdef Py_ssize_t p = W.shape[0], k, start, stop
    cdef int T = W.shape[1], n = R.shape[0], nb, i, t
    cdef int c_stride = 1 if curv.shape[1] > 1 else 0
    cdef bint has_xw = xw.shape[0] > 0, moved, changed
    cdef double vn, dt
    cdef floating *ck
    cdef floating *wk
    cdef floating *Ub
    cdef floating *Db
    cdef floating *xb
    dt_np = np.float32 if floating is float else np.float64
    cdef floating[::1] u = np.zeros(max(T, 1), dtype=dt_np)
    cdef floating[::1] new = np.zeros(max(T, 1), dtype=dt_np)
    cdef floating[::1] delta = np.zeros(max(T, 1), dtype=dt_np)
    cdef floating[::1] UB = np.zeros(max(block * T, 1), dtype=dt_np)
    cdef floating[::1] DB = np.zeros(max(block * T, 1), dtype=dt_np)
    if T == 0 or n == 0 or p == 0:
        return
    Ub = &UB[0]
    Db = &DB[0]
    with nogil:
        start = 0
        while start < p:
            stop = start + block if start + block < p else p
            nb = <int>(stop - start)
            # U (nb, T) column-major = (rows of X_B weighted)^T R
            xb = &xw[start, 0] if has_xw else &xs[start, 0]
            _gemm(c'T', c'N', nb, T, n, 1.0 if has_xw else wscale, xb, n,
                  &R[0, 0], n, 0.0, Ub, nb)
            changed = False
            for i in range(nb):
                k = start + i
                wk = &W[k, 0]
                ck = &curv[k, 0]
                for t in range(T):
                    u[t] = ck[t * c_stride] * wk[t] + Ub[i + t * nb]
                    Db[i + t * nb] = 0.0
                _prox(pen, T, &u[0], ck, c_stride, a1, a2, wk, &new[0])
                moved = False
                for t in range(T):
                    if new[t] != 0:
                        moved = True
                        break
                if not nz[k] and not moved:
                    if norms_only:
                        vn = 0.0
                        for t in range(T):
                            vn += Ub[i + t * nb] * Ub[i + t * nb]
                        V1[k] = sqrt(vn)
                    else:
                        for t in range(T):
                            V2[k, t] = Ub[i + t * nb]
                    continue
                vn = 0.0
                for t in range(T):
                    delta[t] = new[t] - wk[t]
                    dt = Ub[i + t * nb] - ck[t * c_stride] * delta[t]
                    vn += dt * dt
                    if not norms_only:
                        V2[k, t] = dt
                    Db[i + t * nb] = delta[t]
                if norms_only:
                    V1[k] = sqrt(vn)
                # U_B -= gram[:, i] delta^T (the block's other gradients): one
                # BLAS rank-one update (the C double loop it replaces took half
                # the epoch at 1,000 tasks)
                _ger(nb, T, -1.0, &gram[k, 0], &delta[0], Ub, nb)
                changed = True
                moved = False
                for t in range(T):
                    wk[t] = new[t]
                    if new[t] != 0:
                        moved = True
                nz[k] = moved
            if changed:  # R -= X_B^T D_B (centred rows)
                _gemm(c'N', c'N', n, T, nb, -1.0, &xs[start, 0], n, Db, nb,
                      1.0, &R[0, 0], n)
            start = stop


# ------------------------------------------------- the exact mean-shrinkage step
cdef inline void _mean_solve(int T, double mu, double kappa, double *base,
                             double *rhs, double *out) noexcept nogil:
    """``out = (D + mu I)^{-1} rhs`` with ``D = diag(base) - kappa 1 1^T``
    (Sherman-Morrison), as ``penalties.mean_group_shrink``'s ``solve``."""
    cdef int t
    cdef double inv_sum = 0.0, x_sum = 0.0, inv, scale
    for t in range(T):
        inv = 1.0 / (base[t] + mu)
        inv_sum += inv
        out[t] = rhs[t] * inv
        x_sum += out[t]
    scale = kappa * x_sum / (1.0 - kappa * inv_sum)
    for t in range(T):
        out[t] += scale / (base[t] + mu)


cdef inline bint _bracketed_step(double *x, double f, double df, double *lo,
                                 double *hi, bint increasing,
                                 double rtol) noexcept nogil:
    """One iteration of ``roots.bracketed_newton`` at ``x[0]``, given ``f(x)`` and
    ``f'(x)``: moves the bracket ``(lo, hi)`` and ``x[0]``; True once converged."""
    cdef double new
    if (f > 0) == increasing:
        hi[0] = x[0]
    else:
        lo[0] = x[0]
    if df != 0 and (df > 0) == increasing:
        new = x[0] - f / df
    else:
        new = 0.5 * (lo[0] + hi[0])
    if fabs(new - x[0]) <= rtol * x[0]:
        x[0] = new
        return True
    x[0] = new if lo[0] < new < hi[0] else 0.5 * (lo[0] + hi[0])
    return False


cdef void _mean_newton(int T, double *u, double *base, double kappa, double lam,
                       double mu, double lo, double hi, int n_iter, double rtol,
                       double *out, double *work) noexcept nogil:
    """The safeguarded Newton iteration of ``penalties.mean_group_shrink`` on
    ``psi(mu) = mu ||(D + mu I)^{-1} u|| = lam`` from ``mu`` in ``(lo, hi)``,
    then ``out = (D + mu I)^{-1} u``; ``work`` holds ``2 T`` doubles."""
    cdef int it, t
    cdef double *e = work
    cdef double *g = work + T
    cdef double ne, f, slope, eg
    for it in range(n_iter):
        _mean_solve(T, mu, kappa, base, u, e)
        ne = 0.0
        for t in range(T):
            ne += e[t] * e[t]
        ne = sqrt(ne)
        f = mu * ne - lam
        if f > 0:
            hi = mu
        else:
            lo = mu
        _mean_solve(T, mu, kappa, base, e, g)
        eg = 0.0
        for t in range(T):
            eg += e[t] * g[t]
        slope = ne - mu * eg / ne
        if _bracketed_step(&mu, f, slope, &lo, &hi, True, rtol):
            break
    _mean_solve(T, mu, kappa, base, u, out)


def mean_group_shrink_newton(double[::1] u, double[::1] base, double kappa,
                             double lam, double mu, double lo, double hi,
                             int n_iter, double rtol, double[::1] out,
                             double[::1] work):
    """The safeguarded Newton iteration of ``penalties.mean_group_shrink`` on
    ``psi(mu) = mu ||(D + mu I)^{-1} u|| = lam`` from ``mu`` in ``(lo, hi)``,
    then ``out = (D + mu I)^{-1} u``; ``work`` holds ``2 T`` floats. The same
    steps as the Python loop, in C."""
    with nogil:
        _mean_newton(u.shape[0], &u[0], &base[0], kappa, lam, mu, lo, hi, n_iter,
                     rtol, &out[0], &work[0])


cdef inline bint _finite(double x) noexcept nogil:
    return not (isnan(x) or isinf(x))


cdef void _dirty_prox(int T, double *u, double *c, double a, double b,
                      double *hint, double *z) noexcept nogil:
    """``dirty.Dirty.block_prox(u, c)`` into ``z = [p; q]`` (``2 T``), the root
    ``r`` started from ``hint[0]`` and stored there (``Dirty._last_r``)."""
    cdef int t, it
    cdef double s2 = 0.0, hi = 0.0, lo = 0.0, r, den, m, v, f, df
    cdef double cap, ua, ct
    for t in range(T):
        z[t] = 0.0
        if c[t] > 0:
            ua = fabs(u[t])
            s2 += min(ua, b) * min(ua, b)
            hi += (ua / c[t]) * (ua / c[t])
    if a <= 0:
        for t in range(T):
            if c[t] > 0:
                z[t] = u[t] / c[t]
    elif s2 > a * a:
        cap = b / a
        hi = sqrt(hi)
        r = hint[0] if lo < hint[0] < hi else hi
        for it in range(100):
            f = -1.0
            df = 0.0
            for t in range(T):
                ct = c[t]
                if ct > 0:
                    den = ct * r + a
                    m = fabs(u[t]) / den
                    v = min(m, cap)
                    f += v * v
                    if m < cap:
                        df += m * m * ct / den
            df *= -2.0
            if _bracketed_step(&r, f, df, &lo, &hi, False, 1e-15):
                break
        for t in range(T):
            ct = c[t]
            if ct > 0:
                m = min(fabs(u[t]) / (ct * r + a), cap)
                z[t] = (1.0 if u[t] > 0 else (-1.0 if u[t] < 0 else 0.0)) * r * m
        hint[0] = r
    for t in range(T):
        ct = c[t]
        z[T + t] = _soft(u[t] - ct * z[t], b) / ct if ct > 0 else 0.0


cdef double _mean_residual(int pen, int T, double *u, double *shifted,
                           double alpha_mean, double a1, double a2, double m,
                           double *tmp, double *zero, double *z) noexcept nogil:
    """``z = block_prox(u + alpha_mean m, shifted)``; returns ``mean(z) - m``
    (``at`` of ``penalties.mean_block_prox``). ``pen`` 3: the dirty model's
    ``[p; q]`` (``2 T``, the mean of ``p + q``; ``zero[0]`` its root hint)."""
    cdef int t
    cdef double total = 0.0
    for t in range(T):
        tmp[t] = u[t] + alpha_mean * m
    if pen == 3:
        _dirty_prox(T, tmp, shifted, a1, a2, zero, z)
        for t in range(2 * T):
            total += z[t]
        return total / T - m
    _prox(pen, T, tmp, shifted, 1, a1, a2, zero, z)
    for t in range(T):
        total += z[t]
    return total / T - m


cdef double _mean_root(int pen, int T, int n, double a1, double a2, double *u,
                       double *shifted, double alpha_mean, double sbar, double m0,
                       double xtol, double *out, double hint,
                       double *buf) noexcept nogil:
    """The bracket and Illinois iteration of ``penalties.mean_block_prox`` (see
    ``mean_block_prox_root``); ``buf`` holds ``2 T + 3 n`` doubles. Returns the
    dirty prox's last root."""
    cdef int t, it, side = 0
    cdef double *tmp = buf
    cdef double *zero = buf + T
    cdef double *za = buf + 2 * T
    cdef double *zb = buf + 2 * T + n
    cdef double *zm = buf + 2 * T + 2 * n
    cdef double *swap
    cdef double *best
    cdef double h0, h1, step, m1, a, b, fa, fb, m, fm, stop
    for t in range(T):
        zero[t] = 0.0
    zero[0] = hint  # (the dirty prox's root hint; the others read w = 0)
    best = za
    h0 = _mean_residual(pen, T, u, shifted, alpha_mean, a1, a2, m0, tmp, zero, za)
    if h0 != 0.0 and _finite(h0):
        step = 1.01 * h0 / (1.0 - sbar)  # past the root (1% against rounding)
        m1 = m0 + step
        h1 = _mean_residual(pen, T, u, shifted, alpha_mean, a1, a2, m1, tmp, zero,
                            zb)
        for it in range(60):  # rounding only: the slope bound brackets it
            if h1 == 0.0 or not _finite(h1) or (h1 > 0) != (h0 > 0):
                break
            swap = za
            za = zb
            zb = swap
            m0 = m1
            h0 = h1
            m1 = m1 + step
            h1 = _mean_residual(pen, T, u, shifted, alpha_mean, a1, a2, m1, tmp,
                                zero, zb)
            step = 2.0 * step
        if not _finite(h1):
            best = za  # the bracket overflowed: the majorised step at m0
        elif h1 == 0.0 or (h1 > 0) == (h0 > 0):
            best = zb
        else:
            # Illinois regula falsi on [m0, m1] (za, zb: their columns)
            stop = xtol * max(fabs(m0), max(fabs(m1), 1e-300))
            a, fa, b, fb = m0, h0, m1, h1
            best = NULL
            for it in range(200):
                m = (a * fb - b * fa) / (fb - fa)
                if not (min(a, b) < m < max(a, b)):
                    m = 0.5 * (a + b)
                fm = _mean_residual(pen, T, u, shifted, alpha_mean, a1, a2, m, tmp,
                                    zero, zm)
                if not _finite(fm):
                    break
                if fabs(fm) <= stop * (1.0 - sbar) or fabs(b - a) <= stop:
                    best = zm
                    break
                if (fm > 0) == (fb > 0):
                    b, fb = m, fm
                    swap = zb
                    zb = zm
                    zm = swap
                    if side == -1:
                        fa *= 0.5
                    side = -1
                else:
                    a, fa = m, fm
                    swap = za
                    za = zm
                    zm = swap
                    if side == 1:
                        fb *= 0.5
                    side = 1
            if best == NULL:
                best = za if fabs(fa) <= fabs(fb) else zb
    for t in range(n):
        out[t] = best[t]
    return zero[0]


def mean_block_prox_root(int pen, double a1, double a2, double[::1] u,
                         double[::1] shifted, double alpha_mean, double sbar,
                         double m0, double xtol, double[::1] out, double hint=0.0):
    """``penalties.mean_block_prox`` for a penalty of ``_prox`` (``pen``, ``a1``,
    ``a2``), or the dirty model's (``pen`` 3, ``a1`` shared, ``a2`` specific,
    ``out`` of ``2 T``), from the mean ``m0``, in C: the same bracket (steps of
    ``1.01 h(m0) / (1 - sbar)``, doubling) and Illinois iteration; the column
    goes to ``out``. ``shifted`` is ``c + alpha_mean`` and ``sbar < 1``. Returns
    the dirty prox's last root (``hint`` its start; ``Dirty._last_r``)."""
    cdef int T = u.shape[0], n = out.shape[0]
    cdef double *buf = <double *> malloc((2 * T + 3 * n) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    with nogil:
        hint = _mean_root(pen, T, n, a1, a2, &u[0], &shifted[0], alpha_mean, sbar,
                          m0, xtol, &out[0], hint, buf)
    free(buf)
    return hint


cdef double _mean_prox(int pen, int T, floating *u, floating *c, int c_stride,
                       double a1, double a2, double alpha_mean, floating *w,
                       floating *out, double *buf, double hint) noexcept nogil:
    """The block step with the mean-shrinkage term (``block_prox_mean(u, c,
    alpha_mean, w)`` of the penalty ``pen``, ``w`` the current effective column)
    into ``out``, in float64 as the Python steps: ``penalties.mean_group_shrink``
    (pen 0, curvature ``c + a2``) or ``penalties._compiled_mean_block_prox``
    (pens 1, 2; pen 3, the dirty model's ``[p; q]``: ``out`` of ``2 T``, ``hint``
    its prox's root, the last one returned). ``buf`` holds ``12 T`` doubles."""
    cdef int t, n = 2 * T if pen == 3 else T
    cdef double *ud = buf
    cdef double *cd = buf + T
    cdef double *od = buf + 2 * T
    cdef double *work = buf + 2 * T + n
    cdef double nu = 0.0, n0 = 0.0, kappa, lo, hi, mu, bmax, sbar = 0.0, m0 = 0.0
    cdef bint finite = True
    for t in range(T):
        ud[t] = u[t]
    if pen == 0:  # mean_group_shrink(u, c + a2, alpha_mean, a1, w)
        for t in range(T):
            nu += ud[t] * ud[t]
            n0 += (<double> w[t]) * w[t]
            cd[t] = (c[t * c_stride] + a2) + alpha_mean
        nu = sqrt(nu)
        n0 = sqrt(n0)
        if nu <= a1:
            for t in range(T):
                out[t] = 0.0
            return hint
        kappa = alpha_mean / T
        if a1 == 0.0:
            _mean_solve(T, 0.0, kappa, cd, ud, od)
        else:
            bmax = cd[0]
            for t in range(1, T):
                if cd[t] > bmax:
                    bmax = cd[t]
            lo = 0.0
            hi = a1 * bmax / (nu - a1)
            mu = 0.5 * hi
            if n0 > 0 and lo < a1 / n0 < hi:
                mu = a1 / n0
            _mean_newton(T, ud, cd, kappa, a1, mu, lo, hi, 60, 1e-13, od, work)
    else:  # _compiled_mean_block_prox(pen, a1, a2, ..., u, c, alpha_mean, w)
        for t in range(T):
            cd[t] = c[t * c_stride] + alpha_mean
            sbar += alpha_mean / cd[t]
            m0 += w[t]
            if not _finite(w[t]):
                finite = False
        sbar /= T
        if not sbar < 1.0:  # every c_t = 0, so u = 0: every block 0
            for t in range(n):
                out[t] = 0.0
            return hint
        m0 = m0 / T if finite else 0.0
        hint = _mean_root(pen, T, n, a1, a2, ud, cd, alpha_mean, sbar, m0, 1e-13,
                          od, hint, work)
    for t in range(n):
        out[t] = od[t]
    return hint


cdef double _dirty_step(int T, floating *u, floating *c, int c_stride, double a1,
                        double a2, floating *out, double *buf,
                        double hint) noexcept nogil:
    """``Dirty.block_prox(u, c)`` into ``out = [p; q]`` (``2 T``) in float64
    (``_dirty_prox``), its root started from ``hint``; returns the last root
    (``Dirty._last_r``). ``buf`` holds ``4 T`` doubles."""
    cdef int t
    cdef double *ud = buf
    cdef double *cd = buf + T
    cdef double *od = buf + 2 * T
    for t in range(T):
        ud[t] = u[t]
        cd[t] = c[t * c_stride]
    _dirty_prox(T, ud, cd, a1, a2, &hint, od)
    for t in range(2 * T):
        out[t] = od[t]
    return hint
