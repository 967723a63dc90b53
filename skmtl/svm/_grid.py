"""A search grid for the multi-task SVMs that nests pooled and independent models."""

from numbers import Real

import numpy as np

from .._compat import Interval, validate_params
from ..kernel_ridge import _grid

#: Default candidates, chosen on the four real-data benchmarks (School, Parkinsons,
#: Computer Survey, Landmine) at per-task training ratios 0.1 and 0.3; see
#: :func:`multitask_svm_grid`.
DEFAULT_CS = (0.01, 0.1, 1.0)
DEFAULT_MUS = (0.01, 0.1, 1.0, 10.0, np.inf)
DEFAULT_ALPHAS_INTERCEPTS = (0.01, 0.1, 1.0, np.inf)


@validate_params(
    {
        "Cs": ["array-like", None],
        "mus": ["array-like", None],
        "alphas_intercepts": ["array-like", None],
        "scale": [Interval(Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def multitask_svm_grid(Cs=None, mus=None, alphas_intercepts=None, *, scale=1.0):
    """``param_grid`` for ``GridSearchCV`` over ``C``, ``mu`` and ``alpha_intercepts``.

    The kernel of :class:`MultiTaskSVC` / :class:`MultiTaskSVR` with the ``mu``
    form is ``s * Bn[s, t] k(x, z) + [s == t] / alpha_intercepts`` with ``s = 1 +
    1/mu`` and the unit-diagonal task similarity ``Bn = (11^T / mu + I) / s``. An
    SVM with the kernel ``K`` and ``C`` is the SVM with the kernel ``K / s`` and
    ``C * s`` (same decision function), so ``mu`` would otherwise also change the
    effective ``C`` and the offsets' weight: by a factor ``1 + 1/mu``, i.e. 101
    at ``mu=0.01``. The grid therefore holds the *normalised* strengths fixed
    across ``mu``: each candidate ``(c, mu, a)`` becomes::

        C = c / (s * scale),   alpha_intercepts = a / (s * scale)

    so ``c`` is ``C`` for the kernel ``Bn k / scale`` (unit diagonal when ``scale``
    is the mean diagonal of ``k``) and ``1 / a`` is the variance of the task
    offsets relative to it. ``mu`` is then the task coupling alone, and the grid
    nests the baselines: ``mu=np.inf`` gives independent task functions,
    ``mu=0.01`` one pooled function (the task parts get 1% of the kernel), and
    ``alpha_intercepts`` from nearly free task intercepts (0.01, task dummies)
    to one intercept (``np.inf``).

    Default candidates, and why (measured on School, Parkinsons, Computer Survey
    and Landmine at per-task training ratios 0.1 and 0.3, standardised features,
    linear kernel, ``scale=1``, target standardised for the SVR, ``class_weight=
    "balanced"`` for the SVC): ``Cs = (0.01, 0.1, 1)``, because School wants
    strong regularisation (0.01) and none of the four gained from 10, where
    liblinear is slowest; ``mus = (0.01, 0.1, 1, 10,
    np.inf)``, because School and Landmine are best near pooled (``mu <= 0.01``:
    ``mu=1`` lost 0.07 R^2 on School), Parkinsons near independent (``mu >= 10``)
    and Computer Survey in between; ``alphas_intercepts = (0.01, 0.1, 1,
    np.inf)``, because Parkinsons needs nearly free intercepts (0.01) and
    Computer Survey shrunken ones (0.1: +0.17 R^2 over one intercept), which the
    former grid ``{1, 10, inf}`` missed. 60 candidates; with ``solver="linear"``
    (liblinear, exact for the linear kernel) a 3-fold search costs about 1-2 min
    on 4,500 School rows on one core.

    Parameters
    ----------
    Cs : array-like of float > 0, default=None
        Normalised ``c`` values (None: ``(0.01, 0.1, 1)``).
    mus : array-like of float > 0, default=None
        Task couplings (``np.inf`` allowed; None: ``(0.01, 0.1, 1, 10, inf)``).
    alphas_intercepts : array-like of float > 0, default=None
        Normalised ``a`` values (``np.inf``: one intercept; None: ``(0.01, 0.1,
        1, inf)``).
    scale : float > 0, default=1.0
        Unit of the base kernel, e.g. its mean diagonal (the number of
        standardised features for a linear kernel). 1 keeps ``C`` in the units
        the defaults were measured in.

    Returns
    -------
    param_grid : list of dict
        One dict per ``mu`` (``{"mu": [mu], "C": [...], "alpha_intercepts":
        [...]}``), for ``GridSearchCV(MultiTaskSVR(...), param_grid, ...)``.

    See Also
    --------
    MultiTaskSVR, MultiTaskSVC : The estimators searched.
    skmtl.model_selection.TaskStratifiedKFold : Folds with every task in each.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.svm import multitask_svm_grid
    >>> grid = multitask_svm_grid(Cs=[1.0], mus=[1.0, np.inf],
    ...                           alphas_intercepts=[0.1, np.inf])
    >>> grid[0]
    {'mu': [1.0], 'C': [0.5], 'alpha_intercepts': [0.05, inf]}
    >>> grid[1]
    {'mu': [inf], 'C': [1.0], 'alpha_intercepts': [0.1, inf]}
    """
    cs = _grid(Cs, np.array(DEFAULT_CS), "Cs", False)
    mus = _grid(mus, np.array(DEFAULT_MUS), "mus", True)
    a = _grid(
        alphas_intercepts,
        np.array(DEFAULT_ALPHAS_INTERCEPTS),
        "alphas_intercepts",
        True,
    )
    if not np.isfinite(scale):
        raise ValueError(f"scale must be finite; got {scale!r}.")
    grid = []
    for mu in mus:
        s = (1.0 + 1.0 / mu) * scale
        grid.append(
            {
                "mu": [float(mu)],
                "C": [float(c / s) for c in cs],
                "alpha_intercepts": [float(v / s) for v in a],
            }
        )
    return grid
