"""Every public docstring is fully substituted and laid out as numpydoc expects.

Several docstrings are assembled from shared fragments (``%(name)s`` placeholders);
a placeholder left behind, or a fragment indented differently from the body, breaks
the rendered documentation without failing anything else.
"""

import importlib
import inspect
import re

import pytest

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
