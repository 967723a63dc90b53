"""Structured multi-task linear models: clustered tasks, tasks on a graph."""

from numbers import Integral, Real

import numpy as np
from sklearn.cluster import KMeans

from .._compat import Interval
from .._data import _is_pandas_df
from .._docstring import fill_doc
from .._optim._threads import solver_threads
from .._optim.base import SolverResult
from .._optim.cg import conjugate_gradient
from .._optim.datafits import Quadratic
from .._optim.penalties import L1
from .._optim.prox_grad import fista
from .._optim.structured import (
    ClusteredPenalty,
    GraphDesign,
    cluster_matrix_from_eig,
)
from ._base import _PenalizedMultiTaskRegressor
from ._docs import AUTO_DEFAULT_NOTE, LINEAR, MEAN_OR_SIZE_WEIGHTED
from ._low_rank import _DirectLipschitzMixin

__all__ = ["ClusteredMultiTaskRegression", "GraphRegularizedMultiTaskRegression"]


class ClusteredMultiTaskRegression(_DirectLipschitzMixin, _PenalizedMultiTaskRegressor):
    r"""Clustered multi-task regression (convex relaxation; MALSAR ``Least_CMTL``).

    Tasks are assumed to form ``n_clusters`` groups whose weight vectors are close
    to their group's centre. The k-means penalty
    ``alpha * sum_c sum_{t in c} ||w_t - wbar_c||^2 + beta * ||W||_F^2`` is
    relaxed into a convex one (Zhou, Chen & Ye 2011; Jacob, Bach & Vert 2008) by
    replacing the cluster indicator ``M = F F^T`` with any ``T x T`` matrix in
    ``M_k = {0 <= M <= I, tr M = n_clusters}``; the model minimises, over ``W``
    (one row per task), intercepts ``b`` and ``M``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2
            + beta (alpha + beta) tr(W^T (beta I + alpha M)^{-1} W)
            + alpha_mean / 2 * sum_t ||w_t - wbar||^2
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    (intercepts ``b_t = b_0 + c_t``; ``omega_t = 1 / n_t`` with
    ``task_weighting="equal"``; ``wbar`` the mean of the rows of ``W``), which is
    jointly convex. This is MALSAR's
    objective with ``rho1 = alpha``, ``rho2 = beta``, ``eta = beta / alpha`` (up
    to MALSAR's unscaled squared loss). Minimising over ``M`` in closed form
    leaves a smooth convex spectral penalty of ``W``, solved by FISTA with an
    exact prox (a thin SVD of ``W``, which gives the eigen-structure of
    ``W W^T``, and a water-filling problem per step; linear in the number of
    tasks at a fixed number of features) and certified by the Fenchel duality
    gap; the intercepts take exact proximal steps on their penalty.
    ``alpha = 0`` is ridge regression with penalty ``beta ||W||_F^2``.

    What a tiny task borrows: its weights are shrunk towards its cluster's
    centre, its intercept from ``b_0`` (``alpha_intercepts``) and, with
    ``alpha_mean > 0``, its weights' values from their mean ``wbar``. The convex
    relaxation does not pool by itself: ``M`` may spread its trace ``k`` over
    every direction of ``W``, where the penalty weight is then about
    ``beta T / k``, so ``alpha`` alone never forces the tasks together (on
    School at 10% training rows no ``(alpha, beta)`` reached pooled R^2 0.2,
    against 0.33 with ``alpha_mean=30``); ``alpha_mean`` does.

    Parameters
    ----------
    n_clusters : int, default=2
        Number of task clusters ``k``; a value above the number of tasks is
        taken as the number of tasks (every task its own cluster: ``M = I``).
    alpha : float, default=1.0
        Strength of the within-cluster penalty.
    beta : float, default=0.1
        Strength of the global squared-norm penalty (> 0).
    alpha_mean : float, default=0.0
        Strength of the ridge ``alpha_mean / 2 * sum_t ||w_t - wbar||^2`` pulling
        every task's weights towards their mean (a smooth term for FISTA).
    %(common_params)s

    Attributes
    ----------
    %(common_attributes)s
    dual_gap_ : float
        Duality gap at exit.
    cluster_matrix_ : ndarray of shape (n_tasks, n_tasks)
        The optimal relaxed cluster matrix ``M``. It has rank-``min(n_tasks,
        n_features)`` structure ``M = U diag(m) U^T + m_0 (I - U U^T)`` (``U``:
        left singular vectors of ``coef_``) and is formed densely only when the
        attribute is read.
    task_clusters_ : ndarray of int of shape (n_tasks,)
        Hard cluster of each task (ordered like ``tasks_``): k-means on the rows
        of ``U_k diag(m_k - m_0)^{1/2}``, the leading eigenvectors of ``M``
        scaled by their eigenvalues in excess of ``m_0``, the flat eigenvalue of
        ``M`` on the null space of ``coef_ coef_^T`` (spectral rounding of
        ``M ~ F F^T``; ``m_0 = 0`` unless ``coef_`` has rank below
        ``n_clusters``); clusters are numbered in order of first appearance.

    See Also
    --------
    ClusteredMultiTaskRegressionCV : The same model with its strength chosen by
        cross-validation.
    GraphRegularizedMultiTaskRegression : Tasks pulled towards their neighbours
        in a given graph instead of clusters found from the data.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import ClusteredMultiTaskRegression
    >>> X, y = make_multitask_regression(n_tasks=6, n_samples=40, n_features=8,
    ...     structure="clustered", n_clusters=2, spread=0.05, random_state=0)
    >>> model = ClusteredMultiTaskRegression(n_clusters=2, alpha=1.0, beta=0.01,
    ...                                      task_column=0).fit(X, y)
    >>> model.task_clusters_
    array([0, 1, 0, 1, 0, 1])
    """

    _parameter_constraints = {
        **_PenalizedMultiTaskRegressor._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "alpha_mean": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=2,
        alpha=1.0,
        beta=0.1,
        *,
        alpha_mean=0.0,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts=0.0,
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.alpha = alpha
        self.beta = beta
        self.alpha_mean = alpha_mean
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        k = min(self.n_clusters, self.n_tasks_)
        return ClusteredPenalty(self.alpha, self.beta, k)

    def _fit(self, X, y, sample_weight):
        super()._fit(X, y, sample_weight)
        penalty = self._make_penalty()
        self._cluster_eig = penalty.cluster_eig(self.coef_)
        self.task_clusters_ = _spectral_rounding(*self._cluster_eig, penalty.n_clusters)
        return self

    @property
    def cluster_matrix_(self):
        """The optimal relaxed cluster matrix ``M`` (formed on access)."""
        if not hasattr(self, "_cluster_eig"):
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute 'cluster_matrix_'"
            )
        return cluster_matrix_from_eig(*self._cluster_eig)


