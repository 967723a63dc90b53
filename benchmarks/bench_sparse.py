"""Multi-task Lasso: skmtl vs scikit-learn, skglm and celer, at equal duality gap.

Run from the repository root, in an environment holding the peers (they are not
dependencies of skmtl)::

    python3 -m venv /tmp/bench && /tmp/bench/bin/pip install numpy scipy \\
        scikit-learn joblib skglm celer
    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. /tmp/bench/bin/python benchmarks/bench_sparse.py

Every solver is timed until its solution has a *relative duality gap*
``gap / (2 P(0)) <= 1e-6`` (``P(0)``: objective of ``W = 0`` with the best
intercepts; scikit-learn's and skmtl's scaling of ``tol``). The gap is recomputed
here, independently of the solvers, from the returned coefficients. A solver whose
own stopping rule is not this gap (skglm stops on a KKT violation) is rerun with
``tol`` divided by 10 until the gap is reached; the time reported is that of the
first run that reaches it. Times are the best of ``--repeat`` runs or more (wall
clock; a fast solve repeats until ``MIN_SECONDS`` are spent, every solver alike).
celer 0.7 does not run with scikit-learn >= 1.6 through its estimator, so its solver
is called directly (``celer.homotopy.mtl_path`` on centred data, which is what its
``MultiTaskLasso.fit`` does).

Sections:

1. shared design (n, d, T) = (200, 1000, 10), (500, 5000, 20), (2000, 20000, 20),
   ``alpha = alpha_max / 10`` and ``/ 100``;
2. a 20-alpha warm-started path from ``alpha_max`` to ``alpha_max / 100`` on
   (500, 5000, 20), every alpha to the same relative gap;
3. the stacked layout (a different sample set per task, which no peer handles):
   1,000 tasks x 50 rows x 200 features against the shared-layout problem of the
   same size (50 rows, 200 features, 1,000 tasks), and the growth of the time over
   100, 1,000 and 5,000 tasks;
4. sparse data: a CSR design (n, d, T) = (20,000, 50,000, 20) at 0.1% density,
   shared layout, ``alpha = alpha_max / 10`` and ``/ 100``, against the peers that
   accept sparse X: skglm (CSC; fitted intercepts). scikit-learn's
   MultiTaskLasso does not accept sparse X, and celer's ``mtl_path`` (its
   multi-task solver) neither does (it raises on a scipy.sparse X) nor fits
   intercepts, so neither runs here. The gap is certified on the implicitly
   centred design (the intercepts optimal for the returned coefficients).
"""

import argparse
import os
import time
import warnings

# one BLAS thread for every solver (set before numpy loads BLAS): the peers' compiled
# loops are single-threaded, and the machine is shared
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import MultiTaskLasso as SkMultiTaskLasso  # noqa: E402
from sklearn.linear_model import enet_path  # noqa: E402

from skmtl.linear_model import (  # noqa: E402
    MultiTaskLasso,
    alpha_max,
    multitask_lasso_path,  # noqa: E402
)

warnings.filterwarnings("ignore", category=ConvergenceWarning)
warnings.filterwarnings("ignore", category=FutureWarning)
TARGET = 1e-6

try:
    import skglm
except ImportError:  # pragma: no cover - optional peer
    skglm = None
try:
    from celer.homotopy import mtl_path
except ImportError:  # pragma: no cover - optional peer
    mtl_path = None


