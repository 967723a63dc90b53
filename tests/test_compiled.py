"""skmtl._compiled: the optional compiled modules, or None."""

import importlib.util

import pytest

from skmtl._compiled import compiled

_MODULES = [
    "_ops_fast",
    "_optim._cd_fast",
    "_optim._gram_fast",
    "neural_network._nn_fast",
]


@pytest.mark.parametrize("name", _MODULES)
def test_compiled_returns_the_built_module_or_none(name):
    built = importlib.util.find_spec(f"skmtl.{name}") is not None
    module = compiled(name)
    assert (module is not None) == built
    if built:
        assert module.__name__ == f"skmtl.{name}"


def test_compiled_missing_module_is_none():
    assert compiled("_optim._no_such_kernel") is None
