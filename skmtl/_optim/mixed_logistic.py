"""Newton / PIRLS for the hierarchical logistic model, solved through its blocks.

The model has a shared coefficient vector ``beta`` and one deviation vector ``u_t``
per task; row ``i`` of task ``t`` has the linear predictor

    eta_i = z_i[B] . beta[B] + (z_i[R] * scale[R]) . u_t[R]

where ``z_i = [1, x_i]`` (``p = d + 1`` columns), ``B`` are the active shared
columns and ``R`` the active deviation columns. The solver minimises

    sum_i s_i logloss(y_i, eta_i) + 1/2 sum_j pen_b[j] beta_j^2
                                  + 1/2 sum_t sum_j pen_u[j] u_tj^2.

With ``scale = 1`` and ``pen_u`` the deviation strengths this is the penalised
hierarchical logistic regression; with ``scale = theta`` (standard deviations) and
``pen_u = 1`` it is the penalised IRLS (PIRLS) of a logistic GLMM with spherical
random effects ``u_t = a_t``. The Hessian is a bordered block-diagonal matrix: each
Newton step costs ``n_tasks`` batched solves of size ``|R|`` and one of size ``|B|``
(Schur complement), never an ``(n_tasks p)^2`` system.

Rows are grouped by task into a few buckets of similar task size and zero-padded
within a bucket (at most twice the rows), so every per-task quantity is a batched
numpy product over ``(tasks, rows, p)`` stacks, with no Python loop over samples.
"""

import numpy as np
from scipy.special import expit

__all__ = ["TaskBlocks", "BlockHessian", "newton_blocks", "laplace_criterion"]


