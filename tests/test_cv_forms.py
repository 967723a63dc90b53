"""The path CV forms (``skmtl/linear_model/_cv_path.py``) against oracles.

- the held-out error path, the chosen strength and the refitted coefficients equal
  a manual loop of the base estimator (cold fits) over the same folds, scored by a
  hand-written per-task error;
- ``alpha_max`` zeroes ``W`` and ``alpha_max * (1 - 1e-3)`` does not (norm
  penalties); for the quadratic penalties it shrinks every task to about 1% of its
  unpenalised weights (the documented data scale);
- every base parameter other than the tuned ones is a parameter of the CV form and
  reaches the refitted estimator.
"""

import inspect
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.linear_model import (
    ClusteredMultiTaskRegressionCV,
    DirtyMultiTaskLassoCV,
    GraphRegularizedMultiTaskRegressionCV,
    MultiTaskLogisticLassoCV,
    MultiTaskSparseGroupLassoCV,
    TraceNormLogisticRegressionCV,
    TraceNormRegressionCV,
)
from skmtl.model_selection import TaskStratifiedKFold

# (CV form, its constructor arguments): tight tolerances, so that warm-started
# path fits and cold fits agree far below the differences between alphas
CASES = [
    (TraceNormRegressionCV, dict(tol=1e-10, max_iter=20000)),
    (TraceNormLogisticRegressionCV, dict(tol=1e-10, max_iter=20000)),
    (MultiTaskLogisticLassoCV, dict(tol=1e-12)),
    (MultiTaskSparseGroupLassoCV, dict(l1_ratio=0.3, tol=1e-12)),
    (DirtyMultiTaskLassoCV, dict(specific_ratio=0.5, tol=1e-12)),
    (ClusteredMultiTaskRegressionCV, dict(n_clusters=2, tol=1e-12)),
    (GraphRegularizedMultiTaskRegressionCV, dict(tol=1e-12)),
    (GraphRegularizedMultiTaskRegressionCV, dict(l1_ratio=0.5, tol=1e-12)),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(CASES)]


def _is_clf(cls):
    return cls._clf


def _data(cls, seed=0):
    if _is_clf(cls):
        return make_multitask_classification(
            n_tasks=4, n_samples=30, n_features=5, random_state=seed
        )
    return make_multitask_regression(
        n_tasks=4, n_samples=25, n_features=5, noise=0.5, random_state=seed
    )


def _heldout_error(est, X, y, clf):
    """Mean over tasks of each task's mean squared error / mean logistic loss,
    computed row by row from the task column (an independent implementation)."""
    task = X[:, 0]
    per_task = []
    for t in np.unique(task):
        rows = task == t
        if clf:
            f = est.decision_function(X[rows])
            s = np.where(y[rows] == est.classes_[1], 1.0, -1.0)
            per_task.append(np.mean(np.log1p(np.exp(-s * f))))
        else:
            per_task.append(np.mean((y[rows] - est.predict(X[rows])) ** 2))
    return float(np.mean(per_task))


def _base(cv_form, alpha):
    base = cv_form._base(**{n: getattr(cv_form, n) for n in cv_form._passed_names()})
    setting = getattr(cv_form, cv_form._grid) if cv_form._grid else None
    return base.set_params(
        **cv_form._fixed_params(setting), **cv_form._path_params(alpha, setting)
    )


@pytest.mark.parametrize(("cls", "params"), CASES, ids=IDS)
def test_path_and_refit_equal_a_manual_loop(cls, params):
    X, y = _data(cls)
    clf = _is_clf(cls)
    cv = cls(alphas=5, cv=3, task_column=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X, y)
        folds = list(TaskStratifiedKFold(3, task_column=0).split(X))
        manual = np.array(
            [
                [
                    _heldout_error(_base(cv, a).fit(X[tr], y[tr]), X[te], y[te], clf)
                    for tr, te in folds
                ]
                for a in cv.alphas_
            ]
        )
        refit = _base(cv, cv.alpha_).fit(X, y)
    path = cv.log_loss_path_ if clf else cv.mse_path_
    assert path.shape == (5, 3)
    # the solvers stop at a relative duality gap / gradient of 1e-10 to 1e-12
    assert_allclose(path, manual, rtol=1e-5, atol=1e-8)
    assert cv.alpha_ == cv.alphas_[np.argmin(manual.mean(axis=1))]
    assert_allclose(cv.coef_, refit.coef_, rtol=1e-10, atol=1e-12)
    assert_allclose(cv.intercept_, refit.intercept_, rtol=1e-10, atol=1e-12)
    # the path is not flat: the choice means something
    assert np.ptp(manual.mean(axis=1)) > 1e-3 * manual.mean()


