"""Non-smooth penalties ``g(W)`` on the task-weight matrix ``W`` (n_tasks, n_features).

Each penalty holds its regularisation strength and offers:

- ``value(W)``;
- ``prox(W, step)``: ``argmin_U ||U - W||^2 / 2 + step * g(U)``;
- ``dual_scale(V)``: the largest ``c`` in (0, 1] such that ``g*(c V)`` is finite
  (1 for penalties whose conjugate is finite everywhere);
- ``conjugate(V)``: ``g*(V)``, for ``V`` made feasible by ``dual_scale``;
- ``dual_norm(V)`` for norm penalties (``alpha_max = dual_norm(A* grad f(0))``);
- ``ray_argmax(V, lin, quad, s_max)`` (optional): the exact maximiser over
  ``s`` in ``[0, s_max]`` of ``s * lin - quad * s^2 / 2 - g*(s V)``, the 1-D search
  of ``base.refined_dual``, which otherwise runs a golden section.

Penalties that are separable over the columns of ``W`` also offer, for block
coordinate descent (``bcd``):

- ``block_prox(u, c, w)``: ``argmin_w sum_t c_t w_t^2 / 2 - u_t w_t + g_j(w)`` for one
  column ``j`` with per-task curvatures ``c`` (a scalar when all tasks share it);
- ``column_margin(V)``: per column, a 1-Lipschitz (in the Euclidean norm of
  ``V[:, j]``) function that is ``>= 0`` on the dual feasible set and such that
  ``column_margin(A* Theta_opt)[j] > 0`` implies ``W_opt[:, j] = 0`` (gap-safe
  screening and working-set priorities);
- ``block_prox_mean(u, c, alpha_mean, w)`` (optional): ``block_prox`` with the
  mean-shrinkage term ``alpha_mean / 2 ||w - wbar||^2`` of the column added
  exactly (L2,1 penalties: ``mean_group_shrink``; L1 and sparse group:
  ``mean_block_prox``'s root iteration compiled); ``bcd`` falls back to
  ``mean_block_prox``, exact for any ``block_prox`` (a 1-D root on the mean);
- ``block_threshold`` (optional): the closed form of ``block_prox`` (or, for
  the dirty model, the kind of its root) as a ``BlockThreshold``, for the fused
  and compiled epochs (``epochs``) and the support Newton steps of ``bcd``,
  which then skip ``block_prox``.

``bcd.REQUIRED`` lists what the block coordinate descent solver needs; it checks
a penalty against it before it starts.

Column ``j`` of ``W`` (feature ``j`` across tasks) is what the L2,1 norm groups.
"""

import math
from typing import NamedTuple

import numpy as np

from .._compiled import compiled
from .roots import bracketed_newton
from .svd import ThresholdedSVD, gram_spectral_norm

# the compiled Newton iteration of mean_group_shrink (None without a C compiler)
_cd_fast = compiled("_optim._cd_fast")

__all__ = [
    "BlockThreshold",
    "L21",
    "L1",
    "L21Ridge",
    "SparseGroupL1L21",
    "TraceNorm",
    "group_shrink",
    "mean_block_prox",
    "mean_group_shrink",
]


def _norm(w):
    return None if w is None else math.sqrt(float(w @ w))


def _col_norms(W):
    return np.sqrt(np.einsum("tj,tj->j", W, W))


def group_soft_threshold(W, threshold):
    """Shrink every column of ``W`` towards 0 by ``threshold`` in L2 norm."""
    norms = _col_norms(W)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norms > threshold, 1.0 - threshold / norms, 0.0)
    return W * scale[None, :]


def soft_threshold(W, threshold):
    return np.sign(W) * np.maximum(np.abs(W) - threshold, 0.0)


