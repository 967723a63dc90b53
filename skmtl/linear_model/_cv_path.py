"""Cross-validated forms of the penalised linear models, one generic path CV.

Every CV form here wraps one base estimator. For each training fold it fits the
base estimator along a decreasing grid of its strength (``alphas``, from the
model's ``alpha_max`` down to ``eps * alpha_max``), each fit warm-started from the
previous one (the base estimator's own ``warm_start``), scores the held-out rows,
and refits the base estimator on all the data at the strength with the lowest
mean held-out error. Every other parameter of the base estimator is a parameter of
the CV form too, with the same default, and is passed through unchanged: the
constructor is generated from the base class's signature when the class is
defined (as :mod:`dataclasses` does), so parameters added to a base estimator
appear in its CV form without an edit here.
"""

import inspect
import re
import textwrap
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import delayed
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted

from .._compat import (
    Interval,
    safe_indexing,
)
from .._data import validate_fit_data
from .._docstring import fill_doc, substitute
from ..base import (
    MultiTaskClassifierMixin,
    MultiTaskMixin,
    MultiTaskRegressorMixin,
    RefitMixin,
)
from ._base import encode_binary_targets
from ._cv import CVMixin, _check_fold, cv_splitter, task_mse
from ._low_rank import TraceNormLogisticRegression, TraceNormRegression
from ._path import (
    QUADRATIC_SCALE,
    alpha_grid,
    check_alpha_means,
    check_alphas,
    largest_task_curvature,
    null_gradient,
    penalty_alpha_max,
)
from ._sparse import (
    DirtyMultiTaskLasso,
    MultiTaskLogisticLasso,
    MultiTaskSparseGroupLasso,
)
from ._structured import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
    resolve_task_graph,
)

__all__ = [
    "ClusteredMultiTaskRegressionCV",
    "DirtyMultiTaskLassoCV",
    "GraphRegularizedMultiTaskRegressionCV",
    "MultiTaskLogisticLassoCV",
    "MultiTaskSparseGroupLassoCV",
    "TraceNormLogisticRegressionCV",
    "TraceNormRegressionCV",
]

# never passed through: the CV form warm-starts its path fits itself
_NOT_PASSED = ("warm_start",)


def task_log_loss(data, decision):
    """Mean over tasks (those with held-out rows) of each task's weighted mean
    logistic loss (half the deviance) of the 0/1 targets ``data.y``."""
    sw = data.sample_weight
    loss = np.logaddexp(0.0, decision) - data.y * decision
    if data.layout == "shared":
        obs = np.ones(data.y.shape, bool) if data.mask is None else data.mask
        w = sw[:, None] * obs
        num = np.sum(w * np.where(obs, loss, 0.0), axis=0)
        den = w.sum(axis=0)
    else:
        T = data.n_tasks
        num = np.bincount(data.task_codes, weights=sw * loss, minlength=T)
        den = np.bincount(data.task_codes, weights=sw, minlength=T)
    present = den > 0
    return float(np.mean(num[present] / den[present]))


def _indexable(a):
    """``a`` as something ``safe_indexing`` takes rows of (pandas and sparse
    kept, so that a ``task_column`` given by name still resolves)."""
    if a is None or hasattr(a, "iloc"):
        return a
    if sp.issparse(a):
        return a.tocsr()  # COO / DIA have no row indexing
    return np.asarray(a)


def _rows(a, rows):
    return None if a is None else safe_indexing(a, rows)


def _fold_path(base, X, y, sw, data, train, test, k, grid, setting, mean, cv_form):
    """Held-out errors of the warm-started path of ``base`` on one fold."""
    _check_fold(data.subset(train), k, classification=cv_form._clf)
    held = data.subset(test)
    X_train, y_train, sw_train = _rows(X, train), _rows(y, train), _rows(sw, train)
    X_test = _rows(X, test)
    est = clone(base).set_params(
        warm_start=True, **cv_form._fixed_params(setting), **cv_form._mean_params(mean)
    )
    # factorisations of the training data alone (the trace norm's per-task
    # factors), shared by the path's fits: the data do not change along it
    est._path_cache = {}
    errors = np.empty(len(grid))
    for i, alpha in enumerate(grid):
        est.set_params(**cv_form._path_params(alpha, setting))
        est.fit(X_train, y_train, sample_weight=sw_train)
        errors[i] = cv_form._error(held, est, X_test)
    return errors


