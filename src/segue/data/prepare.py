"""`segue prepare`: stream source files into a dataset folder.

Files are parsed one at a time, in worker processes with ``workers > 1``, and merged in file
order by :class:`segue.data.merge.Merger`. The folder is built under a temporary name and
renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import signal
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson
from tqdm import tqdm

from segue import __version__
from segue.data.dataset import FORMAT_VERSION, INFO_FILE, Dataset
from segue.data.folders import building, check_output
from segue.data.merge import Merger
from segue.data.sources import Source, discover_sources, read_source
from segue.data.split import TRAIN
from segue.data.stats import dataset_statistics
from segue.data.tables import TableColumns
from segue.errors import InputError, UserError

logger = logging.getLogger(__name__)


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
    ``force``. Worker processes are started with multiprocessing's "spawn" method, so a script
    that requests ``workers > 1`` must call this under ``if __name__ == "__main__":``.
    """
    options = options or PrepareOptions()
    options.validate()
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = Path(out)
    files = discover_sources([str(source) for source in sources])
    check_output(out, [("source", Path(source.path)) for source in files], INFO_FILE, "Segue dataset folder", force)
    if all(source.kind == "mpd" for source in files) and options.columns != TableColumns(
        session_gap=options.columns.session_gap
    ):
        logger.warning("the table options (--*-col, --time-unit) are ignored: every source is an MPD JSON file")

    with building(out) as scratch:
        _build(files, scratch, options, progress)
    return Dataset.load(out)


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

    # A process pool executor, unlike multiprocessing.Pool, reports workers that die or fail to
    # start (as in a script without a main guard) instead of starting new ones forever.
    executor = ProcessPoolExecutor(
        max_workers=min(options.workers, len(files)),
        mp_context=multiprocessing.get_context("spawn"),
    )
    try:
        pending: deque = deque()
        upcoming = iter(files)

        # The first submits start every worker. Ignoring Ctrl-C meanwhile lets the workers inherit
        # the ignored signal from their first instruction on, so that Ctrl-C to the process group
        # reaches only this process, which stops the workers and removes the partial output.
        with _sigint_ignored():
            for source in upcoming:
                pending.append(executor.submit(read, source))
                if len(pending) >= 2 * options.workers:
                    break

        while pending:
            try:
                result = pending.popleft().result()
            except BrokenProcessPool:
                raise UserError(
                    "a worker process failed or was killed; a script that requests workers > 1 must call "
                    'prepare() under `if __name__ == "__main__":`, or use workers=1'
                ) from None
            next_source = next(upcoming, None)
            if next_source is not None:
                pending.append(executor.submit(read, next_source))
            yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT inside the block, when called from the main thread (the only one that may)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _build(files: list[Source], folder: Path, options: PrepareOptions, progress: bool) -> None:
    merger = Merger(folder, options)
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
            bar.set_postfix_str(
                f"{merger.playlist_count:,} playlists, {len(merger.provisional_ids):,} tracks", refresh=False
            )
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
    logger.info(
        "prepared %s playlists from %s file%s", f"{merger.playlist_count:,}", f"{files_read:,}", "s"[: files_read != 1]
    )
    if summary["vocabulary"] == 0:
        if not any(int(np.count_nonzero(splits == TRAIN)) for splits in merger.splits):
            logger.warning("the vocabulary is empty because no playlist is in the training split")
        else:
            logger.warning(
                "the vocabulary is empty: no track occurs at least %d times in training playlists; lower --min-count",
                options.min_count,
            )


def _options_record(options: PrepareOptions) -> dict:
    record = asdict(options)
    record.pop("workers")  # does not change the output
    return record
