"""Shared + task-specific logistic models: fit time at scale and AUC on Landmine.

1. Fit time of HierarchicalLogisticRegression(CV) and BayesianHierarchicalClassifier
   at 1,000 tasks x 30 rows x 20 features, and at 100 tasks x 5,000 rows (50 a task)
   next to GPBoost's random-intercept GLMM (one and two threads) on the same data.
2. Landmine (29 tasks, ../shared/data/landmine): 30% of each task's rows for
   training (``train_test_split_per_task``, seeds 0..R-1), features standardised
   on the training rows; mean per-task AUC and pooled AUC against
   LogisticRegressionCV (pooled, and with one-hot task dummies) and GPBoost's
   random-intercept GLMM.

Timings on a shared machine: compare ratios within one run.

    PYTHONPATH=. python benchmarks/bench_hierarchical_logistic.py [--repeats 5]
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from skmtl.linear_model import (
    BayesianHierarchicalClassifier,
    HierarchicalLogisticRegression,
    HierarchicalLogisticRegressionCV,
)
from skmtl.model_selection import train_test_split_per_task

# ../shared/data next to the repository (or next to the folder holding a worktree)
LANDMINE = next(
    (
        parent / "shared/data/landmine/landmine.npz"
        for parent in Path(__file__).resolve().parents
        if (parent / "shared/data/landmine/landmine.npz").exists()
    ),
    Path("shared/data/landmine/landmine.npz"),
)


def simulate(n_tasks, rows, d, seed=0):
    rng = np.random.RandomState(seed)
    task = np.repeat(np.arange(n_tasks), rows)
    x = rng.randn(task.size, d)
    W = 0.5 * rng.randn(d) + 0.3 * rng.randn(n_tasks, d)
    b = 0.8 * rng.randn(n_tasks)
    eta = np.einsum("ij,ij->i", x, W[task]) + b[task]
    return task, x, (rng.rand(task.size) < expit(eta)).astype(int)


def best_time(fit, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


def gpboost_fit(task, Z, y, threads):
    import gpboost as gpb

    model = gpb.GPModel(
        group_data=task, likelihood="bernoulli_logit", num_parallel_threads=threads
    )
    model.fit(y=y, X=Z, params={"trace": False})
    return model


def scale():
    print("## Fit time (best of repeats, seconds)")
    task, x, y = simulate(1000, 30, 20)
    X = np.column_stack([task, x])
    for name, est, reps in [
        ("HierarchicalLogisticRegression", HierarchicalLogisticRegression(), 2),
        ("BayesianHierarchicalClassifier(slopes)", BayesianHierarchicalClassifier(), 1),
        (
            "BayesianHierarchicalClassifier(intercept)",
            BayesianHierarchicalClassifier(False),
            2,
        ),
        ("HierarchicalLogisticRegressionCV", HierarchicalLogisticRegressionCV(), 1),
    ]:
        est.set_params(task_column=0)
        seconds = best_time(lambda: est.fit(X, y), reps)
        print(f"1000 tasks x 30 rows x 20 features  {name:42s} {seconds:7.2f}")
    try:
        import gpboost  # noqa: F401
    except ImportError:
        gpboost = None
    for d in (5, 20):
        task, x, y = simulate(100, 50, d, seed=1)
        X = np.column_stack([task, x])
        Z = np.column_stack([np.ones(len(y)), x])
        ref = {}
        if gpboost is not None:
            for threads in (1, 2):
                ref[threads] = best_time(lambda: gpboost_fit(task, Z, y, threads), 5)
            print(
                f"100 tasks x 5000 rows, d={d:2d}  GPBoost random intercept  "
                f"1 thread {ref[1]:.3f}  2 threads {ref[2]:.3f}"
            )
        for name, est in [
            (
                "BayesianHierarchicalClassifier(intercept)",
                BayesianHierarchicalClassifier(False),
            ),
            (
                "BayesianHierarchicalClassifier(slopes)",
                BayesianHierarchicalClassifier(),
            ),
            ("HierarchicalLogisticRegression", HierarchicalLogisticRegression()),
        ]:
            est.set_params(task_column=0)
            t = best_time(lambda: est.fit(X, y), 5)
            ratio = f"  ratio to GPBoost(1 thread) {t / ref[1]:.1f}" if ref else ""
            print(f"100 tasks x 5000 rows, d={d:2d}  {name:42s} {t:.3f}{ratio}")


def auc_scores(task, y, score, n_tasks):
    per = [
        roc_auc_score(y[task == t], score[task == t])
        for t in range(n_tasks)
        if np.unique(y[task == t]).size == 2
    ]
    return np.mean(per), roc_auc_score(y, score)


def landmine(repeats):
    if not LANDMINE.exists():
        print(f"(Landmine not found at {LANDMINE}; skipped)")
        return
    data = np.load(LANDMINE)
    X_all = np.column_stack([data["task"], data["X"]])
    y_all = data["y"]
    T = int(data["task"].max()) + 1
    onehot = np.eye(T)
    results = {}

    def record(name, tte, yte, score, seconds):
        results.setdefault(name, []).append(auc_scores(tte, yte, score, T) + (seconds,))

    for seed in range(repeats):
        Xtr, Xte, ytr, yte = train_test_split_per_task(
            X_all, y_all, train_size=0.3, random_state=seed
        )
        scaler = StandardScaler().fit(Xtr[:, 1:])
        Xtr = np.column_stack([Xtr[:, 0], scaler.transform(Xtr[:, 1:])])
        Xte = np.column_stack([Xte[:, 0], scaler.transform(Xte[:, 1:])])
        ttr, tte = Xtr[:, 0].astype(int), Xte[:, 0].astype(int)
        for name, est in [
            ("HierarchicalLogisticRegressionCV", HierarchicalLogisticRegressionCV()),
            (
                "BayesianHierarchicalClassifier(slopes)",
                BayesianHierarchicalClassifier(),
            ),
            (
                "BayesianHierarchicalClassifier(intercept)",
                BayesianHierarchicalClassifier(False),
            ),
            (
                "HierarchicalLogisticRegression(defaults)",
                HierarchicalLogisticRegression(),
            ),
        ]:
            start = time.perf_counter()
            est.set_params(task_column=0).fit(Xtr, ytr)
            record(
                name, tte, yte, est.decision_function(Xte), time.perf_counter() - start
            )
        for name, train, test in [
            (
                "LogisticRegressionCV + task dummies",
                np.column_stack([Xtr[:, 1:], onehot[ttr]]),
                np.column_stack([Xte[:, 1:], onehot[tte]]),
            ),
            ("LogisticRegressionCV pooled", Xtr[:, 1:], Xte[:, 1:]),
        ]:
            start = time.perf_counter()
            lr = LogisticRegressionCV(Cs=10, scoring="neg_log_loss", max_iter=5000)
            lr.fit(train, ytr)
            record(
                name, tte, yte, lr.decision_function(test), time.perf_counter() - start
            )
        try:
            start = time.perf_counter()
            gp = gpboost_fit(
                ttr, np.column_stack([np.ones(len(ytr)), Xtr[:, 1:]]), ytr, 1
            )
            seconds = time.perf_counter() - start
            pred = gp.predict(
                X_pred=np.column_stack([np.ones(len(yte)), Xte[:, 1:]]),
                group_data_pred=tte,
                predict_response=False,
            )
            record(
                "GPBoost GLMM random intercept",
                tte,
                yte,
                np.asarray(pred["mu"]).ravel(),
                seconds,
            )
        except ImportError:
            pass
    print(f"\n## Landmine, 30% training rows per task, {repeats} splits (mean ± std)")
    print(f"{'model':45s} {'per-task AUC':>15s} {'pooled AUC':>15s} {'fit s':>7s}")
    for name, rows in results.items():
        rows = np.array(rows)
        print(
            f"{name:45s} {rows[:, 0].mean():.4f}±{rows[:, 0].std():.4f} "
            f"{rows[:, 1].mean():.4f}±{rows[:, 1].std():.4f} {rows[:, 2].mean():7.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if not args.skip_scale:
        scale()
    landmine(args.repeats)
