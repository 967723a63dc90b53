"""
The shared subspace of 139 schools: trace norm and reduced rank vs ridge
=========================================================================

On the School data (139 schools, 27 features) every school's exam-score model
is a weight vector; independent ridge fits one per school. The trace-norm
model asks the 139 weight vectors to share a low-dimensional subspace, and
reduced-rank regression imposes it (``W = loadings @ components``).

Choosing ``alpha`` (the warm-start recipe): fit a decreasing grid of alphas with
``warm_start=True`` on each fold of a ``TaskStratifiedKFold`` (every school in
every fold), each fit starting from the previous solution, and keep the alpha of
the best mean score; ``GridSearchCV`` gives the same choice but starts every
fit from zero. The same loop over an increasing ``rank`` chooses the rank of
``ReducedRankRegression``.

The script prints the test explained variance (mean of per-school R^2, and
pooled) on the standard split, and saves ``low_rank_school.png``: the singular
values of the learned weight matrices, and the schools' loadings on the first
two shared directions of the trace-norm model.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.linear_model import RidgeCV

from skmtl.baselines import IndependentTaskEstimator
from skmtl.datasets import load_school, load_school_splits
from skmtl.linear_model import ReducedRankRegression, TraceNormRegression
from skmtl.metrics import explained_variance_per_task
from skmtl.model_selection import TaskStratifiedKFold

start = time.perf_counter()
school = load_school()
X, y = school.data.copy(), school.target
train, test = load_school_splits()[0]
mean, std = X[train, 1:].mean(0), X[train, 1:].std(0)
X[:, 1:] = (X[:, 1:] - mean) / np.where(std > 0, std, 1.0)
X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
task_test = X_test[:, 0]


def warm_path_cv(estimator, param, values, X, y, n_splits=2):
    """Mean per-task R^2 of each value, fitted along a warm-started path."""
    scores = np.zeros(len(values))
    for fit_idx, val_idx in TaskStratifiedKFold(n_splits, task_column=0).split(X, y):
        est = clone(estimator).set_params(warm_start=True)
        for i, value in enumerate(values):
            est.set_params(**{param: value}).fit(X[fit_idx], y[fit_idx])
            pred = est.predict(X[val_idx])
            scores[i] += (
                explained_variance_per_task(y[val_idx], pred, X[val_idx, 0]) / n_splits
            )
    return values[int(np.argmax(scores))], scores


alphas = np.geomspace(30.0, 1.0, 5)  # decreasing: each fit warm-starts the next
alpha, _ = warm_path_cv(
    TraceNormRegression(task_column=0), "alpha", alphas, X_train, y_train
)
ranks = np.arange(1, 4)
rank, _ = warm_path_cv(
    ReducedRankRegression(task_column=0, alpha=1.0), "rank", ranks, X_train, y_train
)

models = {
    "independent ridge (RidgeCV per school)": IndependentTaskEstimator(
        RidgeCV(alphas=np.logspace(-2, 4, 13)), task_column=0
    ),
    f"trace norm (alpha={alpha:.3g})": TraceNormRegression(alpha=alpha, task_column=0),
    f"reduced rank (rank={rank})": ReducedRankRegression(
        rank=rank, alpha=1.0, task_column=0
    ),
}
coefs = {}
print(f"{'model':<40} {'test R2 (per-school mean)':>26} {'pooled':>8}")
for name, model in models.items():
    model.fit(X_train, y_train)
    pred = model.predict(X_test)
    per_task = explained_variance_per_task(y_test, pred, task_test)
    pooled = explained_variance_per_task(y_test, pred, task_test, average="pooled")
    print(f"{name:<40} {per_task:26.3f} {pooled:8.3f}")
    if hasattr(model, "coef_"):
        coefs[name] = model.coef_
    else:
        coefs[name] = np.array([e.coef_ for e in model.estimators_])

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
for name, W in coefs.items():
    s = np.linalg.svd(W, compute_uv=False)
    ax1.semilogy(np.arange(1, len(s) + 1), s / s[0], "o-", ms=3, label=name)
ax1.set_ylim(1e-4, 1.5)
ax1.set_xlabel("singular value index")
ax1.set_ylabel("singular value / largest")
ax1.set_title("Spectrum of the 139 x 27 weight matrix")
ax1.legend(fontsize=8)
# the trace-norm model's shared directions: the top right singular vectors of W
U, sing, Vt = np.linalg.svd(
    coefs[f"trace norm (alpha={alpha:.3g})"], full_matrices=False
)
loadings = U[:, :2] * sing[:2]
codes = X_train[:, 0].astype(int)
sizes = np.unique(codes, return_counts=True)[1]
ax2.scatter(loadings[:, 0], loadings[:, 1], s=4 + sizes / 4, alpha=0.7)
ax2.set_xlabel("loading on shared direction 1")
ax2.set_ylabel("loading on shared direction 2")
ax2.set_title("Schools in the trace-norm subspace (size ~ #students)")
for k in range(2):
    top = np.argsort(-np.abs(Vt[k]))[:3]
    names = ", ".join(school.feature_names[1 + j] for j in top)
    ax2.text(
        0.02,
        0.02 + 0.05 * k,
        f"direction {k + 1}: {names}",
        transform=ax2.transAxes,
        fontsize=7,
    )
fig.tight_layout()
fig.savefig("low_rank_school.png", dpi=110)
print(f"saved low_rank_school.png ({time.perf_counter() - start:.1f} s)")