NORM_CASES = [
    c
    for c in CASES
    if c[0] is not ClusteredMultiTaskRegressionCV
    and not (
        c[0] is GraphRegularizedMultiTaskRegressionCV and c[1].get("l1_ratio", 0) == 0
    )
]


@pytest.mark.parametrize(
    ("cls", "params"), NORM_CASES, ids=[f"{c.__name__}" for c, _ in NORM_CASES]
)
def test_alpha_max_is_the_smallest_alpha_giving_zero_weights(cls, params):
    X, y = _data(cls, seed=1)
    cv = cls(alphas=2, cv=3, task_column=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X, y)
        amax = cv.alphas_[0]
        at = _base(cv, amax).fit(X, y).coef_
        above = _base(cv, amax * (1 + 1e-3)).fit(X, y).coef_
        below = _base(cv, amax * (1 - 1e-3)).fit(X, y).coef_
        scale = np.abs(_base(cv, 0.1 * amax).fit(X, y).coef_).max()
    # exact zeros just above alpha_max. At alpha_max itself the objective is flat
    # in W, and FISTA's gap criterion (the trace-norm models) may stop with
    # |W| ~ 1e-5; BCD returns exact zeros. 1e-3 below, the weights are O(1e-3) of
    # their size at 0.1 alpha_max.
    assert np.abs(above).max() == 0
    assert np.abs(at).max() <= 1e-4 * scale
    assert np.abs(below).max() > 1e-5 * scale


@pytest.mark.parametrize(
    ("cls", "params", "deviation"),
    [
        (ClusteredMultiTaskRegressionCV, dict(n_clusters=2), lambda W: W),
        (
            GraphRegularizedMultiTaskRegressionCV,
            dict(),
            lambda W: W - W.mean(axis=0),
        ),
    ],
    ids=["clustered", "graph"],
)
def test_quadratic_alpha_max_shrinks_to_one_percent(cls, params, deviation):
    X, y = _data(cls, seed=2)
    cv = cls(alphas=2, cv=3, task_column=0, tol=1e-12, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X, y)
        amax = cv.alphas_[0]
        at = deviation(_base(cv, amax).fit(X, y).coef_)
        free = deviation(_base(cv, 1e-8 * amax).fit(X, y).coef_)
    # curvature 100 L_max on the weakest penalised direction: each direction keeps
    # at most 1 / (1 + 100) of its unpenalised size (2% leaves room for the
    # coupling between directions)
    ratio = np.linalg.norm(at) / np.linalg.norm(free)
    assert ratio < 0.02
    assert ratio > 1e-4  # a scale, not an overkill


@pytest.mark.parametrize(("cls", "params"), CASES, ids=IDS)
def test_every_other_base_parameter_is_passed_through(cls, params):
    names = set(inspect.signature(cls.__init__).parameters) - {"self"}
    base = set(inspect.signature(cls._base.__init__).parameters) - {"self"}
    assert base - names == set(cls._tuned) | {"warm_start"}
    assert names - base == {"alphas", "eps", "cv", "n_jobs"} | set(cls._extra)
    X, y = _data(cls)
    est = cls(alphas=2, cv=2, task_column=0, fit_intercept=False, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert est.estimator_.fit_intercept is False and est.estimator_.max_iter == 50
    assert_allclose(est.intercept_, 0.0)


def test_grid_parameter_list_gives_one_path_each():
    X, y = _data(MultiTaskSparseGroupLassoCV)
    est = MultiTaskSparseGroupLassoCV(
        l1_ratio=[0.2, 0.9], alphas=4, cv=3, task_column=0, tol=1e-10
    ).fit(X, y)
    assert est.alphas_.shape == (2, 4) and est.mse_path_.shape == (2, 4, 3)
    best = np.unravel_index(np.argmin(est.mse_path_.mean(axis=2)), (2, 4))
    assert est.l1_ratio_ == [0.2, 0.9][best[0]]
    assert est.alpha_ == est.alphas_[best]
    assert est.estimator_.l1_ratio == est.l1_ratio_


def test_a_task_missing_from_a_training_fold_is_named():
    X, y = _data(TraceNormRegressionCV)
    folds = [(np.flatnonzero(X[:, 0] != 0), np.flatnonzero(X[:, 0] == 0))]
    with pytest.raises(ValueError, match=r"task\(s\) \[0"):
        TraceNormRegressionCV(alphas=2, cv=folds, task_column=0).fit(X, y)
