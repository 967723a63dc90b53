"""Regularisation paths of the L2,1 models and their ``alpha_max``."""

from numbers import Integral, Real

import numpy as np

from .._compat import Interval, InvalidParameterError, StrOptions, validate_params
from .._data import check_task_data
from .._docstring import fill_doc, register
from .._optim.base import null_scale
from .._optim.bcd import bcd, null_correlations
from .._optim.datafits import Logistic, Quadratic
from .._optim.design import MultiTaskDesign
from .._optim.intercepts import Intercepts
from .._optim.penalties import L21, L21Ridge, SparseGroupL1L21, TraceNorm
from ._base import (
    auto_intercept_strength,
    encode_binary_targets,
    warn_not_converged,
)

__all__ = ["alpha_max", "multitask_enet_path", "multitask_lasso_path"]


register(
    prefix="path",
    # the data parameters of alpha_max and the path functions
    data_params="""\
    %(X_fit)s
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Targets: one column per task with ``task_column=None`` (NaN = missing),
        1-D in the stacked layout.
    task_column : int, str or None, default=None
        See :class:`MultiTaskLasso`.
""",
    # the intercept and the sample weights of the problem (alpha_max and paths)
    fit_params="""\
    fit_intercept : bool, default=True
        Whether the problem has a free intercept per task (``alpha_intercepts=0``
        of the estimators); False: no intercept.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows in their task's loss, as in the estimators' ``fit``.
""",
    # the parameters of multitask_enet_path after l1_ratio (of
    # multitask_lasso_path after task_column) and the Returns of both
    path_sections="""\
    eps : float, default=1e-3
        ``alpha_min / alpha_max`` of the automatic grid.
    alphas : int or array-like, default=100
        Number of alphas of the automatic grid (log-spaced from
        :func:`alpha_max` down to ``eps * alpha_max``), or the alphas themselves
        (solved in decreasing order).
    %(path.fit_params)s
    max_iter : int, default=1000
        Maximum epochs per alpha.
    tol : float, default=1e-4
        Relative duality-gap tolerance per alpha (see :class:`MultiTaskLasso`).
    coef_init : array-like of shape (n_tasks, n_features), default=None
        Starting point of the first alpha.
    return_intercept : bool, default=False
        Also return the intercepts.
    return_n_iter : bool, default=False
        Also return the number of epochs per alpha.
    verbose : int, default=0
        Verbosity of the solver: a positive value prints the objective and the
        duality gap at each epoch; 0 prints nothing.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The alphas of the path, decreasing.
    coefs : ndarray of shape (n_tasks, n_features, n_alphas)
        The task weights at each alpha (last axis, scikit-learn's layout).
    dual_gaps : ndarray of shape (n_alphas,)
        The duality gap at the end of each solve.
    intercepts : ndarray of shape (n_tasks, n_alphas)
        The task intercepts at each alpha; if ``return_intercept``.
    n_iters : ndarray of shape (n_alphas,)
        The number of epochs of each solve; if ``return_n_iter``.
""",
)


def null_gradient(
    data,
    loss="squared",
    fit_intercept=True,
    *,
    alpha_intercepts=0.0,
    task_weighting="equal",
):
    """``V = A*(-grad f)`` at ``W = 0`` with the best intercepts, (n_tasks, d).

    ``V[t] = sum_{i in t} omega_i x_i r_i`` with ``r`` the residuals of the
    intercept-only model (``y_i - ybar_t`` for the squared loss with free
    intercepts; the shrunken intercepts of ``alpha_intercepts`` otherwise, as the
    estimators resolve it). ``W = 0`` solves a model whose penalty is
    ``alpha * Omega(W)`` (``Omega`` a norm) iff ``alpha >= Omega_dual(V)``.
    ``data.y`` is already encoded (0/1 for the logistic loss).
    """
    classification = loss == "logistic"
    datafit = Logistic() if classification else Quadratic()
    design, _ = _design(
        data, fit_intercept, alpha_intercepts, task_weighting, classification
    )
    return null_correlations(design, datafit, fit_intercept)


