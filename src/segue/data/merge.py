"""Merging parsed files into dataset-wide track ids, counts and the final arrays.

Each track gets a provisional id on first sight. Sequences of provisional ids go to a scratch
file on disk and playlist metadata straight to SQLite, so memory grows only with the distinct
tracks (URI, metadata and counts), not with the number of files or rows. When all files are
read, the vocabulary is built from the training split and the scratch file is renumbered.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from segue.data.catalog import CATALOG_FILE, CatalogWriter
from segue.data.dataset import OOV
from segue.data.records import ParsedFile
from segue.data.split import CHALLENGE, TRAIN, split_of
from segue.errors import InputError

if TYPE_CHECKING:
    from segue.data.prepare import PrepareOptions

logger = logging.getLogger(__name__)

MAX_LOGGED_SKIPS = 50
_REMAP_CHUNK = 1 << 20  # rows renumbered at a time; bounds memory whatever the row count


class Merger:
    """Merges parsed files into dataset-wide provisional track ids, counts and scratch rows."""

    def __init__(self, folder: Path, options: PrepareOptions) -> None:
        self.options = options
        self.catalog = CatalogWriter(folder / CATALOG_FILE)
        self.scratch_path = folder / "rows.scratch"
        self.scratch = open(self.scratch_path, "wb")
        self.provisional_ids: dict[str, int] = {}
        self.track_values: list[tuple] = []  # TRACK_FIELDS of each provisional id
        self.train_counts = np.zeros(1024, dtype=np.int64)
        self.counts = np.zeros(1024, dtype=np.int64)
        self.playlist_count = 0
        self.lengths: list[np.ndarray] = []
        self.splits: list[np.ndarray] = []
        self.sources: list[dict] = []
        self.dropped: Counter = Counter()
        self.skipped_files: list[dict] = []
        self.logged_skips = 0

    def skip_file(self, error: InputError) -> None:
        self.dropped["invalid_file"] += 1
        self.skipped_files.append({"path": error.path, "error": str(error)})
        self._log_skip(str(error))

    def _log_skip(self, message: str) -> None:
        if self.logged_skips < MAX_LOGGED_SKIPS:
            logger.warning("skipped: %s", message)
        elif self.logged_skips == MAX_LOGGED_SKIPS:
            logger.warning("more skipped input; the totals are in dataset.json")
        self.logged_skips += 1

    def add(self, parsed: ParsedFile) -> None:
        for message in parsed.skipped:
            self._log_skip(message)
        self.dropped.update(parsed.dropped)

        records, lengths, rows = parsed.playlists, parsed.lengths, parsed.rows
        splits = np.array(
            [
                CHALLENGE
                if record.challenge
                else split_of(record.key, self.options.seed, self.options.valid_frac, self.options.test_frac)
                for record in records
            ],
            dtype=np.uint8,
        )

        # Keys are unique in almost every file, so insert first and sort out repeats only if the
        # catalog ignored some rows.
        inserted = self.catalog.add_playlists(self.playlist_count, parsed.path, records, splits.tolist(), lengths)
        if inserted != len(records):
            self.catalog.remove_playlists_from(self.playlist_count)
            keep = self._unique_playlists(parsed)
            records = [record for record, kept in zip(records, keep) if kept]
            rows = rows[np.repeat(keep, lengths)]
            lengths, splits = lengths[keep], splits[keep]
            self.catalog.add_playlists(self.playlist_count, parsed.path, records, splits.tolist(), lengths)

        train_rows = np.repeat(splits == TRAIN, lengths)
        local_counts = np.bincount(rows, minlength=len(parsed.uris))
        local_train_counts = np.bincount(rows[train_rows], minlength=len(parsed.uris))

        provisional = self._number_tracks(parsed, local_counts > 0)
        used = local_counts > 0
        self.counts[provisional[used]] += local_counts[used]
        self.train_counts[provisional[used]] += local_train_counts[used]

        self.scratch.write(provisional[rows].astype(np.int32).tobytes())
        self.playlist_count += len(records)
        self.lengths.append(lengths)
        self.splits.append(splits)
        self.sources.append(
            {
                "path": parsed.path,
                "kind": parsed.kind,
                "size": parsed.size,
                "sha256": parsed.sha256,
                "playlists": len(records),
                "track_rows": int(lengths.sum()),
            }
        )

    def _unique_playlists(self, parsed: ParsedFile) -> np.ndarray:
        """Return a mask of playlists whose key is new; a repeated key is an input error."""
        keys = [record.key for record in parsed.playlists]
        earlier = self.catalog.find_keys(keys)
        seen_here: set[str] = set()
        keep = np.ones(len(keys), dtype=bool)
        for number, key in enumerate(keys):
            if key in earlier or key in seen_here:
                where = f"also in {earlier[key]}" if key in earlier else "twice in this file"
                error = InputError(
                    parsed.path,
                    f"duplicate playlist key {key!r} ({where}); a playlist id may occur in one file only, "
                    "so prepare sources with overlapping ids separately, or pass --on-error skip to keep the first",
                )
                if self.options.on_error != "skip":
                    raise error
                keep[number] = False
                self.dropped["duplicate_playlist"] += 1
                self._log_skip(str(error))
            seen_here.add(key)
        return keep

    def _number_tracks(self, parsed: ParsedFile, used: np.ndarray) -> np.ndarray:
        """Return provisional ids for the file's local tracks (-1 where unused), numbering new ones."""
        provisional = np.full(len(parsed.uris), -1, dtype=np.int64)
        ids = self.provisional_ids
        metadata = self.track_values
        uris = parsed.uris
        values = parsed.track_values
        for local_id in np.flatnonzero(used).tolist():
            uri = uris[local_id]
            track_id = ids.get(uri)
            if track_id is None:
                track_id = len(metadata)
                ids[uri] = track_id
                metadata.append(values[local_id])
            else:
                # A later file may know a field that the first one lacked, such as the album.
                stored = metadata[track_id]
                if None in stored and values[local_id] != stored:
                    metadata[track_id] = tuple(
                        old if old is not None else new for old, new in zip(stored, values[local_id])
                    )
            provisional[local_id] = track_id
        self._grow(len(ids))
        return provisional

    def _grow(self, size: int) -> None:
        if size <= len(self.counts):
            return
        capacity = max(size, 2 * len(self.counts))
        for name in ("train_counts", "counts"):
            old = getattr(self, name)
            grown = np.zeros(capacity, dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)

    def finish(self, folder: Path) -> dict:
        """Build the vocabulary, renumber the scratch rows into the final arrays; return its summary."""
        self.scratch.close()
        total = len(self.provisional_ids)
        uris = list(self.provisional_ids)
        train_counts = self.train_counts[:total]
        counts = self.counts[:total]

        # Most frequent first; ties by URI so that the numbering never depends on file order.
        uri_rank = np.empty(total, dtype=np.int64)
        uri_rank[sorted(range(total), key=uris.__getitem__)] = np.arange(total)
        candidates = np.flatnonzero(train_counts >= self.options.min_count)
        candidates = candidates[np.lexsort((uri_rank[candidates], -train_counts[candidates]))]
        if self.options.max_vocab is not None:
            candidates = candidates[: self.options.max_vocab]
        in_vocabulary = np.zeros(total, dtype=bool)
        in_vocabulary[candidates] = True
        rest = np.flatnonzero(~in_vocabulary)
        rest = rest[np.lexsort((uri_rank[rest], -counts[rest]))]
        del uri_rank

        vocabulary = len(candidates)
        index_of = np.empty(total, dtype=np.int64)
        index_of[candidates] = np.arange(2, 2 + vocabulary)
        index_of[rest] = np.arange(2 + vocabulary, 2 + total)
        self.catalog.write_tracks(uris, self.track_values, index_of, train_counts, counts)
        keys = self.catalog.playlist_keys()
        self.catalog.close()
        np.save(folder / "keys.npy", np.array(keys, dtype=str))

        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        write_arrays(folder, self.scratch_path, index_of, vocabulary, lengths, self.splits)
        self.scratch_path.unlink()
        return {"vocabulary": vocabulary, "distinct_tracks": total}


def write_arrays(
    folder: Path, scratch_path: Path, index_of: np.ndarray, vocabulary: int, lengths: np.ndarray, splits: list
) -> None:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "splits.npy", np.concatenate(splits) if splits else np.zeros(0, dtype=np.uint8))

    # Plain reads and writes in chunks, not memory maps, keep memory flat however many rows there are.
    rows = int(offsets[-1])
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.int32)), "fortran_order": False, "shape": (rows,)}
    index_of = index_of.astype(np.int32)
    with (
        open(scratch_path, "rb") as scratch,
        open(folder / "tracks_full.npy", "wb") as full,
        open(folder / "tracks.npy", "wb") as pruned,
    ):
        np.lib.format.write_array_header_1_0(full, header)
        np.lib.format.write_array_header_1_0(pruned, header)
        while chunk := scratch.read(4 * _REMAP_CHUNK):
            indices = index_of[np.frombuffer(chunk, dtype=np.int32)]
            full.write(indices.tobytes())
            pruned.write(np.where(indices < 2 + vocabulary, indices, OOV).astype(np.int32).tobytes())
