"""Synthetic multi-task problems with a known structure of the task weights."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions, validate_params
from .._docstring import fill_doc, register

__all__ = ["make_multitask_regression", "make_multitask_classification"]

STRUCTURES = ("row_sparse", "low_rank", "clustered", "mean", "independent")


def _task_sizes(n_samples, n_tasks, layout):
    if np.ndim(n_samples) and len(np.ravel(n_samples)) != n_tasks:
        raise ValueError(
            f"n_samples has {len(np.ravel(n_samples))} task sizes for {n_tasks} tasks."
        )
    sizes = np.broadcast_to(np.asarray(n_samples), (n_tasks,)).astype(int)
    if np.any(sizes < 1):
        raise ValueError("Every task needs at least 1 sample.")
    if layout == "shared" and np.ndim(n_samples):
        raise ValueError(
            "layout='shared' gives every task the same rows: n_samples must be an int."
        )
    return sizes


def _true_coef(n_tasks, n_features, structure_params, rng):
    """Task weights ``W`` (n_tasks, n_features) with the requested structure
    (``structure_params``: structure, n_informative, rank, n_clusters, spread)."""
    structure, n_informative, rank, n_clusters, spread = structure_params
    T, d = n_tasks, n_features
    if structure == "row_sparse":
        W = np.zeros((T, d))
        support = rng.choice(d, size=min(n_informative, d), replace=False)
        W[:, support] = rng.standard_normal((T, len(support)))
    elif structure == "low_rank":
        r = min(rank, T, d)
        W = rng.standard_normal((T, r)) @ rng.standard_normal((r, d)) / np.sqrt(r)
    elif structure == "clustered":
        centers = rng.standard_normal((n_clusters, d))
        W = centers[np.arange(T) % n_clusters] + spread * rng.standard_normal((T, d))
    elif structure == "mean":
        W = rng.standard_normal(d) + spread * rng.standard_normal((T, d))
    else:  # independent
        W = rng.standard_normal((T, d))
    return W


def _problem(n_tasks, n_samples, n_features, structure_params, layout, random_state):
    """Random state, task sizes, true weights, features and task codes."""
    rng = check_random_state(random_state)
    sizes = _task_sizes(n_samples, n_tasks, layout)
    W = _true_coef(n_tasks, n_features, structure_params, rng)
    if layout == "shared":
        return rng, sizes, W, rng.standard_normal((sizes[0], n_features)), None
    task = np.repeat(np.arange(n_tasks), sizes)
    return rng, sizes, W, rng.standard_normal((task.size, n_features)), task


_COMMON = {
    "n_tasks": [Interval(Integral, 1, None, closed="left")],
    "n_samples": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "n_features": [Interval(Integral, 1, None, closed="left")],
    "structure": [StrOptions(set(STRUCTURES))],
    "n_informative": [Interval(Integral, 1, None, closed="left")],
    "rank": [Interval(Integral, 1, None, closed="left")],
    "n_clusters": [Interval(Integral, 1, None, closed="left")],
    "spread": [Interval(Real, 0, None, closed="left")],
    "noise": [Interval(Real, 0, None, closed="left")],
    "layout": [StrOptions({"stacked", "shared"})],
    "coef": ["boolean"],
    "random_state": ["random_state"],
}

SIZE_DOC = """\
    n_tasks : int, default=10
        Number of tasks.
    n_samples : int or array-like of shape (n_tasks,), default=100
        Rows per task; an array gives unequal task sizes (stacked layout only).
    n_features : int, default=20
        Number of features (task column excluded).
"""

STRUCTURE_DOC = """\
    structure : {"row_sparse", "low_rank", "clustered", "mean", "independent"}, \
default="row_sparse"
        How the task weight vectors ``w_t`` (rows of ``W``) are related:

        - ``"row_sparse"``: all tasks use the same ``n_informative`` features
          (shared support, the L2,1 setting); weights on it are i.i.d. N(0, 1).
        - ``"low_rank"``: ``W = A B / sqrt(rank)`` with Gaussian ``A`` (n_tasks,
          rank) and ``B`` (rank, n_features): the tasks share a subspace.
        - ``"clustered"``: ``n_clusters`` Gaussian centres; task ``t`` belongs to
          cluster ``t % n_clusters`` and ``w_t = centre + spread * N(0, I)``.
        - ``"mean"``: ``w_t = w_0 + v_t`` with ``v_t ~ spread * N(0, I)``
          (Evgeniou & Pontil 2004).
        - ``"independent"``: i.i.d. N(0, I) weights, nothing shared.
    n_informative : int, default=5
        Size of the shared support (``"row_sparse"``).
    rank : int, default=2
        Rank of ``W`` (``"low_rank"``).
    n_clusters : int, default=3
        Number of task clusters (``"clustered"``).
    spread : float, default=0.1
        Standard deviation of the task-specific deviations (``"clustered"``,
        ``"mean"``).
"""

OUTPUT_DOC = """\
    layout : {"stacked", "shared"}, default="stacked"
        ``"stacked"``: ``X`` (sum n_t, 1 + n_features) with the task label (0 to
        n_tasks-1) in column 0 and 1-D ``y``. ``"shared"``: every task uses the same
        ``X`` (n_samples, n_features) and ``y`` is (n_samples, n_tasks).
    coef : bool, default=False
        Also return the true weights.
    random_state : int, RandomState instance or None, default=None
        Seed of the weights, the features and the noise; an int gives the same
        data at every call.
