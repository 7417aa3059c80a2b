"""Contrastive losses against naive loops written from the formulas, closed forms and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings
from hypothesis import strategies as st

from gaussprobe.contrastive.losses import (
    alignment,
    entropy_estimate,
    info_nce,
    l2_normalize,
    nt_xent,
    regularized_info_nce,
    uniformity,
)

pytestmark = pytest.mark.torch


# ----------------------------------------------------------------------------- naive oracles
def _unit(a):
    a = np.asarray(a, dtype=np.float64)
    out = []
    for row in a:
        norm = math.sqrt(sum(float(t) ** 2 for t in row))
        if norm == 0:
            e1 = np.zeros(len(row))
            e1[0] = 1.0
            out.append(e1)
        else:
            out.append(row / norm)
    return np.array(out)


def info_nce_naive(u, v, tau):
    """Eq. 2 term by term: -(1/N) sum_i log( e^{u_i.v_i/tau} / sum_j e^{u_i.v_j/tau} )."""
    u, v = _unit(u), _unit(v)
    n = len(u)
    total = 0.0
    for i in range(n):
        num = math.exp(float(u[i] @ v[i]) / tau)
        den = sum(math.exp(float(u[i] @ v[j]) / tau) for j in range(n))
        total += -math.log(num / den)
    return total / n


def nt_xent_naive(u, v, tau):
    u, v = _unit(u), _unit(v)
    n = len(u)
    w = np.concatenate([u, v])
    total = 0.0
    for k in range(2 * n):
        partner = k + n if k < n else k - n
        num = math.exp(float(w[k] @ w[partner]) / tau)
        den = sum(math.exp(float(w[k] @ w[m]) / tau) for m in range(2 * n) if m != k)
        total += -math.log(num / den)
    return total / (2 * n)


def uniformity_naive(u, t=2.0):
    u = _unit(u)
    n = len(u)
    vals = [math.exp(-t * float(np.sum((u[i] - u[j]) ** 2))) for i in range(n) for j in range(i + 1, n)]
    return math.log(sum(vals) / len(vals))


def knn_entropy_naive(z, k=1):
    from scipy.spatial import cKDTree
    from scipy.special import digamma, gammaln

    z = np.asarray(z, dtype=np.float64)
    n, d = z.shape
    dist, _ = cKDTree(z).query(z, k=k + 1)
    eps = dist[:, k]
    log_vd = d / 2 * math.log(math.pi) - gammaln(d / 2 + 1)
    return digamma(n) - digamma(k) + log_vd + d * np.mean(np.log(eps))


def _pair(rng, n=12, d=5, dtype=torch.float64):
    u = torch.as_tensor(rng.standard_normal((n, d)), dtype=dtype)
    v = torch.as_tensor(rng.standard_normal((n, d)), dtype=dtype)
    return u, v


# ----------------------------------------------------------------------------- InfoNCE / NT-Xent
@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_info_nce_matches_naive_loop(rng, tau):
    u, v = _pair(rng)
    got = float(info_nce(u, v, temperature=tau))
    assert got == pytest.approx(info_nce_naive(u.numpy(), v.numpy(), tau), rel=1e-12)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_matches_naive_loop(rng, tau):
    u, v = _pair(rng, n=9)
    got = float(nt_xent(u, v, temperature=tau))
    assert got == pytest.approx(nt_xent_naive(u.numpy(), v.numpy(), tau), rel=1e-12)


@pytest.mark.parametrize("n", [2, 7, 64])
def test_collinear_closed_forms(n):
    u = torch.ones(n, 3, dtype=torch.float64) * 2.5
    assert float(info_nce(u, u, temperature=0.1)) == pytest.approx(math.log(n), rel=1e-12)
    assert float(nt_xent(u, u, temperature=0.1)) == pytest.approx(math.log(2 * n - 1), rel=1e-12)


def test_info_nce_is_one_directional_and_nt_xent_symmetric(rng):
    u, v = _pair(rng)
    assert float(info_nce(u, v)) != pytest.approx(float(info_nce(v, u)), rel=1e-6)
    assert float(nt_xent(u, v)) == pytest.approx(float(nt_xent(v, u)), rel=1e-12)
    # NT-Xent averages the 2N anchors; InfoNCE in both directions is a different quantity
    both = 0.5 * (float(info_nce(u, v)) + float(info_nce(v, u)))
    assert float(nt_xent(u, v)) != pytest.approx(both, rel=1e-6)


def test_perfect_alignment_reaches_zero():
    u = torch.eye(6, dtype=torch.float64)
    assert float(info_nce(u, u, temperature=0.01)) == pytest.approx(0.0, abs=1e-30)


@pytest.mark.parametrize("loss", [info_nce, nt_xent])
def test_fp32_matches_fp64(rng, loss):
    u, v = _pair(rng, n=128, d=32)
    lo = float(loss(u.float(), v.float(), temperature=0.1))
    hi = float(loss(u, v, temperature=0.1))
    assert lo == pytest.approx(hi, rel=2e-6)


@pytest.mark.parametrize("loss", [info_nce, nt_xent])
def test_bf16_inputs_are_upcast(rng, loss):
    u, v = _pair(rng, n=16, d=8)
    out = loss(u.to(torch.bfloat16), v.to(torch.bfloat16))
    assert out.dtype == torch.float32
    assert float(out) == pytest.approx(float(loss(u, v)), rel=2e-2)


@pytest.mark.parametrize("loss", [info_nce, nt_xent, regularized_info_nce])
def test_gradients_finite_even_with_zero_rows_and_small_temperature(rng, loss):
    u, v = _pair(rng, n=10, d=4, dtype=torch.float32)
    u = u * 1e3
    u[3] = 0.0
    v[5] = 0.0
    u.requires_grad_(True)
    v.requires_grad_(True)
    kwargs = {"temperature": 0.02}
    out = loss(u, v, **kwargs)
    out.backward()
    assert torch.isfinite(out)
    assert torch.isfinite(u.grad).all() and torch.isfinite(v.grad).all()
    if loss is not regularized_info_nce:
        assert float(u.grad[3].abs().sum()) == 0.0  # a zero row maps to the constant c0


def test_zero_rows_map_to_c0():
    z = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]])
    out = l2_normalize(z)
    assert out[0].tolist() == [1.0, 0.0, 0.0]
    assert out[1].tolist() == pytest.approx([0.6, 0.0, 0.8])
    out = l2_normalize(z, c0=torch.tensor([0.0, 2.0, 0.0]))
    assert out[0].tolist() == [0.0, 1.0, 0.0]
    # the loss uses the rule: a zero anchor behaves like the anchor c0
    v = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    a = float(info_nce(torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), v))
    b = float(info_nce(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), v))
    assert a == b


def test_tiny_nonzero_rows_are_still_normalised():
    z = torch.tensor([[1e-30, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert l2_normalize(z)[0].tolist() == [1.0, 0.0]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 100.0))
def test_info_nce_invariances(seed, scale):
    """Invariant to positive row scaling, to a joint row permutation and to a joint rotation."""
    g = np.random.default_rng(seed)
    u = torch.as_tensor(g.standard_normal((8, 4)))
    v = torch.as_tensor(g.standard_normal((8, 4)))
    base = float(info_nce(u, v))
    s = torch.as_tensor(g.uniform(0.1, 10.0, (8, 1))) * scale
    assert float(info_nce(u * s, v)) == pytest.approx(base, rel=1e-10)
    perm = torch.as_tensor(g.permutation(8))
    assert float(info_nce(u[perm], v[perm])) == pytest.approx(base, rel=1e-10)
    q, _ = np.linalg.qr(g.standard_normal((4, 4)))
    q = torch.as_tensor(q)
    assert float(info_nce(u @ q, v @ q)) == pytest.approx(base, rel=1e-10)
    assert float(nt_xent(u @ q, v @ q)) == pytest.approx(float(nt_xent(u, v)), rel=1e-10)


def test_info_nce_upper_bound_uses_n_candidates(rng):
    """InfoNCE <= log N + 2/tau always (each logit within [-1/tau, 1/tau])."""
    u, v = _pair(rng, n=20)
    assert float(info_nce(u, v, temperature=0.5)) <= math.log(20) + 4.0


@pytest.mark.parametrize(("u_shape", "v_shape"), [((4, 3), (5, 3)), ((4,), (4,)), ((1, 3), (1, 3))])
def test_shape_errors(u_shape, v_shape):
    with pytest.raises(ValueError, match=r"shape|at least 2"):
        info_nce(torch.ones(u_shape), torch.ones(v_shape))


@pytest.mark.parametrize("tau", [0.0, -1.0, float("nan")])
def test_temperature_errors(tau):
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(torch.ones(3, 2), torch.ones(3, 2), temperature=tau)


def test_integer_input_error():
    with pytest.raises(TypeError, match="floating"):
        info_nce(torch.ones(3, 2, dtype=torch.int64), torch.ones(3, 2, dtype=torch.int64))


# ----------------------------------------------------------------------------- alignment / uniformity
def test_alignment_matches_formula(rng):
    u, v = _pair(rng)
    un, vn = _unit(u.numpy()), _unit(v.numpy())
    want = np.mean([np.sum((un[i] - vn[i]) ** 2) for i in range(len(un))])
    assert float(alignment(u, v)) == pytest.approx(want, rel=1e-12)
    want3 = np.mean([np.linalg.norm(un[i] - vn[i]) ** 3 for i in range(len(un))])
    assert float(alignment(u, v, alpha=3.0)) == pytest.approx(want3, rel=1e-12)


@pytest.mark.parametrize(("n", "block"), [(13, 4), (13, 12), (9, 100), (2, 1)])
def test_uniformity_matches_naive_loop_for_any_block_size(rng, n, block):
    u = torch.as_tensor(rng.standard_normal((n, 4)))
    got = float(uniformity(u, block_size=block))
    assert got == pytest.approx(uniformity_naive(u.numpy()), rel=1e-12)


def test_uniformity_gradient_finite_and_lower_for_spread_points(rng):
    u = torch.tensor(rng.standard_normal((40, 3)), requires_grad=True)
    out = uniformity(u, block_size=7)
    out.backward()
    assert torch.isfinite(u.grad).all()
    clumped = torch.as_tensor(rng.standard_normal((40, 3)) * 0.05 + np.array([1.0, 0, 0]))
    assert float(uniformity(u.detach())) < float(uniformity(clumped))


# ----------------------------------------------------------------------------- entropy / Route 2
def test_knn_entropy_matches_naive_kozachenko_leonenko(rng):
    z = rng.standard_normal((300, 3)) * np.array([1.0, 2.0, 0.5])
    for k in (1, 3):
        got = float(entropy_estimate(torch.as_tensor(z), estimator="knn", k=k))
        assert got == pytest.approx(knn_entropy_naive(z, k), rel=1e-10)


@pytest.mark.parametrize("estimator", ["knn", "kde"])
def test_entropy_estimators_recover_gaussian_entropy(estimator):
    g = np.random.default_rng(3)
    d, sigma = 2, 1.5
    z = torch.as_tensor(g.standard_normal((3000, d)) * sigma)
    exact = 0.5 * d * math.log(2 * math.pi * math.e * sigma**2)
    got = float(entropy_estimate(z, estimator=estimator))
    # KDE resubstitution is biased upwards by the kernel width; k-NN is nearly unbiased
    tol = 0.05 if estimator == "knn" else 0.15
    assert got == pytest.approx(exact, abs=tol)


def test_kde_entropy_matches_formula(rng):
    z = rng.standard_normal((50, 2))
    h = 0.7
    total = 0.0
    for i in range(50):
        dens = sum(math.exp(-np.sum((z[i] - z[j]) ** 2) / (2 * h * h)) / (2 * math.pi * h * h)
                   for j in range(50) if j != i) / 49
        total += -math.log(dens)
    got = float(entropy_estimate(torch.as_tensor(z), estimator="kde", bandwidth=h))
    assert got == pytest.approx(total / 50, rel=1e-10)


def test_regularized_objective_is_infonce_plus_regulariser(rng):
    z1, z2 = _pair(rng, n=16, d=3)
    beta, lam = 0.3, 0.8
    z = torch.cat([z1, z2])
    want = (float(info_nce(z1, z2)) + beta * (-float(entropy_estimate(z)) + lam
            * float((z * z).sum(1).mean())))
    got = float(regularized_info_nce(z1, z2, beta=beta, lam=lam))
    assert got == pytest.approx(want, rel=1e-12)
    assert float(regularized_info_nce(z1, z2, beta=0.0)) == pytest.approx(float(info_nce(z1, z2)))


def test_regulariser_prefers_the_gaussian_of_variance_one_over_two_lambda():
    """-H + lam E|z|^2 is smallest (among scaled Gaussians) at variance 1/(2 lam) per coordinate."""
    g = np.random.default_rng(5)
    base = torch.as_tensor(g.standard_normal((2000, 2)))
    lam = 2.0
    scales = [0.25, 0.5, 0.75, 1.0]  # optimum std = sqrt(1/(2 lam)) = 0.5
    vals = [float(-entropy_estimate(base * s) + lam * ((base * s) ** 2).sum(1).mean()) for s in scales]
    assert int(np.argmin(vals)) == 1


@pytest.mark.parametrize(("kwargs", "match"), [({"estimator": "nope"}, "estimator"),
                                                ({"k": 0}, "k"),
                                                ({"estimator": "kde", "bandwidth": -1.0}, "bandwidth")])
def test_entropy_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        entropy_estimate(torch.randn(10, 2), **kwargs)
