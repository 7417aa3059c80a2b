"""
The spherical central limit theorem and the regularised route
=============================================================

The paper's Route 1 ends in the spherical CLT (Lemma 3, Theorem 2): if ``U`` is uniform on the unit
sphere of R^d, then ``sqrt(d) U_{1..k}`` tends to N(0, I_k), at a total-variation rate of at most
``2(k+3)/(d-k-3)`` (Diaconis & Freedman 1987). Route 2 (Corollary 2) says that the regulariser
``-H(rho) + lambda E||z||^2`` is minimised by the isotropic Gaussian N(0, (2 lambda)^-1 I). This example
checks both numerically with gaussprobe:

1. Uniform-on-sphere samples: the coordinate excess kurtosis against its exact value ``-6/(d+2)``,
   and the Anderson–Darling / D'Agostino–Pearson pass rates against d, next to Gaussian samples of
   the same size (the finite-d platykurtosis is visible to the tests at small d and large n).
2. The exact total-variation distance between ``sqrt(d) U_{1..k}`` and N(0, I_k) (radial quadrature
   of the exact densities) against the Diaconis–Freedman bound.
3. The InfoNCE uniformity potential ``Phi(mu) = E log E exp(alpha u.v)`` (Eq. 4): smallest for the
   uniform law, larger for projected normals with a growing mean direction.
4. Route 2: the exact value of ``-H + lambda E z^2`` along scale families (Gaussian, Laplace, uniform)
   in closed form, minimal for the Gaussian of variance 1/(2 lambda); and a particle cloud that starts
   from a wide Laplace sample and descends the same objective with the differentiable k-NN entropy
   estimator of :func:`gaussprobe.contrastive.losses.entropy_estimate`.

Run::

    python examples/spherical_clt.py          # under a minute on two CPU cores
    python examples/spherical_clt.py --full   # n = 20000 samples, d up to 1024, longer descent

It prints a line per part and per dimension as it goes and writes only in ``--out`` (default
``out/spherical_clt``): ``results.json``, ``sphere_coordinates.png``, ``tv_bound.png`` and
``phi_and_route2.png``.
"""

# %%
# Figures of the default run
# --------------------------
#
# .. image:: /figures/examples/spherical_clt_sphere_coordinates.png
#    :alt: excess kurtosis and pass fractions of uniform-on-sphere coordinates against d
#
# .. image:: /figures/examples/spherical_clt_tv_bound.png
#    :alt: exact total variation against the Diaconis-Freedman bound
#
# .. image:: /figures/examples/spherical_clt_phi_and_route2.png
#    :alt: Phi against mean resultant length; the route-2 objective and its optimum

# %%
# The script
# ----------

# sphinx_gallery_thumbnail_path = "figures/examples/spherical_clt_tv_bound.png"
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from _progress import Progress
from scipy import integrate, special

from gaussprobe.stats.coordinates import coordinate_normality
from gaussprobe.stats.thin_shell import thin_shell

SIZES = {
    "tiny": {"n": 2000, "dims": [8, 64], "tv_dims": [8, 32, 128], "phi_samples": 500,
             "particles": 300, "steps": 60},
    "default": {"n": 10000, "dims": [8, 16, 32, 64, 128, 256, 512], "tv_dims": [8, 16, 32, 64,
                128, 256, 512, 1024], "phi_samples": 2000, "particles": 600, "steps": 300},
    "full": {"n": 20000, "dims": [8, 16, 32, 64, 128, 256, 512, 1024],
             "tv_dims": [8, 16, 32, 64, 128, 256, 512, 1024, 4096], "phi_samples": 4000,
             "particles": 1000, "steps": 600},
}



