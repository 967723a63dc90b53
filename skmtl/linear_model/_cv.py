"""Cross-validated MultiTaskLasso / MultiTaskElasticNet along warm-started paths."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, check_cv

from .._compat import (
    Interval,
    InvalidParameterError,
    MetadataRouter,
    MethodMapping,
    fit_context,
    process_routing,
    raise_for_params,
    routing_enabled,
)
from .._data import validate_fit_data
from .._docstring import fill_doc
from .._optim.penalties import L21
from ..base import LinearMultiTaskMixin, MultiTaskMixin, MultiTaskRegressorMixin
from ..model_selection import TaskStratifiedKFold
from ._base import COMMON_CONSTRAINTS, FIT_Y
from ._docs import SKLEARN_COMPAT_PARAMS
from ._path import (
    alpha_grid,
    check_alpha_means,
    check_alphas,
    check_l1_ratio_grid,
    check_values,
    null_gradient,
    path_on_data,
)
from ._sparse import SKLEARN_COMPAT, MultiTaskElasticNet, MultiTaskLasso

__all__ = ["MultiTaskElasticNetCV", "MultiTaskLassoCV"]

#: parameters passed unchanged to the refitted base estimator
_PASSED = (
    "task_column",
    "fit_intercept",
    "alpha_intercepts",
    "task_weighting",
    "unseen_task",
    "max_iter",
    "tol",
    "verbose",
    "copy_X",
    "selection",
    "random_state",
)


def cv_splitter(cv, data, task_column, classification=False):
    """``cv`` as a splitter. An int (5 when None) is scikit-learn's ``KFold``
    (contiguous blocks, no shuffling) in the shared and single layouts, and
    ``TaskStratifiedKFold`` in the stacked layout (plain K-fold over stacked
    rows, sorted by task, would leave whole tasks out of training folds). In the
    shared layout with missing targets, or with ``classification`` (``data.y``
    holding 0/1 targets), the rows are dealt by their rarest observed cell
    (``_shared_folds``): contiguous blocks would leave a task observed on few
    rows, or a rare class of a task, out of a training fold (as scikit-learn's
    classifiers stratify their folds by class)."""
    cv = 5 if cv is None else cv
    if isinstance(cv, Integral) and data.layout == "stacked":
        return TaskStratifiedKFold(cv, task_column=task_column)
    if isinstance(cv, Integral) and data.layout == "shared":
        if data.mask is not None or classification:
            return _shared_folds(cv, data.mask, data.y if classification else None)
    if isinstance(cv, Integral):
        return KFold(cv)
    return check_cv(cv)


def _shared_folds(n_splits, mask, classes=None):
    """Folds of the shared layout: each row is labelled by its rarest observed
    cell, the task with the fewest observed rows or, with ``classes`` (0/1
    targets), the (task, class) with the fewest rows (-1: nothing observed), and
    the labels are dealt by ``TaskStratifiedKFold``, which spreads each label's
    rows over the test folds. ``mask`` (observed entries) None: all observed."""
    shape = classes.shape if mask is None else mask.shape
    mask = np.ones(shape, dtype=bool) if mask is None else mask
    cell = np.broadcast_to(np.arange(shape[1]), shape)
    if classes is not None:
        cell = 2 * cell + (classes > 0)
    counts = np.bincount(cell[mask], minlength=2 * shape[1])
    size = np.where(mask, counts[cell], np.iinfo(np.int64).max)
    label = cell[np.arange(shape[0]), np.argmin(size, axis=1)]
    label = np.where(mask.any(axis=1), label, -1)
    folds = TaskStratifiedKFold(n_splits, task_column=0).split(label[:, None])
    return check_cv(list(folds))


def _check_fold(sub, k, classification=False):
    """A clear error for a training fold the model cannot be fitted on: a task
    without rows, or (``classification``, 0/1 targets) a single class."""
    empty = np.flatnonzero(sub.task_weight_sums() <= 0)
    if empty.size:
        labels = sub.tasks[empty[:10]].tolist()
        raise ValueError(
            f"Training fold {k} has no rows (of positive weight) for task(s) "
            f"{labels}; every task needs training rows in every fold. Use "
            "skmtl.model_selection.TaskStratifiedKFold."
        )
    if not classification:
        return
    observed = sub.y if sub.mask is None else sub.y[sub.mask]
    if np.unique(observed).size < 2:
        raise ValueError(
            f"Training fold {k} has targets of one class only; every training "
            "fold needs both classes. Use fewer folds, or pass cv a splitter "
            "that keeps both classes in training."
        )


def task_mse(data, pred):
    """Mean over tasks (those with test rows) of each task's weighted MSE."""
    sw = data.sample_weight
    if data.layout == "shared":
        obs = np.ones(data.y.shape, bool) if data.mask is None else data.mask
        w = sw[:, None] * obs
        num = np.sum(w * (data.y - pred) ** 2, axis=0)
        den = w.sum(axis=0)
    else:
        T, codes = data.n_tasks, data.task_codes
        num = np.bincount(codes, weights=sw * (data.y - pred) ** 2, minlength=T)
        den = np.bincount(codes, weights=sw, minlength=T)
    present = den > 0
    return float(np.mean(num[present] / den[present]))


