"""Docstring fragments shared by the low-rank and structured linear models."""

COMMON_PARAMS = """\
    task_column : int, str or None, default=None
        Column of ``X`` holding the task labels (stacked layout). None: ``y`` is
        ``(n_samples, n_tasks)`` (NaN = missing) or 1-D (one task).
    fit_intercept : bool, default=True
        Fit one unpenalised intercept per task.
    max_iter : int, default=%(max_iter)s
    tol : float, default=%(tol)s
        %(tol_doc)s
    warm_start : bool, default=False
        Start from the previous solution (``coef_``) when the number of features
        is unchanged. The task labels must be those of the previous fit: a new
        or a missing task raises a ValueError naming it (the rule of every skmtl
        estimator; fit a clone, or set ``warm_start=False``, for other tasks).
    verbose : int, default=0
"""

# parameters of scikit-learn's MultiTaskLasso / MultiTaskElasticNet (and their CV
# forms) accepted for drop-in compatibility
SKLEARN_COMPAT_PARAMS = """\
    copy_X : bool, default=True
        For compatibility with scikit-learn. ``X`` is never modified, whatever
        the value.
    selection : {"cyclic", "random"}, default="cyclic"
        For compatibility with scikit-learn. The solver always sweeps its
        working set in a fixed (cyclic) order, so "random" gives the same
        solution (to ``tol``) as "cyclic".
    random_state : int, RandomState instance or None, default=None
        Unused (the solver is deterministic); kept for compatibility with
        scikit-learn.
"""

COMMON_ATTRIBUTES = """\
    coef_ : ndarray of shape (n_tasks, n_features)
        Task weights (task column excluded).
    intercept_ : ndarray of shape (n_tasks,)
    n_iter_ : int
        Iterations of the solver.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels seen in ``fit`` (sorted), ``arange(n_tasks)`` in the shared
        layout.
    n_tasks_ : int
    n_features_in_ : int
        Number of columns of ``X`` in ``fit`` (task column included).
    feature_names_in_ : ndarray of str
        Column names of ``X`` when it is a DataFrame with string column names.
"""

GAP_TOL = (
    "Stop when the duality gap is at most ``tol * 2 P0`` where ``P0`` is the\n"
    "        objective of the null model (``W = 0``, best intercepts): a certified\n"
    "        bound ``objective - optimum <= dual_gap_``."
)

LOSS = "sum_t 1 / (2 n_t) * ||y_t - X_t w_t - b_t||^2"


def fill(doc, **kwargs):
    """Substitute the lines ``    %(common_params)s`` and ``    %(common_attributes)s``
    (indented as the docstring body) in ``doc``."""
    params = COMMON_PARAMS % {
        "max_iter": kwargs.get("max_iter", 1000),
        "tol": kwargs.get("tol", "1e-4"),
        "tol_doc": kwargs.get("tol_doc", GAP_TOL),
    }
    return doc.replace("    %(common_params)s\n", params).replace(
        "    %(common_attributes)s\n", COMMON_ATTRIBUTES
    )
