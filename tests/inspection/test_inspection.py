"""skmtl.inspection: transfer_report (paired gains, verdicts) and task_similarity."""

import sys
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.metrics import adjusted_rand_score, r2_score
from sklearn.model_selection import GridSearchCV

import skmtl.linear_model
from skmtl.baselines import IndependentTaskEstimator, PooledTaskEstimator
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.inspection import (
    cluster_tasks,
    plot_task_similarity,
    task_similarity,
    transfer_report,
)
from skmtl.kernel_ridge import MultiTaskKernelRidge
from skmtl.linear_model import (
    ClusteredMultiTaskRegression,
    GraphRegularizedMultiTaskRegression,
    ReducedRankRegression,
    TraceNormRegression,
)
from skmtl.model_selection import TaskStratifiedKFold
from skmtl.neural_network import MultiTaskMLPRegressor


# --------------------------------------------------------------------------- helpers
def outlier_data(n=25, n_tasks=8, n_features=10, seed=0, n_test=0):
    """Tasks ``w_t = w_0 + 0.2 N(0, I)`` plus one outlier task (the last) with
    ``w = -w_0 + 0.2 N(0, I)``: sharing with it can only hurt."""
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(n_features)
    W = w0 + 0.2 * rng.standard_normal((n_tasks, n_features))
    W[-1] = -w0 + 0.2 * rng.standard_normal(n_features)

    def draw(m):
        task = np.repeat(np.arange(n_tasks), m)
        X = rng.standard_normal((n_tasks * m, n_features))
        y = np.einsum("ij,ij->i", X, W[task]) + rng.standard_normal(n_tasks * m)
        return np.column_stack([task, X]), y

    return draw(n), (draw(n_test) if n_test else None)


class PerTaskOLS(RegressorMixin, BaseEstimator):
    """Least squares per task on the columns ``cols`` of X (task label in column 0).

    A cheap, exact model for the null experiment: two copies reading different
    pure-noise columns are equally good in expectation."""

    def __init__(self, cols=(1,)):
        self.cols = cols

    def fit(self, X, y):
        task = X[:, 0].astype(int)
        A = np.column_stack([np.ones(len(y)), X[:, list(self.cols)]])
        self.coef_ = np.vstack(
            [
                np.linalg.lstsq(A[task == t], y[task == t], rcond=None)[0]
                for t in range(task.max() + 1)
            ]
        )
        return self

    def predict(self, X):
        task = X[:, 0].astype(int)
        A = np.column_stack([np.ones(len(X)), X[:, list(self.cols)]])
        return np.einsum("ij,ij->i", A, self.coef_[task])


# --------------------------------------------------------------------------- gains
def _oof(model, X, y, splits):
    pred = np.empty_like(y)
    for train, test in splits:
        pred[test] = clone(model).fit(X[train], y[train]).predict(X[test])
    return pred


def test_gains_equal_hand_computed_paired_differences():
    X, y = make_multitask_regression(
        n_tasks=5,
        n_samples=[12, 20, 30, 25, 40],
        n_features=4,
        structure="mean",
        noise=1.0,
        random_state=0,
    )
    model = PooledTaskEstimator(Ridge(1.0), task_column=0, task_intercepts=True)
    base = IndependentTaskEstimator(Ridge(1.0), task_column=0)
    cv = TaskStratifiedKFold(4, task_column=0, shuffle=True, random_state=3)
    splits = list(cv.split(X))
    report = transfer_report(model, X, y, task_column=0, cv=cv, baselines={"b": base})
    pm, pb = _oof(model, X, y, splits), _oof(base, X, y, splits)
    for t in range(5):
        rows = X[:, 0] == t
        r2m, r2b = r2_score(y[rows], pm[rows]), r2_score(y[rows], pb[rows])
        assert report.scores[report.model][t] == pytest.approx(r2m, abs=1e-10)
        assert report.scores["b"][t] == pytest.approx(r2b, abs=1e-10)
        assert report.gains["b"][t] == pytest.approx(r2m - r2b, abs=1e-10)
        # the uncertainty and p-value of a one-sample t-test of the paired
        # per-row differences (scipy), in R^2 units
        D = (y[rows] - pb[rows]) ** 2 - (y[rows] - pm[rows]) ** 2
        var = np.var(y[rows])
        test = stats.ttest_1samp(D, 0.0)
        assert report.gain_se["b"][t] == pytest.approx(
            D.std(ddof=1) / np.sqrt(D.size) / var, rel=1e-10
        )
        assert report.p_values["b"][t] == pytest.approx(test.pvalue, rel=1e-8)
    gains = report.gains["b"]
    s = report.summary["b"]
    assert s["mean_gain"] == pytest.approx(gains.mean(), rel=1e-12)
    assert s["wins"] + s["ties"] + s["losses"] == 5
    assert s["wins"] == int(np.sum(gains > 0))
    assert s["wilcoxon_p"] == pytest.approx(stats.wilcoxon(gains).pvalue)
    adjusted = stats.false_discovery_control(report.p_values["b"], method="bh")
    np.testing.assert_allclose(report.p_adjusted["b"], adjusted)


