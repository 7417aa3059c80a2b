"""Naive, formula-first oracles for Royston, Doornik–Hansen and the energy test (tests only).

Each is written straight from the formulas (FORMULAS.md and the original papers), loops over columns
or pairs where that is the plainest reading, and leans on scipy.stats where scipy implements a piece
(Shapiro–Wilk, normal quantiles, chi-squared tails). Slow on purpose; never imported by gaussprobe.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats
from scipy.spatial.distance import pdist


# ---------------------------------------------------------------- Royston (MVN royston())
def royston_naive(x, shapiro_wilk_only=False):
    """Return (H, p, edf, W, used_shapiro_francia, z) for the rows of ``x``.

    MVN's rule (Shapiro-Francia for columns with kurtosis > 3) unless ``shapiro_wilk_only``.
    """
    x = np.asarray(x, dtype=np.float64)
    n, p = x.shape
    w = np.empty(p)
    sf = np.zeros(p, dtype=bool)
    for j in range(p):
        col = x[:, j]
        kurt = stats.kurtosis(col, fisher=False, bias=True)
        if kurt > 3 and not shapiro_wilk_only:
            sf[j] = True
            ranks = np.arange(1, n + 1)
            scores = stats.norm.ppf((ranks - 3.0 / 8.0) / (n + 0.25))
            w[j] = np.corrcoef(np.sort(col), scores)[0, 1] ** 2
        else:
            w[j] = stats.shapiro(col).statistic
    z = np.empty(p)
    for j in range(p):
        if n <= 11:
            g = -2.273 + 0.459 * n
            m = 0.544 - 0.39978 * n + 0.025054 * n**2 - 0.0006714 * n**3
            s = math.exp(1.3822 - 0.77857 * n + 0.062767 * n**2 - 0.0020322 * n**3)
            z[j] = (-math.log(g - math.log(1 - w[j])) - m) / s
        else:
            u = math.log(n)
            m = -1.5861 - 0.31082 * u - 0.083751 * u**2 + 0.0038915 * u**3
            s = math.exp(-0.4803 - 0.082676 * u + 0.0030302 * u**2)
            z[j] = (math.log(1 - w[j]) - m) / s
    psi = stats.norm.ppf(stats.norm.cdf(-z) / 2) ** 2
    if p == 1:
        edf = 1.0
    else:
        c = np.corrcoef(x, rowvar=False)
        v = 0.21364 + 0.015124 * math.log(n) ** 2 - 0.0018034 * math.log(n) ** 3
        total = 0.0
        for i in range(p):
            for k in range(p):
                cik = 1.0 if i == k else min(1.0, max(-1.0, c[i, k]))
                total += cik**5 * (1 - 0.715 * (1 - cik) ** 0.715 / v)
        cbar = (total - p) / (p * p - p)
        edf = p / (1 + (p - 1) * cbar)
    h = edf * psi.sum() / p
    return h, stats.chi2.sf(h, edf), edf, w, sf, z


# ---------------------------------------------------------------- Doornik-Hansen (2008)
def zca_correlation_whiten(x):
    """y_i = H Λ^{-1/2} Hᵀ V (x_i - x̄), V = diag(S)^{-1/2}, C = V S V = H Λ Hᵀ (S unbiased)."""
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0)
    s = np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])
    v = np.diag(1 / np.sqrt(np.diag(s)))
    c = v @ s @ v
    lam, h = np.linalg.eigh(c)
    root = h @ np.diag(lam**-0.5) @ h.T
    return xc @ v @ root  # both factors symmetric, so row form = (root V x_i)^T


def dh_z1(sqrt_b1, n):
    """D'Agostino's skewness z from the signed sample skewness (FORMULAS.md)."""
    beta = 3 * (n**2 + 27 * n - 70) * (n + 1) * (n + 3) / ((n - 2) * (n + 5) * (n + 7) * (n + 9))
    w2 = -1 + math.sqrt(2 * (beta - 1))
    delta = 1 / math.sqrt(math.log(math.sqrt(w2)))
    y = sqrt_b1 * math.sqrt((w2 - 1) * (n + 1) * (n + 3) / (12 * (n - 2)))
    return delta * math.log(y + math.sqrt(y * y + 1))


def dh_z2(b1, b2, n):
    """Shenton–Bowman gamma approximation of the kurtosis, then Wilson–Hilferty (FORMULAS.md)."""
    dd = (n - 3) * (n + 1) * (n**2 + 15 * n - 4)
    a = (n - 2) * (n + 5) * (n + 7) * (n**2 + 27 * n - 70) / (6 * dd)
    c = (n - 7) * (n + 5) * (n + 7) * (n**2 + 2 * n - 5) / (6 * dd)
    k = (n + 5) * (n + 7) * (n**3 + 37 * n**2 + 11 * n - 313) / (12 * dd)
    alpha = a + c * b1
    chi = 2 * k * (b2 - 1 - b1)
    return (np.cbrt(chi / (2 * alpha)) - 1 + 1 / (9 * alpha)) * math.sqrt(9 * alpha)


def doornik_hansen_naive(x):
    """Return (E, p, z1, z2) from the correctly centred, ZCA-whitened correlation-scaled data."""
    y = zca_correlation_whiten(x)
    n, p = y.shape
    z1 = np.empty(p)
    z2 = np.empty(p)
    for j in range(p):
        col = y[:, j] - y[:, j].mean()
        m2 = np.mean(col**2)
        m3 = np.mean(col**3)
        m4 = np.mean(col**4)
        sqrt_b1 = m3 / m2**1.5
        b2 = m4 / m2**2
        z1[j] = dh_z1(sqrt_b1, n)
        z2[j] = dh_z2(sqrt_b1**2, b2, n)
    e = float(np.sum(z1**2) + np.sum(z2**2))
    return e, stats.chi2.sf(e, 2 * p), z1, z2


# ---------------------------------------------------------------- energy (energy::mvnorm.e)
def noncentral_chi_mean(d, t):
    """E‖a - Z‖ for ‖a‖² = t, Z ~ N(0, I_d), as a Poisson mixture of central chi means.

    ‖a - Z‖² is noncentral chi-squared with d degrees of freedom and noncentrality t, a Poisson(t/2)
    mixture of central chi-squared laws with d + 2K degrees of freedom, whose square-root means are
    √2 Γ((d+1)/2 + K) / Γ(d/2 + K). Summed over the Poisson mass beyond 1e-20 (independent of the
    integral representation used by gaussprobe).
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    out = np.empty_like(t)
    for i, ti in enumerate(t):
        lam = ti / 2
        lo = max(0, int(lam - 15 * math.sqrt(lam) - 20))
        hi = int(lam + 15 * math.sqrt(lam) + 40)
        k = np.arange(lo, hi + 1, dtype=np.float64)
        k_log_lam = k * math.log(lam) if lam > 0 else np.where(k == 0, 0.0, -np.inf)
        log_pois = k_log_lam - lam - special.gammaln(k + 1)
        means = math.sqrt(2) * np.exp(special.gammaln(k + (d + 1) / 2) - special.gammaln(k + d / 2))
        out[i] = np.sum(np.exp(log_pois) * means)
    return out


def energy_whiten(x, ddof=1):
    """y_i = S^{-1/2}(x_i - x̄) with the symmetric root (energy::mvnorm.e uses ddof=1)."""
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / (len(x) - ddof)
    lam, v = np.linalg.eigh(s)
    return xc @ (v @ np.diag(lam**-0.5) @ v.T)


def energy_naive(x, ddof=1):
    """Székely–Rizzo E = n (2/n Σ E‖y_i - Z‖ - E‖Z - Z'‖ - 1/n² Σ_ij ‖y_i - y_j‖), all pairs by pdist."""
    y = energy_whiten(x, ddof=ddof)
    n, d = y.shape
    chi_mean = math.sqrt(2) * math.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2))
    mean1 = float(np.mean(noncentral_chi_mean(d, np.sum(y * y, axis=1))))
    mean2 = math.sqrt(2) * chi_mean
    mean3 = 2 * float(np.sum(pdist(y))) / n**2
    return n * (2 * mean1 - mean2 - mean3)


__all__ = [
    "dh_z1",
    "dh_z2",
    "doornik_hansen_naive",
    "energy_naive",
    "energy_whiten",
    "noncentral_chi_mean",
    "royston_naive",
    "zca_correlation_whiten",
]