def group_shrink(u, c, lam, rho0=None, n_iter=50, rtol=1e-12):
    """``argmin_w sum_t c_t w_t^2 / 2 - u_t w_t + lam ||w||_2`` for one column.

    With a scalar curvature ``c`` this is the group soft-threshold of ``u / c``. With
    per-task curvatures ``c`` (T,) the solution is ``w_t = u_t rho / (c_t rho + lam)``
    where ``rho = ||w|| > 0`` solves ``h(rho) = sum_t u_t^2 / (c_t rho + lam)^2 = 1``.
    ``phi = h^{-1/2} - 1`` is increasing and concave in ``rho`` (linear for equal
    curvatures), so Newton's method from a point left of the root rises
    monotonically to it, and from a point right of it lands left of it in one step.
    It starts at ``rho0`` (the norm of the previous value of the block, close to the
    root once coordinate descent settles) or at the lower bound
    ``(||u|| - lam) / max(c)``, and takes a handful of steps.
    Entries with ``c_t = 0`` must have ``u_t = 0`` (a feature constant in task t).
    """
    nu = math.sqrt(float(u @ u))
    if nu <= lam:
        return np.zeros_like(u)
    if lam == 0:
        return np.divide(u, c, out=np.zeros_like(u), where=np.asarray(c) > 0)
    if np.ndim(c) == 0:
        return u * ((1.0 - lam / nu) / c)
    low = (nu - lam) / float(c.max())
    rho = low if rho0 is None or not rho0 > low else rho0
    for _ in range(n_iter):
        d = c * rho + lam
        q = u / d
        h = float(q @ q)
        s = 1.0 / math.sqrt(h)
        slope = s**3 * float((q * q) @ (c / d))  # d/drho of h^{-1/2}
        step = (s - 1.0) / slope
        new = max(rho - step, low)
        if abs(new - rho) <= rtol * new:
            rho = new
            break
        rho = new
    return u * (rho / (c * rho + lam))


def mean_group_shrink(u, c, alpha_mean, lam, w0=None, n_iter=60, rtol=1e-13):
    """``argmin_w sum_t c_t w_t^2 / 2 - u_t w_t + alpha_mean / 2 ||w - wbar||^2 +
    lam ||w||_2`` for one column (``wbar`` the mean of ``w``): ``group_shrink``
    with the mean-shrinkage term in the block, exactly.

    The curvature ``D = diag(c) + alpha_mean (I - 1 1^T / T)`` is a diagonal minus
    a rank-one matrix. ``w = 0`` iff ``||u|| <= lam``; otherwise ``w = (D + mu
    I)^{-1} u`` (Sherman-Morrison) where ``mu = lam / ||w||`` solves ``psi(mu) = mu
    ||(D + mu I)^{-1} u|| = lam``; ``psi`` increases from 0 to ``||u||``, so
    Newton's method safeguarded by bisection on ``[0, lam max(c + alpha_mean) /
    (||u|| - lam)]`` finds it, from ``lam / ||w0||`` when ``w0`` is given.

    The majoriser ``c + alpha_mean`` (isotropic in the block) moves a column's
    common value by a fraction ``c / (c + alpha_mean)`` of its Newton step only:
    with ``alpha_mean`` far above ``c`` (near the pooled fit) coordinate descent
    then needs thousands of epochs, where this exact step needs tens.
    """
    dtype = u.dtype
    c = np.broadcast_to(np.asarray(c, dtype=np.float64), u.shape)
    u = np.asarray(u, dtype=np.float64)
    nu = math.sqrt(float(u @ u))
    if nu <= lam:
        return np.zeros(u.shape, dtype=dtype)
    kappa = alpha_mean / u.shape[0]
    base = c + alpha_mean

    def solve(mu, rhs):
        inv = 1.0 / (base + mu)
        den = 1.0 - kappa * float(inv.sum())
        x = rhs * inv
        return x + (kappa * float(x.sum()) / den) * inv

    if lam == 0:
        return solve(0.0, u).astype(dtype, copy=False)
    lo, hi = 0.0, lam * float(base.max()) / (nu - lam)
    n0 = _norm(w0) if w0 is not None else 0.0
    mu = lam / n0 if n0 and lo < lam / n0 < hi else 0.5 * hi
    if _cd_fast is not None:  # the same iteration in C (one call per column)
        out, work = np.empty(u.shape[0]), np.empty(2 * u.shape[0])
        _cd_fast.mean_group_shrink_newton(
            u,
            np.ascontiguousarray(base),
            kappa,
            lam,
            mu,
            lo,
            hi,
            n_iter,
            rtol,
            out,
            work,
        )
        return out.astype(dtype, copy=False)

    def fdf(mu):  # psi(mu) - lam and its slope
        e = solve(mu, u)
        ne = math.sqrt(float(e @ e))
        return mu * ne - lam, ne - mu * float(e @ solve(mu, e)) / ne

    mu = bracketed_newton(fdf, mu, lo, hi, increasing=True, max_iter=n_iter, rtol=rtol)
    return solve(mu, u).astype(dtype, copy=False)


