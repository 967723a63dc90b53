"""Shared + task-specific logistic regression: penalised, CV-tuned and empirical Bayes.

Row ``i`` of task ``t`` with ``z_i = [1, x_i]`` has

    logit P(y_i = classes_[1]) = z_i' (beta + u_t),

``beta = (b0, w0)`` shared by every task and ``u_t = (c_t, v_t)`` the deviation of
task ``t`` (Evgeniou & Pontil 2004; the logistic GLMM ``y ~ x + (1 + x || task)``).
The solvers live in :mod:`skmtl._optim.mixed_logistic`.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from .._compat import Interval, StrOptions
from .._docstring import fill_doc, register
from .._optim._threads import solver_threads
from .._optim.mixed_logistic import TaskBlocks, laplace_criterion, newton_blocks
from ..base import MultiTaskClassifierMixin
from ..model_selection import TaskStratifiedKFold
from ._base import BinaryLinearClassifierMixin, encode_binary_targets
from ._hierarchical_base import HIERARCHICAL_CONSTRAINTS, _HierarchicalModel

__all__ = [
    "HierarchicalLogisticRegression",
    "HierarchicalLogisticRegressionCV",
    "BayesianHierarchicalClassifier",
]

_BASE_CONSTRAINTS = {
    **HIERARCHICAL_CONSTRAINTS,
    "tol": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
}


def _one_blas_thread():
    """The solvers chain many tiny batched LAPACK calls: one BLAS thread is faster
    (several times so on a busy machine)."""
    return solver_threads(1, 1)


class _HierarchicalLogisticBase(
    BinaryLinearClassifierMixin, MultiTaskClassifierMixin, _HierarchicalModel
):
    """Label encoding, BLAS threads and convergence warning of the three models."""

    _parameter_constraints = dict(_BASE_CONSTRAINTS)
    _classification = True

    def _targets(self, data):
        self.classes_, y01 = encode_binary_targets(data)
        return y01

    def _solver_threads(self, problem):
        return _one_blas_thread()

    def _warn_not_converged(self, what):
        warnings.warn(
            f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
            f"iterations ({what}). Increase max_iter, or relax tol; on separable "
            "data increase the penalties.",
            ConvergenceWarning,
            stacklevel=6,  # _warn <- _fit_stacked <- _fit <- fit <- fit_context <- user
        )


# ============================================================================ penalised
def _penalty_layout(alpha_shared, alpha_slopes, alpha_intercepts, d):
    """Active columns and penalties of the block solver for given strengths.

    A strength of ``inf`` fixes its coefficients at 0 (the column is dropped). With
    ``alpha_intercepts = 0`` the shared intercept is not identifiable and is dropped
    (each task then has a free intercept); likewise ``w0_j`` when ``alpha_shared = 0``
    and ``alpha_slopes_j = 0``.
    """
    slopes = np.broadcast_to(np.asarray(alpha_slopes, dtype=float), (d,))
    pen_b = np.concatenate([[0.0], np.full(d, float(alpha_shared))])
    pen_u = np.concatenate([[float(alpha_intercepts)], slopes])
    keep_b = np.isfinite(pen_b)
    keep_b[0] = alpha_intercepts != 0
    keep_b[1:] &= ~((pen_b[1:] == 0) & (slopes == 0))
    idx_b = np.flatnonzero(keep_b)
    idx_u = np.flatnonzero(np.isfinite(pen_u))
    return (
        idx_b,
        np.where(keep_b, pen_b, 0.0),
        idx_u,
        np.where(np.isfinite(pen_u), pen_u, 0.0),
    )


def _fit_penalised(blocks, d, alphas, beta0, U0, tol, max_iter):
    idx_b, pen_b, idx_u, pen_u = _penalty_layout(*alphas, d)
    return newton_blocks(
        blocks,
        idx_b,
        pen_b,
        idx_u,
        np.ones(d + 1),
        pen_u,
        beta0,
        U0,
        tol=tol,
        max_iter=max_iter,
    )


_ALPHA = [Interval(Real, 0, None, closed="both")]

register(
    prefix="hierarchical",
    logistic_objective="""\
        sum_i s_i logloss(y_i, z_i'(beta + u_t(i)))
            + alpha_shared / 2 ||w0||^2
            + alpha_slopes / 2 sum_t ||v_t||^2      (per feature if an array)
            + alpha_intercepts / 2 sum_t c_t^2""",
)


@fill_doc
class HierarchicalLogisticRegression(_HierarchicalLogisticBase):
    """Shared + task-specific binary logistic regression (penalised).

    Task ``t`` predicts ``logit P(y = classes_[1]) = x'(w0 + v_t) + b0 + c_t``: the
    shared model ``(w0, b0)`` plus the task's deviation ``(v_t, c_t)``, each
    deviation shrunk towards 0 by its own ridge. With ``z = [1, x]``,
    ``beta = (b0, w0)``, ``u_t = (c_t, v_t)`` and ``s_i`` the sample weights, the
    model minimises

    ::

        %(hierarchical.logistic_objective)s

    (``b0`` unpenalised; each sample's loss counts once, as in a mixed model; the
    default ``alpha_shared=1`` is scikit-learn's ``LogisticRegression(C=1)``
    scaling). This is the mode of the logistic GLMM ``y ~ x + (1 + x || task)``
    with fixed variances ``1 / alpha``.

    Limits: ``alpha_slopes=inf`` gives one pooled slope vector with shrunken task
    intercepts; with also ``alpha_intercepts=inf`` it is one pooled
    ``LogisticRegression(C=1/alpha_shared)``. ``alpha_shared=inf`` fixes
    ``w0 = 0``: independent per-task ridge-logistic models (``C = 1/alpha_slopes``)
    whose intercepts are shrunk towards ``b0`` (free per-task intercepts with
    ``alpha_intercepts=0``).

    A tiny task borrows: its slopes are ``w0`` (learned from every task) plus a
    deviation its few rows can pull only as far as ``alpha_slopes`` allows, and its
    intercept is ``b0`` plus a shrunken offset. A task with one class gets a finite
    offset towards that class instead of an infinite intercept.

    Solver: Newton's method (penalised IRLS) on the joint convex problem, with a
    backtracking line search; every Newton system is solved through the block
    structure (``n_tasks`` batched solves of size ``n_features + 1`` and one Schur
    complement of the same size). The input is used as a dense array (the Newton
    systems are dense ``(n_features + 1)^2`` per task anyway).

    Parameters
    ----------
    alpha_shared : float in [0, inf], default=1.0
        Ridge strength on the shared slopes ``w0``.
    alpha_slopes : float or array-like of shape (n_features,), default=1.0
        Ridge strength on the task slope deviations ``v_t`` (per feature if an
        array). ``inf``: every task has the shared slopes.
    alpha_intercepts : float in [0, inf], default=1.0
        Ridge strength on the task intercept offsets ``c_t``. ``inf``: one common
        intercept; ``0``: free per-task intercepts.
    %(task_column)s
    %(hierarchical.unseen_task)s
    tol : float, default=1e-8
        Stop when half the squared Newton decrement (the quadratic model's estimate
        of ``objective - optimum``) is at most ``tol * sum(sample_weight)``.
    max_iter : int, default=100
        Maximum number of Newton iterations.
    warm_start : bool, default=False
        Start from the previous solution when the number of features is
        unchanged. The task labels must be those of the previous fit: a new or a
        missing task raises a ValueError naming it (the rule of every skmtl
        estimator; fit a clone, or set ``warm_start=False``, for other tasks).

    Attributes
    ----------
    %(hierarchical.coefficients)s
    classes_ : ndarray of shape (2,)
    objective_ : float
        Final value of the objective.
    n_iter_ : int
        Newton iterations.
    %(layout_attributes)s

    See Also
    --------
    HierarchicalLogisticRegressionCV : The strengths chosen by cross-validation.
    BayesianHierarchicalClassifier : The strengths learned by empirical Bayes.

    References
    ----------
    T. Evgeniou and M. Pontil, "Regularized multi-task learning", KDD 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear_model import HierarchicalLogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> task = np.repeat([0, 1, 2], 40)
    >>> x = rng.randn(120, 2)
    >>> y = (x[:, 0] + 0.5 * task - 0.5 + rng.randn(120) > 0).astype(int)
    >>> X = np.column_stack([task, x])
    >>> clf = HierarchicalLogisticRegression(task_column=0).fit(X, y)
    >>> clf.coef_.shape, clf.intercept_.shape
    ((3, 2), (3,))
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **_BASE_CONSTRAINTS,
        "alpha_shared": _ALPHA,
        "alpha_slopes": [Interval(Real, 0, None, closed="both"), "array-like"],
        "alpha_intercepts": _ALPHA,
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        alpha_shared=1.0,
        alpha_slopes=1.0,
        alpha_intercepts=1.0,
        *,
        task_column=None,
        unseen_task="error",
        tol=1e-8,
        max_iter=100,
        warm_start=False,
    ):
        self.alpha_shared = alpha_shared
        self.alpha_slopes = alpha_slopes
        self.alpha_intercepts = alpha_intercepts
        self.task_column = task_column
        self.unseen_task = unseen_task
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _check_slopes(self, d):
        slopes = np.asarray(self.alpha_slopes, dtype=float)
        if slopes.ndim == 1 and slopes.shape != (d,) or slopes.ndim > 1:
            raise ValueError(
                f"alpha_slopes must be a float or an array of shape (n_features,) = "
                f"({d},); got shape {slopes.shape}."
            )
        if np.any(np.isnan(slopes)) or np.any(slopes < 0):
            raise ValueError("alpha_slopes must be non-negative (inf allowed).")
        return slopes

    def _warm(self, T, d):
        if self.warm_start and getattr(self, "coef_", None) is not None:
            if self.coef_.shape == (T, d):
                beta = np.concatenate([[self.intercept_shared_], self.coef_shared_])
                D = np.column_stack([self.intercept_deviations_, self.coef_deviations_])
                return beta, D
        return None, None

    def _fit_stacked(self, problem):
        data, Z, task, y01, sw = problem[:5]
        d = Z.shape[1] - 1
        slopes = self._check_slopes(d)
        blocks = TaskBlocks(Z, y01, sw, task, data.n_tasks)
        beta0, U0 = self._warm(data.n_tasks, d)
        res = _fit_penalised(
            blocks,
            d,
            (self.alpha_shared, slopes, self.alpha_intercepts),
            beta0,
            U0,
            self.tol,
            self.max_iter,
        )
        self._set_coefficients(res.beta, res.U)
        self.objective_ = res.objective
        self.n_iter_ = res.n_iter
        if not res.converged:
            self._warn_not_converged(f"Newton decrement {res.decrement:.3e}")
        return self


