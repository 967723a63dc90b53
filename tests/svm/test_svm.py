"""MultiTaskSVC / MultiTaskSVR against independent oracles.

Oracles: scikit-learn's SVC/SVR(kernel="precomputed") on a kernel built here by hand
(not with skmtl.kernels); independent per-task SVMs and one pooled SVM in the limits
of ``mu``; closed forms of the ``mu`` model for the shared component.

Tolerances. libsvm runs with ``tol=1e-10``, so two libsvm fits on the same kernel
agree to ~1e-8. The explicit (liblinear) path penalises the intercept; on
sign-mirrored data ``{(x, y), (-x, -y)}`` the optimal intercept is 0 by symmetry
(for kernels with ``k(-x, -z) = k(x, z)``), so the penalty is inactive and both paths
solve the same problem: they agree to liblinear's tolerance (measured ~3e-6 of the
decision range at tol=1e-10; asserted 1e-4). In the limits, the multi-task kernel is
``B = I + 11^T / mu`` (error O(1/mu), measured 8e-6 of the range at mu=1e6) and, with
``C`` scaled by ``mu``, ``11^T + mu I`` (error O(mu), measured 4e-5 at mu=1e-6).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC, SVR

import skmtl._kernel._base as kernel_base
from skmtl.baselines import IndependentTaskEstimator
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.svm import MultiTaskSVC, MultiTaskSVR, multitask_svm_grid

pd = pytest.importorskip("pandas")

GAMMA = 0.3


def _data(classification, n_tasks=3, n=30, d=4, seed=0, offset=0.0):
    make = (
        make_multitask_classification if classification else make_multitask_regression
    )
    X, y = make(
        n_tasks=n_tasks,
        n_samples=n,
        n_features=d,
        structure="mean",
        spread=0.5,
        random_state=seed,
    )
    X[:, 1:] += offset
    return X, y


def _mirrored(classification, **kw):
    """Rows and their mirror images (-x, -y): the optimal intercept is 0."""
    X, y = _data(classification, **kw)
    y = 2 * y - 1 if classification else y
    Xm = X.copy()
    Xm[:, 1:] *= -1
    return np.vstack([X, Xm]), np.concatenate([y, -y])


def _hand_kernel(X1, X2, mu, kernel):
    """``(1/mu + [s == t]) * k(x, z)`` written out for the task column 0."""
    t1, t2 = X1[:, 0][:, None], X2[:, 0][None, :]
    B = 1.0 / mu + (t1 == t2)
    if kernel == "linear":
        return B * (X1[:, 1:] @ X2[:, 1:].T)
    return B * rbf_kernel(X1[:, 1:], X2[:, 1:], gamma=GAMMA)


def _scale(a):
    return np.abs(a).max()


# ------------------------------------------------------------ kernel path = libsvm
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_svc_equals_precomputed_svc(kernel, n_classes):
    X, _ = _data(True, n=40)
    rng = np.random.RandomState(1)
    y = rng.randint(n_classes, size=len(X))
    sw = rng.uniform(0.5, 2.0, len(X))
    X_new = _data(True, n=10, seed=2)[0]
    mu = 0.7
    for shape in ("ovr", "ovo"):
        # identical kernels -> identical libsvm runs, whatever the tolerance (a
        # tolerance near 1e-7 can make libsvm cycle on weighted random labels)
        params = dict(C=2.0, decision_function_shape=shape, class_weight={0: 2.0})
        ref = SVC(kernel="precomputed", **params).fit(
            _hand_kernel(X, X, mu, kernel), y, sample_weight=sw
        )
        model = MultiTaskSVC(
            kernel=kernel, gamma=GAMMA, mu=mu, task_column=0, **params
        ).fit(X, y, sample_weight=sw)
        assert model.solver_ == "kernel"
        K_new = _hand_kernel(X_new, X, mu, kernel)
        assert_allclose(
            model.decision_function(X_new),
            ref.decision_function(K_new),
            rtol=1e-8,
            atol=1e-10,
        )
        assert_array_equal(model.predict(X_new), ref.predict(K_new))
        assert_allclose(model.intercept_, ref.intercept_, rtol=1e-10)
        assert_array_equal(model.support_, ref.support_)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_svr_equals_precomputed_svr(kernel):
    X, y = _data(False, n=40)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, len(X))
    X_new = _data(False, n=10, seed=2)[0]
    mu = 2.0
    ref = SVR(kernel="precomputed", C=3.0, epsilon=0.2).fit(
        _hand_kernel(X, X, mu, kernel), y, sample_weight=sw
    )
    model = MultiTaskSVR(
        C=3.0,
        epsilon=0.2,
        kernel=kernel,
        gamma=GAMMA,
        mu=mu,
        task_column=0,
    ).fit(X, y, sample_weight=sw)
    assert_allclose(
        model.predict(X_new),
        ref.predict(_hand_kernel(X_new, X, mu, kernel)),
        rtol=1e-8,
        atol=1e-10,
    )


def test_svc_probability_equals_calibrated_precomputed_svc():
    X, y = _data(True, n=40)
    ref = CalibratedClassifierCV(
        SVC(kernel="precomputed", tol=1e-10),
        method="sigmoid",
        cv=StratifiedKFold(5),
        ensemble=False,
    ).fit(_hand_kernel(X, X, 1.0, "rbf"), y)
    model = MultiTaskSVC(gamma=GAMMA, probability=True, tol=1e-10, task_column=0).fit(
        X, y
    )
    proba = model.predict_proba(X)
    assert_allclose(proba, ref.predict_proba(_hand_kernel(X, X, 1.0, "rbf")), rtol=1e-6)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(model.predict_log_proba(X), np.log(proba))
    assert not hasattr(MultiTaskSVC(), "predict_proba")


# ----------------------------------------------------- explicit path = kernel path
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_linear_path_equals_kernel_path_svc_mirrored(C):
    X, y = _mirrored(True)
    kw = dict(C=C, kernel="linear", tol=1e-10, task_column=0)
    k = MultiTaskSVC(solver="kernel", **kw).fit(X, y)
    # b = 0 at the optimum: the intercept penalty is inactive, and the smallest
    # intercept_scaling converges fastest
    lin = MultiTaskSVC(
        solver="linear", intercept_scaling=1.0, max_iter=100_000, random_state=0, **kw
    )
    lin.fit(X, y)
    dk = k.decision_function(X)
    assert _scale(lin.decision_function(X) - dk) <= 1e-4 * _scale(dk)
    assert_allclose(lin.coef_, k.coef_, atol=1e-4 * _scale(k.coef_))
    # coef_ reproduces the decision function: x @ w_t + b
    w = k.coef_[X[:, 0].astype(int)]
    assert_allclose(
        np.einsum("ij,ij->i", X[:, 1:], w) + k.intercept_, dk, atol=1e-10 * _scale(dk)
    )


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_linear_path_equals_kernel_path_svr_mirrored(C):
    X, y = _mirrored(False)
    kw = dict(C=C, kernel="linear", tol=1e-10, task_column=0)
    k = MultiTaskSVR(solver="kernel", **kw).fit(X, y)
    lin = MultiTaskSVR(
        solver="linear", intercept_scaling=1.0, max_iter=100_000, random_state=0, **kw
    )
    pk = k.predict(X)
    assert _scale(lin.fit(X, y).predict(X) - pk) <= 1e-4 * _scale(pk)


def test_linear_path_general_data_intercept_scaling():
    """With a clearly non-zero intercept the gap is liblinear's intercept penalty
    (measured: 15% of the decision range at intercept_scaling=1, 0.2-0.4% at 10)."""
    X, y = _data(True, n=40, offset=0.5)
    kw = dict(C=1.0, kernel="linear", task_column=0)
    k = MultiTaskSVC(solver="kernel", tol=1e-10, **kw).fit(X, y)
    dk = k.decision_function(X)
    gaps = []
    for s in (1.0, 10.0):
        lin = MultiTaskSVC(
            solver="linear",
            intercept_scaling=s,
            tol=1e-8,
            max_iter=200_000,
            random_state=0,
            **kw,
        ).fit(X, y)
        gaps.append(_scale(lin.decision_function(X) - dk) / _scale(dk))
    assert gaps[0] > 0.05  # the penalty is visible at 1 ...
    assert gaps[1] < 0.01 and gaps[1] < gaps[0] / 10  # ... and fades like 1/s^2
    assert np.mean(lin.predict(X) == k.predict(X)) >= 0.99


def test_linear_path_multiclass_follows_libsvm_one_vs_one():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.randint(3, size=150), rng.randn(150, 4)])
    y = np.array(["a", "b", "c"])[np.argmax(X[:, 1:4] + 0.3 * rng.randn(150, 3), 1)]
    for shape in ("ovr", "ovo"):
        kw = dict(kernel="linear", task_column=0, decision_function_shape=shape)
        k = MultiTaskSVC(solver="kernel", tol=1e-10, **kw).fit(X, y)
        lin = MultiTaskSVC(
            solver="linear",
            tol=1e-8,
            max_iter=100_000,
            random_state=0,
            **kw,
        ).fit(X, y)
        dk, dl = k.decision_function(X), lin.decision_function(X)
        assert dl.shape == dk.shape == (150, 3)
        assert _scale(dl - dk) <= 1e-3 * _scale(dk)  # measured 2e-4 (s = 10)
        assert_array_equal(lin.predict(X), k.predict(X))
        assert list(lin.classes_) == ["a", "b", "c"]


def test_nystroem_path_is_a_sound_approximation():
    X, y = _data(True, n=60)
    X_new, y_new = _data(True, n=60, seed=5)
    kw = dict(kernel="rbf", gamma=GAMMA, task_column=0, random_state=0)
    exact = MultiTaskSVC(solver="kernel", **kw).fit(X, y)
    approx = MultiTaskSVC(solver="nystroem", n_components=150, **kw).fit(X, y)
    assert approx.solver_ == "nystroem"
    agree = np.mean(approx.predict(X_new) == exact.predict(X_new))
    assert agree >= 0.95  # 150 landmarks of 180 rows: near-exact kernel
    assert abs(approx.score(X_new, y_new) - exact.score(X_new, y_new)) <= 0.05


# ----------------------------------------------------------------- limits of mu
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_large_mu_gives_independent_svms(kernel):
    """B -> I: one SVM per task (mirrored data: every SVM has intercept 0, so the
    shared intercept of the multi-task model is no restriction)."""
    X, y = _mirrored(True)
    task = X[:, 0].astype(int)
    ind = IndependentTaskEstimator(
        SVC(kernel=kernel, gamma=GAMMA, tol=1e-10), task_column=0
    ).fit(X, y)
    ref = np.empty(len(y))
    for t, est in enumerate(ind.estimators_):
        ref[task == t] = est.decision_function(X[task == t, 1:])
    errors = []
    for mu in (1e2, 1e4, 1e6):
        model = MultiTaskSVC(
            kernel=kernel, gamma=GAMMA, mu=mu, tol=1e-10, task_column=0
        ).fit(X, y)
        errors.append(_scale(model.decision_function(X) - ref) / _scale(ref))
    assert errors[0] > errors[1] > errors[2]  # O(1/mu)
    assert errors[2] < 1e-4  # measured 2e-6 (rbf) and 1e-6 (linear)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_small_mu_gives_pooled_svm(kernel):
    """B = (11^T + mu I) / mu: with C scaled by mu, one pooled SVM as mu -> 0."""
    X, y = _data(True)
    pooled = SVC(kernel=kernel, gamma=GAMMA, C=1.0, tol=1e-10).fit(X[:, 1:], y)
    ref = pooled.decision_function(X[:, 1:])
    errors = []
    for mu in (1e-2, 1e-4, 1e-6):
        model = MultiTaskSVC(
            C=mu, kernel=kernel, gamma=GAMMA, mu=mu, tol=1e-10, task_column=0
        ).fit(X, y)
        errors.append(_scale(model.decision_function(X) - ref) / _scale(ref))
    assert errors[0] > errors[1] > errors[2]  # O(mu)
    assert errors[2] < 1e-4  # measured 5e-6 (linear) and 2e-6 (rbf)


# ----------------------------------------------------------------- unseen tasks
def test_unseen_task_shared_is_the_shared_component():
    X, y = _data(False, n=40)
    mu = 0.5
    new = X[:6].copy()
    new[:, 0] = 99
    model = MultiTaskSVR(
        kernel="linear", C=10.0, mu=mu, tol=1e-10, task_column=0, unseen_task="shared"
    ).fit(X, y)
    pred = model.predict(new)
    # kernel form: B row of the new task = 1/mu for every fitted task
    K = (1.0 / mu) * new[:, 1:] @ model.support_vectors_.T
    assert_allclose(pred, K @ model.dual_coef_[0] + model.intercept_, rtol=1e-10)
    # primal form: w_0 = sum_t w_t / (mu + T) (minimiser of mu||w_0||^2 +
    # sum_t ||w_t - w_0||^2), the prediction is x @ w_0 + b
    w0 = model.coef_.sum(axis=0) / (mu + model.n_tasks_)
    assert_allclose(pred, new[:, 1:] @ w0 + model.intercept_, rtol=1e-8)
    # a fitted task's rows are untouched by the option
    model_err = MultiTaskSVR(
        kernel="linear", C=10.0, mu=mu, tol=1e-10, task_column=0
    ).fit(X, y)
    assert_allclose(model.predict(X), model_err.predict(X))
    with pytest.raises(ValueError, match="99"):
        model_err.predict(new)


def test_unseen_task_shared_linear_path_and_user_similarity():
    X, y = _mirrored(True)
    new = X[:8].copy()
    new[:, 0] = -1
    kw = dict(kernel="linear", tol=1e-10, task_column=0, unseen_task="shared")
    k = MultiTaskSVC(solver="kernel", **kw).fit(X, y)
    lin = MultiTaskSVC(solver="linear", max_iter=100_000, random_state=0, **kw)
    dk = k.decision_function(new)
    assert _scale(lin.fit(X, y).decision_function(new) - dk) <= 1e-4 * _scale(dk)
    # a user similarity: the new task's row is the mean off-diagonal similarity
    B = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])
    kw["task_similarity"] = B
    k = MultiTaskSVC(solver="kernel", **kw).fit(X, y)
    row = np.array([0.3, 0.4, 0.2])  # (0.5 + 0.1) / 2, (0.5 + 0.3) / 2, ...
    task_sv = k.support_tasks_.astype(int)
    K = row[task_sv][None, :] * (new[:, 1:] @ k.support_vectors_.T)
    assert_allclose(
        k.decision_function(new), K @ k.dual_coef_[0] + k.intercept_, rtol=1e-10
    )
    lin = MultiTaskSVC(solver="linear", max_iter=100_000, random_state=0, **kw)
    dk = k.decision_function(new)
    assert _scale(lin.fit(X, y).decision_function(new) - dk) <= 1e-4 * _scale(dk)


# ------------------------------------------------------------------ data handling
def test_shared_layout_with_missing_equals_stacked_rows():
    X, Y = make_multitask_regression(
        n_tasks=3,
        n_samples=30,
        n_features=4,
        structure="mean",
        layout="shared",
        random_state=0,
    )
    Y[[0, 5, 9], [1, 2, 1]] = np.nan
    shared = MultiTaskSVR(kernel="rbf", tol=1e-10).fit(X, Y)
    obs = ~np.isnan(Y.T.ravel())
    Xs = np.column_stack([np.repeat(np.arange(3), 30), np.tile(X, (3, 1))])
    stacked = MultiTaskSVR(kernel="rbf", tol=1e-10, task_column=0).fit(
        Xs[obs], Y.T.ravel()[obs]
    )
    pred = shared.predict(X)
    assert pred.shape == (30, 3)
    assert_allclose(pred.T.ravel(), stacked.predict(Xs), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("solver", ["kernel", "linear"])
def test_sparse_pandas_and_string_labels(solver):
    X, y = _data(True, n=30)
    kw = dict(
        kernel="linear", solver=solver, tol=1e-10, random_state=0, max_iter=100_000
    )
    dense = MultiTaskSVC(task_column=0, **kw).fit(X, y).decision_function(X)
    Xsp = sp.csr_matrix(X)
    sparse = MultiTaskSVC(task_column=0, **kw).fit(Xsp, y).decision_function(Xsp)
    assert_allclose(sparse, dense, rtol=1e-6, atol=1e-8)
    df = pd.DataFrame(X[:, 1:], columns=list("abcd"))
    df.insert(1, "school", np.array(["s0", "s1", "s2"])[X[:, 0].astype(int)])
    model = MultiTaskSVC(task_column="school", **kw).fit(df, y)
    assert list(model.tasks_) == ["s0", "s1", "s2"]
    assert_allclose(model.decision_function(df), dense, rtol=1e-6, atol=1e-8)
    X32 = MultiTaskSVC(task_column=0, **kw).fit(X.astype(np.float32), y)
    assert_allclose(X32.decision_function(X), dense, rtol=1e-4, atol=1e-5)


def test_zero_sample_weight_equals_dropping_rows():
    X, y = _data(True, n=30)
    sw = np.ones(len(y))
    sw[::4] = 0.0
    kw = dict(kernel="rbf", gamma=GAMMA, tol=1e-10, task_column=0)
    weighted = MultiTaskSVC(**kw).fit(X, y, sample_weight=sw)
    dropped = MultiTaskSVC(**kw).fit(X[sw > 0], y[sw > 0])
    assert_allclose(
        weighted.decision_function(X),
        dropped.decision_function(X),
        rtol=1e-7,
        atol=1e-9,
    )


def test_shared_layout_classifier_outputs():
    X, Y = make_multitask_classification(
        n_tasks=3, n_samples=40, n_features=4, layout="shared", random_state=0
    )
    model = MultiTaskSVC(probability=True, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (40, 3)
    assert model.decision_function(X).shape == (40, 3)
    proba = model.predict_proba(X)
    assert len(proba) == 3 and proba[0].shape == (40, 2)
    assert 0.5 < model.score(X, Y) <= 1.0


# -------------------------------------------------------------- validation, scale
@pytest.mark.parametrize(
    "params, match",
    [
        ({"task_similarity": np.eye(2)}, r"\(3, 3\)"),
        (
            {"task_similarity": np.array([[1, 2, 0], [2, 1, 0], [0, 0, 1.0]])},
            "positive semi-definite",
        ),
        ({"task_similarity": np.triu(np.ones((3, 3)))}, "symmetric"),
        ({"solver": "linear", "kernel": "rbf"}, "solver='nystroem'"),
        ({"solver": "kernel", "memory_limit": 0.01}, "memory_limit"),
        ({"solver": "nystroem", "memory_limit": 0.01}, "memory_limit"),
    ],
)
def test_validation_errors(params, match):
    X, y = _data(True)
    with pytest.raises(ValueError, match=match):
        MultiTaskSVC(task_column=0, **params).fit(X, y)


def test_memory_guard_message_names_alternatives():
    X, y = _data(True)
    with pytest.raises(ValueError) as info:
        MultiTaskSVC(solver="kernel", memory_limit=0.01, task_column=0).fit(X, y)
    msg = str(info.value)
    assert "90 x 90 kernel" in msg and "solver='linear'" in msg
    assert "solver='nystroem'" in msg


def test_auto_rule(monkeypatch):
    X, y = _data(True)
    assert MultiTaskSVC(task_column=0).fit(X, y).solver_ == "kernel"
    monkeypatch.setattr(kernel_base, "AUTO_KERNEL_MAX_ROWS", 50)
    assert MultiTaskSVC(task_column=0).fit(X, y).solver_ == "nystroem"
    model = MultiTaskSVC(kernel="linear", task_column=0).fit(X, y)
    assert model.solver_ == "linear"
    assert MultiTaskSVR(task_column=0).fit(*_data(False)).solver_ == "nystroem"


def test_one_class_is_a_clear_error():
    X, y = _data(True)
    with pytest.raises(ValueError, match="greater than one"):
        MultiTaskSVC(task_column=0).fit(X, np.zeros_like(y))


# ------------------------------------------------------- the search grid
def _normalised_kernel(X1, X2, mu, a, kernel):
    """``Bn[s, t] k(x, z) + [s == t] / a`` with the unit-diagonal ``Bn = (11^T / mu
    + I) / (1 + 1/mu)``, written out (not with the helper's formulas)."""
    t1, t2 = X1[:, 0][:, None], X2[:, 0][None, :]
    same = (t1 == t2).astype(float)
    Bn = (1.0 / mu + same) / (1.0 + 1.0 / mu)
    base = (
        X1[:, 1:] @ X2[:, 1:].T
        if kernel == "linear"
        else rbf_kernel(X1[:, 1:], X2[:, 1:], gamma=GAMMA)
    )
    return Bn * base + same / a


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("mu", [0.05, 1.0, 20.0])
def test_grid_candidate_is_the_svm_on_the_normalised_kernel(kernel, mu):
    """Each candidate ``(c, mu, a)`` of ``multitask_svm_grid`` is the SVM with
    ``C = c`` on the normalised kernel plus ``[s == t] / a`` (scaling a kernel by
    ``s`` and ``C`` by ``1/s`` leaves the decision function unchanged): libsvm on
    the hand kernel. The two solve the same dual in units that differ by ``s``, so
    libsvm's gradient stopping rule stops them at slightly different points:
    measured 2e-7 of the prediction range at tol=1e-10, asserted 1e-5."""
    X, y = _data(False, n=40, offset=0.5)
    X_new = _data(False, n=10, seed=2, offset=0.5)[0]
    c, a = 3.0, 0.4
    (grid,) = multitask_svm_grid(Cs=[c], mus=[mu], alphas_intercepts=[a])
    model = MultiTaskSVR(
        C=grid["C"][0],
        alpha_intercepts=grid["alpha_intercepts"][0],
        mu=grid["mu"][0],
        epsilon=0.2,
        kernel=kernel,
        gamma=GAMMA,
        tol=1e-10,
        task_column=0,
    ).fit(X, y)
    ref = SVR(kernel="precomputed", C=c, epsilon=0.2, tol=1e-10).fit(
        _normalised_kernel(X, X, mu, a, kernel), y
    )
    pred = ref.predict(_normalised_kernel(X_new, X, mu, a, kernel))
    assert _scale(model.predict(X_new) - pred) / _scale(pred) < 1e-5


def test_grid_nests_pooled_and_independent_svms():
    """The grid's ends are the baselines: ``mu -> 0`` at fixed ``c`` is one pooled
    ``SVC(C=c)`` (error O(mu)), ``mu=np.inf`` is one ``SVC(C=c)`` per task
    (mirrored data: the per-task intercepts are 0, so the shared intercept is no
    restriction); both with ``alpha_intercepts=np.inf``."""
    c = 0.7
    X, y = _data(True)
    pooled = SVC(kernel="linear", C=c, tol=1e-10).fit(X[:, 1:], y)
    ref = pooled.decision_function(X[:, 1:])
    (grid,) = multitask_svm_grid(Cs=[c], mus=[1e-7], alphas_intercepts=[np.inf])
    params = {k: v[0] for k, v in grid.items()}
    near_pooled = MultiTaskSVC(kernel="linear", tol=1e-10, task_column=0, **params)
    dec = near_pooled.fit(X, y).decision_function(X)
    assert _scale(dec - ref) / _scale(ref) < 1e-4  # measured ~1e-6

    Xm, ym = _mirrored(True)
    task = Xm[:, 0].astype(int)
    ind = IndependentTaskEstimator(
        SVC(kernel="linear", C=c, tol=1e-10), task_column=0
    ).fit(Xm, ym)
    ref = np.empty(len(ym))
    for t, est in enumerate(ind.estimators_):
        ref[task == t] = est.decision_function(Xm[task == t, 1:])
    (grid,) = multitask_svm_grid(Cs=[c], mus=[np.inf], alphas_intercepts=[np.inf])
    params = {k: v[0] for k, v in grid.items()}
    independent = MultiTaskSVC(kernel="linear", tol=1e-10, task_column=0, **params)
    dec = independent.fit(Xm, ym).decision_function(Xm)
    assert _scale(dec - ref) / _scale(ref) < 1e-7  # the same problem exactly


def test_grid_defaults_and_scale():
    grid = multitask_svm_grid()
    assert [g["mu"][0] for g in grid] == [0.01, 0.1, 1.0, 10.0, np.inf]
    assert all(len(g["C"]) == 3 and len(g["alpha_intercepts"]) == 4 for g in grid)
    assert all(np.isinf(g["alpha_intercepts"][-1]) for g in grid)
    # scale divides every C and every finite alpha_intercepts
    (g1,) = multitask_svm_grid(Cs=[2.0], mus=[0.5], alphas_intercepts=[0.3])
    (g4,) = multitask_svm_grid(Cs=[2.0], mus=[0.5], alphas_intercepts=[0.3], scale=4)
    assert_allclose(g1["C"], [2.0 / 3.0])
    assert_allclose(g4["C"], [2.0 / 12.0])
    assert_allclose(g4["alpha_intercepts"], [0.3 / 12.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"Cs": [0.0, 1.0]}, "Cs must be"),
        ({"Cs": [np.inf]}, "Cs must be"),
        ({"mus": []}, "mus must be"),
        ({"alphas_intercepts": [-1.0]}, "alphas_intercepts must be"),
        ({"mus": [np.nan]}, "mus must be"),
        ({"scale": 0.0}, "scale"),
        ({"scale": np.inf}, "scale"),
    ],
)
def test_grid_validation(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        multitask_svm_grid(**kwargs)


def test_grid_search_selects_the_limits_the_data_call_for():
    """GridSearchCV over the grid picks a near-pooled coupling on data whose tasks
    share one function, and a near-independent one (mu >= 10: the shared part gets
    at most 1/11 of the kernel) when their functions are opposite."""
    from sklearn.model_selection import GridSearchCV

    from skmtl.model_selection import TaskStratifiedKFold

    rng = np.random.RandomState(0)
    n_tasks, n = 4, 30
    task = np.repeat(np.arange(n_tasks), n)
    Z = rng.normal(size=(n_tasks * n, 3))
    X = np.column_stack([task, Z])
    noise = 0.1 * rng.normal(size=len(task))
    same = Z @ np.array([1.0, -1.0, 0.5]) + noise
    signs = np.where(task % 2 == 0, 1.0, -1.0)
    opposite = signs * (Z @ np.array([1.0, -1.0, 0.5])) + noise
    chosen = []
    for y in (same, opposite):
        search = GridSearchCV(
            MultiTaskSVR(kernel="linear", solver="linear", task_column=0),
            multitask_svm_grid(),
            cv=TaskStratifiedKFold(3, task_column=0),
        ).fit(X, y)
        chosen.append(search.best_params_["mu"])
    assert chosen[0] <= 0.1 and chosen[1] >= 10.0


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_cli_svm_entry_searches_the_grid(kind):
    """``skmtl compare --models mtl_svm`` tunes over ``multitask_svm_grid()`` with
    the linear kernel's exact liblinear path (classes weighted "balanced")."""
    from skmtl.cli._models import MODELS

    model = MODELS["mtl_svm"].factory(0, kind)
    search = model.regressor if kind == "regression" else model
    assert search.param_grid == multitask_svm_grid()
    est = search.estimator
    assert (est.kernel, est.solver) == ("linear", "linear")
    if kind == "classification":
        assert est.class_weight == "balanced"
    X, y = _data(kind == "classification", n_tasks=2, n=24)
    model.fit(X, y)
    fitted = model.regressor_ if kind == "regression" else model
    assert len(fitted.cv_results_["params"]) == 60
    assert fitted.best_params_["mu"] in [g["mu"][0] for g in multitask_svm_grid()]
