"""Multi-task neural networks in numpy: a shared trunk and one head per task.

The estimators follow scikit-learn's ``neural_network`` layout: activations and
their derivatives (``_activations.py``), losses on the network output
(``_losses.py``), task-weighting schemes (``_weighting.py``), stochastic optimisers
(``_optimizers.py``), the vectorised network (``_network.py``) and the estimators on
top (``_base.py``, ``_regressor.py``, ``_classifier.py``).
"""

from ._classifier import MultiTaskMLPClassifier
from ._regressor import MultiTaskMLPRegressor

__all__ = ["MultiTaskMLPRegressor", "MultiTaskMLPClassifier"]
