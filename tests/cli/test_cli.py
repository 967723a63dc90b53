"""The skmtl command line: demo on School, compare on a user's CSV; the low-rank
and structured models registered for ``skmtl demo``/``compare``."""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skmtl.cli import main
from skmtl.cli._models import MODELS, select_models
from skmtl.datasets import make_multitask_classification, make_multitask_regression

ROOT = Path(__file__).parents[2]


def _write_csv(path, n_tasks=4, rows=30, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    regions = ["north", "south", "east", "west", "centre"][:n_tasks]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["store", "size", "colour", "promo", "sales"])
        for k, store in enumerate(regions):
            for _ in range(rows):
                size = rng.normal()
                colour = rng.choice(["red", "blue", "green"])
                promo = "" if rng.random() < 0.05 else f"{rng.normal():.3f}"
                value = (2 + k) * size + (colour == "red") + rng.normal(scale=0.3)
                target = ("high" if value > 0 else "low") if classification else value
                w.writerow([store, f"{size:.4f}", colour, promo, target])


def _png_is_not_flat(path):
    """A real figure: the grey levels vary (a blank or one-colour PNG has std 0)."""
    from matplotlib.image import imread

    pixels = imread(str(path))[..., :3].mean(axis=-1)
    return pixels.std() > 0.05 and np.mean(pixels < 0.9) > 0.01


def _table_rows(out):
    return {
        line.split("|")[1].strip(): line
        for line in out.splitlines()
        if line.startswith("| ")
    }


