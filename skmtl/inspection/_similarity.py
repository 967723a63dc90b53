"""Task relatedness learned by a fitted multi-task model."""

from numbers import Integral

import numpy as np
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform
from sklearn.utils.validation import check_is_fitted

__all__ = ["cluster_tasks", "plot_task_similarity", "task_similarity"]


def _unwrap(estimator):
    """The fitted multi-task model inside Pipelines, searches and target wrappers."""
    while True:
        if hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "regressor_"):
            estimator = estimator.regressor_
        else:
            return estimator


def _cosine(V):
    """Cosine similarity of the rows of ``V``; a zero row is similar only to
    itself (1 on the diagonal, 0 elsewhere)."""
    V = np.asarray(V, dtype=float).reshape(V.shape[0], -1)
    norms = np.linalg.norm(V, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    U = V / safe[:, None]
    S = U @ U.T
    np.fill_diagonal(S, 1.0)
    return np.clip(S, -1.0, 1.0)


def _normalised(B):
    """``B[s, t] / sqrt(B[s, s] B[t, t])`` (a correlation matrix from a PSD one)."""
    B = np.asarray(B, dtype=float)
    d = np.sqrt(np.clip(np.diag(B), 0.0, None))
    safe = np.where(d > 0, d, 1.0)
    S = B / np.outer(safe, safe)
    np.fill_diagonal(S, 1.0)
    return np.clip(S, -1.0, 1.0)


def _low_rank_rows(W, rank):
    """Coordinates of the rows of ``W`` in its leading ``rank`` singular subspace."""
    U, s, _ = np.linalg.svd(W, full_matrices=False)
    k = max(1, min(int(rank), len(s)))
    return U[:, :k] * s[:k]


def _similarity(model):
    """``(S, source)`` for one unwrapped fitted model (see ``task_similarity``)."""
    if hasattr(model, "coef_deviations_") and hasattr(model, "coef_shared_"):
        dev = np.asarray(model.coef_deviations_, dtype=float)
        if hasattr(model, "intercept_deviations_"):
            dev = np.column_stack([np.asarray(model.intercept_deviations_), dev])
            var = getattr(model, "slope_variances_", None)
            ivar = getattr(model, "intercept_variance_", None)
            if var is not None and ivar is not None:
                # each coordinate in units of its prior standard deviation
                scale = np.sqrt(np.concatenate([[ivar], np.ravel(var)]))
                dev = dev / np.where(scale > 0, scale, 1.0)
        return _cosine(dev), "deviation cosine"
    if hasattr(model, "cluster_matrix_"):
        return _normalised(model.cluster_matrix_), "cluster matrix"
    if hasattr(model, "task_loadings_") and hasattr(model, "components_"):
        return _cosine(np.asarray(model.coef_, dtype=float)), "low-rank cosine"
    if hasattr(model, "rank_") and hasattr(model, "coef_"):
        W = np.asarray(model.coef_, dtype=float)
        return _cosine(_low_rank_rows(W, model.rank_)), "low-rank cosine"
    if hasattr(model, "task_similarity_"):
        coef = getattr(model, "coef_", None)
        if coef is not None and np.ndim(coef) == 2:
            return _cosine(coef), "coef cosine"
        if getattr(model, "task_similarity", None) is None:
            return _normalised(model.task_similarity_), "mu-implied B (not learned)"
        return _normalised(model.task_similarity_), "user B (not learned)"
    coefs = getattr(model, "coefs_", None)
    if isinstance(coefs, list) and coefs and np.ndim(coefs[-1]) == 3:
        heads = [c for c in coefs if np.ndim(c) == 3]
        if len(heads) > 1:
            raise ValueError(
                "The MLP has hidden head layers (head_layer_sizes): their units are "
                "not aligned across tasks, so head weights cannot be compared. Use "
                "linear heads (head_layer_sizes=()) to read task similarity."
            )
        return _cosine(heads[0]), "head cosine"
    if hasattr(model, "estimators_") and hasattr(model, "n_tasks_"):
        coefs = [getattr(e, "coef_", None) for e in model.estimators_]
        if any(c is None for c in coefs):
            raise ValueError(
                "The per-task estimators have no coef_; task similarity needs linear "
                "models."
            )
        return _cosine(np.vstack([np.ravel(c) for c in coefs])), "coef cosine"
    if hasattr(model, "estimator_") and hasattr(model, "n_tasks_"):
        return np.ones((model.n_tasks_, model.n_tasks_)), "pooled (all equal)"
    coef = getattr(model, "coef_", None)
    if coef is not None and np.ndim(coef) == 2 and hasattr(model, "n_tasks_"):
        return _cosine(coef), "coef cosine"
    raise TypeError(
        f"{type(model).__name__} exposes no task structure that task_similarity "
        "knows (coef_ of shape (n_tasks, n_features), cluster_matrix_, "
        "coef_deviations_, task_similarity_, per-task estimators_ or MLP heads)."
    )


def task_similarity(estimator, *, return_source=False):
    """Relatedness of the tasks learned by a fitted multi-task model.

    Returns a symmetric ``(n_tasks, n_tasks)`` matrix with ones on the diagonal and
    entries in ``[-1, 1]`` (ordered like ``tasks_``). Its source depends on the
    model (found by its fitted attributes, so Pipelines, ``GridSearchCV`` and
    ``TransformedTargetRegressor`` are looked through):

    ======================== =========================================================
    source                   meaning
    ======================== =========================================================
    ``"deviation cosine"``   shared + task-specific models (``coef_deviations_``):
                             cosine of the tasks' deviations ``(c_t, v_t)`` from the
                             shared model, each coordinate divided by its prior
                             standard deviation when the model learned variance
                             components. 1: two tasks depart from the shared model
                             the same way; 0: unrelated departures (what the prior
                             assumes); -1: opposite ways.
    ``"cluster matrix"``     :class:`~skmtl.linear_model.ClusteredMultiTaskRegression`:
                             the learned relaxed cluster matrix ``M ~ F F^T``
                             normalised, ``M_st / sqrt(M_ss M_tt)``: 1 for tasks in
                             the same cluster, 0 across clusters.
    ``"low-rank cosine"``    trace-norm and reduced-rank models: cosine of the
                             tasks' coordinates in the shared low-rank subspace (the
                             leading ``rank_`` singular directions of ``W``).
    ``"coef cosine"``        any other model with per-task weights ``coef_`` (sparse
                             and graph models, linear-kernel SVM/ridge, independent
                             linear models): cosine of the rows of ``coef_``.
    ``"head cosine"``        multi-task MLPs with linear heads: cosine of the heads'
                             weights on the shared trunk's features.
    ``"mu-implied B ..."``   kernel models without ``coef_`` (non-linear kernels):
                             ``B`` is an *input*, not learned; with the default
                             ``mu`` form every pair has the same value
                             ``1 / (1 + mu)``, so it says nothing about which tasks
                             are alike.
    ``"pooled (all equal)"`` :class:`~skmtl.baselines.PooledTaskEstimator`: one model
                             for all tasks, every pair 1 by construction.
    ======================== =========================================================

    Cosine is used rather than a correlation centred over features: a weight
    vector's mean over features has no meaning.

    Parameters
    ----------
    estimator : fitted estimator
        A fitted multi-task model (or a Pipeline / search / wrapper around one).
    return_source : bool, default=False
        Also return the name of the source (first column above).

    Returns
    -------
    S : ndarray of shape (n_tasks, n_tasks)
        The similarity of every pair of tasks.
    source : str
        Only when ``return_source=True``.

    See Also
    --------
    cluster_tasks : Groups of tasks from the similarity.
    plot_task_similarity : The similarity as a heatmap.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.inspection import cluster_tasks, task_similarity
    >>> from skmtl.linear_model import ClusteredMultiTaskRegression
    >>> X, y = make_multitask_regression(n_tasks=6, n_samples=40, n_features=8,
    ...     structure="clustered", n_clusters=2, random_state=0)
    >>> model = ClusteredMultiTaskRegression(n_clusters=2, alpha=1.0, beta=0.01,
    ...                                      task_column=0).fit(X, y)
    >>> S, source = task_similarity(model, return_source=True)
    >>> source, S.shape
    ('cluster matrix', (6, 6))
    >>> cluster_tasks(S, 2)
    array([0, 1, 0, 1, 0, 1])
    """
    check_is_fitted(estimator)
    S, source = _similarity(_unwrap(estimator))
    S = (S + S.T) / 2
    return (S, source) if return_source else S


def _check_similarity(S):
    S = np.asarray(S, dtype=float)
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise ValueError(
            f"S must be a square (n_tasks, n_tasks) matrix; got {S.shape}."
        )
    if not np.all(np.isfinite(S)):
        raise ValueError("S contains NaN or infinite values.")
    return (S + S.T) / 2


def _linkage(S, method):
    D = np.clip(1.0 - S, 0.0, None)
    np.fill_diagonal(D, 0.0)
    return linkage(squareform(D, checks=False), method=method)


def cluster_tasks(S, n_clusters, *, method="average"):
    """Group tasks into ``n_clusters`` from a similarity matrix.

    Agglomerative clustering (``scipy.cluster.hierarchy``, ``method`` linkage) on
    the distance ``1 - S``. Labels are numbered in order of first appearance.

    Parameters
    ----------
    S : array-like of shape (n_tasks, n_tasks)
        A similarity such as :func:`task_similarity`'s (or a fitted estimator).
    n_clusters : int
        Number of groups.
    method : {"average", "complete", "single", "weighted"}, default="average"
        Linkage of the agglomerative clustering.

    Returns
    -------
    labels : ndarray of int of shape (n_tasks,)
        Group of each task.

    See Also
    --------
    task_similarity : The similarity matrix of a fitted model.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.inspection import cluster_tasks
    >>> S = np.array([[1, .9, 0], [.9, 1, .1], [0, .1, 1]])
    >>> cluster_tasks(S, 2)
    array([0, 0, 1])
    """
    if hasattr(S, "fit"):
        S = task_similarity(S)
    S = _check_similarity(S)
    if not isinstance(n_clusters, Integral) or not 1 <= n_clusters <= S.shape[0]:
        raise ValueError(
            f"n_clusters must be an int in [1, {S.shape[0]}]; got {n_clusters!r}."
        )
    if S.shape[0] == 1:
        return np.zeros(1, dtype=np.intp)
    raw = fcluster(_linkage(S, method), n_clusters, criterion="maxclust")
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse]