def _spectral_rounding(U, m, m_rest, k):
    """Hard clusters from a relaxed indicator ``M ~ F F^T`` given as
    ``M = U diag(m) U^T + m_rest (I - U U^T)``: k-means on the rows of its
    leading eigenvectors scaled by ``sqrt(m - m_rest)`` (the complement of ``U``,
    where ``M`` is flat, carries no cluster information); labels in order of
    first appearance. All tasks share cluster 0 when ``M`` is flat (``W = 0``)."""
    T = U.shape[0]
    if k == 1:
        return np.zeros(T, dtype=np.intp)
    if k >= T:
        return np.arange(T, dtype=np.intp)
    gain = m - m_rest
    top = np.argsort(gain)[::-1][:k]
    top = top[gain[top] > 0]
    if top.size == 0:
        return np.zeros(T, dtype=np.intp)
    emb = U[:, top] * np.sqrt(gain[top])
    with solver_threads(*emb.shape, user_api="openmp"):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(emb)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    relabel = np.empty(k, dtype=np.intp)
    relabel[order] = np.arange(len(order))
    return relabel[labels]


def resolve_task_graph(task_graph, tasks):
    """Adjacency ``(T, T)`` ordered like ``tasks`` from the user's ``task_graph``.

    Accepts None (every pair of tasks linked with weight 1), an array-like
    ``(T, T)`` whose rows/columns follow ``tasks_`` (sorted labels), a pandas
    DataFrame indexed by task labels on both axes, or a dict mapping label pairs
    ``(s, t)`` to weights (an edge list). The result is symmetric, non-negative,
    with a zero diagonal.
    """
    T = len(tasks)
    if task_graph is None:
        return np.ones((T, T)) - np.eye(T)
    names = [t.item() if hasattr(t, "item") else t for t in tasks]
    if isinstance(task_graph, dict):
        index = {name: i for i, name in enumerate(names)}
        A = np.zeros((T, T))
        for pair, weight in task_graph.items():
            try:
                s, t = (index[p] for p in pair)
            except KeyError as exc:
                raise ValueError(
                    f"task_graph names task {exc.args[0]!r}, which is not among the "
                    f"fitted tasks {names[:10]}."
                ) from None
            A[s, t] = A[t, s] = float(weight)
    elif _is_pandas_df(task_graph):
        missing = [n for n in names if n not in task_graph.index]
        missing += [n for n in names if n not in task_graph.columns]
        if missing:
            raise ValueError(
                f"task_graph has no row/column for task(s) {sorted(set(missing))[:10]}."
            )
        A = task_graph.loc[names, names].to_numpy(dtype=float)
    else:
        A = np.asarray(task_graph, dtype=float)
        if A.shape != (T, T):
            raise ValueError(
                f"task_graph must be ({T}, {T}) for {T} tasks (ordered like the "
                f"sorted task labels); got shape {A.shape}."
            )
    if not np.all(np.isfinite(A)) or np.any(A < 0):
        raise ValueError("task_graph weights must be finite and non-negative.")
    if not np.allclose(A, A.T):
        raise ValueError("task_graph must be symmetric (an undirected graph).")
    A = A.copy()
    np.fill_diagonal(A, 0.0)
    return A


