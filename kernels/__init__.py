"""Compute kernels (numba on CPU, torch on GPU); import submodules explicitly."""
