"""The training loop shared by the multi-task MLP regressor and classifier."""

import sys
import warnings
from abc import ABC, abstractmethod
from itertools import pairwise
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state, gen_batches, shuffle
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, Options, StrOptions, fit_context
from .._data import validate_fit_data, validate_predict_data
from .._docstring import fill_doc
from ..base import MultiTaskMixin
from ..model_selection import _rank_within_task
from ._docs import FRAGMENTS
from ._network import Batch, MultiTaskNetwork, SharedHead
from ._optimizers import AdamOptimizer, SGDOptimizer
from ._weighting import SCHEMES, check_weights, dwa_weights, static_weights

_SHOWN_TASKS = 10
# defaults of the shrinkage of the output layer towards the shared one (see _docs.py)
_DEFAULT_ALPHA_HEADS = 1.0
_DEFAULT_ALPHA_INTERCEPTS = 1.0


class TrainingSet:
    """Rows, targets and loss weights of a training (or validation) set.

    ``y`` and ``entry_weight`` are ``(n_rows,)`` with a task code per row in
    ``task_codes`` (stacked layout) or ``(n_rows, n_tasks)`` with
    ``task_codes=None`` (dense: shared / single layouts); ``entry_weight`` is the
    row's sample weight, 0 on a missing target.
    ``beta = entry_weight / S_t`` makes each task's weights sum to one.
    """

    def __init__(self, X, y, task_codes, entry_weight, n_tasks):
        self.X, self.y, self.task_codes, self.n_tasks = X, y, task_codes, n_tasks
        self.entry_weight = entry_weight
        dense = task_codes is None
        if dense:
            self.sizes = entry_weight.sum(axis=0, dtype=np.float64)
            self.row_weight = entry_weight.sum(axis=1, dtype=np.float64)
        else:
            self.sizes = np.bincount(
                task_codes, weights=entry_weight, minlength=n_tasks
            )
            self.row_weight = entry_weight.astype(np.float64)
        safe = np.where(self.sizes > 0, self.sizes, 1.0)
        self.beta = entry_weight / (safe if dense else safe[task_codes])
        self.total = float(self.row_weight.sum())
        self._mark = None if dense else np.full(n_tasks, -1, dtype=np.intp)

    @property
    def n_rows(self):
        return self.X.shape[0]

    def batch(self, idx):
        """The :class:`Batch` of rows ``idx`` (None if they carry no weight)."""
        total = float(self.row_weight[idx].sum())
        if total <= 0:
            return None
        codes = None if self.task_codes is None else self.task_codes[idx]
        weight = (self.total / total) * self.beta[idx].ravel()
        return Batch(
            self.X[idx],
            codes,
            self.y[idx].ravel(),
            weight,
            total,
            self.n_tasks,
            self._mark,
        )

    def subset(self, rows):
        codes = None if self.task_codes is None else self.task_codes[rows]
        return TrainingSet(
            self.X[rows], self.y[rows], codes, self.entry_weight[rows], self.n_tasks
        )

    def per_task_mean(self, values):
        """Weighted mean of per-entry ``values`` (shaped like ``y``) in each task."""
        if self.task_codes is None:
            return (values * self.beta).sum(axis=0)
        return np.bincount(
            self.task_codes, weights=self.beta * values, minlength=self.n_tasks
        )

    def entry_tasks(self):
        if self.task_codes is None:
            return np.broadcast_to(np.arange(self.n_tasks), self.y.shape).ravel()
        return self.task_codes


def _layer_sizes(value, name):
    sizes = list(value) if hasattr(value, "__iter__") else [value]
    if not all(isinstance(s, Integral) and s > 0 for s in sizes):
        raise ValueError(f"{name} must be positive integers; got {value!r}.")
    return [int(s) for s in sizes]


def _label(v):
    return v.item() if hasattr(v, "item") else v