def _design(data, fit_intercept, alpha_intercepts, task_weighting, classification):
    """The loss-weighted design of ``data`` with the intercept model of
    ``alpha_intercepts`` ("auto" resolved on ``data``), as the estimators build
    it: with free intercepts and the squared loss the design is centred instead
    and carries no intercept model. Returns ``(design, centred)``."""
    design = MultiTaskDesign(data, task_weighting=task_weighting)
    intercepts = None
    if fit_intercept:
        strength = alpha_intercepts
        if isinstance(strength, str):  # "auto"
            strength = auto_intercept_strength(data, design, classification)
        intercepts = Intercepts(strength, design.task_omega)
    if intercepts is not None and intercepts.free and not classification:
        return design.centred(), True
    design.intercepts = intercepts
    return design, False


def alpha_max_from_data(data, l1_ratio=1.0, loss="squared", fit_intercept=True):
    """``alpha_max`` of validated ``TaskData`` (its ``y`` already encoded)."""
    V = null_gradient(data, loss, fit_intercept)
    return L21(1.0).dual_norm(V) / l1_ratio


def penalty_alpha_max(V, penalty, *, l1_ratio=1.0, ratio=1.0):
    """The smallest ``alpha`` giving ``W = 0`` from ``V = null_gradient(...)``.

    ``penalty`` is one of

    - ``"l21"``: ``alpha * sum_j ||W[:, j]||`` (times ``l1_ratio`` in the elastic
      net): ``max_j ||V[:, j]|| / l1_ratio``;
    - ``"trace"``: ``alpha * ||W||_*``: the spectral norm ``||V||_2``;
    - ``"sparse_group"``: ``alpha * (l1_ratio ||W||_1 + (1 - l1_ratio) L2,1(W))``:
      the dual norm of that sparse-group norm;
    - ``"dirty"``: ``alpha * L2,1(P) + ratio * alpha * ||Q||_1`` on ``W = P + Q``:
      ``max(max_j ||V[:, j]||, max |V| / ratio)`` (both parts must vanish);
    - ``"l1"``: ``l1_ratio * alpha * ||W||_1`` plus a smooth term that is flat at
      ``W = 0`` (the graph model): ``max |V| / l1_ratio``.
    """
    if penalty == "l21":
        return L21(1.0).dual_norm(V) / l1_ratio
    if penalty == "trace":
        return TraceNorm(1.0).dual_norm(V)
    if penalty == "sparse_group":
        return SparseGroupL1L21(1.0, l1_ratio).dual_norm(V)
    absmax = float(np.max(np.abs(V), initial=0.0))
    if penalty == "dirty":
        return max(L21(1.0).dual_norm(V), absmax / ratio)
    if penalty == "l1":
        return absmax / l1_ratio
    raise ValueError(f"unknown penalty {penalty!r}")


#: A quadratic penalty never gives ``W = 0`` exactly: its ``alpha_max`` is the
#: strength at which its weakest penalised direction has curvature
#: ``QUADRATIC_SCALE`` times the largest task-Gram eigenvalue, so that no task's
#: weights keep more than about 1% of their unpenalised size.
QUADRATIC_SCALE = 100.0


def largest_task_curvature(data, fit_intercept=True, task_weighting="equal"):
    """``L_max = max_t lambda_max(X_t^T Omega_t X_t)`` (centred with an
    intercept; ``Omega_t`` the loss weights ``omega_t s_i`` of ``task_weighting``,
    ``s_i / n_t`` by default): the largest curvature of the datafit in any task's
    weights."""
    design = MultiTaskDesign(data, center=fit_intercept, task_weighting=task_weighting)
    return float(np.max(design.task_lipschitz_direct(), initial=0.0))


#: ``alpha_means`` given as an int ``n``: 0 and ``n - 1`` values log-spaced over
#: ``ALPHA_MEAN_DECADES`` decades, from ``QUADRATIC_SCALE * L_max`` down.
ALPHA_MEAN_DECADES = 4.0


def alpha_mean_grid(data, n, *, fit_intercept=True, task_weighting="equal"):
    """The automatic grid of ``alpha_mean`` (the mean-shrinkage strength).

    ``alpha_mean / 2 * sum_t ||w_t - wbar||^2`` shrinks task ``t``'s deviation
    ``w_t - wbar`` along a direction where its loss has curvature ``h`` by the
    factor ``h / (h + alpha_mean)``. The scale is therefore ``L_max``
    (:func:`largest_task_curvature`, same loss weights as the model): at
    ``QUADRATIC_SCALE * L_max = 100 L_max`` no task keeps more than about 1% of
    its deviation (the slopes are pooled: one weight vector plus the intercept
    model), and ``ALPHA_MEAN_DECADES`` decades below, at ``0.01 L_max``, the
    deviations are barely shrunk. ``n = 1`` gives ``[0.0]`` (no shrinkage);
    ``n >= 2`` gives 0 followed by ``n - 1`` log-spaced values, decreasing.
    """
    if n <= 1:
        return np.zeros(1)
    top = QUADRATIC_SCALE * largest_task_curvature(
        data, fit_intercept, task_weighting=task_weighting
    )
    if not top > 0:  # constant features: the term does nothing
        top = 1.0
    return np.concatenate([[0.0], top * np.logspace(0.0, -ALPHA_MEAN_DECADES, n - 1)])


