"""Block coordinate descent over the feature columns of ``W`` with working sets,
gap-safe screening and Anderson extrapolation (the celer / skglm recipe, in numpy).

Solves ``min_{W, b} f(A E(W) + b) + g(W)`` where ``E(W)`` are the effective task
weights (``W`` itself, or ``P + Q`` for penalties with ``n_blocks = 2``), ``f`` a
datafit on the model output and ``g`` a penalty separable over the columns of ``W``
(it must offer what ``solver.REQUIRED`` lists, checked when ``bcd`` starts;
see ``penalties``).

One *block* is a feature column ``W[:, j]`` (all tasks at once): the datafit is
separable over tasks given the other columns, so its curvature in that block is the
diagonal ``c_tj = curvature * sum_{i in t} omega_i (x_ij - xbar_tj)^2``. Block ``j`` is
updated by ``penalty.block_prox(c_j * w_j + A_j* Theta, c_j)``: the exact block
minimiser for the squared loss, a majorise-minimise step for the logistic loss. In
the stacked layout, or with missing targets, the ``c_tj`` differ across tasks and the
block minimiser solves a 1-D secular equation (``group_shrink``); in the shared
layout without missing targets they are equal and it is a group soft-threshold.
Per-column work is vectorised over tasks (and over the rows of the column); the
Python loop runs over the features of the working set only.

Outer loop (Massias et al. 2018, Bertrand et al. 2022):

1. rebuild the output ``F`` from the working set, compute ``Theta = -grad f(F)``
   and ``V = A* Theta`` for all features (one product with ``X``), rescale ``Theta``
   into the dual feasible set and evaluate the duality gap; stop when it is at most
   ``tol * null_scale`` (see ``base``);
2. gap-safe screening (Ndiaye et al. 2017): the dual is ``1 / (curvature *
   max omega)``-strongly concave, so ``||Theta_opt - Theta|| <= r = sqrt(2 gap
   curvature max omega)`` and a column with ``column_margin(V)_j > r ||A_j||`` is zero
   at the optimum; it is removed for the rest of the solve;
3. working set: the non-zero columns plus the columns closest to their dual
   constraint (smallest ``column_margin / ||A_j||``), twice as many as non-zero columns;
4. inner solve: epochs of block coordinate descent over the working set, with
   Anderson extrapolation of the iterates every ``anderson`` epochs (accepted only
   when it lowers the objective), until the duality gap of the working-set problem
   is below ``0.3`` times the outer gap.

``n_iter`` counts epochs (passes over the working set); ``max_iter`` bounds them.

Modules, one job each:

- ``solver``: ``bcd``, the outer loop (gap, screening, working sets);
- ``working_set``: ``WorkingSetSolver``, the inner solve on a working set;
- ``state``: the solver state per datafit (``ResidualState``, ``OutputState``);
- ``newton``: support Newton steps (L2,1 and sparse group) and prox-Newton
  (other datafits);
- ``anderson``: Anderson extrapolation;
- ``profile``: penalised intercepts profiled out of the squared loss;
- ``screening``: column operator norms, null correlations, ``alpha_max``;
- ``shrinkage``: the mean-shrinkage term.

The fused and compiled epochs live in ``_optim.epochs`` (and ``_cd_fast.pyx``).
"""

from .screening import alpha_max_design, column_operator_norms, null_correlations
from .shrinkage import mean_shrinkage
from .solver import REQUIRED, bcd, check_requirements

__all__ = [
    "REQUIRED",
    "alpha_max_design",
    "bcd",
    "check_requirements",
    "column_operator_norms",
    "mean_shrinkage",
    "null_correlations",
]
