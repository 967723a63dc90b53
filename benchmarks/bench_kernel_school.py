"""Kernel family on School split 0 (issue 12): tuned kernel ridge vs the baselines.

Mean over schools of the per-school test RMSE (the published School metric) and the
pooled test R^2, for MultiTaskKernelRidgeCV (linear and rbf kernels, exact
leave-one-out), RidgeCV on ``[x, one-hot(school)]`` and
BayesianHierarchicalRegression, all fitted on the same standardised split. Prints the
fit times as ratios to RidgeCV's in the same run.

Run: ``python benchmarks/bench_kernel_school.py``
"""

import time

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import OneHotEncoder

from skmtl.datasets import load_school, load_school_splits
from skmtl.kernel_ridge import MultiTaskKernelRidge, MultiTaskKernelRidgeCV
from skmtl.linear_model import BayesianHierarchicalRegression


def scores(task, y, pred):
    rmse = [
        np.sqrt(np.mean((y[task == t] - pred[task == t]) ** 2)) for t in np.unique(task)
    ]
    r2 = 1.0 - np.mean((y - pred) ** 2) / np.var(y)
    return float(np.mean(rmse)), float(r2)


def main(split=0):
    data = load_school()
    X, y, tc = (
        np.asarray(data.data, float),
        np.asarray(data.target, float),
        data.task_column,
    )
    train, test = load_school_splits()[split]
    feats = np.delete(np.arange(X.shape[1]), tc)
    mean, std = X[train][:, feats].mean(0), X[train][:, feats].std(0)
    std[std == 0] = 1.0
    Xs = X.copy()
    Xs[:, feats] = (X[:, feats] - mean) / std
    Xs = np.column_stack([X[:, tc], Xs[:, feats]])  # task column first
    task = Xs[:, 0]
    models = {
        "RidgeCV [x, one-hot]": None,
        "BayesianHierarchicalRegression": BayesianHierarchicalRegression(task_column=0),
        "MultiTaskKernelRidgeCV linear": MultiTaskKernelRidgeCV(task_column=0),
        "MultiTaskKernelRidgeCV rbf (nystroem 100)": MultiTaskKernelRidgeCV(
            kernel="rbf",
            gamma=1.0 / len(feats),
            n_components=100,
            random_state=0,
            task_column=0,
        ),
        "MultiTaskKernelRidge default (linear)": MultiTaskKernelRidge(
            solver="linear", task_column=0
        ),
        "MultiTaskKernelRidge fit_intercept=False": MultiTaskKernelRidge(
            solver="linear", fit_intercept=False, task_column=0
        ),
    }
    rows = []
    for name, model in models.items():
        t0 = time.perf_counter()
        if model is None:
            enc = OneHotEncoder(handle_unknown="ignore").fit(task[train, None])

            def D(idx):
                return np.hstack(
                    [Xs[idx, 1:], enc.transform(task[idx, None]).toarray()]
                )

            ridge = RidgeCV(alphas=np.logspace(-3, 4, 30)).fit(D(train), y[train])
            pred = ridge.predict(D(test))
            extra = f"alpha={ridge.alpha_:.3g}"
        else:
            model.fit(Xs[train], y[train])
            pred = model.predict(Xs[test])
            extra = ", ".join(
                f"{k}={getattr(model, k):.3g}"
                for k in ("alpha_", "mu_", "alpha_intercepts_")
                if hasattr(model, k)
            )
        elapsed = time.perf_counter() - t0
        rows.append((name, *scores(task[test], y[test], pred), elapsed, extra))
        if len(rows) == 1:
            print(f"School split {split}: {len(train)} train, {len(test)} test rows")
            print(
                f"{'model':45s} {'mean RMSE':>9s} {'R^2':>7s} {'time/RidgeCV':>12s}"
                "  selected"
            )
        name, rmse, r2, t, extra = rows[-1]
        print(
            f"{name:45s} {rmse:9.4f} {r2:7.4f} {t / rows[0][3]:12.1f}  {extra}",
            flush=True,
        )


if __name__ == "__main__":
    main()
