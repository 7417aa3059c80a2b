"""The pass engine: one way of reading the rows and columns of an embedding matrix, for every source.

A statistic is computed in up to three kinds of pass over the data (see ``docs/scaling.md``):

* a **row pass** folds row blocks into small mergeable *states* (:mod:`._states`): every state has
  ``fresh()`` (an empty copy with the same parameters), ``update(block)``, ``merge(other)`` and
  ``result()`` (the only host transfer). Chunked, merged in any order, and one shot give the same
  result up to rounding, so the same states run on threads, on a GPU, or as Dask tasks merged by a
  tree reduction;
* a **column pass** runs the sorted-column kernels (Anderson–Darling, moments, sliced distances) on
  blocks of whole columns — of the data (the per-coordinate tests) or of its projections;
* a **tile pass** reduces the tiles ``i <= j`` of a Gram matrix (Mardia's skewness, Henze–Zirkler,
  the energy statistic).

:class:`~._executor.Executor` runs them: in memory (NumPy threads of single-threaded BLAS, or torch on
the input's device) or on Dask (each row chunk a task, states merged by a tree reduction; columns
through a spill to a temporary folder or Dask's rechunk; tiles as tasks). Statistics never test array
types: they build states and finish from their results.
"""

from __future__ import annotations

from ._executor import Executor, executor_for
from ._rows import Block

__all__ = ["Block", "Executor", "executor_for"]
