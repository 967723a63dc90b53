"""Newton steps of block coordinate descent.

- ``SupportNewton``: Newton steps on the support of an L2,1 (+ ridge) or
  sparse-group squared-loss working-set problem, where the objective is smooth;
- ``prox_newton``: prox-Newton on the working set for the other datafits (as
  skglm): each step solves the penalised weighted least-squares model of the
  datafit (``NewtonDesign``) by block coordinate descent, then backtracks.
"""

import math

import numpy as np

from ..._ops import task_scatter
from ..datafits import Quadratic
from .shrinkage import mean_shrinkage
from .state import ResidualState, effective_weights

__all__ = ["NewtonDesign", "SupportNewton", "prox_newton"]

_QUADRATIC = Quadratic()


# multiply-adds allowed for the per-task Gram matrices of a support Newton step
_NEWTON_GRAM_BUDGET = 1e8
# epochs of a working-set solve before sparse-group Newton steps: their masked CG
# costs about 5 ms a step on School (139 tasks, 27 columns) and the solves of a
# well-conditioned CV path end in fewer epochs without them
# (MultiTaskSparseGroupLassoCV, standardised School 10%: 4.4 s from the first
# epoch, 2.75 s from the 100th, 2.7-3.1 s without; the same epochs), while a slow
# solve still gets them (raw School at alpha=0.01: 438 epochs against 2,791)
_SPARSE_GROUP_AFTER = 100


