"""Shared-kernel multi-task SVMs (Evgeniou & Pontil 2004)."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC, SVR, LinearSVR
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions, fit_context
from .._docstring import fill_doc, register
from .._kernel._base import BaseMultiTaskKernel
from ..base import MultiTaskClassifierMixin, MultiTaskRegressorMixin
from ._linear import PairwiseLinearSVC

# liblinear needs a finite number of epochs where libsvm takes max_iter=-1
_LIBLINEAR_MAX_ITER = 10_000

_SVM_CONSTRAINTS = {
    **BaseMultiTaskKernel._parameter_constraints,
    "C": [Interval(Real, 0, None, closed="neither")],
    "tol": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, -1, None, closed="left")],
    "cache_size": [Interval(Real, 0, None, closed="neither")],
    "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
}


# the inner solver's parameters of MultiTaskSVC and MultiTaskSVR
register(
    prefix="svm",
    libsvm_params="""\
    tol : float > 0, default=1e-3
        Stopping tolerance of libsvm / liblinear.
    max_iter : int, default=-1
        Iteration limit: libsvm iterations (-1: none) on the kernel path,
        liblinear epochs on the others (-1: 10,000).
    cache_size : float, default=200
        Size of libsvm's kernel cache in MB (the kernel path's matrix is
        precomputed, so this matters little).
