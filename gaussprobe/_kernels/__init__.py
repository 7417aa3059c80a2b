"""Compute kernels shared by the statistics: blocked Gram-matrix reductions and optional numba loops.

Nothing here is public API. :mod:`.gram` visits the tiles ``i <= j`` of ``Y Yᵀ`` and reduces each
tile with a small function (sum of cubes, sum of exponentials, ...), so no ``n x n`` array is ever
built. NumPy inputs run on a pool of threads that each call single-threaded BLAS; other array
libraries (torch on CPU or CUDA) run the same tiles through their own namespace. :mod:`._numba`
holds fused loops that are compiled on first use, never at import.
"""
