"""The optional compiled modules.

``setup.py`` builds them from their ``.pyx`` sources when a C compiler (and
Cython) is available at install time. Each caller keeps the Python code the
module replaces and runs it when :func:`compiled` returns None.
"""

import importlib

__all__ = ["compiled"]


def compiled(name):
    """The module ``skmtl.<name>`` if it was built, else None."""
    try:
        return importlib.import_module(f"skmtl.{name}")
    except ImportError:  # pragma: no cover - depends on the build
        return None