def test_repeats_average_the_repeat_wise_gains():
    """Each row held out once per repeat: the gain is the mean over repeats of the
    per-repeat R^2 differences (MSE is linear in the row losses)."""
    X, y = make_multitask_regression(
        n_tasks=3,
        n_samples=24,
        n_features=3,
        structure="mean",
        noise=1.0,
        random_state=1,
    )
    model = PooledTaskEstimator(Ridge(), task_column=0, task_intercepts=True)
    base = IndependentTaskEstimator(Ridge(), task_column=0)
    report = transfer_report(
        model,
        X,
        y,
        task_column=0,
        cv=3,
        n_repeats=2,
        random_state=5,
        baselines={"b": base},
    )
    expected = np.zeros(3)
    for r in range(2):
        splits = list(
            TaskStratifiedKFold(
                3, task_column=0, shuffle=True, random_state=5 + r
            ).split(X)
        )
        pm, pb = _oof(model, X, y, splits), _oof(base, X, y, splits)
        for t in range(3):
            rows = X[:, 0] == t
            expected[t] += (
                r2_score(y[rows], pm[rows]) - r2_score(y[rows], pb[rows])
            ) / 2
    np.testing.assert_allclose(report.gains["b"], expected, atol=1e-10)


def test_accuracy_gains_for_classifiers():
    X, y = make_multitask_classification(
        n_tasks=3, n_samples=40, n_features=4, random_state=0
    )
    model = PooledTaskEstimator(LogisticRegression(), task_column=0)
    base = IndependentTaskEstimator(LogisticRegression(), task_column=0)
    cv = TaskStratifiedKFold(4, task_column=0, shuffle=True, random_state=0)
    report = transfer_report(model, X, y, task_column=0, cv=cv, baselines=[base])
    assert report.scoring == "accuracy" and report.baselines == [
        "IndependentTaskEstimator"
    ]
    splits = list(cv.split(X))
    pm, pb = _oof(model, X, y, splits), _oof(base, X, y, splits)
    for t in range(3):
        rows = X[:, 0] == t
        gain = np.mean(pm[rows] == y[rows]) - np.mean(pb[rows] == y[rows])
        assert report.gains["IndependentTaskEstimator"][t] == pytest.approx(gain)


# --------------------------------------------------------------------------- verdicts
def test_outlier_task_is_flagged_and_no_related_task_is():
    (X, y), _ = outlier_data(seed=0)
    model = GraphRegularizedMultiTaskRegression(alpha=1.0, task_column=0)
    report = transfer_report(model, X, y, task_column=0, cv=5)
    assert report.baselines == ["independent", "pooled"]
    assert report.hurt_tasks().tolist() == [7]
    assert report.verdicts["independent"][7] == "hurt"
    assert report.gains["independent"][7] < -0.1
    assert report.summary["independent"]["hurt"] == 1
    assert "hurt 1 (7)" in str(report)


