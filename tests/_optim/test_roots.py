"""The bracketed Newton iteration of the exact block steps."""

import math

import pytest

from skmtl._optim.roots import bracketed_newton


@pytest.mark.parametrize("increasing", [True, False])
@pytest.mark.parametrize("start", [0.05, 1.0, 3.9])
def test_bracketed_newton_finds_the_root_of_monotone_functions(increasing, start):
    # f(x) = +-(x^3 - 2): root 2^(1/3) in (0, 4), from either side of it
    sign = 1.0 if increasing else -1.0
    calls = []

    def fdf(x):
        calls.append(x)
        return sign * (x**3 - 2.0), sign * 3.0 * x * x

    root = bracketed_newton(
        fdf, start, 0.0, 4.0, increasing=increasing, max_iter=100, rtol=1e-15
    )
    assert abs(root - 2.0 ** (1 / 3)) <= 4e-15
    assert len(calls) < 40  # Newton, not bisection alone (50 halvings of 4)
    assert all(0.0 < x < 4.0 for x in calls)


def test_bracketed_newton_bisects_a_wrong_slope_and_an_escaping_step():
    # a flat start (slope 0) and a derivative of the wrong sign both bisect, so
    # the bracket still closes on the root of the increasing atan(x - 1)
    def fdf(x):
        return math.atan(x - 1.0), -1.0

    root = bracketed_newton(
        fdf, 3.0, 0.0, 4.0, increasing=True, max_iter=200, rtol=1e-15
    )
    assert abs(root - 1.0) <= 1e-14


def test_bracketed_newton_stops_after_max_iter():
    calls = []

    def fdf(x):
        calls.append(x)
        return x - 1.0, 0.0  # zero slope: bisection only

    bracketed_newton(fdf, 3.0, 0.0, 4.0, increasing=True, max_iter=5, rtol=1e-15)
    assert len(calls) == 5