def plot_task_similarity(S, *, tasks=None, ax=None, method="average", cmap="RdBu_r"):
    """Heatmap of a task similarity matrix, tasks ordered by hierarchical clustering.

    The colour scale spans ``[-1, 1]``; with more than 40 tasks the labels are
    left out.

    Parameters
    ----------
    S : array-like of shape (n_tasks, n_tasks) or fitted estimator
        A similarity matrix, or a fitted model whose :func:`task_similarity` is
        drawn (its ``tasks_`` then label the axes).
    tasks : array-like of shape (n_tasks,), default=None
        Task labels (default: ``tasks_`` of the estimator, else 0..n_tasks-1).
    ax : matplotlib Axes, default=None
        Axes to draw on; None: a new figure.
    method : str, default="average"
        Linkage of the ordering (as in :func:`cluster_tasks`).
    cmap : str, default="RdBu_r"
        Diverging map centred on 0 (the colour scale spans [-1, 1]).

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    See Also
    --------
    task_similarity : The matrix drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.inspection import plot_task_similarity
    >>> S = np.array([[1, .9, 0], [.9, 1, .1], [0, .1, 1]])
    >>> ax = plot_task_similarity(S)
    >>> len(ax.get_xticklabels())
    3
    """
    import matplotlib.pyplot as plt

    title = "task similarity"
    if hasattr(S, "fit"):
        model = S
        S, source = task_similarity(model, return_source=True)
        title = f"task similarity ({source})"
        if tasks is None:
            tasks = getattr(_unwrap(model), "tasks_", None)
    S = _check_similarity(S)
    T = S.shape[0]
    tasks = np.arange(T) if tasks is None else np.asarray(tasks)
    order = leaves_list(_linkage(S, method)) if T > 2 else np.arange(T)
    if ax is None:
        size = min(3 + 0.15 * T, 10)
        _, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(S[np.ix_(order, order)], cmap=cmap, vmin=-1, vmax=1)
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    if T <= 40:
        names = [str(t) for t in tasks[order]]
        ax.set_xticks(range(T), names, rotation=90, fontsize=7)
        ax.set_yticks(range(T), names, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{T} tasks, ordered by hierarchical clustering")
    ax.set_title(title)
    return ax
