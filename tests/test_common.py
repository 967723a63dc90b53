"""scikit-learn's estimator checks on every public skmtl estimator."""

import pytest
from registry import ENTRIES, all_instances, expected_failed_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmtl.utils import all_estimators


def test_every_public_estimator_is_registered():
    names = {name for name, _ in all_estimators()}
    missing = names - set(ENTRIES)
    assert not missing, f"register these in tests/registry.py: {sorted(missing)}"
    assert {"IndependentTaskEstimator", "PooledTaskEstimator"} <= names


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(all_instances(), expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
