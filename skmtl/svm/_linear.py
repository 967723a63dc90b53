"""liblinear SVMs on explicit features, solving the problems libsvm's SVC/SVR solve.

The explicit paths of ``MultiTaskSVC``/``MultiTaskSVR`` fit these on
``phi(x, t) = F[t] (x) psi(x)``. To agree with the kernel path (scikit-learn's
``SVC``/``SVR`` on the precomputed multi-task kernel) they use the same loss (hinge,
epsilon-insensitive) and, for several classes, libsvm's one-vs-one scheme with its
sign convention and voting. The one difference liblinear imposes: the intercept is
the weight of a constant feature ``intercept_scaling`` and is therefore penalised by
``(b / intercept_scaling)^2 / 2``.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import LinearSVC

from .._compat import ovr_decision_function


class PairwiseLinearSVC(ClassifierMixin, BaseEstimator):
    """Hinge-loss linear SVMs, one per pair of classes (libsvm's one-vs-one).

    ``class_weight`` is a dict ``{label: weight}`` over all classes (computed by the
    caller over the whole training set, as ``SVC`` does); the binary problem of
    classes ``(i, j)`` gives its rows ``C * weight * sample_weight``.
    """

    def __init__(
        self,
        C=1.0,
        tol=1e-3,
        max_iter=1000,
        intercept_scaling=1.0,
        class_weight=None,
        decision_function_shape="ovr",
        random_state=None,
    ):
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.decision_function_shape = decision_function_shape
        self.random_state = random_state

    def _binary(self, positive, negative):
        cw = self.class_weight or {}
        return LinearSVC(
            loss="hinge",
            dual=True,
            C=self.C,
            tol=self.tol,
            max_iter=self.max_iter,
            intercept_scaling=self.intercept_scaling,
            class_weight={1: cw.get(positive, 1.0), -1: cw.get(negative, 1.0)},
            random_state=self.random_state,
        )

    def fit(self, X, y, sample_weight=None):
        self.classes_, code = np.unique(y, return_inverse=True)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got 1 class."
            )
        sw = np.ones(len(code)) if sample_weight is None else sample_weight
        c = self.classes_
        if k == 2:  # sklearn's binary convention: positive decision -> classes_[1]
            z = np.where(code == 1, 1, -1)
            self.estimators_ = [self._binary(c[1], c[0]).fit(X, z, sw)]
        else:  # libsvm: the pair (i, j) decides for i when positive
            self.estimators_ = []
            for i in range(k):
                for j in range(i + 1, k):
                    rows = np.flatnonzero((code == i) | (code == j))
                    z = np.where(code[rows] == i, 1, -1)
                    est = self._binary(c[i], c[j]).fit(X[rows], z, sw[rows])
                    self.estimators_.append(est)
        self.n_iter_ = max(e.n_iter_ for e in self.estimators_)
        self.coef_ = np.vstack([e.coef_ for e in self.estimators_])
        self.intercept_ = np.concatenate([e.intercept_ for e in self.estimators_])
        return self

    def _pairwise(self, X):
        return np.column_stack([e.decision_function(X) for e in self.estimators_])

    def decision_function(self, X):
        dec = self._pairwise(X)
        if len(self.classes_) == 2:
            return dec.ravel()
        if self.decision_function_shape == "ovr":
            return ovr_decision_function(dec < 0, -dec, len(self.classes_))
        return dec

    def predict(self, X):
        dec = self._pairwise(X)
        k = len(self.classes_)
        if k == 2:
            return self.classes_[(dec.ravel() > 0).astype(int)]
        votes = np.zeros((X.shape[0], k), dtype=np.intp)
        col = 0
        for i in range(k):
            for j in range(i + 1, k):
                wins_i = dec[:, col] > 0
                votes[:, i] += wins_i
                votes[:, j] += ~wins_i
                col += 1
        return self.classes_[np.argmax(votes, axis=1)]
