"""What the multi-task kernel estimators share: parameters, layouts, solver paths.

``MultiTaskSVC``, ``MultiTaskSVR`` and ``MultiTaskKernelRidge`` differ only in the
scikit-learn model they fit on the *design*: either the multi-task kernel matrix
``K[i, j] = B[t_i, t_j] k(x_i, x_j)`` (``solver="kernel"``) or explicit features
``phi(x, t) = F[t] (x) psi(x)`` with ``F F^T = B`` (``solver="linear"``: ``psi(x) =
x``, exact for a linear base kernel; ``solver="nystroem"``: ``psi`` a Nystroem
approximation of the base kernel). This module builds both designs, for fit and in
blocks for predict, from the one implementation in :mod:`skmtl._kernel`.
"""

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted

from .._compat import KERNEL_PARAMS, Interval, StrOptions
from .._data import validate_fit_data, validate_predict_data
from .._weights import task_multipliers
from ..base import MultiTaskMixin
from . import _docs  # noqa: F401  (registers the kernel.* docstring fragments)
from ._feature_map import _feature_map_nnz, _nystroem_basis, multitask_feature_map
from ._gram import (
    KERNELS,
    _add_offset_kernel,
    _base_kernel,
    _multitask_gram,
    _scale_gamma,
)
from ._similarity import (
    check_task_similarity,
    task_similarity_from_mu,
    task_similarity_sqrt,
)

#: ``solver="auto"`` uses the exact kernel path up to this many training rows.
AUTO_KERNEL_MAX_ROWS = 5000
# predict builds its design in blocks of about this many bytes
_BLOCK_BYTES = 64 * 2**20
# bytes per stored entry of the explicit features: CSR (8 + 4) + liblinear's copy
_FEATURE_BYTES = 28


def task_loss_weights(task_weighting, task, sample_weight, n_tasks):
    """Per-task loss multipliers ``omega_t`` of the ``task_weighting`` schemes
    (:func:`skmtl._weights.task_multipliers` with the kernel models' scale: the row
    weights ``s_i omega_t`` sum to ``n``, and "size" gives 1)."""
    sizes = np.bincount(task, weights=sample_weight, minlength=n_tasks)
    return task_multipliers(task_weighting, sizes, sizes.sum())


@dataclass
class Design:
    """Training set as stacked rows, and the matrix the inner model is fitted on."""

    matrix: object  # kernel (n, n) ndarray or explicit features (n, p) CSR
    X: object  # features of the stacked rows (task column excluded)
    task: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    weighted: bool  # sample_weight was passed to fit


def _take(X, rows):
    return X if rows is None else X[rows]


