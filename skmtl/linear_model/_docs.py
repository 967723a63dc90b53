"""Docstring fragments shared by the linear multi-task models (sparse, low-rank,
structured): written once here, substituted by
``fill_doc(cls, LINEAR, **values)`` (:mod:`skmtl._docstring`), where ``values``
overrides the defaults ``LINEAR`` holds for the per-estimator texts (what an
unseen task gets, the intercept model's default and its note, the solver's
``max_iter`` and ``tol`` and their descriptions)."""

#: the parameters every linear model shares, in the order of their signatures:
#: the layout and intercept, the intercept model (``INTERCEPT_PARAMS``), the solver
COMMON_PARAMS = """\
    task_column : int, str or None, default=None
        Column of ``X`` holding the task labels (stacked layout). None: ``y`` is
        ``(n_samples, n_tasks)`` (NaN = missing) or 1-D (one task).
    fit_intercept : bool, default=True
        Fit an intercept per task (unpenalised, or ``b_0 + c_t`` with a ridge on
        ``c_t`` where the model has ``alpha_intercepts``).
    %(intercept_params)s
    max_iter : int, default=%(max_iter)s
        %(max_iter_doc)s
    tol : float, default=%(tol)s
        %(tol_doc)s
    warm_start : bool, default=False
        Start from the previous solution (``coef_``) when the number of features
        is unchanged. The task labels must be those of the previous fit: a new
        or a missing task raises a ValueError naming it (the rule of every skmtl
        estimator; fit a clone, or set ``warm_start=False``, for other tasks).
    verbose : int, default=0
        Verbosity: a positive value prints the solver's progress (objective and
        stopping criterion) at each check; 0 prints nothing.
"""

MAX_ITER = (
    "Maximum number of iterations of the solver (see above); a\n"
    "``ConvergenceWarning`` is issued when it stops there before ``tol``."
)

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

#: ``solver_attributes``: ``n_iter_`` and what else the solver reports;
#: ``shared_attributes``: what an unseen task gets (``SHARED_ATTRIBUTES``)
COMMON_ATTRIBUTES = """\
    coef_ : ndarray of shape (n_tasks, n_features)
        Task weights (task column excluded).
    intercept_ : ndarray of shape (n_tasks,)
    %(solver_attributes)s
    %(layout_attributes)s
    %(shared_attributes)s
"""

GAP_TOL = (
    "Stop when the duality gap is at most ``tol * 2 P0`` where ``P0`` is the\n"
    "objective of the null model (``W = 0``, best intercepts): a certified\n"
    "bound ``objective - optimum <= dual_gap_``."
)


# ---------------------------------------------------------------- intercept model,
# task weighting, mean shrinkage and unseen tasks (DESIGN.md section 2)

#: the terms every penalised linear model adds to its loss and penalty
OBJECTIVE_TERMS = """\
    Here ``b_t = b_0 + c_t``: a shared intercept ``b_0`` plus a task offset
    ``c_t`` with the ridge ``alpha_intercepts / 2 * sum_t omega_t c_t^2``;
    ``omega_t`` is the per-sample loss multiplier of task ``t``
    (``task_weighting``: ``1 / n_t`` with "equal", ``n_t`` task ``t``'s number of
    rows or total sample weight)."""

INTERCEPT_PARAMS = """\
    alpha_intercepts : float >= 0 or "auto", default=%(intercepts_default)s
        Strength ``lam`` of the intercept model ``b_t = b_0 + c_t``: a shared
        intercept ``b_0`` and task offsets ``c_t`` with the penalty
        ``lam / 2 * sum_t omega_t c_t^2``. With the squared loss a task of ``n_t``
        rows keeps ``n_t / (n_t + lam)`` of its own mean residual and borrows the
        rest from ``b_0`` (the random-intercept BLUP with ``lam = sigma^2 /
        tau^2``), whatever ``task_weighting``: under ``lam = 10`` a 3-row task
        keeps 3/13 of its own level. 0 gives a free intercept per task
        (scikit-learn's convention, and its results in the shared layout),
        ``inf`` one pooled intercept. "auto" estimates ``sigma^2 / tau^2`` by
        Searle's one-way ANOVA moments on the residuals of a pooled ridge fit
        (``auto_intercept_strength``; from the stacked rows, so the same in both
        layouts); the value used is ``alpha_intercepts_``. Ignored when
        ``fit_intercept=False``. %(intercepts_note)s
    task_weighting : {"equal", "size"} or array-like of shape (n_tasks,), \
default="equal"
        Weight of each task's loss: "equal" makes it the task's mean loss
        (``omega_t = 1 / n_t``, MALSAR's convention); "size" makes every sample
        count once (``omega_t`` the same for all tasks, so a large task moves the
        shared structure more than a small one); an array gives ``omega_t``
        proportional to its entries (ordered like ``tasks_``). Scaled so that
        ``sum_t omega_t n_t`` is the number of tasks (``skmtl._weights``): in the
        shared layout without missing targets "equal" and "size" coincide.
    unseen_task : {"error", "shared"}, default="error"
        Prediction for a task label not seen in ``fit``: "error" raises a
        ValueError naming it; "shared" predicts with ``coef_shared_`` and
        ``intercept_shared_`` (%(unseen)s, and ``b_0``).
"""

