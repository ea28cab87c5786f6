"""Assignment of playlists to train, validation and test splits by a hash of their key.

A playlist's split depends only on the seed and its own key, so adding files never moves a
playlist that was already there.
"""

from __future__ import annotations

import hashlib

TRAIN, VALID, TEST, CHALLENGE = 0, 1, 2, 3
SPLIT_NAMES = ("train", "valid", "test", "challenge")


def split_of(key: str, seed: int, valid_frac: float, test_frac: float) -> int:
    """Return TRAIN, VALID or TEST for a playlist key.

    The key's 64-bit BLAKE2b hash, read as a number in [0, 1), falls in the test share first,
    then the validation share, then training.
    """
    digest = hashlib.blake2b(f"{seed}\0{key}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64
    if point < test_frac:
        return TEST
    if point < test_frac + valid_frac:
        return VALID
    return TRAIN
