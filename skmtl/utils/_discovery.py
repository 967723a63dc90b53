"""Find every public skmtl estimator (used by the common tests)."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]


def all_estimators():
    """Return ``(name, class)`` for every public estimator in skmtl, sorted by name.

    Public means: defined in a public (not underscored) skmtl subpackage's ``__all__``
    and a subclass of ``sklearn.base.BaseEstimator``.

    Returns
    -------
    estimators : list of tuple of (str, type)
        ``(name, class)`` of every public, non-abstract estimator class, sorted by
        name.

    See Also
    --------
    sklearn.utils.discovery.all_estimators : The same for scikit-learn's
        estimators.

    Examples
    --------
    >>> from skmtl.neural_network import MultiTaskMLPRegressor
    >>> from skmtl.utils import all_estimators
    >>> estimators = dict(all_estimators())
    >>> estimators["MultiTaskMLPRegressor"] is MultiTaskMLPRegressor
    True
    >>> [name for name, _ in all_estimators() if name.startswith("MultiTaskMLP")]
    ['MultiTaskMLPClassifier', 'MultiTaskMLPRegressor']
    """
    import skmtl

    found = {}
    for info in pkgutil.walk_packages(skmtl.__path__, prefix="skmtl."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or "tests" in parts:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
            ):
                found[name] = obj
    return sorted(found.items())
