"""gaussprobe.testing.assert_gaussian_like: passes Gaussian data, explains failures, never leaks warnings."""

from __future__ import annotations

import numpy as np
import pytest

from gaussprobe.testing import assert_gaussian_like

FAST = {"n_projections": 64}


@pytest.fixture
def gaussian():
    return np.random.default_rng(0).standard_normal((1500, 16))


def test_gaussian_passes_and_returns_the_report(gaussian):
    report = assert_gaussian_like(gaussian, **FAST)
    assert report.n_samples == 1500
    assert report.seed == 0  # deterministic by default


def test_non_gaussian_fails_with_an_explanation():
    x = np.random.default_rng(1).exponential(size=(1500, 16))
    with pytest.raises(AssertionError) as ei:
        assert_gaussian_like(x, **FAST)
    text = str(ei.value)
    assert "not Gaussian-like" in text
    assert "[FAIL] min_coordinate_pvalue: observed" in text
    assert "required >= 0.0025" in text


def test_limits_override_and_criteria_forms(gaussian):
    from gaussprobe.criteria import Criteria

    with pytest.raises(AssertionError, match=r"max_cv: observed .* required <= 0\.01"):
        assert_gaussian_like(gaussian, max_cv=0.01, **FAST)
    assert_gaussian_like(gaussian, "paper", max_cv=1.0, **FAST)  # chi(16) CV ~ 0.18 > the paper's 0.1
    with pytest.raises(AssertionError, match="max_cv"):
        assert_gaussian_like(gaussian, "paper", **FAST)
    assert_gaussian_like(gaussian, {"max_ad_mean": 0.752}, **FAST)
    assert_gaussian_like(gaussian, Criteria(min_ad_pass_fraction=0.8), **FAST)
    with pytest.raises(AssertionError, match="min_ad_pass_fraction"):
        assert_gaussian_like(gaussian, Criteria(min_ad_pass_fraction=0.8), min_ad_pass_fraction=1.01, **FAST)


def test_bad_arguments():
    x = np.random.default_rng(0).standard_normal((100, 4))
    with pytest.raises(ValueError, match="Unknown criteria"):
        assert_gaussian_like(x, max_cvv=0.1)
    with pytest.raises(TypeError, match="criteria"):
        assert_gaussian_like(x, 3.0)
    with pytest.raises(ValueError, match="NaN"):
        assert_gaussian_like(np.full((100, 4), np.nan))


def test_warnings_are_reported_not_raised():
    """Rank-deficient input warns inside analyze; the helper folds the warning into its message."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((800, 6))
    x = np.hstack([x, x[:, :1] + x[:, 1:2]])  # rank 6 of 7
    with pytest.raises(AssertionError) as ei:
        assert_gaussian_like(x, tests=["distance"], min_sphericity_pvalue=0.5, n_projections=32)
    text = str(ei.value)
    assert "RankDeficiencyWarning" in text


@pytest.mark.torch
def test_torch_input(gaussian):
    torch = pytest.importorskip("torch")
    report = assert_gaussian_like(torch.as_tensor(gaussian), **FAST)
    assert report.backend == "torch"
