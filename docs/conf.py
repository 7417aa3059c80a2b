"""Sphinx configuration for the gaussprobe documentation.

Build it from the repository root with ``python -m sphinx -W -b html docs docs/_build/html`` (what the
test suite does, in ``tests/test_docs.py``). The pages need no network, to build or to read:

* formulas are converted to MathML at build time (``_ext/mathml_math.py``), which browsers display
  without any script;
* the example gallery (sphinx-gallery) does not run the examples, which train networks for minutes; its
  pages show the figures that the examples' default runs wrote, committed under ``figures/examples/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gaussprobe

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "gaussprobe"
author = "gaussprobe developers"
copyright = "2026, gaussprobe developers"
version = release = gaussprobe.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
    "mathml_math",
    "api_reference",
]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_update_mathjax = False
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
master_doc = "index"
exclude_patterns = ["_build", "gen_modules", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_validation_checks: set[str] = set()
autodoc_typehints = "none"
autodoc_member_order = "bysource"
# gaussprobe.contrastive needs PyTorch; a docs build without it documents the trainer from mocks
try:
    import torch  # noqa: F401
except ImportError:
    autodoc_mock_imports = ["torch"]
else:
    autodoc_mock_imports = []
intersphinx_mapping: dict[str, tuple[str, None]] = {}

# Formulas: MathML written into the pages (no MathJax, no CDN).
html_math_renderer = "mathml"

html_theme = "alabaster"
html_static_path = ["_static"]
suppress_warnings = ["myst.header"]

# The gallery: one page per example script, built from the scripts without running them.
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "plot_gallery": "False",
    # make_demo_data.py builds the packaged demo file; it is a tool, not an example page
    "ignore_pattern": r"(__init__|make_demo_data|_progress)\.py$",
    "filename_pattern": r"^$",
    "within_subsection_order": "gallery_order.PaperOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_signature": False,
    "min_reported_time": 10**9,
    # the timing pages would be empty (nothing runs) and load scripts from CDNs
    "write_computation_times": False,
}
