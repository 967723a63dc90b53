"""Reduced-rank least squares: the solvers of ``ReducedRankRegression``.

Over task weights ``W`` (one row per task, ``T x d``) of rank at most ``k``, with
the intercepts removed by centring (or none), both solvers minimise::

    sum_t omega_t / 2 * ||y_t - X_t w_t||^2  +  alpha / 2 * ||W||_F^2
    subject to  rank(W) <= k

that is ``f(A(W)) + alpha / 2 ||W||_F^2`` for the weighted squared loss ``f``
(:class:`~skmtl._optim.datafits.Quadratic`) and the operator ``A`` of a
:class:`~skmtl._optim.design.MultiTaskDesign`, with ``W = V U^T``: a basis ``U``
shared by the tasks (``d x k``, orthonormal columns) and per-task loadings ``V``
(``T x k``).

- :func:`closed_form`: a fully observed shared design (dense ``X``, every target
  observed). The closed form of Izenman (1975) -- weighted (ridge) least squares,
  then projection of the tasks onto the top ``k`` eigenvectors of the fitted
  values' ``T x T`` second moment -- is the exact global minimiser, also with
  ``alpha > 0`` (reduced-rank ridge regression, Mukherjee & Zhu 2011). It takes
  one thin SVD of the weighted, centred ``X`` and never forms ``X^T X``.
- :class:`AlternatingRRR`: any design (stacked layout, missing targets, sparse
  ``X``). Alternating minimisation over ``U`` and ``V``: exact per-task loadings
  ``V`` for fixed ``U`` (one ``k x k`` system a task), a conjugate-gradient step on
  ``U`` for fixed ``V`` (diagonally preconditioned; it decreases the objective
  monotonically), then re-orthonormalisation of ``U`` (QR, its triangular factor
  moved into ``V``: ``W`` is unchanged). It starts from the top ``k`` right
  singular vectors of ``A*(omega Y)`` (the tasks' ``X_t^T y_t / n_t`` with equal
  task weighting) or from a given basis. The problem is non-convex: ``tol``
  certifies first-order stationarity, a Grassmann gradient
  ``(I - U U^T) grad_U f(U)`` of ``f(U) = min_V objective`` of Frobenius norm at
  most ``tol * 2 P0`` (``P0``: the objective of the null model,
  :func:`~skmtl._optim.base.null_scale`; ``U`` is dimensionless).

:func:`loadings_and_components` writes a solution ``W = E B`` (``E`` with
orthonormal columns) as ``loadings @ components``, the components orthonormal rows
ordered by the singular values of ``W``. Penalised intercepts are left to the
estimator (block coordinate descent between ``W``, fitted here on ``y - b``, and
``b``).
"""

import numpy as np
import scipy.linalg

from .._docstring import fill_doc, register
from .._ops import task_scatter
from .base import null_scale
from .cg import conjugate_gradient
from .datafits import Quadratic

__all__ = ["AlternatingRRR", "closed_form", "loadings_and_components"]

register(
    "reduced_rank",
    V="""\
        V : ndarray of shape (n_tasks, rank)
            The loadings.""",
    # the Parameters section of a method of ``(U, V)`` and the Returns header:
    # the returned value's entry follows the placeholder
    U_V_returns="""\
        Parameters
        ----------
        U : ndarray of shape (n_features, rank)
            The basis.
        %(reduced_rank.V)s

        Returns
        -------""",
)


