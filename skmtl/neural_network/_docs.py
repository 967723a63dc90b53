"""Docstring fragments shared by the two estimators (substituted, not copied)."""

OBJECTIVE = """
    The network is a shared trunk ``h(x)`` (``hidden_layer_sizes``) feeding one head
    per task (``head_layer_sizes`` hidden layers ``g_t``, then the output layer); row
    ``i`` of task ``t`` is predicted by
    ``f_t(x_i) = a_t(x_i) (W0 + V_t) + (b0 + c_t)`` with ``a_t = g_t(h(x_i))``: the
    output layer of every task is a shared part ``(W0, b0)`` (``coef_shared_``,
    ``intercept_shared_``) plus a task offset ``(V_t, c_t)`` (``coefs_[-1][t]``,
    ``intercepts_[-1][t]``). Training minimises, by mini-batch SGD or Adam,

    .. math::

        J(\\theta) = \\sum_t \\lambda_t L_t(\\theta)
                     + \\frac{\\alpha}{2 N} (\\|\\theta_W\\|^2 + \\|W_0\\|^2)
                     + \\frac{\\alpha_{heads}}{2 N} \\sum_t \\|V_t\\|^2
                     + \\frac{\\alpha_{intercepts}}{2 N} \\sum_t \\|c_t\\|^2,
        \\qquad
        L_t = \\frac{\\sum_{i \\in t} s_i \\, \\ell(y_i, f_t(x_i))}
                   {\\sum_{i \\in t} s_i},

    where ``L_t`` is task ``t``'s weighted mean loss (``s_i`` the sample weights; in
    the shared-design layout the sums run over the rows where task ``t``'s target is
    observed, NaN targets are left out), ``lambda_t`` the task weights chosen by
    ``task_weighting`` (``lambda_t = omega_t n_t`` in the terms of doc/contract.md,
    ``omega_t`` the weight of each of task ``t``'s ``n_t`` samples), ``theta_W`` all
    connection weights of the trunk and the heads, ``V_t`` included (not the
    intercepts), and ``N = sum_t sum_{i in t} s_i`` the total weight of the observed
    targets.

    **What a small task borrows.** The trunk ``h`` is learned from every task's rows.
    ``alpha_intercepts`` shrinks each task's output bias ``b0 + c_t`` towards the
    shared bias ``b0`` (a random intercept, as in a mixed model: ``c_t ~ N(0,
    sigma^2 / alpha_intercepts)`` when ``task_weighting="size"``), and
    ``alpha_heads`` shrinks each task's output weights towards the shared ``W0``;
    both are learned from all tasks, so a task with 2 rows gets roughly the shared
    head and a task with many rows its own. A strength of ``0`` gives free heads
    (no shared part: ``W0``, ``b0`` stay 0; the network before these options),
    ``np.inf`` one shared output weight / bias for every task (offsets exactly 0).
    With one task there is nothing to share and both options are off: the network is
    then exactly scikit-learn's MLP (the regressor with ``normalize_y=False``).

    **Tuning, cheaply and honestly.** Guard the heads of small tasks with
    ``alpha_heads`` rather than with ``early_stopping``: early stopping holds out
    ``validation_fraction`` of *every* task's rows (task-stratified, at least one
    row of a task with two) and never refits on them, and a validation score on a
    few rows per task stops training at random. Tune ``alpha_heads`` next to
    ``alpha`` with ``GridSearchCV`` and
    :class:`~skmtl.model_selection.TaskStratifiedKFold` as ``cv`` (every fold then
    holds rows of every task), ``np.inf`` included: one shared output layer plus
    task intercepts shrunk by ``alpha_intercepts`` is "pooled model + task
    dummies" on the learned trunk, the model to beat when tasks have a few rows.
    With a few hundred rows, 200-row batches give a few Adam steps per epoch: raise
    ``learning_rate_init`` (or ``max_iter``) so that training converges. On the
    real-data benchmark (``benchmarks/bench_realdata.py``: School, Computer Survey,
    Parkinsons, Landmine at 10% and 30% of each task's rows), the grid
    ``alpha`` in ``{1, 10}`` x ``alpha_heads`` in ``{1, inf}`` with
    ``learning_rate_init=0.003`` and no early stopping is within 0.013 pooled
    R^2 of pooled ridge + task dummies at 10% (0.15 below it on Computer Survey,
    2 rows per task, with early stopping and ``alpha`` alone).

    On a mini-batch of weight ``S_B`` the ``1 / N`` of the penalties becomes
    ``1 / S_B`` as in scikit-learn, each task's mean loss (and its share of the
    per-task penalties) is estimated without bias from its rows in the batch, and a
    task absent from the batch receives no gradient (its head is not updated: "lazy"
    optimiser steps, see ``_optimizers.py``).
"""

