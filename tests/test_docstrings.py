"""Every public docstring is fully substituted and passes numpydoc's validation.

Several docstrings are assembled from shared fragments (``%(name)s`` placeholders,
:mod:`skmtl._docstring`); a placeholder left behind, or a fragment indented
differently from the body, breaks the rendered documentation without failing
anything else. ``numpydoc.validate`` then checks every public class, function and
method with scikit-learn's rules (see ``IGNORED`` below).
"""

import importlib
import inspect
import re

import pytest

from skmtl._docstring import FRAGMENTS, fill_doc, register, substitute

MODULES = [
    "skmtl.baselines",
    "skmtl.datasets",
    "skmtl.inspection",
    "skmtl.kernel_ridge",
    "skmtl.kernels",
    "skmtl.linear_model",
    "skmtl.metrics",
    "skmtl.model_selection",
    "skmtl.neural_network",
    "skmtl.svm",
    "skmtl.utils",
]


def _public():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield f"{module_name}.{name}", getattr(module, name)


PUBLIC = dict(_public())


@pytest.mark.parametrize("obj", PUBLIC.values(), ids=PUBLIC.keys())
def test_docstring_is_substituted_and_aligned(obj):
    doc = inspect.getdoc(obj)  # common indentation removed
    assert doc, "missing docstring"
    assert "%(" not in doc, "a docstring fragment was not substituted"
    lines = doc.splitlines()
    for i, line in enumerate(lines[1:], start=1):
        if re.fullmatch(r"\s*-{3,}", line) and len(lines[i - 1].strip()) == len(
            line.strip()
        ):
            # a numpydoc section header and its underline start the line
            assert not line.startswith(" "), f"indented section {lines[i - 1]!r}"
            assert not lines[i - 1].startswith(" ")
    if "Parameters" in lines:
        start = lines.index("Parameters") + 2
        assert lines[start] and not lines[start].startswith(" "), lines[start]


# ---------------------------------------------------------------- numpydoc validation
# Error codes ignored everywhere, as scikit-learn's sklearn/tests/test_docstrings.py
# does (https://numpydoc.readthedocs.io/en/latest/validation.html):
#   GL01, GL02: where the summary starts and the closing quotes sit (layout only);
#   RT02: a Returns entry may name the returned object (``K : ndarray of ...``).
IGNORED = {"GL01", "GL02", "RT02"}
# Only a class or function needs an extended summary, a See Also section and an
# example; its methods are documented by them (scikit-learn's rule).
IGNORED_FOR_METHODS = {"ES01", "SA01", "EX01"}
# A property has no parameters nor a parsable signature (scikit-learn's rule).
IGNORED_FOR_PROPERTIES = {"PR02", "GL08"}


def _numpydoc_targets():
    """``(import path, kind)`` of every public class, function and method."""
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj):
                continue  # constants (e.g. skmtl.kernels.KERNELS)
            path = f"{module_name}.{name}"
            yield path, "object"
            if not inspect.isclass(obj):
                continue
            for attr in sorted(dir(obj)):
                if attr.startswith("_"):
                    continue
                static = inspect.getattr_static(obj, attr)
                if isinstance(static, property):
                    yield f"{path}.{attr}", "property"
                elif callable(getattr(obj, attr)):
                    yield f"{path}.{attr}", "method"


def _numpydoc_errors(path, kind):
    from numpydoc.validate import validate

    ignored = set(IGNORED)
    if kind != "object":
        ignored |= IGNORED_FOR_METHODS
    if kind == "property":
        ignored |= IGNORED_FOR_PROPERTIES
    result = validate(path)
    return [(code, msg) for code, msg in result["errors"] if code not in ignored]


NUMPYDOC_TARGETS = dict(_numpydoc_targets())
# Known failures, by name, with the reason (strict: a fixed docstring must leave
# this list). None today: every public object validates.
KNOWN_NUMPYDOC_FAILURES = {}


def _numpydoc_params():
    for path, kind in NUMPYDOC_TARGETS.items():
        reason = KNOWN_NUMPYDOC_FAILURES.get(path)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        yield pytest.param(path, kind, id=path, marks=marks)


@pytest.mark.parametrize("path, kind", list(_numpydoc_params()))
def test_numpydoc_validation(path, kind):
    errors = _numpydoc_errors(path, kind)
    assert not errors, "\n".join(f"{path}: {code} {msg}" for code, msg in errors)


# ------------------------------------------------------------ the fragment mechanism
@pytest.fixture
def restore_fragments():
    saved = dict(FRAGMENTS)
    yield
    FRAGMENTS.clear()
    FRAGMENTS.update(saved)


def test_fragment_reindented_nested_and_literal_text_kept(restore_fragments):
    register(_test_inner="a : int\n    The inner, {braces} and 100% kept.")
    register(
        _test_outer="""\
        b : float
            Outer.
        %(_test_inner)s"""
    )
    doc = """Summary with 50% and {x}.

        Parameters
        ----------
        %(_test_outer)s
        c : str
            Local, default=%(_test_value)s.
        """
    out = substitute(doc, _test_value="'x'")
    assert (
        out
        == """Summary with 50% and {x}.

        Parameters
        ----------
        b : float
            Outer.
        a : int
            The inner, {braces} and 100% kept.
        c : str
            Local, default='x'.
        """
    )


def test_inline_fragment_continues_at_the_line_indentation():
    # the later lines of a fragment inside a line (dedented together, whether
    # written flush or already indented) continue at that line's indentation,
    # also when the fragment is nested in one substituted alone on its line
    doc = """Summary.

        Parameters
        ----------
        %(_test_param)s
        """
    param = "tol : float\n    Stop at 100% of %(_test_note)s. Then more."
    expected = """Summary.

        Parameters
        ----------
        tol : float
            Stop at 100% of one
            two, {three}. Then more.
        """
    for note in ("one\ntwo, {three}", "one\n        two, {three}"):
        assert substitute(doc, _test_param=param, _test_note=note) == expected


def test_empty_fragment_alone_on_its_line_removes_the_line():
    # an optional block or note alone on its line leaves no blank line when it is
    # empty; an empty fragment inside a line is removed from it
    doc = """Summary.

        Parameters
        ----------
        a : int
            Text.
            %(_test_note)s
        %(_test_block)s
        b : int
            Default%(_test_inline)s.
        %(_test_last)s"""
    assert substitute(
        doc, _test_note="", _test_block="", _test_inline="", _test_last=""
    ) == (
        """Summary.

        Parameters
        ----------
        a : int
            Text.
        b : int
            Default."""
    )
    filled = substitute(
        doc,
        _test_note="Note.",
        _test_block="c : str\n    Block.",
        _test_inline="=1",
        _test_last="d : int",
    )
    assert filled == (
        """Summary.

        Parameters
        ----------
        a : int
            Text.
            Note.
        c : str
            Block.
        b : int
            Default=1.
        d : int"""
    )


def test_fragment_errors(restore_fragments):
    with pytest.raises(KeyError, match="_test_missing"):
        substitute("    %(_test_missing)s\n")
    register(_test_two_lines="one\ntwo")
    with pytest.raises(ValueError, match="already registered"):
        register(_test_two_lines="other")
    register(_test_two_lines="one\ntwo")  # the same text again is fine

    @fill_doc(_test_value="1")
    def f():
        """Default %(_test_value)s."""

    assert f.__doc__ == "Default 1."
    table = {"_test_a": "from the table", "_test_b": "table"}
    assert substitute("%(_test_a)s, %(_test_b)s", table, _test_b="keyword") == (
        "from the table, keyword"
    )
