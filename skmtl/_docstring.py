"""The one docstring-fragment mechanism: named fragments substituted into docstrings.

A text repeated in several docstrings (a parameter description, an objective) is
written once, registered under a name with :func:`register`, and referenced by a
placeholder ``%(name)s`` in the docstrings that need it; :func:`fill_doc`
substitutes the placeholders.

Rules, chosen so that a docstring never has to escape anything:

- Substitution is by regular expression, never by ``%``-formatting or
  :meth:`str.format`: a literal ``%``, ``{`` or ``}`` in the text is left as it is.
  Only ``%(name)s`` with ``name`` a dotted identifier is a placeholder.
- A placeholder alone on its line is replaced by the fragment re-indented to the
  placeholder's indentation (a fragment is registered dedented, so the same text
  fits a class docstring and a method docstring). A placeholder inside a line is
  replaced by the fragment's first line; its other lines, dedented together,
  continue at the indentation of the placeholder's line (text continuing a
  sentence, e.g. ``default=%(tol)s`` or a note ending a parameter's paragraph).
- A placeholder alone on its line whose fragment is empty removes the line (an
  optional block or paragraph leaves no blank line behind); inside a line an
  empty fragment is just removed.
- Fragments may contain placeholders themselves (substituted recursively), e.g.
  a family's parameter block reusing the canonical ``task_column`` text.
- An unknown name raises a KeyError at import time, naming the placeholder, so a
  typo can never leak into the rendered documentation. Registering a different
  text under an existing name raises as well.

Fragments shared by every family live here (``task_column``, ``X_fit``,
``X_predict``, ``X_predict_returns``, ``fit_sections``, ``fit_parameters``,
``predict_sections``, ``log_proba_sections``, ``returns_self``,
``layout_attributes``). A family
registers its own in its module with a prefix (``kernel.*`` in
``skmtl._kernel._docs``, ``datasets.*``, ``hierarchical.*``), or passes a table of
them, defaults included, to :func:`fill_doc` (``skmtl.neural_network._docs``,
``skmtl.linear_model._docs``, ``skmtl.linear_model._cv_path``).
"""

import re
import textwrap

__all__ = ["FRAGMENTS", "fill_doc", "register", "substitute"]

#: Registered fragments, by name (dedented text, no trailing newline).
FRAGMENTS = {}

_NAME = r"%\(([A-Za-z_][\w.]*)\)s"
_PLACEHOLDER = re.compile(_NAME)
# a placeholder alone on its line (groups 1-4: the newline before it, its
# indentation, name, the newline after it), or anywhere (group 5)
_ANY = re.compile(rf"(\n?)^([ \t]*){_NAME}[ \t]*$(\n?)|{_NAME}", re.M)
_MAX_DEPTH = 5


def _normalise(text):
    return textwrap.dedent(text.strip("\n")).rstrip()


def register(prefix=None, **fragments):
    """Register named docstring fragments (``prefix.name`` with a prefix).

    A fragment is stored dedented; registering another text under a taken name
    raises a ValueError.
    """
    for name, text in fragments.items():
        name = name if prefix is None else f"{prefix}.{name}"
        text = _normalise(text)
        if FRAGMENTS.get(name, text) != text:
            raise ValueError(f"docstring fragment {name!r} is already registered")
        FRAGMENTS[name] = text


def _lookup(name, extra):
    if name in extra:
        return _normalise(str(extra[name]))
    if name in FRAGMENTS:
        return FRAGMENTS[name]
    raise KeyError(
        f"unknown docstring fragment %({name})s; registered: {sorted(FRAGMENTS)}"
    )


def _indented(lines, indent):
    return "\n".join(indent + line if line else "" for line in lines)


def _replace(match, extra):
    before, indent, line_name, after, inline_name = match.groups()
    if line_name is not None:
        text = _lookup(line_name, extra)
        if not text:  # an empty fragment alone on its line: no line at all
            return before if after else ""
        return before + _indented(text.split("\n"), indent) + after
    first, *rest = _lookup(inline_name, extra).split("\n", 1)
    if not rest:
        return first
    doc = match.string
    line = doc[doc.rfind("\n", 0, match.start()) + 1 : match.start()]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return first + "\n" + _indented(textwrap.dedent(rest[0]).split("\n"), indent)


