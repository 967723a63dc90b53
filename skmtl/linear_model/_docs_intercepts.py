"""Docstring fragments for the intercept model, task weighting and unseen tasks
of the low-rank and structured linear models (merged into ``_docs`` later)."""

INTERCEPT_PARAMS = """\
    alpha_intercepts : float >= 0 or "auto", default="auto"
        Strength ``lam`` of the intercept model ``b_t = b_0 + c_t``: a shared
        intercept ``b_0`` and task offsets ``c_t`` with the penalty
        ``lam / 2 * sum_t omega_t c_t^2`` (``omega_t`` the per-sample loss
        multiplier of task ``t``). With the squared loss a task of ``n_t`` rows
        keeps ``n_t / (n_t + lam)`` of its own mean residual and borrows the rest
        from ``b_0`` (the random-intercept BLUP with ``lam = sigma^2 / tau^2``),
        whatever ``task_weighting``: a 3-row task under ``lam = 10`` keeps 3/13 of
        its own level. 0 gives a free intercept per task (scikit-learn's
        convention), ``inf`` one pooled intercept. "auto" estimates
        ``sigma^2 / tau^2`` by Searle's one-way ANOVA moments on the residuals of a
        pooled ridge fit (``auto_intercept_strength``); the value used is
        ``alpha_intercepts_``. Ignored when ``fit_intercept=False``.
    task_weighting : {"equal", "size"} or array-like of shape (n_tasks,), \
default="equal"
        Weight of each task's loss: "equal" makes it the task's mean loss
        (``omega_t = 1 / n_t``, MALSAR's convention); "size" makes every sample
        count once (``omega_t`` the same for all tasks, so a large task moves the
        shared structure more than a small one); an array gives ``omega_t``
        proportional to its entries (ordered like ``tasks_``). Scaled so that the
        weights sum to the number of tasks (see ``skmtl._weights``).
    unseen_task : {"error", "shared"}, default="error"
        Prediction for a task label not seen in ``fit``: "error" raises a
        ValueError naming it; "shared" predicts with ``coef_shared_`` and
        ``intercept_shared_`` (%(unseen)s).
"""

SHARED_ATTRIBUTES = """\
    alpha_intercepts_ : float
        Intercept strength used (``alpha_intercepts``, "auto" resolved).
    coef_shared_ : ndarray of shape (n_features,)
        Weights given to an unseen task (%(unseen)s).
    intercept_shared_ : float
        ``b_0``, the intercept of an unseen task (the ``omega``-weighted mean of
        ``intercept_``; 0 without intercepts).
"""

SIZE_WEIGHTED_MEAN = "the task-size-weighted mean of the rows of ``coef_``"


def fill_intercepts(doc, unseen=SIZE_WEIGHTED_MEAN):
    """Substitute ``    %(intercept_params)s`` and ``    %(shared_attributes)s``."""
    return doc.replace(
        "    %(intercept_params)s\n", INTERCEPT_PARAMS % {"unseen": unseen}
    ).replace("    %(shared_attributes)s\n", SHARED_ATTRIBUTES % {"unseen": unseen})
