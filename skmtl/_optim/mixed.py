"""Block-structure kernels of the Gaussian hierarchical (linear mixed) model.

Rows ``i`` of task ``t`` with ``z_i = [1, x_i]`` (``p = d + 1`` coefficients) follow

    y_i = z_i' (beta + u_t) + e_i,   e_i ~ N(0, sigma^2 / s_i),   u_t ~ N(0, sigma^2 D),

with ``D = S^2``, ``S = diag(s)`` (``s >= 0``; ``s_j = 0`` switches coefficient ``j``'s
deviations off) and ``s_i`` the sample weights (precision multipliers, so a weight of 2
is exactly a repeated row). Everything below works on the per-task sufficient
statistics

    G_t = Z_t' W_t Z_t,  r_t = Z_t' W_t y_t,  yy_t = y_t' W_t y_t,

and the Woodbury identity ``V_t^-1 = W_t - W_t Z_t S M_t^-1 S Z_t' W_t`` with
``M_t = I + S G_t S``: ``n_tasks`` factorisations of size ``p`` (batched in numpy),
never a system of size ``n_tasks * p``. ``HierarchicalRidge`` is the same model with
``D`` fixed by its penalties (``sigma^2 = 1`` units) and a Gaussian prior on the shared
slopes; ``BayesianHierarchicalRegression`` estimates ``S`` by (RE)ML.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_solve, qr

from .._ops import task_scatter, task_sum

__all__ = [
    "TaskMoments",
    "design_with_intercept",
    "task_moments",
    "independent_columns",
    "marginal_blocks",
    "fixed_effects",
    "posterior_coef_cov",
    "task_deviations",
    "loo_hat_diagonal",
    "block_row_design",
    "profiled_deviance",
]

# lme4's rank tolerance for the fixed-effect design (``rankX.chk``, ``tol = 1e-7``)
RANK_TOL = 1e-7


@dataclass
class TaskMoments:
    """Per-task weighted moments of ``z = [1, x]`` and ``y``."""

    G: np.ndarray  # (T, p, p)
    r: np.ndarray  # (T, p)
    yy: np.ndarray  # (T,)
    n_eff: np.ndarray  # (T,) sums of the sample weights

    @property
    def n_tasks(self):
        return self.r.shape[0]

    @property
    def p(self):
        return self.r.shape[1]

    def scaled(self, c):
        """Moments of the design with column ``j`` multiplied by ``c[j]``."""
        return TaskMoments(
            self.G * c[:, None] * c[None, :], self.r * c, self.yy, self.n_eff
        )


def design_with_intercept(X):
    """Dense float64 ``Z = [1, X]`` (sparse input is densified: the model needs the
    ``n_tasks * p^2`` moments anyway, and one dense copy keeps memory ``O(n p)``)."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    Z = np.empty((X.shape[0], X.shape[1] + 1), dtype=np.float64)
    Z[:, 0] = 1.0
    Z[:, 1:] = X
    return Z