def substitute(doc, fragments=None, **extra):
    """Return ``doc`` with every ``%(name)s`` replaced.

    Parameters
    ----------
    doc : str
        Docstring with placeholders.
    fragments : mapping of str to str, default=None
        Fragments for this docstring only, e.g. a family's table of defaults.
    **extra : str
        More fragments for this docstring only; they take precedence over
        ``fragments``, which take precedence over the registered ones.

    Returns
    -------
    doc : str
        The docstring with every placeholder substituted.
    """
    extra = {**(fragments or {}), **extra}
    for _ in range(_MAX_DEPTH + 1):
        if not _PLACEHOLDER.search(doc):
            return doc
        doc = _ANY.sub(lambda match: _replace(match, extra), doc)
    raise ValueError("docstring fragments nest too deeply (a fragment cycle?)")


def fill_doc(obj=None, fragments=None, **extra):
    """Decorator substituting the placeholders of a class or function docstring.

    Use bare (``@fill_doc``), with fragments for this object only
    (``@fill_doc(tol="1e-4")``, ``@fill_doc(fragments=TABLE)``), or as a call
    after the definition (``fill_doc(cls, TABLE, tol="1e-4")``); see
    :func:`substitute` for the precedence.
    """

    def decorate(target):
        target.__doc__ = substitute(target.__doc__, fragments, **extra)
        return target

    return decorate if obj is None else decorate(obj)


# ------------------------------------------------------------- shared fragments
register(
    X_fit="""\
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Training rows: the features and, in the stacked layout, the task column.""",
    X_predict="""\
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_columns)
            Rows to predict, laid out as in ``fit`` (with the task column in the
            stacked layout).""",
    # the Parameters section of a method taking ``X`` alone and the Returns
    # header: the returned value's entry follows the placeholder
    X_predict_returns="""\
        Parameters
        ----------
        %(X_predict)s

        Returns
        -------""",
    predict_sections="""\
        %(X_predict_returns)s
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            ``(n_samples, n_tasks)`` in the shared layout.""",
    # the sections of a ``predict_log_proba(X)`` that takes the log of
    # ``predict_proba`` (the estimator's summary says what its zeros are)
    log_proba_sections="""\
        %(X_predict_returns)s
        log_proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            The natural logarithm of :meth:`predict_proba`, laid out as it is
            (``-inf`` where a probability is 0).""",
    returns_self="""\
        self : object
            The fitted estimator.""",
    # the sections of a ``fit(X, y, sample_weight=None)``: the estimator names
    # what ``sample_weight`` does with ``fill_doc(sample_weight_fit=...)`` and may
    # replace the description of ``y`` with ``fill_doc(y_fit=...)``
    fit_sections="""\
        Parameters
        ----------
        %(fit_parameters)s

        Returns
        -------
        %(returns_self)s""",
    # the same parameters alone, for a method with more (``partial_fit``'s
    # ``classes``)
    fit_parameters="""\
        %(X_fit)s
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            %(y_fit)s
        sample_weight : array-like of shape (n_samples,), default=None
            %(sample_weight_fit)s""",
    y_fit="2-D in the shared layout (NaN = missing).",
    layout_attributes="""\
        tasks_ : ndarray of shape (n_tasks,)
            Task labels seen in ``fit`` (sorted), ``arange(n_tasks)`` in the shared
            layout.
        n_tasks_ : int
        n_features_in_ : int
            Number of columns of ``X`` in ``fit`` (task column included).
        feature_names_in_ : ndarray of str
            Column names of ``X`` when it is a DataFrame with string column names.""",
    task_column="""\
        task_column : int, str or None, default=None
            Column of ``X`` holding the task label (stacked layout; an int position,
            negative allowed, or a DataFrame column name). None: ``y`` is 2-D with
            one column per task (shared-design layout, NaN = missing target) or 1-D
            (a single task).""",
)
