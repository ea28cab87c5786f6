"""`segue prepare`: stream source files into a dataset folder.

Files are parsed one at a time (in worker processes with ``workers > 1``) and merged in file
order. Each track gets a provisional id on first sight. Sequences of provisional ids go to a
scratch file on disk and playlist metadata straight to SQLite, so memory grows only with the
distinct tracks (URI, metadata and counts), not with the number of files or rows. When all files are read, the vocabulary is built
from the training split and the scratch file is renumbered into the final arrays.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import shutil
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson
from tqdm import tqdm

from segue import __version__
from segue.data.catalog import CATALOG_FILE, CatalogWriter
from segue.data.dataset import FORMAT_VERSION, INFO_FILE, OOV, Dataset
from segue.data.records import ParsedFile
from segue.data.sources import Source, discover_sources, read_source
from segue.data.split import CHALLENGE, TRAIN, split_of
from segue.data.stats import dataset_statistics
from segue.data.tables import TableColumns
from segue.errors import InputError, UserError

logger = logging.getLogger(__name__)

MAX_LOGGED_SKIPS = 50
_REMAP_CHUNK = 1 << 22  # rows renumbered at a time


@dataclass
class PrepareOptions:
    """Settings of `segue prepare`; they are recorded in ``dataset.json``."""

    min_count: int = 5
    max_vocab: int | None = None
    valid_frac: float = 0.1
    test_frac: float = 0.1
    seed: int = 0
    workers: int = 1
    on_error: str = "raise"  # "raise" or "skip"
    columns: TableColumns = field(default_factory=TableColumns)

    def validate(self) -> None:
        if self.min_count < 1:
            raise UserError(f"--min-count must be at least 1, got {self.min_count}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise UserError(f"--max-vocab must be at least 1, got {self.max_vocab}")
        for name, value in (("--valid-frac", self.valid_frac), ("--test-frac", self.test_frac)):
            if not 0 <= value < 1:
                raise UserError(f"{name} must be in [0, 1), got {value}")
        if self.valid_frac + self.test_frac >= 1:
            raise UserError("--valid-frac and --test-frac must add up to less than 1 so that training keeps playlists")
        if self.workers < 1:
            raise UserError(f"--workers must be at least 1, got {self.workers}")
        if self.on_error not in ("raise", "skip"):
            raise UserError(f"--on-error must be 'raise' or 'skip', got {self.on_error!r}")
        if self.columns.session_gap <= 0:
            raise UserError(f"--session-gap must be positive, got {self.columns.session_gap} seconds")
        if self.columns.time_unit not in ("s", "ms"):
            raise UserError(f"--time-unit must be 's' or 'ms', got {self.columns.time_unit!r}")


def prepare(
    sources: list[str] | str,
    out: str | Path,
    options: PrepareOptions | None = None,
    force: bool = False,
    progress: bool = True,
) -> Dataset:
    """Build a dataset folder at ``out`` from MPD files, folders and tables; return it loaded.

    The folder is built under a hidden temporary name beside ``out`` and renamed into place only
    when complete, so a failure leaves nothing behind. An existing ``out`` is replaced only with
    ``force``.
    """
    options = options or PrepareOptions()
    options.validate()
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = Path(out)
    files = discover_sources([str(source) for source in sources])
    _check_output(out, files, force)

    created_parents = [p for p in reversed(out.absolute().parents) if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        _build(files, scratch, options, progress)
        _replace(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        for parent in reversed(created_parents):
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()
        raise
    return Dataset.load(out)


def _check_output(out: Path, files: list[Source], force: bool) -> None:
    """Reject an output path whose replacement could destroy anything but an earlier dataset."""
    target = out.resolve()
    for source in files:
        path = Path(source.path).resolve()
        if path == target or target in path.parents:
            raise UserError(f"{out}: contains the source {source.path}; choose another --out")
    working = Path.cwd().resolve()
    if target == working or target in working.parents:
        raise UserError(f"{out}: is the current folder or contains it; choose another --out")

    if out.exists():
        if not force:
            raise UserError(f"{out}: already exists; pass --force to replace it")
        if not out.is_dir() or not ((out / INFO_FILE).is_file() or not any(out.iterdir())):
            raise UserError(
                f"{out}: not a Segue dataset folder, and --force replaces only those; "
                "remove it yourself or choose another --out"
            )


def _replace(scratch: Path, out: Path) -> None:
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
        scratch.rename(out)
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()
    else:
        scratch.rename(out)


class _Merger:
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
                error = InputError(parsed.path, f"duplicate playlist key {key!r} ({where})")
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
                    metadata[track_id] = tuple(old if old is not None else new for old, new in zip(stored, values[local_id]))
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
        _write_arrays(folder, self.scratch_path, index_of, vocabulary, lengths, self.splits)
        self.scratch_path.unlink()
        return {"vocabulary": vocabulary, "distinct_tracks": total}


def _write_arrays(
    folder: Path, scratch_path: Path, index_of: np.ndarray, vocabulary: int, lengths: np.ndarray, splits: list
) -> None:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "splits.npy", np.concatenate(splits) if splits else np.zeros(0, dtype=np.uint8))

    rows = int(offsets[-1])
    full = np.lib.format.open_memmap(folder / "tracks_full.npy", mode="w+", dtype=np.int32, shape=(rows,))
    pruned = np.lib.format.open_memmap(folder / "tracks.npy", mode="w+", dtype=np.int32, shape=(rows,))
    if rows:
        provisional = np.memmap(scratch_path, dtype=np.int32, mode="r", shape=(rows,))
        index_of = index_of.astype(np.int32)
        for start in range(0, rows, _REMAP_CHUNK):
            chunk = index_of[provisional[start : start + _REMAP_CHUNK]]
            full[start : start + len(chunk)] = chunk
            pruned[start : start + len(chunk)] = np.where(chunk < 2 + vocabulary, chunk, OOV)
        del provisional
    full.flush()
    pruned.flush()
    del full, pruned


def _parsed_files(files: list[Source], options: PrepareOptions):
    """Yield each file's ParsedFile or InputError in file order, parsing ahead in workers.

    At most two files per worker are in flight, so parsed files never pile up in memory when
    merging is slower than parsing.
    """
    read = functools.partial(read_source, columns=options.columns, on_error=options.on_error)
    if options.workers == 1 or len(files) == 1:
        for source in files:
            yield read(source)
        return

    context = multiprocessing.get_context("spawn")
    with context.Pool(min(options.workers, len(files))) as pool:
        pending: deque = deque()
        upcoming = iter(files)
        for source in upcoming:
            pending.append(pool.apply_async(read, (source,)))
            if len(pending) >= 2 * options.workers:
                break
        while pending:
            result = pending.popleft().get()
            next_source = next(upcoming, None)
            if next_source is not None:
                pending.append(pool.apply_async(read, (next_source,)))
            yield result


def _build(files: list[Source], folder: Path, options: PrepareOptions, progress: bool) -> None:
    merger = _Merger(folder, options)
    # disable=None lets tqdm hide the bar when stderr is not a terminal.
    bar = tqdm(total=len(files), unit="file", desc="prepare", disable=None if progress else True)
    try:
        for result in _parsed_files(files, options):
            if isinstance(result, InputError):
                if options.on_error != "skip":
                    raise result
                merger.skip_file(result)
            else:
                merger.add(result)
            bar.update()
            bar.set_postfix_str(f"{merger.playlist_count:,} playlists, {len(merger.provisional_ids):,} tracks", refresh=False)
    finally:
        bar.close()

    if merger.playlist_count == 0:
        raise UserError("no playlists were read: every source file was empty or skipped")
    summary = merger.finish(folder)

    info = {
        "format_version": FORMAT_VERSION,
        "segue_version": __version__,
        "vocabulary": summary["vocabulary"],
        "distinct_tracks": summary["distinct_tracks"],
        "options": _options_record(options),
        "sources": merger.sources,
        "skipped_files": merger.skipped_files,
        "dropped": dict(sorted(merger.dropped.items())),
    }
    (folder / INFO_FILE).write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))

    # Statistics are computed from the written arrays, exactly as `segue stats` computes them.
    info["statistics"] = dataset_statistics(Dataset.load(folder))
    (folder / INFO_FILE).write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    files_read = len(merger.sources)
    logger.info("prepared %s playlists from %s file%s", f"{merger.playlist_count:,}", f"{files_read:,}", "s"[: files_read != 1])
    if summary["vocabulary"] == 0:
        logger.warning(
            "the vocabulary is empty: no track occurs %d times in training playlists; lower --min-count",
            options.min_count,
        )


def _options_record(options: PrepareOptions) -> dict:
    record = asdict(options)
    record.pop("workers")  # does not change the output
    return record
