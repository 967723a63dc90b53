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

from skmtl._compat import InvalidParameterError
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.linear_model import (
    ClusteredMultiTaskRegressionCV,
    DirtyMultiTaskLassoCV,
    GraphRegularizedMultiTaskRegressionCV,
    MultiTaskElasticNetCV,
    MultiTaskLassoCV,
    MultiTaskLogisticLassoCV,
    MultiTaskSparseGroupLassoCV,
    TraceNormLogisticRegressionCV,
    TraceNormRegressionCV,
)
from skmtl.linear_model._cv import _PASSED
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
    (GraphRegularizedMultiTaskRegressionCV, dict(l1_ratio=0.0, tol=1e-12)),
    (GraphRegularizedMultiTaskRegressionCV, dict(l1_ratio=0.5, tol=1e-12)),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(CASES)]


def _is_clf(cls):
    return getattr(cls, "_clf", False)


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


def _base(cv_form, alpha, alpha_mean=None):
    base = cv_form._base(**{n: getattr(cv_form, n) for n in cv_form._passed_names()})
    setting = getattr(cv_form, cv_form._grid) if cv_form._grid else None
    if alpha_mean is None and hasattr(cv_form, "alpha_mean_"):
        alpha_mean = cv_form.alpha_mean_
    mean = {} if alpha_mean is None else {"alpha_mean": alpha_mean}
    return base.set_params(
        **cv_form._fixed_params(setting), **cv_form._path_params(alpha, setting), **mean
    )


def _one_mean(cls):
    """``alpha_means=1`` (no grid) where the CV form has the parameter."""
    return {"alpha_means": 1} if cls._has_mean() else {}


@pytest.mark.parametrize(("cls", "params"), CASES, ids=IDS)
def test_path_and_refit_equal_a_manual_loop(cls, params):
    X, y = _data(cls)
    clf = _is_clf(cls)
    cv = cls(alphas=5, cv=3, task_column=0, **_one_mean(cls), **params)
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
    cv = cls(alphas=2, cv=3, task_column=0, **_one_mean(cls), **params)
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
            dict(l1_ratio=0.0),
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
    est = MultiTaskSparseGroupLassoCV(  # one alpha_mean (the default grid has 4)
        l1_ratio=[0.2, 0.9], alphas=4, cv=3, task_column=0, tol=1e-10, alpha_means=1
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


# ------------------------------------------------------------ the alpha_mean grid
MEAN_CASES = [
    (TraceNormRegressionCV, dict(tol=1e-10, max_iter=20000)),
    (TraceNormRegressionCV, dict(alpha_intercepts="auto", tol=1e-10, max_iter=20000)),
    (TraceNormLogisticRegressionCV, dict(tol=1e-10, max_iter=20000)),
    # BCD with the logistic loss stops at max_iter at 100 L_max / 4 (cold and warm
    # starts then differ): an explicit grid of moderate values
    (MultiTaskLogisticLassoCV, dict(alpha_means=[0.0, 0.1, 1e-3], tol=1e-12)),
    (MultiTaskSparseGroupLassoCV, dict(l1_ratio=0.3, tol=1e-12)),
    (MultiTaskLassoCV, dict(tol=1e-12)),
    (MultiTaskLassoCV, dict(alpha_intercepts="auto", tol=1e-12, max_iter=5000)),
    (MultiTaskElasticNetCV, dict(l1_ratio=0.5, tol=1e-12)),
]
MEAN_IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(MEAN_CASES)]


def _base_any(cv_form, alpha, alpha_mean):
    """The base estimator of any CV form at ``(alpha, alpha_mean)``."""
    if isinstance(cv_form, (MultiTaskLassoCV, MultiTaskElasticNetCV)):
        params = {n: getattr(cv_form, n) for n in _PASSED}
        if isinstance(cv_form, MultiTaskElasticNetCV):
            params["l1_ratio"] = cv_form.l1_ratio
        return cv_form._base(alpha=alpha, alpha_mean=alpha_mean, **params)
    return _base(cv_form, alpha, alpha_mean)


def _largest_task_curvature(X):
    """``max_t lambda_max(Xc_t^T Xc_t / n_t)`` from the task column, by hand."""
    out = 0.0
    for t in np.unique(X[:, 0]):
        Xt = X[X[:, 0] == t, 1:]
        Xc = Xt - Xt.mean(axis=0)
        out = max(out, np.linalg.eigvalsh(Xc.T @ Xc / len(Xt))[-1])
    return out


