"""The order of the example gallery: the order of docs/examples.md (the paper's order)."""

from __future__ import annotations

from pathlib import Path

ORDER = ("synthetic_table1.py", "batch_and_dimension.py", "supervised_vs_contrastive.py",
         "spherical_clt.py", "pretrained_encoder.py")


class PaperOrder:
    """sphinx-gallery sort key: the scripts of ``ORDER`` first, in that order, then the others."""

    def __init__(self, src_dir: str | Path) -> None:
        self.src_dir = src_dir

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __call__(self, filename: str | Path) -> tuple[int, str]:
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)