def test_excluding_the_flagged_task_helps_the_others():
    """Acting on the flag: fit the model without the hurt task (and that task on
    its own); the other tasks' held-out error drops (fresh test rows)."""
    (X, y), (Xt, yt) = outlier_data(seed=0, n_test=300)
    model = GraphRegularizedMultiTaskRegression(
        alpha=1.0, task_column=0, alpha_intercepts=0.0
    )
    report = transfer_report(model, X, y, task_column=0, cv=5)
    keep = report.sample_weight(X) > 0
    assert keep.sum() == np.sum(X[:, 0] != 7)
    others = Xt[:, 0] != 7

    def mse(fitted):
        return np.mean((yt[others] - fitted.predict(Xt[others])) ** 2)

    together = mse(clone(model).fit(X, y))
    apart = mse(clone(model).fit(X[keep], y[keep]))
    assert apart < 0.9 * together  # measured: 1.46 vs 1.59 (seed 0)

    # down-weighting (a model whose loss counts rows, so a task weight matters)
    pooled = PooledTaskEstimator(RidgeCV(), task_column=0, task_intercepts=True)
    flagged = transfer_report(pooled, X, y, task_column=0, cv=5)
    assert 7 in flagged.hurt_tasks().tolist()
    sw = flagged.sample_weight(X, hurt_weight=0.1)
    assert set(np.unique(sw)) == {0.1, 1.0}
    plain = mse(clone(pooled).fit(X, y))
    weighted = mse(clone(pooled).fit(X, y, sample_weight=sw))
    assert weighted < 0.9 * plain


def test_false_alarm_rate_with_no_real_difference():
    """Two equally good models (per-task OLS on the signal plus 3 pure-noise
    columns, different ones): over 200 data sets, the share of reports that flag
    any task is at most alpha = 0.05 (the documented rate of the default
    Benjamini-Hochberg rule), and the uncorrected per-task rate is alpha within
    binomial error (the per-row t-test is calibrated, not merely silent)."""
    model, base = PerTaskOLS(cols=(1, 2, 3, 4, 5)), PerTaskOLS(cols=(1, 2, 6, 7, 8))
    n_rep, T, n = 200, 10, 20
    any_flag, per_task = 0, 0
    for seed in range(n_rep):
        rng = np.random.default_rng(seed)
        task = np.repeat(np.arange(T), n)
        F = rng.standard_normal((T * n, 8))
        W = rng.standard_normal((T, 2))
        y = np.einsum("ij,ij->i", F[:, :2], W[task]) + rng.standard_normal(T * n)
        X = np.column_stack([task, F])
        report = transfer_report(
            model,
            X,
            y,
            task_column=0,
            cv=5,
            baselines={"b": base},
            random_state=seed,
        )
        any_flag += np.any(report.verdicts["b"] != "no clear effect")
        per_task += np.sum(report.p_values["b"] <= 0.05)
    rate = any_flag / n_rep
    assert rate <= 0.05, rate  # measured 0.03 (uncorrected per-task rate 0.0575)
    low, high = stats.binom.interval(0.999, n_rep * T, 0.05)
    assert low <= per_task <= high, per_task / (n_rep * T)


