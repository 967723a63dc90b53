"""Multi-task MLP classifier: shared trunk, one softmax head per task."""

import numpy as np

from .._compat import fit_context
from .._docstring import fill_doc
from ..base import MultiTaskClassifierMixin
from ._base import BaseMultiTaskMLP, _label, fit_method
from ._docs import FRAGMENTS
from ._losses import TaskLogLoss

_Y_FIT = (
    "Class labels; 2-D in the shared-design layout (NaN in a float ``y`` = missing)."
)


class MultiTaskMLPClassifier(MultiTaskClassifierMixin, BaseMultiTaskMLP):
    """Multi-task multi-layer perceptron classifier (hard parameter sharing).

    All tasks share the hidden layers of a trunk network; each task has its own head
    and its own classes: a task with ``k >= 3`` classes has a softmax over ``k``
    units, a binary task a single logistic unit (scikit-learn's binary output), a
    task with one class none. Tasks may have different class sets (e.g. one task
    ``{"a", "b"}``, another ``{0, 1, 2}``); ``task_classes_`` lists them.

    %(objective)s

    Here ``l`` is the cross-entropy of the task's softmax,
    ``l(y, z) = -log softmax_t(z)[y]``.

    Parameters
    ----------
    %(architecture_parameters)s
    %(training_parameters)s

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        Stacked and single layouts: the sorted union of the classes of all tasks
        (the columns of ``predict_proba``). Shared-design layout: one array per
        task, like ``MultiOutputClassifier``.
    task_classes_ : list of ndarray
        The classes of each task, in the order of ``tasks_``.
    %(attributes)s

    See Also
    --------
    MultiTaskMLPRegressor : The regressor, same network with one linear output per
        task.
    sklearn.neural_network.MLPClassifier : The single-task network (what this model
        is with one task, see the tests).

    %(references)s

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_classification
    >>> from skmtl.neural_network import MultiTaskMLPClassifier
    >>> X, y = make_multitask_classification(3, 60, 4, random_state=0)
    >>> clf = MultiTaskMLPClassifier((16,), task_column=0, alpha=0.1,
    ...                              learning_rate_init=0.01, max_iter=300,
    ...                              random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape  # one row per sample, one column per class
    (2, 2)
    >>> [c.tolist() for c in clf.task_classes_]
    [[0, 1], [0, 1], [0, 1]]
    >>> bool(clf.score(X, y) > 0.9)
    True
    """

    # ------------------------------------------------------------------ classes
    def _labels_by_task(self, data):
        """Observed labels and their task codes, flattened."""
        if data.layout != "shared":
            return np.asarray(data.y), data.task_codes
        T = data.n_tasks
        tasks = np.broadcast_to(np.arange(T), data.y.shape)
        if data.mask is None:
            return data.y.ravel(), tasks.ravel()
        return data.y[data.mask], tasks[data.mask]

    def _set_classes(self, labels, task, n_tasks, classes):
        if classes is None:
            union = np.unique(labels)
            code = np.searchsorted(union, labels)
            pairs = np.unique(task * len(union) + code)
            per_task = np.split(
                union[pairs % len(union)],
                np.cumsum(np.bincount(pairs // len(union), minlength=n_tasks))[:-1],
            )
        else:
            per_task = _per_task_classes(classes, n_tasks)
            union = np.unique(np.concatenate(per_task))
        self.task_classes_ = per_task
        self._union = union
        self.classes_ = per_task if self._layout == "shared" else union
        n_classes = np.array([len(c) for c in per_task])
        # union code of class j of task t, and local index of union class u in task t
        self._class_codes = np.zeros((n_tasks, n_classes.max()), dtype=np.intp)
        self._local = np.full((n_tasks, len(union)), -1, dtype=np.intp)
        for t, c in enumerate(per_task):  # a loop over tasks, not samples
            codes = np.searchsorted(union, c)
            self._class_codes[t, : len(c)] = codes
            self._local[t, codes] = np.arange(len(c))
        self._loss = TaskLogLoss(n_classes)

    def _encode_targets(self, data, first_pass, classes):
        labels, task = self._labels_by_task(data)
        if first_pass:
            self._set_classes(labels, task, data.n_tasks, classes)
        elif classes is not None:
            given = _per_task_classes(classes, data.n_tasks)
            if any(
                len(a) != len(b) or np.any(a != b)
                for a, b in zip(given, self.task_classes_)
            ):
                raise ValueError(
                    "`classes` differs from the classes fixed by the first call: "
                    f"{[c.tolist() for c in self.task_classes_][:5]}."
                )
        code = np.searchsorted(self._union, labels)
        code = np.minimum(code, len(self._union) - 1)
        local = np.where(self._union[code] == labels, self._local[task, code], -1)
        if np.any(local < 0):
            bad = np.flatnonzero(local < 0)[0]
            raise ValueError(
                f"Label {_label(labels[bad])!r} of task "
                f"{_label(self.tasks_[task[bad]])!r} is not among that task's classes "
                f"{self.task_classes_[task[bad]].tolist()}; they are fixed by the "
                "first fit (or by `classes`)."
            )
        if data.layout != "shared":
            return local
        y = np.zeros(data.y.shape, dtype=np.intp)
        if data.mask is None:
            y[...] = local.reshape(data.y.shape)
        else:
            y[data.mask] = local
        return y

    # ------------------------------------------------------------------ hooks
    def _stratify_codes(self, train):
        if train.task_codes is not None:
            return train.task_codes * self._class_codes.shape[1] + train.y
        if train.y.shape[1] == 1:
            return train.y[:, 0]
        return np.zeros(train.n_rows, dtype=np.intp)

    def _validation_score(self, entries, val):
        """Per-task accuracy on the held-out rows, averaged over tasks."""
        pred = self._loss.class_proba(entries, val.entry_tasks()).argmax(axis=1)
        right = (pred == val.y.ravel()).astype(np.float64)
        acc = val.per_task_mean(right.reshape(val.y.shape))
        return float(np.mean(acc[val.sizes > 0]))

    # ------------------------------------------------------------------ API
    fit = fit_method(_Y_FIT)

    @fill_doc(fragments=FRAGMENTS, y_fit=_Y_FIT)
    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, starting from the current weights.

        %(partial_fit)s

        Parameters
        ----------
        %(fit_parameters)s
        classes : array-like or list of array-like, default=None
            Required on the first call: the classes of every task (one array shared
            by all tasks, or one array per task in the order of the sorted task
            labels). The tasks are those of the first call's data. Later calls may
            repeat it (it must then be the same) or leave it None.

        Returns
        -------
        %(returns_self)s
        """
        if classes is None and not hasattr(self, "coefs_"):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _proba_entries(self, X):
        out, task = self._forward_output(X)
        if task is not None:
            unseen = task == self.n_tasks_
            if np.any(unseen):
                # the mean head has the classes every task shares: compute its
                # probabilities as task 0's (same classes, same output units)
                first = self.task_classes_[0]
                if any(
                    len(c) != len(first) or np.any(c != first)
                    for c in self.task_classes_
                ):
                    raise ValueError(
                        'unseen_task="shared" needs every task to have the same '
                        "classes (the mean head predicts them); the tasks have "
                        f"{[c.tolist() for c in self.task_classes_][:5]}."
                    )
                task = np.where(unseen, 0, task)
            return self._loss.class_proba(out, task), task, out.shape[0]
        n, T, width = out.shape
        entry_task = np.tile(np.arange(T), n)
        proba = self._loss.class_proba(out.reshape(n * T, width), entry_task)
        return proba.reshape(n, T, -1), None, n

    @fill_doc
    def predict_proba(self, X):
        """Class probabilities of each row under its task's softmax.

        %(X_predict_returns)s
        proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Stacked and single layouts: columns follow ``classes_`` (a class that
            a row's task does not have gets probability 0). Shared layout: one
            ``(n_samples, n_classes_t)`` array per task.
        """
        proba, task, n = self._proba_entries(X)
        k = self._loss.n_classes
        if task is None:
            per_task = [proba[:, t, : k[t]] for t in range(len(k))]
            return per_task if self._layout == "shared" else per_task[0]
        out = np.zeros((n, len(self._union)), dtype=proba.dtype)
        valid = np.arange(proba.shape[1]) < k[task][:, None]
        rows = np.broadcast_to(np.arange(n)[:, None], valid.shape)
        out[rows[valid], self._class_codes[task][valid]] = proba[valid]
        return out

    @fill_doc
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities of each row under its task's head.

        In the stacked and single layouts a class that a row's task does not have
        gets ``-inf`` (probability 0); in the shared layout each task's array has
        only that task's classes.

        %(log_proba_sections)s
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    @fill_doc
    def predict(self, X):
        """Predict each row's class with its own task's head.

        %(predict_sections)s
        """
        proba, task, n = self._proba_entries(X)
        local = proba.argmax(axis=-1)
        if task is not None:
            return self._union[self._class_codes[task, local]]
        T = local.shape[1]
        pred = self._union[self._class_codes[np.arange(T), local]]
        return pred.ravel() if self._layout == "single" else pred


def _per_task_classes(classes, n_tasks):
    """``classes`` of partial_fit as one sorted array per task."""
    nested = isinstance(classes, (list, tuple)) and all(
        np.ndim(c) == 1 for c in classes
    )
    if nested and len(classes) > 0:
        if len(classes) != n_tasks:
            raise ValueError(
                f"classes has {len(classes)} arrays for {n_tasks} tasks; give one "
                "array shared by all tasks or one per task."
            )
        per_task = [np.unique(np.asarray(c)) for c in classes]
    else:
        shared = np.unique(np.asarray(classes))
        per_task = [shared] * n_tasks
    if any(len(c) == 0 for c in per_task):
        raise ValueError("Every task needs at least one class in `classes`.")
    return per_task


fill_doc(
    MultiTaskMLPClassifier,
    FRAGMENTS,
    validation="the mean over tasks of the per-task accuracy on the held-out rows.",
)
