"""Bloom codes for track indices (Serrà and Karatzoglou 2017, "Getting deep recommenders fit").

Each track index maps to ``hashes`` positions among ``dim`` by independent hash functions, so an
input or output layer of width ``dim`` can stand for a vocabulary many times larger.
"""

from __future__ import annotations

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """Mix 64-bit integers with the SplitMix64 finaliser (Steele, Lea and Flood 2014)."""
    with np.errstate(over="ignore"):
        z = (values + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return z ^ (z >> np.uint64(31))


def bloom_positions(num_indices: int, dim: int, hashes: int, seed: int = 0) -> np.ndarray:
    """Return the Bloom positions of every index ``0 .. num_indices - 1`` as (num_indices, hashes).

    Hash ``j`` of index ``i`` is SplitMix64 of ``(seed * hashes + j) * 2**32 + i`` modulo ``dim``.
    The integer arithmetic is exact, so positions are the same on every run and machine.

    Limitation: two hashes of one track may land on the same position. Its code then has fewer
    distinct bits, as in any Bloom filter; the chance per track is about ``hashes**2 / (2 * dim)``.
    """
    if dim < 2 or hashes < 1:
        raise ValueError(f"Bloom codes need dim >= 2 and hashes >= 1, got dim={dim}, hashes={hashes}")
    indices = np.arange(num_indices, dtype=np.uint64)[:, None]
    functions = (np.uint64(seed * hashes) + np.arange(hashes, dtype=np.uint64))[None, :]
    with np.errstate(over="ignore"):
        mixed = _splitmix64((functions << np.uint64(32)) + indices)
    return (mixed % np.uint64(dim)).astype(np.int64)
