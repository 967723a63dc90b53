"""Smoke test of the real-data benchmark harness on small synthetic grouped data.

No ``../shared`` data is needed; the mixed-model baselines are tested only where
their packages are installed.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from skmtl.datasets import make_multitask_classification, make_multitask_regression

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_realdata.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_realdata", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _models(bench, kind, names):
    models = [m for m in bench.select_models(kind) if m.name in names]
    assert [m.name for m in models] == [
        n for n in names if n in {m.name for m in models}
    ]
    return models


def _regression_data():
    X, y = make_multitask_regression(
        n_tasks=6, n_samples=[8, 12, 20, 20, 30, 40], n_features=4, random_state=0
    )
    return X[:, 1:], y, X[:, 0].astype(int)


def _classification_data():
    X, y = make_multitask_classification(
        n_tasks=3, n_samples=30, n_features=3, random_state=0
    )
    return X[:, 1:], y, X[:, 0].astype(int)


def test_split_per_task_rules(bench):
    rng = np.random.default_rng(0)
    task = np.repeat(np.arange(5), [2, 3, 10, 20, 50])
    y = rng.normal(size=task.size)
    train, test = bench.split_per_task(task, y, 0.1, rng, bench.REG)
    assert not (train & test).any()
    counts_tr = np.bincount(task[train], minlength=5)
    counts_te = np.bincount(task[test], minlength=5)
    # the 2-row task is dropped; the others keep >= 2 training and >= 1 test rows
    np.testing.assert_array_equal(counts_tr, [0, 2, 2, 2, 5])
    np.testing.assert_array_equal(counts_te, [0, 1, 8, 18, 45])

    yc = np.zeros(task.size, dtype=int)
    yc[task == 3] = np.arange(20) < 3  # 3 positives out of 20
    yc[task == 4] = np.arange(50) < 2  # 2 positives out of 50
    train, test = bench.split_per_task(task, yc, 0.1, rng, bench.CLF)
    for t in (3, 4):  # both classes in training and in test
        assert set(yc[train & (task == t)]) == {0, 1}
        assert set(yc[test & (task == t)]) == {0, 1}


def test_full_rank_columns_drops_collinear(bench):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(30, 3))
    onehot = np.eye(2)[rng.integers(0, 2, 30)]  # sums to the intercept
    Z = np.column_stack([Z, Z[:, 0] + Z[:, 1], onehot])
    kept = bench.full_rank_columns(Z)
    assert len(kept) == 4  # 6 columns, rank 5 with the intercept
    A = np.column_stack([np.ones(30), Z[:, kept]])
    assert np.linalg.matrix_rank(A) == A.shape[1]


def test_regression_table(bench):
    X, y, task = _regression_data()
    names = [
        "independent (Ridge/LogisticCV per task)",
        "pooled (RidgeCV/LogisticCV)",
        "pooled + task dummies",
        "[x, 1hot, 1hot*x] (RidgeCV/LogisticCV)",
        "MultiTaskLassoCV",
    ]
    models = _models(bench, bench.REG, names)
    missing = bench.ModelEntry(
        "missing", "skmtl", (bench.REG,), None, requires=("skmtl.linear_model:Nope",)
    )
    records = bench.run_dataset(
        "toy",
        X,
        y,
        task,
        bench.REG,
        ratios=(0.3, 0.75),
        repeats=2,
        models=models + [missing],
    )
    summary = bench.summarise(records, bench.REG)
    assert list(summary) == [("toy", "ratio 0.30"), ("toy", "ratio 0.75")]
    for rows in summary.values():
        assert [r["model"] for r in rows] == names + ["missing"]
        for r in rows[:-1]:
            assert r["n_ok"] == 2 and r["failures"] == 0
            assert np.isfinite(r["r2"][0]) and np.isfinite(r["rmse"][0])
            assert r["rmse"][0] > 0
        assert rows[-1]["unavailable"]
        # the independent model is worse than the truth-aware dummies on related tasks
        text = "\n".join(bench.render_table(rows, bench.REG))
        assert "(best baseline)" in text and "(best skmtl)" in text
        assert "Not run: missing (not available" in text
        assert "skmtl WINS" in text or "skmtl LOSES" in text
    # pooled R^2 checked against a direct computation for one record
    rec = records[0]
    assert -1 < rec["r2"] <= 1


def test_classification_table_and_fallback(bench):
    X, y, task = _classification_data()
    names = [
        "independent (Ridge/LogisticCV per task)",
        "pooled + task dummies",
        "MultiTaskLogisticLassoCV",
    ]
    models = _models(bench, bench.CLF, names)
    records = bench.run_dataset(
        "toyc", X, y, task, bench.CLF, ratios=(0.3,), repeats=1, models=models
    )
    rows = bench.summarise(records, bench.CLF)[("toyc", "ratio 0.30")]
    assert [r["model"] for r in rows] == names
    for r in rows:
        assert r["failures"] == 0, r["message"]
        assert 0 <= r["auc_task"][0] <= 1 and 0 <= r["auc_pooled"][0] <= 1

    # a task with 2 positives gets a plain LogisticRegression; one class a constant
    clf = bench.SafeLogisticCV().fit(X[:20], np.r_[np.ones(2), np.zeros(18)])
    assert type(clf.model_).__name__ == "LogisticRegression"
    clf = bench.SafeLogisticCV().fit(X[:20], np.ones(20))
    np.testing.assert_array_equal(clf.predict_proba(X[:3]), np.ones((3, 1)))


def test_markdown_and_csv(bench, tmp_path):
    X, y, task = _regression_data()
    models = _models(
        bench, bench.REG, ["pooled (RidgeCV/LogisticCV)", "MultiTaskLassoCV"]
    )
    records = bench.run_dataset(
        "toy", X, y, task, bench.REG, ratios=(0.5,), repeats=1, models=models
    )
    md = bench.render_markdown(bench.summarise(records, bench.REG), {"toy": bench.REG})
    assert "## toy, per-task training ratio 0.50" in md
    bench.write_csv(records, tmp_path / "r.csv")
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert len(lines) == 1 + len(records) and lines[0].startswith("dataset,protocol")


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_mixed_model_baselines(bench, kind):
    data = _regression_data() if kind == "regression" else _classification_data()
    X, y, task = data
    wanted = [
        "lme4 (1 + x || task)",
        "lme4 (1 | task)",
        "GPBoost GPModel (1 | task)",
        "statsmodels MixedLM (1 | task)",
    ]
    models = [m for m in bench.select_models(kind) if m.name in wanted]
    models = [m for m in models if bench.available(m)[0]]
    if not models:
        pytest.skip("no mixed-model package installed")
    records = bench.run_dataset(
        "toy", X, y, task, kind, ratios=(0.5,), repeats=1, models=models
    )
    metric = bench.METRICS[kind][0][0]
    for rec in records:
        assert rec["status"] == "ok", (rec["model"], rec["message"])
        assert np.isfinite(rec[metric])
    if kind == "regression":
        # the random-intercept models of lme4, statsmodels and GPBoost agree
        # (REML vs ML differ slightly: a loose tolerance)
        scores = {r["model"]: r["rmse"] for r in records if "(1 | task)" in r["model"]}
        if len(scores) > 1:
            values = np.array(list(scores.values()))
            assert np.ptp(values) < 0.05 * values.mean()


def test_interaction_ridge_matches_ridgecv_and_brute_force_loo(bench):
    from sklearn.linear_model import Ridge, RidgeCV

    rng = np.random.default_rng(1)
    n = np.array([3, 5, 8, 10, 4])
    task = np.repeat(np.arange(5), n)
    X = rng.normal(size=(n.sum(), 3))
    y = X @ [1.0, -1.0, 0.5] + rng.normal(size=5)[task] + rng.normal(size=n.sum())
    Xs = bench.stacked(task, X)
    alphas = np.logspace(-2, 2, 5)
    model = bench.InteractionRidgeCV(alphas).fit(Xs, y)
    design = bench.TaskDesignModel(None)
    design.n_tasks_ = 5
    D = design._design(Xs).toarray()  # [x, one-hot, one-hot * x]
    ref = RidgeCV(alphas=alphas).fit(D, y)
    assert model.alpha_ == ref.alpha_
    np.testing.assert_allclose(model.predict(Xs), ref.predict(D), atol=1e-10)
    # the leave-one-out criterion equals refits without each row
    a = alphas[1]
    loo = [
        (
            y[i]
            - Ridge(alpha=a).fit(np.delete(D, i, 0), np.delete(y, i)).predict(D[[i]])[0]
        )
        ** 2
        for i in range(len(y))
    ]
    np.testing.assert_allclose(model.loo_mse_[1], np.mean(loo), rtol=1e-10)