class _PathCV(RefitMixin, CVMixin, MultiTaskMixin, BaseEstimator):
    """Generic cross-validated path of a penalised linear base estimator.

    A subclass sets ``_base`` (the base class), ``_tuned`` (its parameters set
    along the path, not passed through), ``_extra`` (parameters of the CV form
    that the base lacks: ``{name: (default, constraint)}``), ``_grid`` (a
    parameter that may be a list of values, each with its own path, or None)
    and ``_penalty`` (the penalty named to :func:`penalty_alpha_max` for the top
    of the automatic grid, given the ``_grid`` value as its keyword
    ``_penalty_setting`` where that is set) or implements
    ``_alpha_max(data, setting)``. Along the
    path the first tuned parameter is ``alpha``; ``_scaled`` names a second one,
    set to ``setting * alpha`` (the ``_grid`` value is its ratio to ``alpha``),
    whose chosen value is the fitted attribute ``_scaled + "_"``.
    """

    _base = None
    _tuned = ("alpha",)
    _extra = {}
    _grid = None
    _penalty = None
    _penalty_setting = None
    _scaled = None

    def _null_gradient(self, data):
        """``null_gradient`` of the base estimator's loss, intercept model and task
        weighting, for ``alpha_max`` (the top of the grid is that of the problem
        solved)."""
        return null_gradient(
            data,
            "logistic" if self._clf else "squared",
            fit_intercept=self.fit_intercept,
            alpha_intercepts=self.alpha_intercepts,
            task_weighting=self.task_weighting,
        )

    def _alpha_max(self, data, setting):
        """The top of the automatic grid: ``alpha_max`` of ``_penalty``."""
        options = {}
        if self._penalty_setting is not None:
            options[self._penalty_setting] = setting
        return penalty_alpha_max(self._null_gradient(data), self._penalty, **options)

    def _path_params(self, alpha, setting):
        """Base parameters at a point of the path: the first tuned one is
        ``alpha``, the ``_scaled`` one ``setting * alpha``."""
        params = {self._tuned[0]: alpha}
        if self._scaled is not None:
            params[self._scaled] = setting * alpha
        return params

    #: default of ``alpha_means`` where the base estimator has ``alpha_mean``,
    #: and the reason written into the docstring (the reasons here are docstring
    #: fragments, ``skmtl._docstring``: plain text, no leading indentation)
    _alpha_means_default = 1
    _alpha_means_why = ""
    #: defaults of passed-through parameters that differ from the base
    #: estimator's (``{name: (default, reason for the docstring)}``)
    _passed_defaults = {}
    #: default ``eps`` of the automatic grid and the reason for the docstring
    _eps_default = (1e-3, "")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_base" in cls.__dict__:
            if cls._has_mean():
                cls._tuned = tuple(cls._tuned) + ("alpha_mean",)
                cls._extra = {
                    **cls._extra,
                    "alpha_means": (
                        cls._alpha_means_default,
                        [Interval(Integral, 1, None, closed="left"), "array-like"],
                    ),
                }
            cls.__init__ = _make_init(cls)
            cls._parameter_constraints = _constraints(cls)

    # ------------------------------------------------------------ parameters
    @classmethod
    def _has_mean(cls):
        """Whether the base estimator has ``alpha_mean`` (then tuned on a grid,
        ``alpha_means``)."""
        return "alpha_mean" in inspect.signature(cls._base.__init__).parameters

    def _mean_values(self, data):
        """The ``alpha_mean`` grid (``[None]`` where the base has none). The
        automatic scale is the squared loss's ``L_max``; a quarter of it for the
        logistic loss (whose curvature is at most ``p (1 - p) <= 1/4`` times)."""
        if not self._has_mean():
            return [None]
        values = check_alpha_means(
            self.alpha_means,
            data,
            fit_intercept=self.fit_intercept,
            task_weighting=self.task_weighting,
        )
        if self._clf and isinstance(self.alpha_means, Integral):
            values = values / 4.0
        return [float(v) for v in values]

    def _mean_params(self, mean):
        return {} if mean is None else {"alpha_mean": mean}

    @classmethod
    def _passed_names(cls):
        return [
            name
            for name in inspect.signature(cls._base.__init__).parameters
            if name != "self" and name not in cls._tuned + _NOT_PASSED
        ]

    def _grid_values(self):
        """The values of the ``_grid`` parameter (one path each)."""
        if self._grid is None:
            return [None]
        value = getattr(self, self._grid)
        values = np.atleast_1d(np.asarray(value, dtype=float)).ravel()
        if values.size == 0:
            raise ValueError(f"{self._grid} is empty; give at least one value.")
        constraint = self._base_constraint(self._grid)
        for v in values:
            if not any(
                isinstance(c, Interval) and c.is_satisfied_by(float(v))
                for c in constraint
            ):
                raise ValueError(
                    f"every {self._grid} must be in {constraint[0]}; got {v!r} in "
                    f"{self._grid}={value!r}."
                )
        return [float(v) for v in values]

    def _base_constraint(self, name):
        if name in self._extra:
            return [self._extra[name][1]]
        return self._base._parameter_constraints[name]

    def _base_estimator(self, settings):
        params = {name: getattr(self, name) for name in self._passed_names()}
        if self._grid in params:  # a scalar; each path sets its own value
            params[self._grid] = settings[0]
        return self._base(**params)

    def _fixed_params(self, setting):
        """Base parameters fixed along one path (the ``_grid`` value)."""
        if self._grid is None or self._grid in self._extra:
            return {}
        return {self._grid: setting}

    def _grids(self, data, settings):
        if isinstance(self.alphas, Integral):
            return np.array(
                [
                    alpha_grid(self._alpha_max(data, s), self.alphas, self.eps)
                    for s in settings
                ]
            )
        return np.array([check_alphas(self.alphas)] * len(settings))

    # ------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight, params):
        """Choose the strength by cross-validation, then refit on all the data."""
        settings = self._grid_values()
        data = validate_fit_data(self, X, y, sample_weight, classification=self._clf)
        if self._clf:
            data.y = encode_binary_targets(data)[1]
        grids = self._grids(data, settings)
        splitter = cv_splitter(self.cv, data, self.task_column, self._clf)
        if self._clf and data.layout == "single" and not hasattr(self.cv, "split"):
            # as LogisticRegressionCV: stratified folds for one binary task
            splitter = check_cv(self.cv, data.y, classifier=True)
        folds = self._folds(splitter, X, y, sample_weight, params)
        means = self._mean_values(data)
        base = self._base_estimator(settings)
        X, y = _indexable(X), _indexable(y)
        sample_weight = _indexable(sample_weight)
        jobs = (
            delayed(_fold_path)(
                base,
                X,
                y,
                sample_weight,
                data,
                train,
                test,
                k,
                grids[s],
                setting,
                am,
                self,
            )
            for s, setting in enumerate(settings)
            for am in means
            for k, (train, test) in enumerate(folds)
        )
        # (n_settings[, n_alpha_means], n_alphas, n_folds)
        err, (best_s, best_m, best_a) = self._fold_errors(
            jobs, len(settings), len(means), len(folds)
        )
        setting, alpha = settings[best_s], float(grids[best_s][best_a])
        am = means[best_m]
        self.alpha_ = alpha
        grid_list = self._grid is not None and np.ndim(getattr(self, self._grid)) > 0
        path_name = "log_loss_path_" if self._clf else "mse_path_"
        if grid_list:
            self.alphas_, path = grids, err
        else:
            self.alphas_, path = grids[0], err[0]
        setattr(self, path_name, path)
        if self._grid is not None:
            setattr(self, self._grid + "_", setting)
        if am is not None:
            self.alpha_mean_ = am
            self.alpha_means_ = np.asarray(means)
        refit = clone(base).set_params(
            **self._fixed_params(setting),
            **self._mean_params(am),
            **self._path_params(alpha, setting),
        )
        self.estimator_ = refit.fit(X, y, sample_weight=sample_weight)
        if self._scaled is not None:
            setattr(self, self._scaled + "_", setting * alpha)
        self._adopt_refit()
        return self

    def _error(self, held, est, X_test):
        if self._clf:
            return task_log_loss(held, est.decision_function(X_test))
        return task_mse(held, np.asarray(est.predict(X_test), dtype=float))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = self._base().__sklearn_tags__()
        tags.target_tags = base.target_tags
        tags.input_tags = base.input_tags
        if self._clf:
            tags.classifier_tags = base.classifier_tags
        return tags