# ============================================================================ CV
_DEFAULT_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0, np.inf)


def _neg_log_loss(y, f, w):
    return -float(w @ (np.logaddexp(0.0, f) - y * f) / w.sum())


# validation scores from the 0/1 targets, the log-odds and the weights (computed
# directly: scikit-learn's metric functions validate their input on every call,
# which costs more than a warm-started fit on small folds)
_SCORES = {
    "neg_log_loss": _neg_log_loss,
    "roc_auc": lambda y, f, w: (
        roc_auc_score(y, f, sample_weight=w) if 0 < y.min() + y.max() < 2 else np.nan
    ),
    "accuracy": lambda y, f, w: float(w @ ((f > 0) == (y > 0.5)) / w.sum()),
    "neg_brier_score": lambda y, f, w: -float(w @ (expit(f) - y) ** 2 / w.sum()),
}


def _grid(values, name):
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if values.ndim != 1 or values.size == 0 or np.any(np.isnan(values)):
        raise ValueError(f"{name} must be a non-empty 1-D list of strengths.")
    if np.any(values < 0):
        raise ValueError(f"{name} must be non-negative (inf allowed).")
    return values


@fill_doc
class HierarchicalLogisticRegressionCV(_HierarchicalLogisticBase):
    """Shared + task-specific logistic regression with strengths chosen by K-fold CV.

    The model of :class:`HierarchicalLogisticRegression`, minimising

    ::

        %(hierarchical.logistic_objective)s

    over a grid of ``(alpha_shared, alpha_slopes, alpha_intercepts)``. Each fold
    fits the whole grid as a warm-started path (strong to weak penalties, every fit
    starting from its neighbour's solution), the best mean validation score picks the
    strengths, and the model is refitted on all data.

    The default grids contain ``inf`` so that the CV can reach the baselines it
    nests: pooled slopes with shrunken task intercepts (``alpha_slopes=inf``), one
    pooled model (both ``inf``), and independent per-task ridge-logistic models
    (``alpha_shared=inf``), and anything in between. A tiny task borrows as much as
    the chosen strengths say.

    Parameters
    ----------
    alphas_shared : array-like, default=(1.0, inf)
        Candidate ``alpha_shared``.
    alphas_slopes : array-like, default=(0.1, 1, 10, 100, 1000, inf)
        Candidate ``alpha_slopes`` (one strength for every feature).
    alphas_intercepts : array-like, default=(0.1, 1, 10, 100, 1000, inf)
        Candidate ``alpha_intercepts``.
    cv : int, cross-validation generator or iterable, default=5
        An int: that many folds over the training entries, stratified by task
        (each task's entries are dealt round-robin over the folds in the order of
        their feature values, see
        :class:`~skmtl.model_selection.TaskStratifiedKFold`), so every training
        fold holds every task, whatever the order of the rows.
        Otherwise a splitter (its ``split(X, y)`` is called) or an iterable of
        ``(train, test)`` row indices of ``X``; in the shared layout a row's
        entries go to its fold together.
    scoring : {"neg_log_loss", "roc_auc", "accuracy", "neg_brier_score"} or None, \
default=None
        Validation score, pooled over the test entries of a fold (weighted by
        ``sample_weight``). None: ``"neg_log_loss"``.
    %(task_column)s
    %(hierarchical.unseen_task)s
    tol : float, default=1e-6
        Newton tolerance of every fit (see :class:`HierarchicalLogisticRegression`).
    max_iter : int, default=100
        Newton iterations per fit.
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib); None means 1 unless in a
        ``joblib.parallel_backend`` context, -1 all processors.

    Attributes
    ----------
    alpha_shared_, alpha_slopes_, alpha_intercepts_ : float
        The chosen strengths.
    alphas_shared_, alphas_slopes_, alphas_intercepts_ : ndarray
        The grids.
    cv_scores_ : ndarray of shape (n_splits, n_shared, n_slopes, n_intercepts)
        Validation score of every fold and grid point.
    mean_cv_scores_ : ndarray of shape (n_shared, n_slopes, n_intercepts)
    best_score_ : float
        The best mean validation score.
    %(hierarchical.coefficients)s
    classes_ : ndarray of shape (2,)
    n_iter_ : int
        Newton iterations of the final refit.
    %(layout_attributes)s

    See Also
    --------
    HierarchicalLogisticRegression : The same model with fixed strengths.
    BayesianHierarchicalClassifier : The strengths learned by empirical Bayes.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear_model import HierarchicalLogisticRegressionCV
    >>> rng = np.random.RandomState(0)
    >>> task = np.repeat([0, 1, 2, 3], 50)
    >>> x = rng.randn(200, 2)
    >>> y = (x[:, 0] + task - 1.5 + rng.randn(200) > 0).astype(int)
    >>> X = np.column_stack([task, x])
    >>> clf = HierarchicalLogisticRegressionCV(cv=3, task_column=0).fit(X, y)
    >>> clf.mean_cv_scores_.shape
    (2, 6, 6)
    >>> bool(np.isfinite(clf.alpha_intercepts_))
    True
    """

    _parameter_constraints = {
        **_BASE_CONSTRAINTS,
        "alphas_shared": ["array-like"],
        "alphas_slopes": ["array-like"],
        "alphas_intercepts": ["array-like"],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(_SCORES)), None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        alphas_shared=(1.0, np.inf),
        alphas_slopes=_DEFAULT_GRID,
        alphas_intercepts=_DEFAULT_GRID,
        *,
        cv=5,
        scoring=None,
        task_column=None,
        unseen_task="error",
        tol=1e-6,
        max_iter=100,
        n_jobs=None,
    ):
        self.alphas_shared = alphas_shared
        self.alphas_slopes = alphas_slopes
        self.alphas_intercepts = alphas_intercepts
        self.cv = cv
        self.scoring = scoring
        self.task_column = task_column
        self.unseen_task = unseen_task
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs

    def _folds(self, X, y, Z, y01, task, origin):
        """Boolean test masks over the stacked entries, one per fold."""
        n_entries = y01.shape[0]
        if isinstance(self.cv, Integral):
            # deal the entries of each task in the order of their feature values (and
            # label), so the folds do not depend on the order of the rows. Not
            # stratified by class: equal class ratios in the training and test parts
            # of a task would favour fitting each task's base rate.
            cell = task
            order = np.lexsort((y01,) + tuple(Z.T[::-1]) + (cell,))
            splitter = TaskStratifiedKFold(self.cv, task_column=0)
            masks = []
            for _, test in splitter.split(cell[order][:, None]):
                mask = np.zeros(n_entries, dtype=bool)
                mask[order[test]] = True
                masks.append(mask)
            return masks
        if hasattr(self.cv, "split"):
            splits = self.cv.split(X, y)
        else:
            splits = self.cv
        return [np.isin(origin, test) for _, test in splits]

    def _path(self, blocks, d, grids, tol, record=None):
        """Fit the whole grid as a snake-ordered warm-started path.

        ``record(i, j, k, result)`` is called after each fit.
        """
        beta, U = None, None
        order_k = np.arange(len(grids[2]))
        for i, a_sh in enumerate(grids[0]):
            for j, a_sl in enumerate(grids[1]):
                for k in order_k:
                    res = _fit_penalised(
                        blocks,
                        d,
                        (a_sh, a_sl, grids[2][k]),
                        beta,
                        U,
                        tol,
                        self.max_iter,
                    )
                    beta, U = res.beta, res.U
                    record(i, j, k, res)
                order_k = order_k[::-1]
        return beta, U

    def _fold_scores(self, Z, y01, sw, task, T, test, grids, score):
        """Validation scores of one fold over the whole grid (one warm path)."""
        train = ~test
        blocks = TaskBlocks(Z[train], y01[train], sw[train], task[train], T)
        Zt, yt, wt, tt = Z[test], y01[test], sw[test], task[test]
        out = np.full(tuple(len(g) for g in grids), -np.inf)

        def record(i, j, k, res):
            Theta = res.beta[None, :] + res.U
            out[i, j, k] = score(yt, np.einsum("ij,ij->i", Zt, Theta[tt]), wt)

        with _one_blas_thread():
            self._path(blocks, Z.shape[1] - 1, grids, self.tol, record)
        return out

    def _fit_stacked(self, problem):
        data, Z, task, y01, sw, origin = problem[:6]
        d = Z.shape[1] - 1
        T = data.n_tasks
        grids = (
            _grid(self.alphas_shared, "alphas_shared"),
            # a grid in decreasing order: the path starts strongly regularised
            -np.sort(-_grid(self.alphas_slopes, "alphas_slopes")),
            -np.sort(-_grid(self.alphas_intercepts, "alphas_intercepts")),
        )
        grids = (-np.sort(-grids[0]), grids[1], grids[2])
        score = _SCORES[self.scoring or "neg_log_loss"]
        tests = self._folds(problem.X, problem.y_in, Z, y01, task, origin)
        shape = tuple(len(g) for g in grids)
        for f, test in enumerate(tests):
            if not test.any():
                raise ValueError(f"CV fold {f} has no test rows.")
            if np.unique(y01[~test]).size < 2:
                raise ValueError(
                    f"CV fold {f} has a training set with one class only; use fewer "
                    "folds."
                )
        fold_scores = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fold_scores)(Z, y01, sw, task, T, test, grids, score)
            for test in tests
        )
        scores = np.stack(fold_scores)
        # a fold whose test part has one class has no AUC: average the others
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(scores, axis=0)
        mean = np.where(np.isnan(mean), -np.inf, mean)
        best = np.unravel_index(np.argmax(mean), shape)
        self.alphas_shared_, self.alphas_slopes_, self.alphas_intercepts_ = (
            g.copy() for g in grids
        )
        self.alpha_shared_ = float(grids[0][best[0]])
        self.alpha_slopes_ = float(grids[1][best[1]])
        self.alpha_intercepts_ = float(grids[2][best[2]])
        self.cv_scores_ = scores
        self.mean_cv_scores_ = mean
        self.best_score_ = float(mean[best])
        blocks = TaskBlocks(Z, y01, sw, task, T)
        res = _fit_penalised(
            blocks,
            d,
            (self.alpha_shared_, self.alpha_slopes_, self.alpha_intercepts_),
            None,
            None,
            min(self.tol, 1e-8),
            self.max_iter,
        )
        self._set_coefficients(res.beta, res.U)
        self.n_iter_ = res.n_iter
        if not res.converged:
            self._warn_not_converged(f"Newton decrement {res.decrement:.3e}")
        return self