# the parameters are in two fragments so that an estimator can document one of its
# own where its signature has it (the regressor's ``normalize_y``)
ARCHITECTURE_PARAMETERS = """
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of the shared trunk's hidden layers (``()``: no trunk, the heads see
        the features).
    head_layer_sizes : array-like of int, default=()
        Units of the hidden layers of every task head (``()``: linear heads, the
        classic hard parameter sharing network).
    %(task_column)s
"""

TRAINING_PARAMETERS = """
    task_weighting : {"equal", "size", "uncertainty", "dwa"} or array-like of shape \
(n_tasks,), default="equal"
        How the task losses are weighted (``lambda_t``, recorded in
        ``task_weights_``; doc/contract.md's per-sample ``omega_t = lambda_t / n_t``):

        - ``"equal"``: ``omega_t`` proportional to ``1 / n_t``, ``lambda_t = 1 / T``:
          every task's mean loss counts the same, a 3-row task as much as a
          60-row one;
        - ``"size"``: ``omega_t = 1 / n``, ``lambda_t = n_t / n``: each sample
          counts once (the pooled mean loss, as pooled and mixed models weigh);
        - an array ``w`` in the order of ``tasks_``: ``omega_t`` proportional to
          ``w_t`` (a weight on each sample of task ``t``), i.e.
          ``lambda_t = w_t n_t / sum_s w_s n_s``; ``w = 1 / n_t`` is ``"equal"``,
          ``w = 1`` is ``"size"``;
        - ``"uncertainty"``: learned homoscedastic uncertainty (Kendall, Gal &
          Cipolla 2018): the objective becomes
          ``(1/T) sum_t [exp(-s_t) L_t + s_t / 2]`` with one learned log-variance
          ``s_t`` per task (``task_log_variances_``), so noisy tasks are
          down-weighted;
        - ``"dwa"``: dynamic weight average (Liu, Johns & Davison 2019):
          ``lambda_t`` proportional to ``exp(r_t / dwa_temperature)`` where ``r_t``
          is the ratio of the task's mean training loss over the two previous
          epochs, so slowly improving tasks get more weight.
    dwa_temperature : float, default=2.0
        Temperature of ``"dwa"`` (the paper's ``T = 2``); large values give equal
        weights.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers (trunk and heads).
    solver : {"adam", "sgd"}, default="adam"
        ``"sgd"``: SGD with momentum (Nesterov's with ``nesterovs_momentum``).
    alpha : float, default=0.0001
        Strength of the L2 penalty (see the objective above).
    alpha_heads : float, default=1.0
        Ridge strength on each task's output-weight offset ``V_t = W_t - W0`` from
        the shared output weights ``W0`` (``0``: free heads; ``np.inf``: one
        shared output layer).
    alpha_intercepts : float, default=1.0
        Ridge strength on each task's output-bias offset ``c_t = b_t - b0`` from
        the shared bias ``b0`` (``0``: free biases; ``np.inf``: exactly one shared
        bias). The defaults (1.0 each, on the standardised target of the
        regressor) weigh a task's offsets like one pseudo-observation at the shared
        head: a task with 2 rows is pulled strongly towards it, a task with 100
        rows barely. They keep the predictions of 1,000 tasks of 2-10 rows in the
        target's range (see the tests); tune them with ``GridSearchCV`` and
        :class:`~skmtl.model_selection.TaskStratifiedKFold`.
    unseen_task : {"error", "shared"}, default="error"
        What ``predict`` does with a task label not seen in ``fit`` (stacked
        layout): raise a ValueError naming it, or predict with the shared trunk
        and the *mean head*, whose every weight and bias is the task-size-weighted
        mean (weights ``n_t / n``, the sample-weighted training sizes) of the
        fitted heads' (plus the shared ``W0``, ``b0``). With linear heads the
        regressor's prediction is the size-weighted mean of the fitted tasks'
        predictions, the classifier's logits the size-weighted mean of their
        logits (it needs every task to have the same classes).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` is ``min(200, n_samples)``. In the
        shared-design layout a row carries the targets of all tasks.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Learning-rate schedule of ``"sgd"`` (as in scikit-learn's MLP).
    learning_rate_init : float, default=0.001
        Initial step size.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    max_iter : int, default=200
        Maximum number of epochs (passes over the data).
    shuffle : bool, default=True
        Shuffle the rows at every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling and the early-stopping split.
        With an int, fitting is deterministic.
    tol : float, default=1e-4
        Training stops when the training loss (or, with ``early_stopping``, the
        validation score) does not improve by ``tol`` for ``n_iter_no_change``
        consecutive epochs.
    verbose : bool, default=False
        Print each epoch's objective and per-task mean losses to stderr.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution (same features and
        architecture). The task labels must be those of the previous fit: a new
        or a missing task raises a ValueError naming it (the rule of every skmtl
        estimator; fit a clone, or set ``warm_start=False``, for other tasks).
        ``partial_fit`` may see any subset of the fitted tasks.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``"sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows of *every* task (stratified by
        task, and by class for the classifier) and stop when the validation score
        stalls; the best weights are restored.
    validation_fraction : float, default=0.1
        Share of each task's rows held out (at least one row per task with two
        rows or more; a task with one row keeps it for training).
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default=1e-8
        Adam's numerical stability constant.
    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` before stopping.
"""