@pytest.mark.parametrize(("cls", "params"), MEAN_CASES, ids=MEAN_IDS)
def test_alpha_mean_grid_equals_a_manual_loop(cls, params):
    X, y = _data(cls)
    clf = _is_clf(cls)
    cv = cls(alphas=4, cv=3, task_column=0, **{"alpha_means": 3, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X, y)
        folds = list(TaskStratifiedKFold(3, task_column=0).split(X))
        manual = np.array(
            [
                [
                    [
                        _heldout_error(
                            _base_any(cv, a, m).fit(X[tr], y[tr]), X[te], y[te], clf
                        )
                        for tr, te in folds
                    ]
                    for a in cv.alphas_
                ]
                for m in cv.alpha_means_
            ]
        )
        refit = _base_any(cv, cv.alpha_, cv.alpha_mean_).fit(X, y)
    # the automatic grid: 0, then 100 L_max and 0.01 L_max (a quarter of that
    # for the logistic loss)
    scale = 100 * _largest_task_curvature(X) / (4 if clf else 1)
    if cv.alpha_means == 3:  # (L_max by a power iteration: 1e-6)
        assert_allclose(cv.alpha_means_, [0.0, scale, 1e-4 * scale], rtol=1e-6)
    path = cv.log_loss_path_ if clf else cv.mse_path_
    assert path.shape == (3, 4, 3)
    assert_allclose(path, manual, rtol=1e-5, atol=1e-8)
    best = np.unravel_index(np.argmin(manual.mean(axis=2)), (3, 4))
    assert cv.alpha_mean_ == cv.alpha_means_[best[0]]
    assert cv.alpha_ == cv.alphas_[best[1]]
    assert_allclose(cv.coef_, refit.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(cv.intercept_, refit.intercept_, rtol=1e-8, atol=1e-10)
    # alpha_mean changes the held-out error: the grid means something
    assert np.ptp(manual.mean(axis=2)[:, -1]) > 1e-4 * manual.mean()


@pytest.mark.parametrize(
    "cls", [MultiTaskLassoCV, MultiTaskElasticNetCV, TraceNormRegressionCV]
)
@pytest.mark.parametrize("alpha_intercepts", [0.0, "auto", 3.0])
def test_alpha_max_follows_the_intercept_model(cls, alpha_intercepts):
    X, y = _data(cls, seed=3)
    X = X.copy()
    X[:, 1:] += 2.0  # uncentred features: the intercept model matters
    cv = cls(
        alphas=2, alpha_means=1, cv=3, task_column=0, alpha_intercepts=alpha_intercepts
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X, y)
        amax = cv.alphas_[0]
        above = _base_any(cv, amax * (1 + 1e-3), 0.0).set_params(tol=1e-10)
        below = _base_any(cv, amax * (1 - 1e-3), 0.0).set_params(tol=1e-10)
        above, below = above.fit(X, y).coef_, below.fit(X, y).coef_
    assert np.abs(above).max() == 0
    assert np.abs(below).max() > 0


def test_largest_alpha_mean_pools_the_slopes():
    X, y = _data(MultiTaskLassoCV, seed=4)
    cv = MultiTaskLassoCV(alphas=3, alpha_means=2, cv=3, task_column=0).fit(X, y)
    top = cv.alpha_means_[1]
    small = 1e-3 * cv.alphas_[0]

    def deviation(alpha_mean):
        W = _base_any(cv, small, alpha_mean).set_params(tol=1e-12).fit(X, y).coef_
        return np.linalg.norm(W - W.mean(axis=0))

    # curvature + 100 L_max on every deviation direction: at most 1/101 of it
    # survives (2% leaves room for the coupling through the L2,1 term)
    ratio = deviation(top) / deviation(0.0)
    assert 1e-4 < ratio < 0.02


@pytest.mark.parametrize(
    "cls", [MultiTaskLassoCV, MultiTaskElasticNetCV, TraceNormRegressionCV]
)
@pytest.mark.parametrize(
    ("alpha_means", "match"),
    [
        ([0.0, -1.0], r"alpha_means\[1\] == -1\.0"),
        ([1.0, np.nan], r"alpha_means\[1\] == nan"),
        ([np.inf], r"alpha_means\[0\] == inf"),
        ([], "alpha_means is empty"),
        (0, "alpha_means"),
    ],
)
def test_bad_alpha_means_are_named(cls, alpha_means, match):
    X, y = _data(cls)
    with pytest.raises(InvalidParameterError, match=match):
        cls(alpha_means=alpha_means, alphas=2, task_column=0).fit(X, y)


def test_alpha_mean_shapes_with_a_second_grid():
    X, y = _data(MultiTaskElasticNetCV)
    est = MultiTaskElasticNetCV(
        l1_ratio=[0.3, 0.9], alphas=3, alpha_means=[0.0, 1.0], cv=3, task_column=0
    ).fit(X, y)
    assert est.alphas_.shape == (2, 3) and est.mse_path_.shape == (2, 2, 3, 3)
    best = np.unravel_index(np.argmin(est.mse_path_.mean(axis=3)), (2, 2, 3))
    assert (est.l1_ratio_, est.alpha_mean_) == ([0.3, 0.9][best[0]], [0, 1][best[1]])
    assert est.estimator_.alpha_mean == est.alpha_mean_
    sgl = MultiTaskSparseGroupLassoCV(
        l1_ratio=[0.3, 0.9], alphas=3, alpha_means=[0.0, 1.0], cv=3, task_column=0
    ).fit(X, y)
    assert sgl.alphas_.shape == (2, 3) and sgl.mse_path_.shape == (2, 2, 3, 3)


@pytest.mark.parametrize("alpha_intercepts", [0.0, "auto"])
def test_trace_norm_path_factors_once_a_fold(alpha_intercepts, monkeypatch):
    """Along one fold's path the per-task factors of the training data are
    computed once and shared by the fits of every alpha (``_path_cache``): 3
    folds x 2 alpha_means = 6 factorisations for 5 alphas, and the held-out
    errors are those of fits without the cache (``test_alpha_mean_grid_equals_a_
    manual_loop``)."""
    import skmtl._optim.admm as admm
    import skmtl._optim.shifted as shifted
    import skmtl.linear_model._low_rank as low_rank

    calls = []
    real = shifted.task_shifts

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(admm, "task_shifts", counting)
    monkeypatch.setattr(low_rank, "task_shifts", counting)
    X, y = _data(TraceNormRegressionCV)
    cv = TraceNormRegressionCV(
        alphas=5, alpha_means=2, cv=3, task_column=0, alpha_intercepts=alpha_intercepts
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv.fit(X, y)
    assert len(calls) == 3 * 2 + 1  # one per fold path, and the refit
    assert not hasattr(cv.estimator_, "_path_cache")