def fit_method(y_fit):
    """The ``fit`` of a network whose ``y`` the docstring describes as ``y_fit``.

    One body for both estimators; each gets its own function, so that its
    docstring says what its targets are.
    """

    @fill_doc(fragments=FRAGMENTS, y_fit=y_fit)
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network.

        %(fit_sections)s
        """
        return self._fit(X, y, sample_weight, incremental=False)

    return fit


class BaseMultiTaskMLP(MultiTaskMixin, BaseEstimator, ABC):
    """Shared trunk + one head per task, trained by mini-batch SGD or Adam."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "head_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "task_column": [Integral, str, None],
        "task_weighting": [StrOptions(set(SCHEMES)), "array-like"],
        "dwa_temperature": [Interval(Real, 0, None, closed="neither")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "alpha_heads": [Interval(Real, 0, np.inf, closed="both")],
        "alpha_intercepts": [Interval(Real, 0, np.inf, closed="both")],
        "unseen_task": [StrOptions({"error", "shared"})],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        head_layer_sizes=(),
        task_column=None,
        task_weighting="equal",
        dwa_temperature=2.0,
        activation="relu",
        solver="adam",
        alpha=0.0001,
        alpha_heads=_DEFAULT_ALPHA_HEADS,
        alpha_intercepts=_DEFAULT_ALPHA_INTERCEPTS,
        unseen_task="error",
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.head_layer_sizes = head_layer_sizes
        self.task_column = task_column
        self.task_weighting = task_weighting
        self.dwa_temperature = dwa_temperature
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.alpha_heads = alpha_heads
        self.alpha_intercepts = alpha_intercepts
        self.unseen_task = unseen_task
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _encode_targets(self, data, first_pass, classes):
        """Targets as the network sees them (shaped like ``data.y``, or ``(n, 1)`` in
        the single layout); sets ``self._loss`` on the first pass."""

    @abstractmethod
    def _stratify_codes(self, train):
        """Per-row codes the early-stopping split is stratified on."""

    @abstractmethod
    def _validation_score(self, entries, val):
        """Score of the output entries on a validation set (higher is better)."""

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        trunk = _layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        heads = _layer_sizes(self.head_layer_sizes, "head_layer_sizes")
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        data = validate_fit_data(
            self,
            X,
            y,
            sample_weight,
            classification=is_classifier(self),
            reset=first_pass,
            warm_start=self.warm_start and not incremental,
        )
        train = self._training_set(
            data, self._encode_targets(data, first_pass, classes)
        )
        weighting = self.task_weighting
        if not isinstance(weighting, str):
            weighting = check_weights(weighting, self.n_tasks_)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(data.n_features, trunk, heads, train.X.dtype)
        else:
            self._check_architecture(data.n_features, trunk, heads)
        self._freeze_offsets()
        sizes = np.asarray(train.sizes, dtype=np.float64)
        # training sizes behind the mean head (unseen_task): summed over the calls
        # of partial_fit, those of the last call of fit
        keep = incremental and not first_pass
        self._task_sizes = self._task_sizes + sizes if keep else sizes
        self._uncertainty = isinstance(weighting, str) and weighting == "uncertainty"
        if self._uncertainty and self.task_log_variances_ is None:
            self.task_log_variances_ = np.zeros(self.n_tasks_, train.X.dtype)
        self._fit_stochastic(train, weighting, incremental)
        params = self.coefs_ + self.intercepts_
        if not all(np.isfinite(p).all() for p in params):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed, or the steps "
                "are too long (learning_rate_init, and with solver='sgd' "
                "learning_rate_init times alpha, too large)."
            )
        return self

    def _training_set(self, data, y):
        sw = data.sample_weight
        X = data.X.tocsr() if sp.issparse(data.X) else data.X  # row batches
        if data.layout == "stacked":
            return TrainingSet(X, y, data.task_codes, sw, data.n_tasks)
        y = y.reshape(data.n_samples, -1)
        weight = np.repeat(sw[:, None], y.shape[1], axis=1)
        if data.mask is not None:
            weight = weight * data.mask
        return TrainingSet(X, y, None, weight, data.n_tasks)

    def _initialize(self, n_features, trunk, heads, dtype):
        rs = self._random_state
        factor = 2.0 if self.activation == "logistic" else 6.0
        n_tasks, width = self.n_tasks_, self._loss.width

        def draw(fan_in, fan_out, lead=()):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = rs.uniform(-bound, bound, lead + (fan_in, fan_out))
            intercept = rs.uniform(-bound, bound, lead + (fan_out,))
            return coef.astype(dtype, copy=False), intercept.astype(dtype, copy=False)

        units = [n_features] + trunk
        layers = [draw(a, b) for a, b in pairwise(units)]
        layers += [
            draw(a, b, (n_tasks,)) for a, b in pairwise(units[-1:] + heads + [width])
        ]
        self.coefs_ = [c for c, _ in layers]
        self.intercepts_ = [b for _, b in layers]
        unused = np.arange(width) >= self._loss.n_units[:, None]
        self.coefs_[-1][np.broadcast_to(unused[:, None, :], self.coefs_[-1].shape)] = 0
        self.intercepts_[-1][unused] = 0
        # shared output layer: zero (no random draw, so the free-head network starts
        # exactly where scikit-learn's does); with offsets frozen at 0 (strength inf)
        # it takes the first task's random draw instead
        self.coef_shared_ = np.zeros(self.coefs_[-1].shape[1:], dtype)
        self.intercept_shared_ = np.zeros(width, dtype)
        if n_tasks > 1 and np.isinf(self.alpha_heads):
            self.coef_shared_[...] = self.coefs_[-1][0]
            self.coefs_[-1][...] = 0
        self._n_trunk = len(trunk)
        self.n_layers_ = len(self.coefs_) + 1
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._task_loss_history = []
        self._task_weight_history = []
        self.task_log_variances_ = None
        self._init_stopping_state()

    def _init_stopping_state(self):
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _check_architecture(self, n_features, trunk, heads):
        fitted = [c.shape[-1] for c in self.coefs_[:-1]]
        if fitted != trunk + heads or self._n_trunk != len(trunk):
            raise ValueError(
                f"warm_start/partial_fit needs the fitted architecture (trunk "
                f"{fitted[: self._n_trunk]}, heads {fitted[self._n_trunk :]}); got "
                f"hidden_layer_sizes={trunk}, head_layer_sizes={heads}."
            )
        if self.early_stopping != (self.validation_scores_ is not None):
            self._init_stopping_state()

    def _freeze_offsets(self):
        """With a strength of ``np.inf``, move any offset into the shared part (a
        warm start from a fit with a finite strength) and keep the offsets at 0."""
        if self.n_tasks_ == 1:
            return
        for strength, offsets, shared in (
            (self.alpha_heads, self.coefs_[-1], self.coef_shared_),
            (self.alpha_intercepts, self.intercepts_[-1], self.intercept_shared_),
        ):
            if np.isinf(strength) and np.any(offsets != 0):
                shared += offsets.mean(axis=0)
                offsets[...] = 0

    def _shared_head(self):
        """The :class:`SharedHead` of the fitted network (None: free heads, the
        default with one task, where there is nothing to share)."""
        if self.n_tasks_ == 1 or (self.alpha_heads == 0 and self.alpha_intercepts == 0):
            return None
        return SharedHead(
            self.coef_shared_,
            self.intercept_shared_,
            self.alpha_heads,
            self.alpha_intercepts,
        )

    def _network(self):
        return MultiTaskNetwork(
            self.coefs_,
            self.intercepts_,
            self._n_trunk,
            self.activation,
            self._loss,
            self._shared_head(),
        )

    def _params(self):
        params = self.coefs_ + self.intercepts_
        if self._shared_head() is not None:
            params = params + [self.coef_shared_, self.intercept_shared_]
        return params + [self.task_log_variances_] if self._uncertainty else params

    def _make_optimizer(self, params):
        if self.solver == "sgd":
            return SGDOptimizer(
                params,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return AdamOptimizer(
            params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
        )

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going "
                "to be clipped"
            )
        return int(np.clip(self.batch_size, 1, n))

    def _fit_stochastic(self, train, weighting, incremental):
        dwa = isinstance(weighting, str) and weighting == "dwa"
        params = self._params()
        optimizer = getattr(self, "_optimizer", None)
        if not incremental or optimizer is None or _n_state(optimizer) != len(params):
            self._optimizer = self._make_optimizer(params)
        val = None
        if self.early_stopping:
            train, val = self._split_validation(train)
        n = train.n_rows
        batch_size = self._batch_size(n)
        sample_idx = np.arange(n)
        present = train.sizes > 0
        lam = static_weights(weighting, train.sizes)
        log_vars = self.task_log_variances_ if self._uncertainty else None
        net = self._network()
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = shuffle(sample_idx, random_state=self._random_state)
                if dwa:
                    lam = dwa_weights(
                        self._task_loss_history, train.sizes, self.dwa_temperature
                    )
                epoch_loss, task_loss = 0.0, np.zeros(self.n_tasks_)
                for batch_slice in gen_batches(n, batch_size):
                    idx = sample_idx[batch_slice] if self.shuffle else batch_slice
                    batch = train.batch(idx)
                    if batch is None:
                        continue
                    value, grads, rows, batch_task_loss = net.objective(
                        batch, self.alpha, lam=lam, log_vars=log_vars, present=present
                    )
                    share = batch.total / train.total
                    epoch_loss += value * share
                    task_loss += batch_task_loss * share
                    self._optimizer.update_params(params, grads, rows)
                self._end_epoch(epoch_loss, task_loss, present, lam, log_vars, n)
                self._update_no_improvement_count(val, net)
                self._optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if self._optimizer.trigger_stopping(
                        self._stall_message(), self.verbose
                    ):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if val is not None:
            for param, best in zip(params, self._best_params):
                param[...] = best
        self.task_loss_curves_ = np.array(self._task_loss_history).reshape(
            -1, self.n_tasks_
        )
        self.task_weights_ = np.array(self._task_weight_history).reshape(
            -1, self.n_tasks_
        )

    def _end_epoch(self, epoch_loss, task_loss, present, lam, log_vars, n):
        self.n_iter_ += 1
        self.t_ += n
        self.loss_ = epoch_loss
        self.loss_curve_.append(epoch_loss)
        self._task_loss_history.append(np.where(present, task_loss, np.nan))
        if log_vars is not None:
            lam = np.where(present, np.exp(-log_vars.astype(np.float64)), 0.0)
            lam /= present.sum()
        self._task_weight_history.append(np.asarray(lam, dtype=np.float64))
        if self.verbose:
            self._print_epoch(self._task_loss_history[-1])

    def _print_epoch(self, task_loss):
        shown = ", ".join(
            f"{_label(t)}: {v:.6f}"
            for t, v in zip(self.tasks_[:_SHOWN_TASKS], task_loss[:_SHOWN_TASKS])
        )
        more = (
            f", ... ({self.n_tasks_ - _SHOWN_TASKS} more)"
            if self.n_tasks_ > _SHOWN_TASKS
            else ""
        )
        print(
            f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}; task losses: "
            f"{shown}{more}",
            file=sys.stderr,
        )

    def _stall_message(self):
        what = "Validation score" if self.early_stopping else "Training loss"
        return (
            f"{what} did not improve more than tol={self.tol:f} for "
            f"{self.n_iter_no_change} consecutive epochs."
        )

    def _update_no_improvement_count(self, val, net):
        if val is None:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]
            return
        out = net.forward(val.X, val.task_codes)
        score = self._validation_score(net.output_entries(out), val)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}", file=sys.stderr)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_params = [p.copy() for p in self._params()]

    def _split_validation(self, train):
        """Hold out ``validation_fraction`` of the rows of every task (and class)."""
        codes = self._stratify_codes(train)
        _, codes = np.unique(codes, return_inverse=True)
        rank, counts = _rank_within_task(codes, self._random_state)
        n_val = np.where(
            counts >= 2,
            np.minimum(np.ceil(self.validation_fraction * counts), counts - 1),
            0,
        )
        is_val = rank < n_val[codes]
        if is_val.sum() < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or "
                "the size of your dataset."
            )
        fit, val = train.subset(~is_val), train.subset(is_val)
        self._best_params = [p.copy() for p in self._params()]
        self._val_reference = self._validation_reference(fit)
        return fit, val

    def _validation_reference(self, fit):
        return None

    # ------------------------------------------------------------------ predict
    def _forward_output(self, X):
        """Output pre-activations for ``X`` and the task codes (None: dense).

        With ``unseen_task="shared"``, rows of a task not seen in ``fit`` get the
        code ``n_tasks_`` and go through the mean head (:meth:`_mean_head_network`).
        """
        check_is_fitted(self)
        Xf, task = validate_predict_data(
            self, X, allow_unseen=self.unseen_task == "shared"
        )
        task = task if self._layout == "stacked" else None
        if task is not None and np.any(task < 0):
            task = np.where(task < 0, self.n_tasks_, task)
            return self._mean_head_network().forward(Xf, task)[-1], task
        out = self._network().forward(Xf, task)[-1]
        return out, task

    def _mean_head_weights(self):
        """Task-size weights of the mean head that predicts unseen tasks.

        Returns
        -------
        weights : ndarray of shape (n_tasks,)
            ``n_t / sum_s n_s``: each task's (sample-weighted) number of training
            targets over all ``fit`` / ``partial_fit`` calls, normalised.
        """
        return self._task_sizes / self._task_sizes.sum()

    def _mean_head_network(self):
        """The network with one more head: every head layer's weights and biases
        averaged over the tasks with the weights :meth:`_mean_head_weights` (the
        shared output part, if any, is added to it as to every head)."""
        pi = self._mean_head_weights()
        n = self._n_trunk

        def extend(params):
            return params[:n] + [
                np.concatenate([p, np.tensordot(pi, p, axes=1)[None]]).astype(
                    p.dtype, copy=False
                )
                for p in params[n:]
            ]

        return MultiTaskNetwork(
            extend(self.coefs_),
            extend(self.intercepts_),
            n,
            self.activation,
            self._loss,
            self._shared_head(),
        )


def _n_state(optimizer):
    state = getattr(optimizer, "ms", None) or getattr(optimizer, "velocities", [])
    return len(state)
