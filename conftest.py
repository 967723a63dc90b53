# Files pytest must not import while collecting doctests.
collect_ignore = ["setup.py", "skmtl/__main__.py", "benchmarks", "examples"]