class _PathCVClassifier(MultiTaskClassifierMixin, _PathCV):
    _clf = True

    def __sklearn_tags__(self):
        # ClassifierMixin (before _PathCV in the MRO) resets the classifier tags
        tags = super().__sklearn_tags__()
        tags.classifier_tags = self._base().__sklearn_tags__().classifier_tags
        return tags

    @fill_doc
    def decision_function(self, X):
        """Linear score of each row under its task's refitted weights.

        %(linear.decision_function_sections)s
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @fill_doc
    def predict_proba(self, X):
        """Class probabilities of the refitted base estimator.

        %(linear.predict_proba_sections)s
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @fill_doc
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (of the refitted base estimator).

        %(linear.predict_log_proba_sections)s
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(X)


class _PathCVRegressor(MultiTaskRegressorMixin, _PathCV):
    _clf = False


def _make_init(cls):
    """An explicit keyword-only ``__init__`` (scikit-learn reads the parameter
    names from its signature): the CV parameters, the CV form's own ones, then
    every parameter of the base estimator except the tuned ones."""
    base_sig = inspect.signature(cls._base.__init__).parameters
    defaults = {"alphas": 20, "eps": cls._eps_default[0]}
    defaults.update({name: spec[0] for name, spec in cls._extra.items()})
    for name in cls._passed_names():
        own = cls._passed_defaults.get(name)
        defaults[name] = base_sig[name].default if own is None else own[0]
    defaults.update({"cv": None, "n_jobs": None})
    args = ", ".join(f"{name}=_defaults[{name!r}]" for name in defaults)
    body = "\n".join(f"    self.{name} = {name}" for name in defaults)
    source = f"def __init__(self, *, {args}):\n{body}\n"
    namespace = {"_defaults": defaults}
    exec(source, namespace)  # noqa: S102 -- as dataclasses builds __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__name__}.__init__"
    init.__module__ = cls.__module__
    return init


def _constraints(cls):
    base = cls._base._parameter_constraints
    out = {k: v for k, v in base.items() if k in cls._passed_names()}
    out.update(
        {
            name: list(spec[1]) if isinstance(spec[1], list) else [spec[1]]
            for name, spec in cls._extra.items()
        }
    )
    if cls._grid is not None:
        out[cls._grid] = list(out[cls._grid]) + ["array-like"]
    out.update(
        {
            "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
            "eps": [Interval(Real, 0, None, closed="neither")],
            "cv": ["cv_object"],
            "n_jobs": [Integral, None],
        }
    )
    return out


# ---------------------------------------------------------------------------
# the CV forms
# ---------------------------------------------------------------------------
class TraceNormRegressionCV(_PathCVRegressor):
    """Trace-norm multi-task regression with ``alpha`` chosen by cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import TraceNormRegressionCV
    >>> X, y = make_multitask_regression(8, 30, 10, structure="low_rank",
    ...                                  random_state=0)
    >>> model = TraceNormRegressionCV(alphas=8, cv=3, task_column=0).fit(X, y)
    >>> model.alpha_means_.shape, model.mse_path_.shape
    ((4,), (4, 8, 3))
    >>> bool(model.alpha_ < model.alphas_[0])
    True
    """

    _base = TraceNormRegression
    _penalty = "trace"
    _alpha_means_default = 4
    _alpha_means_why = (
        "The default 4 (0, 100 L_max, L_max, 0.01\n"
        'L_max) with "auto" intercepts has the best mean rank in\n'
        "``benchmarks/DEFAULTS.md`` over School, Parkinsons and Computer\n"
        "Survey (10% training rows: pooled R^2 0.335 / 0.967 / 0.313 against\n"
        "0.209 / 0.967 / 0.047 without the grid, and 0.337 / 0.907 / 0.309\n"
        "for pooled + task dummies; Computer Survey at 30%: 0.442 against\n"
        "0.363 and 0.429). It costs 4-5x the fit time of one path (10%\n"
        "training rows, one thread: School 1.6 s against 0.36 s, Computer\n"
        "Survey 1.05 s against 0.21 s, Parkinsons 0.9 s against 0.24 s):\n"
        "pass ``alpha_means=1`` for the plain path."
    )


