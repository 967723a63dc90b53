"""Shared + task-specific linear regression: ``w_t = w_0 + v_t``, ``b_t = b_0 + c_t``.

Three estimators of one Gaussian hierarchical model (Evgeniou & Pontil 2004; the
linear mixed model ``y ~ x + (1 + x || task)``): fixed strengths
(:class:`HierarchicalRidge`), strengths chosen by exact leave-one-out or GCV
(:class:`HierarchicalRidgeCV`), and variance components by REML/ML
(:class:`BayesianHierarchicalRegression`). The block algebra lives in
:mod:`skmtl._optim.mixed`.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv

from .._compat import Interval, StrOptions
from .._docstring import fill_doc, register
from .._ops import task_dot
from .._optim.mixed import (
    block_row_design,
    fixed_effects,
    independent_columns,
    loo_hat_diagonal,
    marginal_blocks,
    posterior_coef_cov,
    profiled_deviance,
    task_deviations,
    task_moments,
)
from ..base import MultiTaskRegressorMixin
from ._hierarchical_base import _HierarchicalModel

__all__ = [
    "HierarchicalRidge",
    "HierarchicalRidgeCV",
    "BayesianHierarchicalRegression",
]

_POSITIVE_OR_INF = Interval(Real, 0, np.inf, closed="right")

register(
    prefix="hierarchical",
    ridge_objective="""\
        min  1/2 sum_i s_i (y_i - x_i' (w_0 + v_t) - b_0 - c_t)^2
             + alpha_shared / 2 ||w_0||^2
             + 1/2 sum_t sum_j alpha_slopes_j v_tj^2
             + alpha_intercepts / 2 sum_t c_t^2""",
)


# --------------------------------------------------------------------------- shared
class _HierarchicalBase(MultiTaskRegressorMixin, _HierarchicalModel):
    """The three regressors: ``predict`` is the linear output."""

    def _store(self, beta, U, K):
        """Fitted attributes from ``beta`` (p,), ``U`` (T, p) and the gains ``K``."""
        self._set_coefficients(beta, U)
        self.shrinkage_ = 1.0 - np.diagonal(K, axis1=1, axis2=2).copy()

    @fill_doc
    def predict(self, X):
        """Predict each row with its task's model.

        Rows of a task unseen in ``fit`` get ``x' w_0 + b_0`` with
        ``unseen_task="shared"``.

        %(predict_sections)s
        """
        return self._decision_function(X)


def _slope_strengths(alpha_slopes, n_features, name="alpha_slopes"):
    a = np.asarray(alpha_slopes, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n_features, float(a))
    if a.shape != (n_features,):
        raise ValueError(
            f"{name} must be a float or an array of shape (n_features,) = "
            f"({n_features},); got shape {a.shape}."
        )
    if np.any(np.isnan(a)) or np.any(a <= 0):
        raise ValueError(f"{name} must be > 0 (np.inf allowed); got {a}.")
    return a


def _prior_scales(alpha_intercepts, alpha_slopes):
    """``s = D^(1/2)``: the prior sd of each deviation (``1/sqrt(alpha)``, 0 at inf)."""
    alphas = np.concatenate([[alpha_intercepts], alpha_slopes])
    with np.errstate(divide="ignore"):
        return np.where(np.isinf(alphas), 0.0, 1.0 / np.sqrt(alphas))


def _ridge_solution(
    mom, alpha_shared, alpha_slopes, alpha_intercepts, F_free, blocks=None
):
    """Closed-form minimiser of the HierarchicalRidge objective, by blocks.

    ``F_free`` holds the non-aliased columns, used when ``alpha_shared == 0``;
    ``blocks`` may be given when already computed for these deviation strengths.

    Returns ``beta`` (p,), ``U`` (T, p), the blocks, the fixed columns ``F`` and the
    Cholesky factor of ``A = sum_t Z_t' V_t^-1 Z_t + P_0``.
    """
    p = mom.p
    if blocks is None:
        blocks = marginal_blocks(mom, _prior_scales(alpha_intercepts, alpha_slopes))
    if np.isinf(alpha_shared):
        F = np.array([0])
        prior = np.zeros(1)
    elif alpha_shared == 0:
        F = F_free
        prior = np.zeros(len(F))
    else:
        F = np.arange(p)
        prior = np.full(p, float(alpha_shared))
        prior[0] = 0.0
    beta, _, A_chol, _ = fixed_effects(blocks, F, prior)
    U = task_deviations(mom, blocks, beta)
    return beta, U, blocks, F, A_chol


# --------------------------------------------------------------------------- ridge
@fill_doc
class HierarchicalRidge(_HierarchicalBase):
    """Shared + task-specific ridge regression (Evgeniou & Pontil, 2004).

    Each task ``t`` has weights ``w_t = w_0 + v_t`` and intercept
    ``b_t = b_0 + c_t``. With ``z_i = [1, x_i]``, sample weights ``s_i`` and row
    ``i`` in task ``t``, the estimator solves

    .. code-block:: text

        %(hierarchical.ridge_objective)s

    with ``b_0`` unpenalised. The loss is a plain (unnormalised) sum, as in
    :class:`sklearn.linear_model.Ridge`, so a strength means what it means for
    ``Ridge``/``RidgeCV`` and every sample counts once whatever its task's size.
    This is the posterior mode of the Gaussian mixed model
    ``y ~ x + (1 + x || task)`` with noise variance 1, deviation variances
    ``1/alpha_intercepts`` and ``1/alpha_slopes`` and a ``N(0, 1/alpha_shared)``
    prior on ``w_0``. It is solved exactly through the block structure: ``n_tasks``
    Cholesky factorisations of size ``n_features + 1``, never a system in all tasks'
    coefficients.

    What a small task borrows: its deviations are shrunk towards 0 by
    ``alpha / (alpha + its own data's curvature)``, so a task with few rows is
    predicted mostly by the shared ``(w_0, b_0)`` (see ``shrinkage_``), and a large
    task mostly by its own data.

    Limits (each exact, not approximate):

    - ``alpha_slopes=np.inf``: pooled slopes ``w_0`` with shrunken task intercepts,
      i.e. ``Ridge`` on ``[x, one-hot(task)]`` whose dummies are penalised by
      ``alpha_intercepts`` and slopes by ``alpha_shared``;
    - ``alpha_slopes=alpha_intercepts=np.inf``: one pooled ``Ridge(alpha_shared)``
      with one intercept;
    - ``alpha_shared=np.inf``: ``w_0 = 0``: independent ridge per task
      (``alpha_slopes``) whose intercepts ``b_0 + c_t`` are shrunk towards a common
      ``b_0`` (``alpha_intercepts`` small: free per-task intercepts).

    The defaults (1.0 each) are scikit-learn's ``Ridge`` default, not a choice for
    any dataset: the right strengths depend on the scale of the features and on how
    much the tasks differ, which :class:`HierarchicalRidgeCV` (leave-one-out) and
    :class:`BayesianHierarchicalRegression` (marginal likelihood) learn from the
    data.

    Parameters
    ----------
    alpha_shared : float, default=1.0
        Ridge strength on the shared weights ``w_0`` (``>= 0``; ``np.inf``: no
        shared weights). ``0`` leaves ``w_0`` unpenalised (aliased columns then get
        0, as in lme4).
    alpha_slopes : float or array-like of shape (n_features,), default=1.0
        Strength on the task slope deviations ``v_t``, per feature if an array
        (``> 0``; ``np.inf``: slopes pooled).
    alpha_intercepts : float, default=1.0
        Strength on the task intercept offsets ``c_t`` (``> 0``; ``np.inf``: one
        intercept).
    %(task_column)s
    %(hierarchical.unseen_task)s

    Attributes
    ----------
    %(hierarchical.coefficients)s
    shrinkage_ : ndarray of shape (n_tasks, n_features + 1)
        Pooling factor of each task's coefficients (column 0: intercept):
        ``1 - diag(K_t)`` with ``w_t = (I - K_t) w_shared + K_t w_own``; 0 = own data
        only, 1 = fully pooled.
    %(layout_attributes)s

    See Also
    --------
    HierarchicalRidgeCV : The strengths chosen by exact leave-one-out or GCV.
    BayesianHierarchicalRegression : The variance components by REML / ML.

    References
    ----------
    T. Evgeniou and M. Pontil, "Regularized multi-task learning", KDD 2004.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import HierarchicalRidge
    >>> X, y = make_multitask_regression(  # tasks spread around a shared mean
    ...     n_tasks=4, n_samples=20, n_features=3, structure="mean", spread=0.5,
    ...     random_state=0)
    >>> model = HierarchicalRidge(alpha_slopes=5.0, task_column=0).fit(X, y)
    >>> model.coef_.shape, model.coef_shared_.shape, model.shrinkage_.shape
    ((4, 3), (3,), (4, 4))
    >>> bool(model.score(X, y) > 0.9)
    True
    """

    _parameter_constraints = {
        **_HierarchicalBase._parameter_constraints,
        "alpha_shared": [Interval(Real, 0, np.inf, closed="both")],
        "alpha_slopes": [_POSITIVE_OR_INF, "array-like"],
        "alpha_intercepts": [_POSITIVE_OR_INF],
    }

    def __init__(
        self,
        alpha_shared=1.0,
        alpha_slopes=1.0,
        alpha_intercepts=1.0,
        *,
        task_column=None,
        unseen_task="error",
    ):
        self.alpha_shared = alpha_shared
        self.alpha_slopes = alpha_slopes
        self.alpha_intercepts = alpha_intercepts
        self.task_column = task_column
        self.unseen_task = unseen_task

    def _fit_stacked(self, problem):
        data, Z, task, y, sw = problem[:5]
        a_slopes = _slope_strengths(self.alpha_slopes, data.n_features)
        mom = task_moments(Z, y, sw, task, data.n_tasks)
        F_free = independent_columns(Z, sw) if self.alpha_shared == 0 else None
        beta, U, blocks, _, _ = _ridge_solution(
            mom,
            float(self.alpha_shared),
            a_slopes,
            float(self.alpha_intercepts),
            F_free,
        )
        self._store(beta, U, blocks.K)
        return self


# --------------------------------------------------------------------------- CV
def _default_grid(low, high, scale):
    return np.append(np.logspace(low, high, high - low + 1) * scale, np.inf)


def _feature_scale(mom):
    """Mean weighted variance of the features (1 when they are all constant)."""
    G = mom.G.sum(axis=0)
    n = mom.n_eff.sum()
    mean = G[0, 1:] / n
    var = np.diag(G)[1:] / n - mean**2
    scale = float(np.mean(var)) if var.size else 1.0
    return scale if scale > 0 and np.isfinite(scale) else 1.0


@fill_doc
class HierarchicalRidgeCV(_HierarchicalBase):
    """:class:`HierarchicalRidge` with its three strengths chosen from the data.

    The criterion is exact leave-one-out (default) or generalised cross-validation,
    computed in closed form through the block structure, as
    :class:`sklearn.linear_model.RidgeCV` does for one task: the model is a linear
    smoother, so the leave-one-out residual of row ``i`` is ``e_i / (1 - h_ii)``
    with ``h_ii = s_i z_i' Cov(w_t) z_i`` and ``Cov(w_t) = (I - K_t) A^-1 (I - K_t)'
    + S M_t^-1 S`` -- ``n_tasks`` solves of size ``n_features + 1`` per candidate,
    no refit. The criterion is ``sum_i s_i (e_i / (1 - h_ii))^2 / sum_i s_i``
    (GCV: ``(sum_i s_i e_i^2 / n) / (1 - trace(H) / n)^2`` with ``n = sum_i s_i``).
    With ``cv`` set, it is instead the weighted mean squared error over the folds
    of ``cv`` (closed-form fits on each training part).

    The objective fitted for each candidate is that of :class:`HierarchicalRidge`:

    .. code-block:: text

        %(hierarchical.ridge_objective)s

    Search: a coordinate search over the grids (each strength in turn over its grid,
    the others fixed, until none changes; starting from the middle of each grid),
    then, if ``refine``, a Nelder-Mead search in ``log10`` of the strengths that are
    finite and positive (and whose grid has more than one value: a one-value grid
    fixes that strength), started at the best grid point. Every evaluated candidate
    is recorded in ``cv_results_``.

    Default grids, and why: the strengths are ratios of noise variance to prior
    variance, so they are set relative to the data rather than to one dataset. For
    the slope strengths (and the shared one) the natural unit is the feature
    variance ``v`` (mean over features of the weighted variance): a deviation is
    shrunk by ``alpha / (alpha + n_t v)`` in a task of ``n_t`` rows. The grids span
    ``10^-2 v`` (a task of one row is hardly shrunk) to ``10^4 v`` (a task needs
    10,000 rows to move away from the shared model) for ``alpha_slopes``,
    ``10^-3 v .. 10^3 v`` for ``alpha_shared`` and ``10^-2 .. 10^4`` for
    ``alpha_intercepts`` (whose unit, an intercept column of ones, is 1), one value
    per decade, plus ``np.inf`` in each, so that pooled slopes, one intercept and
    independent tasks (``alpha_shared=inf``) are all reachable exactly. The refine
    step then leaves the grid.

    Parameters
    ----------
    alphas_shared : array-like or None, default=None
        Candidate ``alpha_shared`` values (``>= 0``, ``np.inf`` allowed). None: the
        data-scaled default grid above.
    alphas_slopes : array-like or None, default=None
        Candidate ``alpha_slopes`` values (one strength for all features; ``> 0``,
        ``np.inf`` allowed). None: the default grid.
    alphas_intercepts : array-like or None, default=None
        Candidate ``alpha_intercepts`` values (``> 0``, ``np.inf`` allowed). None:
        the default grid.
    criterion : {"loo", "gcv"}, default="loo"
        Exact leave-one-out or generalised cross-validation. Ignored with ``cv``.
    cv : int, cross-validation generator or iterable, default=None
        None: the closed-form ``criterion``. Otherwise the folds (of the stacked
        rows) on which the mean squared error is computed by refitting.
    refine : bool, default=True
        Refine the best grid point by Nelder-Mead in log space.
    max_refine_evaluations : int, default=30
        Budget of criterion evaluations of the refine step (a cost bound: the
        criterion is flat near its optimum, so a small budget gets most of the
        gain).
    %(task_column)s
    %(hierarchical.unseen_task)s

    Attributes
    ----------
    alpha_shared_ : float
    alpha_slopes_ : float
    alpha_intercepts_ : float
        The selected strengths.
    best_score_ : float
        The criterion at the selected strengths (a mean squared error: lower is
        better).
    cv_results_ : dict of ndarray
        ``"alpha_shared"``, ``"alpha_slopes"``, ``"alpha_intercepts"`` and
        ``"criterion"`` of every evaluated candidate, in evaluation order.
    %(hierarchical.coefficients)s
    shrinkage_ : ndarray of shape (n_tasks, n_features + 1)
        Pooling factor per task and coefficient (see :class:`HierarchicalRidge`).
    %(layout_attributes)s

    See Also
    --------
    HierarchicalRidge : The same model with fixed strengths.
    BayesianHierarchicalRegression : The variance components by REML / ML.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import HierarchicalRidgeCV
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=[10, 20, 30, 40],
    ...     n_features=3, structure="mean", random_state=0)
    >>> model = HierarchicalRidgeCV(task_column=0).fit(X, y)
    >>> model.coef_.shape, bool(model.best_score_ > 0)
    ((4, 3), True)
    """

    _parameter_constraints = {
        **_HierarchicalBase._parameter_constraints,
        "alphas_shared": ["array-like", None],
        "alphas_slopes": ["array-like", None],
        "alphas_intercepts": ["array-like", None],
        "criterion": [StrOptions({"loo", "gcv"})],
        "cv": ["cv_object"],
        "refine": ["boolean"],
        "max_refine_evaluations": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        alphas_shared=None,
        alphas_slopes=None,
        alphas_intercepts=None,
        *,
        criterion="loo",
        cv=None,
        refine=True,
        max_refine_evaluations=30,
        task_column=None,
        unseen_task="error",
    ):
        self.alphas_shared = alphas_shared
        self.alphas_slopes = alphas_slopes
        self.alphas_intercepts = alphas_intercepts
        self.criterion = criterion
        self.cv = cv
        self.refine = refine
        self.max_refine_evaluations = max_refine_evaluations
        self.task_column = task_column
        self.unseen_task = unseen_task

    def _grids(self, mom):
        scale = _feature_scale(mom)
        defaults = (
            _default_grid(-3, 3, scale),
            _default_grid(-2, 4, scale),
            _default_grid(-2, 4, 1.0),
        )
        grids = []
        for name, given, default, low_ok in zip(
            ("alphas_shared", "alphas_slopes", "alphas_intercepts"),
            (self.alphas_shared, self.alphas_slopes, self.alphas_intercepts),
            defaults,
            (True, False, False),
        ):
            if given is None:
                grids.append(default)
                continue
            g = np.unique(np.asarray(given, dtype=np.float64).ravel())
            if g.size == 0 or np.any(np.isnan(g)) or np.any(g < 0):
                raise ValueError(f"{name} must be non-empty and >= 0; got {given}.")
            if not low_ok and np.any(g == 0):
                raise ValueError(f"{name} must be > 0 (np.inf allowed); got {given}.")
            grids.append(g)
        return grids

    def _criterion_function(self, Z, task, y, sw, mom, n_tasks, F_free):
        d = mom.p - 1
        n = float(sw.sum())
        if self.cv is not None:
            cv = check_cv(self.cv)
            folds = []
            for train, test in cv.split(Z, y):
                fold_mom = task_moments(
                    Z[train], y[train], sw[train], task[train], n_tasks
                )
                folds.append((fold_mom, independent_columns(Z[train], sw[train]), test))

            def crit(alphas):
                total, wsum = 0.0, 0.0
                for fold_mom, fold_free, test in folds:
                    beta, U, *_ = _ridge_solution(
                        fold_mom, alphas[0], np.full(d, alphas[1]), alphas[2], fold_free
                    )
                    pred = task_dot(Z[test], beta[None, :] + U, task[test])
                    total += float(sw[test] @ (y[test] - pred) ** 2)
                    wsum += float(sw[test].sum())
                return total / wsum

            return crit

        design = block_row_design(Z, task, n_tasks)
        last = {}  # the blocks depend on the deviation strengths only

        def crit(alphas):
            key = (alphas[1], alphas[2])
            if key not in last:
                last.clear()
                last[key] = marginal_blocks(
                    mom, _prior_scales(alphas[2], np.full(d, alphas[1]))
                )
            beta, U, blocks, F, A_chol = _ridge_solution(
                mom, alphas[0], None, None, F_free, blocks=last[key]
            )
            W = beta[None, :] + U
            C = posterior_coef_cov(blocks, F, A_chol)
            if self.criterion == "gcv":
                rss = float(
                    mom.yy.sum()
                    - 2.0 * np.einsum("ti,ti->", W, mom.r)
                    + np.einsum("ti,tij,tj->", W, mom.G, W)
                )
                dof = float(np.einsum("tij,tji->", C, mom.G))
                if dof >= n:
                    return np.inf
                return max(rss, 0.0) / n / (1.0 - dof / n) ** 2
            e = y - design @ W.ravel()
            h = loo_hat_diagonal(design, Z, sw, C)
            denom = 1.0 - h
            if np.any(denom[sw > 0] <= 1e-12):
                return np.inf
            denom = np.where(sw > 0, denom, 1.0)
            return float(sw @ (e / denom) ** 2) / n

        return crit

    def _fit_stacked(self, problem):
        data, Z, task, y, sw = problem[:5]
        mom = task_moments(Z, y, sw, task, data.n_tasks)
        grids = self._grids(mom)
        F_free = independent_columns(Z, sw)
        crit = self._criterion_function(Z, task, y, sw, mom, data.n_tasks, F_free)
        best, best_value, history = _search(
            crit, grids, self.refine, self.max_refine_evaluations
        )
        self.alpha_shared_, self.alpha_slopes_, self.alpha_intercepts_ = best
        self.best_score_ = best_value
        hist = np.array(history, dtype=np.float64).reshape(-1, 4)
        self.cv_results_ = {
            "alpha_shared": hist[:, 0],
            "alpha_slopes": hist[:, 1],
            "alpha_intercepts": hist[:, 2],
            "criterion": hist[:, 3],
        }
        beta, U, blocks, _, _ = _ridge_solution(
            mom, best[0], np.full(data.n_features, best[1]), best[2], F_free
        )
        self._store(beta, U, blocks.K)
        return self


def _search(crit, grids, refine, max_refine):
    """Coordinate search over the grids, then Nelder-Mead in log10 space."""
    cache = {}
    history = []

    def evaluate(alphas):
        key = tuple(float(a) for a in alphas)
        if key not in cache:
            try:
                value = float(crit(key))
            except np.linalg.LinAlgError:
                value = np.inf
            if not np.isfinite(value):
                value = np.inf
            cache[key] = value
            history.append((*key, value))
        return cache[key]

    def middle(g):
        finite = np.flatnonzero(np.isfinite(g))
        return int(finite[len(finite) // 2]) if finite.size else 0

    idx = [middle(g) for g in grids]
    for _ in range(20):
        changed = False
        for k, g in enumerate(grids):
            if g.size == 1:
                continue
            values = []
            for j in range(g.size):
                trial = list(idx)
                trial[k] = j
                values.append(evaluate([grids[m][trial[m]] for m in range(3)]))
            j_best = int(np.argmin(values))
            if values[j_best] < values[idx[k]]:
                idx[k] = j_best
                changed = True
        if not changed:
            break
    best = [float(grids[m][idx[m]]) for m in range(3)]
    best_value = evaluate(best)
    if not np.isfinite(best_value):
        raise ValueError(
            "The selection criterion is not finite for any candidate strengths: "
            "leave-one-out needs more than one sample (n_samples = 1?) and rows "
            "that are not fitted exactly whatever the strengths. Pass cv or other "
            "grids."
        )
    free = [
        m
        for m in range(3)
        if grids[m].size > 1 and np.isfinite(best[m]) and best[m] > 0
    ]
    if refine and free and max_refine > 0:

        def objective(logs):
            trial = list(best)
            for m, v in zip(free, logs):
                trial[m] = 10.0 ** float(np.clip(v, -300, 300))
            return evaluate(trial)

        x0 = np.log10([best[m] for m in free])
        res = minimize(
            objective,
            x0,
            method="Nelder-Mead",
            options={
                "maxfev": max_refine,
                "xatol": 1e-2,
                "fatol": 1e-6 * abs(best_value),
                "initial_simplex": np.vstack([x0, x0 + 0.5 * np.eye(len(free))]),
            },
        )
        if res.fun < best_value:
            for m, v in zip(free, res.x):
                best[m] = 10.0 ** float(v)
            best_value = evaluate(best)
    return best, best_value, history


# --------------------------------------------------------------------------- EB
@fill_doc
class BayesianHierarchicalRegression(_HierarchicalBase):
    """Linear mixed model ``y ~ x + (1 + x || task)`` by empirical Bayes (REML / ML).

    Each task ``t`` has weights ``w_t = w_0 + v_t`` and intercept ``b_t = b_0 + c_t``
    where, with ``z_i = [1, x_i]``, ``beta = (b_0, w_0)`` and ``u_t = (c_t, v_t)``,

    .. code-block:: text

        y_i = z_i' (beta + u_t) + e_i,   e_i ~ N(0, sigma^2 / s_i),
        u_t ~ N(0, sigma^2 diag(theta)^2),   beta flat,

    and ``sigma^2`` and ``theta >= 0`` (one relative scale for the intercept and one
    per feature: learned per-feature slope variances) maximise the restricted
    (``method="REML"``, ``beta`` integrated out) or ordinary (``"ML"``) marginal
    likelihood, as lme4's ``lmer(y ~ x + (1 + x || task))`` does
    (``random_slopes=False``: ``(1 | task)``). ``sigma^2`` is profiled out and the
    criterion is minimised over ``theta`` by L-BFGS-B (bounds ``theta >= 0``) with
    its analytic gradient. Then ``beta`` is the GLS estimate and ``u_t`` the
    posterior means (BLUPs). Every step works on per-task sufficient statistics:
    ``n_tasks`` factorisations of size ``n_features + 1`` per evaluation.

    What a small task borrows: its coefficients are
    ``(I - K_t) beta + K_t w_t^own`` with ``K_t -> 0`` as its data shrink, so a task
    with few rows (or a feature whose slopes barely vary across tasks) is predicted
    from the shared coefficients; ``shrinkage_`` reports ``1 - diag(K_t)``.
    Learned limits: ``theta = 0`` for a coefficient pools it exactly (slopes all at 0:
    pooled regression with random intercepts; everything at 0: pooled OLS), and a
    large ``theta`` leaves the tasks nearly independent.

    Details. Sample weights are precision multipliers (a weight of 2 is exactly a
    repeated row; ``n`` in the criterion is the sum of the weights). Fixed-effect
    columns aliased with earlier ones (e.g. one-hot groups next to the intercept)
    are dropped as lme4 does (a rank-revealing pass in column order with lme4's
    tolerance 1e-7; their ``coef_shared_`` is 0); their random slopes stay. The
    optimisation runs on features scaled to unit root-mean-square (the model is
    equivariant to it; ``theta`` is reported in original units). A variance
    component at the boundary 0 (a singular fit, which statsmodels' ``MixedLM``
    treats as an error) is a valid estimate here: it is returned, with
    ``singular_ = True`` and a ``convergence_note_`` naming the components.

    Defaults, and why: REML (lme4's default) because ML biases the variances down
    by ignoring the degrees of freedom of the fixed effects; random slopes on,
    because each slope variance is learned and may be estimated at exactly 0, so the
    intercept-only model is inside it; the optimiser starts at ``theta = 1`` on the
    scaled features (task deviations as large as the noise, lme4's start), a
    neutral point that does not depend on any dataset.

    Parameters
    ----------
    method : {"REML", "ML"}, default="REML"
        Restricted or ordinary maximum likelihood.
    random_slopes : bool, default=True
        Task-specific slopes (``(1 + x || task)``); False: random intercepts only
        (``(1 | task)``, pooled slopes).
    max_iter : int, default=500
        Iterations of L-BFGS-B.
    tol : float, default=1e-8
        L-BFGS-B's projected-gradient tolerance (the criterion is a sum over
        rows; its gradient in the scaled ``theta`` is ``O(n_tasks)``).
    %(task_column)s
    %(hierarchical.unseen_task)s

    Attributes
    ----------
    %(hierarchical.coefficients)s
    noise_variance_ : float
        ``sigma^2``.
    intercept_variance_ : float
        Variance of the task intercepts ``sigma^2 theta_0^2``.
    slope_variances_ : ndarray of shape (n_features,)
        Variance of each feature's task slopes ``sigma^2 theta_j^2`` (0 without
        random slopes).
    theta_ : ndarray of shape (n_features + 1,)
        Relative scales ``theta`` (intercept first).
    shrinkage_ : ndarray of shape (n_tasks, n_features + 1)
        ``1 - diag(K_t)``, ``K_t = S M_t^-1 S G_t``: 0 = own data only, 1 = fully
        pooled (column 0: intercept).
    log_marginal_likelihood_ : float
        The maximised REML or ML log-likelihood (lme4's ``-deviance / 2``, with
        ``n`` the sum of the weights).
    n_iter_ : int
        L-BFGS-B iterations (at least 1: a start that is already optimal, or a
        single task with nothing to estimate, counts as one).
    singular_ : bool
        Some variance component is at the boundary (``theta_j < 1e-4`` on the
        scaled features, lme4's ``isSingular`` tolerance).
    convergence_note_ : str
        Empty, or what happened (boundary components, optimiser message).
    %(layout_attributes)s

    See Also
    --------
    HierarchicalRidge : The same model with fixed variance ratios (penalties).
    HierarchicalRidgeCV : The ratios chosen by leave-one-out.

    References
    ----------
    D. Bates, M. Maechler, B. Bolker and S. Walker, "Fitting linear mixed-effects
    models using lme4", Journal of Statistical Software 67(1), 2015.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import BayesianHierarchicalRegression
    >>> X, y = make_multitask_regression(
    ...     n_tasks=6, n_samples=25, n_features=3, structure="mean", noise=0.5,
    ...     random_state=0)
    >>> model = BayesianHierarchicalRegression(task_column=0).fit(X, y)
    >>> model.slope_variances_.shape, model.shrinkage_.shape
    ((3,), (6, 4))
    >>> round(model.noise_variance_, 2)  # estimated; the true noise variance is 0.25
    0.29
    """

    _parameter_constraints = {
        **_HierarchicalBase._parameter_constraints,
        "method": [StrOptions({"REML", "ML"})],
        "random_slopes": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        method="REML",
        random_slopes=True,
        *,
        max_iter=500,
        tol=1e-8,
        task_column=None,
        unseen_task="error",
    ):
        self.method = method
        self.random_slopes = random_slopes
        self.max_iter = max_iter
        self.tol = tol
        self.task_column = task_column
        self.unseen_task = unseen_task

    def _optimise(self, smom, F, free, n, p):
        """L-BFGS-B over ``theta[free] >= 0``, then the blocks at the optimum
        (``blocks`` is None where they are numerically singular)."""
        res = (
            minimize(
                profiled_deviance,
                np.ones(len(free)),
                args=(smom, F, self.method, free, n),
                jac=True,
                method="L-BFGS-B",
                bounds=[(0.0, None)] * len(free),
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15},
            )
            if free.size
            else None
        )
        theta_s = np.zeros(p)
        if res is not None:
            theta_s[free] = res.x
        try:
            blocks = marginal_blocks(smom, theta_s)
            beta_s, _, A_chol, rss = fixed_effects(blocks, F)
        except np.linalg.LinAlgError:
            return res, theta_s, None, None, None, 0.0
        return res, theta_s, blocks, beta_s, A_chol, rss

    def _fit_stacked(self, problem):
        data, Z, task, y, sw = problem[:5]
        mom = task_moments(Z, y, sw, task, data.n_tasks)
        n = float(sw.sum())
        p = mom.p
        rms = np.sqrt(np.maximum(np.diag(mom.G.sum(axis=0)), 0.0) / n)
        scale = np.where(rms > 0, 1.0 / np.where(rms > 0, rms, 1.0), 1.0)
        smom = mom.scaled(scale)
        F = independent_columns(Z, sw)
        nu = n - len(F) if self.method == "REML" else n
        if nu <= 0:
            raise ValueError(
                f"{self.method} needs more observations than fixed effects: got "
                f"{Z.shape[0]} sample(s) with total weight {n:g} for {len(F)} "
                "estimable fixed effect(s) (intercept + features)."
            )
        free = np.arange(p) if self.random_slopes else np.array([0])
        notes = []
        if np.count_nonzero(mom.n_eff > 0) < 2:
            # one task: no variation between tasks to estimate (lme4 refuses a
            # grouping factor with fewer than 2 levels); the model is then pooled
            free = free[:0]
            notes.append(
                "one task: the between-task variances are not identifiable and are "
                "set to 0 (ordinary least squares)."
            )
        res, theta_s, blocks, beta_s, A_chol, rss = self._optimise(smom, F, free, n, p)
        total = float(smom.yy.sum())
        if free.size > 1 and (blocks is None or rss <= 1e-10 * total):
            # the random slopes can interpolate every task (n_t <= q): the
            # criterion is unbounded as the residual variance goes to 0, and the
            # optimiser found that degenerate end (lme4 refuses such a model)
            free = free[:1]
            notes.append(
                "the random slopes interpolated the training data (residual "
                "variance estimated at 0: too few rows per task for one random "
                "effect per feature); refitted with random intercepts only."
            )
            res, theta_s, blocks, beta_s, A_chol, rss = self._optimise(
                smom, F, free, n, p
            )
        U_s = task_deviations(smom, blocks, beta_s)
        rss = max(rss, 1e-300)
        sigma2 = rss / nu
        self._store(beta_s * scale, U_s * scale, blocks.K)
        theta = theta_s * scale
        self.theta_ = theta
        self.noise_variance_ = float(sigma2)
        self.intercept_variance_ = float(sigma2 * theta[0] ** 2)
        self.slope_variances_ = sigma2 * theta[1:] ** 2
        deviance = nu * (1.0 + np.log(2.0 * np.pi * rss / nu)) + blocks.logdet_M.sum()
        if self.method == "REML":
            logdet_A = (
                2.0 * np.log(np.diag(A_chol)).sum() - 2.0 * np.log(scale[F]).sum()
            )
            deviance += logdet_A
        positive = sw[sw > 0]
        deviance -= float(np.log(positive).sum())
        self.log_marginal_likelihood_ = float(-0.5 * deviance)
        self.n_iter_ = max(int(res.nit), 1) if res is not None else 1
        boundary = free[theta_s[free] < 1e-4]
        self.singular_ = bool(boundary.size)
        if boundary.size:
            names = ["intercept" if j == 0 else f"feature {j - 1}" for j in boundary]
            notes.append(
                "boundary (singular) fit: the task variance of "
                f"{', '.join(names)} is estimated at 0 (those coefficients are "
                "pooled across tasks)."
            )
        msg = "" if res is None else str(res.message)
        if res is not None and not res.success:
            # a line-search stop at the optimum is common; report it only when the
            # projected gradient is not small relative to the criterion's size
            g = np.asarray(res.jac)
            pg = np.where(res.x <= 0, np.minimum(g, 0.0), g)
            if np.max(np.abs(pg)) > 1e-5 * n:
                notes.append(
                    f"L-BFGS-B stopped: {msg} (projected gradient "
                    f"{np.max(np.abs(pg)):.2e})"
                )
        if res is not None and res.nit >= self.max_iter:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                f"iterations ({msg}). Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.convergence_note_ = " ".join(notes)
        return self