# ============================================================================ EB
@fill_doc
class BayesianHierarchicalClassifier(_HierarchicalLogisticBase):
    """Empirical-Bayes logistic GLMM: per-coefficient random effects by Laplace.

    The generalised linear mixed model of lme4's
    ``glmer(y ~ x + (1 + x || task), family=binomial)`` (``random_slopes=False``:
    ``y ~ x + (1 | task)``): with ``z = [1, x]``,

    ::

        logit P(y_i = classes_[1]) = z_i'(beta + u_t(i)),
        u_t = S a_t,  a_t ~ N(0, I),  S = diag(theta),  theta >= 0,

    one standard deviation per random coefficient (intercept and, with random
    slopes, each feature). Given ``theta``, PIRLS finds the joint mode of
    ``(beta, a)`` minimising

    ::

        Psi = sum_i s_i logloss_i + 1/2 sum_t ||a_t||^2 + alpha_shared/2 ||w0||^2

    (the weak ridge ``alpha_shared`` on the fixed slopes ``w0`` keeps separable
    data finite; ``b0`` is unpenalised), and ``theta`` maximises the Laplace
    approximation of the log marginal likelihood

    ::

        F(theta) = -Psi(mode) - 1/2 sum_t log det(I + S G_t S),
        G_t = Z_t' W_t Z_t,  W_t = diag(s_i mu_i (1 - mu_i)) at the mode

    (lme4's Laplace criterion with the fixed effects inside PIRLS, i.e. its
    ``nAGQ=0``). L-BFGS-B optimises ``theta`` within its bounds ``theta >= 0``
    using the exact gradient of ``F`` (including the dependence of ``W`` on the
    mode), each evaluation warm-starting PIRLS from the previous mode. Because
    ``u_t = S a_t``, a variance of 0 is an ordinary point: a fit on the boundary is
    returned with a note (``singular_``, ``at_boundary_`` and
    ``convergence_note_``), never an error or a warning.

    What a tiny task borrows: its coefficients are the posterior modes
    ``beta + u_t``; ``shrinkage_[t, j]`` (0: its own data, 1: fully pooled) says how
    far coefficient ``j`` is pulled to ``beta``. A task with one class only gets a
    finite, shrunken intercept.

    Limits: ``theta = 0`` is the pooled logistic regression (ridge
    ``alpha_shared`` on the slopes); ``theta -> inf`` the independent per-task
    models.

    Parameters
    ----------
    random_slopes : bool, default=True
        Random slopes with independent variances (``(1 + x || task)``). False:
        random intercepts only (``(1 | task)``).
    alpha_shared : float, default=1e-4
        Weak ridge on the fixed slopes ``w0`` (prior precision); it only matters on
        (quasi-)separable data. 0: none.
    %(task_column)s
    %(hierarchical.unseen_task)s
    tol : float, default=1e-7
        L-BFGS-B stops when the projected gradient of ``F / sum(sample_weight)`` in
        the scaled parameters ``theta_j * std(x_j)`` is at most ``tol``; PIRLS is
        solved to ``1e-12`` relative.
    max_iter : int, default=200
        Maximum L-BFGS-B iterations.

    Attributes
    ----------
    intercept_variance_ : float
        ``theta_0^2``, variance of the task intercepts.
    slope_variances_ : ndarray of shape (n_features,)
        ``theta_j^2``, variance of the task slopes (0 without random slopes).
    at_boundary_ : ndarray of bool of shape (n_features + 1,)
        Estimated variance components at 0 (column 0 the intercept).
    singular_ : bool
        Whether any variance component is at 0 (a boundary, or singular, fit).
    convergence_note_ : str
        Names the components at 0 in a singular fit; empty otherwise.
    shrinkage_ : ndarray of shape (n_tasks, n_features + 1)
        Pooling factor ``1 - diag(S M_t^{-1} S G_t)`` with ``M_t = I + S G_t S``
        at the mode: 0 for a coefficient the task estimates from its own data, 1 for
        one fully pooled (column 0 the intercept).
    log_marginal_likelihood_ : float
        ``F(theta)`` at the optimum.
    %(hierarchical.coefficients)s
    classes_ : ndarray of shape (2,)
    n_iter_ : int
        L-BFGS-B iterations.
    %(layout_attributes)s

    See Also
    --------
    HierarchicalLogisticRegression : The same model with fixed strengths.
    HierarchicalLogisticRegressionCV : The strengths chosen by cross-validation.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear_model import BayesianHierarchicalClassifier
    >>> rng = np.random.RandomState(0)
    >>> task = np.repeat(np.arange(10), 40)
    >>> x = rng.randn(400, 2)
    >>> offset = rng.randn(10)[task]
    >>> y = (x[:, 0] + offset + rng.logistic(size=400) > 0).astype(int)
    >>> X = np.column_stack([task, x])
    >>> clf = BayesianHierarchicalClassifier(random_slopes=False, task_column=0)
    >>> clf = clf.fit(X, y)
    >>> bool(clf.intercept_variance_ > 0.1)
    True
    >>> clf.shrinkage_.shape
    (10, 3)
    """

    _parameter_constraints = {
        **_BASE_CONSTRAINTS,
        "random_slopes": ["boolean"],
        "alpha_shared": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        random_slopes=True,
        alpha_shared=1e-4,
        *,
        task_column=None,
        unseen_task="error",
        tol=1e-7,
        max_iter=200,
    ):
        self.random_slopes = random_slopes
        self.alpha_shared = alpha_shared
        self.task_column = task_column
        self.unseen_task = unseen_task
        self.tol = tol
        self.max_iter = max_iter

    def _fit_stacked(self, problem):
        data, Z, task, y01, sw = problem[:5]
        p = Z.shape[1]
        d = p - 1
        T = data.n_tasks
        blocks = TaskBlocks(Z, y01, sw, task, T)
        model = _LaplaceModel(blocks, self.alpha_shared, self.random_slopes)
        sw_sum = float(sw.sum())
        # optimise psi = theta * scale (scale: std of the column, 1 for the intercept)
        w = sw / sw_sum
        mean = w @ Z
        scale = np.sqrt(np.maximum(w @ (Z - mean) ** 2, 0.0))
        scale[0] = 1.0
        scale[scale == 0] = 1.0
        scale = scale[model.idx_u]
        q = len(model.idx_u)

        def fun(psi):
            F, grad = model.evaluate(psi / scale)
            return -F / sw_sum, -grad / scale / sw_sum

        opt = minimize(
            fun,
            np.full(q, 0.5),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * q,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 1e-15},
        )
        psi = np.asarray(opt.x, dtype=float)
        # a component the optimiser left numerically at 0 is on the boundary
        boundary = psi <= 1e-6
        psi[boundary] = 0.0
        theta = psi / scale
        F, _ = model.evaluate(theta, gradient=False)
        res = model.last
        full_theta = np.zeros(p)
        full_theta[model.idx_u] = theta
        self._set_coefficients(res.beta, res.U * full_theta)
        self.intercept_variance_ = float(full_theta[0] ** 2)
        self.slope_variances_ = full_theta[1:] ** 2
        self.at_boundary_ = np.zeros(p, dtype=bool)
        self.at_boundary_[model.idx_u] = boundary
        SGS_inv = np.zeros((T, p, p))
        SGS_inv[np.ix_(np.arange(T), model.active, model.active)] = model.M_inv
        S = full_theta
        # 1 - diag(S M^{-1} S G)
        self.shrinkage_ = 1.0 - np.einsum(
            "tjk,tkj->tj", SGS_inv * S[None, :, None] * S[None, None, :], res.G
        )
        self.log_marginal_likelihood_ = float(F)
        self.n_iter_ = int(opt.nit)
        if not opt.success:
            warnings.warn(
                f"{type(self).__name__}: L-BFGS-B stopped without convergence after "
                f"{opt.nit} iterations ({opt.message}). Increase max_iter or relax "
                "tol.",
                ConvergenceWarning,
                stacklevel=5,
            )
        # a boundary (singular) fit is the maximum, not a failure: a note, as
        # BayesianHierarchicalRegression gives, and no warning (lme4's message)
        names = ["intercept"] + [f"feature {j}" for j in range(d)]
        at = [names[model.idx_u[j]] for j in np.flatnonzero(boundary)]
        self.singular_ = bool(at)
        self.convergence_note_ = (
            f"boundary (singular) fit: the task variance of {', '.join(at)} is "
            "estimated at 0 (those coefficients are pooled across tasks)."
            if at
            else ""
        )
        return self


