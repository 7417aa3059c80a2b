"""What it costs that results carry the points of their plots, and what the HTML report costs.

Side by side in one run, on the same float32 matrix (default 100,000 x 768):

1. the column kernels (``univariate_tests``, as ``coordinate_normality`` calls them) with and without
   ``order_points=200`` (the evenly spaced order statistics kept for the QQ plots and histograms);
2. ``analyze`` with the default tests, and the size of its JSON;
3. ``render.to_html(report)`` (every plot drawn from the results) and ``to_markdown`` / ``summary``.

Run: ``python benchmarks/bench_plot_points.py`` or ``--quick`` (20,000 x 128). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from _timing import best_of


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20,000 x 128 instead of 100,000 x 768")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--d", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n = args.n or (20_000 if args.quick else 100_000)
    d = args.d or (128 if args.quick else 768)
    import gaussprobe as gp
    from gaussprobe.render import to_html, to_markdown
    from gaussprobe.stats.coordinates import _columns_per_block
    from gaussprobe.stats.univariate import ORDER_STATISTIC_POINTS, univariate_tests

    x = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
    emb = gp._validation.check_embeddings(x)
    bs = _columns_per_block(None, emb)

    def kernels(points):
        return univariate_tests(np, lambda a, b: x[:, a:b], d, n, dtype=np.float64, block_size=bs,
                                order_points=points)

    without = best_of(lambda: kernels(None), args.repeat)
    with_points = best_of(lambda: kernels(ORDER_STATISTIC_POINTS), args.repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        report = gp.analyze(x, rng=0)
        t_analyze = time.perf_counter() - t0
    text = report.to_json()
    points = sum(np.size(getattr(r, f, None) if getattr(r, f, None) is not None else ())
                 for r in (report.coordinates, report.projections, report.pursuit)
                 for f in ("qq_values", "qq_quantiles")) + np.size(report.thin_shell.norm_order_statistics)
    t_html = best_of(lambda: to_html(report), 1)
    t_md = best_of(lambda: (to_markdown(report), report.summary()), args.repeat)
    out = {
        "n": n, "d": d, "order_points": ORDER_STATISTIC_POINTS,
        "column_kernels_s": round(without, 3), "column_kernels_with_points_s": round(with_points, 3),
        "ratio_with_points": round(with_points / without, 3),
        "analyze_default_s": round(t_analyze, 2),
        "json_kib": round(len(text) / 1024, 1), "plot_points_stored": int(points),
        "to_html_s": round(t_html, 2), "html_kib": round(len(to_html(report)) / 1024, 1),
        "to_markdown_and_summary_s": round(t_md, 3),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
