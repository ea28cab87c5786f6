"""Writing a dataset as RecBole atomic files, to be evaluated leave-one-out like Segue's ``last`` holdout.

`segue export DATASET --format recbole --out DIR` writes::

    DIR/<name>/<name>.inter   one row per track of each exported playlist, in playlist order
    DIR/<name>/<name>.item    title and artist of every track in the .inter file
    DIR/<name>.yaml           a RecBole config: field names, leave-one-out split, metrics, data_path
    DIR/export.json           the source dataset and counts, which marks DIR as an export folder

docs/recbole.md explains the choices: which playlists are exported, why tracks outside the
vocabulary keep their catalog index, and how RecBole's figures compare with Segue's.
"""

from __future__ import annotations

import csv
import logging
import re
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv

from segue import __version__
from segue.data.dataset import OOV, Dataset
from segue.data.folders import building, check_output
from segue.data.split import CHALLENGE
from segue.errors import UserError

logger = logging.getLogger(__name__)

FORMATS = ("recbole",)
EXPORT_INFO = "export.json"

# A playlist needs a training track, a validation target and a test target. RecBole would train
# on the last track of a 2-track session, which Segue's last holdout tests on, so such playlists
# are left out.
MIN_LENGTH = 3

INTER_HEADER = "session_id:token\titem_id:token\ttimestamp:float\n"
ITEM_HEADER = ["item_id:token", "title:token_seq", "artist:token_seq"]

# RecBole uses the name for file names, so it stays a plain file name.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Track rows per block of the .inter file. A block's arrays and text take about 60 MB (an
# estimate: five 8-byte arrays and some 20 bytes of text per row).
_BLOCK_ROWS = 1_000_000


@dataclass
class ExportSummary:
    """Counts of one export, and its folder."""

    out: Path
    name: str
    playlists: int
    interactions: int
    oov_interactions: int  # rows whose track is outside the dataset's vocabulary
    items: int


def export_recbole(
    dataset_path: str | Path, out: str | Path, name: str | None = None, max_len: int = 100, force: bool = False
) -> ExportSummary:
    """Write a dataset folder as RecBole atomic files and config under ``out``.

    The folder is built under a hidden name beside ``out`` and renamed into place when complete.
    An existing ``out`` is replaced only with ``force``, and only if an earlier export wrote it.
    """
    dataset = Dataset.load(dataset_path)
    name = name if name is not None else dataset.path.resolve().name
    if not _NAME.fullmatch(name):
        raise UserError(
            f"invalid export name {name!r}: use letters, digits, '.', '_' and '-', starting with a "
            "letter or digit; pass --name"
        )
    if name == "ml-100k":
        # RecBole 1.0 loads its bundled example data for this dataset name and ignores data_path.
        raise UserError("invalid export name 'ml-100k': RecBole reserves it for its example data; pass --name")
    if max_len < 1:
        raise UserError(f"--max-len must be at least 1, got {max_len}")
    out = Path(out)
    check_output(out, [("dataset", dataset.path)], EXPORT_INFO, "`segue export` folder", force)

    rows = np.flatnonzero((dataset.splits != CHALLENGE) & (dataset.lengths >= MIN_LENGTH))
    if len(rows) == 0:
        raise UserError(
            f"{dataset.path}: no playlist outside the challenge split has at least {MIN_LENGTH} tracks; "
            "nothing to export"
        )

    with building(out) as scratch:
        summary = _write(dataset, rows, scratch, name, max_len, out)

    logger.debug(
        "wrote %d playlists, %d interactions (%d outside the vocabulary) and %d items to %s",
        summary.playlists, summary.interactions, summary.oov_interactions, summary.items, out,
    )
    return summary


def _write(dataset: Dataset, rows: np.ndarray, folder: Path, name: str, max_len: int, out: Path) -> ExportSummary:
    """Write the export into ``folder``, which becomes ``out`` once complete."""
    (folder / name).mkdir()
    interactions, oov, items = _write_inter(dataset, rows, folder / name / f"{name}.inter")
    _write_item(dataset, items, folder / name / f"{name}.item")
    (folder / f"{name}.yaml").write_text(recbole_config(name, max_len, out.resolve()), encoding="utf-8")

    summary = ExportSummary(out, name, len(rows), interactions, oov, int(items.sum()))
    info = {
        "format": "recbole",
        "dataset": str(dataset.path.resolve()),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "segue_version": __version__,
        "max_len": max_len,
        **{key: value for key, value in asdict(summary).items() if key != "out"},
    }
    (folder / EXPORT_INFO).write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    return summary


