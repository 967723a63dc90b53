"""Does sharing help each task? Paired cross-validated gains over baselines."""

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone, is_classifier

from .._compat import Interval, StrOptions, safe_indexing, validate_params
from .._data import encode_task_labels, resolve_task_column, split_task_column

__all__ = ["TransferReport", "transfer_report"]

# name -> (per-row loss, divide by the task's target variance, score from mean loss,
#          score is greater-is-better)
_SCORINGS = {
    "r2": ("squared", True, lambda m: 1.0 - m, True),
    "nmse": ("squared", True, lambda m: m, False),
    "mse": ("squared", False, lambda m: m, False),
    "mae": ("absolute", False, lambda m: m, False),
    "accuracy": ("zero_one", False, lambda m: 1.0 - m, True),
}
_REGRESSION_ONLY = ("r2", "nmse", "mse", "mae")

HELPED, NO_EFFECT, HURT, NOT_TESTED = "helped", "no clear effect", "hurt", "not tested"
VERDICT_COLORS = {
    HELPED: "#1b9e77",
    NO_EFFECT: "#9e9e9e",
    HURT: "#d95f02",
    NOT_TESTED: "#ffffff",
}


def row_losses(y_true, y_pred, scoring):
    """Per-row loss behind ``scoring``: squared or absolute error, or 0-1 loss."""
    kind = _SCORINGS[scoring][0]
    if kind == "zero_one":
        return (np.asarray(y_true) != np.asarray(y_pred)).astype(float)
    diff = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float).ravel()
    return diff**2 if kind == "squared" else np.abs(diff)


def default_baselines(classifier, task_column):
    """Independent and pooled (+ task intercepts) baselines, each tuned by CV.

    Regression: ``RidgeCV`` (leave-one-out over 15 alphas from 1e-3 to 1e4) per task,
    and one ``RidgeCV`` on all rows with one-hot task indicators. Classification: the
    same with ``LogisticRegressionCV`` (10 values of ``C`` by 3-fold CV of the log
    loss).

    Parameters
    ----------
    classifier : bool
        Logistic baselines instead of ridge ones.
    task_column : int or str
        Task column of the ``X`` the baselines will get.

    Returns
    -------
    baselines : dict
        ``{"independent": IndependentTaskEstimator, "pooled": PooledTaskEstimator}``.

    See Also
    --------
    transfer_report : Compares a model with these baselines, task by task.

    Examples
    --------
    >>> from skmtl.inspection import default_baselines
    >>> sorted(default_baselines(False, task_column=0))
    ['independent', 'pooled']
    """
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV

    from ..baselines import IndependentTaskEstimator, PooledTaskEstimator

    if classifier:
        kwargs = {}
        params = LogisticRegressionCV().get_params()
        if isinstance(params.get("l1_ratios"), str):  # scikit-learn >= 1.8
            kwargs["l1_ratios"] = (0.0,)
        if "use_legacy_attributes" in params:
            kwargs["use_legacy_attributes"] = False
        base = LogisticRegressionCV(
            Cs=10, cv=3, scoring="neg_log_loss", max_iter=1000, **kwargs
        )
    else:
        base = RidgeCV(alphas=np.logspace(-3, 4, 15))
    return {
        "independent": IndependentTaskEstimator(base, task_column=task_column),
        "pooled": PooledTaskEstimator(
            base, task_column=task_column, task_intercepts=True
        ),
    }


