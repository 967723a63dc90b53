"""The skmtl command line: demo on School, compare on a user's CSV."""

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

ROOT = Path(__file__).parents[1]


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


def test_compare_regression_csv(tmp_path, capsys):
    path = tmp_path / "stores.csv"
    _write_csv(path)
    table, fig = tmp_path / "table.md", tmp_path / "fig.png"
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
                "--output",
                str(table),
                "--plot",
                str(fig),
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "| independent |" in out and "| pooled_intercepts |" in out
    assert "EV (task mean)" in out
    assert (
        "4 tasks" in err and "1 categorical" in err and re.search(r"\[(\d+)/\1\]", err)
    )
    assert table.read_text().startswith("| model |")
    assert fig.stat().st_size > 1000
    # independent models fit the per-store slopes: far better than pooled
    rows = {
        line.split("|")[1].strip(): line
        for line in out.splitlines()
        if line.startswith("| ")
    }
    ev = {
        name: float(rows[name].split("|")[2].split("±")[0])
        for name in ("independent", "pooled")
    }
    assert ev["independent"] > ev["pooled"] + 0.1


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
            "independent",
        ]
    )
    out = capsys.readouterr().out
    assert "accuracy (task mean)" in out and "| independent |" in out


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
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "skmtl", "demo", "--splits", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "School data" in proc.stdout and "| independent |" in proc.stdout
    assert "139 schools" in proc.stderr


def test_console_script_installed():
    exe = shutil.which("skmtl")
    if exe is None:
        pytest.skip("skmtl is not pip-installed in this environment")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "demo" in proc.stdout