def _logistic_auto(null, auto, at30, many, extra=""):
    """The docstring reason of the logistic CV forms' "auto" intercepts."""
    text = (
        'Its default here is "auto" (the base estimator\'s is 0.0). With free '
        "intercepts a task whose few training rows share one label gets an "
        "unbounded intercept at every ``alpha``, and tasks with 1-4 positives fit "
        "noisy ones: on the real-data benchmark (Landmine, 10% training rows) the "
        f"cross-validation then chose the null model ``W = 0`` (mean task AUC "
        f'0.50) in {null}; "auto" gave {auto} (pooled + task dummies 0.73; at '
        f"30%: {at30}). On 1,000 tasks of 2-10 rows "
        "(``tests/test_defaults_many_tasks.py``) the held-out log-loss was "
        f"{many} (base rate 0.69). {extra}"
    )
    # 72 columns: 80 at the indentation of a parameter's description
    return textwrap.fill(text.strip(), 72)


class TraceNormLogisticRegressionCV(_PathCVClassifier):
    """Trace-norm multi-task logistic regression with ``alpha`` chosen by
    cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.linear_model import TraceNormLogisticRegressionCV
    >>> X, y = make_multitask_classification(6, 40, 8, structure="low_rank",
    ...                                      rank=1, random_state=0)
    >>> clf = TraceNormLogisticRegressionCV(alphas=6, cv=3, task_column=0)
    >>> clf.fit(X, y).log_loss_path_.shape  # (alpha_mean, alpha, fold)
    (4, 6, 3)
    >>> bool(clf.score(X, y) > 0.8)
    True
    """

    _base = TraceNormLogisticRegression
    _penalty = "trace"
    _alpha_means_default = 4
    _alpha_means_why = (
        'The default 4 (with "auto" intercepts) on Landmine (mean task AUC,\n'
        "2 repeats): 0.736 at 10% training rows against 0.638 without the\n"
        "grid (whose low-rank fits let tasks flip the shared direction's\n"
        "sign) and 0.732 for pooled + task dummies; 0.763 at 30% against\n"
        "0.775 and 0.737; on 1,000 tasks of 2-10 rows\n"
        "(``tests/test_defaults_many_tasks.py``) held-out log-loss 0.43\n"
        "against 0.51 (base rate 0.69). It costs 5-10x one path (Landmine:\n"
        "3.5-4.4 s a fit against 0.7 s; 1,000 tasks: 23 s against 5 s): pass\n"
        "``alpha_means=1`` for the plain path."
    )


class MultiTaskLogisticLassoCV(_PathCVClassifier):
    """Multi-task logistic Lasso (L2,1) with ``alpha`` chosen by cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.linear_model import MultiTaskLogisticLassoCV
    >>> X, y = make_multitask_classification(3, 60, 8, n_informative=2, random_state=0)
    >>> clf = MultiTaskLogisticLassoCV(alphas=6, cv=3, task_column=0).fit(X, y)
    >>> clf.classes_
    array([0, 1])
    >>> clf.log_loss_path_.shape  # (alpha_mean, alpha, fold)
    (4, 6, 3)
    """

    _base = MultiTaskLogisticLasso
    _penalty = "l21"
    _alpha_means_default = 4
    _alpha_means_why = (
        'The default 4 (with "auto" intercepts) on Landmine (mean task AUC,\n'
        "2 repeats): 0.736 at 10% training rows against 0.724 without the\n"
        "grid and 0.732 for pooled + task dummies; 0.762 at 30% against\n"
        "0.772 and 0.737; on 1,000 tasks of 2-10 rows\n"
        "(``tests/test_defaults_many_tasks.py``) held-out log-loss 0.43\n"
        "against 0.51 (base rate 0.69). It costs 5-10x one path (Landmine:\n"
        "12-26 s a fit against 1.4-2 s): pass ``alpha_means=1`` for the\n"
        "plain path."
    )
    _passed_defaults = {
        "alpha_intercepts": (
            "auto",
            _logistic_auto(
                "one of two repeats",
                "0.72 (free 0.62)",
                "0.772 against 0.775 free",
                '1.76 free, 0.51 "auto"',
            ),
        )
    }


#: ``_passed_defaults`` of the CV forms whose "auto" intercepts are chosen with
#: their ``alpha_means`` grid (the reason is written there)
_AUTO_SEE_MEANS = {
    "alpha_intercepts": (
        "auto",
        'Its default here is "auto" (the base estimator\'s is 0.0):\n'
        "see ``alpha_means``.",
    )
}


class MultiTaskSparseGroupLassoCV(_PathCVRegressor):
    """Sparse-group multi-task Lasso with ``alpha`` (and ``l1_ratio``) chosen
    by cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskSparseGroupLassoCV
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=[30, 40, 50],
    ...                                  n_features=8, n_informative=2, random_state=0)
    >>> model = MultiTaskSparseGroupLassoCV(l1_ratio=[0.2, 0.8], alphas=5, cv=3,
    ...                                     task_column=0).fit(X, y)
    >>> model.mse_path_.shape  # (l1_ratio, alpha_mean, alpha, fold)
    (2, 4, 5, 3)
    >>> float(model.l1_ratio_)
    0.2
    """

    _base = MultiTaskSparseGroupLasso
    _grid = "l1_ratio"
    _alpha_means_default = 4
    _alpha_means_why = (
        'The default 4 with "auto" intercepts was chosen on\n'
        "``benchmarks/RESULTS.md`` (School, Computer Survey, Parkinsons at\n"
        "10% and 30% training rows, 2 repeats): pooled R^2 0.338 / 0.367 /\n"
        "0.318"
        " / 0.428 / 0.968 / 0.975 against 0.087 / 0.282 / -0.199 / 0.272 /\n"
        "0.968 / 0.975 with free intercepts and no grid, and 0.339 / 0.365 /\n"
        "0.317 / 0.423 / 0.911 / 0.922 for pooled + task dummies, at about\n"
        "10x the fit time of one path: pass ``alpha_means=1`` and\n"
        "``alpha_intercepts=0.0`` for the plain path."
    )
    _passed_defaults = _AUTO_SEE_MEANS
    _penalty = "sparse_group"
    _penalty_setting = "l1_ratio"


