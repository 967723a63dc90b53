"""The data layer: layouts, task columns, labels and clear errors on bad input;
its ``reset=False`` mode (partial fits and warm starts); unseen task codes, the
shared layout's stacked rows and the classifier score over observed entries;
the pure validation ``check_task_data`` against ``validate_fit_data``."""

import copy
import inspect

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator

from skmtl._data import (
    TaskData,
    check_task_data,
    encode_known_tasks,
    encode_task_labels,
    resolve_task_column,
    validate_fit_data,
    validate_predict_data,
)
from skmtl.base import MultiTaskClassifierMixin, MultiTaskMixin

pd = pytest.importorskip("pandas")


class Probe(MultiTaskMixin, BaseEstimator):
    """Minimal estimator exposing the data layer."""

    def __init__(self, task_column=None):
        self.task_column = task_column


def _stacked(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.arange(n) % 3, rng.standard_normal((n, d))])
    return X, rng.standard_normal(n)


def test_stacked_layout():
    X, y = _stacked()
    est = Probe(task_column=0)
    data = validate_fit_data(est, X, y)
    assert data.layout == "stacked"
    assert data.X.shape == (12, 3)
    assert_array_equal(est.tasks_, [0, 1, 2])
    assert est.n_tasks_ == 3 and est.n_features_in_ == 4
    assert_array_equal(data.task_codes, X[:, 0].astype(int))
    assert_array_equal(data.task_sizes(), [4, 4, 4])
    Xp, task = validate_predict_data(est, X[:5])
    assert_array_equal(task, [0, 1, 2, 0, 1])
    assert Xp.shape == (5, 3)


def test_shared_layout_with_missing_targets():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
    Y[[1, 4], 0] = np.nan
    est = Probe()
    data = validate_fit_data(est, X, Y)
    assert data.layout == "shared" and est.n_tasks_ == 2
    assert_array_equal(data.task_sizes(), [8, 10])
    assert not data.mask[1, 0] and data.mask[1, 1]
    assert np.isfinite(data.y).all()  # missing entries zeroed and masked
    X_t, y_t, _ = data.task_subset(0)
    assert X_t.shape == (8, 3) and np.isfinite(y_t).all()
    assert validate_predict_data(est, X)[1] is None


@pytest.mark.parametrize("sparse", [False, True])
def test_grouped_by_task_puts_each_task_in_one_run(sparse):
    """``TaskData.grouped_by_task`` (what the linear solvers' design works on):
    each task's rows in one run, in the order of the codes and stable within a
    task; data already grouped, or shared, come back as they are."""
    rng = np.random.default_rng(0)
    codes = np.array([2, 0, 2, 1, 0, 0, 2, 1])
    X = rng.standard_normal((8, 3))
    sw = rng.uniform(1, 2, 8)
    Xin = sp.csr_matrix(X) if sparse else X
    data = TaskData(
        Xin, np.arange(8.0), codes, None, sw, np.array(list("abc")), "stacked"
    )
    grouped = data.grouped_by_task()
    order = [1, 4, 5, 3, 7, 0, 2, 6]
    assert_array_equal(grouped.task_codes, codes[order])
    assert_array_equal(grouped.y, np.array(order, dtype=float))
    Xg = grouped.X.toarray() if sparse else grouped.X
    assert_array_equal(Xg, X[order])
    assert_array_equal(grouped.sample_weight, sw[order])
    assert_array_equal(grouped.tasks, data.tasks)
    assert grouped.grouped_by_task() is grouped
    # runs in any order of the codes are grouped too; shared data are left alone
    runs = data.subset(np.array([0, 2, 6, 1, 4, 5, 3, 7]))
    assert runs.grouped_by_task() is runs
    shared = TaskData(
        X, rng.standard_normal((8, 2)), None, None, sw, np.arange(2), "shared"
    )
    assert shared.grouped_by_task() is shared