ATTRIBUTES = """
    coefs_ : list of ndarray
        Connection weights, layer by layer: the trunk's ``(fan_in, fan_out)``
        matrices first (``len(hidden_layer_sizes)`` of them), then the heads'
        stacked ``(n_tasks, fan_in, fan_out)`` arrays (``coefs_[-1][t]`` is task
        ``tasks_[t]``'s output layer).
    intercepts_ : list of ndarray
        Biases: ``(fan_out,)`` for the trunk, ``(n_tasks, fan_out)`` for the heads.
        The output layer of task ``t`` is ``coef_shared_ + coefs_[-1][t]`` and
        ``intercept_shared_ + intercepts_[-1][t]``.
    coef_shared_ : ndarray of shape (fan_in, n_outputs)
        ``W0``, the output weights shared by every task (0 when ``alpha_heads=0``
        or with one task).
    intercept_shared_ : ndarray of shape (n_outputs,)
        ``b0``, the output bias shared by every task (0 when
        ``alpha_intercepts=0`` or with one task).
    loss_ : float
        Objective at the last epoch (mean of the mini-batch objectives).
    loss_curve_ : list of float
        Objective at every epoch since the first fit.
    task_loss_curves_ : ndarray of shape (n_epochs, n_tasks)
        Each task's mean training loss ``L_t`` at every epoch (NaN where a partial
        fit had no row of the task).
    task_weights_ : ndarray of shape (n_epochs, n_tasks)
        The task weights ``lambda_t`` used at every epoch (constant rows for the
        fixed schemes; for ``"uncertainty"`` the weights at the end of the epoch).
    task_log_variances_ : ndarray of shape (n_tasks,) or None
        The learned ``s_t = log sigma_t^2`` of ``"uncertainty"``; None otherwise.
    best_loss_ : float or None
        Lowest epoch objective (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Validation score at every epoch with ``early_stopping`` (None otherwise):
        %(validation)s
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_iter_ : int
        Epochs run by the last call.
    t_ : int
        Rows seen during training (for ``"invscaling"``).
    n_layers_ : int
        Number of layers of a task's path, input and output included.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels seen in the first fit (sorted), ``arange(n_tasks)`` in the
        shared layout.
    n_tasks_ : int
    n_features_in_ : int
        Columns of ``X`` in ``fit`` (task column included).
    feature_names_in_ : ndarray of str
        Column names of ``X`` when it is a DataFrame with string column names.
"""

SAMPLE_WEIGHT = """
    Row weights ``s_i`` of the objective (None: all 1). In the shared-design
    layout a row's weight applies to each of its observed targets.
"""

PARTIAL_FIT = """
    The first call (unless ``fit`` ran before) fixes the tasks (``tasks_``),
    the layout and the architecture; later calls may hold only some of the
    tasks (a task label not seen in the first call raises a ValueError), and a
    task absent from a call keeps its head. The task weights are computed over
    the tasks present in the call. ``early_stopping=True`` is not supported (a
    ValueError): hold out validation rows yourself.
"""

REFERENCES = """
    References
    ----------
    R. Caruana, "Multitask learning", Machine Learning 28, 1997 (hard parameter
    sharing). A. Kendall, Y. Gal and R. Cipolla, "Multi-task learning using
    uncertainty to weigh losses for scene geometry and semantics", CVPR 2018.
    S. Liu, E. Johns and A. J. Davison, "End-to-end multi-task learning with
    attention", CVPR 2019 (dynamic weight average).
"""


#: The fragments of the two estimators' docstrings, substituted by
#: :func:`skmtl._docstring.fill_doc` (``%(objective)s`` etc.; each estimator adds its
#: own ``validation`` text to the class and its ``y_fit`` text to ``fit`` and
#: ``partial_fit``, which use the shared ``%(fit_sections)s``).
FRAGMENTS = {
    "objective": OBJECTIVE,
    "architecture_parameters": ARCHITECTURE_PARAMETERS,
    "training_parameters": TRAINING_PARAMETERS,
    "attributes": ATTRIBUTES,
    "references": REFERENCES,
    "sample_weight_fit": SAMPLE_WEIGHT,
    "partial_fit": PARTIAL_FIT,
}