class DirtyMultiTaskLassoCV(_PathCVRegressor):
    """Dirty multi-task Lasso with ``alpha_shared`` and ``alpha_specific``
    chosen by cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import DirtyMultiTaskLassoCV
    >>> X, y = make_multitask_regression(n_tasks=3, n_features=6, random_state=0)
    >>> model = DirtyMultiTaskLassoCV(specific_ratio=[0.25, 0.5], alphas=4, cv=3,
    ...                               task_column=0).fit(X, y)
    >>> model.mse_path_.shape  # (specific_ratio, alpha_mean, alpha, fold)
    (2, 4, 4, 3)
    >>> bool(model.alpha_specific_ == model.specific_ratio_ * model.alpha_)
    True
    """

    _base = DirtyMultiTaskLasso
    _alpha_means_default = 4
    _alpha_means_why = (
        'The default 4 with "auto" intercepts was chosen on\n'
        "``benchmarks/RESULTS.md`` (School, Computer Survey, Parkinsons at\n"
        "10% and 30% training rows, 2 repeats): pooled R^2 0.338 / 0.367 /\n"
        "0.319 / 0.428 / 0.969 / 0.975 against 0.183 / 0.315 / -0.199 /\n"
        "0.347 / 0.970 / 0.975 with free intercepts and no grid, and 0.339\n"
        "/ 0.365 / 0.317 / 0.423 / 0.911 / 0.922 for pooled + task\n"
        "dummies. It costs 5-10x one path (5-46 s a fit there, the mean\n"
        "steps of the dirty blocks being Python root-finds): pass\n"
        "``alpha_means=1`` and ``alpha_intercepts=0.0`` for the plain path."
    )
    _passed_defaults = _AUTO_SEE_MEANS
    _tuned = ("alpha_shared", "alpha_specific")
    _scaled = "alpha_specific"
    _extra = {"specific_ratio": (0.5, Interval(Real, 0, None, closed="neither"))}
    _grid = "specific_ratio"
    _penalty = "dirty"
    _penalty_setting = "ratio"


class ClusteredMultiTaskRegressionCV(_PathCVRegressor):
    """Clustered multi-task regression with its strength chosen by cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import ClusteredMultiTaskRegressionCV
    >>> X, y = make_multitask_regression(6, 40, 8, structure="clustered", n_clusters=2,
    ...                                  random_state=0)
    >>> model = ClusteredMultiTaskRegressionCV(alphas=5, cv=3,
    ...                                        task_column=0).fit(X, y)
    >>> bool(model.beta_ == 0.1 * model.alpha_)
    True
    """

    _base = ClusteredMultiTaskRegression
    _alpha_means_default = 4
    _alpha_means_why = (
        'The defaults 4, "auto" intercepts and ``eps=1e-6`` were chosen on\n'
        "``benchmarks/RESULTS.md`` (School, Computer Survey, Parkinsons at\n"
        "10% and 30% training rows, 2 repeats): pooled R^2 0.338 / 0.366 /\n"
        "0.323 / 0.430 / 0.964 / 0.973 against 0.098 / 0.219 / -0.198 / 0.335\n"
        "/ 0.922 / 0.932 with free intercepts, no grid and ``eps=1e-3``, and\n"
        "0.339 / 0.365 / 0.317 / 0.423 / 0.911 / 0.922 for pooled + task\n"
        "dummies, at 6-35 s a fit against about 0.6 s: pass\n"
        "``alpha_means=1``, ``alpha_intercepts=0.0`` and ``eps=1e-3`` for the\n"
        "plain path."
    )
    _passed_defaults = _AUTO_SEE_MEANS
    _eps_default = (
        1e-6,
        "The default 1e-6 (1e-3 elsewhere): ``alpha_max`` gives the\n"
        "weakest direction, the cluster centres (curvature ``2 beta``), 100\n"
        "``L_max``; the pooled fit with the mean term needs that ridge far\n"
        "below the data's curvature (School, 10%: the best point lay at\n"
        "``1e-5 alpha_max``).",
    )
    _tuned = ("alpha", "beta")
    _scaled = "beta"
    _extra = {"beta_ratio": (0.1, Interval(Real, 0, None, closed="neither"))}
    _grid = "beta_ratio"

    def _alpha_max(self, data, setting):
        # the weakest penalised direction (a cluster centre) has curvature
        # 2 * beta = 2 * beta_ratio * alpha
        lmax = largest_task_curvature(data, self.fit_intercept)
        return _positive(QUADRATIC_SCALE * lmax / (2.0 * setting))


