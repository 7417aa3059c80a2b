"""Naive, formula-first implementations used only as test oracles (slow on purpose)."""

from __future__ import annotations