# ---------------------------------------------------------------- data and gap
def make_shared(n, d, T, seed=0, n_informative=20, snr=3.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = np.zeros((T, d))
    W[:, rng.choice(d, n_informative, replace=False)] = rng.standard_normal(
        (T, n_informative)
    )
    F = X @ W.T
    noise = rng.standard_normal((n, T))
    Y = F + noise * np.linalg.norm(F) / (snr * np.linalg.norm(noise)) + 1.0
    return X, Y


class Problem:
    """Centred shared-design problem; ``rel_gap(W, alpha)`` is the certificate."""

    def __init__(self, X, Y):
        self.n = X.shape[0]
        self.Xc = X - X.mean(axis=0)
        self.Yc = Y - Y.mean(axis=0)
        self.scale = float(np.sum(self.Yc**2)) / self.n  # 2 P(0)

    def rel_gap(self, W, alpha):
        R = self.Yc - self.Xc @ W.T
        primal = 0.5 * np.sum(R**2) / self.n + alpha * np.linalg.norm(W, axis=0).sum()
        theta = R / self.n
        V = self.Xc.T @ theta
        s = min(1.0, alpha / np.linalg.norm(V, axis=1).max())
        dual = s * np.sum(theta * self.Yc) - 0.5 * s**2 * self.n * np.sum(theta**2)
        return (primal - dual) / self.scale


class SparseProblem:
    """``Problem`` for a sparse ``X``, centred implicitly (never densified)."""

    def __init__(self, X, Y):
        self.n = X.shape[0]
        self.X = sp.csc_matrix(X)
        self.xbar = np.asarray(self.X.mean(axis=0)).ravel()
        self.Yc = Y - Y.mean(axis=0)
        self.scale = float(np.sum(self.Yc**2)) / self.n  # 2 P(0)

    def rel_gap(self, W, alpha):
        F = np.asarray(self.X @ W.T) - self.xbar @ W.T
        R = self.Yc - F
        primal = 0.5 * np.sum(R**2) / self.n + alpha * np.linalg.norm(W, axis=0).sum()
        theta = R / self.n  # sums to 0 per task: X^T theta is the centred product
        V = np.asarray(self.X.T @ theta) - np.outer(self.xbar, theta.sum(axis=0))
        s = min(1.0, alpha / np.linalg.norm(V, axis=1).max())
        dual = s * np.sum(theta * self.Yc) - 0.5 * s**2 * self.n * np.sum(theta**2)
        return (primal - dual) / self.scale


def make_sparse(n, d, T, density, seed=0, n_informative=20, snr=3.0):
    rng = np.random.default_rng(seed)
    X = sp.random(
        n,
        d,
        density=density,
        format="csr",
        random_state=rng,
        dtype=np.float64,
        data_rvs=rng.standard_normal,
    )
    W = np.zeros((T, d))
    W[:, rng.choice(d, n_informative, replace=False)] = rng.standard_normal(
        (T, n_informative)
    )
    F = np.asarray(X @ W.T)
    noise = rng.standard_normal((n, T))
    Y = F + noise * np.linalg.norm(F) / (snr * np.linalg.norm(noise)) + 1.0
    return X, Y


# a solve is repeated at least ``repeat`` times and until this many seconds are
# spent (at most 50 runs), and its best time kept: best of 2 left the 5 ms cases
# at the mercy of one scheduling hiccup (x0.80 and x1.06 in two runs of the same
# code); every solver is timed the same way
MIN_SECONDS = 0.5


def timed(fn, repeat):
    best, out, spent, runs = np.inf, None, 0.0, 0
    while runs < repeat or (spent < MIN_SECONDS and runs < 50):
        start = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - start
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return best, out


# ---------------------------------------------------------------- solvers
def fit_skmtl(X, Y, alpha, tol):
    return MultiTaskLasso(alpha=alpha, tol=tol, max_iter=100000).fit(X, Y).coef_


def fit_sklearn(X, Y, alpha, tol):
    return SkMultiTaskLasso(alpha=alpha, tol=tol, max_iter=100000).fit(X, Y).coef_


def fit_skglm(X, Y, alpha, tol):
    model = skglm.MultiTaskLasso(alpha=alpha, tol=tol, max_iter=1000)
    return model.fit(X, Y).coef_


def fit_celer(X, Y, alpha, tol):
    Xc = np.asfortranarray(X - X.mean(axis=0))
    Yc = np.asfortranarray(Y - Y.mean(axis=0))
    _, coefs, _ = mtl_path(Xc, Yc, alphas=[alpha], tol=tol, max_iter=1000)
    return coefs[..., 0]


SOLVERS = {
    "skmtl": fit_skmtl,
    "sklearn": fit_sklearn,
    "skglm": fit_skglm if skglm is not None else None,
    "celer": fit_celer if mtl_path is not None else None,
}


def time_to_gap(fit, problem, X, Y, alpha, repeat, budget):
    """Seconds of the first run (tol = 1e-6, 1e-7, ...) reaching the target gap."""
    tol, spent = TARGET, 0.0
    while tol >= 1e-13:
        seconds, W = timed(lambda: fit(X, Y, alpha, tol), repeat)
        spent += seconds * repeat
        gap = problem.rel_gap(W, alpha)
        if gap <= TARGET:
            return seconds, gap
        if spent > budget:
            return np.inf, gap
        tol /= 10
    return np.inf, gap


# ---------------------------------------------------------------- sections
def section_shared(cases, repeat, budget):
    print("\n## 1. Shared design: seconds to a relative duality gap <= 1e-6\n")
    names = [k for k, v in SOLVERS.items() if v is not None]
    print("| n, d, T | alpha | " + " | ".join(names) + " | skmtl speed-up vs |")
    print("|---|---|" + "---|" * len(names) + "---|")
    for n, d, T in cases:
        X, Y = make_shared(n, d, T)
        problem = Problem(X, Y)
        amax = alpha_max(X, Y)
        for div in (10, 100):
            alpha = amax / div
            times = {}
            for name in names:
                times[name], _ = time_to_gap(
                    SOLVERS[name], problem, X, Y, alpha, repeat, budget
                )
            cells = [
                f"{times[k]:.3f}" if np.isfinite(times[k]) else "> budget"
                for k in names
            ]
            ratios = ", ".join(
                f"{k} x{times[k] / times['skmtl']:.2f}" for k in names if k != "skmtl"
            )
            print(
                f"| {n}, {d}, {T} | amax/{div} | "
                + " | ".join(cells)
                + f" | {ratios} |",
                flush=True,
            )


def section_path(n, d, T, n_alphas, repeat):
    print(
        f"\n## 2. Warm-started path: {n_alphas} alphas, amax to amax/100, "
        f"(n, d, T) = ({n}, {d}, {T})\n"
    )
    X, Y = make_shared(n, d, T)
    problem = Problem(X, Y)
    alphas = alpha_max(X, Y) * np.geomspace(1, 1e-2, n_alphas)
    Xc = np.asfortranarray(problem.Xc)
    Yc = np.asfortranarray(problem.Yc)

    def run_skmtl(tol):
        _, coefs, _ = multitask_lasso_path(
            X, Y, alphas=alphas, tol=tol, max_iter=100000
        )
        return [coefs[:, :, k] for k in range(n_alphas)]

    def run_sklearn(tol):
        _, coefs, _ = enet_path(
            Xc, Yc, l1_ratio=1.0, alphas=alphas, tol=tol, max_iter=100000
        )
        return [coefs[:, :, k] for k in range(n_alphas)]

    def run_skglm(tol):
        model = skglm.MultiTaskLasso(tol=tol, warm_start=True, max_iter=1000)
        out = []
        for a in alphas:
            out.append(model.set_params(alpha=a).fit(X, Y).coef_.copy())
        return out

    def run_celer(tol):
        _, coefs, _ = mtl_path(Xc, Yc, alphas=alphas, tol=tol, max_iter=1000)
        return [coefs[:, :, k] for k in range(n_alphas)]

    runs = {"skmtl": run_skmtl, "sklearn": run_sklearn}
    if skglm is not None:
        runs["skglm"] = run_skglm
    if mtl_path is not None:
        runs["celer"] = run_celer
    print("| solver | seconds (whole path) | worst relative gap | tol used |")
    print("|---|---|---|---|")
    results = {}
    for name, run in runs.items():
        tol = TARGET
        while True:
            seconds, coefs = timed(lambda: run(tol), repeat)
            worst = max(problem.rel_gap(W, a) for W, a in zip(coefs, alphas))
            if worst <= TARGET or tol < 1e-12:
                break
            tol /= 10
        results[name] = seconds
        print(f"| {name} | {seconds:.3f} | {worst:.1e} | {tol:.0e} |", flush=True)
    ratios = ", ".join(
        f"{k} x{v / results['skmtl']:.2f}" for k, v in results.items() if k != "skmtl"
    )
    print(f"\nskmtl speed-up: {ratios}")


def make_stacked(T, n_t, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T * n_t, d))
    W = np.zeros((T, d))
    W[:, rng.choice(d, 10, replace=False)] = rng.standard_normal((T, 10))
    task = np.repeat(np.arange(T), n_t)
    y = np.einsum("ij,ij->i", X, W[task]) + rng.standard_normal(T * n_t)
    return np.column_stack([task, X]), y


