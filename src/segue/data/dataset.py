"""Reading a dataset folder written by `segue prepare`; the layout is in docs/data-format.md."""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path

import numpy as np
import orjson

from segue.data.catalog import CATALOG_FILE, open_catalog
from segue.data.split import SPLIT_NAMES
from segue.errors import UserError

FORMAT_VERSION = 1
INFO_FILE = "dataset.json"
PAD, OOV = 0, 1  # reserved track indices


class Dataset:
    """Playlists as CSR arrays over track indices, with their catalog.

    Playlist ``i`` is ``tracks[offsets[i]:offsets[i + 1]]``. Indices ``2 .. vocabulary + 1`` are
    the vocabulary, built from the training split; other tracks read as OOV in ``tracks`` and
    keep their catalog index in ``tracks_full``.
    """

    def __init__(self, path: Path, info: dict, mmap: bool = True) -> None:
        self.path = Path(path)
        self.info = info
        mode = "r" if mmap else None
        self.tracks: np.ndarray = np.load(self.path / "tracks.npy", mmap_mode=mode)  # (rows,) int32
        self.tracks_full: np.ndarray = np.load(self.path / "tracks_full.npy", mmap_mode=mode)  # (rows,) int32
        self.offsets: np.ndarray = np.load(self.path / "offsets.npy")  # (playlists + 1,) int64
        self.splits: np.ndarray = np.load(self.path / "splits.npy")  # (playlists,) uint8
        self.keys: np.ndarray = np.load(self.path / "keys.npy")  # (playlists,) str

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True) -> "Dataset":
        """Open a dataset folder; track arrays are memory-mapped unless ``mmap`` is False."""
        path = Path(path)
        info_path = path / INFO_FILE
        if not info_path.is_file():
            raise UserError(f"{path}: not a Segue dataset ({INFO_FILE} not found); create one with `segue prepare`")
        try:
            info = orjson.loads(info_path.read_bytes())
        except orjson.JSONDecodeError as error:
            raise UserError(f"{info_path}: invalid JSON: {error}") from None
        version = info.get("format_version")
        if version != FORMAT_VERSION:
            raise UserError(
                f"{info_path}: format version {version} is not supported (expected {FORMAT_VERSION}); "
                "prepare the dataset again"
            )
        try:
            return cls(path, info, mmap)
        except (OSError, ValueError) as error:
            raise UserError(f"{path}: damaged dataset: {error}") from None

    @property
    def num_playlists(self) -> int:
        return len(self.offsets) - 1

    @property
    def vocabulary_size(self) -> int:
        """Number of vocabulary tracks, without padding and OOV."""
        return int(self.info["vocabulary"])

    @property
    def num_indices(self) -> int:
        """Size of a model's index space: padding, OOV and the vocabulary."""
        return self.vocabulary_size + 2

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sequence(self, row: int, full: bool = False) -> np.ndarray:
        """Return playlist ``row`` as track indices; ``full`` keeps pruned tracks' catalog indices."""
        if not 0 <= row < self.num_playlists:
            raise IndexError(f"playlist row {row} out of range: the dataset has {self.num_playlists} playlists")
        array = self.tracks_full if full else self.tracks
        return np.asarray(array[self.offsets[row] : self.offsets[row + 1]])

    def playlists_in(self, split: str) -> np.ndarray:
        """Return the rows of the playlists in a split (train, valid, test or challenge)."""
        if split not in SPLIT_NAMES:
            raise UserError(f"unknown split {split!r}: expected one of {', '.join(SPLIT_NAMES)}")
        return np.flatnonzero(self.splits == SPLIT_NAMES.index(split))

    def catalog(self) -> sqlite3.Connection:
        """Open the catalog read-only; rows are sqlite3.Row."""
        return open_catalog(self.path / CATALOG_FILE)