def _estimator_name(estimator):
    """Class name of the model inside Pipelines, target transformers and searches."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return _estimator_name(steps[-1][1])
    if getattr(estimator, "regressor", None) is not None:  # TransformedTargetRegressor
        return _estimator_name(estimator.regressor)
    if hasattr(estimator, "param_grid") or hasattr(estimator, "param_distributions"):
        return _estimator_name(estimator.estimator)
    return type(estimator).__name__


def _fit_predict(estimator, X, y, train, test, scoring):
    fitted = clone(estimator).fit(safe_indexing(X, train), y[train])
    pred = fitted.predict(safe_indexing(X, test))
    return row_losses(y[test], pred, scoring)


def _splits(cv, X, y, task_column, n_repeats, random_state):
    from ..model_selection import TaskStratifiedKFold

    if isinstance(cv, Integral):
        out = []
        for r in range(n_repeats):
            seed = None if random_state is None else random_state + r
            splitter = TaskStratifiedKFold(
                cv, task_column=task_column, shuffle=True, random_state=seed
            )
            out.extend(splitter.split(X))
        return out
    if n_repeats != 1:
        raise ValueError("n_repeats > 1 needs cv to be an int (the number of folds).")
    if hasattr(cv, "split"):
        return list(cv.split(X, y))
    return [(np.asarray(tr), np.asarray(te)) for tr, te in cv]


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "task_column": [Integral, str],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object"],
        "baselines": [dict, list, None],
        "scoring": [StrOptions(set(_SCORINGS)), None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "correction": [StrOptions({"fdr_bh"}), None],
        "n_jobs": [Integral, None],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def transfer_report(
    estimator,
    X,
    y,
    *,
    task_column=0,
    cv=5,
    baselines=None,
    scoring=None,
    n_repeats=1,
    alpha=0.05,
    correction="fdr_bh",
    n_jobs=None,
    random_state=0,
):
    """Score a model and baselines on the same folds, to see where sharing helps.

    The model and every baseline are fitted on the same training folds and predict
    the same held-out rows, so every comparison is paired. Row ``i`` of task ``t``
    gets one loss per model, ``L_i`` (squared error for ``"r2"``, ``"nmse"`` and
    ``"mse"``, absolute error for ``"mae"``, 0-1 loss for ``"accuracy"``), averaged
    over the folds/repeats in which it was held out. Per task, with ``n_t`` held-out
    rows and paired differences ``D_i = L_i(baseline) - L_i(model)``::

        gain_t = mean_i D_i / s_t        (> 0: the model is better on task t)
        se_t   = std_i(D_i, ddof=1) / sqrt(n_t) / s_t

    where ``s_t`` is the variance of task ``t``'s held-out targets for ``"r2"`` and
    ``"nmse"`` (so ``gain_t`` is exactly the difference of the two models' R^2 on
    the task's out-of-fold predictions) and 1 otherwise. Scores are computed on the
    out-of-fold predictions of all of a task's rows, not per fold, so a task with
    two test rows per fold still gets a stable score.

    **Flagging rule.** Each task gets the two-sided paired t-test p-value of
    ``gain_t`` (``t = gain_t / se_t`` with ``n_t - 1`` degrees of freedom). With
    ``correction="fdr_bh"`` (default) the p-values of the tasks are adjusted by
    Benjamini-Hochberg; a task whose (adjusted) p-value is at most ``alpha`` is
    "helped" (``gain_t > 0``) or "hurt" (``gain_t < 0``, negative transfer),
    the others "no clear effect"; tasks with fewer than 2 held-out rows are "not
    tested". Benjamini-Hochberg controls the false discovery rate at ``alpha``;
    when the model and the baseline do not really differ it is the probability
    that *any* task is flagged, so **with no real difference at most a fraction
    ``alpha`` of reports flag one or more tasks** (measured in the tests: 200 data
    sets of 10 tasks and two equally good models, 3% of the reports flag a task).
    With ``correction=None`` each task is tested at level ``alpha`` on its own, so
    about ``alpha * n_tasks`` tasks are flagged with no real difference (measured:
    5.75% of the tasks at ``alpha = 0.05``).

    The summary per baseline holds the mean gain over tasks (with its standard
    error across tasks), the wins/ties/losses (sign of ``gain_t``), the counts of
    helped/hurt tasks, and a paired test across tasks: the Wilcoxon signed-rank
    test of the per-task gains.

    Parameters
    ----------
    estimator : estimator object
        The multi-task model (or a Pipeline ending in one) taking the task label in
        column ``task_column`` of ``X``.
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
        Stacked layout: the task label is a column of ``X``.
    y : array-like of shape (n_samples,)
        Targets (stacked layout).
    task_column : int or str, default=0
        Column of ``X`` with the task labels (as in ``estimator``); the default
        baselines and the folds read it.
    cv : int, cross-validation generator or iterable, default=5
        An int: that many folds of
        :class:`~skmtl.model_selection.TaskStratifiedKFold` (shuffled), repeated
        ``n_repeats`` times. Otherwise a splitter or ``(train, test)`` pairs; a row
        held out several times gets its mean loss.
    baselines : dict, list or None, default=None
        ``{name: estimator}`` (or a list, named by class). None: ``"independent"``
        and ``"pooled"`` (+ task intercepts), each tuned, see
        :func:`default_baselines`.
    scoring : {"r2", "nmse", "mse", "mae", "accuracy"}, default=None
        None: ``"accuracy"`` for a classifier, ``"r2"`` otherwise.
    n_repeats : int, default=1
        Repeats of the K-fold split (``cv`` an int), with seeds ``random_state + r``.
    alpha : float in (0, 1), default=0.05
        Level of the flagging rule.
    correction : {"fdr_bh"} or None, default="fdr_bh"
        Multiple-testing correction across tasks.
    n_jobs : int, default=None
        Fits run in parallel by joblib (over models and folds), so a joblib backend
        such as dask's runs them on a cluster.
    random_state : int or None, default=0
        Seed of the shuffled folds (``cv`` an int).

    Returns
    -------
    report : TransferReport
        The per-task gains, tests and verdicts.

    See Also
    --------
    default_baselines : The baselines used by default.
    skmtl.inspection.task_similarity : Which tasks the model finds alike.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.inspection import transfer_report
    >>> from skmtl.linear_model import HierarchicalRidge
    >>> X, y = make_multitask_regression(5, 30, 5, structure="mean", random_state=0)
    >>> report = transfer_report(HierarchicalRidge(), X, y, task_column=0, cv=3)
    >>> report.summary["independent"]["wins"] + report.summary["independent"]["losses"]
    5
    >>> report.verdicts["pooled"].shape
    (5,)
    """
    classifier = is_classifier(estimator)
    if scoring is None:
        scoring = "accuracy" if classifier else "r2"
    if classifier and scoring in _REGRESSION_ONLY:
        raise ValueError(f"scoring={scoring!r} needs a regressor; use 'accuracy'.")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            "transfer_report needs the stacked layout: 1-D y and the task label in a "
            f"column of X; got y of shape {y.shape}."
        )
    position = resolve_task_column(task_column, X)
    labels, codes = encode_task_labels(split_task_column(X, position)[0])
    if baselines is None:
        baselines = default_baselines(classifier, task_column)
    elif isinstance(baselines, list):
        named = {}
        for b in baselines:
            name = _estimator_name(b)
            named[name if name not in named else f"{name}_{len(named)}"] = b
        baselines = named
    if not baselines:
        raise ValueError("baselines must name at least one baseline estimator.")
    name = _estimator_name(estimator)
    if name in baselines:
        name = f"{name} (model)"
    splits = _splits(cv, X, y, task_column, n_repeats, random_state)
    models = {name: estimator, **baselines}
    jobs = [(m, k) for m in models for k in range(len(splits))]
    losses = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(models[m], X, y, *splits[k], scoring) for m, k in jobs
    )
    fold_losses = {m: [] for m in models}
    for (m, k), loss in zip(jobs, losses):
        fold_losses[m].append((splits[k][1], loss))
    return TransferReport._from_losses(
        y,
        codes,
        labels,
        splits,
        fold_losses,
        model=name,
        baselines=list(baselines),
        scoring=scoring,
        alpha=alpha,
        correction=correction,
        task_column=task_column,
    )


def _task_sums(codes, n_tasks, values, mask):
    return np.bincount(codes[mask], weights=values[mask], minlength=n_tasks)


def _wilcoxon(gains):
    g = gains[np.isfinite(gains)]
    if np.count_nonzero(g) == 0:
        return 1.0
    try:
        return float(stats.wilcoxon(g, zero_method="wilcox").pvalue)
    except ValueError:
        return 1.0


class TransferReport:
    """Per-task paired gains of a multi-task model over baselines.

    Built by :func:`transfer_report`; read it with :meth:`to_frame`, :meth:`plot`,
    ``str(report)`` (the verdict in words), :meth:`hurt_tasks` and
    :meth:`sample_weight` (to act on negative transfer).

    Attributes
    ----------
    model : str
        Name of the model under study.
    baselines : list of str
    scoring : str
    tasks : ndarray of shape (n_tasks,)
        Sorted task labels.
    n_train : ndarray of shape (n_tasks,)
        Training rows of each task, averaged over the folds.
    n_test : ndarray of shape (n_tasks,)
        Held-out rows of each task (each counted once).
    scores : dict of ndarray of shape (n_tasks,)
        Per-task score of the model and of each baseline on the out-of-fold
        predictions (``scoring``'s natural units: R^2, accuracy, MSE ...).
    gains, gain_se, p_values, p_adjusted : dict of ndarray of shape (n_tasks,)
        Per baseline: ``gain_t`` (> 0: the model is better), its standard error,
        the two-sided paired t-test p-value and the corrected p-value.
    verdicts : dict of ndarray of str
        Per baseline: "helped", "no clear effect", "hurt" or "not tested".
    summary : dict of dict
        Per baseline: ``mean_gain``, ``mean_gain_se``, ``median_gain``, ``wins``,
        ``ties``, ``losses``, ``helped``, ``hurt``, ``wilcoxon_p``, ``n_tasks``.
    alpha, correction : float, str or None
        The flagging rule's level and correction.

    See Also
    --------
    transfer_report : Builds the report.

    Examples
    --------
    >>> from skmtl.datasets import make_multitask_regression
    >>> from skmtl.inspection import transfer_report
    >>> from skmtl.linear_model import HierarchicalRidge
    >>> X, y = make_multitask_regression(n_tasks=4, n_samples=30, structure="mean",
    ...                                  random_state=0)
    >>> report = transfer_report(HierarchicalRidge(task_column=0), X, y, cv=3)
    >>> report.baselines
    ['independent', 'pooled']
    >>> weights = report.sample_weight(X)  # 0 on the rows of the hurt tasks
    >>> weights.shape
    (120,)
    """

    @classmethod
    def _from_losses(
        cls,
        y,
        codes,
        labels,
        splits,
        fold_losses,
        *,
        model,
        baselines,
        scoring,
        alpha,
        correction,
        task_column,
    ):
        """Aggregate per-fold row losses ``{name: [(test rows, losses), ...]}``."""
        self = cls()
        n, T = len(codes), len(labels)
        self.model, self.baselines, self.scoring = model, list(baselines), scoring
        self.tasks, self.alpha, self.correction = labels, alpha, correction
        self.task_column = task_column
        self.n_train = np.mean(
            [np.bincount(codes[tr], minlength=T) for tr, _ in splits], axis=0
        )
        mean_loss = {}
        count = None
        for name, parts in fold_losses.items():
            total, hits = np.zeros(n), np.zeros(n)
            for rows, loss in parts:
                np.add.at(total, rows, loss)
                np.add.at(hits, rows, 1.0)
            if count is None:
                count = hits
            elif not np.array_equal(count, hits):
                raise ValueError(f"{name} was not scored on the same rows.")
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_loss[name] = total / hits
        tested = count > 0
        n_t = np.bincount(codes[tested], minlength=T).astype(float)
        self.n_test = n_t.astype(int)
        normalise, to_score = _SCORINGS[scoring][1], _SCORINGS[scoring][2]
        if normalise:
            yt = y.astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_t = _task_sums(codes, T, yt, tested) / n_t
                var_t = _task_sums(codes, T, (yt - mean_t[codes]) ** 2, tested) / n_t
            scale = np.where(var_t > 0, var_t, np.nan)
        else:
            scale = np.ones(T)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.scores = {
                m: to_score(_task_sums(codes, T, mean_loss[m], tested) / n_t / scale)
                for m in fold_losses
            }
        self.gains, self.gain_se, self.p_values = {}, {}, {}
        self.p_adjusted, self.verdicts, self.summary = {}, {}, {}
        for b in self.baselines:
            D = np.where(tested, mean_loss[b] - mean_loss[model], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_d = _task_sums(codes, T, D, tested) / n_t
                ss = _task_sums(codes, T, (D - mean_d[codes]) ** 2, tested)
                se_d = np.sqrt(ss / (n_t - 1) / n_t)
                gain, se = mean_d / scale, se_d / scale
                tstat = mean_d / se_d
            ok = (n_t >= 2) & np.isfinite(gain)
            p = np.full(T, np.nan)
            p[ok] = 2 * stats.t.sf(np.abs(tstat[ok]), n_t[ok] - 1)
            exact = ok & (se_d == 0)
            p[exact] = np.where(mean_d[exact] == 0, 1.0, 0.0)
            p_adj = p.copy()
            if correction == "fdr_bh" and ok.any():
                p_adj[ok] = stats.false_discovery_control(p[ok], method="bh")
            verdict = np.full(T, NOT_TESTED, dtype=object)
            verdict[ok] = NO_EFFECT
            verdict[ok & (p_adj <= alpha) & (gain > 0)] = HELPED
            verdict[ok & (p_adj <= alpha) & (gain < 0)] = HURT
            gain = np.where(ok, gain, np.nan)
            self.gains[b], self.gain_se[b] = gain, np.where(ok, se, np.nan)
            self.p_values[b], self.p_adjusted[b], self.verdicts[b] = p, p_adj, verdict
            self.summary[b] = self._summarise(gain, verdict)
        return self

    @staticmethod
    def _summarise(gain, verdict):
        g = gain[np.isfinite(gain)]
        tie = np.isclose(g, 0.0, rtol=0.0, atol=1e-12)
        return {
            "n_tasks": int(g.size),
            "mean_gain": float(g.mean()) if g.size else np.nan,
            "mean_gain_se": float(g.std(ddof=1) / np.sqrt(g.size))
            if g.size > 1
            else np.nan,
            "median_gain": float(np.median(g)) if g.size else np.nan,
            "wins": int(np.sum((g > 0) & ~tie)),
            "ties": int(np.sum(tie)),
            "losses": int(np.sum((g < 0) & ~tie)),
            "helped": int(np.sum(verdict == HELPED)),
            "hurt": int(np.sum(verdict == HURT)),
            "wilcoxon_p": _wilcoxon(g),
        }

    def _baseline(self, baseline):
        if baseline is None:
            return self.baselines[0]
        if baseline not in self.baselines:
            raise ValueError(
                f"Unknown baseline {baseline!r}; this report has {self.baselines}."
            )
        return baseline

    # ------------------------------------------------------------------ reading
    def hurt_tasks(self, baseline=None):
        """Return the labels of the tasks flagged "hurt" (negative transfer).

        Parameters
        ----------
        baseline : str, default=None
            The baseline compared with (default: the first one, "independent" by
            default).

        Returns
        -------
        tasks : ndarray
            Labels of the tasks the model does significantly worse on than on
            ``baseline``.
        """
        b = self._baseline(baseline)
        return self.tasks[self.verdicts[b] == HURT]

    def _summary_text(self, baseline, digits, limit):
        """The summary of ``baseline`` as text pieces, numbers formatted (``digits``
        decimals for the gains, the first ``limit`` hurt tasks): for ``__str__``
        and the verdict of ``skmtl compare``."""
        s = self.summary[baseline]
        return {
            "gain": f"mean gain {s['mean_gain']:+.{digits}f}",
            "se": f"± {s['mean_gain_se']:.{digits}f}",
            "record": f"wins/ties/losses {s['wins']}/{s['ties']}/{s['losses']}",
            "p": f"Wilcoxon p = {s['wilcoxon_p']:.2g}",
            "flagged": f"helped {s['helped']}, hurt {s['hurt']}",
            "hurt_list": self._hurt_list(baseline, limit),
        }

    def _hurt_list(self, baseline, limit):
        """The hurt tasks as text: the first ``limit`` labels, then " ..."."""
        hurt = self.hurt_tasks(baseline).tolist()
        return ", ".join(map(str, hurt[:limit])) + (" ..." if len(hurt) > limit else "")

    def task_weights(self, baseline=None, *, hurt_weight=0.0):
        """Return a weight per task that excludes or down-weights the hurt tasks.

        Parameters
        ----------
        baseline : str, default=None
            The baseline compared with (default: the first one).
        hurt_weight : float, default=0.0
            Weight of the tasks flagged "hurt" against ``baseline``.

        Returns
        -------
        weights : dict
            ``{task label: weight}``: ``hurt_weight`` for the hurt tasks, 1 for the
            others.
        """
        hurt = set(self.hurt_tasks(baseline).tolist())
        return {t: (hurt_weight if t in hurt else 1.0) for t in self.tasks.tolist()}

    def sample_weight(self, X, baseline=None, *, hurt_weight=0.0):
        """Per-row weights that exclude or down-weight the tasks hurt by sharing.

        Rows of tasks flagged "hurt" against ``baseline`` get ``hurt_weight``, the
        others 1. Two ways to act on negative transfer:

        - **exclude** (``hurt_weight=0``): fit the multi-task model on the rows
          with weight > 0 only, fit the flagged tasks with the baseline (each task
          on its own), and predict each task with its model. This works for every
          model.
        - **down-weight** (``0 < hurt_weight < 1``): pass the weights as
          ``sample_weight`` to a model whose loss counts each row once (e.g.
          :class:`~skmtl.baselines.PooledTaskEstimator`, or an MLP with
          ``task_weighting="size"``), so the flagged tasks pull less on what is shared.
          Models that average each task's loss over its own rows (the skmtl
          linear models' ``1/n_t`` convention) cancel a weight given to a whole
          task: for them, exclude.

        ``examples/plot_negative_transfer.py`` measures both.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_columns)
            Holds the task labels in the report's ``task_column``.
        baseline : str, default=None
            The baseline compared with (default: the first one).
        hurt_weight : float, default=0.0
            Weight of the rows of the tasks flagged "hurt" against ``baseline``.

        Returns
        -------
        sample_weight : ndarray of shape (n_samples,)
            ``hurt_weight`` on the rows of hurt tasks, 1 elsewhere.
        """
        position = resolve_task_column(self.task_column, X)
        task = np.asarray(split_task_column(X, position)[0])
        hurt = self.hurt_tasks(baseline)
        return np.where(np.isin(task, hurt), float(hurt_weight), 1.0)

    def to_frame(self):
        """Return the report as a table, one row per (task, baseline).

        Columns: task, n_train, n_test, baseline, the two scores, gain, gain_se,
        p_value, p_adjusted, verdict.

        Returns
        -------
        frame : pandas.DataFrame or dict
            The table; a dict of 1-D arrays when pandas is not installed.
        """
        cols = {k: [] for k in ("task", "n_train", "n_test", "baseline")}
        cols.update({"score_model": [], "score_baseline": [], "gain": []})
        cols.update({"gain_se": [], "p_value": [], "p_adjusted": [], "verdict": []})
        for b in self.baselines:
            cols["task"].append(self.tasks)
            cols["n_train"].append(self.n_train)
            cols["n_test"].append(self.n_test)
            cols["baseline"].append(np.full(len(self.tasks), b, dtype=object))
            cols["score_model"].append(self.scores[self.model])
            cols["score_baseline"].append(self.scores[b])
            cols["gain"].append(self.gains[b])
            cols["gain_se"].append(self.gain_se[b])
            cols["p_value"].append(self.p_values[b])
            cols["p_adjusted"].append(self.p_adjusted[b])
            cols["verdict"].append(self.verdicts[b])
        out = {k: np.concatenate(v) for k, v in cols.items()}
        try:
            import pandas as pd
        except ImportError:
            return out
        frame = pd.DataFrame(out)
        frame.attrs["model"] = self.model
        frame.attrs["scoring"] = self.scoring
        return frame

    def __str__(self):
        lines = [
            f"{self.model}: per-task {self.scoring} on out-of-fold predictions, "
            f"{len(self.tasks)} tasks; gain > 0 means {self.model} is better."
        ]
        for b in self.baselines:
            t = self._summary_text(b, digits=4, limit=8)
            shown = t["hurt_list"]
            lines.append(
                f"  vs {b}: {t['gain']} ({t['se']} over tasks), {t['record']}, "
                f"{t['p']}; {t['flagged']}" + (f" ({shown})" if shown else "")
            )
        return "\n".join(lines)

    def __repr__(self):
        return f"<TransferReport {self.model} vs {self.baselines}>"

    def plot(self, ax=None, baseline=None, *, clip=True):
        """Per-task gains over ``baseline``, sorted, with 95% intervals.

        Bars are coloured by verdict (helped, no clear effect, hurt); a zero line
        marks "no difference". With ``clip=True`` the axis spans the bulk of the
        intervals and values beyond it are drawn at the edge as triangles.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            None: a new figure.
        baseline : str, default=None
            Default: the first baseline.
        clip : bool, default=True
            Span the bulk of the intervals; draw values beyond it at the edge.

        Returns
        -------
        ax : matplotlib Axes
            The axes drawn on.
        """
        b = self._baseline(baseline)
        return plot_gains(
            self.gains[b],
            self.gain_se[b],
            self.verdicts[b],
            self.tasks,
            ax=ax,
            clip=clip,
            ylabel=f"{self.scoring} gain (> 0: better)",
            title=f"{self.model} vs {b}",
        )


def _robust_limits(low, high):
    """Axis limits covering the interval ends within 10 scaled median absolute
    deviations (``1.4826 MAD``, a robust standard deviation) of their median, with
    room, always including 0. Values beyond them are drawn clipped."""
    ends = np.concatenate([low, high])
    med = np.median(ends)
    spread = 1.4826 * np.median(np.abs(ends - med))
    inside = ends[np.abs(ends - med) <= 10 * spread] if spread > 0 else ends
    lo, hi = min(inside.min(), 0.0), max(inside.max(), 0.0)
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def plot_gains(gain, se, verdict, tasks, *, ax=None, clip=True, ylabel="", title=""):
    """Bar chart of per-task gains, sorted, with 95% intervals and verdict colours."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(min(2 + 0.12 * len(gain), 12), 4))
    ok = np.isfinite(gain)
    order = np.flatnonzero(ok)[np.argsort(gain[ok], kind="stable")]
    g, half = gain[order], 1.96 * np.nan_to_num(se[order])
    v = verdict[order]
    x = np.arange(len(order))
    colors = [VERDICT_COLORS[k] for k in v]
    if clip and len(g):
        lo, hi = _robust_limits(g - half, g + half)
    else:
        lo, hi = (None, None)
    shown = g if lo is None else np.clip(g, lo, hi)
    ax.bar(x, shown, color=colors, width=0.85, edgecolor="none")
    ax.errorbar(x, shown, yerr=half, fmt="none", ecolor="0.25", lw=0.8, capsize=0)
    ax.axhline(0.0, color="k", lw=1)
    if lo is not None:
        ax.set_ylim(lo, hi)
        above, below = g > hi, g < lo
        for beyond, edge, marker in ((above, hi, "^"), (below, lo, "v")):
            if beyond.any():  # (an empty unclipped line would stretch the layout)
                ax.plot(
                    x[beyond],
                    np.full(beyond.sum(), edge),
                    marker,
                    color="k",
                    clip_on=False,
                )
        n_clip = int(above.sum() + below.sum())
        if n_clip:
            ax.text(
                0.01,
                0.98,
                f"{n_clip} value(s) beyond the axis (triangles)",
                transform=ax.transAxes,
                va="top",
                fontsize=8,
            )
    if len(order) <= 40:
        ax.set_xticks(x, [str(t) for t in tasks[order]], rotation=90, fontsize=7)
    else:
        ax.set_xlabel(f"tasks, sorted by gain ({len(order)})")
    counts = {k: int(np.sum(v == k)) for k in (HELPED, NO_EFFECT, HURT)}
    ax.legend(
        handles=[
            Patch(color=VERDICT_COLORS[k], label=f"{k} ({counts[k]})") for k in counts
        ],
        loc="best",
        fontsize=8,
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax
