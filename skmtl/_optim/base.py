"""What every solver of ``_optim`` returns and how it certifies its stop.

The solvers (``prox_grad.fista``, ``bcd.bcd``, ``admm.admm_quadratic``) solve
``min_{W, b} f(A W + b) + g(W) + h(b)`` for a datafit ``f`` on the output, a
penalty ``g`` and the penalty ``h`` of the intercept model ``design.intercepts``
(``b_t = b_0 + c_t``, ridge on ``c``; ``h = 0`` for free intercepts, see
``intercepts``). They return a ``SolverResult`` and stop on the duality gap.

Stopping rule (``tol``): the duality gap ``P(W, b) - D(Theta)`` is at most
``tol * scale`` where ``scale = 2 * P(0, b_0)`` (``null_scale``: twice the
objective of the null model with optimal intercepts; for the centred squared loss
this is ``sum_t sum_{i in t} omega_i (y_i - ybar_t)^2``, scikit-learn's scaling of
``tol`` for ``MultiTaskLasso``). ``duality_gap`` evaluates the gap at a point,
``refined_dual`` improves the dual point of the squared loss, ``feasible_dual``
makes a dual point feasible for penalised intercepts.
"""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SolverResult",
    "duality_gap",
    "feasible_dual",
    "model_output",
    "null_scale",
    "penalised_intercepts",
    "refined_dual",
    "solve_on_centred_features",
]


@dataclass
class SolverResult:
    W: np.ndarray
    b: np.ndarray
    n_iter: int
    gap: float
    primal: float
    converged: bool


def model_output(design, W, b):
    """The model output ``A W + b`` (``A W`` when ``b`` is None)."""
    F = design.forward(W)
    return F if b is None else F + design.per_row(b)


def penalised_intercepts(design, b):
    """The design's intercept model when intercepts ``b`` are optimised and
    penalised (``b_t = b_0 + c_t`` with a ridge on ``c``); None otherwise (no
    intercepts, or free ones)."""
    intercepts = getattr(design, "intercepts", None) if b is not None else None
    return None if intercepts is None or intercepts.free else intercepts


def duality_gap(design, datafit, penalty, W, b=None):
    """``(gap, primal, b)`` at ``W``; with intercepts, ``b`` is first re-optimised.

    With penalised intercepts (``design.intercepts``, ``h`` its penalty) the primal
    is ``f(A W + b) + g(W) + h(b)`` and the dual ``-f*(-Theta) - g*(A* Theta) -
    h*(sigma)``, ``sigma`` the per-task sums of ``Theta``; ``h*`` is finite only
    where ``sum_t sigma_t = 0``, which exact intercepts satisfy up to rounding:
    ``Theta`` is shifted by ``omega * delta`` to remove that rounding (any
    feasible ``Theta`` gives a lower bound).
    """
    F0 = design.forward(W)
    intercepts = penalised_intercepts(design, b)
    if b is not None:
        b = datafit.optimal_offsets(F0, design.Y, design.omega, design, b0=b)
        F = F0 + design.per_row(b)
    else:
        F = F0
    primal = datafit.value(F, design.Y, design.omega) + penalty.value(W)
    Theta = -datafit.gradient(F, design.Y, design.omega)
    sigma = None
    if intercepts is not None:
        primal += intercepts.value(b)
        # float64: h* is finite only on sum(sigma) = 0, checked to 1e-9 relative
        Theta = Theta.astype(np.float64, copy=False)
        S = design.task_sum(design.omega).astype(np.float64)
        sigma = design.task_sum(Theta)
        delta = float(np.sum(sigma, dtype=np.float64)) / float(np.sum(S))
        Theta = Theta - delta * design.omega
        sigma = sigma - delta * S

    def dual_at(Theta, V):
        c = penalty.dual_scale(V)
        value = datafit.dual_value(
            c * Theta, design.Y, design.omega
        ) - penalty.conjugate(c * V)
        if sigma is not None:
            value += intercepts.dual_value(c * sigma)
        return value

    V = design.adjoint(Theta)
    dual = dual_at(Theta, V)
    extra = getattr(design, "feasible_extra", None)
    if extra is not None and primal - dual > 0:  # the extra outputs' dual block
        dual = max(dual, dual_at(*extra(Theta, V, penalty)))
    if b is None and primal - dual > 0:
        dual = max(dual, refined_dual(design, datafit, penalty, Theta, V))
    return primal - dual, primal, b


