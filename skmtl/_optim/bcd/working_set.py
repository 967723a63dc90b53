"""The working-set problem of block coordinate descent (``WorkingSetSolver``).

Epochs of block coordinate descent over the working-set columns (compiled or
fused where ``epochs`` covers the problem, a generic Python loop otherwise), with
Anderson extrapolation of the iterates, support Newton steps (L2,1 and
sparse-group penalties) and prox-Newton steps (other datafits than the squared
loss), until the duality gap of the working-set problem is small enough.
"""

import math
from functools import partial

import numpy as np

from .. import epochs
from ..base import feasible_dual, refined_dual
from ..penalties import mean_block_prox as _mean_block_prox
from .anderson import anderson_extrapolate
from .newton import SupportNewton, prox_newton
from .shrinkage import centred_tasks, mean_shrinkage
from .state import effective_weights

__all__ = ["WorkingSetSolver"]


class WorkingSetSolver:
    """Block coordinate descent on the working-set problem: epochs, their
    stopping rule and the extrapolation and Newton steps between them.

    Each epoch also records, for every column, ``A_k* Theta`` right after the
    column's update (exact then, for the squared loss: ``g_k - c_k delta_k``); the
    gap of the working-set problem estimated from these (no product with ``X``) tells
    when to run the exact check.

    Parameters
    ----------
    state : ResidualState or OutputState
        The solver state, its working set already set (``state.set_ws``).
    penalty : penalty offering ``solver.REQUIRED["penalty"]``
    curv : list of float or ndarray of shape (p, T)
        Block curvatures of the working-set columns (a list of floats when all
        tasks share them: the scalar closed forms then apply).
    m : int
        Stacked blocks of task weights per column (``penalty.n_blocks``).
    anderson : int
        Iterates per Anderson extrapolation (0 disables it).
    reset_every : int
        Epochs between exact rebuilds of the state (and support Newton steps).
    alpha_mean : float
        Strength of the mean-shrinkage term (``shrinkage``).
    """

    def __init__(
        self, state, penalty, curv, m, anderson, reset_every=10, alpha_mean=0.0
    ):
        self.state, self.penalty, self.curv, self.m = state, penalty, curv, m
        self.anderson, self.reset_every = anderson, reset_every
        self.alpha_mean = float(alpha_mean)
        # the squared loss alone (no intercepts in the loop, so none penalised,
        # no profile, no mean shrinkage): the gap in closed form from the
        # residual (_squared_gap), and the least-squares dual point
        self._plain_squared = (
            state.quadratic
            and state.b is None
            and state.prof is None
            and alpha_mean == 0
        )
        self.refine = self._plain_squared and hasattr(
            state.design, "least_squares_dual"
        )
        self.newton = None if alpha_mean > 0 else SupportNewton.maybe(state, penalty, m)
        # the Python fused epoch (not with the mean-shrinkage term, whose exact
        # block step it does not take) and the compiled one (``epochs``), where
        # they cover this problem
        self.fused = epochs.fused(state, penalty, curv) if alpha_mean == 0 else None
        self.compiled = epochs.plan(state, penalty, curv, m, alpha_mean)

    def epoch(self, Wl, El, nz, V):
        """One pass over the working-set columns, then the intercept step."""
        self._columns(Wl, El, nz, V)
        if self.state.b is not None:
            self.state.update_intercept()

    def _columns(self, Wl, El, nz, V):
        if self.compiled is not None and epochs.run(
            self.compiled, self.state, Wl, nz, V, El
        ):
            return
        if self.fused is not None:
            epoch = (
                epochs.group_epoch_blocked
                if self.state.block_size > 1
                else epochs.group_epoch
            )
            epoch(self.state, Wl, self.curv, nz, V, *self.fused)
            return
        state, penalty, curv, m = self.state, self.penalty, self.curv, self.m
        am = self.alpha_mean
        if am:  # the exact block step with the mean-shrinkage term
            prox_mean = getattr(penalty, "block_prox_mean", None) or partial(
                _mean_block_prox, penalty.block_prox
            )
        T = El.shape[1]
        for k in range(Wl.shape[0]):
            g = state.neg_grad(k)
            ck = curv[k]
            e = El[k]
            if am:  # the datafit's block quadratic plus (am/2)||P e||^2, exactly
                new = prox_mean(ck * e + g, ck, am, e)
            else:
                new = penalty.block_prox(ck * e + g, ck, Wl[k])
            e_new = new if m == 1 else new.reshape(m, T).sum(axis=0)
            if not nz[k] and not e_new.any():
                V[k] = g
                continue
            delta = e_new - e
            if am:
                V[k] = g - ck * delta - am * (e_new - e_new.mean())
            else:
                V[k] = g - ck * delta
            state.update(k, delta)
            Wl[k] = new
            El[k] = e_new
            nz[k] = bool(new.any())

    def objective(self, Wl, F, b=None):
        """Objective of the working-set problem at ``Wl`` with output ``F`` (and
        the intercept penalty of ``b``, the state's intercepts by default)."""
        state = self.state
        value = state.datafit.value(F, state.Y, state.omega) + self.penalty.value(Wl.T)
        if self.alpha_mean:
            value += mean_shrinkage(effective_weights(Wl.T, self.m), self.alpha_mean)
        if state.intercepts is not None:
            value += state.intercepts.value(state.b if b is None else b)
        if state.prof is not None:  # the profiled intercepts at Wl
            El = Wl if self.m == 1 else effective_weights(Wl.T, self.m).T
            value += state.prof.value(state.prof.means(state.xbar, El))
        return value

    def gap(self, Wl, V=None, tol=None):
        """Duality gap of the working-set problem (intercepts as they are), from
        ``V = A_ws* Theta`` (p, T) or its column norms (p,) when given (the L2,1
        penalties depend on the columns of ``V`` through their norms only), else
        computed exactly. With ``tol``, a plain gap already at most ``tol`` is
        returned without the refined dual point (it certifies the stop alone)."""
        state = self.state
        if self._plain_squared:
            return self._squared_gap(Wl, V, tol)
        F = state.output()
        prof = state.prof
        if prof is not None:
            Theta, sigma, _ = state.profiled_dual()
        else:
            Theta = -state.datafit.gradient(F, state.Y, state.omega)
        if state.intercepts is not None:
            Theta, sigma = feasible_dual(state.design, Theta)
        E = effective_weights(Wl.T, self.m) if self.alpha_mean else None
        given = V is not None
        if not given:
            V = state.adjoint_ws(Theta)
            if prof is not None:  # the raw adjoint (Theta is not centred)
                V = V + state.xbar.T * sigma[:, None]
            if self.alpha_mean:  # the dual part of the mean-shrinkage term
                V = V - self.alpha_mean * centred_tasks(E)
        V, norms = self._dual_blocks(V, given)
        c = self.penalty.dual_scale(V)
        dual = state.datafit.dual_value(
            c * Theta, state.Y, state.omega
        ) - self.penalty.conjugate(c * V)
        if self.alpha_mean:
            dual -= c * c * mean_shrinkage(E, self.alpha_mean)
        if state.intercepts is not None:
            dual += state.intercepts.dual_value(c * sigma)
        if prof is not None:  # Y is centred: sum Theta y = ... + sigma @ ybar
            dual += c * float(sigma @ prof.ybar)
            dual += prof.intercepts.dual_value(c * sigma)
        primal = self.objective(Wl, F)
        return primal - self._refined(primal, dual, tol, Theta, V, norms)

    def _squared_gap(self, Wl, V, tol):
        """``gap`` for the squared loss without intercepts, profiles or the
        mean-shrinkage term, from two sums over the residual ``r``: with
        ``Theta = omega r``, ``a = <Theta, Y>`` and ``q = <Theta, r>`` the primal
        is ``q / 2 + g(W)`` and the dual at ``c Theta`` is ``c a - c^2 q / 2 -
        g*(c V)`` (``Quadratic.value`` and ``dual_value`` in closed form: a
        fifth of their array passes, which dominate the gap of a small working
        set)."""
        state, penalty = self.state, self.penalty
        r = state._residual()
        Theta = state.omega * r
        if Theta.dtype == np.float64:
            a, q = float(np.vdot(Theta, state.Y)), float(np.vdot(Theta, r))
        else:  # float32 data: the sums in float64, as rounding-safe as before
            a = float(np.sum(Theta * state.Y, dtype=np.float64))
            q = float(np.sum(Theta * r, dtype=np.float64))
        given = V is not None
        V, norms = self._dual_blocks(V if given else state.adjoint_ws(Theta), given)
        c = penalty.dual_scale(V)
        dual = c * a - 0.5 * c * c * q - penalty.conjugate(c * V)
        primal = 0.5 * q + penalty.value(Wl.T)
        return primal - self._refined(primal, dual, tol, Theta, V, norms)

    def _dual_blocks(self, V, given):
        """``(V, norms)``: ``A_ws* Theta`` as the penalty takes it, (m T, p), from
        the exact adjoint (T, p), or (``given``) from the epoch's ``V`` (p, T) or
        its column norms (p,) (then also returned: the L2,1 penalties' refined
        dual needs only them)."""
        norms = None
        if given and V.ndim == 1:  # column norms only (fused epochs: L2,1)
            norms = V
            V = np.zeros((self.state.T, norms.shape[0]), dtype=norms.dtype)
            V[0] = norms
        elif given:
            V = V.T
        if self.m > 1:
            V = np.tile(V, (self.m, 1))
        return V, norms

    def _refined(self, primal, dual, tol, Theta, V, norms):
        """``dual``, or the refined dual point's value when larger (``refine``),
        unless the plain gap is already at most ``tol``."""
        if not self.refine or primal - dual <= (0.0 if tol is None else tol):
            return dual
        state = self.state
        refined = refined_dual(
            state.design,
            state.datafit,
            self.penalty,
            Theta,
            V if norms is None else norms,
            cols=state.ws,
            m=self.m,
        )
        return max(dual, refined)

    def _newton_step(self, Wl, nz):
        """One support Newton step (see ``newton.SupportNewton``), kept only if it
        lowers the objective: the full step, else from a step moving no column by
        more than half its norm, halved up to 4 times. True if taken."""
        state = self.state
        norms = np.sqrt(np.einsum("kt,kt->k", Wl, Wl))
        # columns at rounding level are where the norm has its kink, not smooth
        S = np.flatnonzero(norms > 1e-6 * norms.max(initial=0.0))
        if not len(S):
            return False
        if state.prof is not None:  # the profiled datafit's gradient
            Theta, sigma, _ = state.profiled_dual()
            V = (state.adjoint_ws(Theta) + state.xbar.T * sigma[:, None]).T
        else:
            Theta = -state.datafit.gradient(state.output(), state.Y, state.omega)
            V = state.adjoint_ws(Theta).T  # (p, T): minus the loss gradient
        W = Wl[S]
        norms = np.sqrt(np.einsum("st,st->s", W, W))
        newton = self.newton
        grad = -V[S] + newton.lam * W / norms[:, None] + newton.ridge * W
        mask = None
        if newton.l1 > 0:  # sparse group: the non-zero entries move
            mask = W != 0
            grad = (grad + newton.l1 * np.sign(W)) * mask
        D = newton.direction(Wl, S, grad, mask)
        if D is None or not np.all(np.isfinite(D)):
            return False
        p_old = self.objective(Wl, state.output())
        trial = Wl.copy()
        # the norm is quadratic only near w_j: no column may move by more than
        # half its norm (a trust region)
        move = np.sqrt(np.einsum("st,st->s", D, D)) / norms
        safe = min(1.0, 0.5 / max(float(move.max(initial=0.0)), 1e-300))
        steps = [safe * 0.5**i for i in range(5)]
        if safe < 1.0:
            steps.insert(0, 1.0)  # the full step first: often fine
        for step in steps:
            trial[S] = W + step * D
            F = state.forward(trial)
            if self.objective(trial, state.full_output(F)) < p_old:
                Wl[:] = trial
                state.reset(Wl, F)
                return True
        return False

    def _extrapolate(self, history, Wl, El, nz):
        """Anderson step; kept only if it lowers the objective. True if taken."""
        extra = anderson_extrapolate(history)
        if extra is None:
            return False
        state, m = self.state, self.m
        We = extra.reshape(Wl.shape)
        Ee = We if m == 1 else np.ascontiguousarray(effective_weights(We.T, m).T)
        Fe = state.forward(Ee)
        p_extra = self.objective(We, state.full_output(Fe))
        if p_extra >= self.objective(Wl, state.output()):
            return False
        Wl[:] = We
        if m > 1:
            El[:] = Ee
        nz[:] = np.any(We != 0, axis=1).tolist()
        state.reset(El, Fe)
        return True

    def run(self, Wl, tol, max_epochs, dw_tol=None, dw_spent=0):
        """Epochs until the working-set gap is at most ``tol``; returns epochs.

        With ``dw_tol`` (squared loss) it also waits until the largest change of
        an entry of ``W`` in the last epoch is at most ``dw_tol`` times the
        largest entry (scikit-learn's coordinate descent checks its gap only
        then), for at most as many epochs again as the gap took (``dw_spent``:
        epochs of earlier working sets); ``self.dw_ok`` tells whether it is
        done.
        """
        state, m = self.state, self.m
        self.dw_ok = True
        if not state.quadratic:
            return prox_newton(self, Wl, tol, max_epochs)
        El = Wl if m == 1 else np.ascontiguousarray(effective_weights(Wl.T, m).T)
        nz = np.any(Wl != 0, axis=1).tolist()
        V = np.zeros(
            Wl.shape[0] if self.fused else (Wl.shape[0], state.T), dtype=Wl.dtype
        )
        # the last iterates, one row each (Anderson): filled up to row h
        history = np.empty((self.anderson + 1, Wl.size), dtype=Wl.dtype)
        history[0], h = Wl.ravel(), 1
        n_epochs, wait, waited = 0, 1, 0
        nz_prev, deadline, last_check = None, None, None
        while n_epochs < max_epochs:
            if dw_tol is not None:
                W_prev = Wl.copy()
            self.epoch(Wl, El, nz, V)
            n_epochs += 1
            waited += 1
            if dw_tol is not None:
                w_max = float(np.max(np.abs(Wl), initial=0.0))
                dw_max = float(np.max(np.abs(Wl - W_prev), initial=0.0))
                self.dw_ok = w_max == 0.0 or dw_max <= dw_tol * w_max
            if n_epochs % self.reset_every == 0:
                state.reset(El)  # no drift
                if (
                    self.newton is not None
                    and nz == nz_prev
                    and n_epochs >= self.newton.after
                ):
                    if self._newton_step(Wl, nz):
                        history[0], h = Wl.ravel(), 1
                        continue  # V is stale
            if self.newton is not None and n_epochs % self.reset_every == 1:
                nz_prev = list(nz)
            if self.anderson:
                history[h], h = Wl.ravel(), h + 1
                if h > self.anderson:
                    taken = self._extrapolate(history, Wl, El, nz)
                    history[0], h = Wl.ravel(), 1
                    if taken:
                        continue  # V is stale
            # the estimate from V lags (columns updated early in the epoch have
            # moved since): confirm exactly, and after a failed confirmation wait
            # longer before the next one (each costs a product with X_ws)
            if deadline is not None:  # the gap was met: waiting for dw only
                if self.dw_ok or n_epochs >= deadline:
                    self.dw_ok = True
                    break
                continue
            if waited >= wait and self.gap(Wl, V, tol) <= tol:
                exact = self.gap(Wl, tol=tol)
                if exact <= tol:
                    if self.dw_ok:
                        break
                    # at most as many epochs again (and 10) for the change
                    # condition: it refines W where the gap bounds it only by
                    # its square root, and must not cost more than the solve
                    deadline = n_epochs + max(n_epochs + dw_spent, 10)
                    continue
                wait = _next_check(last_check, (n_epochs, exact), tol, wait)
                last_check, waited = (n_epochs, exact), 0
        return n_epochs


def _next_check(last, now, tol, wait, most=8):
    """Epochs to wait before the next exact gap check, after one at ``now =
    (epoch, gap)`` found a gap above ``tol``: where the linear rate of the last
    two checks (``last``, or None) reaches ``tol``, else twice ``wait``; at most
    ``most``. The gap estimate from the epoch's lagging products is no guide
    (it can even be negative), and each check costs a product with ``X_ws``."""
    if last is not None and 0 < tol < now[1] < last[1] and now[0] > last[0]:
        rate = math.log(now[1] / last[1]) / (now[0] - last[0])  # per epoch, < 0
        return int(min(most, max(1, math.ceil(math.log(tol / now[1]) / rate))))
    return min(2 * wait, most)
