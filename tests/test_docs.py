"""The documentation: it builds with ``sphinx -W`` (warnings are errors); the API reference has every
public name of every public module (read from the modules' ``__all__``); the pages load nothing from
the network and their formulas are rendered (MathML); the example gallery shows the examples'
figures; the install instructions work from a checkout."""

from __future__ import annotations

import html.parser
import importlib
import inspect
import pkgutil
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"


# ------------------------------------------------------------------------------ the public names
def public_modules(package: str = "gaussprobe") -> list[str]:
    """The package and every submodule without a leading underscore in its dotted name."""
    root = importlib.import_module(package)
    walked = pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
    return [package, *(info.name for info in walked
                        if not any(part.startswith("_") for part in info.name.split(".")))]


def public_names(modname: str) -> list[str]:
    """A module's ``__all__``; without one, the public names it defines itself."""
    module = importlib.import_module(modname)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, obj in vars(module).items() if not n.startswith("_")
            and getattr(obj, "__module__", None) == modname and not inspect.ismodule(obj)]


def read_inventory(path: Path) -> dict[str, set[str]]:
    """``objects.inv`` (Sphinx inventory version 2) as {role: {names}}."""
    data = path.read_bytes()
    lines = data.split(b"\n", 4)
    assert lines[0] == b"# Sphinx inventory version 2", lines[0]
    text = zlib.decompress(lines[4]).decode("utf-8")
    out: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = re.match(r"(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        if m:
            out.setdefault(m.group(2), set()).add(m.group(1))
    return out


def test_public_modules_are_found():
    """The walk sees the modules named in the project's docs (a guard for the guard)."""
    pytest.importorskip("torch")
    found = set(public_modules())
    for name in ("gaussprobe.io", "gaussprobe.testing", "gaussprobe.encoders", "gaussprobe.plotting",
                 "gaussprobe.render", "gaussprobe.criteria", "gaussprobe.compare",
                 "gaussprobe.contrastive", "gaussprobe.contrastive.losses",
                 "gaussprobe.stats.thin_shell", "gaussprobe.stats.univariate"):
        assert name in found
    assert not any(part.startswith("_") for name in found for part in name.split("."))
    assert "analyze" in public_names("gaussprobe")


def missing_from_reference(inventory: dict[str, set[str]]) -> list[str]:
    documented = set().union(*(names for role, names in inventory.items() if role.startswith("py:")))
    missing = []
    for modname in public_modules():
        parent, _, last = modname.rpartition(".")
        shadowed = bool(parent) and not inspect.ismodule(
            getattr(importlib.import_module(parent), last, None))  # gaussprobe.compare, the function
        if not shadowed and modname not in inventory.get("py:module", set()):
            missing.append(f"module {modname}")
        missing.extend(f"{modname}.{name}" for name in public_names(modname)
                       if f"{modname}.{name}" not in documented)
    return missing


# ------------------------------------------------------------------------------------ the pages
class _Resources(html.parser.HTMLParser):
    """What a page loads (scripts, stylesheets, images, frames) and its MathML elements."""

    LOADING: ClassVar[dict[str, str]] = {
        "script": "src", "img": "src", "iframe": "src", "source": "src", "embed": "src",
        "audio": "src", "video": "src", "object": "data"}

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.math_elements = 0
        self.math_spans = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self.LOADING and a.get(self.LOADING[tag]):
            self.loads.append(a[self.LOADING[tag]] or "")
        if tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "preload", "icon", "modulepreload", "prefetch"}:
            self.loads.append(a["href"] or "")
        if tag == "math":
            self.math_elements += 1
        if "math" in (a.get("class") or "").split() and tag in ("span", "div"):
            self.math_spans += 1


REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


def check_pages(html_dir: Path) -> None:
    """No page loads anything remote; every local resource exists; every formula is MathML."""
    pages = sorted(html_dir.rglob("*.html"))
    assert len(pages) > 30
    remote, absent, unrendered = [], [], []
    pages_with_math = 0
    for page in pages:
        parser = _Resources()
        text = page.read_text(encoding="utf-8")
        parser.feed(text)
        for url in parser.loads:
            if REMOTE.match(url) or url.startswith(("http:", "https:")):
                remote.append(f"{page.relative_to(html_dir)}: {url}")
            elif not url.startswith("data:"):
                target = (page.parent / url.split("?")[0].split("#")[0]).resolve()
                if not target.is_file():
                    absent.append(f"{page.relative_to(html_dir)}: {url}")
        if parser.math_spans:
            pages_with_math += 1
            if parser.math_elements < parser.math_spans or 'class="math-source"' in text:
                unrendered.append(str(page.relative_to(html_dir)))
    for css in html_dir.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import\s+['\"]?(?:https?:)?//",
                             css.read_text(encoding="utf-8", errors="replace")), css
    assert not remote, remote[:10]
    assert not absent, absent[:10]
    assert not unrendered, unrendered
    assert pages_with_math >= 15
    thin_shell = (html_dir / "statistics" / "thin_shell.html").read_text(encoding="utf-8")
    assert thin_shell.count("<math") >= 20
    assert '<annotation encoding="application/x-tex">' in thin_shell