def _lstsq_adjoint(design):
    """``(Theta0, A* Theta0)`` of ``design.least_squares_dual`` (cached), or None."""
    cached = getattr(design, "_lstsq_pair", None)
    if cached is None:
        if not hasattr(design, "least_squares_dual"):  # a wrapper operator
            return None
        Theta0 = design.least_squares_dual()
        cached = (None,) if Theta0 is None else (Theta0, design.adjoint(Theta0))
        design._lstsq_pair = cached
    return None if cached[0] is None else cached


def refined_dual(design, datafit, penalty, Theta, V, cols=None, m=1):
    """A better dual value than the rescaled ``Theta`` for the squared loss.

    The usual dual point ``c Theta`` (``c = penalty.dual_scale(A* Theta)``) shrinks
    the whole residual. On a rank-deficient design with a small penalty ``c`` stays
    far below 1 long after the primal has converged: the gap then measures the
    distance of ``A* Theta`` to the tiny dual ball, not suboptimality, and stalls.
    This shrinks only the part of ``Theta`` seen by the design: with ``Theta0``
    the weighted least-squares residual (``A* Theta0 = 0``, see
    ``MultiTaskDesign.least_squares_dual``) it takes
    ``Theta(s) = Theta0 + s (Theta - Theta0)``, feasible for
    ``s <= penalty.dual_scale(A* Theta)``, with ``s`` maximising the dual (closed form
    when the conjugate vanishes or the penalty offers ``ray_argmax``, golden section
    otherwise), then rescales by
    ``penalty.dual_scale(A* Theta(s))`` (about 1) so that rounding in ``A* Theta0``
    cannot leave the dual ball. Any ``s`` gives a certified lower bound.

    ``V`` is ``A* Theta`` (``(n_tasks, n_cols)``, tiled ``m`` times for penalties on
    stacked blocks), or its column norms ``(n_cols,)`` for penalties that see only
    those (L2,1); ``cols`` the columns it covers (a working set), or None for all.
    Returns ``-inf`` where it does not apply (other datafits, budget exceeded).
    """
    if type(datafit).__name__ != "Quadratic":
        return -np.inf
    pair = _lstsq_adjoint(design)
    if pair is None:
        return -np.inf
    Theta0, V0 = pair
    if cols is not None:
        V0 = V0[:, cols]
    if m > 1:
        V0 = np.tile(V0, (m, 1))
    if V.shape[-1] != V0.shape[1] or (V.ndim == 2 and V.shape != V0.shape):
        return -np.inf  # an operator other than the design's (a wrapper)
    Y, omega = design.Y, design.omega
    obs = omega > 0
    safe = np.where(obs, omega, 1.0)
    D = Theta - Theta0
    q0 = datafit.dual_value(Theta0, Y, omega)
    lin = float(np.sum(np.where(obs, D * Y - Theta0 * D / safe, 0.0)))
    quad = float(np.sum(np.where(obs, D * D / safe, 0.0)))
    norms_only = V.ndim == 1
    if norms_only:
        n0 = np.sqrt(np.sum(V0**2, axis=0))

        def at(s):  # a column-norm bound of A* Theta(s) (triangle inequality)
            return s * V + (1.0 - s) * n0
    else:

        def at(s):
            return V0 + s * (V - V0)

    def as_matrix(v):
        if not norms_only:
            return v
        out = np.zeros((1, v.shape[0]), dtype=v.dtype)
        out[0] = v
        return out

    Vm = as_matrix(V)
    s_max = penalty.dual_scale(Vm)

    def value(s):
        return q0 + s * lin - 0.5 * s * s * quad - penalty.conjugate(s * Vm)

    if quad <= 0:
        s = s_max
    elif penalty.conjugate(s_max * Vm) == 0.0:  # then 0 on all of [0, s_max]
        s = min(max(lin / quad, 0.0), s_max)
    elif hasattr(penalty, "ray_argmax"):  # a closed form (elastic net)
        s = penalty.ray_argmax(Vm, lin, quad, s_max)
    else:  # concave in s: golden section, one new evaluation per step
        lo, hi = 0.0, s_max
        g = 0.5 * (np.sqrt(5.0) - 1.0)
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        fa, fb = value(a), value(b)
        # 40 steps shrink the bracket to 0.618^40 ~ 4e-9 of s_max: the dual is
        # flat to second order there, and any s gives a certified bound
        for _ in range(40):
            if fa < fb:
                lo, a, fa = a, b, fb
                b = lo + g * (hi - lo)
                fb = value(b)
            else:
                hi, b, fb = b, a, fa
                a = hi - g * (hi - lo)
                fa = value(a)
        s = 0.5 * (lo + hi)
    Vs = as_matrix(at(s))
    kappa = penalty.dual_scale(Vs)
    return datafit.dual_value(kappa * (Theta0 + s * D), Y, omega) - penalty.conjugate(
        kappa * Vs
    )