def _write_inter(dataset: Dataset, rows: np.ndarray, path: Path) -> tuple[int, int, np.ndarray]:
    """Write the .inter file and return its row count, its OOV row count and a mask of the tracks used.

    The session id is the playlist's row in the dataset and the item id its track's catalog index,
    which is the model index for vocabulary tracks. The timestamp is the position in the playlist.
    """
    with closing(dataset.catalog()) as catalog:
        largest_index = catalog.execute("SELECT MAX(idx) FROM tracks").fetchone()[0] or 0
    used = np.zeros(largest_index + 1, dtype=bool)
    schema = pa.schema([("session", pa.int64()), ("item", pa.int32()), ("position", pa.int64())])
    options = pa_csv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    interactions = oov = 0

    with open(path, "wb") as handle:
        handle.write(INTER_HEADER.encode())
        with pa_csv.CSVWriter(handle, schema, write_options=options) as writer:
            for block in _blocks(rows, dataset.lengths[rows], _BLOCK_ROWS):
                lengths = dataset.lengths[block]
                position = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
                track_rows = np.repeat(dataset.offsets[block], lengths) + position
                items = np.asarray(dataset.tracks_full[track_rows])
                columns = [pa.array(np.repeat(block, lengths)), pa.array(items), pa.array(position)]
                writer.write_batch(pa.record_batch(columns, schema=schema))

                used[items] = True
                interactions += len(items)
                oov += int(np.count_nonzero(np.asarray(dataset.tracks[track_rows]) == OOV))
    return interactions, oov, used


def _blocks(rows: np.ndarray, lengths: np.ndarray, size: int):
    """Yield consecutive runs of ``rows`` of about ``size`` tracks each. A longer playlist is a run of its own."""
    totals = np.cumsum(lengths)
    begin = 0
    while begin < len(rows):
        done = int(totals[begin - 1]) if begin else 0
        end = max(begin + 1, int(np.searchsorted(totals, done + size, side="right")))
        yield rows[begin:end]
        begin = end


def _write_item(dataset: Dataset, used: np.ndarray, path: Path) -> None:
    """Write the .item file for the tracks in ``used`` alone.

    RecBole adds every item of the .item file to its item vocabulary once the file is loaded, so
    tracks that no exported playlist contains would join the ranking.
    """
    with closing(dataset.catalog()) as catalog, open(path, "w", newline="", encoding="utf-8") as handle:
        # QUOTE_MINIMAL quotes a field holding '"' the way pandas, which RecBole reads with, expects.
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(ITEM_HEADER)
        for row in catalog.execute("SELECT idx, name, artist FROM tracks ORDER BY idx"):
            if used[row["idx"]]:
                writer.writerow([row["idx"], _token_text(row["name"]), _token_text(row["artist"])])


def _token_text(value: str | None) -> str:
    """Turn metadata into one line of space-separated words, as a RecBole token_seq field expects."""
    if value is None:
        return ""
    return " ".join(_CONTROL.sub(" ", value).split())


def recbole_config(name: str, max_len: int, data_path: Path) -> str:
    """Return the RecBole YAML config of an export.

    Every value is written as JSON, which YAML 1.2 parsers and PyYAML read as the same value.
    """
    settings = {
        "data_path": str(data_path),
        "USER_ID_FIELD": "session_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "field_separator": "\t",
        "seq_separator": " ",
        "load_col": {"inter": ["session_id", "item_id", "timestamp"]},
        "MAX_ITEM_LIST_LENGTH": max_len,
        "eval_args": {"split": {"LS": "valid_and_test"}, "group_by": "user", "order": "TO", "mode": "full"},
        "metrics": ["Hit", "MRR", "NDCG"],
        "topk": [10],
        "valid_metric": "MRR@10",
        "train_neg_sample_args": None,
    }
    lines = [
        f"# RecBole config of the {name} dataset, written by `segue export` (Segue {__version__}).",
        "# Leave-one-out per playlist: the last track is the test target and the second-last the",
        "# validation target, as under Segue's last holdout. train_neg_sample_args is null for",
        "# models trained with loss_type CE (SASRec's default); set it for loss_type BPR.",
    ]
    lines += [f"{key}: {orjson.dumps(value).decode()}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"