def test_compare_regression_csv(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "stores.csv"
    _write_csv(path)
    table, fig = tmp_path / "table.md", tmp_path / "fig.png"
    per_task = tmp_path / "per_task.csv"
    assert (
        main(
            [
                "compare",
                str(path),
                "--task-column",
                "store",
                "--target",
                "sales",
                "--cv",
                "3",
                "--models",
                "independent",
                "pooled",
                "pooled_intercepts",
                "mtl_kernel_ridge",
                "--output",
                str(table),
                "--plot",
                str(fig),
                "--per-task",
                str(per_task),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "| independent |" in out and "| pooled_intercepts |" in out
    # pooled metrics first
    header = next(line for line in out.splitlines() if line.startswith("| model"))
    assert header.split("|")[2].strip() == "EV (pooled)"
    assert (
        "4 tasks" in err and "1 categorical" in err and re.search(r"\[(\d+)/\1\]", err)
    )
    # the imputation is named (about 5% of the promo cells are empty)
    n_missing = sum(1 for row in csv.DictReader(open(path)) if row["promo"] == "")
    assert n_missing > 0
    assert f"{n_missing} numeric cell(s) with the column median" in out
    # the verdict: best multi-task model, gains with wins/ties/losses per baseline
    assert "## Verdict" in out and "mtl_kernel_ridge" in out.split("## Verdict")[1]
    for b in ("independent", "pooled_intercepts", "pooled"):
        assert re.search(
            rf"- vs {b}: mean gain [+-]\d\.\d+ .*wins/ties/losses \d+/\d+/\d+", out
        )
    assert table.read_text().startswith("| model |")
    assert "## Verdict" in table.read_text()
    assert _png_is_not_flat(fig)
    with open(per_task) as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["task"] for r in rows) == ["east", "north", "south", "west"]
    assert {"r2_independent", "gain_vs_independent", "verdict_vs_pooled"} <= set(
        rows[0]
    )
    for r in rows:  # the gain is the difference of the two per-task scores
        assert float(r["gain_vs_independent"]) == pytest.approx(
            float(r["r2_mtl_kernel_ridge"]) - float(r["r2_independent"]), abs=1e-5
        )
    # independent models fit the per-store slopes: far better than pooled
    rows = _table_rows(out)
    ev = {  # EV (task mean), the 3rd score column
        name: float(rows[name].split("|")[4].split("±")[0])
        for name in ("independent", "pooled")
    }
    assert ev["independent"] > ev["pooled"] + 0.1


def test_compare_warns_about_tiny_tasks(tmp_path, capsys):
    path = tmp_path / "stores.csv"
    _write_csv(path, rows=8)
    main(
        [
            "compare",
            str(path),
            "--task-column",
            "store",
            "--target",
            "sales",
            "--cv",
            "4",
            "--models",
            "independent",
            "mtl_kernel_ridge",
        ]
    )
    out = capsys.readouterr().out
    assert "Warning: tasks have few test rows (median 2 per task and fold" in out
    assert "wins/ties/losses" in out


def test_compare_classification_csv(tmp_path, capsys):
    path = tmp_path / "stores.csv"
    _write_csv(path, classification=True)
    main(
        [
            "compare",
            str(path),
            "--task-column",
            "store",
            "--target",
            "sales",
            "--cv",
            "2",
            "--models",
            "majority",
            "independent",
            "mtl_logistic_lasso",
        ]
    )
    out = capsys.readouterr().out
    assert "accuracy (pooled)" in out and "| independent |" in out
    assert "majority = each task's most frequent class" in out
    rows = _table_rows(out)
    majority = float(rows["majority"].split("|")[2].split("±")[0])
    # the reference by hand: each store's most frequent training class, scored on
    # the same folds (pooled accuracy, mean over folds)
    from skmtl.cli._io import read_csv
    from skmtl.model_selection import TaskStratifiedKFold

    X, y = read_csv(path, "store", "sales")[:2]
    cv = TaskStratifiedKFold(2, task_column=-1, shuffle=True, random_state=0)
    accuracies = []
    for train, test in cv.split(X):
        correct = 0
        for store in set(X[:, -1]):
            tr, te = train[X[train, -1] == store], test[X[test, -1] == store]
            classes, counts = np.unique(y[tr], return_counts=True)
            correct += np.sum(y[te] == classes[np.argmax(counts)])
        accuracies.append(correct / len(test))
    assert majority == pytest.approx(np.mean(accuracies), abs=6e-4)
    # the majority reference is never the "best model"
    assert "Best multi-task model by accuracy (pooled): **mtl_logistic_lasso**" in out


def test_missing_categorical_cells_are_imputed_and_named(tmp_path, capsys):
    path = tmp_path / "stores.csv"
    _write_csv(path)
    lines = path.read_text().splitlines()
    for i in (3, 40, 77):  # blank the colour of three rows
        cells = lines[i].split(",")
        cells[2] = ""
        lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    main(
        [
            "compare",
            str(path),
            "--task-column",
            "store",
            "--target",
            "sales",
            "--cv",
            "2",
            "--models",
            "independent",
            "pooled_intercepts",
        ]
    )
    out = capsys.readouterr().out
    assert "3 categorical cell(s) with the most frequent value" in out
    # only baselines: the best one is named, and the verdict says what is missing
    assert "Run at least one multi-task model" in out


def test_models_lists_names_and_descriptions(capsys):
    from skmtl.cli._models import MODELS

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name, spec in MODELS.items():
        assert re.search(rf"^{name}  \[", out, flags=re.M)
        assert spec.description.split()[0] in out
    assert "[baseline;" in out and "[reference; classification" in out


def test_compare_errors(tmp_path):
    path = tmp_path / "stores.csv"
    _write_csv(path)
    with pytest.raises(SystemExit, match="not a column"):
        main(["compare", str(path), "--task-column", "shop", "--target", "sales"])
    with pytest.raises(SystemExit, match="unknown model"):
        main(
            [
                "compare",
                str(path),
                "--task-column",
                "store",
                "--target",
                "sales",
                "--models",
                "magic",
            ]
        )
    with pytest.raises(SystemExit, match="not numeric"):
        main(
            [
                "compare",
                str(path),
                "--task-column",
                "store",
                "--target",
                "colour",
                "--task-type",
                "regression",
            ]
        )


@pytest.mark.slow
def test_demo_runs_as_module(tmp_path):
    """The verdict, per-task CSV and plot on the shipped School data."""
    pytest.importorskip("matplotlib")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "skmtl",
            "demo",
            "--splits",
            "1",
            "--models",
            "independent",
            "pooled_intercepts",
            "mtl_kernel_ridge",
            "--per-task",
            "schools.csv",
            "--plot",
            "gains.png",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "School data" in proc.stdout and "| independent |" in proc.stdout
    assert "139 schools" in proc.stderr
    assert "Best multi-task model by EV (pooled): **mtl_kernel_ridge**" in proc.stdout
    match = re.search(
        r"- vs independent: mean gain ([+-]\d\.\d+) .*wins/ties/losses "
        r"(\d+)/(\d+)/(\d+) over 139 schools",
        proc.stdout,
    )
    assert match, proc.stdout
    assert sum(int(v) for v in match.groups()[1:]) == 139
    with open(tmp_path / "schools.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 139
    gains = [float(r["gain_vs_independent"]) for r in rows]
    assert np.mean(gains) == pytest.approx(float(match.group(1)), abs=5e-4)
    assert _png_is_not_flat(tmp_path / "gains.png")


def test_console_script_installed():
    exe = shutil.which("skmtl")
    if exe is None:
        pytest.skip("skmtl is not pip-installed in this environment")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "demo" in proc.stdout


@pytest.mark.parametrize("classification", [False, True])
def test_compare_runs_the_hierarchical_models(tmp_path, capsys, classification):
    # the stores' slopes differ (2 + k): the shared + task-specific models must
    # open up towards per-task slopes and beat the pooled model, which ignores tasks
    path = tmp_path / "stores.csv"
    _write_csv(path, classification=classification)
    argv = ["compare", str(path), "--task-column", "store", "--target", "sales"]
    argv += ["--cv", "3", "--models", "pooled", "hierarchical", "hierarchical_cv"]
    assert main(argv) == 0
    rows = _table_rows(capsys.readouterr().out)
    score = {
        k: float(rows[k].split("|")[2].split("±")[0])
        for k in rows
        if k in ("pooled", "hierarchical", "hierarchical_cv")
    }
    assert set(score) == {"pooled", "hierarchical", "hierarchical_cv"}
    # binary: every store's boundary has a positive slope, so pooled is strong; the
    # hierarchical models nest it and must not lose to it
    margin = -0.01 if classification else 0.05
    assert score["hierarchical"] > score["pooled"] + margin
    assert score["hierarchical_cv"] > score["pooled"] + margin


# the low-rank and structured models registered for demo/compare

NAMES = ["trace_norm", "reduced_rank", "clustered", "graph"]


@pytest.mark.parametrize("name", NAMES)
def test_registered_models_fit_with_task_column_last(name):
    for kind in MODELS[name].kinds:
        make = (
            make_multitask_regression
            if kind == "regression"
            else make_multitask_classification
        )
        X, y = make(n_tasks=4, n_samples=30, n_features=5, random_state=0)
        X = np.column_stack([X[:, 1:], X[:, 0]])  # task column last, as the CLI
        model = MODELS[name].factory(-1, kind).fit(X, y)
        assert model.predict(X).shape == y.shape
        assert model.score(X, y) > 0.5


def test_trace_norm_is_a_default_model():
    assert "trace_norm" in select_models(None, "regression")
    assert "trace_norm" in select_models(None, "classification")
    assert "reduced_rank" not in select_models(None, "regression")