""",
)


class _BaseMultiTaskSVM(BaseMultiTaskKernel):
    """Fitting and predicting through the inner scikit-learn SVM."""

    def _liblinear_max_iter(self):
        return _LIBLINEAR_MAX_ITER if self.max_iter == -1 else max(self.max_iter, 1)

    def _libsvm_params(self):
        """The settings of the inner libsvm model on the precomputed Gram matrix
        (``solver_ == "kernel"``) that the classifier and the regressor share."""
        return {
            "kernel": "precomputed",
            "C": self.C,
            "tol": self.tol,
            "max_iter": self.max_iter,
            "cache_size": self.cache_size,
        }

    def _store_support(self, design):
        """Keep the training rows the kernel path needs at predict: the SVs."""
        model = self.estimator_
        support = model.support_
        self.support_ = support
        self.support_vectors_ = design.X[support]
        self.support_tasks_ = self.tasks_[design.task[support]]
        self.dual_coef_ = model.dual_coef_
        self._ref = {"ref_X": self.support_vectors_, "ref_task": design.task[support]}
        self._n_fit = design.matrix.shape[0]

    def _store_fitted(self, design, intercept):
        """The fitted attributes read off ``estimator_`` (fitted on ``design``)."""
        self.intercept_ = intercept
        self.n_iter_ = self.estimator_.n_iter_
        if self.solver_ == "kernel":
            self._store_support(design)
        self._set_linear_attributes(design, getattr(self.estimator_, "coef_", None))
        return self

    def _apply(self, X, fn):
        """``fn`` of the inner model on the design of ``X`` (kernel columns of the
        support vectors placed in an ``n_fit``-wide matrix for libsvm)."""
        if self.solver_ != "kernel":
            return self._collect(X, fn)

        def on_kernel(block):
            full = np.zeros((block.shape[0], self._n_fit))
            full[:, self.support_] = block
            return fn(full)

        return self._collect(X, on_kernel, **self._ref)

    def _set_linear_attributes(self, design, inner_coef):
        binary = not hasattr(self, "classes_") or len(self.classes_) == 2
        if binary and self.solver_ == "kernel":
            self.intercept_deviations_ = self._offsets(
                dual=self.dual_coef_[0], ref_task=self._ref["ref_task"]
            )
        elif binary and inner_coef is not None:
            self.intercept_deviations_ = self._offsets(inner_coef=inner_coef)
        linear = self.kernel == "linear" and binary
        if not linear:
            return
        if self.solver_ == "kernel":
            self.coef_ = self._linear_coef(None, self.dual_coef_[0], **self._ref)
        elif self.solver_ == "linear":
            self.coef_ = self._linear_coef(inner_coef)


@fill_doc
class MultiTaskSVC(MultiTaskClassifierMixin, _BaseMultiTaskSVM):
    """Multi-task support vector classifier with a shared kernel.

    Regularised multi-task learning (Evgeniou & Pontil 2004): task ``t`` has the
    decision function ``f_t(x) = <w_t, phi(x)> + b_0 + c_t`` with ``w_t = w_0 +
    v_t``, a part shared by all tasks and a task-specific deviation, and an
    intercept offset ``c_t``. For two classes ``y in {-1, +1}`` it solves::

        min_{w_0, v, b_0, c}  mu * ||w_0||^2 / 2 + sum_t ||v_t||^2 / 2
                              + alpha_intercepts * sum_t c_t^2 / 2
                              + C * sum_i s_i omega_{t_i} max(0, 1 - y_i f_{t_i}(x_i))

    (``s_i``: sample and class weights; ``omega_t``: ``task_weighting``; ``c = 0``
    when ``alpha_intercepts=np.inf``, the default). Its dual is the standard SVM
    with the multi-task kernel ``K((x, s), (z, t)) = B[s, t] k(x, z)``, ``B = (1/mu)
    11^T + I``; Evgeniou, Micchelli & Pontil (2005) allow any positive semi-definite
    task similarity ``B`` (``task_similarity``). The offsets are the kernel term
    ``[s == t] / alpha_intercepts`` added to it (a one-hot task feature of scale
    ``alpha_intercepts^-1/2`` in the primal, so ridge-shrunk exactly), while
    libsvm's own unpenalised intercept is ``b_0``: the principled route to
    hierarchical intercepts, since libsvm cannot leave a second intercept free. What
    a small task borrows: ``w_0`` (and ``b_0``), its ``v_t`` and ``c_t`` being
    shrunk towards 0. Several classes are handled one-vs-one as in
    scikit-learn's ``SVC``.

    Tuning: no closed-form criterion exists for the hinge loss, so search ``C``,
    ``mu`` and ``alpha_intercepts`` together: ``GridSearchCV(MultiTaskSVC(
    task_column=0), multitask_svm_grid(), cv=TaskStratifiedKFold(3,
    task_column=0))`` (:func:`skmtl.svm.multitask_svm_grid`, whose candidates
    run from one pooled function to independent tasks, and from free task
    intercepts to one; :class:`skmtl.model_selection.TaskStratifiedKFold` keeps
    every task in every fold). The defaults ``mu=1``, ``alpha_intercepts=
    np.inf`` are a fixed middle, not a tuned choice: on the real-data
    benchmarks the best ``mu`` ranged from 0.01 (School, Landmine) to 10 and
    more (Parkinsons), and ``mu=1`` with one intercept lost up to 0.07 R^2 (the
    SVR on School) against pooled + task dummies. On imbalanced tasks pass
    ``class_weight="balanced"``: on Landmine (5% positives) it raised the mean
    task AUC of a pooled linear SVM from 0.62 to 0.74.

    The kernel path is exactly ``sklearn.svm.SVC(kernel="precomputed")`` on that
    kernel. It costs ``O(n^2)`` memory in the number ``n`` of training rows;
    ``solver="linear"``/``"nystroem"`` scale to ``10^5`` rows and more.

    Parameters
    ----------
    C : float > 0, default=1.0
        Inverse regularisation strength, as in ``SVC``.
    %(kernel.kernel)s
        Default "rbf".
    %(kernel.kernel_params)s
    %(kernel.task_params)s
    %(kernel.offset_params)s
        Default ``np.inf`` (one intercept, the previous model). The offsets enter
        libsvm only through the kernel, so libsvm's own unpenalised intercept
        stays ``b_0``; liblinear (explicit paths) penalises ``b_0`` as described
        under ``intercept_scaling`` and the offsets exactly as here.
    class_weight : dict or "balanced", default=None
        Multiply ``C`` by ``class_weight[label]`` for the rows of a class, as in
        ``SVC`` ("balanced": ``n_samples / (n_classes * count)`` over all rows).
    probability : bool, default=False
        Enable ``predict_proba``: Platt scaling fitted on 5-fold out-of-fold
        decision values (``CalibratedClassifierCV(method="sigmoid",
        ensemble=False)``, scikit-learn's replacement for
        ``SVC(probability=True)``); multi-class probabilities are one-vs-rest
        sigmoids, normalised. Costs 5 extra fits; ``predict`` may disagree with
        the argmax of ``predict_proba``.
    %(svm.libsvm_params)s
    decision_function_shape : {"ovr", "ovo"}, default="ovr"
        Shape of ``decision_function`` with more than two classes, as in ``SVC``.
    intercept_scaling : float > 0, default=10.0
        Explicit paths only: liblinear fits the intercept as the weight of a
        constant feature of this value, which penalises it by
        ``(b / intercept_scaling)^2 / 2``; the kernel path (libsvm) leaves it
        unpenalised. The two paths solve the same problem, and agree up to the
        solvers' tolerance, when the optimal intercept is 0; otherwise the gap
        shrinks like ``1 / intercept_scaling^2`` (measured: decision values
        within 15% of their range at 1, 0.4% at 10, 0.004% at 100) while
        liblinear needs more epochs (about 5 times more at 10 than at 1).
    %(kernel.solver_params)s
    %(kernel.common_params)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels over all tasks (one model for all tasks, so also in the
        shared layout).
    solver_ : {"kernel", "linear", "nystroem"}
        The path ``fit`` used (``solver="auto"`` resolved).
    task_similarity_ : ndarray of shape (n_tasks, n_tasks)
        The task similarity ``B`` used.
    estimator_ : estimator
        The fitted scikit-learn model: ``SVC(kernel="precomputed")`` on the
        multi-task kernel, or liblinear SVMs (one per pair of classes) on the
        explicit features.
    intercept_ : ndarray
        Intercept(s) of ``estimator_``.
    coef_ : ndarray of shape (n_tasks, n_features)
        Two classes and ``kernel="linear"`` only (kernel and linear paths): the
        per-task weights ``w_t``, so that ``decision_function`` is ``x @
        coef_[t] + intercept_ + intercept_deviations_[t]``.
    intercept_deviations_ : ndarray of shape (n_tasks,)
        Two classes (kernel and linear paths): the offsets ``c_t`` (zeros with
        ``alpha_intercepts=np.inf``); ``intercept_`` is ``b_0``, the intercept
        of an unseen task.
    support_, support_vectors_, support_tasks_, dual_coef_ : ndarray
        Kernel path only: indices of the support vectors in the stacked training
        rows (the shared layout's rows tiled task by task), their features (task
        column excluded), their task labels, and their dual coefficients.
    n_iter_ : int or ndarray
        Iterations of the inner solver.
    %(layout_attributes)s

    See Also
    --------
    MultiTaskSVR : The regression counterpart.
    skmtl.kernel_ridge.MultiTaskKernelRidge : The same kernel with a squared loss.
    skmtl.kernels.multitask_kernel : The kernel itself.

    References
    ----------
    T. Evgeniou and M. Pontil. Regularized multi-task learning. KDD 2004.
    T. Evgeniou, C. A. Micchelli and M. Pontil. Learning multiple tasks with
    kernel methods. JMLR 6, 2005.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.svm import MultiTaskSVC
    >>> X, y = make_multitask_classification(3, 40, 5, structure="mean", random_state=0)
    >>> clf = MultiTaskSVC(kernel="linear", mu=0.5, task_column=0).fit(X, y)
    >>> clf.solver_, clf.coef_.shape
    ('kernel', (3, 5))
    >>> clf.predict(X[:4]).tolist(), round(clf.score(X, y), 2)
    ([0, 1, 0, 1], 0.99)
    """

    _parameter_constraints = {
        **_SVM_CONSTRAINTS,
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "probability": ["boolean"],
        "decision_function_shape": [StrOptions({"ovr", "ovo"})],
    }

    def __init__(
        self,
        C=1.0,
        *,
        kernel="rbf",
        degree=3,
        gamma="scale",
        coef0=0.0,
        mu=1.0,
        task_similarity=None,
        alpha_intercepts=np.inf,
        task_weighting="size",
        class_weight=None,
        probability=False,
        tol=1e-3,
        max_iter=-1,
        cache_size=200,
        decision_function_shape="ovr",
        intercept_scaling=10.0,
        solver="auto",
        n_components=100,
        memory_limit=2048,
        unseen_task="error",
        task_column=None,
        random_state=None,
    ):
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.mu = mu
        self.task_similarity = task_similarity
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.class_weight = class_weight
        self.probability = probability
        self.tol = tol
        self.max_iter = max_iter
        self.cache_size = cache_size
        self.decision_function_shape = decision_function_shape
        self.intercept_scaling = intercept_scaling
        self.solver = solver
        self.n_components = n_components
        self.memory_limit = memory_limit
        self.unseen_task = unseen_task
        self.task_column = task_column
        self.random_state = random_state

    def _inner(self, classes, y):
        if self.solver_ == "kernel":
            return SVC(
                **self._libsvm_params(),
                class_weight=self.class_weight,
                decision_function_shape="ovr",
            )
        weights = None
        if self.class_weight is not None:
            weights = dict(
                zip(
                    classes,
                    compute_class_weight(self.class_weight, classes=classes, y=y),
                )
            )
        return PairwiseLinearSVC(
            C=self.C,
            tol=self.tol,
            max_iter=self._liblinear_max_iter(),
            intercept_scaling=self.intercept_scaling,
            class_weight=weights,
            random_state=self.random_state,
        )

    @fill_doc(
        y_fit="Class labels; 2-D in the shared layout (NaN = missing).",
        sample_weight_fit="Per-row multiplier of ``C`` (in the shared layout, of "
        "each of the\nrow's tasks).",
    )
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the multi-task SVM.

        %(fit_sections)s
        """
        design = self._fit_design(X, y, sample_weight, classification=True)
        classes = np.unique(design.y)
        if len(classes) < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got 1 class "
                f"({classes[0]!r}) over all tasks."
            )
        self.classes_ = classes
        inner = self._inner(classes, design.y)
        sw = design.sample_weight if design.weighted else None
        if self.probability:
            folds = min(5, int(np.bincount(np.searchsorted(classes, design.y)).min()))
            if folds < 2:
                raise ValueError(
                    "probability=True calibrates on cross-validated decision "
                    "values and needs at least 2 rows of every class."
                )
            self.calibrated_ = CalibratedClassifierCV(
                inner,
                method="sigmoid",
                cv=StratifiedKFold(folds),
                ensemble=False,
            ).fit(design.matrix, design.y, sample_weight=sw)
            self.estimator_ = self.calibrated_.calibrated_classifiers_[0].estimator
        else:
            self.estimator_ = inner.fit(design.matrix, design.y, sample_weight=sw)
        return self._store_fitted(design, self.estimator_.intercept_)

    @fill_doc
    def decision_function(self, X):
        """Signed distance to the decision boundary of each row's task.

        %(X_predict_returns)s
        dec : ndarray
            Stacked layout: ``(n_samples,)`` for two classes (positive means
            ``classes_[1]``), else ``(n_samples, n_classes)`` ("ovr") or
            ``(n_samples, n_classes * (n_classes - 1) / 2)`` ("ovo"). Shared
            layout: a task axis after the sample axis.
        """
        check_is_fitted(self)
        model = self.estimator_
        if self.decision_function_shape != model.decision_function_shape:
            model = copy.copy(model)
            model.decision_function_shape = self.decision_function_shape
        return self._apply(X, model.decision_function)

    @fill_doc
    def predict(self, X):
        """Class of each row by its task's classifier.

        %(predict_sections)s
        """
        check_is_fitted(self)
        return self._apply(X, self.estimator_.predict)

    @available_if(lambda self: self.probability)
    @fill_doc
    def predict_proba(self, X):
        """Calibrated class probabilities (``probability=True``).

        %(X_predict_returns)s
        proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Columns follow ``classes_``. Shared layout: a list with one
            ``(n_samples, n_classes)`` array per task.
        """
        check_is_fitted(self)
        proba = self._apply(X, self.calibrated_.predict_proba)
        if self._layout == "shared":
            return [proba[:, t] for t in range(self.n_tasks_)]
        return proba

    @available_if(lambda self: self.probability)
    @fill_doc
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        %(log_proba_sections)s
        """
        proba = self.predict_proba(X)
        if isinstance(proba, list):
            return [np.log(p) for p in proba]
        return np.log(proba)


@fill_doc
class MultiTaskSVR(MultiTaskRegressorMixin, _BaseMultiTaskSVM):
    """Multi-task epsilon-support vector regression with a shared kernel.

    Task ``t`` predicts ``f_t(x) = <w_t, phi(x)> + b_0 + c_t`` with ``w_t = w_0 + v_t``
    (Evgeniou & Pontil 2004), fitted by::

        min_{w_0, v, b_0, c}  mu * ||w_0||^2 / 2 + sum_t ||v_t||^2 / 2
                              + alpha_intercepts * sum_t c_t^2 / 2
                              + C * sum_i s_i * max(0, |y_i - f_{t_i}(x_i)| - epsilon)

    (``s_i``: sample weights times ``task_weighting``'s ``omega_t``), whose dual is
    ``SVR`` with the multi-task kernel ``K((x, s), (z, t)) = B[s, t] k(x, z)``,
    ``B = (1/mu) 11^T + I`` or any positive semi-definite ``task_similarity``.
    With a finite ``alpha_intercepts`` task ``t`` adds an offset ``c_t`` to the
    shared intercept ``b_0``, penalised by ``alpha_intercepts * sum_t c_t^2 / 2``:
    the kernel term ``[s == t] / alpha_intercepts`` (see ``MultiTaskSVC``), with
    libsvm's unpenalised intercept as ``b_0``.

    Tuning: ``GridSearchCV`` over :func:`skmtl.svm.multitask_svm_grid` (``C``,
    ``mu`` from near pooled to independent, ``alpha_intercepts`` from nearly
    free task intercepts to one) with
    :class:`skmtl.model_selection.TaskStratifiedKFold` folds; the defaults
    ``mu=1``, ``alpha_intercepts=np.inf`` are a fixed middle, not a tuned
    choice (see :class:`MultiTaskSVC`; Computer Survey needed shrunken task
    intercepts, ``alpha_intercepts`` about 0.1: +0.17 R^2 over one intercept).
    ``epsilon`` is in the units of ``y``: standardise the target (e.g.
    ``TransformedTargetRegressor(..., transformer=StandardScaler())``) so that
    the default 0.1 is a tenth of its standard deviation.

    The kernel path is exactly ``sklearn.svm.SVR(kernel="precomputed")`` on that
    kernel, with ``O(n^2)`` memory; ``solver="linear"``/``"nystroem"`` scale to
    ``10^5`` rows and more (liblinear's ``LinearSVR`` on explicit features).

    Parameters
    ----------
    C : float > 0, default=1.0
        Inverse regularisation strength, as in ``SVR``.
    epsilon : float >= 0, default=0.1
        Width of the insensitive tube.
    %(kernel.kernel)s
        Default "rbf".
    %(kernel.kernel_params)s
    %(kernel.task_params)s
    %(kernel.offset_params)s
        Default ``np.inf`` (one intercept, the previous model). libsvm's own
        unpenalised intercept stays ``b_0``.
    %(svm.libsvm_params)s
    intercept_scaling : float > 0, default=10.0
        Explicit paths only: liblinear fits the intercept as the weight of a
        constant feature of this value, which penalises it by ``(b /
        intercept_scaling)^2 / 2`` (the kernel path leaves it unpenalised; the two
        paths agree up to the solvers' tolerance when the optimal ``b`` is 0).
    %(kernel.solver_params)s
    %(kernel.common_params)s

    Attributes
    ----------
    solver_ : {"kernel", "linear", "nystroem"}
    task_similarity_ : ndarray of shape (n_tasks, n_tasks)
    estimator_ : estimator
        ``SVR(kernel="precomputed")`` (kernel path) or ``LinearSVR``.
    intercept_ : ndarray of shape (1,)
    coef_ : ndarray of shape (n_tasks, n_features)
        ``kernel="linear"`` only (kernel and linear paths): per-task weights.
    intercept_deviations_ : ndarray of shape (n_tasks,)
        The offsets ``c_t`` (zeros with ``alpha_intercepts=np.inf``; kernel and
        linear paths); ``intercept_`` is ``b_0``.
    support_, support_vectors_, support_tasks_, dual_coef_ : ndarray
        Kernel path only (see ``MultiTaskSVC``).
    n_iter_ : int
    %(layout_attributes)s

    See Also
    --------
    MultiTaskSVC : The classification counterpart.
    skmtl.kernel_ridge.MultiTaskKernelRidge : Squared loss, closed form.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.svm import MultiTaskSVR
    >>> X, Y = make_multitask_regression(n_tasks=3, n_samples=30, n_features=4,
    ...     structure="mean", layout="shared", random_state=0)
    >>> reg = MultiTaskSVR(kernel="linear", C=10.0).fit(X, Y)  # a column of Y a task
    >>> reg.predict(X[:2]).shape, round(reg.score(X, Y), 2)
    ((2, 3), 1.0)
    """

    _parameter_constraints = {
        **_SVM_CONSTRAINTS,
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        C=1.0,
        *,
        epsilon=0.1,
        kernel="rbf",
        degree=3,
        gamma="scale",
        coef0=0.0,
        mu=1.0,
        task_similarity=None,
        alpha_intercepts=np.inf,
        task_weighting="size",
        tol=1e-3,
        max_iter=-1,
        cache_size=200,
        intercept_scaling=10.0,
        solver="auto",
        n_components=100,
        memory_limit=2048,
        unseen_task="error",
        task_column=None,
        random_state=None,
    ):
        self.C = C
        self.epsilon = epsilon
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.mu = mu
        self.task_similarity = task_similarity
        self.alpha_intercepts = alpha_intercepts
        self.task_weighting = task_weighting
        self.tol = tol
        self.max_iter = max_iter
        self.cache_size = cache_size
        self.intercept_scaling = intercept_scaling
        self.solver = solver
        self.n_components = n_components
        self.memory_limit = memory_limit
        self.unseen_task = unseen_task
        self.task_column = task_column
        self.random_state = random_state

    @fill_doc(sample_weight_fit="Per-row multiplier of ``C``.")
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the multi-task SVR.

        %(fit_sections)s
        """
        design = self._fit_design(X, y, sample_weight, classification=False)
        sw = design.sample_weight if design.weighted else None
        if self.solver_ == "kernel":
            inner = SVR(**self._libsvm_params(), epsilon=self.epsilon)
        else:
            inner = LinearSVR(
                loss="epsilon_insensitive",
                dual=True,
                C=self.C,
                epsilon=self.epsilon,
                tol=self.tol,
                max_iter=self._liblinear_max_iter(),
                intercept_scaling=self.intercept_scaling,
                random_state=self.random_state,
            )
        self.estimator_ = inner.fit(design.matrix, design.y, sample_weight=sw)
        return self._store_fitted(design, np.atleast_1d(self.estimator_.intercept_))

    @fill_doc
    def predict(self, X):
        """Prediction of each row by its task's function.

        %(predict_sections)s
        """
        check_is_fitted(self)
        return self._apply(X, self.estimator_.predict)
