"""``analyze`` shares work between statistics: one blocked pass for the projections and the
covariance, one sort of the projections for the projection tests and the sliced distance, the
covariance's mean for the centred thin shell, and reusable buffers in the column kernels. Each shared
path must give what the stand-alone function gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import gaussprobe as gp
from gaussprobe._engine import executor_for
from gaussprobe._engine._states import ArraySink, Projector, SecondMoments, spread_shift
from gaussprobe._random import has_orthogonal_columns, random_directions
from gaussprobe._validation import check_embeddings
from gaussprobe.stats import distance as dist
from gaussprobe.stats import univariate as uv
from gaussprobe.stats._moments import covariance_state, project_rows


# ------------------------------------------------------------------------------ random directions
@pytest.mark.parametrize(("d", "k"), [(7, 5), (6, 6), (3, 8), (5, 11)])
def test_random_directions_are_orthonormal_frames(d, k):
    u = random_directions(d, k, 3)
    assert u.shape == (d, k)
    np.testing.assert_allclose(np.linalg.norm(u, axis=0), 1.0, rtol=1e-15)
    for a in range(0, k, d):  # each frame of up to d columns is orthonormal
        frame = u[:, a:a + d]
        np.testing.assert_allclose(frame.T @ frame, np.eye(frame.shape[1]), atol=1e-14)
    assert has_orthogonal_columns(u) == (k <= d)
    np.testing.assert_array_equal(u, random_directions(d, k, 3))


def test_random_direction_columns_are_uniform_on_the_sphere():
    # each coordinate of a uniform unit vector in d dimensions satisfies u_1² ~ Beta(1/2, (d-1)/2)
    d = 5
    first = np.array([random_directions(d, 3, s)[0, 1] for s in range(3000)])
    assert stats.kstest(first**2, stats.beta(0.5, (d - 1) / 2).cdf).pvalue > 1e-3
    assert abs(np.mean(np.sign(first))) < 0.1


def test_orthogonality_check():
    u = random_directions(6, 4, 0)
    assert has_orthogonal_columns(u * np.array([1.0, 2.0, 3.0, 0.5]))  # scale does not matter
    v = u.copy()
    v[:, 1] += 1e-6 * v[:, 0]
    assert not has_orthogonal_columns(v)
    v[:, 1] = 0.0
    assert not has_orthogonal_columns(v)


# ----------------------------------------------------------------------------------- null draws
def test_box_muller_draws_are_standard_normal():
    gen = np.random.default_rng(5)
    out = np.empty(400_000, dtype=np.float32)
    dist._standard_normal_into(gen, out, np.empty(200_000), np.empty(200_000, dtype=np.float32))
    assert np.all(np.isfinite(out))
    assert stats.kstest(out, "norm").pvalue > 1e-3
    assert abs(stats.kurtosis(out)) < 0.05 and abs(stats.skew(out)) < 0.02
    # the two halves (cos and sin of the same angle) are uncorrelated
    assert abs(np.corrcoef(out[:200_000], out[200_000:])[0, 1]) < 0.01


def test_orthogonal_and_factored_nulls_agree_in_distribution():
    n, d, k, reps = 300, 8, 6, 400
    u = random_directions(d, k, 1)
    v = u.copy()
    v[:, 1] += 1e-3 * v[:, 0]  # not orthogonal: the factored path, with nearly the same law
    a = dist.null_sliced_statistics(n, u, reps, 2)
    b = dist.null_sliced_statistics(n, v, reps, 3)
    se = np.sqrt(a.var(ddof=1) / reps + b.var(ddof=1) / reps)
    assert abs(a.mean() - b.mean()) < 4 * se
    assert stats.ks_2samp(a, b).pvalue > 1e-3


# ---------------------------------------------------------------------------------- shared passes
def test_fused_projection_and_covariance_match_the_separate_passes(rng):
    x = rng.standard_normal((5000, 40)).astype(np.float32) * np.linspace(0.5, 3, 40, dtype=np.float32)
    u = random_directions(40, 16, 0)
    for dtype in ("float64", "float32"):
        emb = check_embeddings(x, dtype=dtype)
        p = np.empty((5000, 16), dtype=emb.float)
        moments, _ = executor_for(emb).row_pass(
            emb, [SecondMoments(shift=spread_shift(emb)), Projector(directions=u, sink=ArraySink(p))],
            block_size=700)
        q = project_rows(emb, u, block_size=700)
        tol = 1e-12 if dtype == "float64" else 1e-5
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol)
        a = moments.result()
        b = covariance_state(emb, block_size=700)
        np.testing.assert_allclose(a.m2, b.m2, rtol=1e-12)
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-15)


def test_covariance_pass_is_accurate_for_sorted_and_offset_rows(rng):
    # two far-apart groups one after the other, plus a large common offset: a shift taken from the
    # first rows only would cancel away most digits of the within-group spread
    a = rng.standard_normal((6000, 5)) + 1e4
    b = rng.standard_normal((6000, 5)) * 2.0 + 1e4 + 300.0
    x = np.concatenate([a, b])
    state = covariance_state(check_embeddings(x), block_size=500)
    centred = x - x.mean(axis=0)
    ref = centred.T @ centred  # two-pass reference
    np.testing.assert_allclose(state.m2, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    np.testing.assert_allclose(state.mean, x.mean(axis=0), rtol=1e-14)


def test_analyze_shares_the_sort_and_the_mean_without_changing_results(rng):
    x = rng.laplace(size=(3000, 30))
    rep = gp.analyze(x, rng=4, tests=["thin_shell", "projections", "distance"])
    proj_seed, dist_seed, _ = np.random.default_rng(4).spawn(3)
    u = random_directions(30, 256, np.random.default_rng(4).spawn(3)[0])
    per = gp.isotropic_distance(x, rng=proj_seed, n_null=0).sliced.per_direction  # the same directions
    alone = dist.sliced_from_per_direction(per, u, n_samples=3000, rng=np.random.default_rng(dist_seed))
    np.testing.assert_allclose(rep.distance.sliced.per_direction, alone.per_direction, rtol=1e-12)
    np.testing.assert_array_equal(rep.distance.sliced.null_statistics, alone.null_statistics)
    plain = gp.thin_shell(x)  # the analyze run takes its norms from the shared pass
    assert rep.thin_shell.cv == pytest.approx(plain.cv, rel=1e-12)
    np.testing.assert_allclose(rep.thin_shell.quantiles, plain.quantiles, rtol=1e-14)
    centred = gp.thin_shell(x, center=True)
    assert rep.thin_shell_centered.cv == pytest.approx(centred.cv, rel=1e-12)
    assert rep.thin_shell_centered.mean == pytest.approx(centred.mean, rel=1e-12)
    only = gp.analyze(x, rng=4, tests=["distance"])
    np.testing.assert_allclose(only.distance.sliced.per_direction, rep.distance.sliced.per_direction,
                               rtol=1e-11)


# ------------------------------------------------------------------------- column kernel buffers
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_kernels_with_buffers_match_the_generic_kernels(rng, dtype):
    x = np.column_stack([rng.standard_normal(2000), rng.exponential(size=2000),
                         rng.standard_t(3, size=2000), rng.uniform(size=2000)])
    x[5, 2] = 60.0  # an outlier far in the tail: the log-tail branch
    m, floor = dist.normal_cell_means(2000)
    cells = (m.astype(dtype), floor)
    srt = np.sort(x.T.astype(dtype), axis=1)
    ranks = uv.order_statistic_ranks(2000)
    generic = uv._sorted_statistics(np, srt.copy(), dtype, cells, ranks)
    ws = uv.Workspace()
    fast = uv._sorted_statistics_numpy(srt, dtype, cells, ws, ranks)
    again = uv._sorted_statistics_numpy(srt, dtype, cells, ws, ranks)  # reused buffers, same answer
    assert fast.order_statistics.shape == (4, ranks.size)
    for g, f, a in zip(generic, fast, again, strict=True):
        np.testing.assert_allclose(f, g, rtol=1e-12 if dtype == np.float64 else 1e-6)
        np.testing.assert_array_equal(a, f)
