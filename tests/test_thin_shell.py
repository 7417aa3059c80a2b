"""Thin-shell norm concentration: chi(d) reference, norms and quantiles against naive oracles, the
mergeable state, backends, invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe.stats.thin_shell import (
    QUANTILE_LEVELS,
    ThinShellState,
    chi_cv,
    chi_mean,
    thin_shell,
)


# ------------------------------------------------------------------------------------ oracles
def thin_shell_naive(x, center=False):
    x = np.asarray(x, dtype=np.float64)
    if center:
        x = x - x.mean(axis=0)
    r = np.array([math.sqrt(sum(v * v for v in row)) for row in x])
    mean = r.sum() / len(r)
    std = math.sqrt(sum((v - mean) ** 2 for v in r) / len(r))
    return {"mean": mean, "std": std, "cv": std / mean,
            "quantiles": np.quantile(r, QUANTILE_LEVELS)}


def chi_cv_by_moments(d):
    from scipy import stats

    dist = stats.chi(d)
    return dist.std() / dist.mean()


# ---------------------------------------------------------------------------- chi(d) reference
@pytest.mark.parametrize("d", [1, 2, 3, 7, 19, 20, 21, 50, 384, 768])
def test_chi_cv_matches_scipy(d):
    from scipy import stats

    assert chi_cv(d) == pytest.approx(chi_cv_by_moments(d), rel=1e-9)
    assert chi_mean(d) == pytest.approx(stats.chi(d).mean(), rel=1e-12)


@pytest.mark.parametrize("d", [20, 1e4, 1e6, 1e9])
def test_chi_cv_large_d_matches_high_precision(d):
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        dd = mpmath.mpf(d)
        e = mpmath.sqrt(2) * mpmath.gamma((dd + 1) / 2) / mpmath.gamma(dd / 2)
        ref = float(mpmath.sqrt(dd - e**2) / e)
    assert chi_cv(d) == pytest.approx(ref, rel=1e-12)
    # the naive formula loses everything here; the stable one tends to 1/sqrt(2d)
    assert chi_cv(d) == pytest.approx(1 / math.sqrt(2 * d), rel=1.0 / d)


def test_chi_cv_rejects_nonpositive_d():
    with pytest.raises(ValueError, match="d > 0"):
        chi_cv(0)


# ------------------------------------------------------------------------------ the statistic
@pytest.mark.parametrize("center", [False, True])
def test_thin_shell_matches_naive_oracle(to_backend, rng, center):
    x = rng.standard_normal((53, 6)) * 2.0 + 0.5
    res = thin_shell(to_backend(x), center=center, block_size=7)
    ref = thin_shell_naive(x, center=center)
    assert res.mean == pytest.approx(ref["mean"], rel=1e-12)
    assert res.std == pytest.approx(ref["std"], rel=1e-10)
    assert res.cv == pytest.approx(ref["cv"], rel=1e-10)
    np.testing.assert_allclose(res.quantiles, ref["quantiles"], rtol=1e-12)
    np.testing.assert_array_equal(res.quantile_levels, QUANTILE_LEVELS)
    assert res.cv_gaussian == pytest.approx(chi_cv_by_moments(6), rel=1e-9)
    assert res.cv_ratio == pytest.approx(res.cv / res.cv_gaussian, rel=1e-14)
    q = dict(zip(QUANTILE_LEVELS, ref["quantiles"], strict=True))
    assert res.relative_spread == pytest.approx((q[0.95] - q[0.05]) / q[0.5], rel=1e-10)
    assert res.centered is center
    assert (res.n_samples, res.n_features) == (53, 6)


@pytest.mark.parametrize("block_size", [1, 3, 10, 1000])
def test_block_size_invariance(rng, block_size):
    x = rng.standard_normal((40, 5))
    a, b = thin_shell(x, block_size=block_size, center=True), thin_shell(x, center=True)
    assert a.cv == pytest.approx(b.cv, rel=1e-12)
    np.testing.assert_allclose(a.quantiles, b.quantiles, rtol=1e-13)


def test_torch_matches_numpy_and_float32_is_close(to_torch, rng):
    x = rng.standard_normal((300, 16)) + 1.0
    ref = thin_shell(x, center=True)
    res = thin_shell(to_torch(x), center=True)
    assert res.cv == pytest.approx(ref.cv, rel=1e-10)
    np.testing.assert_allclose(res.quantiles, ref.quantiles, rtol=1e-10)
    assert isinstance(res.cv, float)
    assert isinstance(res.quantiles, np.ndarray)
    r32 = thin_shell(to_torch(x.astype(np.float32)), center=True, dtype="float32")
    assert r32.cv == pytest.approx(ref.cv, rel=1e-4)


def test_sphere_has_zero_cv(rng):
    from gaussprobe._warnings import UninformativeWarning

    g = rng.standard_normal((500, 32))
    with pytest.warns(UninformativeWarning, match="normalised input"):
        res = thin_shell(g / np.linalg.norm(g, axis=1, keepdims=True) * 3.0)
    assert res.mean == pytest.approx(3.0, rel=1e-14)
    assert res.cv == pytest.approx(0.0, abs=1e-14)
    assert res.constant_norms
    assert "constant norms" in res.note and "uninformative" in res.note


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l2_normalised_input_is_flagged(rng, dtype):
    from gaussprobe._warnings import UninformativeWarning
    from gaussprobe.stats.thin_shell import CONSTANT_NORMS_RTOL

    g = rng.standard_normal((300, 384)).astype(dtype)
    unit = g / np.linalg.norm(g, axis=1, keepdims=True)  # what sentence-transformers returns by default
    with pytest.warns(UninformativeWarning, match="constant norms"):
        res = thin_shell(unit)
    assert res.constant_norms and res.cv <= CONSTANT_NORMS_RTOL
    # Gaussian data and the centred norms of unit vectors are informative: no flag, no warning
    for x, center in ((g, False), (unit, True)):
        res = thin_shell(x, center=center)
        assert not res.constant_norms and res.note == ""


# ------------------------------------------------------------------ Gaussian reference of the CV
def _brute_force_cv_ratio(n, d, reps, seed, center=True):
    """CV ratios of real Gaussian samples (independent oracle of the reference)."""
    g = np.random.default_rng(seed)
    out = []
    for _ in range(reps):
        x = g.standard_normal((n, d))
        if center:
            x = x - x.mean(axis=0)
        r = np.linalg.norm(x, axis=1)
        out.append(r.std() / r.mean() / chi_cv_by_moments(d))
    return np.asarray(out)


@pytest.mark.parametrize(("n", "d"), [(20, 3), (200, 16), (3000, 8)])
def test_cv_ratio_reference_matches_brute_force(n, d):
    from gaussprobe._reference import cv_ratio_reference

    ref = cv_ratio_reference(n, d)
    reps = 2000 if n < 1000 else 600
    oracle = _brute_force_cv_ratio(n, d, reps, seed=n + d)
    se = oracle.std(ddof=1) / math.sqrt(reps)
    assert abs(ref.mean - oracle.mean()) < 4 * se + 4 * oracle.std() / math.sqrt(max(ref.n_draws, 1))
    # the band covers about 95% of real Gaussian samples, 2.5% on each side
    inside = np.mean((oracle >= ref.low) & (oracle <= ref.high))
    assert abs(inside - 0.95) < 4 * math.sqrt(0.05 * 0.95 / reps) + 0.01
    assert np.mean(oracle < ref.low) == pytest.approx(0.025, abs=4 * math.sqrt(0.025 / reps) + 0.005)
    if n <= 200:  # centred on the exact small-sample value, not on 1: the ddof-0 CV is biased low
        assert ref.mean < 1.0


def test_cv_ratio_reference_is_on_the_result_and_deterministic(rng):
    x = rng.standard_normal((400, 12))
    res = thin_shell(x, center=True)
    ref = res.cv_ratio_reference
    assert ref is not None and ref.low < ref.mean < ref.high and ref.n_draws >= 200
    assert res.cv_reference.mean == pytest.approx(ref.mean * res.cv_gaussian, rel=1e-14)
    again = thin_shell(rng.standard_normal((400, 12)), center=True).cv_ratio_reference
    assert again == ref  # seeded from (n, d) only
    d = res.to_dict()
    assert set(d["cv_ratio_reference"]) == {"mean", "low", "high", "method", "n_draws"}
    assert d["constant_norms"] is False and d["note"] == ""
    # the normal-limit branch (large n) has the width of the CLT: about 1.96 / sqrt(2n) each side
    from gaussprobe._reference import cv_ratio_reference

    big = cv_ratio_reference(100_000, 768)
    assert big.high - big.mean == pytest.approx(1.96 / math.sqrt(2e5), rel=0.1)
    assert "normal limit" in big.method


def test_gaussian_cv_matches_chi_reference():
    rng = np.random.default_rng(7)
    n = 20_000
    res = thin_shell(rng.standard_normal((n, 64)))
    # the sample CV has a relative standard error of about 1/sqrt(2n)
    assert abs(res.cv_ratio - 1.0) < 4 / math.sqrt(2 * n)


def test_centering_recovers_chi_reference_for_a_shifted_isotropic_gaussian():
    rng = np.random.default_rng(8)
    n = 20_000
    x = rng.standard_normal((n, 64)) + 5.0
    centred, raw = thin_shell(x, center=True), thin_shell(x)
    assert abs(centred.cv_ratio - 1.0) < 4 / math.sqrt(2 * n)
    assert raw.cv_ratio < 0.5  # uncentred norms concentrate around ||mu||: not chi(d)


def test_anisotropic_gaussian_has_a_wider_shell():
    rng = np.random.default_rng(9)
    lam = np.linspace(0.2, 3.0, 64) ** 2
    x = rng.standard_normal((5000, 64)) * np.sqrt(lam)
    # delta method: CV(||x||) ~ sqrt(tr S^2 / 2) / tr S, i.e. a ratio sqrt(d tr S^2) / tr S to chi(d)
    expected = math.sqrt(64 * np.sum(lam**2)) / np.sum(lam)
    assert expected > 1.25
    assert thin_shell(x).cv_ratio == pytest.approx(expected, rel=0.05)


def test_zero_rows_raise():
    with pytest.raises(ValueError, match="coefficient of variation is undefined"):
        thin_shell(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="equal their mean"):
        thin_shell(np.ones((10, 3)), center=True)


# ----------------------------------------------------------------------------- mergeable state
def test_state_merge_equals_one_pass(to_backend, rng):
    x = rng.standard_normal((101, 7))
    parts = [x[:13], x[13:60], x[60:]]
    states = [ThinShellState(n_features=7).update(to_backend(p)) for p in parts]
    merged = states[0].merge(states[1]).merge(states[2]).finalize()
    ref = thin_shell(x)
    assert merged.mean == pytest.approx(ref.mean, rel=1e-13)
    assert merged.std == pytest.approx(ref.std, rel=1e-11)
    np.testing.assert_allclose(merged.quantiles, ref.quantiles, rtol=1e-13)
    assert merged.n_samples == 101


def test_state_with_center_and_without_norms(rng):
    x = rng.standard_normal((80, 4)) + 2.0
    mean = x.mean(axis=0)
    state = ThinShellState(n_features=4, center=mean, keep_norms=False)
    state.update(x[:30]).update(x[30:])
    res = state.finalize()
    ref = thin_shell(x, center=True)
    assert res.centered
    assert res.cv == pytest.approx(ref.cv, rel=1e-11)
    assert res.quantiles is None
    assert res.relative_spread is None
    assert res.to_dict()["quantiles"] is None


def test_state_errors(rng):
    with pytest.raises(ValueError, match="empty"):
        ThinShellState(n_features=3).finalize()
    with pytest.raises(ValueError, match="4 features"):
        ThinShellState(n_features=3).update(rng.standard_normal((5, 4)))
    with pytest.raises(ValueError, match="cannot merge"):
        ThinShellState(n_features=3).merge(ThinShellState(n_features=4))


def test_result_is_json_ready(rng):
    d = thin_shell(rng.standard_normal((20, 3))).to_dict()
    assert isinstance(d["quantiles"], list)
    assert isinstance(d["cv"], float)


# ------------------------------------------------------------------------------------ properties
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-3, 1e3))
def test_cv_is_scale_and_row_permutation_invariant(seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((30, 5)) + rng.standard_normal(5)
    base = thin_shell(x, center=True)
    perm = thin_shell(x[rng.permutation(30)], center=True)
    scaled = thin_shell(x * scale, center=True)
    assert perm.cv == pytest.approx(base.cv, rel=1e-12)
    np.testing.assert_allclose(perm.quantiles, base.quantiles, rtol=1e-13)
    assert scaled.cv == pytest.approx(base.cv, rel=1e-10)
    assert scaled.mean == pytest.approx(scale * base.mean, rel=1e-12)
