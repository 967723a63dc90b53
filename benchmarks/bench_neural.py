"""Per-epoch training time of the multi-task MLP against scikit-learn (and torch).

Three tables, all with the same network (trunk ``--hidden``, ReLU, Adam, mini-batches
of ``--batch`` rows, no early stopping):

1. **Shared-design layout** (``n_rows x n_tasks`` targets, every task on every row)
   vs scikit-learn's ``MLPRegressor`` with ``n_tasks`` outputs: the same computation
   (one dense output layer of ``n_tasks`` units). Goal: no slower.
2. **Stacked layout**, ``n_rows`` rows spread over 10, 100 and 1,000 tasks, one head
   per task, vs the same network with *one shared head* (the single-task layout on
   the same rows). Goal: within 1.5x of the shared head. ``--compare-numpy`` adds
   the same runs with the compiled step kernels off (``_kernels.ENABLED``), each
   against the numpy one-shared-head run.
3. **torch (CPU) reference**, same architecture and batches, if torch is importable
   (run this script with the benchmark venv's python, see below).

Timings are the minimum over ``--rounds`` rounds, the configurations being run in
turn within each round (interleaved), so that load from other processes on a shared
machine hits all of them alike; ratios are within a round's minima. ``--clock cpu``
(the default) times the process's CPU time, which on a loaded machine leaves out the
time spent waiting for a core; ``--clock wall`` the elapsed time. ``--threads``
limits BLAS (and torch) threads; the default, 1, measures the algorithms rather than
the machine's parallelism (and makes CPU time equal compute time).

Usage::

    PYTHONPATH=. python benchmarks/bench_neural.py            # numpy / sklearn
    PYTHONPATH=. /work/venv-bench-neural/bin/python benchmarks/bench_neural.py
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from skmtl.neural_network import MultiTaskMLPRegressor, _kernels

try:
    import torch
except ImportError:  # torch lives in the benchmark venv only
    torch = None


def _data(n_rows, n_features, n_tasks, seed=0):
    """Related non-linear tasks: a shared representation, task-specific readouts."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, n_features))
    H = np.tanh(X @ rng.standard_normal((n_features, 8)) / np.sqrt(n_features))
    task = rng.permutation(np.arange(n_rows) % n_tasks)
    readout = rng.standard_normal((n_tasks, 8))
    y = np.einsum("ij,ij->i", H, readout[task]) + 0.1 * rng.standard_normal(n_rows)
    Y = H @ readout.T + 0.1 * rng.standard_normal((n_rows, n_tasks))
    return X, task, y, Y


# ----------------------------------------------------------------------- runners
def _skmtl(args, X, y, task_column, heads=(), compiled=True):
    def run(epochs):
        _kernels.ENABLED = compiled
        est = MultiTaskMLPRegressor(
            args.hidden,
            head_layer_sizes=heads,
            task_column=task_column,
            batch_size=args.batch,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=10**9,
            random_state=0,
        )
        try:
            return est.fit(X, y)
        finally:
            _kernels.ENABLED = True

    return run


def _sklearn(args, X, y):
    def run(epochs):
        est = MLPRegressor(
            hidden_layer_sizes=args.hidden,
            batch_size=args.batch,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=10**9,
            random_state=0,
        )
        return est.fit(X, y)

    return run


