"""Docstring fragments of the multi-task kernel estimators (``kernel.*`` names)."""

from .._docstring import register

KERNEL = """\
    kernel : str or callable
        Base kernel ``k`` on the features: a name understood by
        :func:`sklearn.metrics.pairwise_kernels` ("linear", "rbf", "poly",
        "sigmoid", "laplacian", "cosine", "chi2", "additive_chi2") or a callable
        ``kernel(X, Y)`` returning the Gram matrix (``SVC``'s convention).
        ``"precomputed"`` is not supported (the task column must travel with the
        rows): build the full multi-task kernel with
        :func:`skmtl.kernels.multitask_kernel` and use scikit-learn's estimator
        with ``kernel="precomputed"`` instead.
"""

KERNEL_PARAMS = """\
    degree : float
        Degree of the "poly" kernel.
    gamma : {"scale", "auto"}, float or None
        Coefficient of "rbf", "poly", "sigmoid", "laplacian" and "chi2". "scale":
        ``1 / (n_features * X.var())`` over the training rows (task column
        excluded); "auto" and None: ``1 / n_features``.
    coef0 : float
        Independent term of "poly" and "sigmoid".
"""

TASK_PARAMS = """\
    mu : float > 0, default=1.0
        Task coupling of the default similarity ``B = (1/mu) 11^T + I``
        (Evgeniou & Pontil 2004): task ``t`` has weights ``w_t = w_0 + v_t`` and
        the penalty is ``min_{w_0} mu ||w_0||^2 + sum_t ||v_t||^2``. Large
        ``mu``: nearly independent tasks; small ``mu``: nearly one pooled model
        (with kernel ``k / mu``). ``np.inf``: ``B = I``. Ignored when
        ``task_similarity`` is given.
    task_similarity : array-like of shape (n_tasks, n_tasks), default=None
        A symmetric positive semi-definite task similarity ``B`` instead of the
        ``mu`` form, rows and columns in the order of ``tasks_`` (sorted task
        labels; ``arange(n_tasks)`` in the shared layout), e.g. from
        :func:`skmtl.kernels.task_similarity_from_graph`. Checked in ``fit``
        (size, symmetry, positive semi-definiteness).
"""

SOLVER_PARAMS = """\
    solver : {"auto", "kernel", "linear", "nystroem"}, default="auto"
        - "kernel": the exact multi-task kernel matrix, ``O(n^2)`` memory and
          ``O(n^2)``-``O(n^3)`` time in the number ``n`` of training rows
          (stacked; ``n_samples * n_tasks`` observed entries in the shared
          layout). Guarded by ``memory_limit``.
        - "linear": ``kernel="linear"`` only. The exact explicit feature map
          ``phi(x, t) = F[t] (x) x`` with ``F F^T = B`` (``F = [1/sqrt(mu) 1, I]``
          for the ``mu`` form, i.e. ``w_t = w_0 + v_t`` with ``2 n_features``
          non-zeros per row; ``F = B^{1/2}`` for a user ``task_similarity``) and
          one linear model on it: memory ``O(nnz(phi))``, time about linear in
          ``n``.
        - "nystroem": ``psi(x)``, an ``n_components``-dimensional Nystroem
          approximation of the base kernel, then the linear path on
          ``F[t] (x) psi(x)``.
        - "auto": "kernel" when there are at most 5,000 training rows (the kernel
          matrix is then at most 200 MB), otherwise "linear" for
          ``kernel="linear"`` and "nystroem" for any other kernel. Kernel ridge
          with ``kernel="linear"`` in the ``mu`` form (finite ``mu``, ``alpha >
          0``) takes "linear" below 5,000 rows too where its exact block solve
          costs a tenth of the kernel path's factorisation or less (``n p^2 +
          n_tasks p^3 < n^3 / 30``, ``p`` features with the intercept column)
          and that factorisation is worth saving (``n^3 / 3 > 10^8``, about 700
          rows): the same solution, faster.
    n_components : int, default=100
        Number of Nystroem landmarks (training rows drawn with ``random_state``;
        capped at the number of rows, where the approximation is exact on them).
    memory_limit : float or None, default=2048
        Largest design, in MB, that ``fit`` may build: the ``n x n`` kernel
        matrix (8 n^2 bytes) on the kernel path, the explicit features (about 28
        bytes per non-zero, scikit-learn's and liblinear's copies) on the other
        paths. Beyond it ``fit`` raises a ValueError naming the alternatives
        instead of exhausting memory. None: no limit.
"""

OFFSET_PARAMS = """\
    alpha_intercepts : float > 0 or np.inf
        Strength of the task intercept offsets ``c_t`` relative to the function's
        norm: task ``t``'s intercept is ``b_0 + c_t`` with ``b_0`` free and the
        penalty ``alpha_intercepts * sum_t c_t^2`` added to ``||f||_K^2``. In the
        dual this is the kernel term ``(1 / alpha_intercepts) [s == t]`` added to
        ``B[s, t] k(x, z)`` (a one-hot task feature of scale
        ``alpha_intercepts^-1/2`` on the explicit paths), so the offsets are
        exactly ridge-shrunk towards 0, the random intercept of a mixed model. A
        task with few rows gets an offset near 0 and borrows the shared ``b_0``;
        a large task gets about its own level. ``np.inf``: one intercept shared
        by all tasks; small values: nearly free task intercepts.
    task_weighting : {"size", "equal"} or array-like of shape (n_tasks,), default="size"
        Weight of each task in the loss (``omega_t`` of doc/contract.md; the same names
        and meaning as :class:`~skmtl.neural_network.MultiTaskMLPRegressor`):
        the loss is ``sum_t lambda_t L_t`` with ``L_t`` the (sample-weighted)
        mean loss of task ``t``'s rows and ``lambda_t`` proportional to the
        task's size ("size": every row counts once, as in pooled and mixed
        models, and the default because it was the convention of these models),
        to 1 ("equal": a 3-row task weighs as much as a 300-row one), or, for an
        array ``w`` (in the order of ``tasks_``), to ``w_t n_t``: ``w_t`` is a
        per-row weight of task ``t``'s rows, ``omega_t`` proportional to ``w_t``
        (``w = 1`` is "size", ``w = 1 / n_t`` is "equal"). Implemented as row weights
        ``s_i * omega_t`` with ``omega_t = lambda_t N / n_t`` (``n_t``: the sum
        of task ``t``'s sample weights, ``N`` of all), scaled so that the total
        weight is ``N`` and the regularisation strength keeps its meaning; "size"
        is ``omega_t = 1``.
"""

COMMON_PARAMS = """\
    unseen_task : {"error", "shared"}, default="error"
        What ``predict`` does with a task label not seen in ``fit`` (stacked
        layout). "error": raise a ValueError naming it. "shared": predict it as a
        new task about which nothing is known beyond the shared structure: its
        similarity to fitted task ``t`` is ``mean_{s != t} B[s, t]``, which for the
        ``mu`` form is ``1/mu``, so the prediction is the shared component
        ``w_0`` plus the shared intercept ``b_0`` and nothing task-specific (no
        offset ``c_t``). With a user ``task_similarity`` it is the documented
        average similarity above (0 with a single fitted task).
    %(task_column)s
    random_state : int, RandomState instance or None, default=None
        Nystroem landmarks, liblinear's coordinate order, and the folds of
        probability calibration.
"""

register(
    prefix="kernel",
    kernel=KERNEL,
    kernel_params=KERNEL_PARAMS,
    task_params=TASK_PARAMS,
    solver_params=SOLVER_PARAMS,
    offset_params=OFFSET_PARAMS,
    common_params=COMMON_PARAMS,
)