def _fold_path(data, train, test, k, alphas, l1_ratio, alpha_mean, params):
    sub = data.subset(train)
    _check_fold(sub, k)
    coefs, intercepts, _, _ = path_on_data(
        sub, alphas, l1_ratio=l1_ratio, alpha_mean=alpha_mean, **params
    )
    held_out = data.subset(test)
    errors = [
        task_mse(held_out, held_out.linear_output(c, b))
        for c, b in zip(coefs, intercepts)
    ]
    return np.array(errors)


class CVMixin:
    """What the cross-validated forms share: the public ``fit`` (the search is the
    form's ``_fit(X, y, sample_weight, params)``), ``fit``'s metadata (``groups``
    etc.) routed to the ``split`` of the splitter ``check_cv(self.cv)``, the
    held-out errors of the fold jobs and their best point, and the refit's
    attributes."""

    @fill_doc(
        y_fit=FIT_Y,
        sample_weight_fit="Weights of the training loss and of the held-out errors.",
    )
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, **params):
        """Choose the strengths by cross-validation, then refit on all the data.

        Parameters
        ----------
        %(fit_parameters)s
        **params : dict
            Metadata for the CV splitter (e.g. ``groups`` for ``GroupKFold``).
            Only with ``sklearn.set_config(enable_metadata_routing=True)``, as
            scikit-learn's ``MultiTaskLassoCV``; see its Metadata Routing User
            Guide.

        Returns
        -------
        %(returns_self)s
        """
        raise_for_params(params, self, "fit")
        return self._fit(X, y, sample_weight, params)

    def get_metadata_routing(self):
        """Metadata routing of this object (``groups`` etc. to the CV splitter).

        As scikit-learn's ``LinearModelCV``: the splitter's ``split`` receives
        what it requests from ``fit``.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter` holding this
            estimator's own requests and the mapping of ``fit`` to the
            splitter's ``split``.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                splitter=check_cv(self.cv),
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
        )

    def _folds(self, splitter, X, y, sample_weight, params):
        """The ``(train, test)`` folds of ``splitter``, its ``split`` given the
        metadata of ``fit`` routed to it (none without metadata routing)."""
        if routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **params)
            split_params = routed.splitter.split
        else:
            split_params = {}
        return list(splitter.split(X, y, **split_params))

    def _fold_errors(self, jobs, n_settings, n_means, n_folds):
        """Run the fold jobs (ordered by setting, ``alpha_mean``, fold) in
        parallel: the held-out errors, of shape ``(n_settings, n_means, n_alphas,
        n_folds)`` or without the ``n_means`` axis when it is 1, and the index
        ``(setting, mean, alpha)`` of the lowest mean error over the folds."""
        errors = np.array(Parallel(n_jobs=self.n_jobs)(jobs))
        errors = errors.reshape(n_settings, n_means, n_folds, -1).transpose(0, 1, 3, 2)
        mean = errors.mean(axis=3)
        best = np.unravel_index(np.argmin(mean), mean.shape)
        return (errors[:, 0] if n_means == 1 else errors), best

    def _adopt_refit(self):
        """Copy the public fitted attributes of ``estimator_`` onto this object
        (but ``n_features_in_`` and ``feature_names_in_``, set by its own
        validation)."""
        for name, value in vars(self.estimator_).items():
            if name.endswith("_") and not name.startswith("_"):
                if name not in ("n_features_in_", "feature_names_in_"):
                    setattr(self, name, value)


class _MultiTaskLinearCV(
    CVMixin,
    MultiTaskMixin,
    MultiTaskRegressorMixin,
    LinearMultiTaskMixin,
    BaseEstimator,
):
    """Shared fit of the cross-validated L2,1 models."""

    _parameter_constraints = {
        **{k: v for k, v in COMMON_CONSTRAINTS.items() if k != "warm_start"},
        "eps": [Interval(Real, 0, None, closed="neither")],
        "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "alpha_means": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
        **SKLEARN_COMPAT,
    }

    def _l1_ratios(self):
        return np.ones(1)

    def _grids(self, data, ratios):
        """One decreasing alpha grid per ``l1_ratio`` (validated). ``alpha_max``
        is that of the intercept model and task weighting solved; the
        mean-shrinkage term is flat at ``W = 0``, so every ``alpha_mean`` shares
        the grid."""
        if isinstance(self.alphas, Integral):
            check_l1_ratio_grid(ratios)
            V = null_gradient(
                data,
                fit_intercept=self.fit_intercept,
                alpha_intercepts=self.alpha_intercepts,
                task_weighting=self.task_weighting,
            )
            amax = L21(1.0).dual_norm(V)
            return [alpha_grid(amax / r, self.alphas, self.eps) for r in ratios]
        return [check_alphas(self.alphas)] * len(ratios)

    def _alpha_means(self, data):
        return check_alpha_means(
            self.alpha_means,
            data,
            fit_intercept=self.fit_intercept,
            task_weighting=self.task_weighting,
        )

    def _fit(self, X, y, sample_weight, params):
        """Choose ``alpha`` (and ``l1_ratio``) by cross-validation, then refit."""
        ratios = self._l1_ratios()
        data = validate_fit_data(self, X, y, sample_weight)
        grids = self._grids(data, ratios)
        means = self._alpha_means(data)
        splitter = cv_splitter(self.cv, data, self.task_column)
        folds = self._folds(splitter, X, y, sample_weight, params)
        path_params = dict(
            fit_intercept=self.fit_intercept,
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=max(self.verbose - 1, 0),
            alpha_intercepts=self.alpha_intercepts,
            task_weighting=self.task_weighting,
        )
        jobs = (
            delayed(_fold_path)(
                data, train, test, k, grids[r], ratios[r], am, path_params
            )
            for r in range(len(ratios))
            for am in means
            for k, (train, test) in enumerate(folds)
        )
        # (n_l1_ratio[, n_alpha_means], n_alphas, n_folds)
        mse, (best_r, best_m, best_a) = self._fold_errors(
            jobs, len(ratios), len(means), len(folds)
        )
        self.alpha_ = float(grids[best_r][best_a])
        self.alpha_mean_ = float(means[best_m])
        self.alpha_means_ = means
        self._set_path_attributes(ratios, best_r, np.array(grids), mse)
        self._refit(X, y, sample_weight, ratios[best_r])
        return self

    def _refit(self, X, y, sample_weight, l1_ratio):
        """Refit the base estimator on all the data at the chosen pair; its
        fitted attributes are copied onto this object (``estimator_`` too)."""
        params = dict(
            alpha=self.alpha_,
            alpha_mean=self.alpha_mean_,
            **{name: getattr(self, name) for name in _PASSED},
        )
        if self._base is not MultiTaskLasso:
            params["l1_ratio"] = l1_ratio
        base = self._base(**params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.estimator_ = base.fit(X, y, sample_weight=sample_weight)
        name = f"({self._base.__name__} stopped"
        for w in caught:  # the base's warnings, a non-convergence named as the refit
            message = str(w.message)
            if issubclass(w.category, ConvergenceWarning) and name in message:
                message = message.replace(
                    name,
                    f"({type(self).__name__}'s refit at alpha_={self.alpha_:.4g}, "
                    f"alpha_mean_={self.alpha_mean_:.4g} stopped",
                )
            warnings.warn(message, w.category, stacklevel=4)
        self._adopt_refit()

    @fill_doc
    def predict(self, X):
        """Predict each row with its task's weights (see :class:`MultiTaskLasso`).

        %(predict_sections)s
        """
        return self._decision_function(X)


_CV_DOC = """
    alphas : int or array-like, default=100
        Number of alphas on the automatic grid (log-spaced from ``alpha_max`` down
        to ``eps * alpha_max``, computed on the whole data), or the alphas.
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid. ``alpha_max`` is that of
        the problem solved: the L2,1 dual norm of ``V = A*(-grad f)`` at
        ``W = 0`` with the intercepts of ``alpha_intercepts`` and the loss
        weights of ``task_weighting`` (scikit-learn's ``alpha_max`` with the
        defaults).
    alpha_means : int or array-like, default=1
        Values of ``alpha_mean`` (the ridge ``alpha_mean / 2 * sum_t ||w_t -
        wbar||^2`` pulling each task's weights towards their mean) to try: each
        gets its own warm-started path over the same alphas (the term is flat
        at ``W = 0``, so ``alpha_max`` does not depend on it) and the best
        ``(alpha, alpha_mean)`` pair is refitted (``alpha_mean_``). An int
        ``n``: 1 is ``[0.0]``; ``n >= 2`` is 0 followed by ``n - 1`` values
        log-spaced from ``100 * L_max`` down over 4 decades, where ``L_max`` is
        the largest eigenvalue over tasks of the centred, loss-weighted task
        Gram ``X_t^T Omega_t X_t``. Along a direction of curvature ``h`` a
        task's deviation from ``wbar`` is shrunk by ``h / (h + alpha_mean)``: at
        ``100 L_max`` no task keeps more than about 1% of it (one pooled weight
        vector plus the intercept model: the "pooled + task intercepts"
        baseline). The cost is ``n`` paths instead of one. The default 1 (and
        ``alpha_intercepts=0``) keeps this class a drop-in replacement of
        scikit-learn's, equal to it in the shared-design layout. In the stacked
        layout with small tasks pass ``alpha_means=4`` and
        ``alpha_intercepts="auto"``: for ``MultiTaskLassoCV`` on
        ``benchmarks/RESULTS.md`` (School, Computer Survey, Parkinsons at 10%
        training rows) pooled R^2 0.339 / 0.319 / 0.969 against 0.172 /
        -0.199 / 0.970 with the defaults and 0.339 / 0.317 / 0.911 for pooled
        + task dummies, at 3-9 s a fit against 0.2-0.7 s.
    task_column : int, str or None, default=None
        Column of ``X`` holding the task labels (stacked layout). None: ``y`` is
        ``(n_samples, n_tasks)`` (NaN = missing) or 1-D (one task).
    fit_intercept : bool, default=True
        Fit an intercept per task, with the model of ``alpha_intercepts``.
    alpha_intercepts : float, "auto" or inf, default=0.0
        The intercept model of :class:`MultiTaskLasso` (0: free per-task
        intercepts, scikit-learn's; a float: ``b_t = b_0 + c_t`` with the
        offsets ``c_t`` shrunk by this ridge; "auto": its ANOVA estimate on each
        training fold and on the refit; inf: one pooled intercept).
    task_weighting : {"equal", "size"} or array-like, default="equal"
        The task weights ``omega_t`` of the loss (see :class:`MultiTaskLasso`);
        the held-out error is the mean over tasks whatever the weighting.
    unseen_task : {"error", "shared"}, default="error"
        Passed to the refitted estimator (see :class:`MultiTaskLasso`).
    max_iter : int, default=1000
        Maximum epochs per alpha.
    tol : float, default=1e-4
        Relative duality-gap tolerance per alpha (see ``MultiTaskLasso``).
    cv : int, cross-validation generator or iterable, default=None
        None or an int ``k`` (5 when None): in the shared-design and single
        layouts scikit-learn's ``KFold(k)`` (contiguous blocks, as
        ``sklearn.linear_model.MultiTaskLassoCV``; with missing targets in the
        shared layout the rows are dealt round-robin, grouped by their
        rarest observed task, so that every task keeps training rows); in
        the stacked layout ``TaskStratifiedKFold(k, task_column=task_column)``,
        which keeps every task in every training fold. Any scikit-learn
        splitter also works
        (``GroupKFold`` with ``fit(X, y, groups=...)`` under metadata routing)
        as long as every task has training rows in every fold (else a ValueError
        names the task).
    verbose : int, default=0
        Verbosity of the solver: ``verbose - 1`` for the path fits on the folds,
        ``verbose`` for the refit (see :class:`MultiTaskLasso`); 0 prints nothing.
    n_jobs : int, default=None
        Folds (and ``l1_ratio`` and ``alpha_mean`` values) run in parallel with
        joblib.
