"""The warm-started thresholded SVD of the trace-norm prox against numpy's full SVD."""

import pickle

import numpy as np
import pytest
import scipy.linalg
from numpy.testing import assert_allclose
from threadpoolctl import threadpool_limits

from skmtl._optim.penalties import TraceNorm
from skmtl._optim.svd import ThresholdedSVD, gram_spectral_norm


@pytest.fixture(autouse=True)
def one_blas_thread():
    # small products: BLAS threads only add overhead (minutes on a loaded machine)
    with threadpool_limits(1):
        yield


def low_rank_plus_noise(shape, rank, noise, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((shape[0], rank)) @ rng.standard_normal((rank, shape[1]))
    return W + noise * rng.standard_normal(shape)


def exact_prox(W, threshold):
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    return (U * np.maximum(s - threshold, 0.0)) @ Vt


def check_triplets(W, threshold, U, s, Vt, rtol):
    """Kept singular values equal numpy's above the threshold, to rtol * s_max,
    and (U, Vt) are orthonormal singular vectors (W^T U = V S)."""
    ref = np.linalg.svd(W, compute_uv=False)
    kept = ref[ref > threshold]
    assert s.shape == kept.shape
    assert_allclose(s, kept, rtol=0, atol=rtol * ref[0])
    assert_allclose(U.T @ U, np.eye(s.size), atol=1e-10)
    assert_allclose(Vt @ Vt.T, np.eye(s.size), atol=1e-10)
    assert_allclose(W.T @ U, Vt.T * s, atol=rtol * ref[0])


# (shape, thresholds as fractions of s_max): small (exact path), and both
# orientations of a large matrix (subspace iteration), keeping few or many values
CASES = [
    ((30, 80), (0.5, 0.05, 1e-5)),
    ((150, 320), (0.3, 0.02)),
    ((320, 150), (0.3, 0.02)),
]


@pytest.mark.parametrize("shape, fractions", CASES)
def test_cold_call_matches_full_svd(shape, fractions):
    # a cold call has no previous input: the Ritz residual goes to rtol ||W||_F,
    # and the prox is within that (Frobenius) of the exact one
    W = low_rank_plus_noise(shape, rank=6, noise=0.05, seed=0)
    s_max = np.linalg.norm(W, 2)
    for frac in fractions:
        svt = ThresholdedSVD()
        thr = frac * s_max
        U, s, Vt = svt(W, thr)
        check_triplets(W, thr, U, s, Vt, rtol=1e-10)
        out = (U * (s - thr)) @ Vt
        err = np.linalg.norm(out - exact_prox(W, thr))
        assert err <= 1e-10 * np.linalg.norm(W)


def test_large_low_rank_uses_subspace_iteration():
    # a sweep (block of 16) is cheap next to a 300 x 300 Gram and its eigenvalues:
    # a well-separated rank-4 matrix converges without the exact fallback
    W = low_rank_plus_noise((300, 600), rank=4, noise=0.05, seed=1)
    svt = ThresholdedSVD()
    thr = 0.3 * np.linalg.norm(W, 2)
    check_triplets(W, thr, *svt(W, thr), rtol=1e-10)
    assert svt.n_sweeps > 0 and svt.n_exact == 0


def test_warm_sequence_error_bound():
    """Along a slowly moving sequence (as a solver's iterates), the prox error is
    at most max(rtol ||W||_F, eta ||W_k - W_{k-1}||_F) (the non-expansiveness
    bound of the module docstring), and exact when eta = 0."""
    rng = np.random.default_rng(2)
    W = low_rank_plus_noise((160, 240), rank=5, noise=0.05, seed=2)
    thr = 0.1 * np.linalg.norm(W, 2)
    for eta in (0.0, 1e-3):
        svt = ThresholdedSVD(eta=eta)
        prev, X = None, W.copy()
        for k in range(15):
            X = X + 10.0 ** (-1 - k / 5) * rng.standard_normal(X.shape)
            U, s, Vt = svt(X, thr)
            err = np.linalg.norm((U * (s - thr)) @ Vt - exact_prox(X, thr))
            bound = 1e-12 * np.linalg.norm(X)
            if prev is not None:
                bound = max(bound, eta * np.linalg.norm(X - prev))
            # 1e-13 ||X||: rounding of the products (the reference's included)
            assert err <= 1.01 * bound + 1e-13 * np.linalg.norm(X)
            prev = X
        assert svt.n_sweeps > 0
        # warm: most calls need one or two sweeps, not a restart
        assert svt.n_sweeps <= 3 * 15


def test_rank_change_widens_the_block():
    # the rank jumps from 2 to 12 between calls: the block must grow (or fall back)
    # and still return every singular value above the threshold
    W2 = low_rank_plus_noise((200, 300), rank=2, noise=0.01, seed=3)
    W12 = W2 + low_rank_plus_noise((200, 300), rank=10, noise=0.0, seed=4)
    svt = ThresholdedSVD()
    thr = 0.05 * np.linalg.norm(W2, 2)
    for W in (W2, W12, W2):
        U, s, Vt = svt(W, thr)
        check_triplets(W, thr, U, s, Vt, rtol=1e-10)


def test_small_threshold_uses_lapack_svd():
    # singular values spread over 1e-9 .. 1: the Gram (squared) cannot resolve the
    # small ones, so a threshold below gram_rtol * s_max must use LAPACK's SVD
    rng = np.random.default_rng(5)
    Q1, _ = np.linalg.qr(rng.standard_normal((40, 40)))
    Q2, _ = np.linalg.qr(rng.standard_normal((90, 40)))
    sig = np.logspace(0, -9, 40)
    W = (Q1 * sig) @ Q2.T
    thr = 1e-8
    U, s, Vt = ThresholdedSVD()(W, thr)
    assert s.size == np.sum(sig > thr)
    assert_allclose(s, sig[sig > thr], rtol=1e-6)
    assert np.linalg.norm((U * (s - thr)) @ Vt - exact_prox(W, thr)) <= 1e-13


@pytest.mark.parametrize("shape", [(20, 70), (70, 20), (120, 200), (0, 5)])
def test_gram_spectral_norm(shape):
    V = np.random.default_rng(6).standard_normal(shape)
    ref = np.linalg.norm(V, 2) if V.size else 0.0
    assert gram_spectral_norm(V) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("shape", [(25, 60), (130, 260)])
def test_trace_norm_prox_equals_full_svd_prox(shape):
    W = low_rank_plus_noise(shape, rank=4, noise=0.1, seed=7)
    pen = TraceNorm(2.0)
    for step in (0.5, 0.05, 5.0):
        out = pen.prox(W, step)
        ref = exact_prox(W, 2.0 * step)
        assert np.linalg.norm(out - ref) <= 1e-10 * np.linalg.norm(W)
        # value() of the prox output: alpha times its nuclear norm
        nuc = np.linalg.svd(ref, compute_uv=False).sum()
        assert pen.value(out) == pytest.approx(2.0 * nuc, rel=1e-10)


def test_trace_norm_state_is_private_and_picklable():
    W = low_rank_plus_noise((130, 200), rank=4, noise=0.1, seed=8)
    a, b = TraceNorm(1.0), TraceNorm(1.0)
    out_a = a.prox(W, 0.5)
    # another instance, and a pickled copy mid-run, give the same result
    assert_allclose(b.prox(W, 0.5), out_a, rtol=0, atol=0)
    c = pickle.loads(pickle.dumps(a))
    W2 = W + 1e-3 * np.random.default_rng(10).standard_normal(W.shape)
    assert_allclose(c.prox(W2, 0.5), a.prox(W2, 0.5), rtol=0, atol=0)
    # a shape change (another problem) drops the warm block instead of failing
    V = low_rank_plus_noise((200, 130), rank=3, noise=0.1, seed=9)
    assert np.linalg.norm(a.prox(V, 0.5) - exact_prox(V, 0.5)) <= 1e-10 * (
        np.linalg.norm(V)
    )


def test_gram_spectral_norm_survives_a_lapack_failure(monkeypatch):
    """LAPACK's syevr raised "Internal Error" on the Gram of a 1000 x 5 matrix
    whose singular values were all equal to rounding (a point projected onto the
    spectral ball, on 1,000 tasks); the full symmetric solver takes over."""
    V = np.random.default_rng(0).standard_normal((40, 5))

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("Internal Error.")

    expected = np.linalg.svd(V, compute_uv=False)[0]
    monkeypatch.setattr(scipy.linalg, "eigvalsh", broken)
    assert gram_spectral_norm(V) == pytest.approx(expected, rel=1e-12)
