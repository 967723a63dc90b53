"""Singular value thresholding: the singular triplets of ``W`` above a threshold.

The trace-norm prox ``prox_{tau ||.||_*}(W) = U_k (S_k - tau) V_k^T`` needs only the
singular triplets with ``sigma > tau``. A solver calls it once per iteration on a
matrix that changes little from one call to the next, so ``ThresholdedSVD`` keeps
the right singular vectors of the last call and restarts from them:

- **subspace iteration** (warm) with a block of ``k`` columns, ``k`` = the number of
  singular values above the threshold at the last call plus a margin. One sweep is
  ``Q = qr(W V)``, then the thin SVD ``W^T Q = V S P^T`` (Rayleigh--Ritz on the left
  block ``Q``: the Ritz triplets are ``(Q P, S, V)``), about ``6 T d k`` flops. It is
  tried only when the flops of a few sweeps are below those of the exact path, and
  abandoned after that many sweeps;
- an **exact** decomposition otherwise (and whenever the block would exceed
  ``min(T, d) / 2`` columns or ``min(T, d) <= full_max``): the eigenpairs of the
  ``m x m`` Gram matrix (``m = min(T, d)``; only the top ``rank + margin`` when a
  rank is known, widened until one falls below ``tau``) when
  ``tau >= gram_rtol * sigma_max``, LAPACK's SVD otherwise.

Accuracy of the partial path. The Ritz triplets satisfy ``W^T u_i = s_i v_i``
exactly; the residuals ``r_i = W v_i - s_i u_i`` are the only error. With ``R1`` the
residuals of the ``r`` kept triplets (``s_i > tau``) and ``V1`` their right vectors,
``W' = W - R1 V1^T`` has the kept Ritz triplets as exact singular triplets
(``W' V1 = U1 S1`` and ``U1^T W' = S1 V1^T``) and ``||W - W'||_F = ||R1||_F``. If
every other singular value of ``W'`` is below ``tau``, ``U1 (S1 - tau) V1^T`` is
exactly ``prox(W')``, and the prox being non-expansive it is within ``||R1||_F``
(Frobenius) of ``prox(W)``. The sweeps stop when the block's smallest Ritz value is
below ``tau`` (a witness that the block holds every singular value above it: like
every Krylov method, subspace iteration assumes that the starting block is not
orthogonal to a dominant singular direction; the margin columns carry the next
singular directions from one call to the next, a fresh start uses a seeded
Gaussian block) and ``||R1||_F <= max(rtol ||W||_F, eta ||W - W_prev||_F)``: the
rounding of a full SVD (``rtol = 1e-12``), or a thousandth (``eta = 1e-3``) of the
change of the input since the previous call (a relative-error inexact prox: the
error shrinks with the solver's steps, and is negligible next to them). The
solvers' duality-gap certificate is unaffected either way: the primal is evaluated
at the returned point (whose nuclear norm is exactly ``sum(S1 - tau)``, ``U1`` and
``V1`` being orthonormal) and the dual norm is computed exactly
(``gram_spectral_norm``); an inexact prox can only cost iterations.

Accuracy of the Gram path: ``sigma_i^2`` is an eigenvalue of ``W W^T`` computed to
``O(m eps sigma_max^2)``, so ``sigma_i`` and the shrunk output are accurate to
``O(m eps sigma_max^2 / tau)``, i.e. ``<= O(m eps / gram_rtol) sigma_max`` (``gram_rtol
= 1e-3``: about ``1e-13 m sigma_max``).
"""

import numpy as np
import scipy.linalg

__all__ = ["ThresholdedSVD", "gram_spectral_norm"]

# Up to these orders numpy's full symmetric eigensolvers beat scipy's syevr on an
# index range (whose wrapper costs about 40 us a call): one thread, eigenpairs of
# the top 11 / the top eigenvalue, in us: m = 20: 57 against 123 / 32 against 56;
# m = 64: 396 against 412 / 208 against 149; m = 200: 6,046 against 2,527
_FULL_EIGH_MAX, _FULL_EIGVALSH_MAX = 64, 32


