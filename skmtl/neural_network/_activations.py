"""Hidden-layer activations and their derivatives, applied in place.

As in scikit-learn's ``neural_network._base``: ``ACTIVATIONS[name](Z)`` overwrites the
pre-activation ``Z`` with ``f(Z)``; ``DERIVATIVES[name](A, delta)`` multiplies the
back-propagated ``delta`` in place by ``f'`` expressed through the *output*
``A = f(Z)`` of the forward pass (so no pre-activation has to be kept).
"""

import numpy as np
from scipy.special import expit

__all__ = ["ACTIVATIONS", "DERIVATIVES"]


def inplace_identity(Z):
    """``f(z) = z``: nothing to do."""


def inplace_logistic(Z):
    """``f(z) = 1 / (1 + exp(-z))``."""
    expit(Z, out=Z)


def inplace_tanh(Z):
    """``f(z) = tanh(z)``."""
    np.tanh(Z, out=Z)


def inplace_relu(Z):
    """``f(z) = max(z, 0)``."""
    np.maximum(Z, 0, out=Z)


ACTIVATIONS = {
    "identity": inplace_identity,
    "logistic": inplace_logistic,
    "tanh": inplace_tanh,
    "relu": inplace_relu,
}


def inplace_identity_derivative(A, delta):
    """``f'(z) = 1``."""


def inplace_logistic_derivative(A, delta):
    """``f'(z) = f(z) (1 - f(z))``."""
    delta *= A
    delta *= 1 - A


def inplace_tanh_derivative(A, delta):
    """``f'(z) = 1 - f(z)^2``."""
    delta *= 1 - A**2


def inplace_relu_derivative(A, delta):
    """``f'(z) = 1 if z > 0 else 0`` (0 at the kink, as scikit-learn)."""
    np.multiply(delta, A > 0, out=delta)


DERIVATIVES = {
    "identity": inplace_identity_derivative,
    "logistic": inplace_logistic_derivative,
    "tanh": inplace_tanh_derivative,
    "relu": inplace_relu_derivative,
}
