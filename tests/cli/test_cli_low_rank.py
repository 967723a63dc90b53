"""The low-rank and structured models registered for ``skmtl demo``/``compare``."""

import numpy as np
import pytest

from skmtl.cli._models import MODELS, select_models
from skmtl.datasets import make_multitask_classification, make_multitask_regression

NAMES = ["trace_norm", "reduced_rank", "clustered", "graph"]


@pytest.mark.parametrize("name", NAMES)
def test_registered_models_fit_with_task_column_last(name):
    for kind in MODELS[name].kinds:
        make = (
            make_multitask_regression
            if kind == "regression"
            else make_multitask_classification
        )
        X, y = make(n_tasks=4, n_samples=30, n_features=5, random_state=0)
        X = np.column_stack([X[:, 1:], X[:, 0]])  # task column last, as the CLI
        model = MODELS[name].factory(-1, kind).fit(X, y)
        assert model.predict(X).shape == y.shape
        assert model.score(X, y) > 0.5


def test_trace_norm_is_a_default_model():
    assert "trace_norm" in select_models(None, "regression")
    assert "trace_norm" in select_models(None, "classification")
    assert "reduced_rank" not in select_models(None, "regression")