def gram_spectral_norm(V):
    """Largest singular value of ``V`` from the top eigenvalue of its smaller Gram.

    Accurate to ``O(m eps)`` relative (``m = min(V.shape)``).
    """
    if not V.size:
        return 0.0
    G = V @ V.T if V.shape[0] <= V.shape[1] else V.T @ V
    m = G.shape[0]
    if m <= _FULL_EIGVALSH_MAX:
        return float(np.sqrt(max(np.linalg.eigvalsh(G)[-1], 0.0)))
    try:
        top = scipy.linalg.eigvalsh(G, subset_by_index=[m - 1, m - 1])[0]
    except np.linalg.LinAlgError:
        # LAPACK's syevr fails ("Internal Error") on some Grams whose eigenvalues
        # are all equal to rounding (e.g. a point projected onto the spectral
        # ball in MeanShrinkDesign.feasible_extra); the full solver does not
        top = np.linalg.eigvalsh(G)[-1]
    return float(np.sqrt(max(top, 0.0)))


def _gram_eig(G, k=None):
    """Top ``k`` (all if None, or if ``G`` is small) eigenpairs of the
    symmetric ``G``, decreasing."""
    m = G.shape[0]
    if k is None or k >= m or m <= _FULL_EIGH_MAX:
        lam, Q = np.linalg.eigh(G)
    else:  # LAPACK syevr on an index range
        lam, Q = scipy.linalg.eigh(G, subset_by_index=[m - k, m - 1])
    return lam[::-1], Q[:, ::-1]


