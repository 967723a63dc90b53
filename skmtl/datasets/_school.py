"""The ILEA School data shipped inside the package."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_school", "load_school_splits"]

_DATA = "skmtl.datasets"


def _read_npz(name):
    with resources.files(_DATA).joinpath("data", name).open("rb") as fh:
        with np.load(fh, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}


def _descr():
    return resources.files(_DATA).joinpath("descr", "school.rst").read_text("utf-8")


def load_school(*, return_X_y=False, as_frame=False):
    """Load the ILEA School data: 139 schools (tasks), 15,362 students.

    A regression benchmark of multi-task learning (Argyriou, Evgeniou & Pontil 2008;
    MALSAR): predict a student's exam score; each school is a task. The data ship
    with skmtl (no download).

    ================  ==========================================
    Tasks             139 schools, 22 to 251 students each
    Samples total     15,362
    Features          27 (+ the task column ``school``, column 0)
    Target            exam score, 1 to 70
    ================  ==========================================

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame (first column ``"school"``, integer
        labels) and ``target`` as a Series ``"exam_score"``; the Bunch then also
        holds ``frame`` (both together). Requires pandas.

    Returns
    -------
    data : Bunch
        ``data`` (n_samples, 28): column 0 is the school label (use
        ``task_column=0``); ``target`` (n_samples,); ``feature_names`` (28 names,
        ``"school"`` first); ``task_column`` (0); ``frame`` (DataFrame or None);
        ``DESCR`` (description with the data's origin and citations).
    (data, target) : tuple
        With ``return_X_y=True``.

    See Also
    --------
    load_school_splits : The 10 standard 75/25 per-school train/test splits.

    Examples
    --------
    >>> from skmtl.datasets import load_school
    >>> school = load_school()
    >>> school.data.shape, school.feature_names[0], len(set(school.data[:, 0]))
    ((15362, 28), 'school', 139)
    """
    raw = _read_npz("school.npz")
    names = ["school"] + [str(n) for n in raw["feature_names"]]
    data = np.column_stack([raw["task"].astype(np.float64), raw["X"]])
    target = raw["y"]
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(data, columns=names)
        data["school"] = raw["task"]
        target = pd.Series(target, name="exam_score")
        frame = pd.concat([data, target], axis=1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=names,
        target_names=["exam_score"],
        task_column=0,
        DESCR=_descr(),
    )


def load_school_splits():
    """The 10 standard 75%/25% per-school train/test splits of the School data.

    These are the splits of Argyriou, Evgeniou & Pontil (2008) used by later papers
    (e.g. Jeong & Jun 2018): each school keeps floor(0.75 n_t) rows for training, so
    every split has 11,472 training and 3,890 test rows. Report the mean and standard
    deviation of a metric over the 10 splits.

    Returns
    -------
    splits : list of 10 tuples ``(train_indices, test_indices)``
        Row indices into :func:`load_school`'s data. The list can be passed as
        ``cv=`` to ``cross_validate`` or ``GridSearchCV``.

    See Also
    --------
    load_school : The data these splits index.

    Examples
    --------
    >>> from skmtl.datasets import load_school_splits
    >>> splits = load_school_splits()
    >>> len(splits), len(splits[0][0]), len(splits[0][1])
    (10, 11472, 3890)
    """
    mask = _read_npz("school_splits.npz")["test_mask"]
    return [(np.flatnonzero(~m), np.flatnonzero(m)) for m in mask]
