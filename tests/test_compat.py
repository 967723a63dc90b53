"""skmtl takes scikit-learn's private names from ``skmtl._compat`` only."""

import ast
import pathlib

import numpy as np
import pytest

import skmtl
from skmtl import _compat

PACKAGE = pathlib.Path(skmtl.__file__).parent


def _private_sklearn_imports(path):
    """``(line, text)`` of every import of a private scikit-learn module or name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if module.split(".")[0] != "sklearn":
                continue
            private_module = any(p.startswith("_") for p in module.split("."))
            private_names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or private_names:
                found.append((node.lineno, f"from {module} import ..."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "sklearn" and any(p.startswith("_") for p in parts):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            # sklearn.utils._foo reached through an attribute chain
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id == "sklearn":
                found.append((node.lineno, "sklearn." + ".".join(reversed(chain))))
    return found


def test_private_sklearn_names_only_in_compat():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_compat.py" and path.parent == PACKAGE:
            continue
        for line, text in _private_sklearn_imports(path):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text}")
    assert offenders == [], "import these through skmtl._compat:\n" + "\n".join(
        offenders
    )


def test_the_scan_finds_private_imports(tmp_path):
    # the scanner itself must see each form (otherwise the test above proves nothing)
    src = tmp_path / "m.py"
    src.write_text(
        "from sklearn.base import _fit_context\n"
        "from sklearn.utils._param_validation import Interval\n"
        "import sklearn.utils._testing\n"
        "import sklearn\n"
        "x = sklearn.utils._param_validation\n"
        "from sklearn.utils import check_array\n"
    )
    assert [line for line, _ in _private_sklearn_imports(src)] == [1, 2, 3, 5]


def test_check_sample_weight_keywords():
    X = np.zeros((3, 2), dtype=np.float32)
    sw = _compat.check_sample_weight(None, X, dtype=X.dtype)
    np.testing.assert_array_equal(sw, np.ones(3, dtype=np.float32))
    assert sw.dtype == np.float32
    with pytest.raises(ValueError, match="[Nn]egative"):
        _compat.check_sample_weight([1.0, -1.0, 1.0], X, ensure_non_negative=True)


def test_version_tuple():
    assert _compat._version_tuple("1.6.1") == (1, 6)
    assert _compat._version_tuple("1.10.dev0") == (1, 10)
    assert _compat.SKLEARN_VERSION >= (1, 6)
