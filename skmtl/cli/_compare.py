"""Cross-validated comparison of registered models; the engine behind the CLI."""

import csv
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

from .._data import encode_task_labels
from ..inspection._transfer import TransferReport, row_losses
from ..metrics import explained_variance_per_task, mean_task_rmse, nmse

# pooled metrics first: they are stable when tasks have few test rows
REGRESSION_COLUMNS = [
    ("ev_pooled", "EV (pooled)", "{:.3f}"),
    ("rmse_pooled", "RMSE (pooled)", "{:.3f}"),
    ("ev_task", "EV (task mean)", "{:.3f}"),
    ("nmse", "nMSE (task mean)", "{:.3f}"),
    ("fit_time", "fit time (s)", "{:.2f}"),
]
CLASSIFICATION_COLUMNS = [
    ("acc_pooled", "accuracy (pooled)", "{:.3f}"),
    ("acc_task", "accuracy (task mean)", "{:.3f}"),
    ("fit_time", "fit time (s)", "{:.2f}"),
]
HEADLINE = {"regression": "ev_pooled", "classification": "acc_pooled"}
# the models that answer "would no or full sharing do as well?"
BASELINES = ("independent", "pooled_intercepts", "pooled")
# shown for reference, never "best"
REFERENCES = ("majority",)
SMALL_TEST_TASK = 5


def make_model_pipeline(estimator, kinds):
    """Impute and scale numeric features, one-hot encode categorical ones, keep the
    task column (the last column of ``X``) last.

    Missing numeric cells get the median of the training rows, missing categorical
    cells their most frequent value (both learned inside each training fold).
    """
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
        pred = np.asarray(pred, dtype=float)
        scores = {
            "ev_task": explained_variance_per_task(yt, pred, tasks),
            "ev_pooled": explained_variance_per_task(yt, pred, tasks, average="pooled"),
            "nmse": nmse(yt, pred, tasks),
            "rmse_pooled": mean_task_rmse(yt, pred, tasks, average="pooled"),
        }
    else:
        correct = np.asarray(y[test] == pred, dtype=float)
        _, codes = encode_task_labels(tasks)
        per_task = np.bincount(codes, weights=correct) / np.bincount(codes)
        scores = {
            "acc_task": float(per_task.mean()),
            "acc_pooled": accuracy_score(y[test], pred),
        }
    scores["fit_time"] = fit_time
    return scores, pred


def evaluate(models, X, y, splits, kind, n_jobs=None, log=None):
    """Fit every model on every split.

    Returns ``{name: (fold scores, predictions)}``, ``predictions[k]`` being the
    predictions of the test rows of split ``k``. ``models`` maps names to
    pipelines taking ``X`` whose last column is the task.
    """
    jobs = [(name, k) for name in models for k in range(len(splits))]
    run = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fold_scores)(models[name], X, y, *splits[k], kind) for name, k in jobs
    )
    log = sys.stderr if log is None else log
    results = {name: ([], []) for name in models}
    for done, ((name, k), (scores, pred)) in enumerate(zip(jobs, run), start=1):
        results[name][0].append(scores)
        results[name][1].append(pred)
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


def small_task_warning(X, splits):
    """A warning when the median task has fewer than 5 test rows per fold."""
    _, codes = encode_task_labels(X[:, -1])
    counts = np.concatenate(
        [np.bincount(codes[test], minlength=codes.max() + 1) for _, test in splits]
    )
    counts = counts[counts > 0]
    median = float(np.median(counts)) if counts.size else 0.0
    if median >= SMALL_TEST_TASK:
        return None
    return (
        f"Warning: tasks have few test rows (median {median:g} per task and fold, "
        f"fewer than {SMALL_TEST_TASK}): the per-task means (task mean columns) are "
        "unstable; trust the pooled columns and the verdict below, which scores each "
        "task on all its out-of-fold predictions."
    )


def headline(results, kind, name):
    return float(np.mean([f[HEADLINE[kind]] for f in results[name][0]]))


