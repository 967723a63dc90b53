"""Packaging of skmtl. The compiled fused epoch (``skmtl/_optim/_cd_fast.pyx``),
the stacked-layout products (``skmtl/_ops_fast.pyx``), the per-task Cholesky loops
(``skmtl/_optim/_gram_fast.pyx``) and the MLP's step kernels
(``skmtl/neural_network/_nn_fast.pyx``) are optional: without a C compiler (or
Cython) the build warns and skmtl runs its Python code instead
(``skmtl._optim.epochs``, ``skmtl._ops``, ``skmtl._optim.shifted`` /
``design``, ``skmtl.neural_network._kernels``)."""

import os
import sys
import warnings
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """``build_ext`` that warns instead of failing when an extension does not
    compile (no compiler, no Python headers): the package falls back to Python."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure is optional
            self._warn(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    @staticmethod
    def _warn(exc):
        msg = (
            f"skmtl: the compiled epoch was not built ({exc!r}); "
            "skmtl will use its (slower) Python epochs."
        )
        warnings.warn(msg)
        print(msg, file=sys.stderr)


# optional compiled kernels: (module, source); each one that does not build leaves
# its package on the Python code it replaces
# (-fno-math-errno: sqrt need not set errno, so that the MLP's Adam loop vectorises;
# the results are IEEE's either way)
_PYX = [
    ("skmtl._optim._cd_fast", "skmtl/_optim/_cd_fast.pyx", []),
    ("skmtl._ops_fast", "skmtl/_ops_fast.pyx", []),
    ("skmtl._optim._gram_fast", "skmtl/_optim/_gram_fast.pyx", []),
    (
        "skmtl.neural_network._nn_fast",
        "skmtl/neural_network/_nn_fast.pyx",
        ["-fno-math-errno"],
    ),
]


def _extensions():
    """The Cython extensions (cythonized when Cython is importable, else from
    generated C files where they ship, else none)."""
    if os.environ.get("SKMTL_NO_EXTENSIONS"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        shipped = [
            Extension(name, [str(Path(pyx).with_suffix(".c"))])
            for name, pyx, _ in _PYX
            if Path(pyx).with_suffix(".c").exists()
        ]
        if not shipped:
            OptionalBuildExt._warn(ImportError("Cython is not installed"))
        return shipped
    try:
        import scipy  # noqa: F401  (cython_blas.pxd)
    except ImportError as exc:
        OptionalBuildExt._warn(exc)
        return []
    exts = [
        Extension(
            name,
            [pyx],
            extra_compile_args=["-O3", *flags] if os.name != "nt" else [],
        )
        for name, pyx, flags in _PYX
    ]
    try:
        return cythonize(exts, language_level=3, quiet=True)
    except Exception as exc:  # noqa: BLE001
        OptionalBuildExt._warn(exc)
        return []


version = {}
for line in Path("skmtl/__init__.py").read_text().splitlines():
    if line.startswith("__version__"):
        exec(line, version)

setup(
    name="skmtl",
    version=version["__version__"],
    description="Multi-task learning for scikit-learn",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["skmtl", "skmtl.*"]),
    package_data={"skmtl.datasets": ["data/*.npz", "descr/*.rst"]},
    ext_modules=_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "joblib>=1.3",
        "threadpoolctl>=3.1",
        "cvxpy>=1.4",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "pytest-xdist>=3",
            "hypothesis>=6",
            "pandas>=1.5",
            "matplotlib>=3.6",
            "dask[distributed]>=2023.1",
            # tests/test_docstrings.py validates every public docstring
            "numpydoc>=1.6",
        ],
        "plot": ["matplotlib>=3.6"],
        "distributed": ["dask[distributed]>=2023.1"],
        # mixed-model yardsticks of benchmarks/bench_realdata.py and the
        # multi-task Lasso peers of benchmarks/bench_sparse.py
        "bench": [
            "pandas>=1.5",
            "statsmodels>=0.13",
            "gpboost>=1.0",
            "mixedlm>=1.3",
            "skglm>=0.3",
            "celer>=0.7",
        ],
    },
    entry_points={"console_scripts": ["skmtl=skmtl.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: BSD License",
    ],
)
