"""Read a user's CSV into the stacked layout without pandas."""

import csv

import numpy as np

MISSING = {"", "na", "nan", "null", "none", "n/a"}


def _parse_float(values):
    """Float array if every non-missing cell is a number, else None."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        s = v.strip()
        if s.lower() in MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            return None
    return out


def read_csv(path, task_column, target):
    """Load ``path``; return ``(X, y, feature_kinds, names, target_is_numeric)``.

    ``X`` is an object array whose last column is the task label; the other columns are
    floats (numeric features) or strings (categorical); a missing cell (empty, "NA",
    "nan", "null", "none", "n/a") is NaN in both.
    ``feature_kinds`` is ``"numeric"`` or ``"categorical"`` per feature column. Rows
    with a missing target are dropped.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise SystemExit(f"skmtl: {path} has no data rows.")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    body = [r for r in body if any(c.strip() for c in r)]
    bad = [i + 2 for i, r in enumerate(body) if len(r) != len(header)]
    if bad:
        raise SystemExit(
            f"skmtl: {path}: line(s) {bad[:5]} do not have {len(header)} fields."
        )
    for name, what in ((task_column, "--task-column"), (target, "--target")):
        if name not in header:
            raise SystemExit(
                f"skmtl: {what} {name!r} is not a column of {path}; "
                f"columns are {header}."
            )
    cols = {h: [r[i] for r in body] for i, h in enumerate(header)}
    y_num = _parse_float(cols[target])
    y = (
        y_num
        if y_num is not None
        else np.array([v.strip() for v in cols[target]], dtype=object)
    )
    keep = (
        ~np.isnan(y)
        if y_num is not None
        else np.array([v.lower() not in MISSING for v in y], dtype=bool)
    )
    tasks = np.array([v.strip() for v in cols[task_column]], dtype=object)
    if any(t.lower() in MISSING for t in tasks[keep]):
        raise SystemExit(
            f"skmtl: column {task_column!r} has rows without a task label."
        )
    names, kinds, features = [], [], []
    for h in header:
        if h in (task_column, target):
            continue
        num = _parse_float(cols[h])
        names.append(h)
        kinds.append("numeric" if num is not None else "categorical")
        features.append(
            num
            if num is not None
            else np.array(
                [
                    np.nan if v.strip().lower() in MISSING else v.strip()
                    for v in cols[h]
                ],
                dtype=object,
            )
        )
    X = np.empty((len(body), len(names) + 1), dtype=object)
    for j, f in enumerate(features):
        X[:, j] = f
    X[:, -1] = tasks
    return X[keep], y[keep], kinds, names, y_num is not None
