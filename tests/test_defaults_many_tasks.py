"""No default goes silently wrong on many small tasks (issue 12).

A synthetic data set of the shape that broke the families on real grouped data:
1,000 tasks with 2-10 training rows each, 5 unstandardised features (continuous,
a rare dummy, a skewed one, a count), a target on a 0-10 scale with task-level
mean shifts (a school-score-like set). Every registered public
estimator, with its DEFAULT parameters (meta-estimators around scikit-learn's
default ``Ridge`` / ``LogisticRegression``), is fitted in the stacked layout and
predicts two held-out rows of every task.

- Regressors: every held-out prediction must lie in ``[min - r, max + r]`` with
  ``min``, ``max`` and ``r = max - min`` the range of the training targets. A
  prediction outside it is more than a whole target range beyond anything seen
  (the issue saw 340 on a 0-10 score).
- Classifiers (the target thresholded at its median): the mean held-out log-loss
  must be at most twice that of predicting the training base rate everywhere
  (an overconfident model is the classification form of the same failure).
"""

import os
import time
import warnings

import numpy as np
import pytest
from registry import ENTRIES
from sklearn.base import clone, is_classifier
from sklearn.linear_model import LogisticRegression, Ridge

from skmtl.baselines import IndependentTaskEstimator, PooledTaskEstimator

N_TASKS, N_FEATURES, N_TEST = 1000, 5, 2


