"""Cross-validated comparison of registered models; the engine behind the CLI."""

import sys
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..metrics import explained_variance_per_task, mean_task_rmse, nmse, per_task_scores

REGRESSION_COLUMNS = [
    ("ev_task", "EV (task mean)", "{:.3f}"),
    ("ev_pooled", "EV (pooled)", "{:.3f}"),
    ("nmse", "nMSE (task mean)", "{:.3f}"),
    ("rmse", "RMSE (task mean)", "{:.3f}"),
    ("fit_time", "fit time (s)", "{:.2f}"),
]
CLASSIFICATION_COLUMNS = [
    ("acc_task", "accuracy (task mean)", "{:.3f}"),
    ("acc_pooled", "accuracy (pooled)", "{:.3f}"),
    ("fit_time", "fit time (s)", "{:.2f}"),
]


def make_model_pipeline(estimator, kinds):
    """Impute and scale numeric features, one-hot encode categorical ones, keep the
    task column (the last column of ``X``) last."""
    num = [j for j, k in enumerate(kinds) if k == "numeric"]
    cat = [j for j, k in enumerate(kinds) if k == "categorical"]
    steps = []
    if num:
        steps.append(
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                num,
            )
        )
    if cat:
        steps.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                cat,
            )
        )
    pre = ColumnTransformer(steps, remainder="passthrough", sparse_threshold=0)
    return make_pipeline(pre, estimator)


def _fold_scores(model, X, y, train, test, kind):
    start = time.perf_counter()
    fitted = clone(model).fit(X[train], y[train])
    fit_time = time.perf_counter() - start
    pred = fitted.predict(X[test])
    tasks = X[test, -1]
    if kind == "regression":
        yt = y[test].astype(float)
        scores = {
            "ev_task": explained_variance_per_task(yt, pred, tasks),
            "ev_pooled": explained_variance_per_task(yt, pred, tasks, average="pooled"),
            "nmse": nmse(yt, pred, tasks),
            "rmse": mean_task_rmse(yt, pred, tasks),
        }
        per_task = per_task_scores(yt, pred, tasks, "r2")
    else:
        per_task = per_task_scores(y[test], pred, tasks, "accuracy")
        scores = {
            "acc_task": float(np.mean(list(per_task.values()))),
            "acc_pooled": accuracy_score(y[test], pred),
        }
    scores["fit_time"] = fit_time
    return scores, per_task


def evaluate(models, X, y, splits, kind, n_jobs=None, log=None):
    """Fit every model on every split; return ``{name: (fold scores, per-task)}``.

    ``models`` maps names to pipelines taking ``X`` whose last column is the task.
    """
    jobs = [(name, k) for name in models for k in range(len(splits))]
    run = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fold_scores)(models[name], X, y, *splits[k], kind) for name, k in jobs
    )
    log = sys.stderr if log is None else log
    results = {name: ([], []) for name in models}
    for done, ((name, k), (scores, per_task)) in enumerate(zip(jobs, run), start=1):
        results[name][0].append(scores)
        results[name][1].append(per_task)
        print(
            f"[{done}/{len(jobs)}] {name}: split {k + 1}/{len(splits)} "
            f"({scores['fit_time']:.2f} s)",
            file=log,
            flush=True,
        )
    return results


def format_table(results, kind):
    """Markdown table: one row per model, mean ± std over splits."""
    columns = REGRESSION_COLUMNS if kind == "regression" else CLASSIFICATION_COLUMNS
    header = "| model | " + " | ".join(title for _, title, _ in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for name, (folds, _) in results.items():
        cells = []
        for key, _, fmt in columns:
            vals = np.array([f[key] for f in folds])
            cell = fmt.format(vals.mean())
            if len(vals) > 1:
                cell += " ± " + fmt.format(vals.std())
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_per_task(results, kind, path):
    """Box plot of the per-task scores (averaged over splits) of each model."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("skmtl: --plot needs matplotlib: pip install 'skmtl[plot]'.")
    names, data = [], []
    for name, (_, per_task) in results.items():
        tasks = sorted({t for fold in per_task for t in fold}, key=str)
        means = [np.mean([fold[t] for fold in per_task if t in fold]) for t in tasks]
        names.append(name)
        data.append(np.asarray(means))
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2, 4))
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=20)
    ax.set_ylabel("per-task R^2" if kind == "regression" else "per-task accuracy")
    ax.set_title("Per-task held-out scores (mean over splits)")
    if kind == "regression":
        low = np.percentile(np.concatenate(data), 2)
        ax.set_ylim(bottom=max(low, -1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