"""

_CV_ATTRIBUTES = """
    alpha_ : float
        The alpha with the lowest mean held-out error.
    alphas_ : ndarray of shape (n_alphas,) or (n_l1_ratio, n_alphas)
        The alpha grid (decreasing).
    mse_path_ : ndarray of shape (n_alphas, n_folds) or \
(n_l1_ratio, n_alphas, n_folds)
        Held-out error of each alpha on each fold: the mean over tasks of each
        task's (sample-weighted) mean squared error on its held-out rows, the
        convention of the objective (every task counts equally).
    alpha_mean_ : float
        The chosen ``alpha_mean``.
    alpha_means_ : ndarray of shape (n_alpha_means,)
        The ``alpha_mean`` values tried (in order). With more than one, the
        paths have an axis of length ``n_alpha_means`` before ``n_alphas``:
        ``mse_path_`` is ``(n_alpha_means, n_alphas, n_folds)``, or
        ``(n_l1_ratio, n_alpha_means, n_alphas, n_folds)`` with a list of
        ``l1_ratio``.
    estimator_ : MultiTaskLasso or MultiTaskElasticNet
        The base estimator refitted on all the data at the chosen pair; its
        fitted attributes are copied here.
    coef_ : ndarray of shape (n_tasks, n_features)
        Refitted on all the data with ``alpha_`` and ``alpha_mean_``.
    intercept_ : ndarray of shape (n_tasks,)
    coef_shared_ : ndarray of shape (n_features,)
        What an unseen task gets (see :class:`MultiTaskLasso`).
    intercept_shared_ : float
    alpha_intercepts_ : float
        The intercept strength used by the refit ("auto" resolved).
    dual_gap_ : float
    n_iter_ : int
    %(layout_attributes)s
