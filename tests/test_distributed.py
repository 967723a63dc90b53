"""n_jobs work runs on a dask cluster through joblib and gives the local result."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV

from skmtl.baselines import IndependentTaskEstimator
from skmtl.datasets import make_multitask_regression
from skmtl.linear_model import MultiTaskLasso
from skmtl.metrics import make_task_scorer
from skmtl.model_selection import TaskStratifiedKFold

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.mark.slow
def test_independent_and_gridsearch_on_dask(client):
    X, y = make_multitask_regression(
        n_tasks=6, n_samples=25, n_features=5, random_state=0
    )
    model = IndependentTaskEstimator(Ridge(), task_column=0, n_jobs=-1)
    search = GridSearchCV(
        MultiTaskLasso(task_column=0, tol=1e-8),
        {"alpha": [0.01, 0.1, 1.0]},
        cv=TaskStratifiedKFold(3, task_column=0),
        scoring=make_task_scorer("r2", task_column=0),
        n_jobs=-1,
    )
    local_pred = model.fit(X, y).predict(X)
    local_scores = search.fit(X, y).cv_results_["mean_test_score"]
    with joblib.parallel_backend("dask"):
        dask_pred = model.fit(X, y).predict(X)
        dask_scores = search.fit(X, y).cv_results_["mean_test_score"]
    assert_array_equal(dask_pred, local_pred)
    assert_array_equal(dask_scores, local_scores)
    # the work really went through the cluster's scheduler
    transitions = client.run_on_scheduler(
        lambda dask_scheduler: len(dask_scheduler.transition_log)
    )
    assert transitions > 0
    assert np.isfinite(dask_scores).all()