def mean_block_prox(block_prox, u, c, alpha_mean, w0=None, xtol=1e-13):
    """``argmin_w sum_t c_t w_t^2 / 2 - u_t w_t + alpha_mean / 2 ||w - wbar||^2 +
    g_j(w)`` for one column, for any penalty through its ``block_prox``.

    The curvature ``diag(c) + alpha_mean (I - 1 1^T / T)`` couples the tasks only
    through the mean ``m`` of ``w``: the optimality conditions read ``w =
    block_prox(u + alpha_mean m, c + alpha_mean)`` with ``m = mean(w)``. The
    residual ``h(m) = mean(block_prox(u + alpha_mean m, c + alpha_mean)) - m``
    decreases (a prox is firmly nonexpansive in its metric) with slope at most
    ``-(1 - sbar)``, ``sbar = mean(alpha_mean / (c + alpha_mean)) < 1``, so one
    step of length ``|h(m_0)| / (1 - sbar)`` from ``m_0`` (the mean of ``w0``)
    brackets the root, which regula falsi (Illinois) finds. ``mean_group_shrink`` is the
    faster special case of the L2,1 penalties. Entries with ``c_t = 0`` must have
    ``u_t = 0`` (a feature constant in task ``t``).

    A penalty on ``n_blocks`` stacked blocks whose sum is the column (the dirty
    model's ``[p; q]``, ``dirty.Dirty``) returns the stacked blocks, and ``m`` is
    the mean of their sum: its prox in that sum is the prox of the infimal
    convolution of the block penalties, firmly nonexpansive as well. ``w0`` is
    the current column (summed over blocks).
    """
    dtype = u.dtype  # float64 inside: float32 overflows at alpha_mean m (fuzz)
    u = np.asarray(u, dtype=np.float64)
    c = np.broadcast_to(np.asarray(c, dtype=np.float64), u.shape)
    shifted = c + alpha_mean
    sbar = float(np.mean(alpha_mean / shifted))
    T = u.shape[0]

    def at(m):
        """``(h(m), block_prox at m)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            z = block_prox(u + alpha_mean * m, shifted)
            return float(np.mean(z.reshape(-1, T).sum(axis=0))) - m, z

    def out(z):
        return z.astype(dtype, copy=False)

    if not sbar < 1.0:  # every c_t = 0, so u = 0 (see ``group_shrink``): w = 0
        return np.zeros(block_prox(u, shifted).shape, dtype=dtype)  # every block
    m0 = float(np.mean(w0)) if w0 is not None and np.all(np.isfinite(w0)) else 0.0
    h0, z0 = at(m0)
    if h0 == 0.0 or not math.isfinite(h0):
        return out(z0)
    step = 1.01 * h0 / (1.0 - sbar)  # past the root (1% against rounding)
    m1 = m0 + step
    h1, z1 = at(m1)
    for _ in range(60):  # rounding only: the slope bound brackets the root
        if h1 == 0.0 or not math.isfinite(h1) or (h1 > 0) != (h0 > 0):
            break
        m0, h0, z0, m1 = m1, h1, z1, m1 + step
        (h1, z1), step = at(m1), 2.0 * step
    if not math.isfinite(h1):
        # the bracket overflowed (curvatures far below alpha_mean, extreme
        # units): the majorised step at m0 (curvature c + alpha_mean) still
        # decreases the objective, as before the exact step
        return out(z0)
    if h1 == 0.0 or (h1 > 0) == (h0 > 0):
        return out(z1)
    # the Illinois variant of regula falsi on the bracket (h is piecewise
    # smooth, linear between changes of the active set: one step then lands on
    # the root); |m - root| <= |h(m)| / (1 - sbar) stops it
    stop = xtol * max(abs(m0), abs(m1), 1e-300)
    a, fa, za, b, fb, zb = m0, h0, z0, m1, h1, z1
    side = 0
    for _ in range(200):
        m = (a * fb - b * fa) / (fb - fa)
        if not min(a, b) < m < max(a, b):
            m = 0.5 * (a + b)
        fm, zm = at(m)
        if not math.isfinite(fm):
            break
        if abs(fm) <= stop * (1.0 - sbar) or abs(b - a) <= stop:
            return out(zm)
        if (fm > 0) == (fb > 0):
            b, fb, zb = m, fm, zm
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa, za = m, fm, zm
            if side == 1:
                fb *= 0.5
            side = 1
    return out(za if abs(fa) <= abs(fb) else zb)


def _compiled_mean_block_prox(
    pen, a1, a2, block_prox, u, c, alpha_mean, w0, n_blocks=1, hint=0.0
):
    """``mean_block_prox`` of a penalty that ``_cd_fast.mean_block_prox_root``
    knows, its root iteration (and block prox) in C; the Python one without the
    extension. ``pen`` 1: sparse group with ``l1 = a1``, ``group = a2``; 2: L1
    with ``a1``; 3: the dirty model (``a1`` shared, ``a2`` specific, ``n_blocks =
    2``, ``hint`` the start of its prox's root). Returns ``(column, root)``, the
    root that prox ended on (``hint`` without one), None in Python."""
    if _cd_fast is None:
        return mean_block_prox(block_prox, u, c, alpha_mean, w0), None
    dtype = np.asarray(u).dtype  # as mean_block_prox
    u = np.ascontiguousarray(u, dtype=np.float64)
    shifted = np.broadcast_to(np.asarray(c, dtype=np.float64), u.shape) + alpha_mean
    sbar = float(np.mean(alpha_mean / shifted))
    if not sbar < 1.0:  # every c_t = 0, so u = 0 (see ``mean_block_prox``)
        return np.zeros(n_blocks * u.shape[0], dtype=dtype), hint
    m0 = float(np.mean(w0)) if w0 is not None and np.all(np.isfinite(w0)) else 0.0
    out = np.empty(n_blocks * u.shape[0])
    root = _cd_fast.mean_block_prox_root(
        pen, a1, a2, u, shifted, float(alpha_mean), sbar, m0, 1e-13, out, hint
    )
    return out.astype(dtype, copy=False), root


class BlockThreshold(NamedTuple):
    """The closed form of a penalty's ``block_prox(u, c)``, one of:

    - ``kind="group"``: ``u (1 - group / ||u||)_+ / (c + ridge)`` for a scalar
      ``c`` (``group_shrink`` otherwise): L2,1, with a ridge;
    - ``kind="sparse_group"``: the same applied to ``soft_threshold(u, l1)``
      (``ridge = 0``): sparse-group lasso;
    - ``kind="l1"``: ``soft_threshold(u, l1) / c``: the lasso;
    - ``kind="dirty"``: the dirty model's prox of the stacked blocks ``[p; q]``
      (``dirty.Dirty.block_prox``, ``group`` on ``p``, ``l1`` on ``q``): one 1-D
      root rather than a closed form, which only the compiled epoch inlines.
    """

    kind: str
    l1: float = 0.0
    group: float = 0.0
    ridge: float = 0.0


class _Norm:
    """``alpha * ||W||`` for a norm ``||.||``: its conjugate is 0 on the ball
    ``dual_norm(V) <= alpha`` (and infinite outside), so the dual point is scaled
    onto that ball."""

    def __init__(self, alpha):
        self.alpha = alpha

    def dual_scale(self, V):
        norm = self.dual_norm(V)
        return 1.0 if norm <= self.alpha else self.alpha / norm

    def conjugate(self, V):
        return 0.0


class L21(_Norm):
    """``alpha * sum_j ||W[:, j]||_2`` (features shared across tasks)."""

    def value(self, W):
        return self.alpha * float(np.sum(_col_norms(W)))

    def prox(self, W, step):
        return group_soft_threshold(W, step * self.alpha)

    def dual_norm(self, V):
        return float(np.max(_col_norms(V), initial=0.0))

    def block_prox(self, u, c, w=None):
        return group_shrink(u, c, self.alpha, _norm(w))

    def block_prox_mean(self, u, c, alpha_mean, w=None):
        return mean_group_shrink(u, c, alpha_mean, self.alpha, w)

    def column_margin(self, V):
        return self.alpha - _col_norms(V)

    @property
    def block_threshold(self):
        return BlockThreshold("group", group=float(self.alpha))


class L1(_Norm):
    """``alpha * sum_tj |W[t, j]|``."""

    def value(self, W):
        return self.alpha * float(np.sum(np.abs(W)))

    def prox(self, W, step):
        return soft_threshold(W, step * self.alpha)

    def dual_norm(self, V):
        return float(np.max(np.abs(V), initial=0.0))

    def block_prox(self, u, c, w=None):
        shrunk = soft_threshold(u, self.alpha)
        if np.ndim(c) == 0:
            return shrunk / c
        return np.divide(shrunk, c, out=np.zeros_like(shrunk), where=c > 0)

    def block_prox_mean(self, u, c, alpha_mean, w=None):
        return _compiled_mean_block_prox(
            2, float(self.alpha), 0.0, self.block_prox, u, c, alpha_mean, w
        )[0]

    def column_margin(self, V):
        return self.alpha - np.max(np.abs(V), axis=0, initial=0.0)

    @property
    def block_threshold(self):
        return BlockThreshold("l1", l1=float(self.alpha))


class L21Ridge:
    """``alpha * (l1_ratio * L2,1(W) + (1 - l1_ratio) / 2 * ||W||_F^2)``.

    scikit-learn's ``MultiTaskElasticNet`` penalty.
    """

    def __init__(self, alpha, l1_ratio):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self._l21 = L21(alpha * l1_ratio)
        self._ridge = alpha * (1.0 - l1_ratio)

    def value(self, W):
        return self._l21.value(W) + 0.5 * self._ridge * float(np.sum(W**2))

    def prox(self, W, step):
        return self._l21.prox(W, step) / (1.0 + step * self._ridge)

    def dual_norm(self, V):
        return self._l21.dual_norm(V) / max(self.l1_ratio, 1e-300)

    def dual_scale(self, V):
        return 1.0 if self._ridge > 0 else self._l21.dual_scale(V)

    def conjugate(self, V):
        if self._ridge == 0:
            return 0.0
        excess = np.maximum(_col_norms(V) - self._l21.alpha, 0.0)
        return float(np.sum(excess**2) / (2.0 * self._ridge))

    def ray_argmax(self, V, lin, quad, s_max):
        """``argmax_{0 <= s <= s_max} s lin - quad s^2 / 2 - g*(s V)``, exactly.

        With column norms ``n_j``, ``g*(s V) = sum_j (s n_j - a)_+^2 / (2 r)``
        (``a = alpha l1_ratio``, ``r = alpha (1 - l1_ratio)``): the objective is
        concave and piecewise quadratic with breakpoints ``a / n_j``, and its
        derivative ``lin + A_k - s (quad + B_k)`` is linear between them, where
        ``A_k``, ``B_k`` sum ``a n_j / r`` and ``n_j^2 / r`` over the ``k`` columns
        already past their breakpoint. The root lies in the one interval where
        ``(lin + A_k) / (quad + B_k)`` falls between its ends.
        """
        if self._ridge == 0:
            raise ValueError("ray_argmax needs l1_ratio < 1 (a finite conjugate)")
        n = _col_norms(V)
        n = n[n > 0]
        a, r = self._l21.alpha, self._ridge
        n = np.sort(n)[::-1]  # the column with the largest norm breaks first
        breaks = a / n  # increasing
        A = np.concatenate(([0.0], np.cumsum(a * n / r)))
        B = np.concatenate(([0.0], np.cumsum(n * n / r)))
        lo = np.concatenate(([0.0], breaks))
        hi = np.concatenate((breaks, [np.inf]))
        with np.errstate(divide="ignore", invalid="ignore"):
            root = (lin + A) / (quad + B)
        inside = np.flatnonzero((root >= lo) & (root <= hi))
        if inside.size:
            s = root[inside[0]]
        else:  # a decreasing derivative already negative at 0
            s = 0.0
        return float(min(max(s, 0.0), s_max))

    def block_prox(self, u, c, w=None):
        return group_shrink(u, c + self._ridge, self._l21.alpha, _norm(w))

    def block_prox_mean(self, u, c, alpha_mean, w=None):
        return mean_group_shrink(u, c + self._ridge, alpha_mean, self._l21.alpha, w)

    def column_margin(self, V):
        return self._l21.alpha - _col_norms(V)

    @property
    def block_threshold(self):
        return BlockThreshold(
            "group", group=float(self._l21.alpha), ridge=float(self._ridge)
        )


class SparseGroupL1L21:
    """``alpha * (l1_ratio * ||W||_1 + (1 - l1_ratio) * L2,1(W))`` (sparse-group lasso).

    Its prox is the L2,1 prox of the L1 prox (Friedman et al. 2010). The dual ball:
    ``V`` is feasible iff every column satisfies
    ``||soft_threshold(V[:, j], alpha l1_ratio)||_2 <= alpha (1 - l1_ratio)``.
    """

    def __init__(self, alpha, l1_ratio):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self._l1 = alpha * l1_ratio
        self._l21 = alpha * (1.0 - l1_ratio)

    def value(self, W):
        return self._l1 * float(np.sum(np.abs(W))) + self._l21 * float(
            np.sum(_col_norms(W))
        )

    def prox(self, W, step):
        return group_soft_threshold(
            soft_threshold(W, step * self._l1), step * self._l21
        )

    def _excess(self, V, c):
        return _col_norms(soft_threshold(c * V, self._l1)) - self._l21

    def dual_norm(self, V):
        """Smallest ``s`` with ``V / s`` feasible for ``alpha = 1``."""
        unit = SparseGroupL1L21(1.0, self.l1_ratio)
        scale = unit.dual_scale(V, _alpha_one=True)
        return 0.0 if scale == np.inf else 1.0 / scale

    def dual_scale(self, V, _alpha_one=False):
        """Largest ``c <= 1`` (or unbounded with ``_alpha_one``) with ``c V`` feasible.

        The column constraint ``f(c) = ||soft_threshold(c v, l1)||^2 <= l21^2`` is
        increasing in ``c`` and quadratic between the knots ``l1 / |v_i|``, so each
        column's root is exact (``_column_roots``, vectorised over columns); a
        column it misses by rounding falls back to bisection.
        """
        if np.all(self._excess(V, 1.0) <= 0) and not _alpha_one:
            return 1.0
        absmax = np.max(np.abs(V), axis=0)
        active = absmax > 0
        if not np.any(active):
            return np.inf if _alpha_one else 1.0
        Va = V[:, active]
        roots = self._column_roots(Va)
        if roots is not None:
            return float(np.min(roots))
        return self._bisection_scale(Va)

    def _column_roots(self, Va):
        """Each column's largest feasible ``c``, exactly: with the magnitudes
        sorted down (``a_1 >= a_2 >= ...``), ``k`` entries pass the threshold on
        ``[l1 / a_k, l1 / a_{k+1})`` where ``f(c) = c^2 S2_k - 2 c l1 S1_k + k
        l1^2`` (``S1_k``, ``S2_k`` the cumulative sums of ``a`` and ``a^2``); the
        root's interval is the last knot with ``f <= l21^2``, and the root
        ``(l1 S1_k + sqrt(S2_k l21^2 - l1^2 (k S2_k - S1_k^2))) / S2_k`` adds two
        non-negative terms. Where rounding leaves ``c V`` infeasible, ``c``
        steps down by 1e-15, 2e-15, ... relative; None if eight steps do not do
        (then bisection decides)."""
        l1, l21 = float(self._l1), float(self._l21)
        a = -np.sort(-np.abs(Va), axis=0)  # (T, q), descending
        S1, S2 = np.cumsum(a, axis=0), np.cumsum(a * a, axis=0)
        k = np.arange(1, a.shape[0] + 1, dtype=float)[:, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            knot = np.where(a > 0, l1 / a, np.inf)  # ascending down the rows
            # f at knot k: the k - 1 larger entries pass the threshold
            P1 = np.vstack([np.zeros((1, a.shape[1])), S1[:-1]])
            P2 = np.vstack([np.zeros((1, a.shape[1])), S2[:-1]])
            f_knot = knot**2 * P2 - 2 * knot * l1 * P1 + (k - 1) * l1**2
            f_knot = np.where(np.isfinite(knot), f_knot, np.inf)
            K = np.sum(f_knot <= l21**2, axis=0)  # f increases: a prefix
            idx = np.maximum(K, 1) - 1
            s1 = np.take_along_axis(S1, idx[None], axis=0)[0]
            s2 = np.take_along_axis(S2, idx[None], axis=0)[0]
            # f(c) = s2 (c - l1 s1 / s2)^2 + l1^2 (K s2 - s1^2) / s2, and
            # K s2 - s1^2 = K B2 - B1^2 from the gaps b = a_1 - a (shift
            # invariant, and exactly 0 for equal magnitudes: no cancellation)
            b = a[:1] - a
            B1 = np.take_along_axis(np.cumsum(b, axis=0), idx[None], axis=0)[0]
            B2 = np.take_along_axis(np.cumsum(b * b, axis=0), idx[None], axis=0)[0]
            spread = np.maximum(K * B2 - B1 * B1, 0.0)
            disc = np.maximum(s2 * l21**2 - l1**2 * spread, 0.0)
            root = (l1 * s1 + np.sqrt(disc)) / s2
        if not np.all(np.isfinite(root)):
            return None
        # the formula and the constraint's own evaluation round (a few ulps of
        # l21): step below the root until the evaluated constraint holds
        for i in range(8):
            bad = self._excess(Va, root) > 0
            if not np.any(bad):
                return root
            root = np.where(bad, root * (1.0 - 2.0**i * 1e-15), root)
        return None

    def _bisection_scale(self, Va):
        """``dual_scale`` by bisection, vectorised over columns (60 halvings)."""
        # c in [lo, hi]: c * absmax <= l1 threshold keeps the soft-threshold zero
        lo = np.full(Va.shape[1], 0.0)
        hi = np.full(Va.shape[1], 1.0)
        while np.any(self._excess(Va, hi) <= 0):  # bracket (only with _alpha_one)
            hi = np.where(self._excess(Va, hi) <= 0, 2 * hi, hi)
            if np.max(hi) > 1e300:
                break
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            ok = self._excess(Va, mid) <= 0
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        return float(np.min(lo))

    def conjugate(self, V):
        return 0.0

    def block_prox(self, u, c, w=None):
        return group_shrink(soft_threshold(u, self._l1), c, self._l21, _norm(w))

    def block_prox_mean(self, u, c, alpha_mean, w=None):
        return _compiled_mean_block_prox(
            1, float(self._l1), float(self._l21), self.block_prox, u, c, alpha_mean, w
        )[0]

    def column_margin(self, V):
        return self._l21 - _col_norms(soft_threshold(V, self._l1))

    @property
    def block_threshold(self):
        return BlockThreshold(
            "sparse_group", l1=float(self._l1), group=float(self._l21)
        )


class TraceNorm(_Norm):
    """``alpha * ||W||_*`` (sum of singular values: shared low-rank weights).

    The prox soft-thresholds the singular values; only those above the threshold
    are computed (``svd.ThresholdedSVD``): exactly (Gram eigendecomposition or
    LAPACK SVD) when ``min(n_tasks, n_features) <= full_svd_max``, otherwise by
    subspace iteration restarted from the right singular vectors of the previous
    prox (the iterates of a solver change little between calls), with an exact
    fallback. ``value`` reuses the singular values of the last prox output. The
    warm-start cache lives in this object, which the estimators create per fit.
    """

    full_svd_max = 64

    def __init__(self, alpha):
        super().__init__(alpha)
        self._last = None  # (prox output, its singular values)
        self._svd = None  # ThresholdedSVD of this solver run

    def value(self, W):
        if self._last is not None and self._last[0] is W:
            return self.alpha * float(np.sum(self._last[1]))
        return self.alpha * float(np.sum(np.linalg.svd(W, compute_uv=False)))

    def prox(self, W, step):
        threshold = step * self.alpha
        if self._svd is None:
            self._svd = ThresholdedSVD(full_max=self.full_svd_max)
        U, s, Vt = self._svd(W, threshold)
        s = s - threshold
        out = (U * s) @ Vt
        self._last = (out, s)
        return out

    def dual_norm(self, V):
        return gram_spectral_norm(V)
