"""Statistics of a dataset folder, as `segue stats` prints them and dataset.json records them."""

from __future__ import annotations

import numpy as np

from segue.data.dataset import OOV, Dataset
from segue.data.split import SPLIT_NAMES

# Playlist length buckets: [1, 2), [2, 5), ... [250, inf); 0 counts playlists left empty.
LENGTH_EDGES = (0, 1, 2, 5, 10, 25, 50, 100, 250)


def dataset_statistics(dataset: Dataset, top: int = 10) -> dict:
    """Return counts, length distribution, OOV rate per split and the most frequent tracks and artists."""
    lengths = dataset.lengths
    rows_per_split, oov_per_split = _rows_and_oov_per_split(dataset)

    splits, split_rows, oov_rate = {}, {}, {}
    for code, name in enumerate(SPLIT_NAMES):
        playlists = int(np.count_nonzero(dataset.splits == code))
        if playlists == 0 and name == "challenge":
            continue
        rows = int(rows_per_split[code])
        splits[name] = playlists
        split_rows[name] = rows
        oov_rate[name] = round(float(oov_per_split[code]) / rows, 6) if rows else 0.0

    statistics = {
        "playlists": dataset.num_playlists,
        "track_rows": int(lengths.sum()),
        "distinct_tracks": int(dataset.info["distinct_tracks"]),
        "vocabulary": dataset.vocabulary_size,
        "splits": splits,
        "split_rows": split_rows,
        "oov_rate": oov_rate,
        "lengths": _length_distribution(lengths),
    }
    statistics.update(_most_frequent(dataset, top))
    statistics["dropped"] = dataset.info.get("dropped", {})
    return statistics


def _rows_and_oov_per_split(dataset: Dataset, chunk: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """Count rows and OOV rows per split code, a chunk of rows at a time to bound memory."""
    rows = np.zeros(len(SPLIT_NAMES), dtype=np.int64)
    oov = np.zeros(len(SPLIT_NAMES), dtype=np.int64)
    total = int(dataset.offsets[-1])
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        playlist_of_row = np.searchsorted(dataset.offsets, np.arange(start, stop), side="right") - 1
        split_of_row = dataset.splits[playlist_of_row]
        rows += np.bincount(split_of_row, minlength=len(SPLIT_NAMES))
        is_oov = np.asarray(dataset.tracks[start:stop]) == OOV
        oov += np.bincount(split_of_row[is_oov], minlength=len(SPLIT_NAMES))
    return rows, oov


def _length_distribution(lengths: np.ndarray) -> dict:
    if len(lengths) == 0:
        return {"min": 0, "max": 0, "mean": 0.0, "percentiles": {}, "histogram": {}}
    percentiles = {f"p{q}": round(float(np.percentile(lengths, q)), 3) for q in (5, 25, 50, 75, 95)}
    edges = list(LENGTH_EDGES) + [np.inf]
    counts, _ = np.histogram(lengths, bins=edges)
    labels = ["0"]
    for low, high in zip(edges[1:-1], edges[2:]):
        if not np.isfinite(high):
            labels.append(f"{low}+")
        elif high - low == 1:
            labels.append(str(low))
        else:
            labels.append(f"{low}-{int(high) - 1}")
    return {
        "min": int(lengths.min()),
        "max": int(lengths.max()),
        "mean": round(float(lengths.mean()), 3),
        "percentiles": percentiles,
        "histogram": dict(zip(labels, counts.tolist())),
    }


def _most_frequent(dataset: Dataset, top: int) -> dict:
    """Most frequent tracks and artists over all rows. Artists are grouped by name, because
    some sources (such as the published MPD sample) have no artist URIs."""
    with dataset.catalog() as catalog:
        tracks = [
            dict(row)
            for row in catalog.execute(
                "SELECT idx, uri, name, artist, count, train_count FROM tracks ORDER BY count DESC, idx LIMIT ?",
                (top,),
            )
        ]
        artists = [
            dict(row)
            for row in catalog.execute(
                "SELECT artist, count, tracks FROM artists ORDER BY count DESC, artist LIMIT ?",
                (top,),
            )
        ]
    return {"top_tracks": tracks, "top_artists": artists}
