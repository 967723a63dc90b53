from pathlib import Path

from setuptools import find_packages, setup

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
        # mixed-model yardsticks of benchmarks/bench_realdata.py
        "bench": [
            "pandas>=1.5",
            "statsmodels>=0.13",
            "gpboost>=1.0",
            "mixedlm>=1.3",
        ],
    },
    entry_points={"console_scripts": ["skmtl=skmtl.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: BSD License",
    ],
)
