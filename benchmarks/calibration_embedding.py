"""Calibration of every p-value gaussprobe shows, at the (n, d) of real encoders.

For each cell of the grid d in {64, 128, 384, 768} x n in {d + 10, 2d, 10d, 10^4, 10^5} the script
draws exact N(0, I) samples (seeded per draw: ``np.random.default_rng([cell_seed, 0, i])``), runs
``gp.analyze(x, rng=i)`` with the default tests and, where the cell is cheap enough, the stand-alone
Henze-Zirkler, energy and Royston tests. For every p-value it reports the type-I error at
alpha = 0.05 and 0.01, the median and interquartile range of the p-values, how many draws showed
one, and whether the 0.05 rate lies inside the 99 % binomial band
``scipy.stats.binom.interval(0.99, draws, 0.05) / draws``. A NaN p-value (not calibrated, not
computed, not informative) is counted apart, by its ``calibration`` label, and never as a
rejection. A test rejects when ``p <= alpha``.

The verdict of ``report.check()`` (the default "gaussian" preset, family-wise level 1 %) is measured
the same way, under N(0, I) and under an anisotropic Gaussian (fixed per cell: a Haar rotation times
covariance eigenvalues log-spaced from 1 to 100), against the 99 % binomial band of 1 %.

``--power`` measures rejection rates at alpha = 0.05 against alternatives that real embeddings show
(multivariate t, two clusters, a narrow cone, low rank plus noise, Rademacher coordinates, the
sphere, int8 quantisation) at n = 2d and 10d for d = 128 and 384.

Each cell has a wall-clock budget (``--cell-budget`` seconds for the N(0, I) draws; the anisotropic
draws and each stand-alone test get their own). The clock of a loop starts after its first draw,
which also pays the one-time costs (the Monte-Carlo nulls gaussprobe caches per (n, d), numba
compilation); that draw's time is reported apart. By default a loop runs until its budget is spent,
and a cell that gets fewer than 100 draws is marked "over budget". With ``--whole-cells`` a loop
either gets every requested draw or is skipped: after the first draw and three more it predicts the
CPU time of all of them (one BLAS thread: the time on a free core, whatever else the machine runs), and a cell predicted over its budget is skipped and listed ("Cells without the
requested draws") with its seconds per draw and the predicted time.

The tables in docs/calibration.md come from (the page gives the wall times)::

    nice -n 10 python benchmarks/calibration_embedding.py --cell-budget 80 --json calibration.json
    nice -n 10 python benchmarks/calibration_embedding.py --whole-cells --d 64,128 --n d+10,2d,10d \
        --tests coordinates,projections,projections_ad_each,principal_directions --json ad.json
    nice -n 10 python benchmarks/calibration_embedding.py --power --power-budget 20 \
        --power-standalone-budget 5 --json power.json
    python benchmarks/calibration_embedding.py --render part*.json   # tables from saved runs
    python benchmarks/calibration_embedding.py --quick          # four small cells, about a minute

``--directions`` measures the three direction tests on their own (much cheaper than a report, so
1000 draws per cell, the pursuit 500; the pursuit on request where ``analyze`` skips it), at 0.05,
0.01 and the preset's per-test level 0.0025, under N(0, I) and the anisotropic Gaussian; the table
in docs/calibration.md ("Direction tests") comes from::

    nice -n 10 python benchmarks/calibration_embedding.py --directions --cell-budget 300 \
        --aniso-budget 150 --json directions.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

import gaussprobe as gp
from gaussprobe.criteria import GAUSSIAN_PRESET_LEVEL

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import _alternatives as alt

ALPHAS = (0.05, 0.01)
BAND = 0.99
#: Cells with fewer draws than this are marked "over budget".
MIN_DRAWS = 100
#: With ``--whole-cells`` a loop predicts its time from this many draws after the first (which
#: also pays the one-time costs, such as the Monte-Carlo nulls gaussprobe caches per size).
PREDICT_AFTER = 3
#: p-values also measured under the anisotropic Gaussian (normality tests hold there; the isotropy
#: tests are not calibrated for it).
ANISO_TESTS = ("coordinates", "projections", "principal_directions", "mardia_kurtosis", "sliced")
#: Stop a stand-alone test after this many draws when every one of them gave NaN: whether a p-value
#: is shown depends on (n, d) alone. A stand-alone test runs in a cell only when this many draws fit
#: its budget (predicted cost).
NAN_STOP = 3

DEFAULT_D = (64, 128, 384, 768)
DEFAULT_N = ("d+10", "2d", "10d", "10000", "100000")
POWER_D = (128, 384)
POWER_N = ("2d", "10d")


# ----------------------------------------------------------------------------------------- tests
def _from_result(tr: Any, missing: str) -> tuple[float, str]:
    if tr is None:
        return math.nan, missing
    p = tr.pvalue
    return (math.nan if p is None else float(p)), getattr(tr, "calibration", "") or "asymptotic"


def _mardia_field(field: str) -> Callable[[Any], tuple[float, str]]:
    def get(r: Any) -> tuple[float, str]:
        if r.mardia is None:
            return math.nan, _skip_label(r, "mardia")
        p, label = _from_result(getattr(r.mardia, field), "not run")
        if math.isnan(p) and field != "skewness_test":
            label = r.mardia.skewness_test.calibration  # the parity fields of a skipped skewness
        return p, label
    return get


def _skip_label(r: Any, top: str) -> str:
    reason = str(r.skipped.get(top, "not run"))  # a Skip prints as its message
    reason = reason.removeprefix("skipped by default: ").removeprefix("not run: ")
    return "skipped: " + (reason if len(reason) <= 60 else reason[:57] + "...")


def _resolve(r: Any, path: str) -> Any:
    obj = r
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _attr(path: str, label: str) -> Callable[[Any], tuple[float, str]]:
    def get(r: Any) -> tuple[float, str]:
        obj = _resolve(r, path)
        if obj is None:
            return math.nan, _skip_label(r, path.split(".")[0])
        if hasattr(obj, "pvalue"):
            return _from_result(obj, "not run")
        return float(obj), label
    return get


def _array(path: str, label: str) -> Callable[[Any], tuple[np.ndarray, str]]:
    def get(r: Any) -> tuple[np.ndarray, str]:
        obj = _resolve(r, path)
        if obj is None:
            return np.array([math.nan]), _skip_label(r, path.split(".")[0])
        return np.asarray(obj, dtype=np.float64), label
    return get


def _sliced(r: Any) -> tuple[float, str]:
    if r.distance is None:
        return math.nan, _skip_label(r, "distance")
    s = r.distance.sliced
    if s.pvalue is None:
        return math.nan, "no null (n_null = 0)"
    return float(s.pvalue), f"{getattr(s, 'pvalue_method', None) or 'replicates'} (n_null={s.n_null})"


_INDEPENDENT = ("Pooled: `shown` counts coordinate p-values (draws x d); the band is for that many "
                "independent trials (the coordinates of N(0, I) are independent).")
_DEPENDENT = ("Pooled over the entries of one report, which are dependent: the rate is unbiased "
              "but the band, computed as if they were independent, is too narrow.")


@dataclasses.dataclass(frozen=True)
class Spec:
    """One p-value of the report: where it lives and how to read it."""

    title: str
    get: Callable[[Any], Any]
    pooled: str = ""  # an array of p-values per report, pooled: what the band means then
    parity: bool = False  # kept for parity or as a description; not used by the verdict


ANALYZE_TESTS: dict[str, Spec] = {
    "coordinates": Spec(
        "coordinates: Cauchy combination of the per-coordinate AD p-values "
        "(`report.coordinates.combined_test.pvalue`; in the preset)",
        _attr("coordinates.combined_test", "")),
    "coordinates_ad_each": Spec(
        "coordinates: each coordinate's Anderson-Darling p-value, pooled over the d coordinates "
        "(`report.coordinates.ad_pvalues`)", _array("coordinates.ad_pvalues", "null table"),
        pooled=_INDEPENDENT),
    "coordinates_dp_each": Spec(
        "coordinates: each coordinate's D'Agostino-Pearson p-value, pooled over the d "
        "coordinates (`report.coordinates.dp_pvalues`)",
        _array("coordinates.dp_pvalues", "asymptotic"), pooled=_INDEPENDENT),
    "projections": Spec(
        "projections: Cauchy combination over 256 random directions "
        "(`report.projections.combined_test.pvalue`; in the preset)",
        _attr("projections.combined_test", "")),
    "projections_ad_each": Spec(
        "projections: each direction's Anderson-Darling p-value, pooled over the 256 directions "
        "(`report.projections.ad_pvalues`)", _array("projections.ad_pvalues", "null table"),
        pooled=("Pooled: `shown` counts direction p-values (draws x 256); the band is for that many "
                "independent trials, which they are for d >= 256 (orthonormal directions) and "
                "nearly are below (independent frames of d directions).")),
    "projections_bonferroni": Spec(
        "projections: Bonferroni-adjusted smallest AD p-value "
        "(`report.projections.bonferroni_pvalue`)",
        _attr("projections.bonferroni_pvalue", "bonferroni")),
    "principal_directions": Spec(
        "principal directions: Cauchy combination of the held-out AD p-values "
        "(`report.principal_directions.combined_test.pvalue`; in the preset)",
        _attr("principal_directions.combined_test", "")),
    "principal_directions_bonferroni": Spec(
        "principal directions: Bonferroni-adjusted smallest AD p-value "
        "(`report.principal_directions.bonferroni_pvalue`)",
        _attr("principal_directions.bonferroni_pvalue", "bonferroni")),
    "principal_directions_worst": Spec(
        "principal directions: AD p-value of the worst direction, unadjusted "
        "(`report.principal_directions.worst.ad_pvalue`; the smallest of several)",
        _attr("principal_directions.worst.ad_pvalue", "smallest of m"), parity=True),
    "pursuit": Spec(
        "projection pursuit: Monte-Carlo p-value of the least Gaussian direction "
        "(`report.pursuit.test.pvalue`)", _attr("pursuit.test", "")),
    "pursuit_contrasts": Spec(
        "projection pursuit: each contrast's Monte-Carlo p-value, pooled over the contrasts "
        "(`report.pursuit.contrast_pvalues`)", _array("pursuit.contrast_pvalues", "monte-carlo"),
        pooled=_DEPENDENT),
    "pursuit_best_ad": Spec(
        "projection pursuit: AD p-value of the direction found, ignoring the search "
        "(`report.pursuit.best.ad_pvalue`; documented as not a valid p-value)",
        _attr("pursuit.best.ad_pvalue", "ignores the search"), parity=True),
    "mardia_skewness": Spec("Mardia skewness (`report.mardia.skewness_test.pvalue`)",
                            _mardia_field("skewness_test")),
    "mardia_kurtosis": Spec(
        "Mardia kurtosis, exact finite-n moments (`report.mardia.kurtosis_test.pvalue`; "
        "in the preset)", _mardia_field("kurtosis_test")),
    "doornik_hansen": Spec("Doornik-Hansen, chi2(2d) (`report.doornik_hansen.pvalue`)",
                           _attr("doornik_hansen", "chi2(2d)")),
    "sphericity": Spec(
        "sphericity (John / Ledoit-Wolf; isotropy, not normality) "
        "(`report.distance.sphericity.pvalue`)", _attr("distance.sphericity", "")),
    "sliced": Spec("sliced W2 to N(0, 1), Monte-Carlo null (`report.distance.sliced.pvalue`)",
                   _sliced),
    "mardia_skewness_asymptotic": Spec(
        "Mardia skewness against chi2 at every size, parity field "
        "(`report.mardia.skewness_test_asymptotic.pvalue`)",
        _mardia_field("skewness_test_asymptotic"), parity=True),
    "mardia_skewness_small_sample": Spec(
        "Mardia skewness, small-sample corrected chi2, parity field "
        "(`report.mardia.skewness_test_small_sample.pvalue`)",
        _mardia_field("skewness_test_small_sample"), parity=True),
    "mardia_kurtosis_asymptotic": Spec(
        "Mardia kurtosis, asymptotic z, parity field "
        "(`report.mardia.kurtosis_test_asymptotic.pvalue`)",
        _mardia_field("kurtosis_test_asymptotic"), parity=True),
}

STANDALONE_TESTS = {
    "henze_zirkler": "Henze-Zirkler, stand-alone `gp.henze_zirkler(x)`",
    "energy": "energy test, stand-alone `gp.energy_test(x, n_resamples=R, rng=i)` "
              "(parametric bootstrap)",
    "royston": "Royston, stand-alone `gp.royston(x)` (default column rule)",
    "royston_sw": "Royston with Shapiro-Wilk columns, "
                  "`gp.royston(x, column_test=\"shapiro-wilk\")` "
                  "(the rule `analyze(tests=\"all\")` uses)",
}
ALL_TESTS = (*ANALYZE_TESTS, *STANDALONE_TESTS, "preset")


def _standalone_cost(name: str, n: int, d: int, resamples: int) -> float:
    """Predicted flop of one call (the statistic; a cached Monte-Carlo null is not counted)."""
    whiten = 3.0 * n * d * d + 10.0 * d**3
    if name == "henze_zirkler":
        return 2.0 * n * n * d + whiten
    if name == "energy":
        return (resamples + 1) * (n * n * (d + 20.0) + whiten + 2.0 * n * d)
    return 1.0 * n * d * d + 40.0 * n * d  # royston: the correlation matrix and per-column sorts


def _standalone_call(name: str, x: np.ndarray, i: int, resamples: int) -> tuple[float, str]:
    if name == "henze_zirkler":
        r = gp.henze_zirkler(x)
        return float(r.pvalue), r.calibration
    if name == "energy":
        r = gp.energy_test(x, n_resamples=resamples, rng=i)
        return (math.nan if r.pvalue is None else float(r.pvalue)), f"bootstrap (R={resamples})"
    r = gp.royston(x, column_test="shapiro-wilk" if name == "royston_sw" else "mvn")
    return float(r.pvalue), f"chi2 (edf), {r.column_test} columns"


# ---------------------------------------------------------------------------------------- samplers
def cell_seed(n: int, d: int) -> int:
    """The seed of a cell, fixed by its size."""
    return 1_000_003 * d + n


def gaussian(seed: int, kind: int = 0) -> Callable[[int, int, int], np.ndarray]:
    """Exact N(0, I) draw ``i``, seeded by ``[seed, kind, i]``."""
    return lambda i, n, d: np.random.default_rng([seed, kind, i]).standard_normal((n, d))


def _haar(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def anisotropic(seed: int, d: int) -> Callable[[int, int, int], np.ndarray]:
    """N(0, Q diag(lam) Q^T), lam log-spaced from 1 to 100, Q a Haar rotation fixed per cell."""
    q = _haar(np.random.default_rng([seed, 2]), d)
    m = np.sqrt(np.logspace(0.0, 2.0, d))[:, None] * q.T  # x = z @ m has covariance Q diag(lam) Q^T
    draw = gaussian(seed, 1)
    return lambda i, n, d_: draw(i, n, d_) @ m


def _unit(d: int, salt: int) -> np.ndarray:
    v = np.random.default_rng([d, salt]).standard_normal(d)
    return v / np.linalg.norm(v)


def _chi_radii(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return np.sqrt(rng.chisquare(d, size=n))[:, None]


def multivariate_t5(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Multivariate t with 5 df: N(0, I) rows divided by sqrt(chi2_5 / 5) (heavy radial tails)."""
    return rng.standard_normal((n, d)) / np.sqrt(rng.chisquare(5, size=n) / 5.0)[:, None]


