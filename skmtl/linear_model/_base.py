"""Template of the penalised linear multi-task models.

A concrete model only says which penalty it uses (``_make_penalty``) and, if it is not
the squared loss, which datafit (``_datafit``); fitting, validation, warm starts,
intercepts, convergence reporting and prediction live here once.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from .._compat import Interval, StrOptions, fit_context
from .._data import validate_fit_data
from .._docstring import fill_doc, register, substitute
from .._optim.base import null_scale
from .._optim.datafits import Logistic, Quadratic
from .._optim.design import MultiTaskDesign
from .._optim.intercepts import Intercepts, anova_intercept_ratio
from .._optim.prox_grad import fista
from ..base import (
    LinearMultiTaskMixin,
    MultiTaskClassifierMixin,
    MultiTaskMixin,
    MultiTaskRegressorMixin,
)

COMMON_CONSTRAINTS = {
    "task_column": [Integral, str, None],
    "fit_intercept": ["boolean"],
    "alpha_intercepts": [
        StrOptions({"auto"}),
        Interval(Real, 0, np.inf, closed="both"),  # inf: one pooled intercept
    ],
    "task_weighting": [StrOptions({"equal", "size"}), "array-like"],
    "unseen_task": [StrOptions({"error", "shared"})],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
}


#: scikit-learn's wording (``sklearn/linear_model/_cd_fast.pyx``), which user code
#: may match on (``pytest.warns(ConvergenceWarning, match="Objective did not")``).
CONVERGENCE_MESSAGE = (
    "Objective did not converge. You might want to increase "
    "the number of iterations, check the scale of the "
    "features or consider increasing regularisation."
)


def warn_not_converged(
    name, max_iter, gap, tolerance, *, criterion="duality gap", stacklevel=3
):
    """Emit the family's ``ConvergenceWarning`` (scikit-learn's text first).

    ``gap`` and ``tolerance`` are absolute, as in scikit-learn's message
    ("Duality gap: ..., tolerance: ..."); other stopping criteria are named.
    """
    label = "Duality gap" if criterion == "duality gap" else criterion.capitalize()
    warnings.warn(
        f"{CONVERGENCE_MESSAGE} {label}: {gap:.6e}, tolerance: {tolerance:.3e} "
        f"({name} stopped at max_iter={max_iter}.)",
        ConvergenceWarning,
        stacklevel=stacklevel,
    )


#: ``y`` in the ``fit`` of the linear families (``fill_doc(y_fit=FIT_Y)``)
FIT_Y = """\
    Targets: real values (regressors) or two distinct labels over all
    tasks (classifiers). 2-D (``task_column=None``): one column per task,
    NaN = missing."""

register(
    prefix="linear",
    # ``fit(X, y, sample_weight=None)`` of the linear families
    fit_sections=substitute(
        "%(fit_sections)s",
        y_fit=FIT_Y,
        sample_weight_fit="""\
            Multiplies each row's loss term (and, in a model that chooses its
            strengths by cross-validation, its validation term).""",
    ),
    # the outputs of a per-task binary linear classifier (fitted or refitted)
    decision_function_sections="""\
        %(X_predict_returns)s
        scores : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Positive scores predict ``classes_[1]``; ``(n_samples, n_tasks)`` in
            the shared layout.""",
    predict_proba_sections="""\
        %(X_predict_returns)s
        proba : ndarray of shape (n_samples, 2) or (n_samples, n_tasks)
            Stacked and single layouts: columns follow ``classes_``. Shared
            layout: the probability of ``classes_[1]`` for every task (the
            multilabel convention of scikit-learn).""",
    predict_log_proba_sections="""\
        %(X_predict_returns)s
        log_proba : ndarray of shape (n_samples, 2) or (n_samples, n_tasks)
            Laid out as :meth:`predict_proba`.""",
)


class FitTemplateMixin:
    """One public ``fit`` for the linear families: validation and solving are the
    model's ``_fit(X, y, sample_weight)``."""

    @fill_doc
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        %(linear.fit_sections)s
        """
        return self._fit(X, y, sample_weight)


class _PenalizedMultiTaskLinear(
    FitTemplateMixin, MultiTaskMixin, LinearMultiTaskMixin, BaseEstimator
):
    """Fit ``min_{W,b} sum_t mean-loss_t + penalty(W)`` for any datafit/penalty pair."""

    _parameter_constraints = dict(COMMON_CONSTRAINTS)
    _datafit = Quadratic
    _classification = False

    def _make_penalty(self):
        raise NotImplementedError

    def _targets(self, data):
        """Targets in the datafit's encoding (identity for regression)."""
        return data.y

    def _solver_options(self, **options):
        """Keyword arguments of a solver call: the stopping and logging parameters
        every solver takes, plus ``options``."""
        return {
            "max_iter": self.max_iter,
            "tol": self.tol,
            "verbose": self.verbose,
            **options,
        }

    def _solve(self, design, datafit, penalty, W0, b0):
        return fista(design, datafit, penalty, W0, b0, **self._solver_options())

    def _initial(self, data):
        T, d = data.n_tasks, data.n_features
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (T, d):
            return (
                self.coef_.astype(data.X.dtype),
                np.asarray(self.intercept_, dtype=data.X.dtype),
            )
        return np.zeros((T, d), dtype=data.X.dtype), np.zeros(T, dtype=data.X.dtype)

    def _intercept_strength(self, data, design):
        """``alpha_intercepts`` as a number: "auto" is the one-way random-intercept
        ratio ``sigma^2 / tau^2`` estimated by :func:`auto_intercept_strength`."""
        strength = self.alpha_intercepts
        if isinstance(strength, str):  # "auto"
            strength = auto_intercept_strength(data, design, self._classification)
        return float(strength)

    def _design_and_intercepts(self, data):
        """The loss-weighted design of ``data`` and the intercept model (None
        without intercepts); sets ``alpha_intercepts_``. The loss weights come
        first: the intercept model's penalty weights are theirs."""
        design = MultiTaskDesign(data, task_weighting=self.task_weighting)
        intercepts = None
        if self.fit_intercept:
            strength = self._intercept_strength(data, design)
            intercepts = Intercepts(strength, design.task_omega)
            self.alpha_intercepts_ = strength
        return design, intercepts

    def _fit(self, X, y, sample_weight):
        data = validate_fit_data(
            self,
            X,
            y,
            sample_weight,
            classification=self._classification,
            warm_start=self.warm_start,
        )
        data.y = self._targets(data)
        datafit = self._datafit()
        design, intercepts = self._design_and_intercepts(data)
        center = (
            self.fit_intercept and isinstance(datafit, Quadratic) and intercepts.free
        )
        if center:
            design = design.centred()
        else:
            design.intercepts = intercepts
        W0, b0 = self._initial(data)
        joint_b = b0 if (self.fit_intercept and not center) else None
        result = self._solve(design, datafit, self._make_penalty(), W0, joint_b)
        self.coef_ = result.W
        if center:
            self.intercept_ = design.intercept(result.W)
        elif self.fit_intercept:
            self.intercept_ = result.b
        else:
            self.intercept_ = np.zeros(data.n_tasks, dtype=data.X.dtype)
        self._set_shared(data, intercepts)
        self.n_iter_ = result.n_iter
        criterion = getattr(result, "criterion", "duality gap")
        if criterion == "duality gap":
            self.dual_gap_ = result.gap
        if not result.converged:
            threshold = (
                self.tol * null_scale(design, datafit, joint_b is not None)
                if criterion == "duality gap"
                else self.tol
            )
            warn_not_converged(
                type(self).__name__,
                self.max_iter,
                result.gap,
                threshold,
                criterion=criterion,
                stacklevel=4,
            )
        return self

    def _set_shared(self, data, intercepts):
        """``coef_shared_`` / ``intercept_shared_``: what an unseen task gets.

        The task-size-weighted mean of the task weights, or with ``alpha_mean >
        0`` their plain mean ``wbar`` (the centre of the mean shrinkage; a family
        with a shared component overrides this), and ``b_0`` of the intercept
        model (the ``omega``-weighted mean of the intercepts; 0 without
        intercepts).
        """
        if getattr(self, "alpha_mean", 0.0) > 0:
            self.coef_shared_ = self.coef_.mean(axis=0)
        else:
            sizes = data.task_weight_sums().astype(np.float64)
            self.coef_shared_ = (sizes @ self.coef_ / sizes.sum()).astype(
                self.coef_.dtype
            )
        if intercepts is None:
            self.intercept_shared_ = 0.0
        else:
            self.intercept_shared_ = intercepts.split(self.intercept_)[0]


