# Files pytest must not import while collecting doctests.
collect_ignore = ["setup.py", "skmtl/__main__.py", "benchmarks", "examples"]

try:  # the test extras have it; a run of other tests may not (CI's oldest step)
    from hypothesis import settings
except ImportError:
    settings = None

if settings is not None:
    # Property tests draw the same examples on every run unless asked otherwise,
    # so that a suite that passed once passes again (CI, a bisection); explore
    # new examples with ``pytest --hypothesis-profile=explore``. A test's own
    # ``@settings`` override these for what it sets (its example budget).
    settings.register_profile("repeatable", derandomize=True, database=None)
    settings.register_profile("explore", derandomize=False, max_examples=500)
    settings.load_profile("repeatable")