class SupportNewton:
    """Newton steps on the support of an L2,1 (+ ridge) or sparse-group
    squared-loss problem.

    Where every column ``j`` of the support ``S`` is non-zero the objective is
    smooth in ``W[:, S]``: Hessian ``blockdiag_t(G_t) + sum_j (alpha / ||w_j||)
    (I - u_j u_j^T) + ridge I`` (``G_t`` task ``t``'s weighted centred Gram of the
    support columns, ``u_j = w_j / ||w_j||``). Coordinate descent is slow exactly
    here on rank-deficient designs: the loss is flat along each task's null space,
    where only the penalty, of curvature ``alpha / ||w_j||``, moves ``W``, by
    ``O(alpha / (c_j ||w_j||))`` per epoch. The step solves the Newton system by
    conjugate gradients preconditioned with the per-task blocks ``G_t + diag(alpha
    / ||w_j|| + ridge)``: the rest of the Hessian has rank ``|S|``, so CG ends in
    about ``|S|`` iterations. The caller keeps the step only if the objective
    decreases (backtracking); coordinate descent still decides the support.

    The sparse-group penalty adds ``l1 ||W||_1``, linear (``l1 sign(w)``) where
    entries are non-zero: the step then moves the non-zero entries of the support
    columns only (``mask``), on the principal block of the same Hessian, and the
    zero entries stay for coordinate descent to decide. Those steps start only
    after ``after`` epochs of a working-set solve (``_SPARSE_GROUP_AFTER``; 0 for
    L2,1).
    """

    def __init__(self, state, lam, ridge, l1=0.0):
        self.state, self.lam, self.ridge, self.l1 = state, lam, ridge, l1
        self.after = _SPARSE_GROUP_AFTER if l1 > 0 else 0
        self._key, self._grams = None, None

    @classmethod
    def maybe(cls, state, penalty, m):
        """A ``SupportNewton`` for this working-set problem, or None where it
        does not apply (a penalty without a ``"group"`` or ``"sparse_group"``
        block threshold, stacked
        blocks, other losses, sparse ``X``, intercepts updated in the loop)."""
        threshold = getattr(penalty, "block_threshold", None)
        if threshold is None or threshold.kind not in ("group", "sparse_group"):
            return None
        if m != 1 or not state.quadratic or state.sparse:
            return None
        if state.b is not None or getattr(state.design, "reweighted", False):
            return None
        return cls(state, threshold.group, threshold.ridge, threshold.l1)

    def _gram(self, S):
        """Per-task Gram matrices ``(T, s, s)`` of the support columns, or None
        when over budget."""
        key = tuple(S.tolist())
        if key == self._key:
            return self._grams
        state, design = self.state, self.state.design
        T, s = state.T, len(S)
        n = design.X.shape[0]
        if (
            n * s * s * (1 if not state.shared or state.rank_one else T)
            > (_NEWTON_GRAM_BUDGET)
            or T * s**3 > _NEWTON_GRAM_BUDGET
        ):
            self._key, self._grams = key, None
            return None
        xs = state.xs[S]  # (s, n), centred when state.pre_centred
        xbar = state.xbar[S]  # (s, T)
        center = state.center and not state.pre_centred
        if state.shared and state.rank_one:
            w = state.omega[:, 0]
            G = (xs * w) @ xs.T
            if center:
                G -= np.outer(xbar[:, 0], xbar[:, 0])
            grams = np.broadcast_to(G, (T, s, s))
        elif state.shared:
            grams = np.empty((T, s, s))
            for t in range(T):
                G = (xs * state.omega[:, t]) @ xs.T
                if center:
                    G -= np.outer(xbar[:, t], xbar[:, t])
                grams[t] = G
        else:
            grams = np.empty((T, s, s))
            xw = xs * state.omega
            for t, rows in enumerate(design.data.task_indices()):
                grams[t] = xw[:, rows] @ xs[:, rows].T
        self._key, self._grams = key, grams
        return grams

    def direction(self, Wl, S, grad, mask=None):
        """Newton direction ``(s, T)`` on support ``S`` (rows of ``Wl``) for the
        smooth objective's gradient ``grad`` (s, T), or None. With ``mask`` (s, T)
        the entries outside it stay (their direction is 0)."""
        grams = self._gram(S)
        if grams is None:
            return None
        W = Wl[S]  # (s, T)
        norms = np.sqrt(np.einsum("st,st->s", W, W))
        if np.any(norms == 0):
            return None
        U = W / norms[:, None]
        k = self.lam / norms  # (s,)
        diag = k + self.ridge
        prof = self.state.prof
        if prof is not None:  # profiled intercepts: a_t xbar_t xbar_t^T - rank one
            xb = self.state.xbar[S]  # (s, T)
            a = prof.a.astype(np.float64)
            grams = grams + a[:, None, None] * np.einsum("at,bt->tab", xb, xb)

        def hess(D):  # D (s, T)
            if mask is not None:
                D = D * mask
            out = np.einsum("tab,bt->at", grams, D)
            out += diag[:, None] * D
            out -= (k * np.einsum("st,st->s", U, D))[:, None] * U
            if prof is not None and prof.asum > 0:
                u = np.einsum("st,st->t", xb, D)
                out -= xb * (a * (float(a @ u) / prof.asum))
            return out if mask is None else out * mask

        M = grams + np.eye(len(S))[None] * diag[None, None, :]
        if mask is not None:  # the identity on the entries held at 0
            keep = mask.T.astype(M.dtype)  # (T, s)
            M = M * keep[:, :, None] * keep[:, None, :]
            M += np.eye(len(S))[None] * (1.0 - keep)[:, None, :]
        try:
            np.linalg.cholesky(M)  # every block positive definite, or no step
        except np.linalg.LinAlgError:
            return None
        # the blocks' inverses, once: applying them is one batched product per
        # CG iteration, where two batched solves (an LU each) cost 10x more
        # (School, 139 tasks of 27 columns: 30 against 320 us)
        Minv = np.linalg.inv(M)
        Minv = 0.5 * (Minv + np.swapaxes(Minv, 1, 2))  # symmetric, as PCG needs

        def precond(Rm):  # solve M_t z_t = r_t for every task
            return np.matmul(Minv, Rm.T[:, :, None])[:, :, 0].T

        # preconditioned conjugate gradients on hess(D) = -grad
        D = np.zeros_like(grad)
        Rm = -grad
        Z = precond(Rm)
        P = Z.copy()
        rz = float(np.sum(Rm * Z))
        r0 = math.sqrt(float(np.sum(Rm * Rm)))
        for _ in range(len(S) + 10):
            HP = hess(P)
            pHp = float(np.sum(P * HP))
            if pHp <= 0:
                break
            step = rz / pHp
            D += step * P
            Rm -= step * HP
            if math.sqrt(float(np.sum(Rm * Rm))) <= 1e-10 * r0:
                break
            Z = precond(Rm)
            rz_new = float(np.sum(Rm * Z))
            P = Z + (rz_new / rz) * P
            rz = rz_new
        return D