def solve_on_centred_features(solve, design, datafit, penalty, W0, b0):
    """``solve(design, datafit, penalty, W0, b0)``; free intercepts fitted
    jointly (a loss other than the squared, which centres them away) are solved
    on the features centred per task, ``b~ = b + xbar w``
    (``MultiTaskDesign.feature_centred``), and converted back."""
    if b0 is None or penalised_intercepts(design, b0) is not None or design.center:
        return solve(design, datafit, penalty, W0, b0)
    centred = design.feature_centred()
    b0 = b0 + np.einsum("td,td->t", centred.X_mean, W0).astype(b0.dtype)
    result = solve(centred, datafit, penalty, W0, b0)
    result.b = centred.intercept_at_zero(result.b, result.W)
    return result


def null_scale(design, datafit, fit_intercept):
    """``2 * P(0, b0)``: the unit of ``tol`` (see module docstring)."""
    F = np.zeros(design.Y.shape, dtype=design.dtype)  # the output of W = 0
    penalty = 0.0
    if fit_intercept:  # (0 for targets centred with the features)
        b = datafit.optimal_offsets(F, design.Y, design.omega, design)
        F = F + design.per_row(b)
        intercepts = penalised_intercepts(design, b)
        penalty = 0.0 if intercepts is None else intercepts.value(b)
    return 2.0 * (datafit.value(F, design.Y, design.omega) + penalty)


def feasible_dual(design, Theta):
    """``(Theta', sigma')``: ``Theta`` shifted by ``delta * omega`` so that its
    per-task sums ``sigma'`` add up to 0 exactly, the constraint of the dual of
    penalised intercepts (see ``intercepts``). At exact intercepts ``delta`` is
    rounding; any feasible point gives a certified lower bound. Returned in
    float64."""
    # in float64: with float32 data the sums would be feasible only to ~1e-7
    Theta = np.asarray(Theta, dtype=np.float64)
    omega = np.asarray(design.omega, dtype=np.float64)
    if design.shared:
        S, sigma = omega.sum(axis=0), Theta.sum(axis=0)
    else:
        S = np.bincount(design.task, weights=omega, minlength=design.n_tasks)
        sigma = np.bincount(design.task, weights=Theta, minlength=design.n_tasks)
    delta = float(np.sum(sigma)) / max(float(np.sum(S)), 1e-300)
    return Theta - delta * omega, sigma - delta * S