"""


class MultiTaskLassoCV(_MultiTaskLinearCV):
    """Multi-task Lasso with ``alpha`` chosen by cross-validation.

    For every training fold the problem of :class:`MultiTaskLasso` is solved
    along a decreasing grid of alphas, each solve warm-started from the previous
    one; the alpha with the lowest mean held-out error over the folds is refitted
    on all the data. Both layouts and missing targets work as in
    :class:`MultiTaskLasso`; by default the folds keep every task in every
    training set (:class:`~skmtl.model_selection.TaskStratifiedKFold`).

    Parameters
    ----------
    %(params)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    MultiTaskLasso : The model at a fixed ``alpha``.
    MultiTaskElasticNetCV : The same with a ridge term, its share chosen too.
    multitask_lasso_path : The warm-started path solved on every training fold.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskLassoCV
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=40, n_features=10,
    ...                                  n_informative=3, random_state=0)
    >>> cv = TaskStratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    >>> model = MultiTaskLassoCV(alphas=10, cv=cv, task_column=0).fit(X, y)
    >>> model.mse_path_.shape  # (n_alphas, n_splits)
    (10, 3)
    >>> int((abs(model.coef_).sum(axis=0) > 0).sum())
    3
    """

    _base = MultiTaskLasso

    def __init__(
        self,
        *,
        alphas=100,
        eps=1e-3,
        alpha_means=1,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        cv=None,
        verbose=0,
        n_jobs=None,
        copy_X=True,
        selection="cyclic",
        random_state=None,
    ):
        self.alphas = alphas
        self.eps = eps
        self.alpha_means = alpha_means
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.copy_X = copy_X
        self.selection = selection
        self.random_state = random_state

    def _set_path_attributes(self, ratios, best_r, grids, mse):
        self.alphas_ = grids[0]
        self.mse_path_ = mse[0]


class MultiTaskElasticNetCV(_MultiTaskLinearCV):
    """Multi-task elastic net with ``alpha`` and ``l1_ratio`` set by cross-validation.

    As :class:`MultiTaskLassoCV` for the problem of :class:`MultiTaskElasticNet`;
    with a list of ``l1_ratio`` every value gets its own path and grid.

    Parameters
    ----------
    l1_ratio : float or list of float, default=0.5
        Candidate ``l1_ratio`` values in [0, 1]; 0 (pure ridge) needs an
        explicit grid of ``alphas``, as in scikit-learn.
    %(params)s

    Attributes
    ----------
    l1_ratio_ : float
        The chosen ``l1_ratio``.
    %(attributes)s

    See Also
    --------
    MultiTaskElasticNet : The model at fixed ``alpha`` and ``l1_ratio``.
    MultiTaskLassoCV : The same with ``l1_ratio=1`` (no ridge term).
    multitask_enet_path : The warm-started path solved on every training fold.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskElasticNetCV
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=40, random_state=0)
    >>> model = MultiTaskElasticNetCV(l1_ratio=[0.5, 1.0], alphas=8,
    ...                               task_column=0).fit(X, y)
    >>> model.mse_path_.shape  # (n_l1_ratio, n_alphas, n_splits)
    (2, 8, 5)
    >>> float(model.l1_ratio_)
    1.0
    """

    _base = MultiTaskElasticNet
    _parameter_constraints = {
        **_MultiTaskLinearCV._parameter_constraints,
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), "array-like"],
    }

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        alphas=100,
        eps=1e-3,
        alpha_means=1,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        cv=None,
        verbose=0,
        n_jobs=None,
        copy_X=True,
        selection="cyclic",
        random_state=None,
    ):
        self.l1_ratio = l1_ratio
        self.alphas = alphas
        self.eps = eps
        self.alpha_means = alpha_means
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.copy_X = copy_X
        self.selection = selection
        self.random_state = random_state

    def _l1_ratios(self):
        ratios = check_values(
            self.l1_ratio, "l1_ratio", "a float or a list of floats", "value"
        )
        bad = np.flatnonzero(~((ratios >= 0) & (ratios <= 1)))  # NaN is bad too
        if bad.size:
            raise InvalidParameterError(
                f"l1_ratio values must be in [0, 1]; got {float(ratios[bad[0]])!r} in "
                f"l1_ratio={self.l1_ratio!r}."
            )
        return ratios

    def _set_path_attributes(self, ratios, best_r, grids, mse):
        self.l1_ratio_ = float(ratios[best_r])
        if np.ndim(self.l1_ratio) == 0:
            self.alphas_, self.mse_path_ = grids[0], mse[0]
        else:
            self.alphas_, self.mse_path_ = grids, mse


for _cls in (MultiTaskLassoCV, MultiTaskElasticNetCV):
    fill_doc(_cls, params=_CV_DOC + SKLEARN_COMPAT_PARAMS, attributes=_CV_ATTRIBUTES)