def check_alpha_means(alpha_means, data, **kwargs):
    """``alpha_means`` (an int ``n`` or the values) as a 1-D float array.

    InvalidParameterError naming the entry for an empty list, a NaN, an infinite
    or a negative value (as :func:`check_alphas`); the values are kept in the
    given order. An int goes to :func:`alpha_mean_grid` (``kwargs`` are its
    ``fit_intercept`` and ``task_weighting``).
    """
    if isinstance(alpha_means, Integral) and not isinstance(alpha_means, bool):
        return alpha_mean_grid(data, int(alpha_means), **kwargs)
    return _nonnegative_values(alpha_means, "alpha_means", "alpha_mean")


def check_values(values, name, kind, one):
    """``values`` as a 1-D float array: InvalidParameterError naming ``name`` when
    they are not numbers (``kind``: what they must be), more than 1-D or empty
    ("give at least one ``one``")."""
    try:
        grid = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be {kind}; got {values!r}.") from None
    if grid.ndim > 1:
        raise InvalidParameterError(
            f"{name} must be 1-D; got an array of shape {grid.shape}."
        )
    grid = grid.ravel()
    if grid.size == 0:
        raise InvalidParameterError(f"{name} is empty; give at least one {one}.")
    return grid


def _nonnegative_values(values, name, one):
    """:func:`check_values` of an int-or-values parameter, each value finite and
    ``>= 0`` (InvalidParameterError naming the first other entry)."""
    grid = check_values(values, name, "an int or an array-like of floats", one)
    bad = np.flatnonzero(~np.isfinite(grid) | (grid < 0))
    if bad.size:
        i = bad[0]
        raise InvalidParameterError(
            f"{name}[{i}] == {float(grid[i])!r}, must be a finite number >= 0.0."
        )
    return grid


@fill_doc
@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "task_column": [Integral, str, None],
        "l1_ratio": [Interval(Real, 0, 1, closed="right")],
        "loss": [StrOptions({"squared", "logistic"})],
        "fit_intercept": ["boolean"],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def alpha_max(
    X,
    y,
    *,
    task_column=None,
    l1_ratio=1.0,
    loss="squared",
    fit_intercept=True,
    sample_weight=None,
):
    """The smallest ``alpha`` for which the L2,1 models have ``W = 0``.

    At ``W = 0`` (with the best intercepts) the optimality conditions of
    ``MultiTaskLasso`` hold iff ``alpha >= max_j ||A_j* Theta_0||_2`` where
    ``Theta_0 = -grad f`` is the negative gradient of the datafit on the model
    output, i.e. ``(A_j* Theta_0)_t = 1/n_t sum_{i in t} x_ij (y_i - ybar_t)`` for the
    squared loss. For ``MultiTaskElasticNet`` divide by ``l1_ratio``.

    Parameters
    ----------
    %(path.data_params)s
    l1_ratio : float in (0, 1], default=1.0
        The ``l1_ratio`` of :class:`MultiTaskElasticNet` (1: the Lasso).
    loss : {"squared", "logistic"}, default="squared"
        ``"logistic"`` for :class:`MultiTaskLogisticLasso` (binary labels).
    %(path.fit_params)s

    Returns
    -------
    alpha_max : float
        The smallest ``alpha`` giving ``W = 0`` (at this ``l1_ratio``).

    See Also
    --------
    MultiTaskLasso : The model whose ``alpha`` this bounds.
    multitask_lasso_path : Solutions from ``alpha_max`` down.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import MultiTaskLasso, alpha_max
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=20, random_state=0)
    >>> a = alpha_max(X, y, task_column=0)
    >>> bool(abs(MultiTaskLasso(alpha=a, task_column=0).fit(X, y).coef_).max() == 0)
    True
    """
    data = check_task_data(
        X,
        y,
        sample_weight,
        task_column=task_column,
        classification=loss == "logistic",
    )
    if loss == "logistic":
        data.y = encode_binary_targets(data)[1]
    return alpha_max_from_data(data, l1_ratio, loss, fit_intercept)


