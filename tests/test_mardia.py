"""Mardia's skewness and kurtosis: oracles, published values, invariances, routes, calibration."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _alternatives import skewed_mixture as _mixture
from _alternatives import sphere as _sphere
from _oracles_mvn import mardia_naive
from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe.stats.mardia import MardiaResult, mardia


def _iris_setosa() -> np.ndarray:
    datasets = pytest.importorskip("sklearn.datasets")
    return np.asarray(datasets.load_iris().data[:50, :4], dtype=np.float64)


def _normal_kurtosis_p(res: MardiaResult) -> float:
    """The kurtosis p-value undone to its normal tail (the oracle's), whatever skewness correction the
    result applied; the correction itself is checked in test_kurtosis_skewness_correction."""
    test = res.kurtosis_test
    if test.null_distribution.startswith("normal"):
        return test.pvalue
    from scipy import stats

    return float(2 * stats.norm.sf(abs(test.statistic)))


def _fields(res: MardiaResult) -> dict[str, float]:
    return {
        "b1": res.skewness, "b2": res.kurtosis,
        "skew": res.skewness_test.statistic, "skew_p": res.skewness_test_asymptotic.pvalue,
        "skew_small": res.skewness_test_small_sample.statistic,
        "skew_small_p": res.skewness_test_small_sample.pvalue,
        "kurt_z": res.kurtosis_test.statistic, "kurt_p": _normal_kurtosis_p(res),
        "kurt_z_asym": res.kurtosis_test_asymptotic.statistic,
        "kurt_p_asym": res.kurtosis_test_asymptotic.pvalue,
    }


# ------------------------------------------------------------------------------ reference values
def test_iris_setosa_matches_published_mvn_values():
    res = mardia(_iris_setosa())
    assert res.skewness_test.statistic == pytest.approx(25.664345, rel=1e-7)
    assert res.skewness_test.pvalue == pytest.approx(0.1771859, rel=1e-6)
    assert res.skewness_test.df == 20
    assert res.kurtosis_test_asymptotic.statistic == pytest.approx(1.294992, rel=1e-6)
    assert res.kurtosis_test_asymptotic.pvalue == pytest.approx(0.1953229, rel=1e-6)
    assert (res.n_samples, res.n_features, res.covariance) == (50, 4, "biased")


@pytest.mark.parametrize("covariance", ["biased", "unbiased"])
@pytest.mark.parametrize("method", ["gram", "tensor"])
def test_matches_naive_oracle(to_backend, rng, covariance, method):
    x = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 3)) + 5.0
    x[:5] += rng.exponential(size=(5, 3))
    res = mardia(to_backend(x), covariance=covariance, method=method, block_size=7)
    expected = mardia_naive(x, covariance)
    got = _fields(res)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-10, abs=1e-13), key
    assert res.method == method


def test_covariance_conventions_are_related_by_exact_factors(rng):
    x = rng.standard_normal((30, 4)) ** 3
    b = mardia(x, covariance="biased")
    u = mardia(x, covariance="unbiased")
    n = 30
    assert u.skewness == pytest.approx(((n - 1) / n) ** 3 * b.skewness, rel=1e-12)
    assert u.kurtosis == pytest.approx(((n - 1) / n) ** 2 * b.kurtosis, rel=1e-12)
    # the finite-n kurtosis z uses the exact moments of each convention, so it is the same
    assert u.kurtosis_test.statistic == pytest.approx(b.kurtosis_test.statistic, rel=1e-12)
    assert u.kurtosis_test_asymptotic.statistic != pytest.approx(b.kurtosis_test_asymptotic.statistic)


def test_exact_kurtosis_moments_by_simulation():
    """E b2 = p(p+2)(n-1)/(n+1), not p(p+2); Var b2 as in Mardia (1974). 4000 draws at n=20, p=3."""
    rng = np.random.default_rng(7)
    n, p = 20, 3
    b2 = np.array([mardia(rng.standard_normal((n, p))).kurtosis for _ in range(4000)])
    mean = p * (p + 2) * (n - 1) / (n + 1)
    var = 8 * p * (p + 2) * (n - 3) * (n - p - 1) * (n - p + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    se = math.sqrt(var / b2.size)
    assert abs(b2.mean() - mean) < 4 * se
    assert abs(b2.mean() - p * (p + 2)) > 8 * se  # the asymptotic mean is visibly wrong here
    assert b2.var(ddof=1) / var == pytest.approx(1.0, abs=0.12)


def test_small_sample_skewness_is_always_reported(rng):
    for n in (15, 25, 400):
        res = mardia(rng.standard_normal((n, 2)))
        k = 3 * (n + 1) * (n + 3) / (n * ((n + 1) * 3 - 6))
        assert res.skewness_test_small_sample.statistic == pytest.approx(
            k * res.skewness_test.statistic, rel=1e-13)
        assert res.skewness_test_small_sample.df == res.skewness_test.df == 4


# ------------------------------------------------------------------------------ routes, blocks, engines
@pytest.mark.parametrize(("n", "d"), [(9, 1), (50, 2), (120, 5), (300, 9)])
def test_gram_and_tensor_routes_agree(rng, n, d):
    x = rng.standard_t(5, size=(n, d))
    g = mardia(x, method="gram")
    t = mardia(x, method="tensor")
    assert (g.method, t.method) == ("gram", "tensor")
    assert t.skewness == pytest.approx(g.skewness, rel=1e-10)
    assert t.kurtosis == pytest.approx(g.kurtosis, rel=1e-12)


def test_block_size_invariance(to_backend, rng):
    x = rng.laplace(size=(70, 4))
    results = [mardia(to_backend(x), method="gram", block_size=b, engine="array") for b in (1, 7, 64, 70)]
    ref = _fields(results[-1])
    for res in results[:-1]:
        for key, value in _fields(res).items():
            assert value == pytest.approx(ref[key], rel=1e-12, abs=1e-15), key
    tensor = [mardia(to_backend(x), method="tensor", block_size=b) for b in (1, 7, 64, 70)]
    for res in tensor:
        assert res.skewness == pytest.approx(ref["b1"], rel=1e-11)


def test_numba_engine_matches_array_engine(rng):
    pytest.importorskip("numba")
    x = rng.standard_normal((600, 6)) ** 2
    a = mardia(x, method="gram", engine="array", block_size=128)
    b = mardia(x, method="gram", engine="numba", block_size=128)
    assert b.skewness == pytest.approx(a.skewness, rel=1e-12)


def test_threaded_path_matches_single_tile(rng):
    # large enough for the thread pool (and the numba kernel under engine="auto")
    x = rng.standard_normal((4200, 12))
    x[:, 0] = np.abs(x[:, 0])
    pooled = mardia(x, method="gram", block_size=256)
    whole = mardia(x, method="gram", block_size=4200, engine="array")
    tensor = mardia(x, method="tensor")
    assert pooled.skewness == pytest.approx(whole.skewness, rel=1e-11)
    assert tensor.skewness == pytest.approx(whole.skewness, rel=1e-10)


def test_tensor_state_merges_across_chunks(to_backend, rng):
    """Partial third-moment states from separate chunks add up to the one-pass result."""
    from gaussprobe._validation import check_embeddings
    from gaussprobe.stats._whiten import whiten
    from gaussprobe.stats.mardia import MardiaMoments

    x = rng.standard_gamma(3.0, size=(301, 5))
    emb = check_embeddings(to_backend(x))
    wh = whiten(emb, what="test")
    parts = [MardiaMoments.empty(emb.xp, 5, device=emb.device) for _ in range(3)]
    for part, (a, b) in zip(parts, [(0, 50), (50, 51), (51, 301)], strict=True):
        part.update(wh.block(a, b), emb.xp)
    merged = parts[2].merge(parts[0]).merge(parts[1])
    b1, b2 = merged.statistics()
    ref = mardia(x, method="gram")
    assert merged.n == 301
    assert b1 == pytest.approx(ref.skewness, rel=1e-11)
    assert b2 == pytest.approx(ref.kurtosis, rel=1e-12)


def test_auto_method_choice(rng):
    assert mardia(rng.standard_normal((5000, 4))).method == "tensor"
    assert mardia(rng.standard_normal((300, 60))).method == "gram"


def test_float32_precision_is_within_documented_tolerance(to_backend, rng):
    x = rng.standard_normal((800, 20)) ** 3 + 1.0
    r64 = mardia(to_backend(x), method="gram")
    r32 = mardia(to_backend(x), method="gram", dtype="float32")
    t32 = mardia(to_backend(x), method="tensor", dtype="float32")
    assert r32.skewness == pytest.approx(r64.skewness, rel=1e-5)
    assert t32.skewness == pytest.approx(r64.skewness, rel=1e-5)
    assert r32.kurtosis == pytest.approx(r64.kurtosis, rel=1e-12)  # whitening and b2 stay float64
    assert r32.skewness != r64.skewness  # the float32 path really ran in float32


def test_float32_input_is_upcast_in_float64_mode(rng):
    x = rng.standard_normal((200, 5))
    x32 = x.astype(np.float32)
    a = mardia(x32)
    b = mardia(x32.astype(np.float64))
    assert a.skewness == pytest.approx(b.skewness, rel=1e-13)


# ------------------------------------------------------------------------------ invariances
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), method=st.sampled_from(["gram", "tensor"]))
def test_affine_invariance(seed, method):
    rng = np.random.default_rng(seed)
    x = rng.standard_gamma(2.0, size=(60, 4))
    a = rng.standard_normal((4, 4)) + 3.0 * np.eye(4)
    shift = rng.normal(scale=100.0, size=4)
    r0 = mardia(x, method=method)
    r1 = mardia(x @ a + shift, method=method)
    assert r1.skewness == pytest.approx(r0.skewness, rel=1e-8)
    assert r1.kurtosis == pytest.approx(r0.kurtosis, rel=1e-8)


def test_location_invariance_with_large_offset(rng):
    """Centring comes first, so a large common offset does not leak into the statistic."""
    x = rng.standard_normal((200, 3))
    r0 = mardia(x)
    r1 = mardia(x + 1e6)
    assert r1.skewness == pytest.approx(r0.skewness, rel=1e-6)
    assert r1.kurtosis == pytest.approx(r0.kurtosis, rel=1e-8)


# ------------------------------------------------------------------------------ errors and results
def test_n_not_above_d_raises_with_guidance(rng):
    with pytest.raises(ValueError, match=r"n_samples=10 <= n_features=12.*principal_projection"):
        mardia(rng.standard_normal((10, 12)))


def test_singular_covariance_raises_with_rank(rng):
    x = rng.standard_normal((50, 4))
    x[:, 3] = x[:, 0] - 2 * x[:, 1]
    with pytest.raises(ValueError, match=r"rank 3 < n_features=4.*principal_projection"):
        mardia(x)


def test_simplex_case_raises(rng):
    with pytest.raises(ValueError, match="n_samples = n_features \\+ 1"):
        mardia(rng.standard_normal((9, 8)))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "fast"}, "method"),
    ({"engine": "cuda"}, "engine"),
    ({"covariance": "pooled"}, "covariance"),
    ({"dtype": "float16"}, "dtype"),
    ({"block_size": 0}, "block_size"),
])
def test_bad_options_raise(rng, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mardia(rng.standard_normal((30, 2)), **kwargs)


def test_tensor_route_refuses_huge_accumulator(rng):
    with pytest.raises(ValueError, match="method='gram'"):
        mardia(rng.standard_normal((520, 512)), method="tensor")


def test_numba_engine_needs_numpy(to_torch, rng):
    with pytest.raises(ValueError, match="NumPy"):
        mardia(to_torch(rng.standard_normal((30, 2))), engine="numba")


def test_result_is_json_ready(rng):
    res = mardia(rng.standard_normal((60, 3)))
    d = res.to_dict()
    json.dumps(d)
    assert d["skewness_test"]["null_distribution"] == "chi2(df=10)"
    assert d["kurtosis_test"]["null_distribution"].startswith(("normal(0, 1)", "cornish-fisher", "monte-carlo"))
    assert "MardiaResult(" in repr(res)


def test_torch_input_stays_off_numpy(to_torch, rng):
    x = rng.standard_normal((64, 3))
    a = mardia(x)
    b = mardia(to_torch(x))
    assert b.skewness == pytest.approx(a.skewness, rel=1e-12)
    assert b.kurtosis == pytest.approx(a.kurtosis, rel=1e-12)
    assert isinstance(b.skewness, float)


# ------------------------------------------------------------------------------ calibration and power
def _binomial_band(k: int, alpha: float = 0.05, level: float = 0.99) -> tuple[float, float]:
    from scipy import stats

    lo, hi = stats.binom.interval(level, k, alpha)
    return lo / k, hi / k


# (n, d) cells where each test is claimed to hold its level; the full table is in the docs.
_CALIBRATED = {
    "kurtosis_test": [(20, 2), (200, 10), (200, 50), (2000, 10), (2000, 50)],
    "skewness_test_small_sample": [(20, 2), (2000, 10), (2000, 50)],
    "skewness_test": [(200, 10), (2000, 2)],
}


@pytest.mark.slow
@pytest.mark.parametrize(("field", "n", "d"),
                         [(f, n, d) for f, cells in _CALIBRATED.items() for n, d in cells])
def test_level_under_the_null(field, n, d):
    reps = 600
    rng = np.random.default_rng(1000 * n + d)
    p = np.array([getattr(mardia(rng.standard_normal((n, d))), field).pvalue for _ in range(reps)])
    lo, hi = _binomial_band(reps)
    assert lo <= np.mean(p < 0.05) <= hi


@pytest.mark.slow
def test_asymptotic_kurtosis_over_rejects_at_high_dimension():
    """The reason kurtosis_test uses finite-n moments: the classical z is biased down at d=50."""
    rng = np.random.default_rng(3)
    z = np.array([mardia(rng.standard_normal((200, 50))).kurtosis_test_asymptotic.statistic
                  for _ in range(200)])
    assert np.mean(z) < -1.0


@pytest.mark.slow
@pytest.mark.parametrize(("name", "sampler", "field"), [
    ("laplace", lambda r, n, d: r.laplace(size=(n, d)), "kurtosis_test"),
    ("t5", lambda r, n, d: r.standard_t(5, size=(n, d)), "kurtosis_test"),
    ("sphere", _sphere, "kurtosis_test"),
    ("mixture", _mixture, "skewness_test"),
])
def test_power_against_alternatives(name, sampler, field):
    rng = np.random.default_rng(11)
    p = [getattr(mardia(sampler(rng, 300, 3)), field).pvalue for _ in range(40)]
    assert np.mean(np.array(p) < 0.05) >= 0.9, name


def test_tf32_on_cuda_raises_precision_warning(rng):
    """The TF32 check itself (the device is faked: the check only looks at its name)."""
    torch = pytest.importorskip("torch")
    import dataclasses

    from gaussprobe import PrecisionWarning
    from gaussprobe._validation import check_embeddings
    from gaussprobe.stats._whiten import warn_if_tf32

    emb = check_embeddings(torch.as_tensor(rng.standard_normal((20, 2))), dtype="float32")
    fake = dataclasses.replace(emb, device="cuda:0")
    previous = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        warn_if_tf32(fake, "Mardia's test")  # no warning
        torch.backends.cuda.matmul.allow_tf32 = True
        with pytest.warns(PrecisionWarning, match="TF32"):
            warn_if_tf32(fake, "Mardia's test")
        warn_if_tf32(emb, "Mardia's test")  # CPU tensors never use TF32
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


def test_kurtosis_skewness_correction():
    """At small n the kurtosis z is right-skewed; the p-value is the normal tail of the first-order
    Cornish-Fisher quantile w = z - g (z^2 - 1) / 6, g the skewness of the simulated null (and the
    two-sided Monte-Carlo tail itself where g > 0.5, at the smallest sizes)."""
    import re

    from scipy import stats

    res = mardia(np.random.default_rng(3).standard_normal((100, 8)))
    null = res.kurtosis_test.null_distribution
    assert null.startswith("cornish-fisher")
    g = float(re.search(r"skew=([-0-9.e]+)", null).group(1))
    assert 0.3 < g < 0.5  # measured 0.42 at (100, 8) with 20,000 draws
    z = res.kurtosis_test.statistic
    w = min(z, 3 / g) - g * (min(z, 3 / g) ** 2 - 1) / 6
    assert res.kurtosis_test.pvalue == pytest.approx(2 * stats.norm.sf(abs(w)), rel=1e-4)


def test_kurtosis_uses_the_simulated_tail_at_the_smallest_sizes():
    res = mardia(np.random.default_rng(3).standard_normal((20, 2)))
    assert res.kurtosis_test.null_distribution.startswith("monte-carlo")
    assert res.kurtosis_test.calibration == "monte-carlo" and 0 < res.kurtosis_test.pvalue <= 1
