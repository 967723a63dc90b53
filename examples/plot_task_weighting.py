"""Task weighting in a multi-task network: tasks of very different sizes and noise.

Six related regression tasks share a non-linear representation (two ``tanh``
features of the inputs) and read it out differently. They differ a lot in size
(20 to 1,000 training rows) and in noise (standard deviation 0.05 to 1.5), the
situation where the choice of task weights in the objective
``sum_t lambda_t L_t`` matters:

- ``"equal"``: every task's mean loss counts the same, however noisy;
- ``"size"``: the pooled loss, dominated by the largest tasks;
- ``"uncertainty"`` (Kendall et al. 2018) learns each task's noise variance and
  weights its loss by ``1 / sigma_t^2``;
- ``"dwa"`` (Liu et al. 2019) favours the tasks whose loss falls slowest;
- an explicit array: here the oracle ``1 / noise_t^2`` (unknown in practice).

Each model is the same network (trunk of 16 tanh units, one linear head per task);
we report, for every task, how well it recovers the noise-free function on
held-out rows (R^2 against the noise-free target, 1 = perfect), averaged over 3
data sets, and plot them with the weights the dynamic schemes learned.
"""

import matplotlib

matplotlib.use("Agg")
import warnings  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from skmtl.neural_network import MultiTaskMLPRegressor  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)

SIZES = np.array([20, 40, 100, 250, 500, 1000])
NOISE = np.array([0.05, 1.5, 0.1, 1.0, 0.05, 1.5])
N_TEST, N_FEATURES = 300, 8


def make_tasks(seed):
    """Stacked training and test sets (task label in column 0) and noise-free
    test targets."""
    rng = np.random.RandomState(seed)
    U = rng.standard_normal((N_FEATURES, 2))
    A = rng.standard_normal((len(SIZES), 2))
    A *= 1.5 / np.linalg.norm(A, axis=1, keepdims=True)  # same signal in every task

    def draw(sizes):
        task = np.repeat(np.arange(len(sizes)), sizes)
        X = rng.standard_normal((task.size, N_FEATURES))
        clean = np.einsum("ij,ij->i", np.tanh(2 * X @ U / np.sqrt(N_FEATURES)), A[task])
        return (
            np.column_stack([task, X]),
            clean + NOISE[task] * rng.standard_normal(task.size),
            clean,
        )

    X, y, _ = draw(SIZES)
    X_test, y_test, clean_test = draw(np.full(len(SIZES), N_TEST))
    return X, y, X_test, y_test, clean_test


def clean_r2(pred, clean, task):
    """Per-task R^2 of the predictions against the noise-free targets."""
    out = []
    for t in range(len(SIZES)):
        r = task == t
        out.append(1 - np.mean((pred[r] - clean[r]) ** 2) / np.var(clean[r]))
    return np.array(out)


SCHEMES = {
    "equal": "equal",
    "size": "size",
    "uncertainty": "uncertainty",
    "dwa": "dwa",
    "oracle 1/noise^2": 1 / NOISE**2,
}

scores = {name: [] for name in SCHEMES}
fitted = {}
for seed in range(3):
    X, y, X_test, y_test, clean = make_tasks(seed)
    for name, weighting in SCHEMES.items():
        model = MultiTaskMLPRegressor(
            (16,),
            task_column=0,
            activation="tanh",
            task_weighting=weighting,
            alpha=1e-3,
            learning_rate_init=0.005,
            max_iter=120,
            random_state=seed,
        ).fit(X, y)
        pred = model.predict(X_test)
        scores[name].append(clean_r2(pred, clean, X_test[:, 0]))
        if seed == 0:
            fitted[name] = model

table = {name: np.mean(s, axis=0) for name, s in scores.items()}
header = "| scheme | " + " | ".join(
    f"task {t} (n={n}, noise={s})" for t, (n, s) in enumerate(zip(SIZES, NOISE))
)
print("Held-out R^2 against the noise-free targets, mean over 3 data sets\n")
print(header + " | mean |")
print("|" + "---|" * (len(SIZES) + 2))
for name, row in table.items():
    cells = " | ".join(f"{v:.3f}" for v in row)
    print(f"| {name} | {cells} | {row.mean():.3f} |")

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
width = 0.8 / len(table)
for k, (name, row) in enumerate(table.items()):
    axes[0].bar(np.arange(len(SIZES)) + k * width, row, width, label=name)
axes[0].set_xticks(
    np.arange(len(SIZES)) + 0.4 - width / 2,
    [f"n={n}\nnoise={s}" for n, s in zip(SIZES, NOISE)],
    fontsize=8,
)
axes[0].set_ylabel("held-out R^2 vs noise-free target")
axes[0].set_ylim(min(0, min(r.min() for r in table.values())), 1.3)
axes[0].legend(fontsize=7, loc="upper center", ncol=3)
axes[0].set_title("Per-task accuracy by weighting scheme")
for ax, name in zip(axes[1:], ["uncertainty", "dwa"]):
    weights = fitted[name].task_weights_
    for t in range(len(SIZES)):
        ax.plot(weights[:, t], label=f"n={SIZES[t]}, noise={NOISE[t]}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("task weight lambda_t")
    ax.set_yscale("log")
    ax.set_title(f'task_weights_ learned by "{name}"')
axes[1].legend(fontsize=7)
fig.tight_layout()
fig.savefig("task_weighting.png", dpi=110)
print("\nfigure saved to task_weighting.png")
