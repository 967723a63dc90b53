"""Scalar root finding for the exact block proximal steps."""

__all__ = ["bracketed_newton"]


def bracketed_newton(fdf, x, lo, hi, *, increasing, max_iter, rtol):
    """Root of a monotone scalar function in ``(lo, hi)``: Newton's method kept
    inside a bisection bracket.

    ``fdf(x)`` returns ``(f(x), f'(x))``; ``increasing`` says which way ``f``
    runs, so the sign of ``f(x)`` tells which end of the bracket ``x`` replaces. A
    Newton step that leaves the bracket, or a derivative of the wrong sign, is
    replaced by the bracket's midpoint. Stops when a step moves ``x`` by at most
    ``rtol * x`` (a Newton step that small is taken even onto the bracket's end, so
    that rounding at the root cannot restart a bisection), or after ``max_iter``
    evaluations, and returns the last point.
    The compiled epochs (``_cd_fast``) run the same iteration in C.
    """
    for _ in range(max_iter):
        f, df = fdf(x)
        if (f > 0) == increasing:
            hi = x
        else:
            lo = x
        new = x - f / df if df != 0 and (df > 0) == increasing else 0.5 * (lo + hi)
        if abs(new - x) <= rtol * x:
            return new
        x = new if lo < new < hi else 0.5 * (lo + hi)
    return x