class GraphRegularizedMultiTaskRegressionCV(_PathCVRegressor):
    """Graph-regularised multi-task regression with
    ``alpha`` chosen by cross-validation.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import GraphRegularizedMultiTaskRegressionCV
    >>> X, y = make_multitask_regression(4, 20, 5, structure="mean", random_state=0)
    >>> model = GraphRegularizedMultiTaskRegressionCV(alphas=6, cv=3,
    ...                                               task_column=0).fit(X, y)
    >>> model.alphas_.shape, model.mse_path_.shape  # (l1_ratio, alpha, fold)
    ((4, 6), (4, 6, 3))
    >>> float(model.l1_ratio_)  # the graph term alone won on these tasks
    0.0
    """

    _base = GraphRegularizedMultiTaskRegression
    _grid = "l1_ratio"
    _passed_defaults = {
        "l1_ratio": (
            (0.0, 0.1, 0.5, 0.9),
            "The default (four paths; the base estimator's is 0.0) was\n"
            "chosen on ``benchmarks/bench_realdata.py`` (School, Computer\n"
            "Survey, Parkinsons at 10% and 30% training rows, 2 repeats):\n"
            "the graph term leaves the mean of the task weights\n"
            "unpenalised, and the L1 term is then the only shrinkage of the\n"
            "shared weights. Pooled R^2 0.340 / 0.368 / 0.312 / 0.433 /\n"
            "0.965 / 0.974 against 0.337 / 0.366 / 0.313 / 0.435 / 0.924 /\n"
            "0.935 with ``l1_ratio=0.0``, and 0.339 / 0.365 / 0.317 / 0.423\n"
            "/ 0.911 / 0.922 for pooled + task dummies. It costs 10-80x the\n"
            "plain path (1.5-10 s a fit against 0.1-0.3 s): pass\n"
            "``l1_ratio=0.0`` for it.",
        ),
        "max_iter": (
            5000,
            "The default here is 5000 (the base estimator's is 1000): with\n"
            "``l1_ratio > 0`` FISTA needed 1,020-2,530 iterations at the\n"
            "smallest ``alpha`` of the default grids on Parkinsons\n"
            "(correlated features), 0.1-0.3 s each.",
        ),
    }

    _penalty = "l1"
    _penalty_setting = "l1_ratio"

    def _alpha_max(self, data, setting):
        if setting > 0:
            return super()._alpha_max(data, setting)
        # tr(W^T L W) leaves the mean of the task weights free: its weakest
        # penalised direction has curvature 2 alpha lambda_2 (lambda_2: smallest
        # positive eigenvalue of the Laplacian L)
        A = resolve_task_graph(self.task_graph, data.tasks)
        lam = np.linalg.eigvalsh(np.diag(A.sum(axis=1)) - A)
        positive = lam[lam > 1e-10 * max(lam[-1], 1e-300)]
        lmax = largest_task_curvature(data, self.fit_intercept)
        if positive.size == 0:  # no edge (or one task): alpha does nothing
            return _positive(lmax)
        return _positive(QUADRATIC_SCALE * lmax / (2.0 * positive[0]))


def _positive(value):
    return value if value > 0 else 1.0


# ---------------------------------------------------------------------------
# the docstrings: ``_DOC`` filled by ``_document`` from the fragments of
# ``_CV_PATH``, each form's own docstring (its summary and examples) and its
# own texts (:mod:`skmtl._docstring`)
# ---------------------------------------------------------------------------
_DOC = """%(summary)s

    Fits :class:`%(base)s` along a decreasing grid of %(what)s, from ``alpha_max``
    down to ``eps * alpha_max`` (log-spaced) or over the given ``alphas``; on
    every training fold each fit is warm-started from the previous one. The
    strength with the lowest mean held-out %(error)s over the folds is refitted
    on all the data (``estimator_``), whose fitted attributes (``coef_``,
    ``intercept_``, ...) are copied onto this object and which makes the
    predictions. Every parameter of :class:`%(base)s` other than %(tuned)s is a
    parameter here with the same default and meaning, passed through
    unchanged.

    %(alpha_max)s

    Parameters
    ----------
    alphas : int or array-like, default=20
        Number of values on the automatic grid, or the values of ``alpha``.
        Each point is a full solve of the base estimator (warm-started), so the
        default grid is coarser than :class:`MultiTaskLassoCV`'s 100.
    eps : float, default=%(eps)s
        ``alpha_min / alpha_max`` of the automatic grid.
        %(eps_why)s
    %(ratio_param)s
    %(alpha_means)s
    %(passed_params)s
    cv : int, cross-validation generator or iterable, default=None
        None or an int ``k`` (5 when None): ``TaskStratifiedKFold(k)`` in the
        stacked layout (every task in every training fold). In the
        shared-design layout scikit-learn's ``KFold(k)``, as
        :class:`MultiTaskLassoCV`, except with missing targets or for a
        classifier: the rows are then dealt by their rarest observed task
        (classifiers: task and class), so that each keeps training rows. In
        the single layout ``KFold(k)``, or ``StratifiedKFold(k)`` for a
        classifier, as ``LogisticRegressionCV``. Any splitter works as long
        as every task has training rows in every fold (else a ValueError
        names the task); ``groups`` reach it under metadata routing.
    n_jobs : int, default=None
        Folds (and the values of ``%(grid)s``) run in parallel with joblib.

    Attributes
    ----------
    alpha_ : float
        The chosen %(alpha_word)s.
    %(chosen)s
    alphas_ : ndarray of shape (n_alphas,) or (%(grid_shape)s, n_alphas)
        The grid (decreasing); one row per value of ``%(grid)s`` when it is a list.
    %(path)s : ndarray of shape (n_alphas, n_folds) or (%(grid_shape)s, n_alphas, \
n_folds)
        Held-out error of each grid point on each fold: the mean over tasks
        (those with held-out rows) of each task's sample-weighted %(error_long)s,
        every task counting equally as in the objective.
        %(path_note)s
    estimator_ : %(base)s
        The base estimator refitted on all the data with the chosen strength.
    coef_ : ndarray of shape (n_tasks, n_features)
        And every other fitted attribute of ``estimator_`` (see
        :class:`%(base)s`).
    intercept_ : ndarray of shape (n_tasks,)
    %(layout_attributes)s

    See Also
    --------
    %(base)s : The model at a fixed strength.

    Examples
    --------
    %(examples)s
"""

#: the Examples header of a CV form's own docstring, between its summary and
#: its examples
_EXAMPLES = re.compile(r"\n\s*Examples\n\s*-+\n")