class BaseMultiTaskKernel(MultiTaskMixin, BaseEstimator):
    """Parameters, layouts and design construction shared by the kernel models."""

    _parameter_constraints = {
        "kernel": [StrOptions(set(KERNELS)), callable],
        "degree": [Interval(Real, 0, None, closed="left")],
        "gamma": [
            StrOptions({"scale", "auto"}),
            Interval(Real, 0, None, closed="left"),
            None,
        ],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "mu": [Interval(Real, 0, None, closed="right")],
        "task_similarity": ["array-like", "sparse matrix", None],
        "solver": [StrOptions({"auto", "kernel", "linear", "nystroem"})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "memory_limit": [Interval(Real, 0, None, closed="neither"), None],
        "alpha_intercepts": [Interval(Real, 0, np.inf, closed="right")],
        "task_weighting": [StrOptions({"equal", "size"}), "array-like"],
        "unseen_task": [StrOptions({"error", "shared"})],
        "task_column": [Integral, str, None],
        "random_state": ["random_state"],
    }

    # ------------------------------------------------------------------ fit
    def _fit_rows(self, X, y, sample_weight, *, classification):
        """Validated data as stacked rows with their loss weights.

        Returns ``(data, Xfit, task, y_fit, weights, weighted)``: the rows the model
        is fitted on (rows of zero weight dropped), their row weights ``s_i
        omega_t`` (``task_weighting``), and whether any weight differs from 1.
        """
        data = validate_fit_data(
            self,
            X,
            y,
            sample_weight,
            classification=classification,
            dtype=np.float64,
        )
        rows, task, y_fit, sw = data.stacked_rows()
        Xfit = _take(data.X, rows)
        self.task_similarity_ = self._task_similarity(data.n_tasks)
        self._kernel_params = self._resolve_kernel_params(Xfit)
        omega = task_loss_weights(self.task_weighting, task, sw, data.n_tasks)
        weighted = sample_weight is not None or not np.all(omega == 1.0)
        sw = sw * omega[task]
        if not np.all(sw > 0):
            # rows of zero weight do not change the solution; drop them (libsvm
            # drops them too, and SVC(kernel="precomputed") then mis-indexes its
            # support vectors: scikit-learn 1.9 predicts wrongly)
            keep = np.flatnonzero(sw > 0)
            rows = keep if rows is None else rows[keep]
            Xfit, task, y_fit, sw = Xfit[keep], task[keep], y_fit[keep], sw[keep]
        return data, Xfit, task, y_fit, sw, weighted

    def _fit_design(self, X, y, sample_weight, *, classification):
        """Validate, stack, and build the kernel matrix or the explicit features."""
        data, Xfit, task, y_fit, sw, weighted = self._fit_rows(
            X, y, sample_weight, classification=classification
        )
        n = Xfit.shape[0]
        self.solver_ = self._select_solver(n, Xfit.shape[1])
        self._unseen_similarity = self._shared_similarity()
        if self.solver_ == "kernel":
            self._check_memory(8.0 * n * n, f"a {n} x {n} kernel matrix")
            matrix = _multitask_gram(
                Xfit,
                Xfit,
                task,
                task,
                self.task_similarity_,
                self.kernel,
                self._kernel_params,
            )
            _add_offset_kernel(matrix, task, task, self._offset_scale())
        else:
            self._task_factor = self._factor()
            if self.solver_ == "nystroem":
                self._nystroem = _nystroem_basis(
                    data.X,
                    self.n_components,
                    self.kernel,
                    self._kernel_params,
                    self.random_state,
                )
            matrix = self._features(Xfit, task, check=True)
        return Design(matrix, Xfit, task, y_fit, sw, weighted)

    def _offset_scale(self):
        """``1 / alpha_intercepts``: weight of the offset kernel ``[s == t]``."""
        return 0.0 if np.isinf(self.alpha_intercepts) else 1.0 / self.alpha_intercepts

    def _task_similarity(self, n_tasks):
        if self.task_similarity is None:
            return task_similarity_from_mu(n_tasks, self.mu)
        return check_task_similarity(self.task_similarity, n_tasks)

    def _resolve_kernel_params(self, X):
        if callable(self.kernel):
            return {}
        gamma = self.gamma
        if gamma == "scale":
            gamma = _scale_gamma(X)
        elif gamma == "auto":
            gamma = 1.0 / X.shape[1]
        values = {"gamma": gamma, "degree": self.degree, "coef0": self.coef0}
        return {
            k: v
            for k, v in values.items()
            if k in KERNEL_PARAMS[self.kernel] and v is not None
        }

    def _select_solver(self, n, n_features=None):
        if self.solver == "linear" and self.kernel != "linear":
            raise ValueError(
                f"solver='linear' is the exact feature map of a linear base kernel; "
                f"got kernel={self.kernel!r}. Use solver='nystroem' to approximate "
                "it, or solver='kernel'."
            )
        if self.solver != "auto":
            return self.solver
        if n <= AUTO_KERNEL_MAX_ROWS:
            return "kernel"
        return "linear" if self.kernel == "linear" else "nystroem"

    def _check_memory(self, nbytes, what):
        if self.memory_limit is None or nbytes <= self.memory_limit * 2**20:
            return
        if self.solver_ == "kernel":
            fix = (
                "The kernel path costs O(n^2) memory: use solver='linear' (exact, "
                "kernel='linear') or solver='nystroem' (approximate, any kernel)"
            )
        else:
            fix = (
                "Use fewer n_components, the mu form of the task similarity "
                "(2 blocks per row instead of n_tasks), or solver='kernel' on fewer "
                "rows"
            )
        raise ValueError(
            f"solver={self.solver_!r} would build {what} "
            f"({nbytes / 2**30:.2f} GB), more than memory_limit="
            f"{self.memory_limit} MB. {fix}; or raise memory_limit."
        )

    def _factor(self):
        """``F`` with ``F F^T = B``: sparse ``[1/sqrt(mu) 1, I]`` for the mu form."""
        n_tasks = self.task_similarity_.shape[0]
        if self.task_similarity is not None:
            return task_similarity_sqrt(self.task_similarity_)
        if np.isinf(self.mu):
            return np.eye(n_tasks)
        return np.hstack(
            [np.full((n_tasks, 1), 1.0 / np.sqrt(self.mu)), np.eye(n_tasks)]
        )

    def _shared_similarity(self):
        """Similarity of an unseen task to each fitted task (``unseen_task``)."""
        B = self.task_similarity_
        n_tasks = B.shape[0]
        if self.task_similarity is None:
            return np.full(n_tasks, 1.0 / self.mu)
        if n_tasks == 1:
            return np.zeros(1)
        return (B.sum(axis=0) - np.diag(B)) / (n_tasks - 1)

    def _base_features(self, X):
        if self.solver_ == "linear":
            return X
        basis, normalization = self._nystroem
        return _base_kernel(X, basis, self.kernel, self._kernel_params) @ (
            normalization.T
        )

    def _features(self, X, task, factor=None, check=False):
        """Explicit features ``[F[t] (x) psi(x), e_t / sqrt(alpha_intercepts)]``
        (the one-hot offset block only with offsets; zero for an unseen task)."""
        factor = self._task_factor if factor is None else factor
        psi = self._base_features(X)
        if check:
            nnz = _feature_map_nnz(psi, task, factor)
            self._check_memory(
                _FEATURE_BYTES * nnz, f"explicit features with {nnz:,} non-zeros"
            )
        Phi = multitask_feature_map(psi, tasks=task, task_factor=factor)
        scale = self._offset_scale()
        if scale == 0:
            return Phi
        T = self.task_similarity_.shape[0]
        seen = task < T
        onehot = sp.csr_matrix(
            (np.full(seen.sum(), np.sqrt(scale)), (np.flatnonzero(seen), task[seen])),
            shape=(len(task), T),
        )
        return sp.hstack([Phi, onehot], format="csr")

    def _n_offset_columns(self):
        return 0 if self._offset_scale() == 0 else self.task_similarity_.shape[0]

    # -------------------------------------------------------------- predict
    def _predict_tasks(self, X):
        """Validated features and the task code of each (tiled) row to predict.

        Returns ``(Xf, rows, task)``: the design row ``i`` is ``Xf[rows[i]]`` for
        task ``task[i]`` (``rows`` None: identity). Unseen tasks get the code
        ``n_tasks_`` (the extra "shared" row of the task similarity).
        """
        check_is_fitted(self)
        Xf, task = validate_predict_data(
            self, X, dtype=np.float64, allow_unseen=self.unseen_task == "shared"
        )
        if task is None:  # shared layout: every row for every task, task by task
            n = Xf.shape[0]
            return (
                Xf,
                np.tile(np.arange(n), self.n_tasks_),
                np.repeat(np.arange(self.n_tasks_), n),
            )
        return Xf, None, np.where(task < 0, self.n_tasks_, task)

    def _extended_similarity(self):
        T = self.n_tasks_
        B = np.empty((T + 1, T + 1))
        B[:T, :T] = self.task_similarity_
        B[T, :T] = B[:T, T] = self._unseen_similarity
        B[T, T] = self._unseen_similarity.max()
        return B

    def _extended_factor(self):
        F = self._task_factor
        if self.task_similarity is None:  # mu form: the shared block only
            f_new = np.zeros(F.shape[1])
            f_new[0] = 0.0 if np.isinf(self.mu) else 1.0 / np.sqrt(self.mu)
        else:  # any solution of F f = b gives the same predictions (w in F's rows)
            f_new = np.linalg.lstsq(F, self._unseen_similarity, rcond=None)[0]
        return np.vstack([F, f_new])

    def _design_blocks(self, X, ref_X=None, ref_task=None):
        """Yield ``(slice, design block)`` over the rows to predict.

        Kernel path: ``B[t, ref_task] * k(x, ref_X)`` (``ref_*``: the training rows
        the model needs). Other paths: explicit features.
        """
        Xf, rows, task = self._predict_tasks(X)
        n = task.shape[0]
        if self.solver_ == "kernel":
            B = self._extended_similarity()
            width = 8 * max(ref_X.shape[0], 1)
        else:
            F = self._extended_factor()
            psi_width = (
                Xf.shape[1] if self.solver_ == "linear" else self._nystroem[0].shape[0]
            )
            width = _FEATURE_BYTES * psi_width * np.count_nonzero(F, axis=1).max()
        step = max(1, _BLOCK_BYTES // width)
        for start in range(0, n, step):
            sl = slice(start, min(start + step, n))
            Xb = Xf[sl] if rows is None else Xf[rows[sl]]
            if self.solver_ == "kernel" and ref_X.shape[0] == 0:
                # no support vectors (e.g. a huge tol): the decision is the
                # intercept alone
                block = np.zeros((Xb.shape[0], 0))
            elif self.solver_ == "kernel":
                block = _multitask_gram(
                    Xb,
                    ref_X,
                    task[sl],
                    ref_task,
                    B,
                    self.kernel,
                    self._kernel_params,
                )
                _add_offset_kernel(block, task[sl], ref_task, self._offset_scale())
            else:
                block = self._features(Xb, task[sl], factor=F)
            yield sl, block

    def _collect(self, X, fn, **ref):
        """Apply ``fn`` to every design block; shape the output for the layout."""
        parts = [(sl, fn(block)) for sl, block in self._design_blocks(X, **ref)]
        out = np.concatenate([p for _, p in parts], axis=0)
        if self._layout == "shared":
            out = out.reshape((self.n_tasks_, -1) + out.shape[1:])
            out = np.moveaxis(out, 0, 1)
        return out

    def _linear_coef(self, inner_coef, dual=None, ref_X=None, ref_task=None):
        """Per-task weights ``W`` (n_tasks, n_features) of a linear base kernel.

        Explicit path: ``W = F @ w.reshape(r, d)``; kernel path: ``W[t] = sum_i
        dual_i B[t, t_i] x_i``.
        """
        if self.solver_ == "kernel":
            weights = self.task_similarity_[:, ref_task] * dual
            return safe_sparse_dot(weights, ref_X, dense_output=True)
        F = self._task_factor
        coef = np.asarray(inner_coef).ravel()
        coef = coef[: coef.size - self._n_offset_columns()]
        return F @ coef.reshape(F.shape[1], -1)

    def _offsets(self, inner_coef=None, dual=None, ref_task=None):
        """Task intercept offsets ``c_t`` (zeros without offsets): ``(1 /
        alpha_intercepts) sum_{i in t} dual_i`` on the kernel path, the one-hot
        block's weights times ``alpha_intercepts^-1/2`` on the explicit paths."""
        T = self.task_similarity_.shape[0]
        scale = self._offset_scale()
        if scale == 0:
            return np.zeros(T)
        if self.solver_ == "kernel":
            return scale * np.bincount(ref_task, weights=dual, minlength=T)
        coef = np.asarray(inner_coef).ravel()
        return np.sqrt(scale) * coef[coef.size - T :]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
