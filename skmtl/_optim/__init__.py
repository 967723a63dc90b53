"""Shared optimisation machinery of the linear multi-task models.

``design`` (the layout-aware operator ``W -> F``), ``datafits`` (losses on ``F``),
``penalties`` (non-smooth terms with prox and dual) and the solvers built on them.
"""
