"""The null distribution of the Anderson–Darling normality statistic, mean and variance estimated.

Generates ``gaussprobe/data/ad_null.npz``, the table behind the calibrated AD p-values of
:func:`gaussprobe.stats.univariate.ad_null_pvalue` (used by the coordinate, projection and
principal-direction tests), and checks it. Three steps:

1. **Asymptotic law.** Under normality with estimated mean and variance ("case 3"),
   ``A² -> Q = Σ_j λ_j χ²_1`` (Anderson & Darling 1952; Stephens 1976). The λ_j are the eigenvalues
   of the covariance kernel of the weighted estimated-parameter Brownian bridge,
   ``K(s, t) = [min(s, t) - st - g1(s) g1(t) - g2(s) g2(t)] / sqrt(s(1-s) t(1-t))`` with
   ``g1 = φ(ξ)``, ``g2 = ξ φ(ξ) / sqrt(2)``, ``ξ = Φ⁻¹(t)``. In the eigenbasis of the simple-hypothesis
   kernel (eigenvalues ``1/(j(j+1))``, eigenfunctions ``f_j ∝ sqrt(t(1-t)) P_j'(2t-1)``) the kernel is
   ``diag(1/(j(j+1))) - a aᵀ - b bᵀ`` with ``a_j = <g1/w, f_j>`` (odd j only) and ``b_j = <g2/w, f_j>``
   (even j only), ``w = sqrt(t(1-t))``; integrating by parts,
   ``a_j = c_j/2 · E[X P_j(2Φ(X)-1)]`` and ``b_j = c_j/(2√2) · E[X² P_j(2Φ(X)-1)]``,
   ``c_j = sqrt(4(2j+1)/(j(j+1)))``, computed by the trapezoidal rule (spectrally accurate here). Each
   parity block is a rank-one downdate of a diagonal matrix: its eigenvalues are the roots of the
   secular equation ``1 = Σ_j a_j² / (d_j - λ)``. Eigenvalues beyond ``--terms`` enter through their
   first three power sums.
2. **Asymptotic quantiles.** The tail probabilities of ``Q`` come from the Bromwich integral of its
   moment generating function along a vertical line near the saddle point (exact up to the
   trapezoidal rule's error, about ``e^-50``; relative accuracy in both tails), on a grid of ``x``;
   ``log x`` is then interpolated to probit knots ``z`` (``P(Q <= q(z)) = Φ(z)``).
3. **Finite n.** For each ``n`` of a grid (8 to 2000) seeded Monte-Carlo draws of ``A²`` from N(0, 1)
   samples (the library's own ``A²`` kernel) give the quantiles at the knots;
   ``log q_n(z) = log q(z) - log c_n + y(z, n)`` with D'Agostino & Stephens' factor
   ``c_n = 1 + 0.75/n + 2.25/n²``, and the remainder is fitted per knot by weighted least squares
   as ``y(z, n) = Σ_{k=1..4} β_k(z) n^-k`` (weights from the quantiles' binomial variance), so
   ``y -> 0`` as ``n -> ∞``. Knots the draws do not reach keep the β of the nearest knot they reach.

Run (seeded; the Monte-Carlo part dominates, ~1e10 normal deviates)::

    nice -n 10 python benchmarks/ad_null_table.py --cache .ad_null_cache     # writes the table
    nice -n 10 python benchmarks/ad_null_table.py --check                    # fresh draws vs table

``--check`` draws new samples (another seed) at n = 10, 25, 74, 300, 640 and 10⁴ (10⁶ draws, at
most 10⁹ deviates per n) and prints, for each, the fraction of calibrated p-values ``<= ε`` and
``>= 1 - ε`` divided by ``ε`` (1 for an exact null) beside the same for the D'Agostino–Stephens
approximation of ``nortest::ad.test``.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from scipy import interpolate, optimize, special

#: probit knots of the table: P(A² <= q_n(z)) = Φ(z); 1e-9 to 1 - 1e-21
Z_KNOTS = np.round(np.arange(-6.0, 9.5 + 1e-9, 0.125), 3)
#: sample sizes of the Monte-Carlo part
N_GRID = (8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 25, 28, 32, 36, 40, 45, 50, 60, 70, 80, 100,
          150, 200, 300, 500, 1000, 2000)
#: order of the polynomial in 1/n
N_POWERS = 4
SEED = 20_250_917


# ---------------------------------------------------------------- 1. eigenvalues
def projection_coefficients(terms: int, step: float = 2.5e-4, half_width: float = 12.0
                            ) -> tuple[np.ndarray, np.ndarray]:
    """``a_j`` and ``b_j`` for ``j = 0..terms`` (index 0 unused)."""
    x = np.arange(-half_width, half_width + step / 2, step)
    w = step * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    s = 2 * special.ndtr(x) - 1
    xw, x2w = x * w, x * x * w
    ea, eb = np.zeros(terms + 1), np.zeros(terms + 1)
    p0, p1 = np.ones_like(s), s.copy()
    ea[1], eb[1] = xw @ p1, x2w @ p1
    for j in range(1, terms):
        p0, p1 = p1, ((2 * j + 1) * s * p1 - j * p0) / (j + 1)
        ea[j + 1], eb[j + 1] = xw @ p1, x2w @ p1
    j = np.arange(terms + 1, dtype=float)
    j[0] = 1.0
    c = np.sqrt(4 * (2 * j + 1) / (j * (j + 1)))
    a, b = c / 2 * ea, c / (2 * math.sqrt(2)) * eb
    a[0] = b[0] = 0.0
    a[0::2] = 0.0  # exactly zero by symmetry
    b[1::2] = 0.0
    return a, b


def downdate_eigenvalues(d: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``diag(d) - a aᵀ`` (``d`` decreasing), one per interval ``(d_{i+1}, d_i)``.

    The last interval ``(0, d_last)`` holds the truncated image of the exact zero eigenvalue
    (``Σ a²/d = 1``: the standardised sample has mean 0 and variance 1 exactly) and is left out.
    """
    a2 = a * a

    def secular(lam: float) -> float:
        return float(1.0 - np.sum(a2 / (d - lam)))

    out = []
    for i in range(len(d) - 1):
        hi, lo = float(d[i]), float(d[i + 1])
        lo_in, hi_in = float(np.nextafter(lo, hi)), float(np.nextafter(hi, lo))
        if secular(hi_in) >= 0:  # the root lies within one ulp of the pole (a tiny coefficient)
            out.append(hi)
        elif secular(lo_in) <= 0:
            out.append(lo)
        else:
            out.append(optimize.brentq(secular, lo_in, hi_in, xtol=1e-300, rtol=1e-15, maxiter=500))
    return np.array(out)