def check_l1_ratio_grid(l1_ratio):
    """No automatic grid for ``l1_ratio=0`` (``alpha_max`` is infinite); the
    message is scikit-learn's."""
    if np.any(np.asarray(l1_ratio) == 0):
        raise ValueError(
            "Automatic alpha grid generation is not supported for l1_ratio=0. "
            "Please supply a grid by providing your estimator with the appropriate "
            "`alphas=` argument."
        )


def check_alphas(alphas):
    """An explicit grid of alphas as a decreasing 1-D float array.

    InvalidParameterError naming the problem for an empty grid, a non-finite or
    a negative value (scikit-learn checks each ``alphas[i] >= 0`` too).
    """
    grid = _nonnegative_values(alphas, "alphas", "alpha")
    return np.sort(grid)[::-1]


def alpha_grid(amax, n_alphas, eps):
    """``n_alphas`` values from ``amax`` down to ``eps * amax`` (log scale)."""
    if amax <= 0:
        return np.full(n_alphas, np.finfo(float).resolution)
    return amax * np.geomspace(1.0, eps, n_alphas)


def path_on_data(
    data,
    alphas,
    *,
    l1_ratio=1.0,
    fit_intercept=True,
    max_iter=1000,
    tol=1e-4,
    coef_init=None,
    verbose=0,
    alpha_intercepts=0.0,
    task_weighting="equal",
    alpha_mean=0.0,
):
    """Warm-started solutions along ``alphas`` (taken in the given order).

    The problem is that of :class:`MultiTaskElasticNet` (``MultiTaskLasso`` at
    ``l1_ratio=1``) with its intercept model (``alpha_intercepts``, "auto"
    resolved on ``data`` as the estimators do), ``task_weighting`` and
    ``alpha_mean``; with free intercepts the design is centred, otherwise the
    intercepts are solved jointly and warm-started too.

    Returns ``coefs`` (n_alphas, n_tasks, n_features), ``intercepts``
    (n_alphas, n_tasks), ``gaps`` and ``n_iters`` (n_alphas,).
    """
    design, center = _design(
        data, fit_intercept, alpha_intercepts, task_weighting, False
    )
    T, d = data.n_tasks, data.n_features
    W = (
        np.zeros((T, d), dtype=data.X.dtype)
        if coef_init is None
        else np.asarray(coef_init, dtype=data.X.dtype)
    )
    b = np.zeros(T, dtype=data.X.dtype) if fit_intercept and not center else None
    n = len(alphas)
    coefs = np.zeros((n, T, d), dtype=data.X.dtype)
    intercepts_out = np.zeros((n, T), dtype=data.X.dtype)
    gaps, n_iters = np.zeros(n), np.zeros(n, dtype=int)
    for i, alpha in enumerate(alphas):
        penalty = L21(alpha) if l1_ratio == 1 else L21Ridge(alpha, l1_ratio)
        result = bcd(
            design,
            Quadratic(),
            penalty,
            W,
            b,
            max_iter=max_iter,
            tol=tol,
            verbose=verbose,
            alpha_mean=alpha_mean,
        )
        if not result.converged:
            warn_not_converged(
                f"the path at alpha={alpha:.4g}",
                max_iter,
                result.gap,
                tol * null_scale(design, Quadratic(), b is not None),
                stacklevel=3,
            )
        W = result.W
        coefs[i] = W
        if center:
            intercepts_out[i] = design.intercept(W)
        elif b is not None:
            b = result.b
            intercepts_out[i] = b
        gaps[i], n_iters[i] = result.gap, result.n_iter
    return coefs, intercepts_out, gaps, n_iters


_PATH_PARAMS = {
    "X": ["array-like", "sparse matrix"],
    "y": ["array-like"],
    "task_column": [Integral, str, None],
    "l1_ratio": [Interval(Real, 0, 1, closed="both")],
    "eps": [Interval(Real, 0, None, closed="neither")],
    "alphas": [Interval(Integral, 1, None, closed="left"), "array-like"],
    "fit_intercept": ["boolean"],
    "sample_weight": ["array-like", None],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left")],
    "coef_init": ["array-like", None],
    "return_intercept": ["boolean"],
    "return_n_iter": ["boolean"],
    "verbose": ["verbose"],
}


