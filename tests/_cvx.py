"""cvxpy formulations of the linear multi-task objectives (test oracle).

Problems are written from per-task lists ``(X_t, y_t, w_t)`` with explicit
intercept variables, independently of the engine's operator and centring.
"""

import cvxpy as cp
import numpy as np


def task_lists(X, y, task=None, sample_weight=None):
    """Per-task ``(X_t, y_t, sw_t)`` from a stacked (``task``) or shared (2-D ``y``,
    NaN missing) problem."""
    sw = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    if task is not None:
        return [(X[task == t], y[task == t], sw[task == t]) for t in np.unique(task)]
    out = []
    for t in range(y.shape[1]):
        obs = ~np.isnan(y[:, t])
        out.append((X[obs], y[obs, t], sw[obs]))
    return out


def loss_expr(tasks, W, b, kind="squared"):
    terms = []
    for t, (Xt, yt, st) in enumerate(tasks):
        om = st / st.sum()
        z = Xt @ W[t] + (b[t] if b is not None else 0)
        if kind == "squared":
            terms.append(0.5 * cp.sum(cp.multiply(om, cp.square(yt - z))))
        else:
            s = np.where(yt > 0, 1.0, -1.0)
            terms.append(cp.sum(cp.multiply(om, cp.logistic(-cp.multiply(s, z)))))
    return cp.sum(terms)


def loss_value(tasks, W, b, kind="squared"):
    total = 0.0
    for t, (Xt, yt, st) in enumerate(tasks):
        om = st / st.sum()
        z = Xt @ W[t] + (b[t] if b is not None else 0)
        if kind == "squared":
            total += 0.5 * np.sum(om * (yt - z) ** 2)
        else:
            s = np.where(yt > 0, 1.0, -1.0)
            total += np.sum(om * np.logaddexp(0, -s * z))
    return total


def solve(tasks, d, penalty, fit_intercept=True, kind="squared", extra=None):
    """Minimise loss + ``penalty(W, extra_vars)``; returns ``(W, b, objective)``."""
    T = len(tasks)
    W = cp.Variable((T, d))
    b = cp.Variable(T) if fit_intercept else None
    pen, constraints = penalty(W)
    prob = cp.Problem(cp.Minimize(loss_expr(tasks, W, b, kind) + pen), constraints)
    try:
        prob.solve(
            solver=cp.CLARABEL,
            tol_gap_abs=1e-10,
            tol_gap_rel=1e-10,
            tol_feas=1e-10,
            max_iter=500,
        )
    except cp.SolverError:
        prob.solve(solver=cp.SCS, eps=1e-9, max_iters=200000)
    bval = np.zeros(T) if b is None else b.value
    return W.value, bval, prob.value


def nuclear(alpha):
    return lambda W: (alpha * cp.normNuc(W), [])


def clustered(alpha, beta, k):
    def pen(W):
        T = W.shape[0]
        M = cp.Variable((T, T), symmetric=True)
        c = beta * (alpha + beta)
        cons = [M >> 0, np.eye(T) - M >> 0, cp.trace(M) == k]
        return c * cp.matrix_frac(W, beta * np.eye(T) + alpha * M), cons

    return pen


def graph(alpha, l1_ratio, A):
    L = np.diag(A.sum(1)) - A
    lam, Q = np.linalg.eigh(L)
    B = (Q * np.sqrt(np.maximum(lam, 0))) @ Q.T

    def pen(W):
        expr = alpha * (1 - l1_ratio) * cp.sum_squares(B @ W)
        return expr + alpha * l1_ratio * cp.sum(cp.abs(W)), []

    return pen
