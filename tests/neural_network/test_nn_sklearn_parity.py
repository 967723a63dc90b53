"""With one task and a linear head the network *is* scikit-learn's MLP.

Oracle: ``sklearn.neural_network.MLPRegressor`` / ``MLPClassifier``.

- The regressor is compared with ``normalize_y=False`` (scikit-learn's MLP fits the
  raw target); with one task the shrinkage of the heads towards a shared head has
  nothing to act on and is off, whatever ``alpha_heads`` / ``alpha_intercepts``.
- Forward pass: our fitted weights copied into scikit-learn's estimator give the same
  predictions / probabilities (same operations: rtol 1e-12).
- Training: same ``random_state`` gives the same initial weights (the same random
  draws in the same order), and the same objective, optimiser formulas, batches and
  shuffling, so the whole trajectory matches: loss curves and final weights agree to
  rtol 1e-9 after 30 epochs (the only differences are the order of floating-point
  operations, e.g. sample weights divided before instead of after the matrix
  products; Adam's normalised steps keep those ~1e-15 relative differences from
  growing much).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skmtl.neural_network import MultiTaskMLPClassifier, MultiTaskMLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _as_sklearn(ours, theirs, X, y):
    """Copy our single-task weights into a scikit-learn MLP of the same shape."""
    theirs.set_params(max_iter=1).fit(X, y)
    theirs.coefs_ = [c if c.ndim == 2 else c[0] for c in ours.coefs_]
    theirs.intercepts_ = [b if b.ndim == 1 else b[0] for b in ours.intercepts_]
    return theirs


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_forward_pass_regressor_equals_sklearn(activation):
    X, y = make_regression(n_samples=60, n_features=5, noise=1.0, random_state=0)
    ours = MultiTaskMLPRegressor(
        (7, 4), activation=activation, max_iter=5, random_state=1, normalize_y=False
    ).fit(X, y)
    theirs = _as_sklearn(
        ours, MLPRegressor(hidden_layer_sizes=(7, 4), activation=activation), X, y
    )
    X_new = np.random.RandomState(2).standard_normal((25, 5))
    assert_allclose(ours.predict(X_new), theirs.predict(X_new), rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_forward_pass_classifier_equals_sklearn(n_classes, activation):
    X, y = make_classification(
        n_samples=80, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    ours = MultiTaskMLPClassifier(
        (8,), activation=activation, max_iter=5, random_state=1
    ).fit(X, y)
    width = 1 if n_classes == 2 else n_classes  # scikit-learn's output units
    assert ours.coefs_[-1].shape == (1, 8, width)
    theirs = _as_sklearn(
        ours, MLPClassifier(hidden_layer_sizes=(8,), activation=activation), X, y
    )
    X_new = np.random.RandomState(2).standard_normal((30, 6))
    assert_allclose(
        ours.predict_proba(X_new), theirs.predict_proba(X_new), rtol=1e-12, atol=1e-15
    )
    assert_array_equal(ours.predict(X_new), theirs.predict(X_new))


PARAMS = [
    dict(solver="adam", batch_size=16, shuffle=True, alpha=1e-3),
    dict(
        solver="sgd",
        batch_size=32,
        shuffle=True,
        learning_rate_init=0.01,
        momentum=0.9,
        nesterovs_momentum=True,
    ),
    dict(
        solver="sgd",
        batch_size=120,
        shuffle=False,
        learning_rate_init=0.01,
        learning_rate="invscaling",
        nesterovs_momentum=False,
        alpha=0.1,
    ),
]


@pytest.mark.parametrize("params", PARAMS, ids=["adam", "sgd-nesterov", "sgd-inv"])
def test_training_trajectory_regressor_equals_sklearn(params):
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    y = y / y.std()
    common = dict(hidden_layer_sizes=(9, 6), max_iter=30, random_state=3, **params)
    ours = MultiTaskMLPRegressor(normalize_y=False, **common).fit(X, y)
    theirs = MLPRegressor(**common).fit(X, y)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        assert_allclose(a.reshape(b.shape), b, rtol=1e-9, atol=1e-12)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("n_classes", [2, 4])
def test_training_trajectory_classifier_equals_sklearn(n_classes):
    X, y = make_classification(
        n_samples=150,
        n_features=6,
        n_informative=4,
        n_classes=n_classes,
        random_state=0,
    )
    common = dict(
        hidden_layer_sizes=(10,),
        max_iter=30,
        random_state=0,
        batch_size=25,
        learning_rate_init=0.01,
        alpha=1e-3,
    )
    ours = MultiTaskMLPClassifier(**common).fit(X, y)
    theirs = MLPClassifier(**common).fit(X, y)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-8, atol=1e-12
    )


def test_early_stopping_single_task_stops_like_sklearn():
    """Our split rule (``ceil(fraction * n)`` rows held out per task) does not pick
    the same rows as scikit-learn's ``train_test_split``, so only the behaviour is
    compared: a validation curve is recorded, training stops by the same rule and
    the best weights are restored."""
    X, y = make_regression(n_samples=300, n_features=5, noise=10.0, random_state=0)
    y = y / y.std()
    ours = MultiTaskMLPRegressor(
        (20,),
        early_stopping=True,
        max_iter=500,
        learning_rate_init=0.01,
        random_state=0,
    )
    ours.fit(X, y)
    assert ours.best_loss_ is None
    assert len(ours.validation_scores_) == ours.n_iter_ < 500
    assert ours.best_validation_score_ == max(ours.validation_scores_)
    assert ours.best_validation_score_ > 0.9
    # stopped by scikit-learn's rule: no gain > tol over n_iter_no_change + 1 epochs
    scores = np.array(ours.validation_scores_)
    assert scores[-11:].max() < scores[:-11].max() + 11 * ours.tol
    # the weights of the best epoch were restored
    for param, best in zip(ours.coefs_ + ours.intercepts_, ours._best_params):
        assert_array_equal(param, best)


def test_convergence_warning_at_max_iter():
    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MultiTaskMLPRegressor((5,), max_iter=3).fit(X, y)
