"""Memory and time of the data layer and the baselines as the number of tasks grows.

Each case runs in a fresh subprocess and reports its peak resident set size (RSS)
next to the size of the data itself and the size an (n_samples x n_tasks) float64
array would take, which the data layer must never build.

    python benchmarks/bench_data_layer.py [--rows 50] [--features 20]
"""

import argparse
import json
import subprocess
import sys

CASE = r"""
import json, resource, sys, time
import numpy as np
from sklearn.linear_model import Ridge
from skmtl.baselines import IndependentTaskEstimator, PooledTaskEstimator
from skmtl.linear_model import MultiTaskLasso

n_tasks, rows, d = (int(v) for v in sys.argv[1:4])
which = sys.argv[4]
rng = np.random.default_rng(0)
n = n_tasks * rows
X = np.column_stack([np.repeat(np.arange(n_tasks), rows), rng.standard_normal((n, d))])
y = rng.standard_normal(n)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model = {
    "independent_ridge": IndependentTaskEstimator(Ridge(), task_column=0),
    "pooled_intercepts": PooledTaskEstimator(Ridge(), task_column=0,
                                             task_intercepts=True),
    "multitask_lasso": MultiTaskLasso(alpha=0.05, task_column=0, tol=1e-4),
}[which]
start = time.perf_counter()
model.fit(X, y)
fit = time.perf_counter() - start
start = time.perf_counter()
model.predict(X)
pred = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_mb": base / 1024, "peak_mb": peak / 1024, "fit": fit,
                  "predict": pred, "data_mb": X.nbytes / 2**20}))
"""


def run(n_tasks, rows, d, which):
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(n_tasks), str(rows), str(d), which],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--features", type=int, default=20)
    args = parser.parse_args()
    print(
        f"rows per task = {args.rows}, features = {args.features}; RSS in MB "
        "(baseline = after imports and data creation)"
    )
    print(
        "| model | tasks | data MB | n x T array MB | baseline RSS | peak RSS | "
        "peak - baseline | fit s | predict s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for which in ("independent_ridge", "pooled_intercepts", "multitask_lasso"):
        for n_tasks in (100, 1000, 2000, 5000):
            r = run(n_tasks, args.rows, args.features, which)
            nxt = n_tasks * args.rows * n_tasks * 8 / 2**20
            print(
                f"| {which} | {n_tasks} | {r['data_mb']:.1f} | {nxt:,.0f} | "
                f"{r['base_mb']:.0f} | {r['peak_mb']:.0f} | "
                f"{r['peak_mb'] - r['base_mb']:.0f} | {r['fit']:.2f} | "
                f"{r['predict']:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