#: the dual norm of each ``_penalty`` (that of ``_document``'s ``alpha_max``)
_DUAL_NORMS = {
    "trace": "the spectral norm ``||V||_2``",
    "l21": "the largest column norm ``max_j ||V[:, j]||``",
    "sparse_group": "the sparse-group dual norm: the smallest ``s`` with\n"
    "``||soft_threshold(V[:, j] / s, l1_ratio)|| <= 1 - l1_ratio`` for every ``j``",
}

#: The fragments of ``_DOC`` and the defaults of the texts a CV form may
#: override (``_document(cls, ..., alpha_max=...)``): ``what`` is the strength
#: the grid runs over; ``alpha_max`` says what the top of the automatic grid is
#: (by default the dual norm ``norm`` of the penalty, from ``_DUAL_NORMS``, at
#: the residuals ``residuals`` of the loss),
#: ``quadratic_max`` and ``data_scale`` what it is where no strength gives
#: ``W = 0`` (a form using them names its weakest penalised direction,
#: ``weakest``; ``kept`` is what no task keeps more than 1% of there);
#: ``ratio_param`` documents a ratio parameter of the form's own. The texts of
#: each loss are in ``_LOSS_TEXTS``; the rest is filled in by ``_document``.
_CV_PATH = {
    "alpha_max": """\
        ``alpha_max`` is the smallest ``alpha`` giving ``W = 0``: the dual norm of
        the penalty (%(norm)s) of ``V = A*(-grad f)`` at ``W = 0`` with the best
        intercepts, ``V[t] = sum_{i in t} omega_i x_i r_i`` (%(residuals)s).""",
    "quadratic_max": """\
        No finite strength gives ``W = 0`` (the penalty is quadratic), so
        %(data_scale)s""",
    "data_scale": """\
        ``alpha_max`` is a data scale: the strength at which the weakest penalised
        direction (%(weakest)s) has curvature 100 times ``L_max``, the largest
        eigenvalue over tasks of the centred, loss-weighted task Gram
        ``X_t^T Omega_t X_t``; there no task keeps more than about 1% of its
        %(kept)s.""",
    "kept": "unpenalised weights",
    "what": "``alpha``",
    "ratio_param": "",
    # the parameter and the attributes of a base estimator with ``alpha_mean``
    "alpha_means_param": """\
        alpha_means : int or array-like, default=%(alpha_means_default)s
            Values of ``alpha_mean`` of :class:`%(base)s` (the ridge
            ``alpha_mean / 2 * sum_t ||w_t - wbar||^2`` pulling each task's weights
            towards their mean) to try: each gets its own warm-started path over
            the alphas (the same alpha grid: the term is flat at ``W = 0``, so
            ``alpha_max`` does not depend on it) and the best ``(alpha,
            alpha_mean)`` pair is refitted (``alpha_mean_``). An int ``n``: 1 is
            ``[0.0]`` (no mean shrinkage); ``n >= 2`` is 0 followed by ``n - 1``
            values log-spaced from ``100 * L_max`` down over 4 decades, where
            ``L_max`` is the largest eigenvalue over tasks of the centred,
            loss-weighted task Gram ``X_t^T Omega_t X_t``
            (%(curvature_note)s). Along a direction of curvature ``h`` a task's
            deviation from ``wbar`` is shrunk by ``h / (h + alpha_mean)``: at
            ``100 L_max`` no task keeps more than about 1% of it (one pooled
            weight vector plus the intercept model, the "pooled + task
            intercepts" baseline), at ``0.01 L_max`` almost all of it, at 0 the
            model is the base one. The cost is ``n`` paths instead of
            one. %(alpha_means_why)s""",
    "alpha_means_attribute": """\
        alpha_means_ : ndarray of shape (n_alpha_means,)
            The ``alpha_mean`` values tried (in order).""",
    "alpha_means_path_note": """\
        With more than one ``alpha_mean`` an axis of length
        ``n_alpha_means`` comes before ``n_alphas``: ``(n_alpha_means,
        n_alphas, n_folds)``, or ``(n_%(grid)s, n_alpha_means, n_alphas,
        n_folds)`` with a list of ``%(grid)s``.""",
}

#: the texts that follow from the loss of the base estimator
_LOSS_TEXTS = {
    "squared": {
        "error": "squared error",
        "error_long": "mean squared error",
        "path": "mse_path_",
        "residuals": "``r_i = y_i - ybar_t``",
        "curvature_note": "the same loss\nweights as the model",
    },
    "logistic": {
        "error": "log-loss",
        "error_long": "mean logistic loss (half the binomial deviance)",
        "path": "log_loss_path_",
        "residuals": (
            "``r_i`` the residuals ``y01_i - p_t`` of the intercept-only logistic model"
        ),
        "curvature_note": (
            "a quarter of it for the logistic loss, whose curvature is at\n"
            "most 1/4 of the squared loss's"
        ),
    },
}

#: a parameter of the base estimator passed through unchanged (``why``: the
#: reason for a default of its own, see ``_passed_defaults``)
_PASSED_PARAM = """\
%(name)s : see :class:`%(base)s`, default=%(default)s
    Passed to :class:`%(base)s`.
    %(why)s"""

#: the ``_grid`` parameter of the base estimator: a value or a list of them
_GRID_PARAM = """\
%(name)s : float or list of float, default=%(default)s
    As in :class:`%(base)s`; with a list, every value gets its own path
    and grid and the best pair is chosen (the chosen value is
    ``%(name)s_``).
    %(why)s"""

#: the attribute holding the chosen value of a parameter
_CHOSEN = """\
%(name)s_ : float
    The chosen ``%(name)s``."""


