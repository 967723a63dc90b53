"""Low-rank multi-task linear models: trace norm (convex) and reduced rank."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._compat import Interval, fit_context
from .._data import validate_fit_data
from .._docstring import fill_doc
from .._optim._threads import solver_threads
from .._optim.admm import admm_quadratic, centred_factors, mean_shrink_affordable
from .._optim.base import null_scale, solve_on_centred_features
from .._optim.datafits import Quadratic
from .._optim.penalties import TraceNorm
from .._optim.prox_grad import fista
from .._optim.prox_newton import prox_newton, prox_newton_affordable
from .._optim.reduced_rank import AlternatingRRR, closed_form, loadings_and_components
from .._optim.shifted import task_shifts
from .._optim.structured import AugmentedDatafit, MeanShrinkDesign
from ._base import _PenalizedMultiTaskClassifier, _PenalizedMultiTaskRegressor
from ._docs import LINEAR

__all__ = [
    "ReducedRankRegression",
    "TraceNormLogisticRegression",
    "TraceNormRegression",
]


class _DirectLipschitzMixin:
    """FISTA with the step from exact per-task Lipschitz constants."""

    def _solve(self, design, datafit, penalty, W0, b0):
        with solver_threads(design.n_tasks, design.n_features):
            return self._fista(design, datafit, penalty, W0, b0)

    def _fista(self, design, datafit, penalty, W0, b0):
        return solve_on_centred_features(
            self._fista_on, design, datafit, penalty, W0, b0
        )

    def _fista_on(self, design, datafit, penalty, W0, b0):
        alpha_mean = getattr(self, "alpha_mean", 0.0)
        if alpha_mean > 0:  # the smooth mean-shrinkage term on the datafit side
            augmented = MeanShrinkDesign(design, alpha_mean)
            options = self._solver_options(
                lipschitz=augmented.lipschitz(b0 is not None, datafit.curvature)
            )
            datafit = AugmentedDatafit(datafit, augmented)
            return fista(augmented, datafit, penalty, W0, b0, **options)
        lips = design.task_lipschitz_direct(intercept=b0 is not None)
        options = self._solver_options(
            lipschitz=datafit.curvature * float(np.max(lips, initial=0.0))
        )
        return fista(design, datafit, penalty, W0, b0, **options)


class _TraceNormMixin(_DirectLipschitzMixin):
    _parameter_constraints = {
        **_PenalizedMultiTaskRegressor._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "alpha_mean": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts="auto",
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
    ):
        self.alpha = alpha
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        return TraceNorm(self.alpha)

    def _fit(self, X, y, sample_weight):
        super()._fit(X, y, sample_weight)
        self.rank_ = numerical_rank(self.coef_)
        return self


def numerical_rank(W, rtol=1e-10):
    """Number of singular values of ``W`` above ``rtol`` times the largest."""
    s = np.linalg.svd(W, compute_uv=False)
    return int(np.sum(s > rtol * max(s.max(initial=0.0), 1e-300)))


class _AdmmSquaredLossMixin:
    """ADMM with exact per-task ridge steps (see ``skmtl._optim.admm``) when the
    tasks' factorisations (``skmtl._optim.shifted``) fit the budget; FISTA
    otherwise."""

    def _solve(self, design, datafit, penalty, W0, b0):
        with solver_threads(design.n_tasks, design.n_features):
            # penalised (hierarchical or pooled) intercepts: ADMM on centred
            # per-task factors; the coupling alpha_mean term: one (d + 1) system
            # per W step where affordable, else FISTA
            factors = None
            alpha_mean = getattr(self, "alpha_mean", 0.0)
            # a CV path's fold shares its data-only factorisations between the
            # fits of its strengths (``_cv_path._fold_path``)
            cache = getattr(self, "_path_cache", None)
            if isinstance(datafit, Quadratic):
                if b0 is None and cache is None:
                    factors = task_shifts(design)
                elif b0 is None:
                    if "right" not in cache:
                        cache["right"] = task_shifts(design)
                    factors = cache["right"]
                elif design.intercepts is not None and not design.intercepts.free:
                    factors = centred_factors(design, cache=cache)
            if factors is not None and alpha_mean > 0:
                shifts = factors if b0 is None else factors[0]
                if not mean_shrink_affordable(shifts.shape):
                    factors = None
            if factors is None:
                return self._fista(design, datafit, penalty, W0, b0)
            return admm_quadratic(
                design,
                datafit,
                penalty,
                W0,
                factors,
                b0=b0,
                alpha_mean=alpha_mean,
                **self._solver_options(),
            )


class TraceNormRegression(
    _AdmmSquaredLossMixin, _TraceNormMixin, _PenalizedMultiTaskRegressor
):
    r"""Multi-task least squares with a nuclear-norm penalty (shared low-rank W).

    Minimises, over task weights ``W`` (one row per task) and intercepts
    ``b_t = b_0 + c_t``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2  +  alpha * ||W||_*
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    where ``||W||_*`` is the sum of the singular values of ``W`` (MALSAR
    ``Least_Trace``; Argyriou, Evgeniou & Pontil 2008) and ``wbar`` the mean of
    the rows of ``W``. The penalty drives ``W`` to low rank: the tasks' weight
    vectors share a low-dimensional subspace. ``omega_t`` is ``1 / n_t`` with
    ``task_weighting="equal"`` (``n_t``: task ``t``'s number of rows, its total
    sample weight with ``sample_weight``). ``alpha >= ||A*(r0)||_2`` (the
    spectral norm of the per-task correlations ``omega_t X_t^T r0_t`` with the
    residual ``r0`` of the intercept-only model) gives ``W = 0``.

    What a tiny task borrows: its intercept from ``b_0`` (``alpha_intercepts``),
    its weights' direction from the shared subspace (the trace norm), and with
    ``alpha_mean > 0`` their values from the mean of the task weights. The trace
    norm alone does not pull a task's weights towards the others' values: on
    tasks of a few rows it can let them grow, which ``alpha_mean`` prevents.

    Solved by ADMM on the split ``W = Z`` (``skmtl._optim.admm``): exact per-task
    ridge steps through each task's thin SVD, so that badly scaled or
    rank-deficient designs cost no more than well-conditioned ones, then
    singular-value soft-thresholding; ``tol`` bounds the duality gap of the
    returned (thresholded) ``Z``. Free intercepts (``alpha_intercepts=0``) are
    removed by centring; hierarchical or pooled ones are minimised exactly inside
    each ridge step (per-task SVDs of the centred designs, the shared
    ``b_0`` in closed form). The ``alpha_mean`` term couples the tasks' ridge
    steps through ``wbar``: each step then also solves one ``(d + 1) x (d + 1)``
    system for ``(wbar, b_0)``, while ``d <= 2000`` and ``T d^2 min(n_t, d) <=
    2e9``. Beyond these budgets, or when the per-task SVDs exceed theirs
    (``sum_t n_t min(n_t, d)^2 > 3e8`` or ``T d min(n_t, d) > 1e7``), it uses
    accelerated proximal gradient (FISTA, adaptive restart) with exact proximal
    steps on the intercepts and the same certificate; FISTA converges slowly
    with penalised intercepts on features of large mean (``doc/contract.md``,
    §3). The prox uses a
    partial eigendecomposition of the ``min(T, d)`` Gram matrix once
    ``min(T, d) > 64``.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the nuclear-norm penalty.
    alpha_mean : float, default=0.0
        Strength of the ridge ``alpha_mean / 2 * sum_t ||w_t - wbar||^2`` pulling
        every task's weights towards their mean (shrinkage towards shared values).
    %(common_params)s

    Attributes
    ----------
    %(common_attributes)s
    dual_gap_ : float
        Duality gap at exit (``objective - optimum <= dual_gap_``).
    rank_ : int
        Numerical rank of ``coef_``.

    See Also
    --------
    TraceNormRegressionCV : The same model with ``alpha`` chosen by
        cross-validation.
    ReducedRankRegression : A hard rank constraint instead of a convex penalty.
    TraceNormLogisticRegression : The same penalty with the logistic loss.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import TraceNormRegression
    >>> X, y, W = make_multitask_regression(n_tasks=8, n_samples=30, n_features=10,
    ...     structure="low_rank", rank=2, coef=True, random_state=0)
    >>> model = TraceNormRegression(alpha=0.3, task_column=0).fit(X, y)
    >>> model.coef_.shape, model.rank_, int(np.linalg.matrix_rank(W))  # true rank
    ((8, 10), 2, 2)
    """


class _ProxNewtonMixin:
    """Proximal Newton with ADMM subproblems (``skmtl._optim.prox_newton``) when
    the per-task SVDs of its weighted designs fit the budget; FISTA otherwise."""

    def _solve(self, design, datafit, penalty, W0, b0):
        alpha_mean = getattr(self, "alpha_mean", 0.0)
        with solver_threads(design.n_tasks, design.n_features):
            if not prox_newton_affordable(design, alpha_mean):
                return self._fista(design, datafit, penalty, W0, b0)
            options = self._solver_options(alpha_mean=alpha_mean)
            return prox_newton(design, datafit, penalty, W0, b0, **options)


class TraceNormLogisticRegression(
    _ProxNewtonMixin, _TraceNormMixin, _PenalizedMultiTaskClassifier
):
    r"""Per-task binary logistic regression with a nuclear-norm penalty.

    Minimises, over task weights ``W`` and intercepts ``b_t = b_0 + c_t``::

        sum_t omega_t * sum_{i in t} log(1 + exp(-s_i (x_i w_t + b_t)))
            +  alpha * ||W||_*  +  alpha_mean / 2 * sum_t ||w_t - wbar||^2
            +  alpha_intercepts / 2 * sum_t omega_t c_t^2

    with ``s_i = +1`` for ``classes_[1]`` and ``-1`` for ``classes_[0]`` (MALSAR
    ``Logistic_Trace``), ``omega_t = 1 / n_t`` with ``task_weighting="equal"``
    and ``wbar`` the mean of the rows of ``W``. Every task is a binary problem
    over the same two labels.

    Solved by proximal Newton (``skmtl._optim.prox_newton``): each step
    minimises the weighted least-squares model of the logistic loss with the
    nuclear norm, the mean shrinkage and the intercept penalty kept exact, by the
    ADMM of :class:`TraceNormRegression` (per-task thin SVDs of the reweighted
    designs), then backtracks on the true objective. ``max_iter`` counts Newton
    steps; 2-10 usually reach ``tol``. On Landmine (29 tasks, 9 features) this
    is 5-30x faster than FISTA, also with a large ``alpha_mean``, where FISTA's
    step ``1 / (L + alpha_mean)`` made it stop unconverged. Beyond the budgets
    of those SVDs (``sum_t n_t min(n_t, d)^2 > 3e8`` or ``T d min(n_t, d) >
    1e7``, or with ``alpha_mean > 0`` ``d > 2000`` or ``T d^2 min(n_t, d) >
    2e9``) it uses FISTA (adaptive restart; ``max_iter`` then counts its
    iterations), whose intercepts take an exact proximal step on their penalty.

    What a tiny task borrows: its intercept (log-odds level) from ``b_0``, its
    weights' direction from the shared subspace and, with ``alpha_mean > 0``,
    their values from the mean of the task weights.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the nuclear-norm penalty.
    alpha_mean : float, default=0.0
        Strength of the ridge ``alpha_mean / 2 * sum_t ||w_t - wbar||^2`` pulling
        every task's weights towards their mean.
    %(common_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels shared by all tasks.
    %(common_attributes)s
    dual_gap_ : float
        Duality gap at exit.
    rank_ : int
        Numerical rank of ``coef_``.

    See Also
    --------
    TraceNormLogisticRegressionCV : The same model with ``alpha`` chosen by
        cross-validation.
    TraceNormRegression : The same penalty with the squared loss.
    MultiTaskLogisticLasso : Features selected jointly (L2,1) instead of a
        shared subspace.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.linear_model import TraceNormLogisticRegression
    >>> X, y = make_multitask_classification(n_tasks=6, n_samples=40, n_features=8,
    ...     structure="low_rank", rank=1, random_state=0)
    >>> clf = TraceNormLogisticRegression(alpha=0.05, task_column=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """


_TRACE_UNSEEN = (
    "the task-size-weighted mean of the rows of ``coef_``; their plain mean\n"
    "        ``wbar`` when ``alpha_mean > 0``"
)
_TRACE_AUTO_NOTE = """The default "auto" is this model's choice in
        ``benchmarks/DEFAULTS.md``: the best mean rank over the datasets and
        ratios of the real-data benchmark for ``TraceNormRegressionCV`` (e.g.
        Computer Survey at 10% training rows: pooled R^2 0.047 against -0.206
        with free intercepts), and the ADMM solver treats the offsets exactly
        inside each ridge step."""
fill_doc(
    TraceNormRegression,
    LINEAR,
    unseen=_TRACE_UNSEEN,
    intercepts_default='"auto"',
    intercepts_note=_TRACE_AUTO_NOTE,
)
_TRACE_LOGISTIC_AUTO_NOTE = """The default "auto": with free intercepts a task
        whose few rows share one label gets an unbounded intercept, and tasks
        with 1-4 positives fit noisy ones. On 1,000 tasks of 2-10 rows
        (``tests/test_defaults_many_tasks.py``) the held-out log-loss at the
        default ``alpha`` was 1.99 free and 0.67 "auto" (base rate 0.69); on
        Landmine at 10% training rows the cross-validated form chose the null
        model in both repeats with free intercepts. The proximal Newton solver
        treats the offsets exactly (7 steps on features of mean 0 or 100)."""
fill_doc(
    TraceNormLogisticRegression,
    LINEAR,
    unseen=_TRACE_UNSEEN,
    intercepts_default='"auto"',
    intercepts_note=_TRACE_LOGISTIC_AUTO_NOTE,
    tol_doc=(
        "Stop when the duality gap is at most ``tol * 2 P0`` (``P0``: the\n"
        "objective of the intercept-only model)."
    ),
)


# ---------------------------------------------------------------------------
# Reduced-rank regression
# ---------------------------------------------------------------------------
class ReducedRankRegression(_PenalizedMultiTaskRegressor):
    r"""Reduced-rank multi-task regression: ``W = V U^T`` with a shared basis ``U``.

    Minimises, over task weights of rank at most ``rank`` and intercepts
    ``b_t = b_0 + c_t``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2  +  alpha / 2 * ||W||_F^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2
        subject to  rank(W) <= rank

    (``omega_t = 1 / n_t`` with ``task_weighting="equal"``). What a tiny task
    borrows: the directions of its weights (``components_``, estimated from all
    tasks; it fits only ``rank`` loadings) and its intercept from ``b_0``
    (``alpha_intercepts``); nothing pulls its loadings towards the others'
    values except the ridge ``alpha`` towards 0. An unseen task gets the
    task-size-weighted mean of the rows of ``coef_``, which lies in the shared
    subspace.

    Every task's weights are a combination of the same ``rank`` directions
    (``components_``, orthonormal rows) with its own loadings
    (``task_loadings_``): ``coef_ = task_loadings_ @ components_``. A rank at
    least ``min(n_tasks, n_features)`` is no constraint (independent least
    squares / ridge per task); the effective rank is ``rank_``.

    Solvers:

    - shared-design layout, every target observed, dense ``X``: the closed form
      of Izenman (1975) -- weighted (ridge) least squares, then projection onto
      the top ``rank`` eigenvectors of the fitted values' ``T x T`` second
      moment -- which is the exact global minimiser (also with ``alpha > 0``:
      reduced-rank ridge regression, Mukherjee & Zhu 2011). ``n_iter_ = 1``.
    - otherwise (stacked layout, missing targets, sparse ``X``): alternating
      minimisation over ``U`` (orthonormal, ``d x rank``) and ``V`` with exact
      per-task loadings and a conjugate-gradient step on ``U``, started from the
      top singular vectors of ``X_t^T y_t / n_t`` (or the previous
      ``components_`` with ``warm_start``). The problem is non-convex: ``tol``
      certifies first-order stationarity, ``||(I - U U^T) grad_U f(U)||_F <=
      tol * 2 P0`` for ``f(U) = min_V objective`` and ``P0`` the objective of
      the null model; the reached objective is ``objective_``.
    - penalised intercepts (``alpha_intercepts > 0``): exact block coordinate
      descent between ``W`` (one of the fits above on ``y - b``, warm-started)
      and ``b`` (closed form), stopped when the objective decreases by at most
      ``tol * 2 P0``.

    Parameters
    ----------
    rank : int, default=2
        Maximal rank of ``W`` (number of shared directions).
    alpha : float, default=0.0
        Ridge strength (``alpha / 2 ||W||_F^2``).
    %(common_params)s

    Attributes
    ----------
    %(common_attributes)s
    components_ : ndarray of shape (rank_, n_features)
        Orthonormal basis of the shared subspace (rows ordered by the singular
        values of ``coef_``).
    task_loadings_ : ndarray of shape (n_tasks, rank_)
        Coordinates of each task's weights in that basis.
    rank_ : int
        Effective rank, ``min(rank, n_tasks, n_features)``.
    objective_ : float
        Objective value at the solution.

    See Also
    --------
    TraceNormRegression : The convex (nuclear-norm) relaxation of the rank
        constraint.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import ReducedRankRegression
    >>> X, Y = make_multitask_regression(n_tasks=6, n_samples=50, n_features=8,
    ...     structure="low_rank", rank=2, layout="shared", random_state=0)
    >>> model = ReducedRankRegression(rank=2).fit(X, Y)
    >>> model.components_.shape, model.task_loadings_.shape
    ((2, 8), (6, 2))
    >>> round(model.score(X, Y), 3)
    0.997
    """

    _parameter_constraints = {
        **_PenalizedMultiTaskRegressor._parameter_constraints,
        "rank": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        rank=2,
        alpha=0.0,
        *,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-6,
        warm_start=False,
        verbose=0,
    ):
        self.rank = rank
        self.alpha = alpha
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _solve_rank(self, design, k, U0):
        """``(loadings, components, n_iter, crit, converged)`` of the reduced-rank
        fit of ``design`` (its intercepts removed by centring, or none)."""
        data = design.data
        # the closed form needs the same loss weights in every task (an array
        # task_weighting gives each task its own multiplier)
        omega_t = design.task_omega
        closed = (
            data.layout in ("shared", "single")
            and data.mask is None
            and not sp.issparse(data.X)
            and bool(np.all(omega_t == omega_t[0]))
        )
        if closed:
            V, comp = closed_form(design, k, self.alpha)
            return V, comp, 1, 0.0, True
        solver = AlternatingRRR(
            design, k, self.alpha, self.tol, self.max_iter, self.verbose
        )
        with solver_threads(data.n_tasks, data.n_features):
            U0 = solver.init_basis() if U0 is None else U0
            U, V, n_iter, crit, converged = solver.run(U0)
        V, comp = (
            loadings_and_components(np.eye(V.shape[0]), V @ U.T) if k else (V, U.T)
        )
        return V[:, :k], comp[:k], n_iter, crit, converged

    def _objective(self, design, W, b, Y=None):
        F = design.forward(W) if b is None else design.forward(W) + design.per_row(b)
        value = Quadratic().value(F, design.Y if Y is None else Y, design.omega)
        value += 0.5 * self.alpha * float(np.sum(W * W))
        if b is not None and design.intercepts is not None:
            value += design.intercepts.value(b)
        return value

    def _fit_penalised_intercepts(self, design, k, U0):
        """Block coordinate descent on ``(W, b)``: the reduced-rank fit of
        ``y - b`` (warm-started basis), then the exact intercepts
        (``Intercepts.solve``) for that ``W``. Each step is an exact block
        minimiser (global for ``W`` with the closed form), so the objective
        decreases monotonically; stops when it decreases by at most
        ``tol * 2 P0``."""
        quad = Quadratic()
        Y0, omega = design.Y, design.omega
        zeros = np.zeros(Y0.shape, dtype=design.dtype)
        b = quad.optimal_offsets(zeros, Y0, omega, design)
        threshold = self.tol * null_scale(design, quad, True)
        prev, total, converged, crit = np.inf, 0, False, np.inf
        try:
            for _ in range(self.max_iter):
                design.Y = (Y0 - design.per_row(b)) * (omega > 0)
                V, comp, n_iter, crit, ok = self._solve_rank(design, k, U0)
                total += n_iter
                U0 = comp.T if comp.shape[0] == k else None
                W = V @ comp
                b = quad.optimal_offsets(design.forward(W), Y0, omega, design)
                obj = self._objective(design, W, b, Y0)
                if prev - obj <= threshold:  # (the inner fit's own flag: ok)
                    converged, crit = ok, max(prev - obj, 0.0)
                    break
                crit, prev = prev - obj, obj
        finally:
            design.Y = Y0
        return V, comp, b, max(total, 1), crit, converged

    def _fit(self, X, y, sample_weight):
        data = validate_fit_data(self, X, y, sample_weight, warm_start=self.warm_start)
        design, intercepts = self._design_and_intercepts(data)
        penalised = intercepts is not None and not intercepts.free
        if penalised:
            design.intercepts = intercepts
        elif self.fit_intercept:
            design = design.centred()
        k = min(self.rank, data.n_tasks, data.n_features)
        U0 = None
        if self.warm_start and hasattr(self, "components_"):
            if self.components_.shape == (k, data.n_features):
                U0 = self.components_.T.astype(design.dtype)
        if penalised:
            V, comp, b, n_iter, crit, converged = self._fit_penalised_intercepts(
                design, k, U0
            )
        else:
            V, comp, n_iter, crit, converged = self._solve_rank(design, k, U0)
        self.components_ = comp.astype(design.dtype, copy=False)
        self.task_loadings_ = V.astype(design.dtype, copy=False)
        self.coef_ = self.task_loadings_ @ self.components_
        if penalised:
            self.intercept_ = np.asarray(b, dtype=design.dtype)
        elif self.fit_intercept:
            self.intercept_ = design.intercept(self.coef_)
        else:
            self.intercept_ = np.zeros(data.n_tasks, dtype=design.dtype)
        self._set_shared(data, intercepts)
        self.rank_ = k
        self.objective_ = self._objective(
            design, self.coef_, self.intercept_ if penalised else None
        )
        self.n_iter_ = n_iter
        if not converged:
            warnings.warn(
                f"ReducedRankRegression did not converge in max_iter={self.max_iter} "
                f"iterations: Grassmann gradient norm (or objective decrease of "
                f"the intercept alternation) {crit:.3e}. Increase max_iter, or "
                "relax tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    @fill_doc
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        %(linear.fit_sections)s
        """
        return self._fit(X, y, sample_weight)


fill_doc(
    ReducedRankRegression,
    LINEAR,
    tol="1e-6",
    tol_doc=(
        "Iterative solver only: stop at ``||(I - U U^T) grad_U|| <= tol * 2 "
        "P0``\n(first-order stationarity, see above)."
    ),
)