def sphere(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform on the sphere of radius sqrt(d) (so each coordinate has variance 1)."""
    g = rng.standard_normal((n, d))
    return math.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)


# ---------------------------------------------------------------------------------- part 1
def coordinate_study(size: dict, rng: np.random.Generator) -> list[dict]:
    rows = []
    for d in size["dims"]:
        s = coordinate_normality(sphere(size["n"], d, rng))
        g = coordinate_normality(rng.standard_normal((size["n"], d)))
        rows.append({
            "d": d, "excess_kurtosis": float(np.mean(s.excess_kurtosis)),
            "excess_kurtosis_exact": -6.0 / (d + 2),
            "sphere_ad_mean": s.ad_mean, "sphere_ad_pass": s.ad_pass_fraction,
            "sphere_dp_pass": s.dp_pass_fraction, "sphere_dp_mean": s.dp_mean_pvalue,
            "gauss_ad_mean": g.ad_mean, "gauss_ad_pass": g.ad_pass_fraction,
            "gauss_dp_pass": g.dp_pass_fraction,
        })
        r = rows[-1]
        print(f"d={d:<5} excess kurtosis {r['excess_kurtosis']:+.4f} (exact {-6 / (d + 2):+.4f})  "
              f"sphere AD {r['sphere_ad_mean']:.3f} pass {r['sphere_ad_pass']:.2f} / DP pass "
              f"{r['sphere_dp_pass']:.2f}   Gaussian AD {r['gauss_ad_mean']:.3f} DP pass "
              f"{r['gauss_dp_pass']:.2f}", flush=True)
    return rows


# ---------------------------------------------------------------------------------- part 2
def tv_sphere_projection(d: int, k: int) -> float:
    """Exact d_TV(sqrt(d) U_{1..k}, N(0, I_k)) by radial quadrature of the two densities."""
    log_c = (special.gammaln(d / 2) - special.gammaln((d - k) / 2) - 0.5 * k * math.log(math.pi * d))
    log_area = math.log(2.0) + 0.5 * k * math.log(math.pi) - special.gammaln(k / 2)

    def diff(r: float) -> float:
        f = 0.0 if r >= math.sqrt(d) else math.exp(log_c + 0.5 * (d - k - 2) * math.log1p(-r * r / d))
        phi = math.exp(-0.5 * r * r - 0.5 * k * math.log(2 * math.pi))
        return abs(f - phi) * math.exp(log_area + (k - 1) * math.log(r)) if r > 0 else 0.0

    upper = math.sqrt(d) if d < 200 else 40.0
    val, _ = integrate.quad(diff, 0.0, upper, limit=400, epsabs=1e-13, epsrel=1e-10)
    tail, _ = integrate.quad(diff, upper, upper + 40.0, limit=200) if upper < 40 else (0.0, 0.0)
    return 0.5 * (val + tail)


def tv_study(size: dict) -> list[dict]:
    rows = []
    for k in (1, 2, 5):
        for d in size["tv_dims"]:
            if d - k - 3 <= 0:
                continue
            tv = tv_sphere_projection(d, k)
            bound = 2 * (k + 3) / (d - k - 3)
            rows.append({"k": k, "d": d, "tv": tv, "bound": bound})
    for r in rows:
        if r["k"] == 1:
            print(f"k=1 d={r['d']:<5} d_TV {r['tv']:.2e}  Diaconis-Freedman bound {r['bound']:.2e}",
                  flush=True)
    return rows


# ---------------------------------------------------------------------------------- part 3
def phi_study(size: dict, rng: np.random.Generator, d: int = 16, alpha: float = 10.0) -> list[dict]:
    """Plug-in Phi(mu) = mean_i log mean_{j != i} exp(alpha u_i.u_j) for projected normals."""
    m = size["phi_samples"]
    rows = []
    for offset in (0.0, 0.25, 0.5, 1.0, 2.0):
        g = rng.standard_normal((m, d)) / math.sqrt(d)
        g[:, 0] += offset
        u = g / np.linalg.norm(g, axis=1, keepdims=True)
        s = alpha * (u @ u.T)
        np.fill_diagonal(s, -np.inf)
        phi = float(np.mean(special.logsumexp(s, axis=1) - math.log(m - 1)))
        resultant = float(np.linalg.norm(u.mean(0)))
        rows.append({"offset": offset, "mean_resultant_length": resultant, "phi": phi})
        print(f"projected normal offset {offset:<4}: |m(mu)| {resultant:.3f}  Phi {phi:.4f}",
              flush=True)
    return rows


# ---------------------------------------------------------------------------------- part 4
def route2_closed_form(lam: float) -> dict:
    """-H + lam E z^2 per coordinate for scale families with the same variance s^2."""
    s2 = np.geomspace(0.05, 5.0, 200)
    gauss = -0.5 * np.log(2 * math.pi * math.e * s2) + lam * s2
    laplace = -(1 + np.log(2 * np.sqrt(s2 / 2))) + lam * s2          # b = s / sqrt(2)
    uniform = -np.log(2 * np.sqrt(3 * s2)) + lam * s2                # a = s sqrt(3)
    best = float(s2[np.argmin(gauss)])
    return {"variance": s2.tolist(), "gaussian": gauss.tolist(), "laplace": laplace.tolist(),
            "uniform": uniform.tolist(), "argmin_variance_gaussian": best,
            "optimum_variance": 1 / (2 * lam),
            "min_gaussian": float(gauss.min()), "min_laplace": float(laplace.min()),
            "min_uniform": float(uniform.min())}


def route2_particles(size: dict, lam: float, seed: int) -> dict:
    import torch

    from gaussprobe.contrastive.losses import entropy_estimate

    n, d = size["particles"], 2
    g = torch.Generator().manual_seed(seed)
    e = torch.empty(2, n, d, dtype=torch.float64).exponential_(generator=g)
    z = (e[0] - e[1]).requires_grad_(True)  # Laplace(0, 1): variance 2 per coordinate
    start = z.detach().clone()
    opt = torch.optim.Adam([z], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=size["steps"], eta_min=0.005)
    trace = []
    for _ in range(size["steps"]):
        loss = -entropy_estimate(z, estimator="knn", k=5) + lam * (z * z).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        trace.append(float(loss.detach()))
    final = z.detach()
    res = coordinate_normality(final.numpy())
    res0 = coordinate_normality(start.numpy())
    out = {"n": n, "d": d, "lam": lam, "loss": trace,
           "variance_start": start.var(0).tolist(), "variance_end": final.var(0).tolist(),
           "ad_start": res0.ad_statistics.tolist(), "ad_end": res.ad_statistics.tolist(),
           "dp_pvalue_end": res.dp_pvalues.tolist(), "cv_end": thin_shell(final.numpy()).cv,
           "points": final.numpy().tolist()}
    print(f"route 2 particles (d=2, lambda={lam}): variance {np.round(out['variance_start'], 2)} -> "
          f"{np.round(out['variance_end'], 3)} (optimum {1 / (2 * lam):.3f}); AD "
          f"{np.round(out['ad_start'], 2)} -> {np.round(out['ad_end'], 3)}", flush=True)
    return out


# ---------------------------------------------------------------------------------- figures
def plot_all(res: dict, out: Path) -> None:
    rows = res["coordinates"]
    ds = [r["d"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].semilogx(ds, [r["excess_kurtosis"] for r in rows], "o", label="uniform on sphere")
    dd = np.geomspace(min(ds), max(ds), 100)
    axes[0].semilogx(dd, -6 / (dd + 2), "-", label="-6/(d+2)")
    axes[0].set_xlabel("d")
    axes[0].set_title("coordinate excess kurtosis")
    axes[0].legend()
    axes[1].semilogx(ds, [r["sphere_ad_pass"] for r in rows], "o-", label="sphere AD")
    axes[1].semilogx(ds, [r["sphere_dp_pass"] for r in rows], "s-", label="sphere DP")
    axes[1].semilogx(ds, [r["gauss_ad_pass"] for r in rows], "o:", label="Gaussian AD")
    axes[1].semilogx(ds, [r["gauss_dp_pass"] for r in rows], "s:", label="Gaussian DP")
    axes[1].set_xlabel("d")
    axes[1].set_title(f"pass fraction (n={res['settings']['n']})")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "sphere_coordinates.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.8))
    for i, k in enumerate((1, 2, 5)):
        rk = [r for r in res["total_variation"] if r["k"] == k]
        ax.loglog([r["d"] for r in rk], [r["tv"] for r in rk], "o-", color=f"C{i}", label=f"exact, k={k}")
        ax.loglog([r["d"] for r in rk], [r["bound"] for r in rk], "--", color=f"C{i}",
                  label=f"2(k+3)/(d-k-3), k={k}")
    ax.set_xlabel("d")
    ax.set_ylabel("total variation")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "tv_bound.png", dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6))
    phi = res["phi"]
    axes[0].plot([r["mean_resultant_length"] for r in phi], [r["phi"] for r in phi], "o-")
    axes[0].set_xlabel("|m(mu)|")
    axes[0].set_title("Phi(mu), d=16, alpha=10")
    cf = res["route2_closed_form"]
    for key in ("gaussian", "laplace", "uniform"):
        axes[1].semilogx(cf["variance"], cf[key], label=key)
    axes[1].axvline(cf["optimum_variance"], color="k", ls=":", lw=0.8)
    axes[1].set_xlabel("variance per coordinate")
    axes[1].set_title("-H + lambda E z^2 (exact)")
    axes[1].legend()
    p = res["route2_particles"]
    pts = np.asarray(p["points"])
    axes[2].hist(pts[:, 0], bins=25, density=True, alpha=0.6, label="particles, coordinate 1")
    xs = np.linspace(-4, 4, 200)
    var = 1 / (2 * p["lam"])
    axes[2].plot(xs, np.exp(-xs**2 / (2 * var)) / math.sqrt(2 * math.pi * var), label="N(0, 1/(2 lambda))")
    axes[2].legend(fontsize=8)
    axes[2].set_title("route 2 optimum (k-NN entropy)")
    axes[3].plot(p["loss"])
    axes[3].set_xlabel("step")
    axes[3].set_title("-H_kNN + lambda E|z|^2")
    fig.tight_layout()
    fig.savefig(out / "phi_and_route2.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="spherical CLT and the regularised route")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--size", choices=sorted(SIZES), default=None)
    parser.add_argument("--out", default="out/spherical_clt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    size_name = args.size or ("full" if args.full else "default")
    size = SIZES[size_name]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    lam = 0.5
    progress = Progress(5)
    progress(f"{size_name} size, seed {args.seed}; writing to {out}")
    res: dict = {"size": size_name, "settings": size, "seed": args.seed}
    progress(f"coordinates of {size['n']} points uniform on the sphere and {size['n']} Gaussian "
             f"points, d in {size['dims']}", step=True)
    res["coordinates"] = coordinate_study(size, rng)
    progress(f"exact total variation for k = 1, 2, 5 and d in {size['tv_dims']}", step=True)
    res["total_variation"] = tv_study(size)
    progress(f"uniformity potential Phi on {size['phi_samples']} projected normals (d = 16)",
             step=True)
    res["phi"] = phi_study(size, rng)
    res["route2_closed_form"] = route2_closed_form(lam)
    progress(f"route 2: {size['particles']} particles, {size['steps']} descent steps", step=True)
    res["route2_particles"] = route2_particles(size, lam, args.seed)
    res["seconds"] = time.perf_counter() - t0
    progress("figures", step=True)
    plot_all(res, out)
    (out / "results.json").write_text(json.dumps(res))
    print(f"{size_name} run finished in {res['seconds']:.0f} s; wrote {out}/results.json and figures")
    return res


if __name__ == "__main__":
    main()
