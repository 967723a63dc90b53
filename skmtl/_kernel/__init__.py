"""Machinery of the multi-task kernel models, behind the public :mod:`skmtl.kernels`.

- ``_similarity``: task-similarity matrices ``B`` (the ``mu`` form, graphs, checks).
- ``_gram``: the base kernel ``k`` and the multi-task kernel ``B[s, t] k(x, z)``.
- ``_feature_map``: explicit features ``F[t] (x) psi(x)`` and the Nystroem ``psi``.
- ``_base``: :class:`BaseMultiTaskKernel`, what ``MultiTaskSVC``, ``MultiTaskSVR``
  and ``MultiTaskKernelRidge`` share (parameters, layouts, loss weights, the
  design they fit).
- ``_docs``: the docstring fragments of those estimators.
"""