def check_gallery(html_dir: Path) -> None:
    """A page per example with the committed figures, a real thumbnail each, linked from the index."""
    import sphinx_gallery

    gallery = html_dir / "auto_examples"
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.name.startswith(("_", "make_")))
    placeholder = (Path(sphinx_gallery.__file__).parent / "_static" / "no_image.png").read_bytes()
    index = (gallery / "index.html").read_text(encoding="utf-8")
    for name in scripts:
        page = (gallery / f"{name}.html").read_text(encoding="utf-8")
        images = re.findall(r'<img[^>]+src="([^"]+)"', page)
        figures = [i for i in images if Path(i).name.startswith(f"{name}_")]
        assert figures, (name, images)
        for image in figures:
            assert (gallery / image).resolve().is_file(), image
        thumbs = re.findall(rf'<img[^>]+src="([^"]*sphx_glr_{name}_thumb\.png)"', index)
        assert len(thumbs) == 1, name
        thumb = (gallery / thumbs[0]).resolve()
        assert thumb.is_file() and thumb.read_bytes() != placeholder, name
        assert f"{name}.html" in index
    assert "auto_examples/index.html" in (html_dir / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_docs_build(tmp_path):
    """One build (about half a minute), then every check of the built site."""
    for module in ("sphinx", "myst_parser", "numpydoc", "sphinx_gallery", "latex2mathml"):
        pytest.importorskip(module)
    pytest.importorskip("torch")  # the public names of gaussprobe.contrastive need it
    # build from a copy: sphinx-gallery writes its pages into the source folder
    src = tmp_path / "src"
    shutil.copytree(DOCS, src / "docs", ignore=shutil.ignore_patterns(
        "_build", "auto_examples", "gen_modules", "__pycache__"))
    shutil.copytree(EXAMPLES, src / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    html_dir = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src / "docs"),
         str(html_dir)],
        capture_output=True, text=True, check=False, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    missing = missing_from_reference(read_inventory(html_dir / "objects.inv"))
    assert not missing, f"public names missing from the API reference (docs/api/): {missing}"
    check_pages(html_dir)
    check_gallery(html_dir)


def test_reference_check_sees_a_missing_name(monkeypatch):
    """The API check fails for a public name that the reference does not have."""
    pytest.importorskip("torch")
    import gaussprobe

    inventory = {"py:module": set(public_modules()), "py:function": set()}
    for modname in public_modules():
        inventory["py:function"].update(f"{modname}.{n}" for n in public_names(modname))
    assert missing_from_reference(inventory) == []
    monkeypatch.setattr(gaussprobe, "__all__", [*gaussprobe.__all__, "brand_new_statistic"])
    monkeypatch.setattr(gaussprobe, "brand_new_statistic", lambda x: x, raising=False)
    assert missing_from_reference(inventory) == ["gaussprobe.brand_new_statistic"]


# --------------------------------------------------------------------------------- installation
def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands for a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_install_instructions_work_from_a_checkout():
    """gaussprobe is on no package index: the docs install it from a checkout, with the README's two
    commands, and nothing tells a user to ``pip install gaussprobe`` by name alone."""
    commands = _readme_commands()
    assert len(commands) == 2
    assert all(re.search(r"pip install (?:-q )?-e ['\"]?\.", c) for c in commands), commands
    install = (DOCS / "install.md").read_text(encoding="utf-8")
    for command in commands:
        assert command in install
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci_script
    by_name = re.compile(r"pip install\s+(?:-\S+\s+)*['\"]?gaussprobe(?![\w\[./-])")
    texts = [ROOT / "README.md", *DOCS.rglob("*.md"), *EXAMPLES.glob("*.py")]
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in texts if "_build" not in p.parts
                 for m in by_name.finditer(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders
    quickstart = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    assert "pip install -e ." in quickstart and "{doc}`install`" in quickstart