def closed_form(design, rank, alpha):
    """Fit the reduced-rank (ridge) regression of a fully observed shared design.

    Izenman (1975): weighted least squares (ridge) fit, then projection of the
    tasks onto the top ``rank`` eigenvectors of the fitted values' ``T x T``
    second moment. The ridge case is exact too: ridge is least squares on ``X``
    augmented by ``sqrt(alpha) I`` rows with zero targets (Mukherjee & Zhu 2011),
    whose fitted second moment is ``C^T diag(s^2 / (s^2 + alpha)) C`` with
    ``C = P^T Yw``. Never forms ``X^T X``: one thin SVD of the weighted, centred
    ``X``.

    Parameters
    ----------
    design : skmtl._optim.design.MultiTaskDesign
        A shared (or single) design with dense ``X``, every target observed and
        the same loss weights in every task; its intercepts removed by centring,
        or none.
    rank : int
        The rank ``k`` of the solution, at most ``min(n_tasks, n_features)``.
    alpha : float
        Ridge strength (``alpha / 2 ||W||_F^2``).

    Returns
    -------
    loadings : ndarray of shape (n_tasks, rank)
        The tasks' loadings ``V``.
    components : ndarray of shape (rank, n_features)
        Orthonormal rows ``U^T``, ordered by the singular values of
        ``W = loadings @ components``.

    See Also
    --------
    AlternatingRRR : The iterative solver of any design.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._data import check_task_data
    >>> from skmtl._optim.design import MultiTaskDesign
    >>> from skmtl._optim.reduced_rank import closed_form
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 5))
    >>> W = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 5))
    >>> design = MultiTaskDesign(check_task_data(X, X @ W.T), center=True)
    >>> V, components = closed_form(design, 2, 0.0)
    >>> bool(np.allclose(V @ components, W))
    True
    """
    X = np.asarray(design.X, dtype=float)
    om = design.omega if design.omega.ndim == 1 else design.omega[:, 0]
    root = np.sqrt(om)[:, None]
    Xw = root * (X - design.X_mean[0])
    Yw = root * design.Y.reshape(len(om), -1)
    P, s, Rt = scipy.linalg.svd(Xw, full_matrices=False, lapack_driver="gesdd")
    cutoff = max(Xw.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    keep = s > cutoff
    P, s, Rt = P[:, keep], s[keep], Rt[keep]
    C = P.T @ Yw  # (r, T)
    filt = s / (s**2 + alpha)
    W_full = (C.T * filt) @ Rt  # (T, d): the (ridge) least-squares weights
    S = C.T @ ((s**2 / (s**2 + alpha))[:, None] * C)
    T = S.shape[0]
    _, E = scipy.linalg.eigh(S, subset_by_index=[T - rank, T - 1])
    return loadings_and_components(E, E.T @ W_full)


def loadings_and_components(E, B):
    """Write ``W = E B`` (``E`` with orthonormal columns) as loadings @ components.

    The thin SVD ``B = a diag(sig) comp`` gives ``W = (E a) diag(sig) comp``: the
    components are the right singular vectors of ``W``, its singular values
    ``sig`` go into the loadings.

    Parameters
    ----------
    E : ndarray of shape (n_tasks, m)
        Orthonormal columns.
    B : ndarray of shape (m, n_features)
        The coordinates of the rows of ``W`` in the columns of ``E``.

    Returns
    -------
    loadings : ndarray of shape (n_tasks, min(m, n_features))
        ``E a diag(sig)``.
    components : ndarray of shape (min(m, n_features), n_features)
        Orthonormal rows, ordered by decreasing singular value of ``W``.

    See Also
    --------
    closed_form : Its solution through this factorisation.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._optim.reduced_rank import loadings_and_components
    >>> rng = np.random.default_rng(0)
    >>> W = rng.standard_normal((4, 6))
    >>> V, components = loadings_and_components(np.eye(4), W)
    >>> bool(np.allclose(V @ components, W))
    True
    >>> bool(np.allclose(components @ components.T, np.eye(4)))
    True
    """
    a, sig, comp = np.linalg.svd(B, full_matrices=False)
    return (E @ a) * sig, comp


def _task_grams(design, Z):
    """Per-task ``Z_t^T Omega_t Z_t`` of the (centred) reduced design ``Z = X U``."""
    n, k = Z.shape
    if design.shared:
        G = np.einsum("it,ia,ib->tab", design.omega, Z, Z, optimize=True)
    else:
        outer = (Z[:, :, None] * Z[:, None, :]).reshape(n, k * k)
        G = task_scatter(outer, design.omega, design.task, design.n_tasks)
        G = G.reshape(design.n_tasks, k, k)
    if design.center:
        if design.shared:
            m = design.omega.T @ Z  # (T, k) weighted means per task
        else:
            m = task_scatter(Z, design.omega, design.task, design.n_tasks)
        S = design.task_omega_sums  # 1 with "equal" task weighting
        inv = np.where(S > 0, 1.0, 0.0) / np.where(S > 0, S, 1.0)
        G = G - (inv[:, None] * m)[:, :, None] * m[:, None, :]
    return G


class AlternatingRRR:
    """Alternating minimisation of the reduced-rank objective over ``V`` and ``U``.

    Minimises ``f(A(V U^T)) + alpha/2 ||V U^T||^2`` with ``U`` orthonormal: exact
    per-task ``V`` (``k x k`` systems), a CG step on ``U`` (monotone),
    re-orthonormalisation. Stops when the Grassmann gradient
    ``(I - U U^T) grad_U`` of ``f(U) = min_V objective`` has Frobenius norm at most
    ``tol * 2 P0`` (first-order stationarity; ``U`` is dimensionless). See the
    module docstring for the objective.

    Parameters
    ----------
    design : skmtl._optim.design.MultiTaskDesign
        The data, any layout; its intercepts removed by centring, or none.
    rank : int
        The rank ``k`` of ``W = V U^T``.
    alpha : float
        Ridge strength (``alpha / 2 ||W||_F^2``).
    tol : float
        Stop when the Grassmann gradient's Frobenius norm is at most
        ``tol * 2 P0``.
    max_iter : int
        Maximal number of alternations.
    verbose : int
        Print the objective and the gradient norm at every alternation when
        positive.

    Attributes
    ----------
    R0 : ndarray of shape (n_tasks, n_features)
        ``A*(omega Y)``, the tasks' weighted correlations of features and targets.
    curv : ndarray of shape (n_tasks, n_features)
        The design's per-task column curvatures (the preconditioner of the CG
        step).

    See Also
    --------
    closed_form : The exact solution of a fully observed shared design.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl._data import check_task_data
    >>> from skmtl._optim.design import MultiTaskDesign
    >>> from skmtl._optim.reduced_rank import AlternatingRRR, closed_form
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 5))
    >>> W = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 5))
    >>> Y = X @ W.T + 0.1 * rng.standard_normal((60, 4))
    >>> design = MultiTaskDesign(check_task_data(X, Y), center=True)
    >>> solver = AlternatingRRR(design, 2, 0.0, tol=1e-10, max_iter=200, verbose=0)
    >>> U, V, n_iter, crit, converged = solver.run(solver.init_basis())
    >>> converged
    True
    >>> V_exact, components = closed_form(design, 2, 0.0)
    >>> bool(np.allclose(V @ U.T, V_exact @ components, atol=1e-6))
    True
    """

    def __init__(self, design, rank, alpha, tol, max_iter, verbose):
        self.design, self.rank, self.alpha = design, rank, alpha
        self.tol, self.max_iter, self.verbose = tol, max_iter, verbose
        self.R0 = design.adjoint(design.omega * design.Y)  # (T, d)
        self.curv = design.column_curvature()

    def init_basis(self):
        """Return the spectral start: the top right singular vectors of ``R0``.

        Returns
        -------
        U : ndarray of shape (n_features, rank)
            Orthonormal columns spanning the top ``rank`` right singular vectors
            of ``A*(omega Y)``.
        """
        R0 = self.R0
        T = R0.shape[0]
        _, E = scipy.linalg.eigh(R0 @ R0.T, subset_by_index=[T - self.rank, T - 1])
        U, _ = np.linalg.qr(R0.T @ E)
        return U

    def loadings(self, U):
        """Return the exact per-task loadings for the basis ``U``.

        Parameters
        ----------
        U : ndarray of shape (n_features, rank)
            The basis, orthonormal columns.

        Returns
        -------
        V : ndarray of shape (n_tasks, rank)
            ``argmin_V`` of the objective: one ``k x k`` system
            ``(Z_t^T Omega_t Z_t + alpha I) v_t = U^T A*(omega Y)_t`` a task
            (``Z = X U``, centred), solved by pseudo-inverse.
        """
        X = self.design.X
        Z = np.asarray(X @ U)
        G = _task_grams(self.design, Z) + self.alpha * np.eye(U.shape[1])
        rhs = self.R0 @ U
        return np.einsum("tab,tb->ta", np.linalg.pinv(G, hermitian=True), rhs)

    def objective(self, W):
        """Return the objective at the task weights ``W``.

        Parameters
        ----------
        W : ndarray of shape (n_tasks, n_features)
            Task weights.

        Returns
        -------
        float
            ``f(A(W)) + alpha / 2 ||W||_F^2``.
        """
        design = self.design
        loss = Quadratic().value(design.forward(W), design.Y, design.omega)
        return loss + 0.5 * self.alpha * float(np.sum(W * W))

    @fill_doc
    def forward(self, U, V):
        """Return ``A(V U^T)`` through ``X U`` (``n x k``): never a ``T x d`` array.

        %(reduced_rank.U_V_returns)s
        ndarray
            The model's output, shaped like the design's targets.
        """
        design = self.design
        Z = np.asarray(design.X @ U)
        if design.shared:
            F = Z @ V.T
        else:
            F = np.einsum("ik,ik->i", Z, V[design.task])
        if design.center:
            F = F - design.per_row(np.einsum("tk,tk->t", design.X_mean @ U, V))
        return F

    @fill_doc
    def adjoint_v(self, G, V):
        """Return ``A*(G)^T V`` without forming ``A*(G)``.

        Parameters
        ----------
        G : ndarray
            An array shaped like the design's targets.
        %(reduced_rank.V)s

        Returns
        -------
        ndarray of shape (n_features, rank)
            ``A*(G)^T V``.
        """
        design = self.design
        GV = G @ V if design.shared else G[:, None] * V[design.task]
        out = np.asarray(design.X.T @ GV)
        if design.center:
            out = out - design.X_mean.T @ (design.task_sum(G)[:, None] * V)
        return out

    @fill_doc
    def grad_u(self, U, V):
        """Return the gradient of the objective in ``U`` for fixed ``V``.

        %(reduced_rank.U_V_returns)s
        ndarray of shape (n_features, rank)
            ``A*(omega (A(V U^T) - Y))^T V + alpha U V^T V``.
        """
        design = self.design
        Res = design.omega * (self.forward(U, V) - design.Y)
        return self.adjoint_v(Res, V) + self.alpha * U @ (V.T @ V)

    @fill_doc
    def u_step(self, U, V, grad_norm):
        """Run CG on ``U`` for fixed ``V`` from ``U``, reducing the gradient tenfold.

        Parameters
        ----------
        U : ndarray of shape (n_features, rank)
            The starting basis.
        %(reduced_rank.V)s
        grad_norm : float
            Frobenius norm of the gradient at ``U``: CG stops at a tenth of it
            (or after ``3 rank + 20`` iterations).

        Returns
        -------
        U : ndarray of shape (n_features, rank)
            The new basis, re-orthonormalised (QR).
        V : ndarray of shape (n_tasks, rank)
            The loadings times the transposed triangular factor, so that
            ``V U^T`` is the CG step's ``W``.
        """
        design = self.design
        VtV = V.T @ V

        def matvec(Uc):
            F = design.omega * self.forward(Uc, V)
            return self.adjoint_v(F, V) + self.alpha * (Uc @ VtV)

        diag = self.curv.T @ (V * V) + self.alpha * np.sum(V * V, axis=0)
        diag = np.where(diag > 0, diag, 1.0)
        rhs = self.R0.T @ V
        scale = max(float(np.linalg.norm(rhs)), 1e-300)
        res = conjugate_gradient(
            matvec,
            rhs,
            U,
            tol=0.1 * grad_norm / scale,
            max_iter=3 * U.shape[1] + 20,
            precond=lambda R: R / diag,
        )
        Q, R = np.linalg.qr(res.x)
        return Q, V @ R.T

    def run(self, U):
        """Alternate from the basis ``U`` until stationarity or ``max_iter``.

        Parameters
        ----------
        U : ndarray of shape (n_features, rank)
            The starting basis, orthonormal columns (:meth:`init_basis`, or a
            previous solution's).

        Returns
        -------
        U : ndarray of shape (n_features, rank)
            The basis at exit.
        V : ndarray of shape (n_tasks, rank)
            The exact loadings for that basis.
        n_iter : int
            The number of alternations run.
        crit : float
            The last Grassmann gradient norm computed.
        converged : bool
            Whether ``crit <= tol * 2 P0`` was reached.
        """
        threshold = self.tol * null_scale(self.design, Quadratic(), False)
        crit = np.inf
        for it in range(1, self.max_iter + 1):
            V = self.loadings(U)
            g = self.grad_u(U, V)
            crit = float(np.linalg.norm(g - U @ (U.T @ g)))
            if self.verbose:
                W = V @ U.T
                print(f"iter {it}: objective {self.objective(W):.10g} grad {crit:.3e}")
            if crit <= threshold:
                return U, V, it, crit, True
            U, V = self.u_step(U, V, float(np.linalg.norm(g)))
        V = self.loadings(U)
        return U, V, self.max_iter, crit, False