class TaskBlocks:
    """Rows of a stacked problem grouped by task into zero-padded buckets.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, p)
        Dense design, the first column is the constant 1.
    y : ndarray of shape (n_samples,)
        0/1 targets.
    s : ndarray of shape (n_samples,)
        Non-negative sample weights.
    task : ndarray of int of shape (n_samples,)
    n_tasks : int
    """

    def __init__(self, Z, y, s, task, n_tasks):
        Z = np.asarray(Z, dtype=np.float64)
        n, self.p = Z.shape
        self.n_tasks = n_tasks
        counts = np.bincount(task, minlength=n_tasks)
        order = np.argsort(task, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        key = np.where(counts > 0, np.ceil(np.log2(np.maximum(counts, 1))), -1)
        self.buckets = []
        for k in np.unique(key[key >= 0]):
            tasks = np.flatnonzero(key == k)
            m = int(counts[tasks].max())
            pos = starts[tasks, None] + np.arange(m)
            valid = np.arange(m) < counts[tasks, None]
            rows = order[np.minimum(pos, n - 1)]
            Zb = Z[rows] * valid[..., None]
            yb = np.where(valid, y[rows], 0.0)
            sb = np.where(valid, s[rows], 0.0)
            self.buckets.append((tasks, Zb, yb, sb))

    def eta(self, Theta):
        """Linear predictor per bucket for per-task coefficients ``Theta`` (T, p)."""
        return [
            np.matmul(Zb, Theta[tasks][:, :, None])[..., 0]
            for tasks, Zb, _, _ in self.buckets
        ]

    def loss(self, etas):
        """Weighted logistic loss ``sum_i s_i (log(1 + e^eta) - y eta)``."""
        return sum(
            float(np.sum(sb * (np.logaddexp(0.0, e) - yb * e)))
            for (_, _, yb, sb), e in zip(self.buckets, etas)
        )

    def grad_gram(self, etas, gram=True):
        """Per-task loss gradient ``Z_t' s (mu - y)`` (T, p) and Gram
        ``Z_t' W Z_t`` (T, p, p) with ``W = s mu (1 - mu)``."""
        T, p = self.n_tasks, self.p
        g = np.zeros((T, p))
        G = np.zeros((T, p, p)) if gram else None
        for (tasks, Zb, yb, sb), e in zip(self.buckets, etas):
            mu = expit(e)
            g[tasks] = np.matmul((sb * (mu - yb))[:, None, :], Zb)[:, 0, :]
            if gram:
                w = sb * mu * (1.0 - mu)
                G[tasks] = np.matmul(Zb.transpose(0, 2, 1), Zb * w[..., None])
        return g, G


def _inv_stack(A):
    """Batched inverse of symmetric matrices, pseudo-inverse if one is singular."""
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(A, hermitian=True)


def _sub(G, rows, cols, p):
    """``G[:, rows][:, :, cols]`` without copying when an index is every column."""
    if len(rows) != p:
        G = G[:, rows]
    if len(cols) != p:
        G = G[:, :, cols]
    return G


class BlockHessian:
    """Hessian of the block problem and its Schur-complement solve.

    ``H = [[Hbb, Hbu_1 .. Hbu_T], [Hub_t, diag(Huu_t)]]`` with ``Hbb`` of size
    ``|B|`` and ``Huu_t`` of size ``|R|``. ``Huu_t`` is inverted once (one batched
    LAPACK call) and reused by every solve.
    """

    def __init__(self, G, idx_b, pen_b, idx_u, scale_u, pen_u):
        T, p, _ = G.shape
        self.nb, self.nu = nb, nu = len(idx_b), len(idx_u)
        sc = scale_u[idx_u]
        self.Hbb = _sub(G, idx_b, idx_b, p).sum(axis=0) + np.diag(pen_b[idx_b])
        self.Hbu = _sub(G, idx_b, idx_u, p) * sc
        Huu = _sub(G, idx_u, idx_u, p) * sc[:, None] * sc
        Huu[:, np.arange(nu), np.arange(nu)] += pen_u[idx_u]
        self.schur = self.Hbb
        self.Huu_inv = np.zeros((T, 0, 0))
        if nu:
            self.Huu_inv = _inv_stack(Huu)
            # Huu_t^{-1} Hub_t, reused by every solve
            self.HinvHub = np.matmul(self.Huu_inv, self.Hbu.transpose(0, 2, 1))
            if nb:
                self.schur = self.Hbb - np.matmul(self.Hbu, self.HinvHub).sum(axis=0)

    def solve(self, rb, ru):
        """Solve ``H [xb; xu] = [rb; ru]``; ``rb`` (|B|,), ``ru`` (T, |R|)."""
        if self.nu:
            Hinv_ru = np.matmul(self.Huu_inv, ru[:, :, None])[..., 0]
        if self.nb:
            rhs = rb
            if self.nu:
                rhs = rb - np.einsum("tbu,tu->b", self.Hbu, Hinv_ru)
            try:
                xb = np.linalg.solve(self.schur, rhs)
            except np.linalg.LinAlgError:
                xb = np.linalg.lstsq(self.schur, rhs, rcond=None)[0]
        else:
            xb = np.zeros(0)
        xu = np.zeros_like(ru)
        if self.nu:
            xu = Hinv_ru - self.HinvHub @ xb
        return xb, xu


class NewtonResult:
    def __init__(self, beta, U, n_iter, converged, decrement, objective, G, g):
        self.beta = beta
        self.U = U
        self.n_iter = n_iter
        self.converged = converged
        self.decrement = decrement
        self.objective = objective
        self.G = G  # Gram at the returned point
        self.g = g  # per-task loss gradient at the returned point


def _theta(beta, U, scale_u):
    return beta[None, :] + U * scale_u[None, :]


def newton_blocks(
    blocks,
    idx_b,
    pen_b,
    idx_u,
    scale_u,
    pen_u,
    beta0=None,
    U0=None,
    *,
    tol=1e-8,
    max_iter=100,
):
    """Minimise the block objective by damped Newton (backtracking Armijo search).

    Parameters
    ----------
    blocks : TaskBlocks
    idx_b, idx_u : ndarray of int
        Active shared and deviation columns (the others stay 0).
    pen_b, scale_u, pen_u : ndarray of shape (p,)
    beta0 : ndarray of shape (p,), U0 : ndarray of shape (n_tasks, p), optional
        Starting point (zeros by default).
    tol : float
        Stop when half the squared Newton decrement ``lambda^2 / 2 = -g'd / 2``
        (the quadratic model's estimate of ``objective - optimum``) is at most
        ``tol * sum_i s_i``.
    max_iter : int

    Returns
    -------
    NewtonResult
        ``G``/``g`` are the Gram and gradient at the returned point.
    """
    T, p = blocks.n_tasks, blocks.p
    beta = np.zeros(p) if beta0 is None else np.array(beta0, dtype=float)
    U = np.zeros((T, p)) if U0 is None else np.array(U0, dtype=float)
    mask_b = np.zeros(p, bool)
    mask_b[idx_b] = True
    mask_u = np.zeros(p, bool)
    mask_u[idx_u] = True
    beta[~mask_b] = 0.0
    U[:, ~mask_u] = 0.0
    pb = np.where(mask_b, pen_b, 0.0)
    pu = np.where(mask_u, pen_u, 0.0)
    sw_sum = sum(float(b[3].sum()) for b in blocks.buckets)
    threshold = tol * max(sw_sum, 1e-300)

    def objective(beta, U, etas):
        return (
            blocks.loss(etas)
            + 0.5 * float(pb @ beta**2)
            + 0.5 * float(np.sum(pu * U**2))
        )

    etas = blocks.eta(_theta(beta, U, scale_u))
    f = objective(beta, U, etas)
    converged, dec = False, np.inf
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        g, G = blocks.grad_gram(etas)
        gb = g.sum(axis=0)[idx_b] + pb[idx_b] * beta[idx_b]
        gu = g[:, idx_u] * scale_u[idx_u] + pu[idx_u] * U[:, idx_u]
        H = BlockHessian(G, idx_b, pen_b, idx_u, scale_u, pen_u)
        db, du = H.solve(gb, gu)
        db, du = -db, -du
        slope = float(gb @ db + np.sum(gu * du))
        dec = -0.5 * slope
        if not np.isfinite(dec) or dec < 0:  # numerically singular Hessian
            db, du = -gb, -gu
            slope = -float(gb @ gb + np.sum(gu * gu))
            dec = -0.5 * slope
        step = 1.0
        for _ in range(60):
            beta_new = beta.copy()
            beta_new[idx_b] += step * db
            U_new = U.copy()
            U_new[:, idx_u] += step * du
            etas_new = blocks.eta(_theta(beta_new, U_new, scale_u))
            f_new = objective(beta_new, U_new, etas_new)
            if f_new <= f + 1e-4 * step * slope or abs(f_new - f) <= 1e-15 * abs(f):
                break
            step *= 0.5
        else:  # no decrease possible: at the optimum to machine precision
            converged = dec <= max(threshold, 1e-12 * max(abs(f), 1.0))
            break
        beta, U, etas, f = beta_new, U_new, etas_new, f_new
        if dec <= threshold:
            converged = True
            break
    g, G = blocks.grad_gram(etas)
    return NewtonResult(beta, U, n_iter, converged, dec, f, G, g)


def laplace_criterion(blocks, res, idx_b, pen_b, idx_u, theta, gradient=True):
    """Laplace-approximate log marginal likelihood of the logistic GLMM and its
    gradient in ``theta`` (beta at its joint penalised mode with the random effects).

    At the PIRLS mode ``(beta, a)`` for ``u_t = S a_t``, ``S = diag(theta)``:

        F(theta) = -Psi(beta, a) - 1/2 sum_t log det(I + S G_t S)

    where ``Psi`` is the penalised negative log-likelihood minimised by PIRLS
    (including ``1/2 sum_t ||a_t||^2``) and ``G_t = Z_t' W_t Z_t`` at the mode.
    The gradient is exact: it includes the dependence of the weights ``W`` on the
    mode (implicit function theorem, solved by one adjoint Schur solve).

    Returns
    -------
    F : float
    grad : ndarray of shape (len(idx_u),) or None
    M_inv : ndarray of shape (T, q, q)
        ``(I + S G_t S)^{-1}`` on the random columns.
    """
    T = blocks.n_tasks
    q = len(idx_u)
    th = theta[idx_u]
    G = res.G
    Gr = G[:, idx_u][:, :, idx_u]
    SGS = Gr * th[:, None] * th
    M = SGS + np.eye(q)
    sign, logdet = np.linalg.slogdet(M)
    F = -res.objective - 0.5 * float(logdet.sum())
    p = blocks.p
    full_theta = np.zeros(p)
    full_theta[idx_u] = th
    # the random-effect block of the PIRLS Hessian is M itself: one inverse for both
    H = BlockHessian(G, idx_b, pen_b, idx_u, full_theta, np.ones(p))
    M_inv = H.Huu_inv
    if not gradient:
        return F, None, M_inv
    a = res.U[:, idx_u]  # (T, q)
    r = -res.g[:, idx_u]  # score Zr_t' s (y - mu), (T, q)
    envelope = np.sum(r * a, axis=0)
    # direct derivative of 1/2 log det: sum_t (M_t^{-1} S G_t)_jj
    direct = np.einsum("tjk,tkj->j", M_inv * th[None, None, :], Gr)
    # c_i = 1/2 h_i w'_i with h_i = zr_i' S M^{-1} S zr_i, w' = s mu (1-mu)(1-2mu)
    A = np.zeros((T, p, p))
    A[np.ix_(np.arange(T), idx_u, idx_u)] = (
        M_inv * th[None, :, None] * th[None, None, :]
    )
    Theta = res.beta[None, :] + res.U * full_theta[None, :]
    v = np.zeros((T, p))  # sum_i c_i z_i per task
    for (tasks, Zb, _, sb), e in zip(blocks.buckets, blocks.eta(Theta)):
        mu = expit(e)
        wp = sb * mu * (1.0 - mu) * (1.0 - 2.0 * mu)
        h = np.einsum("kmp,kmp->km", np.matmul(Zb, A[tasks]), Zb)
        c = 0.5 * h * wp
        v[tasks] = np.matmul(c[:, None, :], Zb)[:, 0, :]
    eta_partial = np.sum(v[:, idx_u] * a, axis=0)  # sum_i c_i zr_ij a_tj
    # adjoint: K lambda = dD/dphi, with dD/dbeta = sum_t v_t[B], dD/da_t = S v_t[R]
    lam_b, lam_u = H.solve(v.sum(axis=0)[idx_b], v[:, idx_u] * th)
    # b_j: d(grad_phi Psi)/d theta_j at fixed phi
    C = G[:, idx_b][:, :, idx_u]  # (T, |B|, q)
    bb = np.einsum("tbj,tj->bj", C, a)  # (|B|, q)
    # a-part: -e_j r_tj + S G_t[:, j] a_tj  -> (T, q(row), q(j))
    bu = (th[None, :, None] * Gr) * a[:, None, :]
    bu[:, np.arange(q), np.arange(q)] -= r
    implicit = eta_partial - (lam_b @ bb + np.einsum("tk,tkj->j", lam_u, bu))
    grad = envelope - direct - implicit
    return F, grad, M_inv