def asymptotic_eigenvalues(terms: int) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Eigenvalues for ``j <= terms`` (decreasing) and the power sums of the rest (``1/(j(j+1))``)."""
    a, b = projection_coefficients(terms)
    j = np.arange(1, terms + 1, dtype=float)
    d = 1.0 / (j * (j + 1))
    lam = np.sort(np.concatenate([downdate_eigenvalues(d[0::2], a[1::2]),
                                  downdate_eigenvalues(d[1::2], b[2::2])]))[::-1]
    rest = np.arange(terms + 1, 10**7, dtype=float)
    dr = 1.0 / (rest * (rest + 1))
    return lam, (1.0 / (terms + 1), float(np.sum(dr**2)), float(np.sum(dr**3)))


# ---------------------------------------------------------------- 2. asymptotic tails
class AsymptoticLaw:
    """``Q = Σ λ_j χ²_1``: cumulant generating function and tail probabilities."""

    def __init__(self, lam: np.ndarray, power_sums: tuple[float, float, float]) -> None:
        self.lam = lam
        self.s1, self.s2, self.s3 = power_sums
        self.mean = float(lam.sum() + self.s1)
        self.variance = float(2 * (np.sum(lam**2) + self.s2))
        self.s_max = 1.0 / (2 * lam[0])

    def cgf(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s)
        head = -0.5 * np.log1p(-2.0 * np.multiply.outer(s, self.lam)).sum(-1)
        return head + self.s1 * s + self.s2 * s**2 + (4.0 / 3.0) * self.s3 * s**3

    def cgf1(self, s: float) -> float:
        return float(np.sum(self.lam / (1 - 2 * self.lam * s)) + self.s1 + 2 * self.s2 * s
                     + 4 * self.s3 * s * s)

    def tail(self, x: float) -> tuple[bool, float]:
        """``(upper, p)``: ``P(Q > x)`` when ``x`` exceeds the mean (``upper``), else ``P(Q <= x)``."""
        upper = x > self.mean
        if upper:
            s0 = optimize.brentq(lambda s: self.cgf1(s) - x, 0.0, self.s_max * (1 - 1e-13))
            c = min(max(s0, 0.3 * self.s_max), 0.9 * self.s_max)
            dist = min(c, self.s_max - c)
        else:
            s0 = optimize.brentq(lambda s: self.cgf1(s) - x, -1e5, 0.0)
            c = min(s0, -0.3 * self.s_max)
            dist = -c
        base = float(self.cgf(c).real) - c * x
        h = 2 * math.pi * dist / 50.0  # trapezoidal error ~ exp(-2π dist / h)
        total, k0, chunk = 0.0, 0, 2048
        while True:
            s = c + 1j * h * (k0 + np.arange(chunk))
            f = np.exp(self.cgf(s) - s * x - base) / s
            if k0 == 0:
                f[0] *= 0.5
            total += float(f.real.sum())
            k0 += chunk
            if np.abs(f[-64:]).max() < 1e-19 * abs(total) or k0 > 4_000_000:
                break
        p = total * h / math.pi * math.exp(base)
        return upper, (p if upper else -p)

    def probit(self, x: float) -> float:
        """``z`` with ``Φ(z) = P(Q <= x)``, computed from the small tail."""
        upper, p = self.tail(x)
        return float(-special.ndtri(p) if upper else special.ndtri(p))


def asymptotic_knots(law: AsymptoticLaw, n_grid: int = 96) -> tuple[np.ndarray, np.ndarray, float]:
    """``log q(z)`` and its derivative at :data:`Z_KNOTS`, and the largest interpolation error
    (leave-one-out over the x grid, in z)."""
    xs = np.exp(np.linspace(math.log(0.042), math.log(10.5), n_grid))
    zs = np.array([law.probit(float(x)) for x in xs])
    spline = interpolate.CubicSpline(zs, np.log(xs))
    # interpolation error: rebuild from every other point, compare on the rest
    half = interpolate.CubicSpline(zs[::2], np.log(xs[::2]))
    err = float(np.max(np.abs(half(zs[1:-1:2]) - np.log(xs[1:-1:2]))))
    return spline(Z_KNOTS), spline(Z_KNOTS, 1), err


# ---------------------------------------------------------------- 3. Monte Carlo
def draws_for(n: int, scale: float) -> int:
    return int(scale * min(10**7, 4 * 10**8 // n))


def simulate_a2(n: int, draws: int, seed: tuple[int, ...]) -> np.ndarray:
    """``A²`` of ``draws`` N(0, 1) samples of size ``n`` (the library's kernel, float64)."""
    from gaussprobe.stats.univariate import column_statistics

    rng = np.random.default_rng(list(seed))
    block = max(1, 2**22 // n)
    out = np.empty(draws)
    for a in range(0, draws, block):
        m = min(block, draws - a)
        out[a:a + m] = column_statistics(np, rng.standard_normal((n, m)), np.float64).ad_statistic
    return out


def finite_n_quantiles(n: int, draws: int, cache: str | None) -> np.ndarray:
    """Empirical ``log`` quantiles at the knots (NaN where fewer than 40 draws lie beyond)."""
    path = os.path.join(cache, f"ad_null_mc_{n}_{draws}.npy") if cache else None
    if path and os.path.exists(path):
        return np.load(path)
    t0 = time.perf_counter()
    a2 = np.sort(simulate_a2(n, draws, (SEED, n)))
    u = special.ndtr(Z_KNOTS)
    ok = (u * draws >= 40) & ((1 - u) * draws >= 40)
    q = np.full(Z_KNOTS.shape, np.nan)
    q[ok] = np.log(np.quantile(a2, u[ok], method="median_unbiased"))
    print(f"  n = {n}: {draws} draws, {time.perf_counter() - t0:.0f} s", flush=True)
    if path:
        os.makedirs(cache, exist_ok=True)
        np.save(path, q)
    return q


def fit_correction(logq_inf: np.ndarray, dlogq_inf: np.ndarray, mc: dict[int, tuple[int, np.ndarray]]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``β`` of shape (N_POWERS, knots) and the reduced χ² of each knot's fit."""
    u = special.ndtr(Z_KNOTS)
    beta = np.full((N_POWERS, Z_KNOTS.size), np.nan)
    chi2 = np.full(Z_KNOTS.size, np.nan)
    for i in range(Z_KNOTS.size):
        rows, ys, ws = [], [], []
        for n, (draws, q) in mc.items():
            if np.isnan(q[i]):
                continue
            cn = 1 + 0.75 / n + 2.25 / n**2
            ys.append(q[i] - logq_inf[i] + math.log(cn))
            # binomial variance of an empirical quantile, in log q: u(1-u) (d log q/dz)² / (M φ(z)²)
            phi = math.exp(-Z_KNOTS[i] ** 2 / 2) / math.sqrt(2 * math.pi)
            var = u[i] * (1 - u[i]) * dlogq_inf[i] ** 2 / (draws * phi**2)
            rows.append([float(n) ** -k for k in range(1, N_POWERS + 1)])
            ws.append(1.0 / var)
        if len(ys) < 2 * N_POWERS:
            continue
        a = np.array(rows) * np.sqrt(ws)[:, None]
        y = np.array(ys) * np.sqrt(ws)
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        beta[:, i] = coef
        chi2[i] = float(np.sum((a @ coef - y) ** 2) / (len(ys) - N_POWERS))
    good = np.flatnonzero(~np.isnan(beta[0]))
    beta[:, : good[0]] = beta[:, [good[0]]]
    beta[:, good[-1] + 1:] = beta[:, [good[-1]]]
    return beta, chi2


# ---------------------------------------------------------------- driver
def build(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    lam, sums = asymptotic_eigenvalues(args.terms)
    law = AsymptoticLaw(lam, sums)
    print(f"eigenvalues: {lam.size} (+ tail), λ1 = {lam[0]:.8f}, mean {law.mean:.8f}, "
          f"variance {law.variance:.8f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    for x in (0.631, 0.752, 0.873, 1.035):
        print(f"  P(Q > {x}) = {law.tail(x)[1]:.5f}")
    path = os.path.join(args.cache, f"ad_null_asymptotic_{args.terms}.npy") if args.cache else None
    if path and os.path.exists(path):
        logq, dlogq = np.load(path)
        err = math.nan
    else:
        logq, dlogq, err = asymptotic_knots(law)
        if path:
            os.makedirs(args.cache, exist_ok=True)
            np.save(path, np.stack([logq, dlogq]))
    print(f"asymptotic knots: max interpolation error {err:.1e} in log x ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    mc = {}
    for n in args.n:
        draws = draws_for(n, args.draws_scale)
        mc[n] = (draws, finite_n_quantiles(n, draws, args.cache))
    beta, chi2 = fit_correction(logq, dlogq, mc)
    print("reduced χ² of the 1/n fits per knot (z: χ²):",
          ", ".join(f"{z:g}: {c:.2f}" for z, c in zip(Z_KNOTS, chi2, strict=True) if not np.isnan(c)))
    np.savez(args.out, z=Z_KNOTS, logq=logq, dlogq=dlogq, beta=beta,
             lambda1=np.float64(lam[0]), mean=np.float64(law.mean), variance=np.float64(law.variance),
             n_grid=np.array(sorted(mc)), draws=np.array([mc[n][0] for n in sorted(mc)]),
             fit_chi2=chi2, seed=np.int64(SEED))
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")


def check(args: argparse.Namespace) -> None:
    from gaussprobe.stats.univariate import ad_null_pvalue, ad_pvalue

    eps = (0.1, 0.01, 1e-3, 1e-4)
    print("| n | draws | test | " + " | ".join(f"P(p <= {e:g})/ε" for e in eps) + " | "
          + " | ".join(f"P(p >= 1-{e:g})/ε" for e in eps) + " |")
    print("|---:|---:|---|" + "---:|" * (2 * len(eps)))
    for n in args.check_n:
        draws = int(min(args.check_draws, args.check_values / n))
        t0 = time.perf_counter()
        a2 = simulate_a2(n, draws, (SEED, 1, n))
        for name, p in (("calibrated", ad_null_pvalue(a2, n)), ("nortest", ad_pvalue(a2, n))):
            lo = [f"{np.mean(p <= e) / e:.3f}" for e in eps]
            hi = [f"{np.mean(p >= 1 - e) / e:.3f}" for e in eps]
            print(f"| {n} | {draws} | {name} | " + " | ".join(lo + hi) + " |", flush=True)
        print(f"<!-- n = {n}: {time.perf_counter() - t0:.0f} s -->")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "gaussprobe", "data",
                                                  "ad_null.npz"))
    ap.add_argument("--terms", type=int, default=1000, help="eigenvalues computed exactly (default 1000)")
    ap.add_argument("--n", type=int, nargs="+", default=list(N_GRID))
    ap.add_argument("--draws-scale", type=float, default=1.0,
                    help="scale the Monte-Carlo draws (1: 1e7 per n up to 40, 4e8/n above)")
    ap.add_argument("--cache", default=None, help="directory for the per-n Monte-Carlo quantiles")
    ap.add_argument("--check", action="store_true", help="compare the table with fresh draws")
    ap.add_argument("--check-n", type=int, nargs="+", default=[10, 25, 74, 300, 640, 10_000])
    ap.add_argument("--check-draws", type=float, default=1e6, help="draws per n at most")
    ap.add_argument("--check-values", type=float, default=1e9,
                    help="normal deviates per n at most (draws = min(check_draws, values / n))")
    args = ap.parse_args()
    if args.check:
        check(args)
    else:
        build(args)


if __name__ == "__main__":
    main()
