"""Which defaults? The linear families' options on every dataset of bench_realdata.

For each family's CV form this runs the option grid that issue 12 leaves to the data
(the intercept model ``alpha_intercepts`` 0 / "auto", ``task_weighting`` "equal" /
"size") on the same per-task splits, standardisation and metrics as
``benchmarks/bench_realdata.py`` (same seeds: the splits are the ones in
``RESULTS.md``), next to the pooled + task-dummies baseline, and writes
``benchmarks/DEFAULTS.md``: the mean first metric per variant and dataset x ratio,
its rank among the family's variants, and the mean rank over all cells. A default
is chosen by the mean rank over *all* datasets and ratios, never by one dataset.

Run (one thread; a few minutes)::

    PYTHONPATH=. python benchmarks/bench_defaults.py [--datasets ...] [--repeats 2]
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_realdata as br  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

OUT_MD = Path(__file__).resolve().parent / "DEFAULTS.md"
RATIOS = (0.1, 0.3)  # the first two of bench_realdata's ratios: same split seeds

OPTIONS = [
    ("free, equal", dict(alpha_intercepts=0.0, task_weighting="equal")),
    ("free, size", dict(alpha_intercepts=0.0, task_weighting="size")),
    ("auto, equal", dict(alpha_intercepts="auto", task_weighting="equal")),
    ("auto, size", dict(alpha_intercepts="auto", task_weighting="size")),
]

#: family -> (kinds, estimator module, class, fixed parameters)
FAMILIES = {
    "trace norm (TraceNormRegressionCV)": (
        (br.REG,),
        "linear_model",
        "TraceNormRegressionCV",
        dict(alphas=10, cv=3),
    ),
    "graph (GraphRegularizedMultiTaskRegressionCV)": (
        (br.REG,),
        "linear_model",
        "GraphRegularizedMultiTaskRegressionCV",
        dict(alphas=10, cv=3),
    ),
    "L2,1 logistic (MultiTaskLogisticLassoCV)": (
        (br.CLF,),
        "linear_model",
        "MultiTaskLogisticLassoCV",
        dict(alphas=10, cv=3),
    ),
}


#: the intercept model x the ``alpha_mean`` grid (issue: the slopes overfit at
#: 10%): "free"/"auto" intercepts, without (``alpha_means=1``: 0 only) and with
#: the automatic grid of 4 values (0, 100 L_max, L_max, 0.01 L_max)
MEAN_OPTIONS = [
    ("free", dict(alpha_intercepts=0.0)),
    ("auto", dict(alpha_intercepts="auto")),
    ("auto + alpha_mean grid", dict(alpha_intercepts="auto", alpha_means=4)),
    # "free + alpha_mean grid" is left out for time: on the first 10% split of
    # computer_survey and parkinsons it was below "auto + alpha_mean grid" and
    # its fits ran 20-35x longer than without the grid (the solvers pay for the
    # large alpha_mean in iterations)
]

#: family -> (kinds, module, class, fixed parameters, options)
MEAN_FAMILIES = {
    "trace norm, mean grid (TraceNormRegressionCV)": (
        (br.REG,),
        "linear_model",
        "TraceNormRegressionCV",
        dict(alphas=10, cv=3),
        MEAN_OPTIONS,
    ),
    "L2,1 (MultiTaskLassoCV)": (
        (br.REG,),
        "linear_model",
        "MultiTaskLassoCV",
        dict(alphas=10, cv=3),
        MEAN_OPTIONS,
    ),
    "sparse group (MultiTaskSparseGroupLassoCV)": (
        (br.REG,),
        "linear_model",
        "MultiTaskSparseGroupLassoCV",
        dict(alphas=10, cv=3),
        MEAN_OPTIONS,
    ),
    "clustered (ClusteredMultiTaskRegressionCV)": (
        (br.REG,),
        "linear_model",
        "ClusteredMultiTaskRegressionCV",
        dict(alphas=10, cv=3),
        MEAN_OPTIONS[:2],  # no alpha_mean: intercepts only
    ),
    "L2,1 logistic, mean grid (MultiTaskLogisticLassoCV)": (
        (br.CLF,),
        "linear_model",
        "MultiTaskLogisticLassoCV",
        dict(alphas=10, cv=3),
        MEAN_OPTIONS,
    ),
}


def mean_entries(kind, select=None):
    """``ModelEntry`` list of ``MEAN_FAMILIES`` (those whose name contains one
    of ``select``, all when None)."""
    out = []
    for family, (kinds, module, name, fixed, options) in MEAN_FAMILIES.items():
        if kind not in kinds or (select and not any(k in family for k in select)):
            continue
        for label, opts in options:
            out.append(
                br.ModelEntry(
                    f"{family} · {label}",
                    "skmtl",
                    kinds,
                    br._skmtl(module, name, **fixed, **opts),
                )
            )
    return out


def entries(kind, select=None):
    """``bench_realdata.ModelEntry`` list: the baseline, then every family x option
    (families whose name contains one of ``select``; all when None)."""
    out = [m for m in br.MODELS if m.name == "pooled + task dummies"]
    for family, (kinds, module, name, fixed) in FAMILIES.items():
        if kind not in kinds or (select and not any(k in family for k in select)):
            continue
        for label, opts in OPTIONS:
            out.append(
                br.ModelEntry(
                    f"{family} · {label}",
                    "skmtl",
                    kinds,
                    br._skmtl(module, name, **fixed, **opts),
                )
            )
    return out + mean_entries(kind, select)


def table(records, kind):
    """Markdown lines: variants x cells, the cell mean of the first metric."""
    key, label, higher = br.METRICS[kind][0]
    cells = sorted({(r["dataset"], r["ratio"]) for r in records})
    models = list(dict.fromkeys(r["model"] for r in records))
    mean = {}
    for m in models:
        for c in cells:
            vals = [
                r[key]
                for r in records
                if r["model"] == m
                and (r["dataset"], r["ratio"]) == c
                and r["status"] == "ok"
            ]
            mean[m, c] = float(np.mean(vals)) if vals else np.nan
    fit_s = {
        m: float(
            np.mean(
                [
                    r["fit_time"]
                    for r in records
                    if r["model"] == m and r["status"] == "ok"
                ]
                or [np.nan]
            )
        )
        for m in models
    }
    head = "| variant | " + " | ".join(f"{d} {r:g}" for d, r in cells)
    lines = [
        f"First metric: {label} ({'higher' if higher else 'lower'} is better); "
        "the rank is within the family (1 = best); `mean rank` over the cells; "
        "`fit s`: mean seconds per fit (one thread, CV included).",
        "",
        head + " | mean rank | fit s |",
        "|---|" + "---|" * (len(cells) + 2),
    ]
    families = list(dict.fromkeys(m.split(" · ")[0] for m in models))
    for fam in families:
        members = [m for m in models if m.split(" · ")[0] == fam]
        ranks = {m: [] for m in members}
        for c in cells:
            vals = np.array([mean[m, c] for m in members])
            order = np.argsort(-vals if higher else vals, kind="stable")
            for rank, i in enumerate(order, 1):
                if np.isfinite(vals[i]):
                    ranks[members[i]].append(rank)
        for m in members:
            row = " | ".join(
                f"{mean[m, c]:.4f}" if np.isfinite(mean[m, c]) else "fail"
                for c in cells
            )
            mr = np.mean(ranks[m]) if ranks[m] and len(members) > 1 else np.nan
            shown = f"{mr:.2f}" if np.isfinite(mr) else ""
            lines.append(f"| {m} | {row} | {shown} | {fit_s[m]:.2f} |")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(br.DEFAULT_DATA_DIR))
    p.add_argument("--datasets", nargs="*", default=list(br.DATASETS))
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out-md", default=str(OUT_MD))
    p.add_argument(
        "--families",
        nargs="*",
        default=None,
        help="run only the families whose name contains one of these strings",
    )
    p.add_argument("--records", default=None, help="also save the records (JSON) here")
    p.add_argument(
        "--from-records",
        nargs="*",
        default=None,
        help="write the table from saved records (no fitting)",
    )
    p.add_argument(
        "--from-logs",
        nargs="*",
        default=None,
        help="write the table from the progress lines of (interrupted) runs",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    by_kind = {br.REG: [], br.CLF: []}
    if args.from_logs:
        for r in records_from_logs(args.from_logs):
            by_kind[r["kind"]].append(r)
        _write(args, by_kind, float("nan"), partial=True)
        return
    if args.from_records:
        wall = 0.0
        for f in args.from_records:
            saved = json.loads(Path(f).read_text())
            wall += saved["wall"]
            for r in saved["records"]:
                by_kind[r["kind"]].append(r)
        _write(args, by_kind, wall)
        return
    with threadpool_limits(1):
        for name in args.datasets:
            loaded = br.load_dataset(args.data_dir, name)
            if loaded is None:
                continue
            X, y, task, kind = loaded
            by_kind[kind] += br.run_dataset(
                name,
                X,
                y,
                task,
                kind,
                ratios=RATIOS,
                repeats=args.repeats,
                models=entries(kind, args.families),
            )
            for r in by_kind[kind]:
                r.setdefault("kind", kind)
    wall = time.perf_counter() - t0
    if args.records:
        Path(args.records).write_text(
            json.dumps(
                {"wall": wall, "records": sum(by_kind.values(), [])}, default=float
            )
        )
    _write(args, by_kind, wall)


_PROGRESS = re.compile(
    r"^\s+(\S+) ratio (\S+) r=\S+ rep=(\d+) (.+?): (r2|auc_task)=(\S+) (\S+)s"
)


def records_from_logs(paths):
    """Records (first metric and fit time only) from the progress lines that
    ``bench_realdata.run_dataset`` logs, for runs stopped before the end."""
    out = []
    for path in paths:
        for line in Path(path).read_text().splitlines():
            m = _PROGRESS.match(line)
            if m:
                dataset, ratio, rep, model, key, value, seconds = m.groups()
                out.append(
                    {
                        "dataset": dataset,
                        "ratio": float(ratio),
                        "repeat": int(rep),
                        "model": model,
                        "kind": br.REG if key == "r2" else br.CLF,
                        "status": "ok",
                        "fit_time": float(seconds),
                        key: float(value),
                    }
                )
    return out


def _write(args, by_kind, wall, partial=False):
    lines = [
        "# Defaults of the linear families (`benchmarks/bench_defaults.py`)",
        "",
        "Generated by the script; do not edit by hand. Same splits, seeds, "
        "standardisation and metrics as `bench_realdata.py` (ratios "
        f"{', '.join(f'{r:g}' for r in RATIOS)}, {args.repeats} repeats); wall time "
        f"{wall / 60:.1f} min on one thread of a shared machine.",
    ]
    if partial:
        lines[-1] = (
            "Generated by the script (`--from-logs`) from the progress lines of "
            "runs stopped before the end; do not edit by hand. Same splits, seeds, "
            "standardisation and metrics as `bench_realdata.py` (ratios "
            f"{', '.join(f'{r:g}' for r in RATIOS)}, {args.repeats} repeat(s)); "
            "`fail` marks a cell that did not finish (not run), so the mean rank "
            "is over the finished cells only."
        )
    for kind, recs in by_kind.items():
        if recs:
            lines += ["", f"## {'regression' if kind == br.REG else 'classification'}"]
            lines += [""] + table(recs, kind)
    Path(args.out_md).write_text("\n".join(lines) + "\n")
    br.log(f"wrote {args.out_md} in {wall:.0f} s")


if __name__ == "__main__":
    main()
