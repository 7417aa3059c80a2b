"""Every statistic is scale-invariant or scale-equivariant: x, 1e-155·x and 1e154·x give the same report.

Invariant fields must agree to 1e-9 relative; the scale-equivariant ones (norms, eigenvalues, raw
distances) must scale by the factor (or its square) exactly as they should, wherever the scaled value
is representable in float64.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gaussprobe as gp
from gaussprobe._validation import check_embeddings
from gaussprobe.stats.thin_shell import ThinShellState

#: The scale-equivariant fields of each result type and the power of the factor they carry.
EQUIVARIANT = {
    "ThinShellResult": {"mean": 1, "std": 1, "quantiles": 1, "norm_order_statistics": 1},
    "SpectrumResult": {"eigenvalues": 2, "trace": 2, "rank_tolerance": 2},
    "BuresWassersteinResult": {"w2": 1, "sigma": 1, "w2_squared": 2, "second_moment": 2},
    "PrincipalDirectionResult": {"direction_eigenvalues": 2, "eigenvalues": 2, "noise_variance": 2,
                                 "mp_lower_edge": 2, "mp_upper_edge": 2},
    "DirectionStatistics": {"eigenvalue": 2},
}


def _flatten(r, path=""):
    """``{path: (value, power)}`` for every leaf field of a result (nested results included)."""
    out = {}
    if dataclasses.is_dataclass(r) and not isinstance(r, type):
        powers = EQUIVARIANT.get(type(r).__name__, {})
        for f in dataclasses.fields(r):
            v = getattr(r, f.name)
            if dataclasses.is_dataclass(v) or isinstance(v, dict):
                out.update(_flatten(v, f"{path}.{f.name}"))
            else:
                out[f"{path}.{f.name}"] = (v, powers.get(f.name, 0))
    elif isinstance(r, dict):
        for k, v in r.items():
            if dataclasses.is_dataclass(v) or isinstance(v, dict):
                out.update(_flatten(v, f"{path}.{k}"))
            else:
                out[f"{path}.{k}"] = (v, 0)
    else:
        out[path] = (r, 0)
    return out


def assert_same(reference, scaled, factor: float, rtol: float = 1e-9) -> None:
    """Every field of ``scaled`` equals that of ``reference`` (times ``factor**power``)."""
    a, b = _flatten(reference), _flatten(scaled)
    assert a.keys() == b.keys()
    for path, (va, p) in a.items():
        if "timings" in path:
            continue
        tol = rtol
        if path.startswith(".pursuit"):
            # the pursuit is an iterative search: it stops at its convergence tolerance, so rounding
            # moves its optimum (and iteration count) by about that much, not by 1e-16
            if path.endswith("n_iter"):
                continue
            tol = max(rtol, 1e-5)
        vb = b[path][0]
        if va is None or isinstance(va, (str, bool, tuple)) or (
                not isinstance(va, (np.ndarray, float, int, np.floating, np.integer))):
            assert va == vb, path
            continue
        with np.errstate(over="ignore", under="ignore"):
            expected = np.asarray(va, dtype=np.float64) * np.float64(factor) ** p
        got = np.asarray(vb, dtype=np.float64)
        assert got.shape == expected.shape, path
        if p:  # compare only where the scaled value is a normal float64
            ok = (np.abs(expected) > 1e-290) & (np.abs(expected) < 1e290)
            expected, got = expected[ok], got[ok]
        np.testing.assert_allclose(got, expected, rtol=tol, atol=1e-13 * float(factor) ** p
                                   if p else 1e-13, equal_nan=True, err_msg=path)


def _functions():
    return {
        "thin_shell": lambda a: gp.thin_shell(a),
        "thin_shell_centred": lambda a: gp.thin_shell(a, center=True),
        "coordinates": lambda a: gp.coordinate_normality(a),
        "projections": lambda a: gp.projection_normality(a, n_projections=16, rng=0),
        "distance": lambda a: gp.isotropic_distance(a, n_projections=16, n_null=3, rng=0),
        "mardia": gp.mardia,
        "henze_zirkler": gp.henze_zirkler,
        "doornik_hansen": gp.doornik_hansen,
        "royston": gp.royston,
        "energy": lambda a: gp.energy_test(a, n_resamples=9, rng=7),  # not the seed of x
        "spectrum": gp.covariance_spectrum,
        "sphericity": gp.sphericity_test,
    }


FUNCTIONS = _functions()


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).standard_normal((500, 8))


@pytest.mark.parametrize("factor", [1e-155, 1e154, 1e-200, 2.0**-1000])
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_extreme_scales_give_the_same_result(x, name, factor):
    fn = FUNCTIONS[name]
    assert_same(fn(x), fn(x * factor), factor)


def test_the_reported_cases(x):
    hz = gp.henze_zirkler(x)
    assert gp.henze_zirkler(x * 1e-155).pvalue == pytest.approx(hz.pvalue, rel=1e-9)
    energy = gp.energy_test(x, rng=3, n_resamples=99)
    assert gp.energy_test(x * 1e-155, rng=3, n_resamples=99).pvalue == energy.pvalue
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = gp.analyze(x, rng=0, tests="all")
        assert_same(report, gp.analyze(x * 1e154, rng=0, tests="all"), 1e154)
        assert_same(report, gp.analyze(x * 1e-155, rng=0, tests="all"), 1e-155)


def test_float32_compute_at_large_scale_is_not_garbage(x):
    x32 = x.astype(np.float32)
    ref = gp.analyze(x32, rng=0, dtype="float32")
    big = gp.analyze(x32 * np.float32(1e19), rng=0, dtype="float32")
    assert big.coordinates.ad_mean == pytest.approx(ref.coordinates.ad_mean, rel=1e-3)
    assert np.isfinite(big.thin_shell.cv)
    assert big.thin_shell.cv == pytest.approx(ref.thin_shell.cv, rel=1e-4)


@pytest.mark.parametrize("factor", [1e-30, 1e30, 1e-42])
def test_float32_storage_at_extreme_scale(x, factor):
    """float32 data of any magnitude (subnormal included) match their float64 copy."""
    b32 = (x * factor).astype(np.float32)
    a64 = b32.astype(np.float64)
    for name in ("thin_shell", "coordinates", "mardia", "henze_zirkler", "distance", "spectrum"):
        assert_same(FUNCTIONS[name](a64), FUNCTIONS[name](b32), 1.0, rtol=1e-9)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(-150, 150), seed=st.integers(0, 2**16))
def test_property_random_scale_float64(k, seed):
    x = np.random.default_rng(seed).standard_normal((60, 3))
    factor = 10.0**k
    for name in ("thin_shell", "coordinates", "distance", "mardia", "henze_zirkler", "doornik_hansen",
                 "royston", "spectrum", "sphericity"):
        fn = FUNCTIONS[name]
        assert_same(fn(x), fn(x * factor), factor)


@settings(max_examples=6, deadline=None)
@given(k=st.integers(-150, 150))
def test_property_random_scale_analyze(k):
    x = np.random.default_rng(k + 1000).standard_normal((80, 4))
    factor = 10.0**k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(gp.analyze(x, rng=1, tests="all", n_resamples=9, n_projections=16),
                    gp.analyze(x * factor, rng=1, tests="all", n_resamples=9, n_projections=16), factor)


@settings(max_examples=8, deadline=None)
@given(k=st.integers(-30, 30))
def test_property_random_scale_float32_storage(k):
    x = np.random.default_rng(k + 50).standard_normal((80, 4))
    b32 = (x * 10.0**k).astype(np.float32)
    for name in ("thin_shell", "coordinates", "mardia", "distance"):
        assert_same(FUNCTIONS[name](b32.astype(np.float64)), FUNCTIONS[name](b32), 1.0)


@pytest.mark.torch
@pytest.mark.parametrize("factor", [1e-155, 1e154])
def test_torch_cpu_at_extreme_scale(x, factor):
    torch = pytest.importorskip("torch")
    t, t_scaled = torch.as_tensor(x), torch.as_tensor(x * factor)
    for name in ("thin_shell", "coordinates", "mardia", "henze_zirkler", "energy", "distance", "spectrum",
                 "doornik_hansen"):
        assert_same(FUNCTIONS[name](t), FUNCTIONS[name](t_scaled), factor, rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same(gp.analyze(t, rng=0), gp.analyze(t_scaled, rng=0), factor)
        t32 = torch.as_tensor(x.astype(np.float32))
        assert_same(gp.analyze(t32, rng=0), gp.analyze(t32 * 2.0**-100, rng=0), 2.0**-100)


# ----------------------------------------------------------------------------- the mechanism
def test_moderate_inputs_are_untouched(x):
    emb = check_embeddings(x)
    assert emb.scale_exponent == 0 and emb.scale == 1.0
    assert emb.data is x and emb.rows(0, 10).base is x  # views, no copies
    assert check_embeddings(x.astype(np.float32) * np.float32(1e6)).scale_exponent == 0


def test_extreme_inputs_get_an_exact_power_of_two(x):
    emb = check_embeddings(x * 1e-155)
    assert emb.scale_exponent > 0
    np.testing.assert_array_equal(emb.rows(0, 500), (x * 1e-155) * emb.scale)  # exact
    assert 0.5 <= float(np.abs(emb.full()).max()) < 1.0
    assert emb.unscale(emb.scale) == 1.0
    big = check_embeddings(np.full((10, 2), 1.7e308))
    assert np.isfinite(big.full()).all()


def test_tiny_values_are_not_called_zero(x):
    ref = gp.thin_shell(x)
    tiny = gp.thin_shell(x * 1e-200)
    assert tiny.cv == pytest.approx(ref.cv, rel=1e-12)
    assert tiny.mean == pytest.approx(ref.mean * 1e-200, rel=1e-12)


def test_all_zero_input_is_still_a_clear_error():
    with pytest.raises(ValueError, match="all rows are zero"):
        gp.thin_shell(np.zeros((20, 3)))
    with pytest.raises(ValueError, match="constant column"):
        gp.coordinate_normality(np.zeros((20, 3)))


def test_streaming_thin_shell_state_mixes_blocks_of_any_scale(x):
    ref = gp.thin_shell(x)
    a = ThinShellState(n_features=8).update(x[:200] * 1e-155)
    b = ThinShellState(n_features=8).update(x[200:] * 1e-155)
    res = a.merge(b).finalize()
    assert res.cv == pytest.approx(ref.cv, rel=1e-9)
    assert res.mean == pytest.approx(ref.mean * 1e-155, rel=1e-9)
    c = ThinShellState(n_features=8).update(x[:250] * 1e-155)
    c.update(x[250:] * 1e-155)
    assert c.finalize().std == pytest.approx(ref.std * 1e-155, rel=1e-9)


def test_principal_projection_keeps_the_units(x):
    ref = gp.principal_projection(x, n_components=3)
    got = gp.principal_projection(x * 1e-155, n_components=3)
    np.testing.assert_allclose(np.abs(got), np.abs(ref) * 1e-155, rtol=1e-9)