def auto_intercept_strength(data, design, classification):
    """``alpha_intercepts="auto"``: ``sigma^2 / tau^2`` of a random-intercept model.

    Searle's one-way ANOVA moment estimator (:func:`anova_intercept_ratio`) on the
    stacked training rows: on the residuals of a pooled ridge fit when the features
    are few enough for its normal equations (``n d^2 <= 2e8``; the features then
    explain what they can of the task levels first), on ``y`` itself otherwise. For
    binary targets the ratio is on the probability scale and is mapped to the logit
    scale of the logistic loss by the Bernoulli variance ``p (1 - p)`` of the pooled
    rate. One task, or no between-task variance: ``inf`` (one pooled intercept, the
    same as a free one for a single task).
    """
    rows, task, y, sw = data.stacked_rows()
    if data.n_tasks < 2:
        return np.inf
    y = np.asarray(y, dtype=np.float64)
    ddof = 0
    n, d = len(y), data.n_features
    if not classification and d > 0 and n * d * d <= 2e8:
        X = data.X if rows is None else data.X[rows]
        X = X.toarray() if hasattr(X, "toarray") else X
        X = np.asarray(X, dtype=np.float64)
        w = sw / sw.sum()
        xm, ym = w @ X, w @ y
        Xc, yc = X - xm, y - ym
        G = (Xc * w[:, None]).T @ Xc
        ridge = 1e-6 * max(np.trace(G) / d, 1e-300)
        coef = np.linalg.solve(G + ridge * np.eye(d), (Xc * w[:, None]).T @ yc)
        y = yc - Xc @ coef
        ddof = d
    ratio = anova_intercept_ratio(y, task, data.n_tasks, sw, residual_ddof=ddof)
    if classification and np.isfinite(ratio):
        p = float(np.average(y, weights=sw))
        ratio *= max(p * (1 - p), 1e-12)
    return ratio