def clusters_random_direction(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``tests/_alternatives.mixture`` (N(+-2 e1, I)) turned by a reflection taking e1 to a fixed
    random unit vector v: two clusters N(+-2 v, I)."""
    x = alt.mixture(rng, n, d)
    w = np.zeros(d)
    w[0] = 1.0
    w -= _unit(d, 11)
    w /= np.linalg.norm(w)
    return x - 2.0 * (x @ w)[:, None] * w  # Householder reflection: e1 -> v


def narrow_cone(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Directions of N(sqrt(d) v, I) (cosine to v about 0.71, pairwise cosines about 0.5), times
    chi(d) radii drawn independently, so the norms are those of N(0, I_d)."""
    g = rng.standard_normal((n, d)) + math.sqrt(d) * _unit(d, 13)
    return g / np.linalg.norm(g, axis=1, keepdims=True) * _chi_radii(rng, n, d)


def low_rank_plus_noise(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Gaussian signal of rank d/8 on a fixed random subspace plus isotropic noise of sd 0.1.

    Exactly Gaussian (covariance eigenvalues 1.01 and 0.01, condition number 101): a null for every
    normality test and an alternative only for the isotropy tests.
    """
    k = max(1, d // 8)
    basis = _haar(np.random.default_rng([d, 17]), d)[:, :k]
    return rng.standard_normal((n, k)) @ basis.T + 0.1 * rng.standard_normal((n, d))


def rademacher(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Independent +-1 coordinates."""
    return rng.integers(0, 2, size=(n, d)).astype(np.float64) * 2.0 - 1.0


def sphere_sqrt_d(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``tests/_alternatives.sphere`` scaled to radius sqrt(d): constant norms.

    (Rescaling its rows by chi(d) radii instead would give exactly N(0, I_d).)
    """
    return alt.sphere(rng, n, d) * math.sqrt(d)


def int8_gaussian(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """N(0, I) quantised as int8 embeddings are: round(x * 127 / max|x|) (one scale per sample)."""
    z = rng.standard_normal((n, d))
    return np.round(z * (127.0 / np.abs(z).max()))


ALTERNATIVES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "multivariate t (5 df)": multivariate_t5,
    "two clusters N(+-2v, I), v random": clusters_random_direction,
    "two clusters N(+-2e1, I) (axis-aligned)": alt.mixture,
    "narrow cone (chi(d) radii)": narrow_cone,
    "low rank d/8 + noise 0.1 (Gaussian)": low_rank_plus_noise,
    "Rademacher coordinates": rademacher,
    "uniform on the sphere, radius sqrt(d)": sphere_sqrt_d,
    "int8-quantised Gaussian": int8_gaussian,
}


# ------------------------------------------------------------------------------------- measuring
def _clock(draws: int, budget: float, body: Callable[[int], bool], *, whole: bool = False
           ) -> dict[str, Any]:
    """Run ``body(i)`` for ``i < draws`` until the budget (counted after the first draw) is spent.

    ``body`` returns False to stop early. With ``whole``, the loop decides after ``PREDICT_AFTER``
    timed draws (the first one, which pays the one-time costs, is not counted): if ``draws`` draws
    are predicted to exceed the budget it stops there ("skipped"), otherwise it runs them all.
    """
    times: list[float] = []
    cpu: list[float] = []
    stopped, predicted = "", None
    for i in range(draws):
        t0, c0 = time.perf_counter(), time.process_time()
        go = body(i)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if not go:
            stopped = "nan"
            break
        if whole:
            # predicted from the CPU time (one BLAS thread: the time on a free core), so that a
            # loaded machine does not skip a cell that fits the budget
            if i == PREDICT_AFTER and i + 1 < draws:
                predicted = float(np.mean(cpu[1:])) * (draws - 1)
                if predicted > budget:
                    stopped = "skipped"
                    break
        elif i + 1 < draws and sum(times[1:]) >= budget:
            stopped = "budget"
            break
    rest = times[1:] or times
    out: dict[str, Any] = {"draws": len(times), "first_s": round(times[0], 3),
           "per_draw_s": round(float(np.mean(rest)), 4), "seconds": round(sum(times), 2),
           "cpu_per_draw_s": round(float(np.mean(cpu[1:] or cpu)), 4),
           "stopped": stopped, "budget": budget, "wanted": draws}
    if predicted is not None:
        out["predicted_s"] = round(predicted, 1)
    return out


def _summarise(p: np.ndarray, reasons: Counter, labels: Counter, draws: int) -> dict[str, Any]:
    finite = p[np.isfinite(p)]
    out: dict[str, Any] = {"draws": draws, "shown": int(finite.size),
                           "not_shown": dict(reasons), "calibration": dict(labels)}
    if finite.size:
        for a in ALPHAS:
            out[f"rate_{a}"] = float(np.mean(finite <= a))
        out["upper_0.01"] = float(np.mean(finite >= 0.99))
        lo, hi = stats.binom.interval(BAND, finite.size, ALPHAS[0])
        out["band"] = [float(lo / finite.size), float(hi / finite.size)]
        r = out[f"rate_{ALPHAS[0]}"]
        out["in_band"] = "yes" if lo / finite.size <= r <= hi / finite.size else (
            "high" if r > hi / finite.size else "low")
        q1, med, q3 = np.quantile(finite, [0.25, 0.5, 0.75])
        out["median"], out["iqr"] = float(med), [float(q1), float(q3)]
    return out


def analyze_loop(sample: Callable[[int, int, int], np.ndarray], n: int, d: int, *, draws: int,
                 budget: float, tests: list[str], preset: bool, keep: bool = True,
                 whole: bool = False) -> dict[str, Any]:
    """``gp.analyze(x, rng=i)`` on ``draws`` samples: every p-value asked for, and the preset."""
    pvals: dict[str, list[Any]] = {t: [] for t in tests}
    reasons = {t: Counter() for t in tests}
    labels = {t: Counter() for t in tests}
    fails: Counter = Counter()
    verdicts: list[bool] = []
    statuses: Counter = Counter()

    def body(i: int) -> bool:
        x = sample(i, n, d)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = gp.analyze(x, rng=i)
        for t in tests:
            p, label = ANALYZE_TESTS[t].get(r)
            p = np.atleast_1d(np.asarray(p, dtype=np.float64))
            pvals[t].append(p)
            bad = int(np.count_nonzero(~np.isfinite(p)))
            if bad:
                reasons[t][label] += bad
            if bad < p.size:
                labels[t][label] += 1
        if preset:
            outcome = r.check()
            verdicts.append(bool(outcome.passed))
            for c in outcome.results:
                statuses[f"{c.name}: {c.status}"] += 1
                if not c.passed:
                    fails[c.name] += 1
        return True

    clock = _clock(draws, budget, body, whole=whole)
    out: dict[str, Any] = {"timing": clock, "tests": {}}
    for t in tests:
        p = np.concatenate(pvals[t]) if pvals[t] else np.array([])
        s = _summarise(p, reasons[t], labels[t], clock["draws"])
        if keep and not ANALYZE_TESTS[t].pooled:
            s["pvalues"] = [None if not math.isfinite(v) else round(float(v), 6) for v in p]
        out["tests"][t] = s
    if preset:
        k = len(verdicts)
        failures = k - int(sum(verdicts))
        lo, hi = stats.binom.interval(BAND, k, GAUSSIAN_PRESET_LEVEL)
        rate = failures / k
        out["preset"] = {"draws": k, "failures": failures, "rate": rate,
                         "band": [float(lo / k), float(hi / k)],
                         "in_band": "yes" if lo / k <= rate <= hi / k else (
                             "high" if rate > hi / k else "low"),
                         "failed_criteria": dict(fails), "statuses": dict(statuses)}
    return out


def standalone_loop(name: str, sample: Callable[[int, int, int], np.ndarray], n: int, d: int, *,
                    draws: int, budget: float, resamples: int, flops: float,
                    keep: bool = True, whole: bool = False) -> dict[str, Any]:
    """One stand-alone test on ``draws`` samples, or why it was not run."""
    if name.startswith("royston") and not 4 <= n <= 5000:
        return {"skipped": "undefined: Royston's test needs 4 <= n <= 5000"}
    per_draw = _standalone_cost(name, n, d, resamples) / flops
    if per_draw * NAN_STOP > budget:
        return {"skipped": f"over budget: ~{per_draw:.3g} s per draw predicted, "
                           f"{NAN_STOP} draws exceed its {budget:g} s"}
    pv: list[float] = []
    reasons: Counter = Counter()
    labels: Counter = Counter()

    def body(i: int) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p, label = _standalone_call(name, sample(i, n, d), i, resamples)
        pv.append(p)
        (labels if math.isfinite(p) else reasons)[label] += 1
        return not (len(pv) >= NAN_STOP and not np.isfinite(pv).any())

    clock = _clock(draws, budget, body, whole=whole)
    p = np.asarray(pv, dtype=np.float64)
    s = _summarise(p, reasons, labels, clock["draws"])
    if keep:
        s["pvalues"] = [None if not math.isfinite(v) else round(float(v), 6) for v in p]
    s["timing"] = clock
    return s


# --------------------------------------------------------------------------------------- driving
def parse_n(token: str, d: int) -> int:
    """``"d+10"``, ``"2d"``, ``"10d"`` or a number (``"1e4"``) at dimension ``d``."""
    t = token.strip().replace(" ", "")
    if t.startswith("d+"):
        return d + int(t[2:])
    if t.endswith("d"):
        return int(float(t[:-1] or 1) * d)
    return int(float(t))


def _cells(ds: list[int], ns: list[str]) -> list[tuple[int, int]]:
    return [(n, d) for d in ds for n in sorted({parse_n(t, d) for t in ns}) if n >= d + 2]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def calibration(args: argparse.Namespace, results: dict[str, Any],
                save: Callable[[], None]) -> None:
    """The null runs of every cell."""
    tests = [t for t in args.tests if t in ANALYZE_TESTS]
    preset = "preset" in args.tests
    for n, d in _cells(args.d, args.n):
        t_cell = time.perf_counter()
        seed = cell_seed(n, d)
        cell: dict[str, Any] = {"n": n, "d": d, "seed": seed}
        if tests or preset:
            cell["isotropic"] = analyze_loop(gaussian(seed), n, d, draws=args.draws,
                                             budget=args.cell_budget, tests=tests, preset=preset,
                                             whole=args.whole_cells)
            if preset and args.aniso_budget > 0:
                cell["anisotropic"] = analyze_loop(
                    anisotropic(seed, d), n, d, draws=args.draws, budget=args.aniso_budget,
                    tests=[t for t in ANISO_TESTS if t in tests], preset=True,
                    whole=args.whole_cells)
        cell["standalone"] = {
            name: standalone_loop(name, gaussian(seed), n, d, draws=args.draws,
                                  budget=args.standalone_budget, resamples=args.energy_resamples,
                                  flops=args.flops, whole=args.whole_cells)
            for name in STANDALONE_TESTS if name in args.tests}
        cell["seconds"] = round(time.perf_counter() - t_cell, 1)
        results["calibration"].append(cell)
        iso = cell.get("isotropic", {}).get("timing", {})
        _log(f"[calibration] d={d} n={n}: {iso.get('draws', 0)} draws, "
             f"{iso.get('per_draw_s', 0):.3g} s/draw, cell {cell['seconds']:.0f} s")
        save()


def power(args: argparse.Namespace, results: dict[str, Any], save: Callable[[], None]) -> None:
    """Rejection rates at 0.05 under the alternatives."""
    tests = [t for t in args.tests
             if t in ANALYZE_TESTS and not ANALYZE_TESTS[t].pooled and not ANALYZE_TESTS[t].parity]
    preset = "preset" in args.tests
    for n, d in _cells(args.power_d, args.power_n):
        for k, (name, sampler) in enumerate(ALTERNATIVES.items()):
            if args.alternatives and not any(a.lower() in name.lower() for a in args.alternatives):
                continue
            t_cell = time.perf_counter()
            seed = cell_seed(n, d) + 7919 * (k + 1)

            def sample(i: int, n_: int, d_: int, sampler=sampler, seed=seed) -> np.ndarray:
                return sampler(np.random.default_rng([seed, 3, i]), n_, d_)

            cell: dict[str, Any] = {"n": n, "d": d, "alternative": name, "seed": seed}
            cell["analyze"] = analyze_loop(sample, n, d, draws=args.power_draws,
                                           budget=args.power_budget, tests=tests, preset=preset,
                                           keep=False)
            cell["standalone"] = {
                t: standalone_loop(t, sample, n, d, draws=args.power_draws,
                                   budget=args.power_standalone_budget,
                                   resamples=args.energy_resamples, flops=args.flops, keep=False)
                for t in STANDALONE_TESTS if t in args.tests}
            cell["seconds"] = round(time.perf_counter() - t_cell, 1)
            results["power"].append(cell)
            _log(f"[power] d={d} n={n} {name}: {cell['analyze']['timing']['draws']} draws, "
                 f"{cell['seconds']:.0f} s")
            save()


# ----------------------------------------------------------------------------- direction tests
#: Levels of the direction tests' table: the usual two and the preset's per-test level.
DIRECTION_ALPHAS = (0.05, 0.01, GAUSSIAN_PRESET_LEVEL / 4)
DIRECTION_D = (64, 128)
DIRECTION_N = ("d+10", "2d", "10d")
DIRECTION_TESTS = {
    "coordinates": "coordinates combined, `gp.coordinate_normality(x).combined_test`",
    "principal_directions": "principal directions, `gp.principal_direction_test(x, rng=i)"
                            ".combined_test`",
    "pursuit": "projection pursuit, `gp.least_gaussian_direction(x, rng=i).test`",
}


def _pursuit_default_flop(n: int, d: int) -> float:
    """What ``analyze`` compares with the budget: the search and its default null."""
    from gaussprobe.stats._null import DEFAULT_NULL_DRAWS
    from gaussprobe.stats.directions import DEFAULT_MAX_ITER, DEFAULT_RESTARTS, pursuit_flop

    return pursuit_flop(n, d, 3, DEFAULT_RESTARTS, DEFAULT_MAX_ITER) * (DEFAULT_NULL_DRAWS + 1)


def _direction_pvalue(name: str, x: np.ndarray, i: int, null_budget: float | None) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "coordinates":
            return float(gp.coordinate_normality(x).combined_test.pvalue)
        if name == "principal_directions":
            return float(gp.principal_direction_test(x, rng=i).combined_test.pvalue)
        return float(gp.least_gaussian_direction(x, rng=i, null_budget=null_budget).test.pvalue)


def _direction_summary(p: np.ndarray, null_draws: int | None) -> dict[str, Any]:
    """Rates at each level with their 99% bands: binomial for independent draws; beta-binomial
    when every draw is ranked against one shared null of ``null_draws`` values, whose conditional
    level at ``alpha`` is Beta(k, B + 1 - k), ``k = floor(alpha (B + 1))``."""
    finite = p[np.isfinite(p)]
    r = finite.size
    out: dict[str, Any] = {"draws": int(p.size), "shown": int(r)}
    for a in DIRECTION_ALPHAS:
        if not r:
            break
        rate = float(np.mean(finite <= a))
        if null_draws is None:
            lo, hi = stats.binom.interval(BAND, r, a)
        else:
            k = math.floor(a * (null_draws + 1) + 1e-9)
            if k == 0:  # p >= 1 / (B + 1) > alpha: no rejection is possible
                out[f"rate_{a}"], out[f"band_{a}"] = rate, None
                continue
            lo, hi = stats.betabinom.interval(BAND, r, k, null_draws + 1 - k)
        out[f"rate_{a}"], out[f"band_{a}"] = rate, [float(lo / r), float(hi / r)]
    return out


def directions(args: argparse.Namespace, results: dict[str, Any],
               save: Callable[[], None]) -> None:
    """Type-I error of the three direction tests, stand-alone, under N(0, I) and the anisotropic
    Gaussian of the grid (the same samples as the ``analyze`` runs of each cell)."""
    from gaussprobe.stats._null import DEFAULT_NULL_DRAWS, NULL_FLOP_BUDGET

    for n, d in _cells(args.d, args.n):
        seed = cell_seed(n, d)
        cell: dict[str, Any] = {"n": n, "d": d, "seed": seed, "tests": {}}
        t_cell = time.perf_counter()
        for name in DIRECTION_TESTS:
            if name not in args.tests:
                continue
            null_budget: float | None = None
            draws, note = args.draws, ""
            if name == "pursuit":
                draws = min(args.draws, args.pursuit_draws)
                flop = _pursuit_default_flop(n, d)
                if flop > NULL_FLOP_BUDGET:
                    if flop > args.pursuit_max_flop:
                        cell["tests"][name] = {"skipped": f"not run by default (~{flop:.2g} flop) "
                                                          "and over --pursuit-max-flop"}
                        continue
                    null_budget, note = math.inf, (f"on request (`null_budget=math.inf`): not "
                                                   f"run by default, ~{flop:.2g} flop")
            entry: dict[str, Any] = {"note": note}
            # the pursuit is affine invariant (tested), so its anisotropic null is the isotropic one
            kinds = ("isotropic",) if name == "pursuit" else ("isotropic", "anisotropic")
            for kind in kinds:
                sample = gaussian(seed) if kind == "isotropic" else anisotropic(seed, d)
                pv: list[float] = []

                def body(i: int, sample=sample, pv=pv, name=name, nb=null_budget, n=n, d=d) -> bool:
                    pv.append(_direction_pvalue(name, sample(i, n, d), i, nb))
                    return True

                budget = args.cell_budget if kind == "isotropic" else args.aniso_budget
                clock = _clock(draws, budget, body)
                p = np.asarray(pv, dtype=np.float64)
                s = _direction_summary(p, DEFAULT_NULL_DRAWS if name == "pursuit" else None)
                s["timing"] = clock
                entry[kind] = s
            cell["tests"][name] = entry
            _log(f"[directions] d={d} n={n} {name}: "
                 + ", ".join(f"{k} {v['draws']} draws" for k, v in entry.items() if k != "note"))
        cell["seconds"] = round(time.perf_counter() - t_cell, 1)
        results.setdefault("directions", []).append(cell)
        save()


def render_directions(results: dict[str, Any], out: Callable[[str], None]) -> None:
    """Markdown table of the direction tests' type-I error."""
    cells = results.get("directions", [])
    if not cells:
        return
    out("\n### Direction tests: type-I error at 0.05, 0.01 and the preset's 0.0025\n")
    out("Rate (99% band). Bands: binomial; for the pursuit beta-binomial, as every draw of a cell "
        "is ranked against the one seeded null of 199 draws (its p-value cannot go below 0.005, "
        "so it never rejects at 0.0025).\n")
    head = "| test | d | n | null | draws | " + " | ".join(
        f"type-I {a:g}" for a in DIRECTION_ALPHAS) + " | in band | s/draw | note |"
    out(head)
    out("|---|---:|---:|---|---:|" + "---|" * len(DIRECTION_ALPHAS) + "---|---:|---|")
    for name in DIRECTION_TESTS:
        for c in cells:
            e = c["tests"].get(name)
            if e is None:
                continue
            if "skipped" in e:
                out(f"| {name} | {c['d']} | {c['n']} | – | 0 | " + "– | " * len(DIRECTION_ALPHAS)
                    + f"– | – | {e['skipped']} |")
                continue
            for kind in ("isotropic", "anisotropic"):
                s = e.get(kind)
                if s is None:
                    continue
                cols, ok = [], True
                for a in DIRECTION_ALPHAS:
                    rate, band = s.get(f"rate_{a}"), s.get(f"band_{a}")
                    if rate is None:
                        cols.append("–")
                    elif band is None:
                        cols.append(f"{rate:.4f} (unreachable)")
                    else:
                        cols.append(f"{rate:.4f} [{band[0]:.4f}, {band[1]:.4f}]")
                        ok = ok and band[0] <= rate <= band[1]
                out(f"| {name} | {c['d']} | {c['n']} | {kind} | {s['shown']} | " + " | ".join(cols)
                    + f" | {'yes' if ok else '**NO**'} | {s['timing']['per_draw_s']:.3g} | "
                    + f"{e.get('note', '')} |")
        for kind in ("isotropic", "anisotropic"):
            pooled = _pooled_direction_rates(cells, name, kind)
            if pooled:
                out(f"| {name} | all | all | {kind}, pooled | {pooled['shown']} | "
                    + " | ".join(pooled["cols"]) + f" | {pooled['ok']} | – | over the cells above |")


def _pooled_direction_rates(cells: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    """Rates pooled over cells, with the 99% band of the pooled count: binomial, or for the pursuit
    the sum of independent beta-binomials (one seeded null per cell), convolved exactly."""
    from gaussprobe.stats._null import DEFAULT_NULL_DRAWS

    runs = [c["tests"][name][kind] for c in cells
            if kind in c["tests"].get(name, {}) and c["tests"][name][kind]["shown"]]
    if len(runs) < 2:
        return {}
    total = sum(s["shown"] for s in runs)
    cols, ok = [], "yes"
    for a in DIRECTION_ALPHAS:
        count = sum(round(s[f"rate_{a}"] * s["shown"]) for s in runs)
        if name == "pursuit":
            k = math.floor(a * (DEFAULT_NULL_DRAWS + 1) + 1e-9)
            if k == 0:
                cols.append(f"{count / total:.4f} (unreachable)")
                continue
            pmf = np.array([1.0])
            for s in runs:
                m = s["shown"]
                pmf = np.convolve(pmf, stats.betabinom.pmf(np.arange(m + 1), m, k,
                                                           DEFAULT_NULL_DRAWS + 1 - k))
            cdf = np.cumsum(pmf)
            lo = int(np.searchsorted(cdf, (1 - BAND) / 2))
            hi = int(np.searchsorted(cdf, 1 - (1 - BAND) / 2))
        else:
            lo, hi = stats.binom.interval(BAND, total, a)
        cols.append(f"{count / total:.4f} [{lo / total:.4f}, {hi / total:.4f}]")
        if not lo <= count <= hi:
            ok = "**NO (high)**" if count > hi else "**NO (low)**"
    return {"shown": total, "cols": cols, "ok": ok}


# ------------------------------------------------------------------------------------- rendering
def _f(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _flag(s: dict[str, Any]) -> str:
    flags = {"yes": "yes", "high": "**NO (high)**", "low": "**NO (low)**"}
    return flags.get(s.get("in_band"), "–")


def _not_shown(s: dict[str, Any]) -> str:
    parts = [f"{k} ({v})" for k, v in s.get("not_shown", {}).items()]
    return "not shown: " + "; ".join(parts) if parts else ""


def _budget_note(timing: dict[str, Any], draws_wanted: int) -> str:
    if timing.get("stopped") == "skipped":
        return (f"skipped: {timing['per_draw_s']:.3g} s/draw, {timing['predicted_s']:.0f} s predicted "
                f"for {timing['wanted']} draws > budget {timing['budget']:g} s")
    if timing["draws"] >= min(MIN_DRAWS, draws_wanted):
        return ""
    return f"over budget: {timing['draws']} draws, {timing['per_draw_s']:.3g} s/draw"


def _table_rows(cells: list[dict[str, Any]], t: str, block_name: str, wanted: int,
                out: Callable[[str], None]) -> None:
    """One row per cell for test ``t`` (from ``block_name``, or the stand-alone results)."""
    for c in cells:
        if t in ANALYZE_TESTS:
            block = c.get(block_name)
            s = block["tests"].get(t) if block else None
            timing = block["timing"] if block else None
        else:
            s = c.get("standalone", {}).get(t)
            timing = s.get("timing") if s else None
        if s is None:
            continue
        if "skipped" in s:
            out(f"| {c['d']} | {c['n']} | 0 | 0 | – | – | – | – | – | – | – | – | {s['skipped']} |")
            continue
        if timing.get("stopped") == "skipped":
            out(f"| {c['d']} | {c['n']} | {timing['draws']} | – | – | – | – | – | – | – | – | – | "
                f"{_budget_note(timing, wanted)} |")
            continue
        notes = [_not_shown(s)]
        if timing.get("stopped") == "nan":
            notes.append(f"stopped after {timing['draws']} draws (all NaN)")
        else:
            notes.append(_budget_note(timing, wanted))
        notes = [x for x in notes if x]
        band = "[{:.3f}, {:.3f}]".format(*s["band"]) if "band" in s else "–"
        iqr = "[{:.2f}, {:.2f}]".format(*s["iqr"]) if "iqr" in s else "–"
        cal = ", ".join(s.get("calibration", {})) or "–"
        out(f"| {c['d']} | {c['n']} | {s['draws']} | {s['shown']} | {_f(s.get('rate_0.05'))} | "
            f"{_f(s.get('rate_0.01'))} | {_f(s.get('upper_0.01'))} | {_f(s.get('median'), 2)} | "
            f"{iqr} | {band} | {_flag(s)} | {cal} | {'; '.join(notes)} |")


def render_calibration(results: dict[str, Any], out: Callable[[str], None]) -> None:
    """Markdown tables of the null runs."""
    cells = results["calibration"]
    wanted = results["meta"]["draws"]
    if not cells:
        return
    names = [t for t in ANALYZE_TESTS if any(t in c.get("isotropic", {}).get("tests", {})
                                              for c in cells)]
    names += [t for t in STANDALONE_TESTS if any(t in c.get("standalone", {}) for c in cells)]
    head = ("| d | n | draws | shown | type-I 0.05 | type-I 0.01 | P(p >= 0.99) | median p | IQR | "
            "99% band (0.05) | in band | calibration | note |")
    rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|"
    for t in names:
        title = ANALYZE_TESTS[t].title if t in ANALYZE_TESTS else STANDALONE_TESTS[t]
        out(f"\n### {title}\n")
        if t in ANALYZE_TESTS and ANALYZE_TESTS[t].pooled:
            out(ANALYZE_TESTS[t].pooled + "\n")
        out(head)
        out(rule)
        _table_rows(cells, t, "isotropic", wanted, out)
    aniso = [t for t in ANALYZE_TESTS if any(t in c.get("anisotropic", {}).get("tests", {})
                                              for c in cells)]
    for t in aniso:
        out(f"\n### Under the anisotropic Gaussian: {ANALYZE_TESTS[t].title}\n")
        out("N(0, Q diag(lam) Q^T), lam log-spaced from 1 to 100, Q a Haar rotation fixed per cell "
            "(the draws of the preset's anisotropic run).\n")
        out(head)
        out(rule)
        _table_rows(cells, t, "anisotropic", wanted, out)
    if any("preset" in c.get("isotropic", {}) for c in cells):
        out("\n### The verdict: false-failure rate of `report.check()` (default preset "
            f"\"gaussian\", level {GAUSSIAN_PRESET_LEVEL:g})\n")
        out("Anisotropic: a Haar rotation fixed per cell times covariance eigenvalues log-spaced "
            "from 1 to 100. The band is the 99% binomial band of 1% for that many draws.\n")
        out("| d | n | N(0,I) draws | failures | rate | band | in band | anisotropic draws | "
            "failures | rate | band | in band | failing criteria | note |")
        out("|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|---|---|---|")
        for c in cells:
            iso = c.get("isotropic", {}).get("preset")
            if iso is None:
                continue
            an = c.get("anisotropic", {}).get("preset")
            if c["isotropic"]["timing"].get("stopped") == "skipped":
                iso = None
            if an and c["anisotropic"]["timing"].get("stopped") == "skipped":
                an = None
            if iso is None and an is None:
                out(f"| {c['d']} | {c['n']} | " + " | ".join(["–"] * 11) + " | "
                    + _budget_note(c["isotropic"]["timing"], wanted) + " |")
                continue
            crit = Counter(iso["failed_criteria"] if iso else {})
            if an:
                crit.update({f"{k} (aniso)": v for k, v in an["failed_criteria"].items()})
            cols = ([f"{iso['draws']}", f"{iso['failures']}", _f(iso["rate"]),
                     "[{:.3f}, {:.3f}]".format(*iso["band"]), _flag(iso)] if iso else ["–"] * 5)
            if an:
                cols += [f"{an['draws']}", f"{an['failures']}", _f(an["rate"]),
                         "[{:.3f}, {:.3f}]".format(*an["band"]), _flag(an)]
            else:
                cols += ["–"] * 5
            notes = [_budget_note(c["isotropic"]["timing"], wanted)]
            if an and _budget_note(c["anisotropic"]["timing"], wanted):
                notes.append("anisotropic " + _budget_note(c["anisotropic"]["timing"], wanted))
            notes = [x for x in notes if x]
            na = sorted({k.split(":")[0] for k in (iso or an)["statuses"]
                         if k.endswith("not applicable")})
            if na:
                notes.append("not applicable: " + ", ".join(na))
            out(f"| {c['d']} | {c['n']} | " + " | ".join(cols) + " | "
                + (", ".join(f"{k} {v}" for k, v in crit.items()) or "–") + " | "
                + "; ".join(notes) + " |")
    out("\n### Time per cell\n")
    out("| d | n | analyze s/draw | first draw s | N(0,I) draws | anisotropic draws | "
        "stand-alone (draws or status) | cell s |")
    out("|---:|---:|---:|---:|---:|---:|---|---:|")
    for c in cells:
        iso = c.get("isotropic", {}).get("timing", {})
        an = c.get("anisotropic", {}).get("timing", {})
        sa = []
        for t, s in c.get("standalone", {}).items():
            sa.append(f"{t}: " + ("skipped" if "skipped" in s else
                                  f"{s['draws']} @ {s['timing']['per_draw_s']:.3g} s"))
        out(f"| {c['d']} | {c['n']} | {_f(iso.get('per_draw_s'), 3)} | "
            f"{_f(iso.get('first_s'), 1)} | {iso.get('draws', 0)} | {an.get('draws', '–')} | "
            f"{'; '.join(sa) or '–'} | {c['seconds']:.0f} |")
    short = []
    for c in cells:
        for name, block in (("N(0, I) reports", c.get("isotropic")),
                            ("anisotropic reports", c.get("anisotropic"))):
            if block and block["timing"]["draws"] < wanted:
                short.append(f"* (n, d) = ({c['n']}, {c['d']}), {name}: {block['timing']['draws']} "
                             f"of {wanted} draws; {_budget_note(block['timing'], 0) or 'stopped'}")
    if short:
        out(f"\n### Cells without the requested {wanted} draws\n")
        for line in short:
            out(line)


_SHORT = {"coordinates": "coord", "projections": "proj", "projections_bonferroni": "proj Bonf",
          "principal_directions": "PCA dirs", "principal_directions_bonferroni": "PCA Bonf",
          "principal_directions_worst": "PCA worst", "pursuit": "pursuit",
          "pursuit_contrasts": "pursuit contrasts", "pursuit_best_ad": "pursuit AD",
          "mardia_skewness": "skew", "mardia_kurtosis": "kurt", "doornik_hansen": "DH",
          "sphericity": "spher", "sliced": "sliced", "mardia_skewness_asymptotic": "skew asym",
          "mardia_skewness_small_sample": "skew small-n", "mardia_kurtosis_asymptotic": "kurt asym",
          "henze_zirkler": "HZ", "energy": "energy", "royston": "Royston",
          "royston_sw": "Royston SW"}


def render_power(results: dict[str, Any], out: Callable[[str], None]) -> None:
    """Markdown tables of the power runs, one per cell."""
    cells = results["power"]
    if not cells:
        return
    sizes = list(dict.fromkeys((c["d"], c["n"]) for c in cells))
    for d, n in sizes:
        rows = [c for c in cells if (c["d"], c["n"]) == (d, n)]
        names = [t for t in ANALYZE_TESTS if t in rows[0]["analyze"]["tests"]]
        names += [t for t in STANDALONE_TESTS if t in rows[0]["standalone"]]
        preset = "preset" in rows[0]["analyze"]
        out(f"\n### Power at alpha = 0.05, d = {d}, n = {n}\n")
        out("Rejection rate (p <= 0.05) of each shown p-value; `n/s`: not shown at this size "
            "(NaN); `skip`: not run (over budget or undefined); preset: failure rate of "
            "`report.check()`. Draws: analyze / stand-alone.\n")
        cols = [_SHORT[t] for t in names] + (["preset"] if preset else []) + ["draws"]
        out("| alternative | " + " | ".join(cols) + " |")
        out("|---|" + "---:|" * len(cols))
        for c in rows:
            vals = []
            for t in names:
                s = c["analyze"]["tests"].get(t) if t in ANALYZE_TESTS else c["standalone"].get(t)
                if s is None or "skipped" in s:
                    vals.append("skip")
                elif not s["shown"]:
                    vals.append("n/s")
                else:
                    vals.append(_f(s["rate_0.05"], 2))
            if preset:
                vals.append(_f(c["analyze"]["preset"]["rate"], 2))
            sa = [s["draws"] for s in c["standalone"].values() if "draws" in s]
            vals.append(f"{c['analyze']['timing']['draws']} / {min(sa) if sa else '–'}"
                        + (f"–{max(sa)}" if sa and max(sa) != min(sa) else ""))
            out(f"| {c['alternative']} | " + " | ".join(vals) + " |")


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several runs: cells in grid order, a later run's cell replacing an earlier
    one of the same size (and alternative); the commands and times of all runs in ``meta``."""
    out: dict[str, Any] = {"meta": dict(runs[0]["meta"]), "calibration": [], "power": []}
    for part in ("calibration", "power"):
        cells: dict[tuple[Any, ...], Any] = {}
        for run in runs:
            for c in run[part]:
                cells[(c["d"], c["n"], c.get("alternative", ""))] = c
        out[part] = [cells[k] for k in sorted(cells, key=lambda k: (k[0], k[1]))]  # stable
    if len(runs) > 1:
        out["meta"]["command"] = "; ".join(r["meta"]["command"] for r in runs)
        out["meta"]["total_seconds"] = sum(r["meta"].get("total_seconds", 0) for r in runs)
    return out


def render(results: dict[str, Any]) -> None:
    """Print every table of ``results`` (what a run prints, or a saved ``--json``)."""
    meta = results["meta"]
    print(f"# gaussprobe {meta['gaussprobe_version']}: calibration at embedding sizes\n")
    print(f"Command: `{meta['command']}`; total {meta.get('total_seconds', 0):.0f} s.")
    render_calibration(results, print)
    render_power(results, print)
    render_directions(results, print)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ints = lambda s: [int(v) for v in s.split(",") if v.strip()]
    words = lambda s: [v.strip() for v in s.split(",") if v.strip()]
    ap.add_argument("--d", type=ints, default=list(DEFAULT_D), help="dimensions (comma-separated)")
    ap.add_argument("--n", type=words, default=list(DEFAULT_N),
                    help="sample sizes: numbers or d+10, 2d, 10d (comma-separated)")
    ap.add_argument("--tests", type=words, default=list(ALL_TESTS),
                    help=f"tests to measure (comma-separated) from {', '.join(ALL_TESTS)}")
    ap.add_argument("--draws", type=int, default=500, help="N(0, I) draws per cell")
    ap.add_argument("--cell-budget", type=float, default=120.0,
                    help="seconds for the N(0, I) analyze draws of one cell")
    ap.add_argument("--aniso-budget", type=float, default=None,
                    help="seconds for the anisotropic preset draws of one cell (default: a third "
                         "of --cell-budget; 0 skips them)")
    ap.add_argument("--standalone-budget", type=float, default=None,
                    help="seconds for each stand-alone test of one cell (default: a quarter of "
                         "--cell-budget)")
    ap.add_argument("--energy-resamples", type=int, default=99,
                    help="bootstrap resamples of the energy test")
    ap.add_argument("--flops", type=float, default=1e10,
                    help="flop/s assumed to predict whether a stand-alone test fits its budget")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS (and gaussprobe) threads; 1 suits a shared machine, where "
                         "multi-threaded BLAS slows down several-fold under load; 0: the default")
    ap.add_argument("--whole-cells", action="store_true",
                    help="run every requested draw of a loop or none: after the first draw and "
                         f"{PREDICT_AFTER} more, a loop whose predicted time exceeds its budget is "
                         "skipped (and listed); without it a loop runs until its budget is spent")
    ap.add_argument("--quick", action="store_true",
                    help="a few small cells (d 64, 128; n d+10, 2d), 60 draws, short budgets")
    ap.add_argument("--power", action="store_true", help="power against alternatives instead")
    ap.add_argument("--directions", action="store_true",
                    help="the three direction tests stand-alone instead (cells d 64, 128 x n d+10, "
                         "2d, 10d unless --d/--n are given; 1000 draws, the pursuit 500)")
    ap.add_argument("--pursuit-draws", type=int, default=500,
                    help="most draws of the pursuit per cell with --directions")
    ap.add_argument("--pursuit-max-flop", type=float, default=3e11,
                    help="with --directions, run the pursuit on request where its search and "
                         "null cost at most this (flop)")
    ap.add_argument("--power-d", type=ints, default=list(POWER_D))
    ap.add_argument("--power-n", type=words, default=list(POWER_N))
    ap.add_argument("--power-draws", type=int, default=100)
    ap.add_argument("--power-budget", type=float, default=30.0,
                    help="seconds for the analyze draws of one (alternative, cell)")
    ap.add_argument("--power-standalone-budget", type=float, default=10.0,
                    help="seconds for each stand-alone test of one (alternative, cell)")
    ap.add_argument("--alternatives", type=words, default=None,
                    help="only alternatives whose name contains one of these words")
    ap.add_argument("--json", type=Path, default=None, help="write every number to this file")
    ap.add_argument("--render", type=Path, nargs="+", default=None,
                    help="print the tables of saved --json files and exit (several runs are merged: "
                         "a cell of a later file replaces the same cell of an earlier one)")
    return ap


def main(argv: list[str] | None = None) -> None:
    """Run the grid (or ``--power``), print Markdown tables, optionally save JSON."""
    ap = _parser()
    args = ap.parse_args(argv)
    if args.render:
        render(merge([json.loads(path.read_text()) for path in args.render]))
        return
    unknown = sorted(set(args.tests) - set(ALL_TESTS))
    if unknown:
        ap.error(f"unknown tests {unknown}; choose from {', '.join(ALL_TESTS)}")
    if args.quick:
        args.d, args.n = [64, 128], ["d+10", "2d"]
        args.draws, args.cell_budget = min(args.draws, 60), min(args.cell_budget, 15.0)
        args.power_d, args.power_n, args.power_draws = [64], ["2d"], min(args.power_draws, 20)
        args.power_budget, args.power_standalone_budget = 10.0, 5.0
    if args.directions:  # its own defaults, where --d, --n and --draws were not given
        defaults = ap.parse_args([])
        if args.d == defaults.d:
            args.d = list(DIRECTION_D)
        if args.n == defaults.n:
            args.n = list(DIRECTION_N)
        if args.draws == defaults.draws:
            args.draws = 1000
    if args.aniso_budget is None:
        args.aniso_budget = args.cell_budget / 3
    if args.standalone_budget is None:
        args.standalone_budget = args.cell_budget / 4
    t0 = time.perf_counter()
    meta = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    meta.update(gaussprobe_version=gp.__version__, numpy_version=np.__version__,
                command="python benchmarks/calibration_embedding.py "
                        + " ".join(argv if argv is not None else sys.argv[1:]),
                started=time.strftime("%Y-%m-%d %H:%M:%S"))
    results: dict[str, Any] = {"meta": meta, "calibration": [], "power": [], "directions": []}

    def save() -> None:
        meta["total_seconds"] = round(time.perf_counter() - t0, 1)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))

    with threadpool_limits(limits=args.threads if args.threads > 0 else None):
        run = directions if args.directions else power if args.power else calibration
        run(args, results, save)
    save()
    render(results)


if __name__ == "__main__":
    main()