class _LaplaceModel:
    """PIRLS at a given ``theta`` with warm starts, and the Laplace criterion."""

    def __init__(self, blocks, alpha_shared, random_slopes):
        p = blocks.p
        self.blocks = blocks
        self.p = p
        self.idx_b = np.arange(p)
        self.pen_b = np.concatenate([[0.0], np.full(p - 1, float(alpha_shared))])
        self.idx_u = np.arange(p) if random_slopes else np.array([0])
        self.beta = None
        self.A = None
        self.last = None
        self.M_inv = None
        self.active = self.idx_u

    def evaluate(self, theta, gradient=True):
        """Laplace criterion and its gradient at ``theta`` (one per random column).

        Columns with ``theta_j = 0`` have no random effect (``u_tj = 0``): they are
        left out of PIRLS, and the criterion's derivative there is exactly 0 (it is
        even in ``theta_j``).
        """
        full = np.zeros(self.p)
        full[self.idx_u] = theta
        on = theta > 0
        self.active = self.idx_u[on]
        res = newton_blocks(
            self.blocks,
            self.idx_b,
            self.pen_b,
            self.active,
            full,
            np.ones(self.p),
            self.beta,
            self.A,
            tol=1e-13,
            max_iter=200,
        )
        self.beta, self.A, self.last = res.beta, res.U, res
        F, grad_on, self.M_inv = laplace_criterion(
            self.blocks, res, self.idx_b, self.pen_b, self.active, full, gradient
        )
        grad = None
        if gradient:
            grad = np.zeros(len(self.idx_u))
            grad[on] = grad_on
        return F, grad