def task_moments(Z, y, sample_weight, task, n_tasks):
    """Weighted per-task moments ``G_t, r_t, yy_t, n_eff_t`` of stacked rows."""
    sw = np.asarray(sample_weight, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Zw = Z * sw[:, None]
    G = task_scatter(Z, Zw, task, n_tasks)
    G = 0.5 * (G + G.transpose(0, 2, 1))
    r = task_sum(Zw * y[:, None], task, n_tasks)
    yy = task_sum(sw * y * y, task, n_tasks)
    n_eff = task_sum(sw, task, n_tasks)
    return TaskMoments(G, r, yy, n_eff)


def independent_columns(Z, sample_weight, tol=RANK_TOL):
    """Columns of the weighted design ``W^(1/2) Z`` kept as fixed effects, in order.

    Like the LINPACK ``dqrdc2`` QR that lme4 uses (tolerance 1e-7): column ``j`` is
    dropped when the norm of its residual after the columns before it (the
    Householder ``|R_jj|``) is at most ``tol`` times its own norm. The QR of the
    design itself (not of its Gram matrix, which squares the condition number)
    makes the decision the same for a weight of 2 and a repeated row.
    """
    Zw = Z * np.sqrt(np.asarray(sample_weight, dtype=np.float64))[:, None]
    norms = np.linalg.norm(Zw, axis=0)
    if Zw.shape[0] == 0:
        return np.zeros(0, dtype=np.intp)
    R = qr(Zw, mode="r", check_finite=False)[0]
    diag = np.zeros(Zw.shape[1])
    k = min(R.shape)
    diag[:k] = np.abs(np.diag(R)[:k])
    return np.flatnonzero((norms > 0) & (diag > tol * norms)).astype(np.intp)


@dataclass
class Blocks:
    """Per-task marginal quantities after integrating the deviations ``u_t`` out."""

    logdet_M: np.ndarray  # (T,) log|I + S G_t S|
    s: np.ndarray  # (p,) the scales S = diag(s)
    M_inv: np.ndarray  # (T, p, p) (I + S G_t S)^-1
    K: np.ndarray  # (T, p, p) S M_t^-1 S G_t: the weight of a task's own data
    H: np.ndarray  # (T, p, p) Z_t' V_t^-1 Z_t
    b: np.ndarray  # (T, p) Z_t' V_t^-1 y_t
    c: np.ndarray  # (T,) y_t' V_t^-1 y_t

    @property
    def Q(self):
        """``S M_t^-1 S = Cov(u_t | beta, y) / sigma^2``, shape ``(T, p, p)``."""
        return self.s[None, :, None] * self.M_inv * self.s[None, None, :]

    def Q_dot(self, v):
        """``Q_t v_t`` for ``v`` of shape ``(T, p)``."""
        return self.s * np.einsum("tij,tj->ti", self.M_inv, self.s * v)


def marginal_blocks(mom, s):
    """Woodbury blocks of ``V_t = W_t^-1 + Z_t S^2 Z_t'`` for every task at once.

    Only the coefficients with ``s_j > 0`` enter the factorisations (``M_t`` is the
    identity elsewhere), so pooled coefficients cost nothing: a random-intercept
    model factorises ``1 x 1`` blocks.
    """
    G, r = mom.G, mom.r
    T, p = r.shape
    s = np.asarray(s, dtype=np.float64)
    act = np.flatnonzero(s > 0)
    k = act.size
    sa = s[act]
    SG = sa[None, :, None] * G[:, act, :]  # (S G_t)[act, :]
    M = SG[:, :, act] * sa[None, None, :]
    M[:, np.arange(k), np.arange(k)] += 1.0
    L = np.linalg.cholesky(M)
    logdet_M = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    Ma_inv = np.linalg.inv(M)
    MSG = Ma_inv @ SG  # (M^-1 S G)[act, :]
    K = np.zeros((T, p, p))
    K[:, act, :] = sa[None, :, None] * MSG
    H = G - SG.transpose(0, 2, 1) @ MSG  # G - G S M^-1 S G
    Sr = sa * r[:, act]
    MSr = np.einsum("tij,tj->ti", Ma_inv, Sr)
    b = r - np.einsum("tji,tj->ti", SG, MSr)  # r - G S M^-1 S r
    c = mom.yy - np.einsum("ti,ti->t", Sr, MSr)
    M_inv = np.broadcast_to(np.eye(p), (T, p, p)).copy()
    M_inv[np.ix_(np.arange(T), act, act)] = Ma_inv
    return Blocks(logdet_M, s, M_inv, K, H, b, c)


_NOT_PD = (
    "The mixed model's fixed-effects system is not positive definite in floating "
    "point: features with large values (or on very different scales) leave the "
    "task deviations almost unpenalised. Standardise the features (for example "
    "with sklearn.preprocessing.StandardScaler) or use stronger penalties."
)


def fixed_effects(blocks, F, prior=None):
    """GLS (or ridge, with a prior precision) estimate of the fixed effects.

    Parameters
    ----------
    blocks : Blocks
    F : ndarray of int
        Columns that carry a fixed effect (others are 0).
    prior : ndarray of shape (len(F),) or None
        Diagonal prior precision on ``beta[F]`` (ridge penalty), 0 = flat.

    Returns
    -------
    beta : ndarray of shape (p,)
    A : ndarray of shape (len(F), len(F))
        ``sum_t H_t[F, F] + diag(prior)``.
    A_chol : ndarray
        Its lower Cholesky factor.
    quad : float
        ``sum_t y_t' V_t^-1 y_t - beta' sum_t Z_t' V_t^-1 y_t`` (the profiled
        residual sum of squares when there is no prior).
    """
    Hsum = blocks.H.sum(axis=0)
    HF = Hsum[np.ix_(F, F)]
    HF = 0.5 * (HF + HF.T)
    A = HF if prior is None else HF + np.diag(prior)
    bF = blocks.b[:, F].sum(axis=0)
    try:
        A_chol = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        # H_t = G_t - G_t S M_t^-1 S G_t loses its definiteness to cancellation
        # when S G_t S >> I (lme4 stops here too: "downdated VtV is not positive
        # definite"); the REML searches catch this as an infinite deviance
        raise np.linalg.LinAlgError(_NOT_PD) from None
    beta_F = _cho_solve(A_chol, bF)
    beta = np.zeros(blocks.b.shape[1])
    beta[F] = beta_F
    quad = float(blocks.c.sum() - beta_F @ bF)
    return beta, A, A_chol, quad


def _cho_solve(L, b):
    return cho_solve((L, True), b)


def task_deviations(mom, blocks, beta):
    """Posterior means (BLUPs) ``u_t = S M_t^-1 S (r_t - G_t beta)``."""
    resid = mom.r - mom.G @ beta
    return blocks.Q_dot(resid)


def posterior_coef_cov(blocks, F, A_chol):
    """``Cov(beta + u_t | y) / sigma^2 = (I - K_t) A^-1 (I - K_t)' + Q_t`` (restricted
    to the columns ``F`` for ``A^-1``), shape ``(T, p, p)``."""
    B = -blocks.K[:, :, F]  # (I - K_t)[:, F]
    B[:, F, np.arange(len(F))] += 1.0
    A_inv = _cho_solve(A_chol, np.eye(len(F)))
    C = B @ A_inv @ B.transpose(0, 2, 1) + blocks.Q
    return 0.5 * (C + C.transpose(0, 2, 1))


def block_row_design(Z, task, n_tasks):
    """Sparse ``(n, n_tasks * p)`` matrix holding ``z_i`` in the block of row ``i``'s
    task: ``D @ C.reshape(T * p, k)`` is ``z_i' C_{t(i)}`` for every row, one
    sparse product (``n p k`` flops) instead of a gather of ``C[task]``."""
    n, p = Z.shape
    return sp.csr_matrix(
        (
            np.ascontiguousarray(Z).ravel(),
            (np.asarray(task)[:, None] * p + np.arange(p)).ravel(),
            np.arange(0, n * p + 1, p),
        ),
        shape=(n, n_tasks * p),
    )


def loo_hat_diagonal(design, Z, sample_weight, C):
    """``h_ii = s_i z_i' C_{t(i)} z_i``: diagonal of the joint ridge's hat matrix
    (``design`` from :func:`block_row_design`)."""
    T, p, _ = C.shape
    ZC = design @ C.reshape(T * p, p)
    return sample_weight * np.einsum("ij,ij->i", ZC, Z)


def profiled_deviance(theta, mom, F, method, free, n_eff, *, gradient=True):
    """Profiled ``-2 log`` (restricted) likelihood of the relative scales ``theta``.

    ``ML``:   ``n log RSS + sum_t log|M_t|``
    ``REML``: ``(n - rank) log RSS + sum_t log|M_t| + log|A|``
    (``n`` = sum of the sample weights, constants dropped; ``sigma^2`` profiled out,
    ``beta`` profiled (ML) or integrated (REML)), and its gradient in ``theta[free]``:
    with ``D_jj = theta_j^2``, ``dML/dD_jj = -n sum_t h_tj^2 / RSS + sum_t H_t,jj``,
    ``h_t = Z_t' V_t^-1 (y_t - Z_t beta)``; REML uses ``n - rank`` and subtracts
    ``sum_t (H_t[:, F] A^-1 H_t[F, :])_jj``.
    """
    s = np.zeros(mom.p)
    s[free] = theta
    try:
        # I + S G_t S is positive definite in exact arithmetic; at very large
        # scales it can lose that numerically: an infinite deviance makes the line
        # search step back
        blocks = marginal_blocks(mom, s)
        beta, A, A_chol, rss = fixed_effects(blocks, F)
    except np.linalg.LinAlgError:
        return (np.inf, np.zeros_like(theta)) if gradient else np.inf
    nu = n_eff - len(F) if method == "REML" else n_eff
    rss_floor = 1e-300 + 1e-14 * float(mom.yy.sum())
    rss = max(rss, rss_floor)
    f = nu * np.log(rss) + blocks.logdet_M.sum()
    if method == "REML":
        f += 2.0 * np.log(np.diag(A_chol)).sum()
    if not gradient:
        return f
    h = blocks.b - blocks.H[:, :, F] @ beta[F]
    g = -nu * (h**2).sum(axis=0) / rss + np.diagonal(blocks.H, axis1=1, axis2=2).sum(0)
    if method == "REML":
        HF = blocks.H[:, :, F]  # (T, p, f)
        HA = _cho_solve(A_chol, HF.reshape(-1, len(F)).T).T.reshape(HF.shape)
        g -= np.einsum("tjf,tjf->j", HA, HF)
    return f, 2.0 * theta * g[free]