def _document(cls, **texts):
    """Complete the docstring of the CV form ``cls`` from ``_DOC``.

    The class docstring holds the form's own summary and Examples section;
    ``texts`` any ``_CV_PATH`` default it overrides (such as ``what``, the grid's
    strength). The rest follows from the class: its base estimator, loss, tuned
    parameters (``_tuned``, named as the base parameters not passed through),
    penalty (``_penalty``, whose dual norm gives ``alpha_max``), ``_grid``,
    ``_scaled``, ``alpha_means`` and the defaults of its own
    (``_passed_defaults``, ``_eps_default``).
    """
    summary, examples = _EXAMPLES.split(cls.__doc__)
    base = cls._base.__name__
    # alpha_mean is tuned too, but documented as the form's own alpha_means
    tuned = " and ".join(f"``{name}``" for name in cls._tuned if name != "alpha_mean")
    defaults = inspect.signature(cls._base.__init__).parameters
    has_mean = cls._has_mean()
    grid = cls._grid
    own_grid = grid is not None and grid in cls._extra  # a parameter of the CV form

    def passed_param(name):
        default, why = cls._passed_defaults.get(name, (defaults[name].default, ""))
        template = _GRID_PARAM if name == grid else _PASSED_PARAM
        return substitute(
            template, name=name, base=base, default=repr(default), why=why
        )

    # the chosen values: the form's own ratio and the strength it scales, then
    # alpha_mean, then the value of a list-valued base parameter
    chosen = [name for name in (grid if own_grid else None, cls._scaled) if name]
    chosen_attributes = [substitute(_CHOSEN, name=name) for name in chosen]
    if has_mean:
        chosen_attributes += [
            substitute(_CHOSEN, name="alpha_mean"),
            "%(alpha_means_attribute)s",
        ]
    if grid is not None and not own_grid:
        chosen_attributes.append(substitute(_CHOSEN, name=grid))
    cls.__doc__ = _DOC
    fill_doc(
        cls,
        {**_CV_PATH, **_LOSS_TEXTS["logistic" if cls._clf else "squared"]},
        base=base,
        eps=np.format_float_scientific(cls._eps_default[0], trim="-", exp_digits=1),
        eps_why=cls._eps_default[1],
        alpha_means="%(alpha_means_param)s" if has_mean else "",
        alpha_means_default=repr(cls._alpha_means_default),
        alpha_means_why=cls._alpha_means_why,
        passed_params="\n".join(
            passed_param(name) for name in cls._passed_names() if name not in cls._extra
        ),
        chosen="\n".join(chosen_attributes),
        grid=grid or "alphas",
        grid_shape=f"n_{grid}" if grid else "1",
        alpha_word="``alpha``" if "alpha" in cls._tuned else "strength",
        tuned=tuned,
        path_note="%(alpha_means_path_note)s" if has_mean else "",
        summary=" ".join(summary.split()),
        examples=examples,
        norm=_DUAL_NORMS.get(cls._penalty, ""),
        **texts,
    )


_document(TraceNormRegressionCV)
_document(TraceNormLogisticRegressionCV)
_document(MultiTaskLogisticLassoCV)
_document(MultiTaskSparseGroupLassoCV)
_document(
    DirtyMultiTaskLassoCV,
    what="``alpha_shared = alpha`` with ``alpha_specific = specific_ratio * alpha``",
    alpha_max="""\
        ``alpha_max`` is the smallest ``alpha`` giving ``P = Q = 0``:
        ``max(max_j ||V[:, j]||, max_tj |V[t, j]| / specific_ratio)`` with
        ``V = A*(-grad f)`` at ``W = 0`` with the best intercepts
        (``V[t] = sum_{i in t} omega_i x_i (y_i - ybar_t)``).""",
    ratio_param="""\
        specific_ratio : float or list of float, default=0.5
            ``alpha_specific / alpha_shared``, fixed along each path; with a
            list every value gets its own path (chosen: ``specific_ratio_``).
            Below ``1 / sqrt(n_tasks)`` a feature shared by all tasks goes to
            ``Q``; at 1 or more ``Q`` is used only where it is cheaper than
            ``P`` for a single task (Jalali et al. 2010 take it in between).""",
)
_document(
    ClusteredMultiTaskRegressionCV,
    what="""\
        the overall strength: ``alpha`` with ``beta = beta_ratio * alpha`` (the
        penalty is homogeneous of degree one in ``(alpha, beta)``, so this scales
        it as a whole at a fixed shape; MALSAR's ``eta = beta_ratio``)""",
    alpha_max="%(quadratic_max)s",
    weakest="a cluster centre, curvature ``2 beta = 2 beta_ratio alpha``",
    ratio_param="""\
        beta_ratio : float or list of float, default=0.1
            ``beta / alpha``, fixed along each path (0.1 is the base
            estimator's default ratio); with a list every value gets its own
            path (chosen: ``beta_ratio_``).""",
)
_document(
    GraphRegularizedMultiTaskRegressionCV,
    what="""\
        ``alpha``, the overall strength (graph term and L1 term together, at a
        fixed ``l1_ratio``)""",
    alpha_max="""\
        With ``l1_ratio > 0``, ``alpha_max = max |V| / l1_ratio`` is the smallest
        ``alpha`` giving ``W = 0`` (``V = A*(-grad f)`` at ``W = 0`` with the best
        intercepts; the graph term is flat there). With ``l1_ratio = 0``
        no ``alpha`` gives ``W = 0`` (the graph term leaves the mean of the task
        weights free): %(data_scale)s""",
    weakest="""\
        curvature ``2 alpha lambda_2``, ``lambda_2`` the smallest
        positive eigenvalue of the graph Laplacian""",
    kept="unpenalised weights beyond the pooled (graph-mean) fit",
)
