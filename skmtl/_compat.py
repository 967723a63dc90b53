"""Everything skmtl takes from scikit-learn's private namespace, in one place.

scikit-learn keeps the names below out of its public API (a leading underscore on
the module or the name), so a release may move them or change their signature.
Every other skmtl module imports them from here, and ``tests/test_compat.py``
checks that no other module reaches into ``sklearn`` private names: a scikit-learn
release that breaks one of them breaks this file only.

The floor is scikit-learn 1.6 (``setup.py``); ``.ci/run`` runs a representative
part of the test suite against it in its own virtual environment.
"""

import sklearn
from sklearn.base import _fit_context
from sklearn.metrics.pairwise import KERNEL_PARAMS
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.multiclass import _ovr_decision_function
from sklearn.utils.validation import _check_sample_weight, _num_samples

__all__ = [
    "SKLEARN_VERSION",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "KERNEL_PARAMS",
    "MetadataRouter",
    "MethodMapping",
    "Options",
    "StrOptions",
    "check_sample_weight",
    "fit_context",
    "num_samples",
    "ovr_decision_function",
    "process_routing",
    "raise_for_params",
    "routing_enabled",
    "safe_indexing",
    "validate_params",
]


def _version_tuple(version):
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


#: ``(major, minor)`` of the installed scikit-learn.
SKLEARN_VERSION = _version_tuple(sklearn.__version__)

#: ``sklearn.base._fit_context``: validates ``_parameter_constraints`` once per fit.
fit_context = _fit_context


def check_sample_weight(sample_weight, X, *, dtype=None, ensure_non_negative=False):
    """``sklearn.utils.validation._check_sample_weight`` with keywords only.

    Its positional order and keyword set changed between releases (1.6: ``dtype,
    copy, ensure_non_negative``; 1.9 adds ``force_float_dtype``,
    ``ensure_same_device``, ``allow_all_zero_weights``); the two keywords used here
    exist in every supported release.
    """
    return _check_sample_weight(
        sample_weight, X, dtype=dtype, ensure_non_negative=ensure_non_negative
    )


def num_samples(x):
    """``sklearn.utils.validation._num_samples``: number of rows of an array-like."""
    return _num_samples(x)


def ovr_decision_function(predictions, confidences, n_classes):
    """``sklearn.utils.multiclass._ovr_decision_function`` (one-vs-one votes to
    one-vs-rest scores, as ``SVC(decision_function_shape="ovr")``)."""
    return _ovr_decision_function(predictions, confidences, n_classes)


def raise_for_params(params, owner, method):
    """``sklearn.utils.metadata_routing._raise_for_params``: a clear error for
    metadata passed to ``method`` while metadata routing is disabled."""
    return _raise_for_params(params, owner, method)


def routing_enabled():
    """``sklearn.utils.metadata_routing._routing_enabled``: whether
    ``sklearn.set_config(enable_metadata_routing=True)`` is in effect."""
    return _routing_enabled()


def safe_indexing(X, indices, *, axis=0):
    """``sklearn.utils._safe_indexing``: rows (or columns) of an array, sparse
    matrix, DataFrame or list."""
    return _safe_indexing(X, indices, axis=axis)
