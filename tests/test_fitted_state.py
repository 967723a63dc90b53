"""Fitted state of every registered estimator: no aliasing of the caller's arrays,
and one ``warm_start`` rule for a changed task set.
"""

import numpy as np
import pytest
from sklearn.base import clone
from test_layouts import ESTIMATORS, _shared_data, _stack


def _arrays(obj, seen=None, depth=0):
    """Every ndarray reachable from ``obj``'s fitted state (lists, tuples, dicts and
    nested estimators, a few levels deep)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        yield obj
        if obj.dtype == object:
            for v in obj.ravel()[:100]:
                yield from _arrays(v, seen, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _arrays(v, seen, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays(v, seen, depth + 1)
    elif hasattr(obj, "__dict__") and hasattr(obj, "get_params"):
        for v in vars(obj).values():
            yield from _arrays(v, seen, depth + 1)
    elif hasattr(obj, "data") and hasattr(obj, "indices"):  # scipy sparse
        yield obj.data


def _aliased(estimator, *inputs):
    hits = []
    for name, value in vars(estimator).items():
        for arr in _arrays(value):
            for k, inp in enumerate(inputs):
                if np.shares_memory(arr, inp):
                    hits.append(f"{name} shares memory with input {k}")
    return hits


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("layout", ["stacked", "shared", "single"])
def test_fitted_attributes_do_not_alias_inputs(estimator, layout):
    X, Y = _shared_data(estimator)
    if layout == "shared":
        X, y = np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(Y)
        est = clone(estimator)
    elif layout == "stacked":
        X, y = _stack(X, Y)
        X = np.ascontiguousarray(X, dtype=np.float64)
        est = clone(estimator).set_params(task_column=0)
    else:
        X, y = np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(Y[:, 0])
        est = clone(estimator)
    sw = np.ones(X.shape[0])
    kwargs = {"sample_weight": sw} if "sample_weight" in _fit_args(est) else {}
    est.fit(X, y, **kwargs)
    assert _aliased(est, X, y, sw) == []


def _fit_args(est):
    import inspect

    return inspect.signature(est.fit).parameters


WARM = [p for p in ESTIMATORS if "warm_start" in p.values[0].get_params()]


@pytest.mark.parametrize("estimator", WARM)
def test_warm_start_needs_the_same_tasks(estimator):
    # issue 10, defect 6: one rule for every family (the linear models silently
    # accepted a changed task set, reusing coef_ rows by position when the count
    # matched; the MLPs refused new labels but accepted missing ones)
    import warnings

    X, Y = _shared_data(estimator)
    Xs, ys = _stack(X, Y)
    est = clone(estimator).set_params(task_column=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Xs, ys)
        est.fit(Xs, ys)  # same tasks: continues
        relabelled = Xs.copy()
        relabelled[:, 0] = np.where(Xs[:, 0] == 2, 7, Xs[:, 0])
        with pytest.raises(ValueError, match=r"warm_start=True.*new 7, missing 2"):
            est.fit(relabelled, ys)
        keep = Xs[:, 0] != 2
        with pytest.raises(ValueError, match=r"warm_start=True.*new none, missing 2"):
            est.fit(Xs[keep], ys[keep])
        # shared layout: a different number of task columns
        shared = clone(estimator).set_params(warm_start=True).fit(X, Y)
        with pytest.raises(ValueError, match=r"warm_start=True.*missing 2"):
            shared.fit(X, Y[:, :2])
        # without warm_start any task set is fine
        est.set_params(warm_start=False).fit(relabelled, ys)
        assert list(est.tasks_) == [0, 1, 7]
