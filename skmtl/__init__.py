"""skmtl: multi-task learning for scikit-learn.

Estimators learn several related prediction tasks together while behaving like any
scikit-learn estimator. See ``skmtl.baselines``, ``skmtl.linear_model``,
``skmtl.svm``, ``skmtl.kernel_ridge``, ``skmtl.neural_network`` and the helpers in
``skmtl.metrics``, ``skmtl.model_selection``, ``skmtl.datasets`` and ``skmtl.utils``.
"""

__version__ = "0.1.0.dev0"