class GraphRegularizedMultiTaskRegression(_PenalizedMultiTaskRegressor):
    """Multi-task regression smoothed over a task graph (MALSAR ``Least_SRMTL``).

    Tasks linked in ``task_graph`` (weights ``a_st``) are pulled towards each
    other; an optional L1 term selects features per task. Minimises over ``W``
    (one row per task) and intercepts ``b``::

        sum_t omega_t / 2 * ||y_t - X_t w_t - b_t||^2
            + alpha * (1 - l1_ratio) * sum_{s < t} a_st ||w_s - w_t||^2
            + alpha * l1_ratio * ||W||_1
            + alpha_intercepts / 2 * sum_t omega_t c_t^2

    (the graph term is ``tr(W^T L W)`` with ``L`` the graph Laplacian;
    intercepts ``b_t = b_0 + c_t``; ``omega_t = 1 / n_t`` with
    ``task_weighting="equal"``).

    What a tiny task borrows: its weights from its neighbours in the graph (the
    graph term is already a shrinkage towards shared values; with the default
    complete graph, towards the mean of all tasks' weights), and its intercept
    from ``b_0`` (``alpha_intercepts``). An unseen task gets the plain mean of
    the task weights, the component of ``W`` the graph term leaves free (the
    null space of ``L`` of a connected graph).

    Solvers and what ``tol`` certifies:

    - ``l1_ratio > 0``: FISTA on the squared loss of the stacked outputs
      ``[A W; B W]`` (``B^T B = L``) with the L1 prox, stopped when the Fenchel
      duality gap is at most ``tol * 2 P0`` (``P0``: objective at ``W = 0``);
      ``alpha * l1_ratio >= max |A*(y - ybar)|`` gives ``W = 0``.
    - ``l1_ratio = 0``: the problem is least squares; Jacobi-preconditioned
      conjugate gradient on its normal equations (in ``(W, b)`` jointly when the
      intercepts are penalised), stopped when the gradient
      norm is at most ``tol`` times its value at ``W = 0``
      (``||grad P(W)||_F <= tol ||grad P(0)||_F``). No usable dual exists there
      (the penalty's conjugate is finite only on a subspace).

    Parameters
    ----------
    task_graph : array-like of shape (n_tasks, n_tasks), DataFrame, dict or None, \
default=None
        Symmetric non-negative adjacency over the task labels: an array whose
        rows/columns follow the sorted task labels (``tasks_``; column order of
        ``y`` in the shared layout), a DataFrame indexed by labels, or a dict
        ``{(label_s, label_t): weight}``. None links every pair with weight 1
        (shrinkage of all tasks towards each other).
    alpha : float, default=1.0
        Overall regularisation strength.
    l1_ratio : float in [0, 1], default=0.0
        Share of the L1 term.
    %(common_params)s

    Attributes
    ----------
    %(common_attributes)s
    dual_gap_ : float
        Duality gap at exit (``l1_ratio > 0`` only).
    gradient_norm_ : float
        Relative gradient norm at exit (``l1_ratio = 0`` only).
    adjacency_ : ndarray of shape (n_tasks, n_tasks)
        The task graph used, ordered like ``tasks_``.

    See Also
    --------
    GraphRegularizedMultiTaskRegressionCV : The same model with ``alpha`` chosen
        by cross-validation.
    ClusteredMultiTaskRegression : Task groups found from the data instead of a
        given graph.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import GraphRegularizedMultiTaskRegression
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=20, n_features=5,
    ...     structure="mean", random_state=0)
    >>> chain = {(0, 1): 1.0, (1, 2): 1.0, (2, 3): 1.0}
    >>> model = GraphRegularizedMultiTaskRegression(
    ...     task_graph=chain, alpha=10.0, task_column=0).fit(X, y)
    >>> float(np.abs(np.diff(model.coef_, axis=0)).max()) < 0.1
    True
    """

    _parameter_constraints = {
        **_PenalizedMultiTaskRegressor._parameter_constraints,
        "task_graph": ["array-like", dict, None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        task_graph=None,
        alpha=1.0,
        l1_ratio=0.0,
        *,
        task_column=None,
        fit_intercept=True,
        alpha_intercepts="auto",
        task_weighting="equal",
        unseen_task="error",
        max_iter=1000,
        tol=1e-4,
        warm_start=False,
        verbose=0,
    ):
        self.task_graph = task_graph
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.task_column = task_column
        self.fit_intercept = fit_intercept
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.unseen_task = unseen_task
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _make_penalty(self):
        return L1(self.alpha * self.l1_ratio)

    def _solve(self, design, datafit, penalty, W0, b0):
        with solver_threads(design.n_tasks, design.n_features):
            return self._solve_graph(design, penalty, W0, b0)

    def _solve_graph(self, design, penalty, W0, b0):
        self.adjacency_ = resolve_task_graph(self.task_graph, self.tasks_)
        graph = GraphDesign(design, self.adjacency_, self.alpha * (1 - self.l1_ratio))
        if self.l1_ratio > 0:
            options = self._solver_options(
                lipschitz=graph.lipschitz(intercept=b0 is not None)
            )
            return fista(graph, Quadratic(), penalty, W0, b0, **options)
        if b0 is None:
            result = _least_squares_cg(graph, W0, self.tol, self.max_iter)
        else:
            result = _least_squares_cg_intercepts(
                graph, W0, b0, self.tol, self.max_iter
            )
        self.gradient_norm_ = result.gap
        return result

    def _fit(self, X, y, sample_weight):
        for stale in ("dual_gap_", "gradient_norm_"):
            if hasattr(self, stale):
                delattr(self, stale)
        return super()._fit(X, y, sample_weight)

    def _set_shared(self, data, intercepts):
        """An unseen task gets the plain mean of the task weights (the part of
        ``W`` the graph term leaves free)."""
        super()._set_shared(data, intercepts)
        self.coef_shared_ = self.coef_.mean(axis=0)


def _least_squares_cg(graph, W0, tol, max_iter):
    """Minimise the quadratic ``f([A W; B W])`` by Jacobi-preconditioned CG."""
    omega = graph.omega

    def matvec(W):
        return graph.adjoint(omega * graph.forward(W))

    rhs = graph.adjoint(omega * graph.Y)
    laplacian_diag = np.asarray((graph.B.T @ graph.B).diagonal()).ravel()
    diag = graph.base.column_curvature() + 2 * graph.c * laplacian_diag[:, None]
    diag = np.where(diag > 0, diag, 1.0)
    res = conjugate_gradient(
        matvec, rhs, W0, tol=tol, max_iter=max_iter, precond=lambda R: R / diag
    )
    primal = Quadratic().value(graph.forward(res.x), graph.Y, omega)
    out = SolverResult(res.x, None, res.n_iter, res.residual, primal, res.converged)
    out.criterion = "relative gradient norm"
    return out


def _least_squares_cg_intercepts(graph, W0, b0, tol, max_iter):
    """Minimise ``f([A W + b; B W]) + h(b)`` jointly in ``(W, b)`` by
    Jacobi-preconditioned CG (the intercept penalty ``h`` of
    ``graph.intercepts`` is quadratic: ``lam/2 (b^T D b - (rho^T b)^2 / sum rho)``,
    ``D = diag(rho)``; a pooled intercept is one variable ``b = beta 1``). Stops at
    ``||grad|| <= tol ||grad at 0||`` like :func:`_least_squares_cg`."""
    omega = graph.omega
    intercepts = graph.intercepts
    pooled = intercepts.pooled
    lam, rho = intercepts.strength, intercepts.rho
    T, d = W0.shape

    def expand(beta):
        return np.full(T, beta[0]) if pooled else beta

    def reduce(g):  # adjoint of expand
        return np.array([g.sum()]) if pooled else g

    def unpack(x):
        return x[: T * d].reshape(T, d), x[T * d :]

    def matvec(x):
        W, beta = unpack(x)
        b = expand(beta)
        G = omega * (graph.forward(W) + graph.per_row(b))
        gb = reduce(graph.task_sum(G))
        if not pooled and lam > 0:
            gb = gb + lam * (rho * b - rho * (rho @ b) / rho.sum())
        return np.concatenate([graph.adjoint(G).ravel(), gb])

    rhs = np.concatenate(
        [
            graph.adjoint(omega * graph.Y).ravel(),
            reduce(graph.task_sum(omega * graph.Y)),
        ]
    )
    laplacian_diag = np.asarray((graph.B.T @ graph.B).diagonal()).ravel()
    diag_w = graph.base.column_curvature() + 2 * graph.c * laplacian_diag[:, None]
    S = graph.task_sum(omega)
    diag_b = reduce(S) if pooled else S + lam * rho * (1 - rho / rho.sum())
    diag = np.concatenate([diag_w.ravel(), diag_b])
    diag = np.where(diag > 0, diag, 1.0)
    beta0 = np.array([np.mean(b0)]) if pooled else np.asarray(b0, dtype=float)
    x0 = np.concatenate([np.asarray(W0, dtype=float).ravel(), beta0])
    res = conjugate_gradient(
        matvec, rhs, x0, tol=tol, max_iter=max_iter, precond=lambda R: R / diag
    )
    W, beta = unpack(res.x)
    W = W.astype(graph.dtype, copy=False)
    b = expand(beta).astype(graph.dtype)
    F = graph.forward(W) + graph.per_row(b)
    primal = Quadratic().value(F, graph.Y, omega) + intercepts.value(b)
    out = SolverResult(W, b, res.n_iter, res.residual, primal, res.converged)
    out.criterion = "relative gradient norm"
    return out


fill_doc(ClusteredMultiTaskRegression, LINEAR, unseen=MEAN_OR_SIZE_WEIGHTED)
fill_doc(
    GraphRegularizedMultiTaskRegression,
    LINEAR,
    unseen=(
        "the plain mean of the rows of ``coef_``, the component of ``W`` the\n"
        "graph term does not penalise"
    ),
    intercepts_default='"auto"',
    intercepts_note=AUTO_DEFAULT_NOTE,
)