def section_stacked(task_counts, n_t, d, repeat):
    print(
        f"\n## 3. Stacked layout (own rows per task): {n_t} rows x {d} features "
        "per task, alpha = amax/10, tol = 1e-6\n"
    )
    print("| layout | tasks | rows | seconds | seconds per task | epochs |")
    print("|---|---|---|---|---|---|")
    for T in task_counts:
        X, y = make_stacked(T, n_t, d)
        alpha = alpha_max(X, y, task_column=0) / 10
        model = MultiTaskLasso(alpha=alpha, task_column=0, tol=TARGET, max_iter=100000)
        seconds, _ = timed(lambda: model.fit(X, y), repeat)
        print(
            f"| stacked | {T} | {len(y)} | {seconds:.3f} | {seconds / T * 1e3:.2f} ms"
            f" | {model.n_iter_} |",
            flush=True,
        )
        if T == 1000:
            Xs, Ys = make_shared(n_t, d, T, n_informative=10, snr=1.0)
            a_s = alpha_max(Xs, Ys) / 10
            shared = MultiTaskLasso(alpha=a_s, tol=TARGET, max_iter=100000)
            seconds, _ = timed(lambda: shared.fit(Xs, Ys), repeat)
            print(
                f"| shared (same size) | {T} | {n_t} x {T} | {seconds:.3f} | "
                f"{seconds / T * 1e3:.2f} ms | {shared.n_iter_} |",
                flush=True,
            )
            problem = Problem(Xs, Ys)
            sk_seconds, _ = time_to_gap(fit_sklearn, problem, Xs, Ys, a_s, repeat, 600)
            print(
                f"| shared, sklearn | {T} | {n_t} x {T} | {sk_seconds:.3f} | "
                f"{sk_seconds / T * 1e3:.2f} ms | |",
                flush=True,
            )