class NewtonDesign:
    """The weighted least-squares model of a prox-Newton step on the working set
    ``ws``: the design of ``base`` with loss weights ``H`` (the Hessian diagonal)
    and target ``z`` (the working response). With intercepts (``center=True``) it
    is centred per task with the weights ``H`` so that the intercepts drop out
    (they are ``zbar - xbar @ w``); without, it is the raw design: centring would
    solve the model of a problem with free intercepts, whose step is not a descent
    direction of the problem without them."""

    reweighted = True

    def __init__(self, base, H, z, ws, center=True):
        for key in ("data", "X", "shared", "task", "dtype", "n_tasks", "n_features"):
            setattr(self, key, getattr(base, key))
        self.per_row, self.task_sum = base.per_row, base.task_sum
        self.task_scatter = base.task_scatter  # (its indicator, built once)
        self.center = center
        self.omega = H
        self.X_mean = np.zeros((self.n_tasks, self.n_features), dtype=self.dtype)
        if not center:
            self.zbar = np.zeros(self.n_tasks, dtype=self.dtype)
            self.Y = z * (H > 0)
            return
        S = np.maximum(base.task_sum(H), 1e-300)
        self.zbar = base.task_sum(H * z) / S
        self.Y = (z - base.per_row(self.zbar)) * (H > 0)
        Xs = self.X[:, ws]
        if self.shared:
            means = np.asarray(Xs.T @ H).T
        else:
            means = task_scatter(Xs, H, self.task, self.n_tasks)
        self.X_mean[:, ws] = means / S[:, None]

    def intercept(self, E, ws):
        """Intercepts of effective weights ``E`` (p, T) on the working set."""
        return self.zbar - np.einsum("kt,tk->t", E, self.X_mean[:, ws])


def prox_newton(solver, Wl, tol, max_epochs, max_sub_epochs=20):
    """Prox-Newton on the working set for a non-quadratic datafit (as skglm).

    Each step solves the penalised weighted least-squares model of the datafit at
    the current point (centred with the Hessian weights, so the intercepts are
    exact) by block coordinate descent, then backtracks along the direction on the
    true objective (Armijo)."""
    state, penalty, m = solver.state, solver.penalty, solver.m
    datafit, Y, omega, design = state.datafit, state.Y, state.omega, state.design

    def eff(Z):  # effective weights (p, T) of working-set blocks (p, m T)
        return Z if m == 1 else np.ascontiguousarray(effective_weights(Z.T, m).T)

    penalised = state.intercepts  # None: free intercepts (centred model) or none
    am = solver.alpha_mean

    def rest(W, b):  # the convex terms besides the datafit
        value = penalty.value(W.T) + mean_shrinkage(W.T, am)
        return value + (0.0 if penalised is None else penalised.value(b))

    epochs = 0
    while epochs < max_epochs:
        if penalised is not None:  # exact intercepts: a feasible dual point
            state.fit_intercepts()
        gap = solver.gap(Wl)
        if gap <= tol:
            break
        Fo = state.output()
        G = datafit.gradient(Fo, Y, omega)
        H = np.maximum(datafit.hessian(Fo, Y, omega), 1e-12 * omega)
        z = Fo - np.divide(G, H, out=np.zeros_like(G), where=H > 0)
        if penalised is None:
            sub_design = NewtonDesign(
                design, H, z, state.ws, center=state.b is not None
            )
            sub = ResidualState(sub_design, _QUADRATIC)
        else:  # the model keeps the intercepts and their penalty (joint step)
            sub_design = NewtonDesign(design, H, z, state.ws, center=False)
            sub_design.intercepts = penalised
            sub = ResidualState(sub_design, _QUADRATIC, b=state.b)
        sub.set_ws(state.ws)
        sub.reset(eff(Wl))
        curv = np.ascontiguousarray(sub.ws_curvature())
        W_new = Wl.copy()
        # the same working-set solver, on the quadratic model
        sub_solver = type(solver)(sub, penalty, curv, m, anderson=0, alpha_mean=am)
        epochs += sub_solver.run(
            W_new, 0.3 * min(gap, tol), min(max_sub_epochs, max_epochs - epochs)
        )
        dW = W_new - Wl
        dF = state.forward(eff(dW))
        db = None
        if penalised is not None:
            db = sub.b - state.b
        elif state.b is not None:
            db = sub_design.intercept(eff(W_new), state.ws) - state.b
        b_old = state.b
        if db is not None:
            dF = dF + design.per_row(db)
        g_old = rest(Wl, b_old)
        p_old = datafit.value(Fo, Y, omega) + g_old
        b_new = None if db is None else b_old + db
        decrease = float(np.sum(G * dF)) + rest(W_new, b_new) - g_old
        step = 1.0
        for _ in range(30):
            trial = Wl + step * dW
            b_trial = None if db is None else b_old + step * db
            p_trial = datafit.value(Fo + step * dF, Y, omega) + rest(trial, b_trial)
            if p_trial <= p_old + 0.5 * step * min(decrease, 0.0):
                break
            step *= 0.5
        else:
            break  # no descent: the direction is numerically zero
        Wl[:] = trial
        if db is not None:
            state.b = b_trial
        state.reset(eff(Wl))
    return max(epochs, 1)