@fill_doc
@validate_params(_PATH_PARAMS, prefer_skip_nested_validation=True)
def multitask_enet_path(
    X,
    y,
    *,
    task_column=None,
    l1_ratio=0.5,
    eps=1e-3,
    alphas=100,
    fit_intercept=True,
    sample_weight=None,
    max_iter=1000,
    tol=1e-4,
    coef_init=None,
    return_intercept=False,
    return_n_iter=False,
    verbose=0,
):
    """Multi-task elastic-net solutions along a path of ``alpha`` (warm-started).

    Solves the problem of :class:`MultiTaskElasticNet` for each ``alpha``, from the
    largest down, each solve starting from the previous solution (and its working
    set), with the block coordinate descent solver of the family.

    Parameters
    ----------
    %(path.data_params)s
    l1_ratio : float in [0, 1], default=0.5
        Share of the L2,1 term (1: :func:`multitask_lasso_path`); 0 (pure ridge)
        needs an explicit grid of ``alphas``.
    %(path.path_sections)s

    See Also
    --------
    multitask_lasso_path : The path of :class:`MultiTaskLasso`.
    MultiTaskElasticNetCV : ``alpha`` and ``l1_ratio`` chosen by cross-validation
        along such paths.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import multitask_enet_path
    >>> X, y = make_multitask_regression(3, 30, 6, n_informative=2, random_state=0)
    >>> alphas, coefs, gaps = multitask_enet_path(X, y, task_column=0,
    ...                                           l1_ratio=0.5, alphas=5)
    >>> coefs.shape
    (3, 6, 5)
    >>> [int((abs(coefs[:, :, k]).sum(axis=0) > 0).sum()) for k in range(5)]
    [0, 2, 3, 6, 6]
    """
    data = check_task_data(X, y, sample_weight, task_column=task_column)
    if isinstance(alphas, Integral):
        check_l1_ratio_grid(l1_ratio)
        amax = alpha_max_from_data(data, l1_ratio, fit_intercept=fit_intercept)
        alphas = alpha_grid(amax, alphas, eps)
    else:
        alphas = check_alphas(alphas)
    coefs, intercepts, gaps, n_iters = path_on_data(
        data,
        alphas,
        l1_ratio=l1_ratio,
        fit_intercept=fit_intercept,
        max_iter=max_iter,
        tol=tol,
        coef_init=coef_init,
        verbose=verbose,
    )
    out = [alphas, np.moveaxis(coefs, 0, -1), gaps]
    if return_intercept:
        out.append(intercepts.T)
    if return_n_iter:
        out.append(n_iters)
    return tuple(out)


@fill_doc
@validate_params(
    {k: v for k, v in _PATH_PARAMS.items() if k != "l1_ratio"},
    prefer_skip_nested_validation=True,
)
def multitask_lasso_path(
    X,
    y,
    *,
    task_column=None,
    eps=1e-3,
    alphas=100,
    fit_intercept=True,
    sample_weight=None,
    max_iter=1000,
    tol=1e-4,
    coef_init=None,
    return_intercept=False,
    return_n_iter=False,
    verbose=0,
):
    """Multi-task Lasso solutions along a path of ``alpha`` (warm-started).

    :func:`multitask_enet_path` with ``l1_ratio=1``: solves the problem of
    :class:`MultiTaskLasso` for each ``alpha``, from the largest down, each solve
    starting from the previous solution (and its working set).

    Parameters
    ----------
    %(path.data_params)s
    %(path.path_sections)s

    See Also
    --------
    multitask_enet_path : The path with a ridge term (``l1_ratio < 1``).
    MultiTaskLassoCV : ``alpha`` chosen by cross-validation along such paths.
    alpha_max : The top of the automatic grid.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.linear_model import alpha_max, multitask_lasso_path
    >>> X, y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=6,
    ...                                  n_informative=2, random_state=0)
    >>> alphas, coefs, gaps = multitask_lasso_path(X, y, task_column=0, alphas=5)
    >>> bool(alphas[0] == alpha_max(X, y, task_column=0))
    True
    >>> coefs.shape
    (3, 6, 5)
    >>> [int((abs(coefs[:, :, k]).sum(axis=0) > 0).sum()) for k in range(5)]
    [0, 2, 2, 5, 5]
    """
    arguments = locals()  # this call's arguments, by their names in the signature
    return multitask_enet_path(**arguments, l1_ratio=1.0)
