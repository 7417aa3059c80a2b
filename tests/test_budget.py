"""Memory and time budgets: size knobs are checked before any work starts."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import gaussprobe as gp
from gaussprobe import _budget
from gaussprobe._budget import (
    MEMORY_ENV,
    TIME_ENV,
    BudgetExceededError,
    budget,
    check_budget,
    estimate_block,
    estimate_null,
    estimate_projections,
    estimate_resamples,
    memory_budget,
    time_budget,
)


@pytest.fixture
def x():
    return np.random.default_rng(1).standard_normal((500, 8))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    monkeypatch.delenv(TIME_ENV, raising=False)


def test_a_billion_projections_fail_at_once_with_the_estimate(x):
    t0 = time.perf_counter()
    with pytest.raises(BudgetExceededError) as info:
        gp.analyze(x, n_projections=10**9)
    assert time.perf_counter() - t0 < 5.0
    msg = str(info.value)
    # the estimate: the (d, k) directions alone are 60 GiB (the projections themselves are spilled)
    assert "n_projections=1000000000" in msg and "GiB" in msg
    assert "memory budget" in msg and MEMORY_ENV in msg  # the budget and how to raise it
    assert "n_projections` <= " in msg  # the largest value that fits
    assert isinstance(info.value, ValueError)


def test_the_suggested_value_fits(x, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1G")
    monkeypatch.setenv(TIME_ENV, "none")
    with pytest.raises(BudgetExceededError, match=r"<= (\d+)") as info:
        check_budget(n_samples=10**5, n_features=8, where="f", n_projections=10**6)
    best = int(str(info.value).split("<= ")[1].split(",")[0])
    check_budget(n_samples=10**5, n_features=8, where="f", n_projections=best)
    with pytest.raises(BudgetExceededError):
        check_budget(n_samples=10**5, n_features=8, where="f", n_projections=best + 1)


@pytest.mark.parametrize("call", [
    lambda x: gp.isotropic_distance(x, n_projections=10**9),
    lambda x: gp.isotropic_distance(x, n_null=10**12),
    lambda x: gp.analyze(x, n_null=10**12),
    lambda x: gp.analyze(x, tests=["energy"], n_resamples=10**12),
    lambda x: gp.analyze(x, tests="all", block_size=10**9),
])
def test_public_functions_check_their_knobs(x, call, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "64M")  # block_size tiles of 500² floats do not fit 64 MiB
    with pytest.raises(BudgetExceededError):
        call(x)


@pytest.mark.parametrize("call", [
    lambda x: gp.thin_shell(x, block_size=10**9),
    lambda x: gp.covariance_spectrum(x, block_size=10**9),
    lambda x: gp.sphericity_test(x, block_size=10**9),
])
def test_row_block_knobs(call, monkeypatch):
    x = np.random.default_rng(0).standard_normal((20000, 64))
    monkeypatch.setenv(MEMORY_ENV, "16M")
    with pytest.raises(BudgetExceededError, match="block_size"):
        call(x)
    monkeypatch.setenv(MEMORY_ENV, "none")
    call(x)  # runs once the check is off


def test_unused_knobs_are_not_charged(x):
    report = gp.analyze(x, tests=["thin_shell"], n_resamples=10**12, n_projections=10**9, rng=0)
    assert report.thin_shell is not None


def test_environment_variable_raises_the_budget(x, monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "none")
    monkeypatch.setenv(TIME_ENV, "none")
    check_budget(n_samples=500, n_features=8, where="analyze", n_projections=10**9)
    monkeypatch.setenv(MEMORY_ENV, "1K")
    with pytest.raises(BudgetExceededError, match="1 KiB"):
        check_budget(n_samples=500, n_features=8, where="analyze", n_projections=256)


def test_time_budget(monkeypatch):
    monkeypatch.setenv(TIME_ENV, "1s")
    with pytest.raises(BudgetExceededError, match="time budget of 1 s"):
        check_budget(n_samples=10**4, n_features=64, where="energy_test", n_resamples=10**4)
    monkeypatch.setenv(TIME_ENV, "3h")
    assert time_budget() == 3 * 3600


def test_context_manager_overrides_the_environment(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1K")
    with budget(memory="none", seconds=math.inf):
        assert memory_budget() == math.inf and time_budget() == math.inf
        check_budget(n_samples=500, n_features=8, where="f", n_projections=10**9)
    assert memory_budget() == 1024


@pytest.mark.parametrize(("text", "value"), [("64G", 64 * 2**30), ("1.5 GiB", 1.5 * 2**30), ("100", 100.0),
                                             ("2MB", 2 * 2**20), ("none", math.inf)])
def test_memory_budget_parsing(monkeypatch, text, value):
    monkeypatch.setenv(MEMORY_ENV, text)
    assert memory_budget() == value


@pytest.mark.parametrize("text", ["lots", "-5G", "0", "12X"])
def test_bad_budget_values_say_how_to_fix_them(monkeypatch, text):
    monkeypatch.setenv(MEMORY_ENV, text)
    with pytest.raises(ValueError, match=f"{MEMORY_ENV}=64G"):
        memory_budget()


def test_default_budgets_are_finite():
    assert 2 * 2**30 <= memory_budget() < math.inf
    assert time_budget() == _budget.DEFAULT_MAX_SECONDS


def test_estimates_grow_with_their_knob():
    for est in (lambda v: estimate_projections(1000, 16, v), lambda v: estimate_null(1000, 16, 64, v),
                lambda v: estimate_resamples(1000, 16, v)):
        a, b = est(10), est(1000)
        assert b.bytes >= a.bytes and b.seconds > a.seconds
    assert estimate_block(100, 16, 10**9).bytes == estimate_block(100, 16, 100).bytes  # capped at n
    assert estimate_block(1000, 16, 500, tiles=True).bytes > estimate_block(1000, 16, 500).bytes
    assert estimate_block(1000, 16, 10**6, columns=True).bytes == estimate_block(1000, 16, 16, columns=True).bytes


def test_estimates_are_of_the_right_order(x):
    """The projection estimate is within a factor ~30 of the measured time (a sanity bound)."""
    t0 = time.perf_counter()
    gp.projection_normality(x, n_projections=2048, rng=0)
    measured = time.perf_counter() - t0
    est = estimate_projections(500, 8, 2048).seconds
    assert est / 30 < measured < est * 30


def test_knob_types_are_validated_first():
    with pytest.raises(TypeError, match="n_null"):
        check_budget(n_samples=10, n_features=2, where="f", n_null="many")