def build_report(results, X, y, splits, kind, alpha=0.05):
    """The verdict: the best multi-task model's :class:`TransferReport` against the
    baselines that ran (None when there is no multi-task model or no baseline).

    Best = highest headline (pooled) score among the models that are neither
    baselines nor references. Every model's per-task score is in ``scores``.
    """
    candidates = [n for n in results if n not in BASELINES + REFERENCES]
    baselines = [n for n in BASELINES if n in results]
    if not candidates or not baselines:
        return None
    best = max(candidates, key=lambda n: headline(results, kind, n))
    scoring = "r2" if kind == "regression" else "accuracy"
    labels, codes = encode_task_labels(X[:, -1])
    losses = {
        name: [
            (test, row_losses(y[test], pred, scoring))
            for (_, test), pred in zip(splits, preds)
        ]
        for name, (_, preds) in results.items()
    }
    order = {best: losses.pop(best)}
    order.update(losses)
    return TransferReport._from_losses(
        y,
        codes,
        labels,
        splits,
        order,
        model=best,
        baselines=baselines,
        scoring=scoring,
        alpha=alpha,
        correction="fdr_bh",
        task_column=-1,
    )


def verdict_text(report, results, kind, task_word="tasks"):
    """The closing verdict in words."""
    metric = dict((k, t) for k, t, _ in REGRESSION_COLUMNS + CLASSIFICATION_COLUMNS)
    key = HEADLINE[kind]
    ranked = sorted(
        (n for n in results if n not in REFERENCES),
        key=lambda n: -headline(results, kind, n),
    )
    lines = ["", "## Verdict", ""]
    if report is None:
        lines.append(
            f"Best model by {metric[key]}: {ranked[0]} "
            f"({headline(results, kind, ranked[0]):.3f}). Run at least one multi-task "
            "model and one baseline (independent, pooled_intercepts) for a verdict."
        )
        return "\n".join(lines)
    best = report.model
    lines.append(
        f"Best multi-task model by {metric[key]}: **{best}** "
        f"({headline(results, kind, best):.3f})."
    )
    if ranked[0] != best:
        lines.append(
            f"The baseline {ranked[0]} scores higher "
            f"({headline(results, kind, ranked[0]):.3f}): multi-task learning does "
            "not pay off here."
        )
    unit = "R^2" if kind == "regression" else "accuracy"
    lines.append(
        f"Per-task {unit} on each task's out-of-fold predictions; a gain > 0 means "
        f"{best} is better. Flagged: Benjamini-Hochberg at {report.alpha} over the "
        "paired per-row t-tests."
    )
    for b in report.baselines:
        t = report._summary_text(b, digits=3, limit=10)
        shown = t["hurt_list"]
        lines.append(
            f"- vs {b}: {t['gain']} ({t['se']}), {t['record']} over "
            f"{report.summary[b]['n_tasks']} {task_word} ({t['p']}); "
            f"significantly {t['flagged']}" + (f": {shown}" if shown else "")
        )
    return "\n".join(lines)


def write_per_task_csv(report, path):
    """One row per task: rows, every model's per-task score, and the best model's
    gain, standard error, p-value and verdict against each baseline."""
    names = list(report.scores)
    header = ["task", "n_train", "n_test"] + [f"{report.scoring}_{n}" for n in names]
    for b in report.baselines:
        header += [f"gain_vs_{b}", f"gain_se_vs_{b}", f"p_vs_{b}", f"verdict_vs_{b}"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for t, task in enumerate(report.tasks.tolist()):
            row = [task, f"{report.n_train[t]:g}", int(report.n_test[t])]
            row += [f"{report.scores[n][t]:.6g}" for n in names]
            for b in report.baselines:
                row += [
                    f"{report.gains[b][t]:.6g}",
                    f"{report.gain_se[b][t]:.6g}",
                    f"{report.p_adjusted[b][t]:.4g}",
                    report.verdicts[b][t],
                ]
            w.writerow(row)


def plot_gains_figure(report, path):
    """The best model's per-task gain over each baseline, sorted, one panel each."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("skmtl: --plot needs matplotlib: pip install 'skmtl[plot]'.")
    n = len(report.baselines)
    width = min(max(6.0, 3 + 0.08 * len(report.tasks)), 12)
    fig, axes = plt.subplots(n, 1, figsize=(width, 3.4 * n + 0.4), squeeze=False)
    for ax, b in zip(axes[:, 0], report.baselines):
        report.plot(ax=ax, baseline=b)
    fig.suptitle(
        f"Per-task gain of {report.model} ({report.scoring}, out-of-fold; "
        "bars: 95% intervals)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
