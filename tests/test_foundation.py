"""Validation, backend helpers, p-value helpers and the mergeable covariance state."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gaussprobe import principal_projection
from gaussprobe._pvalues import bonferroni_min, cauchy_combination, chi2_sf, normal_pvalue
from gaussprobe._random import random_directions
from gaussprobe._validation import check_embeddings
from gaussprobe.stats._moments import CovarianceState, covariance_state, require_full_rank, spectrum


def test_import_is_light():
    code = ("import sys, gaussprobe; "
            "print(sorted(m for m in {'torch','numba','scipy.stats','matplotlib','scipy.special','dask',"
            "'distributed','zarr','pyarrow'} "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("bad", "exc", "match"),
    [
        (np.zeros(10), ValueError, "2-D"),
        (np.zeros((10, 2, 2)), ValueError, "2-D"),
        (np.zeros((0, 3)), ValueError, "empty"),
        (np.ones((5, 3)), ValueError, "at least 8"),
        (np.array([[1 + 1j] * 2] * 10), TypeError, "complex"),
        (np.array([["a", "b"]] * 10), TypeError, "numeric"),
        (np.array([[1, 2], [3]], dtype=object), TypeError, "object"),
    ],
)
def test_bad_input_messages(bad, exc, match):
    with pytest.raises(exc, match=match):
        check_embeddings(bad)


def test_ragged_list_is_rejected():
    with pytest.raises(ValueError, match="ragged"):
        check_embeddings([[1.0, 2.0], [3.0]] * 5)


def test_nonfinite_reports_rows(rng):
    x = rng.standard_normal((50, 4))
    x[7, 2] = np.nan
    x[31, 0] = np.inf
    with pytest.raises(ValueError, match=r"2 row\(s\) \(first rows \[7, 31\], columns \[0, 2\]"):
        check_embeddings(x)


def test_overflowing_sum_of_finite_values_is_accepted():
    x = np.full((10, 3), 1e308)
    assert check_embeddings(x).n_samples == 10


def test_accepts_lists_dataframes_memmaps_and_ints(tmp_path, rng):
    pd = pytest.importorskip("pandas")
    x = rng.standard_normal((20, 3))
    assert check_embeddings(x.tolist()).data.dtype == np.float64
    assert check_embeddings(pd.DataFrame(x)).n_features == 3
    with pytest.raises(TypeError, match="non-numeric"):
        check_embeddings(pd.DataFrame({"a": ["x"] * 20, "b": np.arange(20.0)}))
    path = tmp_path / "x.npy"
    np.save(path, x.astype(np.float32))
    mm = np.load(path, mmap_mode="r")
    emb = check_embeddings(mm)
    assert emb.data.dtype == np.float32  # not copied
    assert emb.rows(0, 4).dtype == np.float64
    assert check_embeddings(np.arange(40).reshape(20, 2)).data.dtype == np.float64


@pytest.mark.torch
def test_torch_inputs_are_detached_and_upcast():
    torch = pytest.importorskip("torch")
    t = torch.randn(20, 3, requires_grad=True)
    emb = check_embeddings(t)
    assert not emb.data.requires_grad
    assert emb.rows(0, 3).dtype == torch.float64
    assert check_embeddings(t.detach().to(torch.bfloat16)).data.dtype == torch.float64
    assert check_embeddings(t.detach().half(), dtype="float32").data.dtype == torch.float32
    bad = t.detach().clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="first rows \\[3\\]"):
        check_embeddings(bad)


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
def test_covariance_state_blocks_and_merge(rng, block):
    x = rng.standard_normal((103, 5)) * [1, 2, 3, 4, 5] + 7.0
    emb = check_embeddings(x)
    state = covariance_state(emb, block_size=block)
    np.testing.assert_allclose(state.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(state.covariance(), np.cov(x.T, bias=True), rtol=1e-11)
    a = covariance_state(check_embeddings(x[:40]))
    b = covariance_state(check_embeddings(x[40:]))
    merged = a.merge(b, np)
    np.testing.assert_allclose(merged.covariance(ddof=1), np.cov(x.T), rtol=1e-11)
    assert isinstance(merged, CovarianceState)


def test_rank_detection_and_message(rng):
    x = rng.standard_normal((200, 6))
    x[:, 5] = x[:, 0] - x[:, 1]
    emb = check_embeddings(x)
    spec = spectrum(covariance_state(emb).covariance(), np)
    assert spec.rank == 5
    with pytest.raises(ValueError, match="numerical rank 5 < n_features=6"):
        require_full_rank(spec, n=200, d=6, what="Mardia's test")
    with pytest.raises(ValueError, match="n_samples=4 <= n_features=6"):
        require_full_rank(spec, n=4, d=6, what="Mardia's test")
    z = principal_projection(x)
    assert z.shape == (200, 5)
    np.testing.assert_allclose(np.cov(z.T, bias=True), np.diag(np.diag(np.cov(z.T, bias=True))), atol=1e-10)


def test_pvalue_helpers():
    from scipy import stats

    assert normal_pvalue(1.959963984540054) == pytest.approx(0.05, rel=1e-12)
    assert normal_pvalue(-2.0, "less") == pytest.approx(stats.norm.cdf(-2.0), rel=1e-12)
    assert chi2_sf(3.0, 2) == pytest.approx(stats.chi2.sf(3.0, 2), rel=1e-12)
    assert normal_pvalue(30.0) > 0  # no underflow to 0 through 1 - cdf
    p = np.array([0.01, 0.2, 0.5])
    t = np.mean(np.tan((0.5 - p) * np.pi))
    assert cauchy_combination(p) == pytest.approx(stats.cauchy.sf(t), rel=1e-10)
    assert cauchy_combination([1e-20, 0.5]) == pytest.approx(2e-20, rel=1e-6)
    assert bonferroni_min([0.01, 0.5]) == pytest.approx(0.02)


def test_cauchy_combination_is_calibrated_for_independent_uniforms():
    rng = np.random.default_rng(1)
    combined = np.array([cauchy_combination(rng.uniform(size=20)) for _ in range(4000)])
    assert abs(np.mean(combined < 0.05) - 0.05) < 0.012


def test_random_directions_are_unit_and_seeded():
    u = random_directions(7, 5, 3)
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(u, random_directions(7, 5, 3))


@pytest.mark.parametrize("block", [1, 7, None])
def test_project_rows_matches_matmul(rng, to_backend, block):
    from gaussprobe._backend import to_numpy
    from gaussprobe.stats._moments import project_rows

    x = rng.standard_normal((50, 6)).astype(np.float32)
    u = random_directions(6, 4, 0)
    got = to_numpy(project_rows(check_embeddings(to_backend(x)), u, block_size=block))
    np.testing.assert_allclose(got, x.astype(np.float64) @ u, rtol=1e-12)


@pytest.mark.torch
def test_device_special_functions_match_scipy_in_the_tails():
    torch = pytest.importorskip("torch")
    from scipy import special

    from gaussprobe._backend import log_ndtr, ndtr, ndtri

    z = np.array([-30.0, -10.0, -8.0, -1.0, 0.0, 2.0, 9.0])
    xt = __import__("array_api_compat").array_namespace(torch.zeros(1))
    np.testing.assert_allclose(ndtr(xt, torch.as_tensor(z)).numpy(), special.ndtr(z), rtol=1e-12)
    np.testing.assert_allclose(log_ndtr(xt, torch.as_tensor(z)).numpy(), special.log_ndtr(z), rtol=1e-12)
    p = np.array([1e-300, 1e-10, 0.3, 0.5, 0.99])
    np.testing.assert_allclose(ndtri(xt, torch.as_tensor(p)).numpy(), special.ndtri(p), rtol=1e-10)


# ------------------------------------------------------------------ option validators name the option
_BAD_OPTIONS = [None, "0.05", float("nan"), True, False, [1], np.bool_(True)]


@pytest.mark.parametrize("value", _BAD_OPTIONS)
def test_check_probability_names_the_option(value):
    from gaussprobe._validation import check_probability

    with pytest.raises((TypeError, ValueError), match=r"`alpha` must .*strictly between 0 and 1.*got") as info:
        check_probability(value, "alpha")
    assert "Pass" in str(info.value)


@pytest.mark.parametrize("value", [*_BAD_OPTIONS, 2.5, 256.0, 0, -3])
def test_check_positive_int_names_the_option(value):
    from gaussprobe._validation import check_positive_int

    with pytest.raises((TypeError, ValueError), match=r"`n_projections` must be an integer >= 1; got") as info:
        check_positive_int(value, "n_projections")
    assert "Pass" in str(info.value)


@pytest.mark.parametrize("value", [None, 3, np.float64, "FLOAT64", ["float64"]])
def test_check_choice_names_the_option(value):
    from gaussprobe._validation import check_choice

    with pytest.raises((TypeError, ValueError), match=r"`dtype` must be one of \['float64', 'float32'\]"):
        check_choice(value, "dtype", ("float64", "float32"))


def test_option_type_errors_are_both_type_and_value_errors():
    from gaussprobe._validation import InvalidOptionError, check_probability

    with pytest.raises(InvalidOptionError) as info:
        check_probability(None, "alpha")
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(("kwargs", "name"), [({"alpha": None}, "alpha"), ({"alpha": "0.05"}, "alpha"),
                                              ({"alpha": float("nan")}, "alpha"), ({"alpha": True}, "alpha"),
                                              ({"n_projections": None}, "n_projections"),
                                              ({"n_projections": "256"}, "n_projections"),
                                              ({"n_null": float("nan")}, "n_null"),
                                              ({"n_resamples": True}, "n_resamples"),
                                              ({"block_size": "big"}, "block_size"),
                                              ({"dtype": None}, "dtype")])
def test_analyze_option_errors_name_the_option(rng, kwargs, name):
    import gaussprobe as gp

    with pytest.raises((TypeError, ValueError), match=f"`{name}`"):
        gp.analyze(rng.standard_normal((50, 3)), **kwargs)


def test_good_options_pass_through():
    from gaussprobe._validation import check_choice, check_positive_int, check_probability

    assert check_probability(np.float32(0.25), "alpha") == 0.25
    assert check_positive_int(np.int64(7), "k") == 7
    assert check_choice("float32", "dtype", ("float64", "float32")) == "float32"


# ---------------------------------------------------------------------------- every RNGLike works
def _rngs():
    return {
        "none": None, "int": 3, "numpy-int": np.int64(3), "seed-sequence": np.random.SeedSequence(3),
        "generator": np.random.default_rng(3), "bit-generator": np.random.PCG64(3),
        "random-state": np.random.RandomState(3),
        "legacy-generator": np.random.default_rng(np.random.RandomState(3)),  # cannot spawn by itself
    }


@pytest.mark.parametrize("kind", list(_rngs()))
def test_every_rnglike_is_accepted_by_analyze(kind):
    import gaussprobe as gp

    x = np.random.default_rng(0).standard_normal((60, 3))
    report = gp.analyze(x, rng=_rngs()[kind], tests=["projections", "distance", "energy"], n_resamples=9)
    assert report.projections is not None and report.energy is not None


@pytest.mark.parametrize("kind", ["int", "numpy-int", "seed-sequence", "random-state"])
def test_seeded_rnglikes_are_reproducible(kind):
    import gaussprobe as gp

    x = np.random.default_rng(0).standard_normal((60, 3))
    a = gp.analyze(x, rng=_rngs()[kind], tests=["distance"])
    b = gp.analyze(x, rng=_rngs()[kind], tests=["distance"])
    np.testing.assert_array_equal(a.distance.sliced.null_statistics, b.distance.sliced.null_statistics)


def test_int_seeds_keep_their_streams():
    from gaussprobe._random import as_generator, spawn_generators

    assert as_generator(5).random() == np.random.default_rng(5).random()
    children = spawn_generators(5, 3)
    expected = np.random.default_rng(5).spawn(3)
    assert [c.random() for c in children] == [e.random() for e in expected]
    gen = np.random.default_rng(1)
    assert as_generator(gen) is gen


@pytest.mark.parametrize("bad", [True, 1.5, "seed", [1, 2], -1, object()])
def test_bad_rng_is_a_clear_error(bad):
    import gaussprobe as gp
    from gaussprobe._random import as_generator

    with pytest.raises((TypeError, ValueError), match=r"`rng` must be .*RandomState"):
        as_generator(bad)
    with pytest.raises((TypeError, ValueError), match="`rng`"):
        gp.projection_normality(np.random.default_rng(0).standard_normal((30, 2)), rng=bad)


@pytest.mark.parametrize("fn", ["projection_normality", "isotropic_distance", "energy_test"])
def test_public_functions_accept_random_state(fn):
    import gaussprobe as gp

    x = np.random.default_rng(0).standard_normal((60, 3))
    kwargs = {"n_resamples": 9} if fn == "energy_test" else {}
    a = getattr(gp, fn)(x, rng=np.random.RandomState(4), **kwargs)
    b = getattr(gp, fn)(x, rng=np.random.RandomState(4), **kwargs)
    assert a.to_dict() == b.to_dict()


# ----------------------------------------------------------------- value range and finiteness check
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_is_found_by_the_value_range(rng, bad):
    x = rng.standard_normal((5000, 7)).astype(np.float32)
    x[4321, 5] = bad
    with pytest.raises(ValueError, match=r"1 row\(s\) \(first rows \[4321\], columns \[5\]"):
        check_embeddings(x)


@pytest.mark.torch
def test_nonfinite_torch_is_found(rng):
    torch = pytest.importorskip("torch")
    x = torch.as_tensor(rng.standard_normal((30, 3)))
    x[4, 1] = float("nan")
    with pytest.raises(ValueError, match=r"first rows \[4\]"):
        check_embeddings(x)


def test_block_size_larger_than_the_input_is_clamped(rng):
    from gaussprobe.stats._moments import covariance_state

    x = rng.standard_normal((40, 3))
    emb = check_embeddings(x)
    state = covariance_state(emb, block_size=10**12)  # no buffer of 10**12 rows is allocated
    np.testing.assert_allclose(state.covariance(), np.cov(x.T, bias=True), rtol=1e-12)
