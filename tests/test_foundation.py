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
            "print(sorted(m for m in {'torch','numba','scipy.stats','matplotlib','scipy.special'} "
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