ALPHA_MEAN_PARAM = """\
    alpha_mean : float, default=0.0
        Strength of the ridge ``alpha_mean / 2 * sum_t ||w_t - wbar||^2`` pulling
        every task's weights towards their plain mean ``wbar`` (shrinkage towards
        shared values; ``wbar`` is the minimiser over a free shared ``w_0``). 0
        leaves only the structural penalty, which shares which features are used
        but not their values.
"""

SHARED_ATTRIBUTES = """\
    alpha_intercepts_ : float
        Intercept strength used (``alpha_intercepts``, "auto" resolved; absent
        when ``fit_intercept=False``).
    coef_shared_ : ndarray of shape (n_features,)
        Weights given to an unseen task (%(unseen)s).
    intercept_shared_ : float
        ``b_0``, the intercept of an unseen task (the ``omega``-weighted mean of
        ``intercept_``; 0 without intercepts).
"""

SIZE_WEIGHTED_MEAN = "the task-size-weighted mean of the rows of ``coef_``"

#: what ``coef_shared_`` is when the model has ``alpha_mean``
MEAN_OR_SIZE_WEIGHTED = (
    "``wbar``, the plain mean of the rows of ``coef_``, when ``alpha_mean > 0``; "
    "otherwise the task-size-weighted mean of the rows of ``coef_``"
)


#: why the default intercept model is free for the solvers that update the offsets
#: beside an uncentred design
FREE_DEFAULT_NOTE = """The default stays 0, scikit-learn's convention: with
        ``lam > 0`` the solver works on the uncentred design, which takes more
        epochs when features have large task means or are constant within
        tasks (unstandardised School at ``alpha=0.01``: MultiTaskLasso 394
        epochs against 94 with 0; DirtyMultiTaskLasso and
        MultiTaskSparseGroupLasso more than 1,000 against 294 and 438).
        Standardise ``X``, and raise ``max_iter`` if needed, when using
        "auto"."""

#: why "auto" is the default where the solver eliminates the offsets exactly
AUTO_DEFAULT_NOTE = """The default "auto" is this model's choice in
        ``benchmarks/DEFAULTS.md``: the best mean rank over the datasets and
        ratios of the real-data benchmark (e.g. School at 10% training rows:
        pooled R^2 0.337 against 0.297 with free intercepts), and the solver
        treats the offsets exactly."""


#: The fragments of the linear models' docstrings and the defaults of the texts
#: each model may override (``fill_doc(cls, LINEAR, unseen=..., tol="1e-6")``):
#: ``unseen`` says what ``coef_shared_`` is; ``intercepts_default`` is the default
#: of ``alpha_intercepts`` and ``intercepts_note`` why (``AUTO_DEFAULT_NOTE`` or a
#: model's own where the default is "auto"); ``max_iter`` and ``tol`` are the
#: solver's defaults and ``max_iter_doc`` and ``tol_doc`` their descriptions.
LINEAR = {
    "common_params": COMMON_PARAMS,
    "intercept_params": INTERCEPT_PARAMS,
    "alpha_mean_param": ALPHA_MEAN_PARAM,
    "objective_terms": OBJECTIVE_TERMS,
    "common_attributes": COMMON_ATTRIBUTES,
    "solver_attributes": """\
        n_iter_ : int
            Iterations of the solver.""",
    "shared_attributes": SHARED_ATTRIBUTES,
    "unseen": SIZE_WEIGHTED_MEAN,
    "intercepts_default": "0.0",
    "intercepts_note": FREE_DEFAULT_NOTE,
    "max_iter": "1000",
    "tol": "1e-4",
    "max_iter_doc": MAX_ITER,
    "tol_doc": GAP_TOL,
}