def section_sparse(n, d, T, density, repeat, budget):
    print(
        f"\n## 4. Sparse X (CSR, {density:.1%} non-zeros), (n, d, T) = ({n}, {d}, "
        f"{T}): seconds to a relative duality gap <= 1e-6\n"
    )
    X, Y = make_sparse(n, d, T, density)
    problem = SparseProblem(X, Y)
    amax = alpha_max(X, Y)
    names = ["skmtl"] + (["skglm"] if skglm is not None else [])
    print("| alpha | " + " | ".join(names) + " | skmtl speed-up vs |")
    print("|---|" + "---|" * len(names) + "---|")
    for div in (10, 100):
        alpha = amax / div
        times = {}
        for name in names:
            times[name], _ = time_to_gap(
                SOLVERS[name], problem, X, Y, alpha, repeat, budget
            )
        cells = [
            f"{times[k]:.3f}" if np.isfinite(times[k]) else "> budget" for k in names
        ]
        ratios = ", ".join(
            f"{k} x{times[k] / times['skmtl']:.2f}" for k in names if k != "skmtl"
        )
        print(f"| amax/{div} | " + " | ".join(cells) + f" | {ratios} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="only the two smaller shared cases and 100/1000 tasks",
    )
    parser.add_argument(
        "--budget", type=float, default=600, help="seconds a peer may spend on one case"
    )
    parser.add_argument("--sections", default="1234")
    args = parser.parse_args()
    print(
        f"peers: skglm {getattr(skglm, '__version__', 'missing')}, celer "
        f"{'0.7 (mtl_path)' if mtl_path else 'missing'}; BLAS threads: "
        f"{os.environ['OPENBLAS_NUM_THREADS']}"
    )
    cases = [(200, 1000, 10), (500, 5000, 20)]
    if not args.quick:
        cases.append((2000, 20000, 20))
    if "1" in args.sections:
        section_shared(cases, args.repeat, args.budget)
    if "2" in args.sections:
        section_path(500, 5000, 20, 20, args.repeat)
    if "3" in args.sections:
        counts = (100, 1000) if args.quick else (100, 1000, 5000)
        section_stacked(counts, 50, 200, args.repeat)
    if "4" in args.sections:
        section_sparse(20000, 50000, 20, 1e-3, args.repeat, args.budget)


if __name__ == "__main__":
    # warm up the JIT of skglm (numba) outside the timings
    if skglm is not None:
        Xw, Yw = make_shared(30, 40, 3)
        skglm.MultiTaskLasso(alpha=0.1).fit(Xw, Yw)
    main()