# --------------------------------------------------------------------------- report
def test_report_frame_plot_and_errors(monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    (X, y), _ = outlier_data(n=15, n_tasks=4, seed=1)
    model = GraphRegularizedMultiTaskRegression(alpha=1.0, task_column=0)
    report = transfer_report(model, X, y, task_column=0, cv=3, n_jobs=2)
    serial = transfer_report(model, X, y, task_column=0, cv=3)
    np.testing.assert_allclose(report.gains["pooled"], serial.gains["pooled"])
    frame = report.to_frame()
    assert frame.shape == (8, 11)
    assert set(frame["baseline"]) == {"independent", "pooled"}
    np.testing.assert_allclose(
        frame.query("baseline == 'pooled'")["gain"], report.gains["pooled"]
    )
    monkeypatch.setitem(sys.modules, "pandas", None)
    plain = report.to_frame()
    assert isinstance(plain, dict) and plain["gain"].shape == (8,)
    monkeypatch.undo()

    ax = report.plot()
    assert len(ax.patches) == 4 and ax.get_title().endswith(" vs independent")
    # an extreme gain is clipped and marked
    report.gains["independent"][0] = -50.0
    ax = report.plot()
    assert ax.get_ylim()[0] > -50 and "beyond the axis" in ax.texts[0].get_text()
    with pytest.raises(ValueError, match="Unknown baseline"):
        report.plot(baseline="nope")
    with pytest.raises(ValueError, match="stacked layout"):
        transfer_report(model, X[:, 1:], np.column_stack([y, y]), task_column=0)
    clf = PooledTaskEstimator(LogisticRegression(), task_column=0)
    with pytest.raises(ValueError, match="needs a regressor"):
        transfer_report(clf, X, (y > 0).astype(int), scoring="r2")


# --------------------------------------------------------------------------- similarity
def _clustered(seed=0, n_tasks=12):
    X, y = make_multitask_regression(
        n_tasks=n_tasks,
        n_samples=40,
        n_features=10,
        structure="clustered",
        n_clusters=3,
        spread=0.1,
        noise=0.5,
        random_state=seed,
    )
    return X, y, np.arange(n_tasks) % 3


CLUSTER_MODELS = {
    "clustered": lambda: ClusteredMultiTaskRegression(
        n_clusters=3, alpha=1.0, beta=0.01, task_column=0
    ),
    "trace_norm": lambda: TraceNormRegression(alpha=0.3, task_column=0),
    "reduced_rank": lambda: ReducedRankRegression(rank=3, task_column=0),
    "kernel_ridge": lambda: MultiTaskKernelRidge(mu=1.0, task_column=0),
    "mlp": lambda: MultiTaskMLPRegressor(
        hidden_layer_sizes=(16,), task_column=0, random_state=0, max_iter=300
    ),
}


@pytest.mark.parametrize("name", CLUSTER_MODELS)
@pytest.mark.parametrize("seed", [0, 1])
def test_task_similarity_recovers_planted_clusters(name, seed):
    X, y, truth = _clustered(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the MLP may stop at max_iter
        model = CLUSTER_MODELS[name]().fit(X, y)
    S = task_similarity(model)
    assert S.shape == (12, 12) and np.allclose(S, S.T)
    assert np.allclose(np.diag(S), 1.0) and np.all(np.abs(S) <= 1.0)
    # the MLP's heads now share an output layer with shrunk offsets (alpha_heads):
    # its head cosine separates the clusters less sharply (ARI 0.74 and 1.0 on the
    # two seeds), the linear models recover them exactly
    floor = 0.7 if name == "mlp" else 0.9
    assert adjusted_rand_score(truth, cluster_tasks(S, 3)) >= floor


HIERARCHICAL = [
    ("HierarchicalRidge", "regression"),
    ("HierarchicalRidgeCV", "regression"),
    ("BayesianHierarchicalRegression", "regression"),
    ("HierarchicalLogisticRegression", "classification"),
    ("HierarchicalLogisticRegressionCV", "classification"),
    ("BayesianHierarchicalClassifier", "classification"),
]


@pytest.mark.parametrize("name, kind", HIERARCHICAL)
def test_task_similarity_hierarchical_models(name, kind):
    cls = getattr(skmtl.linear_model, name, None)
    if cls is None:
        pytest.skip(f"skmtl.linear_model.{name} does not exist in this tree")
    make = (
        make_multitask_regression
        if kind == "regression"
        else make_multitask_classification
    )
    X, y = make(
        n_tasks=12,
        n_samples=80 if kind == "regression" else 150,
        n_features=6,
        structure="clustered",
        n_clusters=3,
        spread=0.1,
        random_state=0,
    )
    model = cls(task_column=0).fit(X, y)
    S, source = task_similarity(model, return_source=True)
    assert source == "deviation cosine"
    assert adjusted_rand_score(np.arange(12) % 3, cluster_tasks(S, 3)) >= 0.9


class _FakeHierarchical(BaseEstimator):
    """Fitted attributes of a shared + task-specific model, set by hand."""

    def fit(self, X=None, y=None):
        rng = np.random.default_rng(0)
        self.coef_shared_ = np.ones(3)
        self.coef_deviations_ = rng.standard_normal((4, 3))
        self.intercept_deviations_ = rng.standard_normal(4)
        self.intercept_variance_ = 4.0
        self.slope_variances_ = np.array([1.0, 9.0, 0.25])
        return self


def test_deviation_cosine_uses_prior_scaled_deviations():
    model = _FakeHierarchical().fit()
    S, source = task_similarity(model, return_source=True)
    V = np.column_stack([model.intercept_deviations_ / 2, model.coef_deviations_])
    V[:, 1:] /= np.sqrt(model.slope_variances_)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    assert source == "deviation cosine"
    np.testing.assert_allclose(S, V @ V.T, atol=1e-12)


def test_task_similarity_sources():
    X, y, _ = _clustered(0, n_tasks=6)
    ind = IndependentTaskEstimator(Ridge(), task_column=0).fit(X, y)
    W = np.vstack([e.coef_ for e in ind.estimators_])
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(task_similarity(ind), U @ U.T, atol=1e-12)
    pooled = PooledTaskEstimator(Ridge(), task_column=0).fit(X, y)
    assert task_similarity(pooled, return_source=True)[1] == "pooled (all equal)"
    rbf = MultiTaskKernelRidge(kernel="rbf", mu=3.0, task_column=0).fit(X, y)
    S, source = task_similarity(rbf, return_source=True)
    assert source.startswith("mu-implied")
    np.testing.assert_allclose(S[~np.eye(6, dtype=bool)], 1 / (1 + 3.0))
    search = GridSearchCV(
        TraceNormRegression(task_column=0),
        {"alpha": [0.1, 1.0]},
        cv=TaskStratifiedKFold(2, task_column=0),
    ).fit(X, y)
    np.testing.assert_allclose(
        task_similarity(search), task_similarity(search.best_estimator_)
    )
    deep = MultiTaskMLPRegressor(
        hidden_layer_sizes=(8,), head_layer_sizes=(4,), task_column=0, max_iter=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deep.fit(X, y)
    with pytest.raises(ValueError, match="head layers"):
        task_similarity(deep)
    with pytest.raises(TypeError, match="no task structure"):
        task_similarity(Ridge().fit(X[:, 1:], y))


def test_cluster_tasks_and_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    S = np.array([[1, 0.9, 0.1], [0.9, 1, 0.0], [0.1, 0.0, 1]])
    assert cluster_tasks(S, 2).tolist() == [0, 0, 1]
    assert cluster_tasks(S, 3).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="n_clusters"):
        cluster_tasks(S, 4)
    with pytest.raises(ValueError, match="square"):
        cluster_tasks(S[:2], 1)
    X, y, truth = _clustered(0, n_tasks=9)
    model = TraceNormRegression(alpha=0.3, task_column=0).fit(X, y)
    ax = plot_task_similarity(model)
    image = ax.images[0].get_array()
    assert image.shape == (9, 9) and "low-rank cosine" in ax.get_title()
    # ordered by clustering: tasks of one planted cluster are adjacent
    order = [int(t.get_text()) for t in ax.get_xticklabels()]
    assert all(len({truth[t] for t in order[i : i + 3]}) == 1 for i in range(0, 9, 3))


def test_dataframe_with_string_task_labels():
    pd = pytest.importorskip("pandas")
    (X, y), _ = outlier_data(n=15, n_tasks=4, seed=2)
    frame = pd.DataFrame(X[:, 1:], columns=[f"x{j}" for j in range(X.shape[1] - 1)])
    frame.insert(2, "shop", np.array(["a", "b", "c", "d"])[X[:, 0].astype(int)])
    model = GraphRegularizedMultiTaskRegression(alpha=1.0, task_column="shop")
    report = transfer_report(model, frame, y, task_column="shop", cv=3)
    as_array = transfer_report(
        GraphRegularizedMultiTaskRegression(alpha=1.0, task_column=0), X, y, cv=3
    )
    assert report.tasks.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(
        report.gains["independent"], as_array.gains["independent"], atol=1e-8
    )
    weights = report.sample_weight(frame)
    assert weights.shape == (len(y),)


@pytest.mark.slow
def test_transfer_report_runs_on_dask():
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    (X, y), _ = outlier_data(n=15, n_tasks=4, seed=3)
    model = GraphRegularizedMultiTaskRegression(alpha=1.0, task_column=0)
    local = transfer_report(model, X, y, task_column=0, cv=3)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            remote = transfer_report(model, X, y, task_column=0, cv=3, n_jobs=-1)
        transitions = client.run_on_scheduler(
            lambda dask_scheduler: len(dask_scheduler.transition_log)
        )
    cluster.close()
    assert transitions > 0  # the fits went through the scheduler
    for b in local.baselines:
        np.testing.assert_allclose(remote.gains[b], local.gains[b], rtol=1e-10)
        assert remote.verdicts[b].tolist() == local.verdicts[b].tolist()