def _torch(args, X, y, task, n_tasks, shared_layout):
    """The same network in torch: trunk + stacked heads (gather by task), Adam."""
    Xt = torch.as_tensor(X)
    yt = torch.as_tensor(y)
    tt = None if task is None else torch.as_tensor(task)

    def run(epochs):
        torch.manual_seed(0)
        sizes = [X.shape[1], *args.hidden]
        trunk = torch.nn.Sequential(
            *[
                m
                for a, b in zip(sizes, sizes[1:])
                for m in (torch.nn.Linear(a, b, dtype=torch.float64), torch.nn.ReLU())
            ]
        )
        h = sizes[-1]
        if shared_layout:
            head = torch.nn.Linear(h, n_tasks, dtype=torch.float64)
            params = [*trunk.parameters(), *head.parameters()]
        else:
            V = torch.nn.Parameter(torch.randn(n_tasks, h, dtype=torch.float64) / h)
            c = torch.nn.Parameter(torch.zeros(n_tasks, dtype=torch.float64))
            params = [*trunk.parameters(), V, c]
        opt = torch.optim.Adam(params, lr=1e-3, weight_decay=0.0)
        n = X.shape[0]
        for _ in range(epochs):
            perm = torch.randperm(n)
            for start in range(0, n, args.batch):
                idx = perm[start : start + args.batch]
                H = trunk(Xt[idx])
                if shared_layout:
                    out = head(H)
                else:
                    t = tt[idx]
                    out = (H * V[t]).sum(dim=1) + c[t]
                loss = 0.5 * ((out - yt[idx]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()

    return run


def _time(runs, args):
    """Interleaved rounds; per-epoch seconds = min over rounds."""
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    best = {name: np.inf for name in runs}
    for name, run in runs.items():  # warm-up (allocations, BLAS start-up)
        run(1)
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = clock()
            run(args.epochs)
            best[name] = min(best[name], (clock() - start) / args.epochs)
    return best


def _table(title, rows, header):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


# ----------------------------------------------------------------------- tables
def shared_layout(args):
    X, _, _, Y = _data(args.rows, args.features, args.shared_tasks)
    runs = {"skmtl": _skmtl(args, X, Y, None), "sklearn": _sklearn(args, X, Y)}
    if torch is not None:
        runs["torch"] = _torch(args, X, Y, None, args.shared_tasks, True)
    best = _time(runs, args)
    rows = [
        [name, f"{1e3 * t:.1f}", f"{t / best['sklearn']:.2f}"]
        for name, t in best.items()
    ]
    _table(
        f"Shared-design layout: {args.rows} rows x {args.shared_tasks} tasks, "
        f"{args.features} features, trunk {args.hidden}, batch {args.batch}",
        rows,
        ["implementation", "ms / epoch", "ratio to sklearn MLPRegressor"],
    )


def stacked_layout(args):
    use_torch = torch is not None and not args.heads
    runs = {}
    X, _, y, _ = _data(args.rows, args.features, 1)
    runs["one shared head"] = _skmtl(args, X, y, None, args.heads)
    numpy_too = args.compare_numpy and _kernels.AVAILABLE
    if numpy_too:
        runs["numpy: one shared head"] = _skmtl(args, X, y, None, args.heads, False)
    if use_torch:
        runs["torch, one shared head"] = _torch(args, X, y, None, 1, True)
    for T in args.tasks:
        X, task, y, _ = _data(args.rows, args.features, T)
        Xs = np.column_stack([task, X])
        runs[f"{T} tasks"] = _skmtl(args, Xs, y, 0, args.heads)
        if numpy_too:
            runs[f"numpy: {T} tasks"] = _skmtl(args, Xs, y, 0, args.heads, False)
        if use_torch:
            runs[f"torch, {T} tasks"] = _torch(args, X, y, task, T, False)
    best = _time(runs, args)
    rows = []
    for name, t in best.items():
        base = best[
            "torch, one shared head"
            if name.startswith("torch")
            else "numpy: one shared head"
            if name.startswith("numpy")
            else "one shared head"
        ]
        rows.append([name, f"{1e3 * t:.1f}", f"{t / base:.2f}"])
    heads = f"heads {args.heads}" if args.heads else "linear heads"
    _table(
        f"Stacked layout: {args.rows} rows, {args.features} features, trunk "
        f"{args.hidden}, {heads}, batch {args.batch}",
        rows,
        ["model", "ms / epoch", "ratio to one shared head (same library)"],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--hidden", type=int, nargs="+", default=[100])
    parser.add_argument(
        "--heads",
        type=int,
        nargs="*",
        default=[],
        help="hidden layers of every task head (stacked table; torch skipped)",
    )
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--shared-tasks", type=int, default=10)
    parser.add_argument("--tasks", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--skip-shared", action="store_true")
    parser.add_argument(
        "--compare-numpy",
        action="store_true",
        help="also time the numpy code the compiled kernels replace (stacked table)",
    )
    args = parser.parse_args()
    args.hidden = tuple(args.hidden)
    args.heads = tuple(args.heads)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(
        f"numpy {np.__version__}; torch "
        f"{torch.__version__ if torch is not None else 'not installed'}; "
        f"{args.threads} thread(s); min over {args.rounds} interleaved rounds of "
        f"{args.epochs} epochs, {args.clock} time; shared machine: compare ratios, "
        "not absolute times."
    )
    print(
        "compiled kernels (skmtl.neural_network._nn_fast): "
        + ("built" if _kernels.AVAILABLE else "not built, numpy code")
    )
    print("load average (1, 5, 15 min) at start: %.1f %.1f %.1f" % os.getloadavg())
    with threadpool_limits(args.threads):
        if not args.skip_shared:
            shared_layout(args)
        stacked_layout(args)
    print("\nload average at end: %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