def _data(seed=0):
    rng = np.random.default_rng(seed)
    n_train = rng.integers(2, 11, size=N_TASKS)
    sizes = n_train + N_TEST
    task = np.repeat(np.arange(N_TASKS), sizes)
    n = task.size
    # features as grouped data has them, not standardised: two continuous ones,
    # a rare 0/1 dummy, a right-skewed one and a count
    X = np.column_stack(
        [
            rng.standard_normal(n),
            2.0 + 3.0 * rng.standard_normal(n),
            (rng.random(n) < 0.1).astype(float),
            np.minimum(rng.lognormal(0.0, 0.75, n), 8.0),
            rng.poisson(3.0, n).astype(float),
        ]
    )
    w0 = np.array([0.8, -0.2, 1.0, 0.3, 0.1])
    W = w0 + 0.2 * rng.standard_normal((N_TASKS, N_FEATURES))
    shift = 1.5 * rng.standard_normal(N_TASKS)
    signal = 5.0 + shift[task] + np.einsum("ij,ij->i", X, W[task])
    # the noiseless signal stays well inside [0, 10] (checked in
    # test_the_signal_is_in_range): an out-of-band prediction is the model's doing
    y = np.clip(signal + 1.0 * rng.standard_normal(task.size), 0.0, 10.0)
    # the last N_TEST rows of every task are held out
    rank = np.arange(task.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    test = rank >= np.repeat(n_train, sizes)
    Xs = np.column_stack([task, X])
    return Xs[~test], y[~test], Xs[test], y[test], signal


# SIGNAL: the noiseless mean of every row
X_TRAIN, Y_TRAIN, X_TEST, Y_TEST, SIGNAL = _data()
LABEL_CUT = float(np.median(Y_TRAIN))

# the defaults that fail today, with the cause (the lead removes an entry when the
# default is fixed); a fixed default turns its xfail into an XPASS, which fails
# Measured on this data set (the prediction or loss quoted); strict: a fixed
# default shows up as an XPASS failure and its entry goes.
_FREE = (
    "free per-task intercepts and an equal 1/n_t weight per task: a 2-10-row task "
    "fits its own intercept and weights with only the default {what} to hold "
    "them ({seen})"
)
XFAIL = {
    "MultiTaskLasso": _FREE.format(what="alpha=1 L2,1", seen="predicts -10.1"),
    "DirtyMultiTaskLasso": _FREE.format(
        what="alpha_shared = alpha_specific = 1", seen="predicts -10.1"
    ),
    "TraceNormRegression": _FREE.format(
        what="alpha=1 nuclear norm", seen="predicts -10.3"
    ),
    "MultiTaskLogisticLasso": _FREE.format(
        what="alpha=0.01 L2,1", seen="held-out log-loss 3.3 vs 0.69"
    ),
    "ReducedRankRegression": (
        "default alpha=0: unpenalised rank-2 loadings per task on 2-10 rows "
        "(predictions up to 2.6e5)"
    ),
}
# measured on an earlier version of this data (unbounded skewed feature) only
XFAIL_UNSURE = {
    "MultiTaskMLPClassifier": (
        "alpha=1e-4 default and one head per task on 2-10 rows: overconfident "
        "(held-out log-loss 2.2 vs 0.69)"
    ),
}


def _default(name):
    cls = type(ENTRIES[name].instances[0])
    if cls is IndependentTaskEstimator or cls is PooledTaskEstimator:
        clf = is_classifier(ENTRIES[name].instances[0].estimator)
        return cls(LogisticRegression() if clf else Ridge())
    return cls()


def _params():
    out = []
    for name in ENTRIES:
        for kind in ("regression", "classification"):
            est = _default(name)
            if (kind == "classification") != is_classifier(est):
                continue
            marks = []
            if name.endswith("CV") and not os.environ.get("SKMTL_SLOW_DEFAULTS"):
                # a CV form fits its base estimator (n_alphas x (folds + 1)) times:
                # minutes per class here, beyond the CI budget; its base estimator's
                # default is checked above
                marks.append(
                    pytest.mark.skip(reason="CV form: set SKMTL_SLOW_DEFAULTS=1")
                )
            if name in XFAIL:
                marks.append(pytest.mark.xfail(reason=XFAIL[name], strict=True))
            if name in XFAIL_UNSURE:
                marks.append(pytest.mark.xfail(reason=XFAIL_UNSURE[name]))
            out.append(pytest.param(name, id=name, marks=marks))
    return out


def _fit(est, X, y):
    est = clone(est).set_params(task_column=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        est.fit(X, y)
        return est, time.perf_counter() - start


def test_the_signal_is_in_range():
    """Far inside the band: [min - r, max + r] = [-10, 20] for a 0-10 target."""
    signal = SIGNAL
    assert -5 < signal.min() and signal.max() < 15


@pytest.mark.slow
@pytest.mark.parametrize("name", _params())
def test_default_predictions_stay_in_range(name):
    est = _default(name)
    lo, hi = float(Y_TRAIN.min()), float(Y_TRAIN.max())
    r = hi - lo
    if is_classifier(est):
        y_train = (Y_TRAIN > LABEL_CUT).astype(int)
        y_test = (Y_TEST > LABEL_CUT).astype(int)
        fitted, seconds = _fit(est, X_TRAIN, y_train)
        if not hasattr(fitted, "predict_proba"):  # e.g. an SVC without Platt
            acc = np.mean(fitted.predict(X_TEST) == y_test)
            majority = max(np.mean(y_test == 1), np.mean(y_test == 0))
            assert acc >= majority - 0.05, (
                f"{name} with default parameters: held-out accuracy {acc:.3f} below "
                f"the majority class's {majority:.3f} on 1,000 tasks of 2-10 rows"
            )
            return
        proba = np.clip(fitted.predict_proba(X_TEST)[:, 1], 1e-15, 1 - 1e-15)
        loss = -np.mean(y_test * np.log(proba) + (1 - y_test) * np.log1p(-proba))
        p0 = y_train.mean()
        base = -np.mean(y_test * np.log(p0) + (1 - y_test) * np.log1p(-p0))
        assert loss <= 2 * base, (
            f"{name} with default parameters: held-out log-loss {loss:.3f} is more "
            f"than twice the base-rate log-loss {base:.3f} on 1,000 tasks of 2-10 "
            f"rows (fit {seconds:.1f} s)"
        )
        return
    fitted, seconds = _fit(est, X_TRAIN, Y_TRAIN)
    pred = np.asarray(fitted.predict(X_TEST), dtype=float)
    out = (pred < lo - r) | (pred > hi + r) | ~np.isfinite(pred)
    ev = 1 - np.var(Y_TEST - pred) / np.var(Y_TEST)
    assert not out.any(), (
        f"{name} with default parameters: {out.sum()} of {pred.size} held-out "
        f"predictions outside [{lo - r:.1f}, {hi + r:.1f}] (training targets in "
        f"[{lo:.1f}, {hi:.1f}]); extremes {np.nanmin(pred):.1f} .. "
        f"{np.nanmax(pred):.1f}; explained variance {ev:.2f} (fit {seconds:.1f} s)"
    )