@pytest.mark.parametrize("layout", ["stacked", "shared"])
def test_subset_keeps_every_task_and_its_code(layout):
    """``TaskData.subset`` (a cross-validation fold) takes the rows of every
    per-row array and keeps the task labels and codes, also for a task the rows
    leave out."""
    rng = np.random.default_rng(0)
    if layout == "stacked":
        X, y = _stacked()
        data = validate_fit_data(Probe(task_column=0), X, y, rng.uniform(1, 2, 12))
    else:
        X, y = rng.standard_normal((10, 3)), rng.standard_normal((10, 2))
        y[[1, 4], 0] = np.nan
        data = validate_fit_data(Probe(), X, y, rng.uniform(1, 2, 10))
    rows = np.array([0, 1, 3, 4, 6]) if layout == "stacked" else np.arange(2, 7)
    sub = data.subset(rows)
    assert sub.layout == data.layout
    assert_array_equal(sub.tasks, data.tasks)
    assert_array_equal(sub.X, data.X[rows])
    assert_array_equal(sub.y, data.y[rows])
    assert_array_equal(sub.sample_weight, data.sample_weight[rows])
    if layout == "stacked":
        assert_array_equal(sub.task_codes, data.task_codes[rows])
        assert sub.n_tasks == 3 and sub.task_sizes()[2] == 0  # task 2 kept, no rows
    else:
        assert_array_equal(sub.mask, data.mask[rows])
        assert_array_equal(sub.task_sizes(), [4, 5])


def test_single_task_layout():
    X, y = np.random.default_rng(0).standard_normal((6, 2)), np.arange(6.0)
    est = Probe()
    data = validate_fit_data(est, X, y)
    assert data.layout == "single" and est.n_tasks_ == 1
    assert_array_equal(validate_predict_data(est, X)[1], np.zeros(6))


@pytest.mark.parametrize("task_column, expected", [(0, 0), (-1, 3), (2, 2), (-4, 0)])
def test_resolve_task_column_positions(task_column, expected):
    assert resolve_task_column(task_column, np.zeros((2, 4))) == expected


@pytest.mark.parametrize("task_column", [4, -5])
def test_task_column_out_of_range(task_column):
    X, y = _stacked()
    with pytest.raises(ValueError, match="out of range"):
        validate_fit_data(Probe(task_column=task_column), X, y)


def test_task_column_name_needs_dataframe():
    X, y = _stacked()
    with pytest.raises(ValueError, match="DataFrame"):
        validate_fit_data(Probe(task_column="school"), X, y)
    df = pd.DataFrame(X, columns=["school", "a", "b", "c"])
    with pytest.raises(ValueError, match="not a column"):
        validate_fit_data(Probe(task_column="region"), df, y)


def test_dataframe_string_labels_and_feature_names():
    X, y = _stacked()
    df = pd.DataFrame(X[:, 1:], columns=["a", "b", "c"])
    df.insert(1, "school", np.array(["x", "y", "z"])[X[:, 0].astype(int)])
    df["school"] = df["school"].astype("category")
    est = Probe(task_column="school")
    data = validate_fit_data(est, df, y)
    assert list(est.tasks_) == ["x", "y", "z"]
    assert list(est.feature_names_in_) == ["a", "school", "b", "c"]
    assert data.X.dtype == np.float64 and data.X.shape == (12, 3)
    # the same columns as an ndarray at predict: position is remembered
    with pytest.warns(UserWarning, match="feature names"):
        _, task = validate_predict_data(est, df.to_numpy())
    assert_array_equal(task, X[:, 0].astype(int))


def test_object_array_with_string_labels():
    X, y = _stacked()
    Xo = X.astype(object)
    Xo[:, 0] = np.array(["b", "a", "c"])[X[:, 0].astype(int)]
    est = Probe(task_column=0)
    data = validate_fit_data(est, Xo, y)
    assert list(est.tasks_) == ["a", "b", "c"]
    assert data.X.dtype == np.float64


def test_mixed_label_types_rejected():
    with pytest.raises(ValueError, match="all numbers or all strings"):
        encode_task_labels(np.array([1, "a", 2], dtype=object))


@pytest.mark.parametrize("bad", [np.nan, None])
def test_missing_task_label_rejected(bad):
    labels = np.array([1.0, bad, 2.0], dtype=object if bad is None else float)
    with pytest.raises(ValueError, match="task label"):
        encode_task_labels(labels)


def test_float_labels_that_are_integers_become_ints():
    tasks, codes = encode_task_labels(np.array([3.0, 1.0, 3.0]))
    assert tasks.dtype == np.int64 and list(tasks) == [1, 3]
    assert list(codes) == [1, 0, 1]


