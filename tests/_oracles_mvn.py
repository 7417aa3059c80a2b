"""Naive oracles for Mardia and Henze-Zirkler, written straight from the formulas (slow on purpose).

They share nothing with gaussprobe's implementation: the covariance is inverted with
``np.linalg.inv``, every pair is visited in a Python loop, and the p-values use ``scipy.stats``.
"""

from __future__ import annotations

import math

import numpy as np


def _centred_inverse(x: np.ndarray, covariance: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / (n if covariance == "biased" else n - 1)
    return xc, np.linalg.inv(s)


def mardia_naive(x: np.ndarray, covariance: str = "biased") -> dict[str, float]:
    """b1, b2 by double loops, and the four tests from the textbook formulas."""
    from scipy import stats

    xc, s_inv = _centred_inverse(x, covariance)
    n, p = xc.shape
    b1 = 0.0
    b2 = 0.0
    for i in range(n):
        for j in range(n):
            b1 += float(xc[i] @ s_inv @ xc[j]) ** 3
        b2 += float(xc[i] @ s_inv @ xc[i]) ** 2
    b1 /= n * n
    b2 /= n
    df = p * (p + 1) * (p + 2) / 6
    a = n * b1 / 6
    k = (p + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (p + 1) - 6))
    f = ((n - 1) / n) ** 2 if covariance == "unbiased" else 1.0
    mean = f * p * (p + 2) * (n - 1) / (n + 1)
    var = f * f * 8 * p * (p + 2) * (n - 3) * (n - p - 1) * (n - p + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    z = (b2 - mean) / math.sqrt(var)
    z_asym = (b2 - p * (p + 2)) / math.sqrt(8 * p * (p + 2) / n)
    return {
        "b1": b1, "b2": b2,
        "skew": a, "skew_p": float(stats.chi2.sf(a, df)),
        "skew_small": a * k, "skew_small_p": float(stats.chi2.sf(a * k, df)),
        "kurt_z": z, "kurt_p": float(2 * stats.norm.sf(abs(z))),
        "kurt_z_asym": z_asym, "kurt_p_asym": float(2 * stats.norm.sf(abs(z_asym))),
    }


def hz_beta(n: int, p: int) -> float:
    return (1 / math.sqrt(2)) * ((2 * p + 1) / 4) ** (1 / (p + 4)) * n ** (1 / (p + 4))


def hz_lognormal(n: int, p: int) -> tuple[float, float, float, float]:
    """(mu, sigma2, log-mean, log-sd) exactly as printed in Henze & Zirkler (1990), in float64."""
    b = hz_beta(n, p)
    a = 1 + 2 * b**2
    w = (1 + b**2) * (1 + 3 * b**2)
    mu = 1 - a ** (-p / 2) * (1 + p * b**2 / a + p * (p + 2) * b**4 / (2 * a**2))
    si2 = (2 * (1 + 4 * b**2) ** (-p / 2)
           + 2 * a ** (-p) * (1 + 2 * p * b**4 / a**2 + 3 * p * (p + 2) * b**8 / (4 * a**4))
           - 4 * w ** (-p / 2) * (1 + 3 * p * b**4 / (2 * w) + p * (p + 2) * b**8 / (2 * w**2)))
    pmu = math.log(mu**2 / math.sqrt(si2 + mu**2))
    psi = math.sqrt(math.log1p(si2 / mu**2))
    return mu, si2, pmu, psi


def hz_naive(x: np.ndarray, covariance: str = "biased") -> tuple[float, float]:
    """HZ by a double loop over pairs and its lognormal p-value (only sensible for small p)."""
    from scipy import stats

    xc, s_inv = _centred_inverse(x, covariance)
    n, p = xc.shape
    b = hz_beta(n, p)
    pair = 0.0
    for j in range(n):
        for k in range(n):
            diff = xc[j] - xc[k]
            pair += math.exp(-(b**2) / 2 * float(diff @ s_inv @ diff))
    cross = sum(math.exp(-(b**2) / (2 * (1 + b**2)) * float(xc[j] @ s_inv @ xc[j])) for j in range(n))
    hz = pair / n - 2 * (1 + b**2) ** (-p / 2) * cross + n * (1 + 2 * b**2) ** (-p / 2)
    _, _, pmu, psi = hz_lognormal(n, p)
    return hz, float(stats.lognorm.sf(hz, psi, scale=math.exp(pmu)))


def hz_highprec(x: np.ndarray, *, dps: int = 40) -> dict[str, object]:
    """HZ - 1, the lognormal parameters and the p-value in ``dps``-digit arithmetic (mpmath).

    The covariance is inverted and factored in mpmath; the Mahalanobis products are formed in
    extended precision (``np.longdouble``) from that factor, and every exponential and sum is taken
    in mpmath. Biased covariance.
    """
    import mpmath as mp

    mp.mp.dps = dps
    x = np.asarray(x, dtype=np.float64)
    n, p = x.shape
    xl = x.astype(np.longdouble)
    xc = xl - xl.mean(axis=0)
    s = (xc.T @ xc) / n
    s_mp = mp.matrix([[mp.mpf(float(v)) + mp.mpf(float(v - np.longdouble(float(v)))) for v in row]
                      for row in s])
    chol = mp.cholesky(s_mp ** -1)  # S^-1 = L L^T, so z = L^T (x - mean)
    lmat = np.array([[np.longdouble(str(chol[i, j])) for j in range(p)] for i in range(p)],
                    dtype=np.longdouble)
    z = xc @ lmat
    r = np.einsum("ij,ij->i", z, z)
    g = z @ z.T
    b = mp.mpf(1) / mp.sqrt(2) * mp.power(mp.mpf(2 * p + 1) / 4, mp.mpf(1) / (p + 4)) * \
        mp.power(n, mp.mpf(1) / (p + 4))
    b2 = b * b
    iu = np.triu_indices(n, 1)
    d_off = (r[iu[0]] + r[iu[1]] - 2 * g[iu]).tolist()
    t1 = 2 * mp.fsum(mp.exp(-b2 / 2 * mp.mpf(str(v))) for v in d_off) / n
    t2 = 2 * mp.power(1 + b2, -mp.mpf(p) / 2) * mp.fsum(
        mp.exp(-b2 / (2 * (1 + b2)) * mp.mpf(str(v))) for v in r.tolist())
    t3 = n * mp.power(1 + 2 * b2, -mp.mpf(p) / 2)
    h = t1 - t2 + t3
    one_minus_mu, si2, pmu, psi = hz_lognormal_highprec(n, p, dps=dps)
    mu = 1 - one_minus_mu
    zval = (mp.log(1 + h) - pmu) / psi
    pval = mp.erfc(zval / mp.sqrt(2)) / 2
    return {"h": h, "mu": mu, "sigma2": si2, "log_mean": pmu, "log_sd": psi, "pvalue": pval,
            "beta": b}


def hz_lognormal_highprec(n: int, p: int, *, dps: int = 60) -> tuple[object, object, object, object]:
    """(1 - mu, sigma2, log-mean, log-sd) in ``dps``-digit arithmetic, for any p."""
    import mpmath as mp

    mp.mp.dps = dps
    b2 = (mp.mpf(1) / 2) * mp.power(mp.mpf(2 * p + 1) / 4, mp.mpf(2) / (p + 4)) * \
        mp.power(n, mp.mpf(2) / (p + 4))
    a = 1 + 2 * b2
    w = (1 + b2) * (1 + 3 * b2)
    one_minus_mu = mp.power(a, -mp.mpf(p) / 2) * (1 + p * b2 / a + p * (p + 2) * b2**2 / (2 * a**2))
    mu = 1 - one_minus_mu
    si2 = (2 * mp.power(1 + 4 * b2, -mp.mpf(p) / 2)
           + 2 * mp.power(a, -p) * (1 + 2 * p * b2**2 / a**2 + 3 * p * (p + 2) * b2**4 / (4 * a**4))
           - 4 * mp.power(w, -mp.mpf(p) / 2) * (1 + 3 * p * b2**2 / (2 * w)
                                                 + p * (p + 2) * b2**4 / (2 * w**2)))
    pmu = mp.log(mu**2 / mp.sqrt(si2 + mu**2))
    psi = mp.sqrt(mp.log(1 + si2 / mu**2))
    return one_minus_mu, si2, pmu, psi
