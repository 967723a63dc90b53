"""The ``skmtl`` command line: ``demo``, ``compare`` and ``models``."""

import argparse
import sys
import textwrap

import numpy as np

from ._compare import (
    BASELINES,
    REFERENCES,
    build_report,
    evaluate,
    format_table,
    make_model_pipeline,
    plot_gains_figure,
    small_task_warning,
    verdict_text,
    write_per_task_csv,
)
from ._models import MODELS, select_models

__all__ = ["main"]


def _parser():
    parser = argparse.ArgumentParser(
        prog="skmtl",
        description="Compare multi-task models with independent and pooled baselines.",
        epilog="Run 'skmtl models' for the models and what each one does.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help=f"models to compare (known: {', '.join(MODELS)}; 'skmtl models' "
        "describes them)",
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
        help="also write the table and the verdict (markdown) to this file",
    )
    common.add_argument(
        "--per-task",
        metavar="FILE.csv",
        help="write every task's scores, gains and verdicts to this CSV file",
    )
    common.add_argument(
        "--plot",
        metavar="FIG.png",
        help="save the best model's per-task gains over each baseline, sorted "
        "(needs matplotlib)",
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
    sub.add_parser("models", help="list the models with their descriptions")
    return parser


def _report(results, X, y, splits, kind, args, task_word="tasks"):
    table = format_table(results, kind)
    warning = small_task_warning(X, splits)
    report = build_report(results, X, y, splits, kind)
    verdict = verdict_text(report, results, kind, task_word)
    text = table + ("\n\n" + warning if warning else "") + "\n" + verdict
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        print(f"table and verdict written to {args.output}", file=sys.stderr)
    for path, write, what in (
        (args.per_task, write_per_task_csv, "per-task scores"),
        (args.plot, plot_gains_figure, "figure"),
    ):
        if not path:
            continue
        if report is None:
            print(
                f"skmtl: no {what} written to {path}: it needs a multi-task model "
                "and a baseline.",
                file=sys.stderr,
            )
            continue
        write(report, path)
        print(f"{what} written to {path}", file=sys.stderr)
    return report


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
        "EV = explained variance 1 - MSE/Var (pooled: over all students; task mean: "
        "mean over schools)."
    )
    _report(results, X, school.target, splits, "regression", args, "schools")


def _imputation_note(X, kinds):
    """Which missing feature values the pipeline fills, and how."""
    num = [j for j, k in enumerate(kinds) if k == "numeric"]
    cat = [j for j, k in enumerate(kinds) if k == "categorical"]
    n_num = int(np.isnan(X[:, num].astype(float)).sum()) if num else 0
    n_cat = (
        int(sum(1 for v in X[:, cat].ravel() if isinstance(v, float) and v != v))
        if cat
        else 0
    )
    if n_num + n_cat == 0:
        return "Missing feature values: none."
    return (
        f"Missing feature values imputed inside each training fold: {n_num} numeric "
        f"cell(s) with the column median, {n_cat} categorical cell(s) with the most "
        "frequent value."
    )


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
    print(_imputation_note(X, kinds))
    if kind == "classification" and "majority" in results:
        print("majority = each task's most frequent class: the accuracy to beat.")
    _report(results, X, y, splits, kind, args)


def models(args):
    """Print every model's name, tasks and description."""
    print("Models known to 'skmtl demo' and 'skmtl compare' (--models NAME ...):\n")
    for name, spec in MODELS.items():
        role = (
            "baseline"
            if name in BASELINES
            else "reference"
            if name in REFERENCES
            else "multi-task"
        )
        kinds = "/".join(spec.kinds)
        default = "default" if spec.default else "opt-in"
        print(f"{name}  [{role}; {kinds}; {default}]")
        print(
            textwrap.fill(
                spec.description, 88, initial_indent="    ", subsequent_indent="    "
            )
        )


def main(argv=None):
    """Entry point of the ``skmtl`` console script."""
    args = _parser().parse_args(argv)
    {"demo": demo, "compare": compare, "models": models}[args.command](args)
    return 0