"""

# the Returns section; each generator describes its ``y`` with
# ``fill_doc(y_returned=...)``
RETURNS_DOC = """\
    X : ndarray of shape (sum n_t, 1 + n_features) or (n_samples, n_features)
        Features, with the task label in column 0 in the stacked layout.
    %(y_returned)s
    W : ndarray of shape (n_tasks, n_features)
        The true task weights; only when ``coef=True``.
"""

register(
    prefix="datasets",
    size=SIZE_DOC,
    structure=STRUCTURE_DOC,
    output=OUTPUT_DOC,
    returns=RETURNS_DOC,
)


@fill_doc(
    y_returned="""\
    y : ndarray of shape (sum n_t,) or (n_samples, n_tasks)
        Targets."""
)
@validate_params(_COMMON, prefer_skip_nested_validation=True)
def make_multitask_regression(
    n_tasks=10,
    n_samples=100,
    n_features=20,
    *,
    structure="row_sparse",
    n_informative=5,
    rank=2,
    n_clusters=3,
    spread=0.1,
    noise=0.1,
    layout="stacked",
    coef=False,
    random_state=None,
):
    """Generate related regression tasks ``y_t = X_t w_t + noise``.

    Features are i.i.d. standard normal; ``noise`` is the standard deviation of the
    Gaussian noise added to each target.

    Parameters
    ----------
    %(datasets.size)s
    %(datasets.structure)s
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each target.
    %(datasets.output)s

    Returns
    -------
    %(datasets.returns)s

    See Also
    --------
    make_multitask_classification : The same structures, with binary labels.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> X, y, W = make_multitask_regression(
    ...     n_tasks=4, n_samples=[10, 20, 30, 40], n_features=6, coef=True,
    ...     random_state=0)
    >>> X.shape, y.shape, W.shape
    ((100, 7), (100,), (4, 6))
    """
    structure_params = (structure, n_informative, rank, n_clusters, spread)
    rng, sizes, W, X, task = _problem(
        n_tasks, n_samples, n_features, structure_params, layout, random_state
    )
    y = _noisy_scores(X, W, task, layout, noise, rng)
    return _output(X, y, W, task, layout, coef)


def _noisy_scores(X, W, task, layout, noise, rng, scale=1.0):
    """``scale * x_i @ w_t + noise * e_i`` for every row (and task, shared layout)."""
    if layout == "shared":
        return scale * X @ W.T + noise * rng.standard_normal((X.shape[0], W.shape[0]))
    clean = scale * np.einsum("ij,ij->i", X, W[task])
    return clean + noise * rng.standard_normal(task.size)


def _output(X, y, W, task, layout, coef):
    """The generators' return value: the task label becomes column 0 when stacked."""
    if layout != "shared":
        X = np.column_stack([task.astype(float), X])
    return (X, y, W) if coef else (X, y)


def _ensure_two_classes(y, scores):
    """Flip the label closest to the boundary in any task column with one class."""
    if y.min() == y.max():
        i = np.argmin(np.abs(scores))
        y[i] = 1 - y[i]
    return y


@fill_doc(
    y_returned="""\
    y : ndarray of int in {0, 1}
        ``(sum n_t,)`` stacked or ``(n_samples, n_tasks)`` shared."""
)
@validate_params(
    {**_COMMON, "class_sep": [Interval(Real, 0, None, closed="neither")]},
    prefer_skip_nested_validation=True,
)
def make_multitask_classification(
    n_tasks=10,
    n_samples=100,
    n_features=20,
    *,
    structure="row_sparse",
    n_informative=5,
    rank=2,
    n_clusters=3,
    spread=0.1,
    noise=0.1,
    class_sep=1.0,
    layout="stacked",
    coef=False,
    random_state=None,
):
    """Generate related binary classification tasks.

    Row ``i`` of task ``t`` gets label ``1`` when
    ``class_sep * x_i @ w_t / ||w_t|| + noise * e_i > 0`` (``e_i`` standard normal),
    else ``0``. If a task ends up with a single class, the label of its row closest
    to the boundary is flipped, so every task (with two or more rows) has both
    classes.

    Parameters
    ----------
    %(datasets.size)s
    %(datasets.structure)s
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the scores (label noise).
    class_sep : float, default=1.0
        Scale of the noiseless scores: larger is easier.
    %(datasets.output)s

    Returns
    -------
    %(datasets.returns)s

    See Also
    --------
    make_multitask_regression : The same structures for continuous targets.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> X, y = make_multitask_classification(n_tasks=3, n_samples=50, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((150, 21), [0, 1])
    """
    structure_params = (structure, n_informative, rank, n_clusters, spread)
    rng, sizes, W, X, task = _problem(
        n_tasks, n_samples, n_features, structure_params, layout, random_state
    )
    norms = np.linalg.norm(W, axis=1)
    Wn = W / np.where(norms > 0, norms, 1.0)[:, None]
    scores = _noisy_scores(X, Wn, task, layout, noise, rng, scale=class_sep)
    y = (scores > 0).astype(int)
    if layout == "shared":
        for t in range(n_tasks):
            if sizes[0] > 1:
                _ensure_two_classes(y[:, t], scores[:, t])
    else:
        start = 0
        for size in sizes:
            if size > 1:
                _ensure_two_classes(
                    y[start : start + size], scores[start : start + size]
                )
            start += size
    return _output(X, y, W, task, layout, coef)