class ThresholdedSVD:
    """Singular triplets of ``W`` above a threshold, warm-started between calls.

    One instance serves one solver run (it caches the last right singular vectors);
    see the module docstring for the method and its accuracy.

    Parameters
    ----------
    full_max : int
        At or below this ``min(T, d)`` the decomposition is always exact.
    margin : int
        Extra block columns beyond the singular values above the threshold.
    rtol, eta : float
        Partial path: stop when the kept Ritz residuals
        ``||R1||_F <= max(rtol ||W||_F, eta ||W - W_prev||_F)``.
    max_sweeps : int
        Partial path: sweeps before falling back to the exact decomposition.
    gram_rtol : float
        Exact path: use the Gram eigendecomposition when
        ``threshold >= gram_rtol * sigma_max``, LAPACK's SVD otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._optim.svd import ThresholdedSVD
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((300, 3)) @ rng.standard_normal((3, 600))
    >>> svt = ThresholdedSVD()
    >>> U, s, Vt = svt(W, 1.0)
    >>> s.size, bool(np.allclose(s, np.linalg.svd(W, compute_uv=False)[:3]))
    (3, True)
    >>> U, s, Vt = svt(W + 1e-3 * rng.standard_normal(W.shape), 1.0)  # warm
    >>> svt.n_sweeps > 0
    True
    """

    def __init__(
        self,
        full_max=64,
        margin=8,
        rtol=1e-12,
        eta=1e-3,
        max_sweeps=30,
        gram_rtol=1e-3,
    ):
        self.full_max = full_max
        self.margin = margin
        self.rtol = rtol
        self.eta = eta
        self.max_sweeps = max_sweeps
        self.gram_rtol = gram_rtol
        self._V = None  # right block for the next partial call (d x k)
        self._W = None  # the previous input (for the relative tolerance)
        self._rank = None  # number of singular values kept by the last call
        self.n_sweeps = 0  # total subspace sweeps (diagnostics)
        self.n_exact = 0  # exact decompositions (diagnostics)

    def __call__(self, W, threshold):
        """``(U, s, Vt)``: the singular triplets of ``W`` with ``s > threshold``."""
        m, n = min(W.shape), max(W.shape)
        if m <= self.full_max:
            return self._exact(W, threshold)
        W_prev, self._W = self._W, W.copy()
        V = self._V
        if V is not None and V.shape[0] != W.shape[1]:  # another problem
            V = self._rank = None
        # the block: the last rank plus the margin (a fresh start: two margins)
        k = min(m, (self.margin if self._rank is None else self._rank) + self.margin)
        # sweeps worth trying: the flops of the exact path (Gram + tridiagonal
        # reduction) over those of a sweep (three products, QR and SVD of the block,
        # plus about 5e5 flops of call overhead)
        sweeps = int((m * m * n + 4 * m**3 / 3) / (6 * m * n * k + 4 * n * k * k + 5e5))
        out = None
        if sweeps >= 2 and k <= m // 2:
            tol = self.rtol * np.linalg.norm(W)
            if W_prev is not None and W_prev.shape == W.shape:
                tol = max(tol, self.eta * np.linalg.norm(W - W_prev))
            # Gaussian columns complete a short (or missing) block
            V = self._grow(np.empty((W.shape[1], 0)) if V is None else V, k)
            out = self._subspace(W, threshold, V, tol, min(sweeps, self.max_sweeps))
        if out is None:
            out = self._exact(W, threshold, self._rank)
            self._V = out[2].T  # the next partial call restarts from these
        self._rank = out[1].size
        return out

    def _grow(self, V, k):
        """``V`` widened to ``k`` columns with seeded Gaussian ones (or truncated)."""
        if V.shape[1] >= k:
            return V[:, :k]
        extra = np.random.default_rng(V.shape[1]).standard_normal(
            (V.shape[0], k - V.shape[1])
        )
        return np.hstack([V, extra])

    def _subspace(self, W, threshold, V, tol, max_sweeps):
        """Subspace iteration from ``V``; None when it should fall back to exact."""
        limit = min(W.shape) // 2
        if V.shape[1] > limit:
            return None
        Y = W @ V
        for _ in range(max_sweeps):
            self.n_sweeps += 1
            Q, _ = np.linalg.qr(Y)
            Z = W.T @ Q  # d x k: W^T Q = V_new S P^T
            V, s, Pt = np.linalg.svd(Z, full_matrices=False)
            U = Q @ Pt.T
            Y = W @ V
            if s[-1] > threshold:  # the block may miss singular values above it
                k = V.shape[1]
                k_new = min(2 * k, k + max(self.margin, int(np.sum(s > threshold))))
                if k_new > limit:
                    return None
                V = self._grow(V, k_new)
                Y = W @ V
                continue
            r = int(np.sum(s > threshold))
            # Ritz residuals of the kept triplets only: the others need not converge
            R = Y[:, :r] - U[:, :r] * s[:r]
            if np.sqrt(np.einsum("ij,ij->", R, R)) <= tol:
                self._V = V[:, : r + self.margin]
                return U[:, :r], s[:r], V[:, :r].T
        return None

    def _exact(self, W, threshold, rank_hint=None):
        """Exact triplets above ``threshold``: Gram eigenpairs (the top
        ``rank_hint + margin`` first, widened until one falls below the threshold),
        or LAPACK's SVD when the threshold is too small for the Gram's accuracy."""
        self.n_exact += 1
        wide = W.shape[0] <= W.shape[1]
        G = W @ W.T if wide else W.T @ W
        m = G.shape[0]
        k = m if rank_hint is None else min(m, rank_hint + self.margin)
        while True:
            lam, Q = _gram_eig(G, k)
            s = np.sqrt(np.maximum(lam, 0.0))
            if s.size == m or s[-1] <= threshold:
                break
            k = min(m, 2 * k)
        if s.size and threshold >= self.gram_rtol * s[0]:
            keep = s > threshold
            Qk, sk = Q[:, keep], s[keep]
            if wide:  # W = Q S V^T: V^T = S^-1 Q^T W
                return Qk, sk, (Qk.T @ W) / sk[:, None]
            return (W @ Qk) / sk, sk, Qk.T
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        keep = s > threshold
        return U[:, keep], s[keep], Vt[keep]
