"""Shared-kernel multi-task SVC against its peers: fit time, held-out accuracy, memory.

Peers, measured in the same run on the same data: one SVC per task
(``IndependentTaskEstimator(SVC)``), one pooled SVC for all tasks, and the
hand-built precomputed kernel ``(1/mu + [s == t]) * k(x, z)`` fed to
``SVC(kernel="precomputed")`` (what users do today). Two sizes: 10 tasks x 200
training rows, and 200 tasks x 500 training rows (100,000 rows), each task with 100
held-out rows; related tasks ``w_t = w_0 + 0.5 v_t``, 20 features, label noise 0.5.

Every fit runs in a forked child process: "peak MB" is the child's peak resident
memory minus its resident memory before the fit (the data are already loaded).
A fit that exceeds ``TIMEOUT`` seconds is stopped and reported as such; the kernel
path at 100,000 rows is not run (its kernel would take 80 GB: ``MultiTaskSVC``
refuses it with a clear error, ``memory_limit``). Timings on a shared 2-core
machine: compare ratios within one run.

    PYTHONPATH=. python benchmarks/bench_kernel.py [--small-only]
"""

import multiprocessing as mp
import resource
import sys
import time
import warnings

import numpy as np
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.svm import SVC, LinearSVC

from skmtl.baselines import IndependentTaskEstimator, PooledTaskEstimator
from skmtl.datasets import make_multitask_classification
from skmtl.svm import MultiTaskSVC

C, MU, GAMMA, N_TEST, TIMEOUT = 0.1, 1.0, 1.0 / 20, 100, 120


def make_data(n_tasks, n_train, seed=0):
    X, y = make_multitask_classification(
        n_tasks=n_tasks,
        n_samples=n_train + N_TEST,
        n_features=20,
        structure="mean",
        spread=0.5,
        noise=0.5,
        random_state=seed,
    )
    test = (np.arange(len(y)) % (n_train + N_TEST)) >= n_train
    return X[~test], y[~test], X[test], y[test]


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


class HandBuilt:
    """What users write today: the multi-task kernel by hand + SVC(precomputed)."""

    def __init__(self, kernel):
        self.kernel = kernel

    def _gram(self, A, Bm):
        B = 1.0 / MU + (A[:, [0]] == Bm[:, 0][None, :])
        if self.kernel == "linear":
            return B * (A[:, 1:] @ Bm[:, 1:].T)
        return B * rbf_kernel(A[:, 1:], Bm[:, 1:], gamma=GAMMA)

    def fit(self, X, y):
        self.X_ = X
        self.svc_ = SVC(kernel="precomputed", C=C).fit(self._gram(X, X), y)
        return self

    def score(self, X, y):
        return float(np.mean(self.svc_.predict(self._gram(X, self.X_)) == y))


def models(large):
    svc = {"linear": SVC(kernel="linear", C=C), "rbf": SVC(gamma=GAMMA, C=C)}
    out = {}
    for kernel in ("linear", "rbf"):
        mt = dict(C=C, kernel=kernel, gamma=GAMMA, mu=MU, task_column=0, random_state=0)
        if not large:
            out[f"MultiTaskSVC {kernel}, kernel path"] = MultiTaskSVC(
                solver="kernel", **mt
            )
            out[f"hand-built precomputed {kernel}"] = HandBuilt(kernel)
        if kernel == "linear":
            out["MultiTaskSVC linear, linear path"] = MultiTaskSVC(
                solver="linear", **mt
            )
        else:
            out["MultiTaskSVC rbf, nystroem path (100)"] = MultiTaskSVC(
                solver="nystroem", n_components=100, **mt
            )
        out[f"independent SVC {kernel}"] = IndependentTaskEstimator(
            svc[kernel], task_column=0
        )
        out[f"pooled SVC {kernel}"] = PooledTaskEstimator(svc[kernel], task_column=0)
    out["pooled LinearSVC (hinge)"] = PooledTaskEstimator(
        LinearSVC(loss="hinge", C=C, max_iter=10_000), task_column=0
    )
    return out


def _child(model, data, queue):
    warnings.simplefilter("ignore")
    X, y, X_test, y_test = data
    before = _rss_mb()
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, model.score(X_test, y_test), peak - before))


def measure(model, data):
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(model, data, queue))
    proc.start()
    proc.join(TIMEOUT)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return queue.get() if proc.exitcode == 0 else "failed"


def _kernel_of(name):
    return "linear" if "linear" in name.lower() else "rbf"


def main():
    sizes = [(10, 200)] if "--small-only" in sys.argv else [(10, 200), (200, 500)]
    print(
        f"C={C}, mu={MU}, rbf gamma={GAMMA}; {N_TEST} held-out rows per task; "
        f"timeout {TIMEOUT} s; shared 2-core machine.\n"
    )
    for n_tasks, n_train in sizes:
        data = make_data(n_tasks, n_train)
        large = n_tasks * n_train > 50_000
        print(
            f"### {n_tasks} tasks x {n_train} rows = {n_tasks * n_train:,} "
            "training rows"
        )
        print("| model | fit (s) | held-out accuracy | peak MB | vs MT fit |")
        print("|---|---|---|---|---|")
        if large:
            print(
                "| MultiTaskSVC / hand-built, kernel path | not run | - | "
                f"{8 * (n_tasks * n_train) ** 2 / 2**20:,.0f} (kernel) | - |"
            )
        rows, ref = [], {}
        for name, model in models(large).items():
            res = measure(model, data)
            rows.append((name, res))
            if isinstance(res, tuple) and name.startswith("MultiTaskSVC"):
                ref.setdefault(_kernel_of(name), res[0])
        for name, res in rows:
            if res is None:
                print(f"| {name} | > {TIMEOUT} (stopped) | - | - | - |")
            elif res == "failed":
                print(f"| {name} | failed | - | - | - |")
            else:
                seconds, acc, peak = res
                kernel = _kernel_of(name)
                ratio = seconds / ref[kernel] if kernel in ref else float("nan")
                print(
                    f"| {name} | {seconds:.2f} | {acc:.4f} | {peak:,.0f} | "
                    f"{ratio:.2f} |"
                )
        print()


if __name__ == "__main__":
    main()