class _PenalizedMultiTaskRegressor(MultiTaskRegressorMixin, _PenalizedMultiTaskLinear):
    """Squared-loss models: ``predict`` is the linear output."""

    @fill_doc
    def predict(self, X):
        """Predict each row with its task's weights.

        %(predict_sections)s
        """
        return self._decision_function(X)


def encode_binary_targets(data):
    """Labels of a binary multi-task problem -> ``(classes, Y01)``.

    Every task is a binary problem over the same two labels (any type: ints,
    strings, floats), found among the observed targets of all tasks. ``Y01`` is 1
    where the label is ``classes[1]`` (0 at missing shared-layout entries, whose
    loss weight is 0 anyway).
    """
    y = data.y
    observed = y if data.mask is None else y[data.mask]
    classes = np.unique(np.asarray(observed).ravel())
    if classes.size < 2:
        raise ValueError(
            "This classifier needs samples of 2 classes; got one class "
            f"{classes.tolist()!r} only."
        )
    if classes.size > 2:
        shown = classes.tolist()[:10]
        raise ValueError(
            "Only binary classification is supported. Each task must be a binary "
            f"problem; got {classes.size} classes "
            f"{shown}. Use one-vs-rest (sklearn.multiclass) for more classes."
        )
    Y01 = (y == classes[1]).astype(data.X.dtype)
    if data.mask is not None:
        Y01 = Y01 * data.mask
    return classes, Y01


class BinaryLinearClassifierMixin:
    """Output of a per-task binary linear classifier from ``_decision_function``.

    ``classes_`` holds the two labels shared by every task; the linear score
    ``decision_function`` (``LinearMultiTaskMixin``) is the log-odds of
    ``classes_[1]``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    @fill_doc
    def decision_function(self, X):
        """Compute the log-odds of ``classes_[1]`` for each row under its task's model.

        Rows of a task unseen in ``fit`` use ``coef_shared_`` and
        ``intercept_shared_`` when ``unseen_task="shared"`` and raise a ValueError
        naming the label otherwise.

        %(linear.decision_function_sections)s
        """
        return self._decision_function(X)

    @fill_doc
    def predict(self, X):
        """Predict the label of each row with its task's model.

        The labels are those of ``classes_``.

        %(predict_sections)s
        """
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(np.intp)]

    @fill_doc
    def predict_proba(self, X):
        """Compute class probabilities under each row's task model.

        %(linear.predict_proba_sections)s
        """
        p1 = expit(self.decision_function(X))
        if p1.ndim == 1:
            return np.column_stack([1.0 - p1, p1])
        return p1

    @fill_doc
    def predict_log_proba(self, X):
        """Compute the logarithm of :meth:`predict_proba` stably from the log-odds.

        %(linear.predict_log_proba_sections)s
        """
        f = self.decision_function(X)
        if f.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, f), -np.logaddexp(0.0, -f)])
        return -np.logaddexp(0.0, -f)


class _PenalizedMultiTaskClassifier(
    BinaryLinearClassifierMixin, MultiTaskClassifierMixin, _PenalizedMultiTaskLinear
):
    """Per-task binary logistic models: mean logistic loss of each task + penalty.

    ``classes_`` holds the two labels shared by every task; ``decision_function``
    is the linear output (positive means ``classes_[1]``).
    """

    _datafit = Logistic
    _classification = True

    def _targets(self, data):
        self.classes_, Y01 = encode_binary_targets(data)
        return Y01
