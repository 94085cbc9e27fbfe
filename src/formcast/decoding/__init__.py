"""Decoding loops: autoregressive (and, later, diffusion)."""
