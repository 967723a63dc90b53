"""The ``skmtl`` command line: ``skmtl demo`` and ``skmtl compare``."""

import argparse
import sys

import numpy as np

from ._compare import evaluate, format_table, make_model_pipeline, plot_per_task
from ._models import MODELS, select_models

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="skmtl",
        description="Compare multi-task models with independent and pooled baselines.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help=f"models to compare (known: {', '.join(MODELS)})",
    )
    common.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="fits run in parallel (joblib; -1 = all cores)",
    )
    common.add_argument(
        "--output",
        metavar="TABLE.md",
        help="also write the table (markdown) to this file",
    )
    common.add_argument(
        "--plot",
        metavar="FIG.png",
        help="save a box plot of per-task scores (needs matplotlib)",
    )
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="compare models on the shipped School data (139 schools)",
    )
    demo.add_argument(
        "--splits",
        type=int,
        default=3,
        choices=range(1, 11),
        metavar="N",
        help="how many of the 10 standard splits (default 3)",
    )
    compare = sub.add_parser(
        "compare", parents=[common], help="compare models on your CSV file"
    )
    compare.add_argument("file", metavar="FILE.csv")
    compare.add_argument("--task-column", required=True, metavar="COL")
    compare.add_argument("--target", required=True, metavar="COL")
    compare.add_argument(
        "--cv",
        type=int,
        default=5,
        metavar="K",
        help="folds of TaskStratifiedKFold (default 5)",
    )
    compare.add_argument(
        "--task-type",
        choices=("auto", "regression", "classification"),
        default="auto",
        help="auto: classification for a non-numeric target, regression otherwise",
    )
    compare.add_argument("--random-state", type=int, default=0)
    return parser


def _report(results, kind, args):
    table = format_table(results, kind)
    print(table)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(table + "\n")
        print(f"table written to {args.output}", file=sys.stderr)
    if args.plot:
        plot_per_task(results, kind, args.plot)
        print(f"figure written to {args.plot}", file=sys.stderr)


def _run(X, y, kinds, splits, kind, args):
    specs = select_models(args.models, kind)
    models = {
        name: make_model_pipeline(spec.factory(-1, kind), kinds)
        for name, spec in specs.items()
    }
    return evaluate(models, X, y, splits, kind, n_jobs=args.n_jobs)


def demo(args):
    from ..datasets import load_school, load_school_splits

    school = load_school()
    # task column moved last, where the preprocessing pipeline leaves it
    X = np.column_stack([school.data[:, 1:], school.data[:, 0]])
    splits = load_school_splits()[: args.splits]
    print(
        f"School data: {X.shape[0]} students, {len(np.unique(X[:, -1]))} schools "
        f"(tasks), {X.shape[1] - 1} features; {len(splits)} of the 10 standard "
        "75/25 per-school splits.",
        file=sys.stderr,
    )
    results = _run(
        X, school.target, ["numeric"] * (X.shape[1] - 1), splits, "regression", args
    )
    print(
        f"\nSchool data, held-out scores, mean ± std over {len(splits)} split(s); "
        "EV = explained variance 1 - MSE/Var."
    )
    _report(results, "regression", args)


def compare(args):
    from ..model_selection import TaskStratifiedKFold
    from ._io import read_csv

    X, y, kinds, names, numeric = read_csv(args.file, args.task_column, args.target)
    kind = args.task_type
    if kind == "auto":
        kind = "regression" if numeric else "classification"
    if kind == "regression" and not numeric:
        raise SystemExit(f"skmtl: target {args.target!r} is not numeric.")
    cv = TaskStratifiedKFold(
        args.cv, task_column=-1, shuffle=True, random_state=args.random_state
    )
    splits = list(cv.split(X))
    n_cat = kinds.count("categorical")
    print(
        f"{args.file}: {X.shape[0]} rows, {len(set(X[:, -1]))} tasks, "
        f"{len(names)} features ({n_cat} categorical, one-hot encoded); {kind}; "
        f"{args.cv}-fold TaskStratifiedKFold.",
        file=sys.stderr,
    )
    results = _run(X, y, kinds, splits, kind, args)
    print(f"\n{args.file}: held-out scores, mean ± std over {args.cv} folds.")
    _report(results, kind, args)


def main(argv=None):
    """Entry point of the ``skmtl`` console script."""
    args = _parser().parse_args(argv)
    {"demo": demo, "compare": compare}[args.command](args)
    return 0
