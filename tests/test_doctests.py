"""The Examples sections of the public docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gaussprobe

_SKIP = {"gaussprobe.__main__"}  # would run the CLI


def _modules() -> list[str]:
    found = pkgutil.walk_packages(gaussprobe.__path__, prefix="gaussprobe.")
    return ["gaussprobe", *(info.name for info in found if info.name not in _SKIP)]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra (torch, numba, matplotlib) that is not installed
        pytest.skip(f"{name}: {exc}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