def test_unknown_labels_named_in_error():
    tasks = np.array(["a", "b"], dtype=object)
    with pytest.raises(ValueError, match=r"'zz'.*not seen in fit"):
        encode_known_tasks(np.array(["a", "zz"]), tasks)
    with pytest.raises(ValueError, match="3"):
        encode_known_tasks(np.array([3]), np.array([0, 1]))
    many = np.arange(100, 130)
    with pytest.raises(ValueError, match="and 20 more"):
        encode_known_tasks(many, np.array([0, 1]))


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_nonfinite_features_rejected(value, word):
    X, y = _stacked()
    X[3, 2] = value
    with pytest.raises(ValueError, match=word):
        validate_fit_data(Probe(task_column=0), X, y)


def test_nan_target_in_stacked_layout_is_an_error():
    X, y = _stacked()
    y[0] = np.nan
    with pytest.raises(ValueError, match="shared-design layout"):
        validate_fit_data(Probe(task_column=0), X, y)


def test_inf_target_in_shared_layout_is_an_error():
    Y = np.ones((5, 2))
    Y[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        validate_fit_data(Probe(), np.ones((5, 2)), Y)


def test_task_with_no_observed_target_is_an_error():
    Y = np.ones((5, 3))
    Y[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"Task column\(s\) \[1\]"):
        validate_fit_data(Probe(), np.ones((5, 2)), Y)


def test_stacked_layout_rejects_2d_y():
    X, _ = _stacked()
    with pytest.raises(ValueError, match="must be 1-D"):
        validate_fit_data(Probe(task_column=0), X, np.ones((12, 2)))


def test_row_count_mismatch():
    X, y = _stacked()
    with pytest.raises(ValueError, match="12 rows but y has 11"):
        validate_fit_data(Probe(task_column=0), X, y[:-1])


def test_zero_weight_task_is_an_error():
    X, y = _stacked()
    sw = np.ones(12)
    sw[X[:, 0] == 1] = 0
    with pytest.raises(ValueError, match=r"Task\(s\) \[1\] have zero total"):
        validate_fit_data(Probe(task_column=0), X, y, sample_weight=sw)


def test_negative_sample_weight_rejected():
    X, y = _stacked()
    with pytest.raises(ValueError, match="[Nn]egative"):
        validate_fit_data(Probe(task_column=0), X, y, sample_weight=-np.ones(12))


def test_only_task_column_means_no_features():
    X, y = _stacked()
    with pytest.raises(ValueError, match="0 feature"):
        validate_fit_data(Probe(task_column=0), X[:, :1], y)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_stays_sparse(fmt):
    X, y = _stacked()
    est = Probe(task_column=0)
    data = validate_fit_data(est, sp.csr_matrix(X).asformat(fmt), y)
    assert sp.issparse(data.X) and data.X.shape == (12, 3)
    assert_array_equal(data.X.toarray(), X[:, 1:])
    assert_array_equal(est.tasks_, [0, 1, 2])


def test_float32_kept():
    X, y = _stacked()
    data = validate_fit_data(Probe(task_column=0), X.astype(np.float32), y)
    assert data.X.dtype == np.float32 and data.y.dtype == np.float32


def test_inputs_not_modified():
    X, y = _stacked()
    Y = np.column_stack([y, y])
    Y[0, 1] = np.nan
    copies = X.copy(), y.copy(), Y.copy()
    validate_fit_data(Probe(task_column=0), X, y)
    validate_fit_data(Probe(), X, Y)
    assert_array_equal(X, copies[0])
    assert_array_equal(y, copies[1])
    assert_array_equal(Y, copies[2])


def test_one_sample_task_accepted():
    X, y = _stacked()
    X = np.vstack([X, [[7, 0.0, 1.0, 2.0]]])
    est = Probe(task_column=0)
    data = validate_fit_data(est, X, np.append(y, 1.0))
    assert_array_equal(data.task_sizes(), [4, 4, 4, 1])


def test_stacked_layout_memory_is_linear():
    """Nothing of size n_samples * n_tasks is allocated (2,000 tasks x 5 rows)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n_tasks, rows, d = 2000, 5, 4
    X = np.column_stack(
        [np.repeat(np.arange(n_tasks), rows), rng.standard_normal((n_tasks * rows, d))]
    )
    y = rng.standard_normal(n_tasks * rows)
    tracemalloc.start()
    data = validate_fit_data(Probe(task_column=0), X, y)
    data.task_indices(), data.task_sizes(), data.task_weight_sums()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n = n_tasks * rows
    assert peak < 20 * X.nbytes  # O(n d); an (n, T) float array alone is 400x X
    assert peak < n * n_tasks * 8 / 50


def test_mixed_strings_and_floats_is_not_called_missing():
    with pytest.raises(ValueError, match="all numbers or all strings"):
        encode_task_labels(np.array(["a", 1.5], dtype=object))
    with pytest.raises(ValueError, match="missing labels"):
        encode_task_labels(np.array(["a", np.nan], dtype=object))


def test_string_labels_sorted_and_round_trip():
    labels = np.array(["b", "a", "c", "a"], dtype=object)
    tasks, codes = encode_task_labels(labels)
    assert list(tasks) == ["a", "b", "c"] and list(codes) == [1, 0, 2, 0]
    assert_array_equal(encode_known_tasks(np.array(["c", "a"]), tasks), [2, 0])
    with pytest.raises(ValueError, match="Unknown"):
        encode_known_tasks(np.array([1, 2]), tasks)


@pytest.mark.parametrize(
    "column",
    [
        lambda pd: pd.array(["a", "b", pd.NA, "a", "b", "a"], dtype="string"),
        lambda pd: pd.array([1, 2, None, 1, 2, 1], dtype="Int64"),
        lambda pd: pd.Categorical(["a", "b", None, "a", "b", "a"]),
        lambda pd: pd.Series(["a", "b", None, "a", "b", "a"], dtype=object),
        lambda pd: pd.Series([1.0, 2.0, np.nan, 1.0, 2.0, 1.0]),
    ],
    ids=["string-NA", "Int64-NA", "categorical", "object-None", "float-NaN"],
)
def test_missing_task_label_in_pandas_column_has_one_message(column):
    # issue 10, defect 4: pd.NA in a "string" column was reported as "a mix of
    # ['NAType', 'str']"; every missing label now gets the same message
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"task": column(pd), "x": np.arange(6.0)})
    with pytest.raises(ValueError, match=r"missing labels \(None/NaN/pd\.NA\)"):
        validate_fit_data(Probe(task_column="task"), X, np.arange(6.0))


# reset=False: partial fits and warm starts


def _stacked_labels(labels, seed=0):
    rng = np.random.RandomState(seed)
    X = np.column_stack([np.asarray(labels, dtype=object), rng.rand(len(labels), 2)])
    return X, rng.rand(len(labels))


def test_reset_false_encodes_against_fitted_tasks():
    est = Probe(task_column=0)
    X, y = _stacked_labels(["a", "b", "c", "a"])
    validate_fit_data(est, X, y)
    X2, y2 = _stacked_labels(["c", "c", "a"], seed=1)
    data = validate_fit_data(est, X2, y2, reset=False)
    assert list(data.tasks) == ["a", "b", "c"]
    assert_array_equal(data.task_codes, [2, 2, 0])
    assert_array_equal(data.task_sizes(), [1, 0, 2])  # task "b" absent: fine
    assert list(est.tasks_) == ["a", "b", "c"]


def test_reset_false_rejects_unseen_task_and_feature_change():
    est = Probe(task_column=0)
    validate_fit_data(est, *_stacked_labels(["a", "b"]))
    with pytest.raises(ValueError, match="'zz'"):
        validate_fit_data(est, *_stacked_labels(["a", "zz"]), reset=False)
    X, y = _stacked_labels(["a", "b"])
    with pytest.raises(ValueError, match="features"):
        validate_fit_data(est, X[:, :2], y, reset=False)


def test_reset_false_rejects_layout_change():
    est = Probe()
    rng = np.random.RandomState(0)
    X = rng.rand(6, 3)
    validate_fit_data(est, X, rng.rand(6, 3))
    with pytest.raises(ValueError, match="layout"):
        validate_fit_data(est, X, rng.rand(6, 2), reset=False)
    with pytest.raises(ValueError, match="layout"):
        validate_fit_data(est, X, rng.rand(6), reset=False)
    est.set_params(task_column=0)
    with pytest.raises(ValueError, match="must not change"):
        validate_fit_data(est, X, rng.rand(6), reset=False)


def test_zero_weight_only_checked_for_tasks_with_rows():
    est = Probe(task_column=0)
    validate_fit_data(est, *_stacked_labels(["a", "b", "b"]))
    X, y = _stacked_labels(["a", "a", "b"])
    validate_fit_data(est, X[:2], y[:2], sample_weight=[1.0, 0.0], reset=False)
    with pytest.raises(ValueError, match=r"\['a'\] have zero total sample_weight"):
        validate_fit_data(est, X, y, sample_weight=[0.0, 0.0, 1.0], reset=False)


# unseen task codes, stacked rows of the shared layout, classifier score


def test_encode_known_tasks_allow_unseen():
    tasks = np.array(["a", "c"], dtype=object)
    codes = encode_known_tasks(np.array(["c", "b", "a"]), tasks, allow_unseen=True)
    assert_array_equal(codes, [1, -1, 0])
    assert_array_equal(
        encode_known_tasks(np.array([1, 2]), tasks, allow_unseen=True), [-1, -1]
    )
    with pytest.raises(ValueError, match="'b'"):
        encode_known_tasks(np.array(["c", "b"]), tasks)


def test_stacked_rows_of_the_shared_layout_skip_missing():
    X = np.arange(6.0).reshape(3, 2)
    y = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 6.0]])
    mask = np.array([[True, True], [True, False], [True, True]])
    data = TaskData(X, y, None, mask, np.array([1.0, 2.0, 3.0]), np.arange(2), "shared")
    rows, task, ys, sw = data.stacked_rows()
    assert_array_equal(rows, [0, 1, 2, 0, 2])
    assert_array_equal(task, [0, 0, 0, 1, 1])
    assert_array_equal(ys, [1, 3, 5, 2, 6])
    assert_array_equal(sw, [1, 2, 3, 1, 3])


class _Fixed(MultiTaskClassifierMixin):
    def __init__(self, pred):
        self.pred = pred

    def predict(self, X):
        return self.pred


def test_classifier_score_ignores_missing_targets():
    pred = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    y = np.array([[0.0, np.nan], [0.0, 1.0], [1.0, 1.0]])
    assert _Fixed(pred).score(None, y) == pytest.approx(3 / 5)
    assert _Fixed(pred).score(None, y, sample_weight=[1, 0, 1]) == pytest.approx(2 / 3)
    assert _Fixed(pred[:, 0]).score(None, y[:, 0]) == pytest.approx(2 / 3)


# check_task_data: the pure validation behind validate_fit_data


def _pure_cases():
    """``(name, X, y, sample_weight, task_column)`` of every layout and input kind."""
    rng = np.random.default_rng(0)
    X, y = _stacked()
    sw = rng.uniform(1, 2, 12)
    Y = rng.standard_normal((10, 3))
    Y[[1, 4], 0] = np.nan
    Xs, ys = _stacked_labels(["b", "a", "c", "a", "b", "c"])
    Y12 = rng.standard_normal((12, 2))
    Y12[3, 1] = np.nan
    df = pd.DataFrame({"x0": X[:, 1], "region": ["n", "s", "e"] * 4, "x1": X[:, 2]})
    return [
        ("stacked", X, y, sw, 0),
        ("stacked-last", X[:, ::-1], y, None, -1),
        ("stacked-sparse", sp.csr_matrix(X), y, sw, 0),
        ("shared", rng.standard_normal((10, 2)), Y, rng.uniform(1, 2, 10), None),
        ("shared-one-column", X[:, 1:], y[:, None], None, None),
        ("single", X[:, 1:], y, sw, None),
        ("string-labels", Xs, ys, None, 0),
        ("pandas", df, pd.Series(y), sw, "region"),
        ("pandas-shared", df.drop(columns="region"), pd.DataFrame(Y12), None, None),
    ]


def _assert_same_data(a, b):
    for name in ("X", "y", "task_codes", "mask", "sample_weight"):
        left, right = getattr(a, name), getattr(b, name)
        if sp.issparse(left):
            assert sp.issparse(right) and left.format == right.format
            left, right = left.toarray(), right.toarray()
        assert (left is None) == (right is None), name
        if left is not None:
            assert left.dtype == right.dtype, name
            assert_array_equal(left, right, err_msg=name)
    assert a.tasks.dtype == b.tasks.dtype
    assert_array_equal(a.tasks, b.tasks)
    assert (a.layout, a.task_position) == (b.layout, b.task_position)


def _snapshot(value):
    if sp.issparse(value):
        return value.copy()
    return copy.deepcopy(value)


def _assert_unchanged(before, after):
    if sp.issparse(before):
        assert (before != after).nnz == 0
    elif hasattr(before, "equals"):  # pandas
        assert before.equals(after)
    elif before is not None:
        assert_array_equal(before, after)


def test_check_task_data_takes_no_estimator():
    params = inspect.signature(check_task_data).parameters
    assert "estimator" not in params
    assert list(params)[:3] == ["X", "y", "sample_weight"]
    keyword_only = [p.kind is p.KEYWORD_ONLY for p in list(params.values())[3:]]
    assert keyword_only and all(keyword_only)


@pytest.mark.parametrize("case", _pure_cases(), ids=lambda case: case[0])
def test_check_task_data_writes_nothing_and_matches_validate_fit_data(case):
    """The pure function returns the TaskData ``validate_fit_data`` returns and
    leaves its arguments as they were; only ``validate_fit_data`` records the
    layout (on its estimator)."""
    _, X, y, sw, task_column = case
    before = [_snapshot(v) for v in (X, y, sw)]
    data = check_task_data(X, y, sw, task_column=task_column)
    for old, new in zip(before, (X, y, sw)):
        _assert_unchanged(old, new)
    est = Probe(task_column=task_column)
    _assert_same_data(data, validate_fit_data(est, X, y, sw))
    assert est.n_tasks_ == data.n_tasks and est._task_position == data.task_position
    assert_array_equal(est.tasks_, data.tasks)
    assert est._layout == data.layout
    # fitting again does not change what the pure function returns
    _assert_same_data(data, check_task_data(X, y, sw, task_column=task_column))


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((4, 2)), None), "check_task_data requires y to be passed"),
        ((np.ones((4, 2)), np.ones(3)), "X has 4 rows but y has 3"),
        ((np.ones(4), np.ones(4)), "Expected 2D array"),
        ((np.ones((4, 2)), np.ones((4, 2)), None, 0), "y must be 1-D"),
        ((np.ones((4, 2)), np.ones(4), None, 5), "out of range"),
        ((np.ones((4, 2)), np.ones(4), None, "task"), "needs X to be a pandas"),
        ((np.ones((4, 2)), np.ones(4), -np.ones(4)), "Negative values"),
    ],
)
def test_check_task_data_errors_are_validate_fit_data_errors(args, match):
    """Same inputs, same errors (only the y=None message names the caller)."""
    X, y, sw, task_column = (*args, None, None)[:4]
    with pytest.raises(ValueError, match=match) as pure:
        check_task_data(X, y, sw, task_column=task_column)
    with pytest.raises(ValueError) as fit:
        validate_fit_data(Probe(task_column=task_column), X, y, sw)
    if y is None:
        assert str(fit.value).startswith("Probe requires y to be passed")
    else:
        assert str(pure.value) == str(fit.value)


def test_check_task_data_against_known_tasks():
    """``tasks`` (a fitted ``tasks_``): labels are encoded against them, as in a
    partial fit; an unknown one is named."""
    X, y = _stacked_labels(["a", "b", "c", "a"])
    tasks = np.array(["a", "b", "c", "d"], dtype=object)
    data = check_task_data(X[:2], y[:2], task_column=0, tasks=tasks)
    assert data.tasks is tasks and data.n_tasks == 4
    assert_array_equal(data.task_codes, [0, 1])
    with pytest.raises(ValueError, match="Unknown task label"):
        check_task_data(X, y, task_column=0, tasks=tasks[:2])


def test_check_task_data_multi_output_decides_a_one_column_y():
    X, y = np.ones((5, 2)), np.arange(5.0)[:, None]
    assert check_task_data(X, y).layout == "shared"
    with pytest.warns(UserWarning, match="column-vector y"):
        single = check_task_data(X, y, multi_output=False)
    assert single.layout == "single" and single.y.shape == (5,)


@pytest.mark.parametrize("reset", [True, False])
def test_warm_start_names_new_and_missing_tasks(reset):
    """``warm_start`` (with ``reset=False`` as the MLPs continue a fit) checks
    the labels of this fit against ``tasks_`` with its own message, not as an
    unknown label."""
    est = Probe(task_column=0)
    validate_fit_data(est, *_stacked_labels(["a", "b", "c"]))
    data = validate_fit_data(
        est, *_stacked_labels(["c", "a", "b"]), reset=reset, warm_start=True
    )
    assert_array_equal(data.tasks, ["a", "b", "c"])
    assert_array_equal(data.task_codes, [2, 0, 1])
    cases = [(["a", "b", "z"], "new 'z', missing 'c'"), (["a"], "new none")]
    for labels, shown in cases:
        with pytest.raises(ValueError, match=f"warm_start=True.*{shown}"):
            validate_fit_data(
                est, *_stacked_labels(labels), reset=reset, warm_start=True
            )
