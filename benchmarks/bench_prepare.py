"""Benchmark `segue prepare` against naive json.load readers on MPD slice files.

What it measures, each contender in its own fresh Python process:

- throughput (playlists, track rows and MB of JSON per second) and peak memory of
  ``segue.data.prepare`` with 1 and with 2 worker processes. Two naive readers run next to it.
  The study's loader does what the original MANN study's loader did: ``json.load``, index-based
  Python loops, and the vocabulary pickled and the sequences saved after every file. It is the
  baseline of the throughput target. The lean reader only calls ``json.load`` and numbers track
  URIs with one dict, writing nothing, as the fastest plain-Python reader would;
- the throughput ratio of ``prepare`` to each naive reader;
- an estimate of the time ``prepare`` needs for the full Million Playlist Dataset, scaled once by
  track rows and once by bytes of JSON;
- peak memory of ``prepare`` on the first 25 %, 50 % and 100 % of the files, next to the number
  of distinct tracks, to show whether memory follows the vocabulary or the input size.

Peak memory is ``ru_maxrss`` from ``resource.getrusage``. RUSAGE_SELF covers the measuring
process itself. RUSAGE_CHILDREN reports only the largest finished worker, so the total for
``--workers N`` is given as an upper bound: main + N x largest worker.

Run it from the repository root:

    .venv/bin/python benchmarks/bench_prepare.py            # median of 5 runs per contender
    .venv/bin/python benchmarks/bench_prepare.py --quick    # 1 run per contender

It prints Markdown tables to stdout and progress to stderr. Datasets are written to a temporary
folder that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY / ".." / "shared" / "data" / "mpd-sample"

# Size of the full Million Playlist Dataset: 1,000 slice files of 1,000 playlists each.
FULL_MPD_PLAYLISTS = 1_000_000
FULL_MPD_ROWS = 66_346_428
FULL_MPD_BYTES = 33_000_000_000  # about 33 GB of JSON, a rounded figure rather than an exact count

TARGET_RATIO = 3.0  # prepare must reach at least this multiple of the study's loader's throughput
TARGET_FULL_MINUTES = 15.0

RESULT_PREFIX = "RESULT "  # marks the JSON line that a measuring process prints on stdout
SLICE_FILE = re.compile(r"^mpd\.slice\..+\.json$")


# Measuring process: one contender, one run, one JSON line on stdout.


def natural_key(path: Path) -> list:
    """Sort key that puts ``mpd.slice.1000-1999.json`` after ``mpd.slice.999-...``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def slice_files(data: Path) -> list[Path]:
    """Return the folder's MPD slice files in the order `segue prepare` reads them."""
    files = sorted((p for p in data.iterdir() if p.is_file() and SLICE_FILE.match(p.name)), key=natural_key)
    if not files:
        raise SystemExit(f"{data}: no mpd.slice.*.json files found. Pass a folder of MPD slice files with --data.")
    return files


def first_files(data: Path, fraction: float) -> list[Path]:
    """Return the first ``fraction`` of the slice files, at least one."""
    files = slice_files(data)
    count = max(1, round(len(files) * fraction))
    return files[:count]


def write_full_format(data: Path, copies: int, out: Path) -> Path:
    """Rewrite the sample as full-size MPD slices: 1,000 playlists a file, every track field.

    The published sample lacks ``pos``, album, artist URI and duration, and has about 8
    playlists a file, so its files are smaller per row and more numerous than the real ones.
    This fills the missing fields with values derived from the track URI (made up, not real
    metadata) and repeats the playlists ``copies`` times under new pids, giving files that are
    shaped like the full MPD's. The files go to ``out``, a scratch folder, never the repository.
    """
    playlists = []
    for path in slice_files(data):
        with open(path, encoding="utf-8") as file:
            playlists.extend(json.load(file)["playlists"])

    def digest(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()[:22]

    out.mkdir(parents=True, exist_ok=True)
    batch: list[dict] = []
    pid = 0
    for _ in range(copies):
        for playlist in playlists:
            tracks = [
                {
                    "pos": position,
                    "artist_name": track["artist_name"],
                    "track_uri": track["track_uri"],
                    "artist_uri": "spotify:artist:" + digest(track["artist_name"]),
                    "track_name": track["track_name"],
                    "album_uri": "spotify:album:" + digest("album " + track["track_uri"]),
                    "duration_ms": 120_000 + int(digest(track["track_uri"])[:6], 16) % 200_000,
                    "album_name": "Album of " + track["track_name"],
                }
                for position, track in enumerate(playlist["tracks"])
            ]
            fields = {name: value for name, value in playlist.items() if name not in ("pid", "tracks")}
            batch.append({**fields, "pid": pid, "num_tracks": len(tracks), "tracks": tracks})
            pid += 1
            if len(batch) == 1000:
                _write_slice(out, pid - 1000, batch)
                batch = []
    if batch:
        _write_slice(out, pid - len(batch), batch)
    return out


def _write_slice(out: Path, first: int, playlists: list[dict]) -> None:
    document = {"info": {"slice": f"{first}-{first + 999}", "version": "v1"}, "playlists": playlists}
    with open(out / f"mpd.slice.{first}-{first + 999}.json", "w", encoding="utf-8") as file:
        json.dump(document, file, indent=4, ensure_ascii=False)


def read_study(files: list[Path]) -> dict:
    """Read playlists the way the original MANN study's loader did.

    Per file, it calls ``json.load`` and runs nested loops that index into the document for every
    track, keeping the URI without its ``spotify:track:`` prefix. It then updates the vocabulary,
    pickles both vocabulary mappings to disk and saves the file's sequences as a NumPy object array.
    """
    scratch = Path(tempfile.mkdtemp(prefix="bench-study-"))
    word_to_id: dict[str, int] = {}
    playlists = rows = 0
    try:
        for number, path in enumerate(files):
            with open(path, encoding="utf-8", errors="ignore") as file:
                document = json.load(file, strict=False)
            sequences: list[list[str]] = []
            for i in range(len(document["playlists"])):
                sequences.append([])
                for j in range(len(document["playlists"][i]["tracks"])):
                    sequences[-1].append(document["playlists"][i]["tracks"][j]["track_uri"][14:])

            for sequence in sequences:
                for word in sequence:
                    if word_to_id.get(word) is None:
                        word_to_id[word] = len(word_to_id)
            id_to_word = dict(zip(word_to_id.values(), word_to_id.keys()))
            with open(scratch / "vocab2id.pkl", "wb") as file:
                pickle.dump(word_to_id, file)
            with open(scratch / "id2vocab.pkl", "wb") as file:
                pickle.dump(id_to_word, file)
            numbered = [list(map(word_to_id.get, sequence)) for sequence in sequences]
            array = np.empty(len(numbered), dtype=object)
            array[:] = numbered
            np.save(scratch / f"data{number}.npy", array, allow_pickle=True)
            playlists += len(sequences)
            rows += sum(len(sequence) for sequence in sequences)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"playlists": playlists, "rows": rows, "distinct_tracks": len(word_to_id)}


def read_lean(files: list[Path]) -> dict:
    """Read every playlist with json.load and number its tracks with one dict, writing nothing."""
    vocabulary: dict[str, int] = {}
    sequences: list[list[int]] = []
    for path in files:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
        for playlist in document["playlists"]:
            sequence = []
            for track in playlist["tracks"]:
                uri = track["track_uri"]
                index = vocabulary.get(uri)
                if index is None:
                    index = len(vocabulary)
                    vocabulary[uri] = index
                sequence.append(index)
            sequences.append(sequence)
    return {
        "playlists": len(sequences),
        "rows": sum(len(sequence) for sequence in sequences),
        "distinct_tracks": len(vocabulary),
    }


def run_prepare(data: Path, files: list[Path], workers: int, whole_folder: bool) -> dict:
    """Prepare the files into a temporary folder and return the counts of the written dataset."""
    from segue.data import PrepareOptions, prepare

    # A user usually passes the whole folder, but a subset has to be named file by file.
    sources = [str(data)] if whole_folder else [str(path) for path in files]
    scratch = Path(tempfile.mkdtemp(prefix="bench-prepare-"))
    try:
        dataset = prepare(sources, scratch / "dataset", PrepareOptions(workers=workers), force=True, progress=False)
        return {
            "playlists": dataset.num_playlists,
            "rows": int(len(dataset.tracks)),
            "distinct_tracks": int(dataset.info["distinct_tracks"]),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def measure_once(contender: str, data: Path, workers: int, fraction: float, name_files: bool) -> None:
    """Run one contender once in this process and print its figures as a JSON line."""
    files = first_files(data, fraction)
    size = sum(path.stat().st_size for path in files)
    if contender == "prepare":
        # Import before the clock starts, so that the timing leaves out import cost.
        import segue.data  # noqa: F401

    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if contender == "study":
        counts = read_study(files)
    elif contender == "lean":
        counts = read_lean(files)
    else:
        counts = run_prepare(data, files, workers, whole_folder=not name_files)
    seconds = time.perf_counter() - started

    result = {
        "contender": contender,
        "workers": workers if contender == "prepare" else 0,
        "fraction": fraction,
        "files": len(files),
        "bytes": size,
        "seconds": seconds,
        "start_rss_kib": start_rss,
        "self_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        **counts,
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# Driver: starts one fresh process per run, collects medians, prints Markdown.


def spawn(contender: str, data: Path, workers: int, fraction: float, name_files: bool) -> dict:
    """Run one measurement in a fresh interpreter and return its result with the process wall time."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--run",
        contender,
        "--data",
        str(data),
        "--workers",
        str(workers),
        "--fraction",
        str(fraction),
    ]
    if name_files:
        command.append("--name-files")
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(
            f"measurement failed with exit code {completed.returncode}: {' '.join(command)}\n{completed.stderr}"
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if len(lines) != 1:
        raise SystemExit(f"measurement printed no result: {' '.join(command)}\n{completed.stdout}\n{completed.stderr}")
    result = json.loads(lines[0][len(RESULT_PREFIX) :])
    result["process_seconds"] = wall
    return result


def measure(
    label: str, contender: str, data: Path, workers: int, fraction: float, repeats: int, name_files: bool = False
) -> dict:
    """Run a contender ``repeats`` times and return the median of each figure."""
    runs = []
    for number in range(repeats):
        result = spawn(contender, data, workers, fraction, name_files)
        print(f"  {label} run {number + 1}/{repeats}: {result['seconds']:.2f} s", file=sys.stderr, flush=True)
        runs.append(result)

    for key in ("playlists", "rows", "distinct_tracks", "files", "bytes"):
        if len({run[key] for run in runs}) != 1:
            raise SystemExit(f"{label}: runs disagree on {key}: {[run[key] for run in runs]}")

    summary = dict(runs[0])
    for key in ("seconds", "process_seconds", "start_rss_kib", "self_rss_kib", "children_rss_kib"):
        summary[key] = statistics.median(run[key] for run in runs)
    summary["seconds_min"] = min(run["seconds"] for run in runs)
    summary["seconds_max"] = max(run["seconds"] for run in runs)
    summary["label"] = label
    summary["repeats"] = repeats
    return summary


def mib(kib: float) -> float:
    return kib / 1024


def peak_total_mib(result: dict) -> float:
    """Return main + workers x largest worker peak RSS in MiB, an upper bound of the combined peak."""
    return mib(result["self_rss_kib"] + result["workers"] * result["children_rss_kib"])


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def cpu_model() -> str:
    """Return the CPU model name as lscpu prints it, or from /proc/cpuinfo when lscpu is missing."""
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in output.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_machine(data_description: str) -> None:
    import msgspec
    import numpy
    import orjson

    import segue

    print("## Machine\n")
    print(f"- CPU: {cpu_model()}, {len(os.sched_getaffinity(0))} cores usable (nproc)")
    print(
        f"- Python {platform.python_version()}, numpy {numpy.__version__}, msgspec {msgspec.__version__}, "
        f"orjson {orjson.__version__}, segue {segue.__version__}"
    )
    print(f"- Data: {data_description}\n")


def print_throughput(baselines: list[dict], prepares: list[dict]) -> None:
    first = baselines[0]
    print("## Throughput and peak memory\n")
    print(
        f"Median of {first['repeats']} run(s), each in a fresh process; {first['files']} files, "
        f"{first['playlists']:,} playlists, {first['rows']:,} track rows, {first['bytes'] / 1e6:.1f} MB of JSON. "
        "Seconds cover the work only, not interpreter start and imports; the process column includes them.\n"
    )
    print(
        "| contender | seconds (min-max) | process s | playlists/s | track rows/s | MB/s "
        "| peak RSS main MiB | peak RSS largest worker MiB | peak RSS total MiB (upper bound) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for result in [*baselines, *prepares]:
        seconds = result["seconds"]
        worker = f"{mib(result['children_rss_kib']):.0f}" if result["workers"] > 1 else "-"
        print(
            f"| {result['label']} | {seconds:.2f} ({result['seconds_min']:.2f}-{result['seconds_max']:.2f}) "
            f"| {result['process_seconds']:.2f} | {result['playlists'] / seconds:,.0f} "
            f"| {result['rows'] / seconds:,.0f} "
            f"| {result['bytes'] / 1e6 / seconds:.1f} | {mib(result['self_rss_kib']):.0f} | {worker} "
            f"| {peak_total_mib(result):.0f} |"
        )
    print()

    print("| contender | against | throughput ratio | target |")
    print("|---|---|---|---|")
    for result in prepares:
        for baseline in baselines:
            ratio = baseline["seconds"] / result["seconds"]
            verdict = f"at least {TARGET_RATIO:.0f}x: {'met' if ratio >= TARGET_RATIO else 'missed'}"
            print(
                f"| {result['label']} | {baseline['label']} | {ratio:.2f}x | {verdict if baseline is first else '-'} |"
            )
    print()


def print_extrapolation(prepares: list[dict]) -> None:
    sample = prepares[0]
    print("## Estimate for the full MPD\n")
    print(
        f"An estimate, not a measurement: the sample's throughput scaled to {FULL_MPD_PLAYLISTS:,} playlists, "
        f"{FULL_MPD_ROWS:,} track rows and about {FULL_MPD_BYTES / 1e9:.0f} GB of JSON. The sample has "
        f"{sample['bytes'] / sample['rows']:.0f} bytes per track row and the full files about "
        f"{FULL_MPD_BYTES / FULL_MPD_ROWS:.0f}; where these differ, so do the two scalings. The published sample "
        "lacks several track fields, so its rows are shorter. The conservative estimate is the slower one.\n"
    )
    print("| contender | by track rows | by bytes | conservative estimate | target |")
    print("|---|---|---|---|---|")
    for result in prepares:
        by_rows = FULL_MPD_ROWS / (result["rows"] / result["seconds"])
        by_bytes = FULL_MPD_BYTES / (result["bytes"] / result["seconds"])
        slower = max(by_rows, by_bytes)
        verdict = "met" if slower < TARGET_FULL_MINUTES * 60 else "missed"
        print(
            f"| {result['label']} | {minutes(by_rows)} | {minutes(by_bytes)} | {minutes(slower)} "
            f"| under {TARGET_FULL_MINUTES:.0f} min: {verdict} |"
        )
    print()


def print_scaling(scaling: list[tuple[dict, dict]]) -> None:
    print("## Peak memory against the number of files\n")
    print(
        "`prepare --workers 1` on the first part of the files, named one by one; the lean reader on the same "
        "files (lean reader) for comparison. Start RSS is the process after imports, before reading.\n"
    )
    print(
        "| files | playlists | track rows | distinct tracks | prepare start RSS MiB | prepare peak RSS MiB "
        "| prepare growth MiB | lean reader peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result, naive in scaling:
        growth = mib(result["self_rss_kib"] - result["start_rss_kib"])
        print(
            f"| {result['files']} ({result['fraction']:.0%}) | {result['playlists']:,} | {result['rows']:,} "
            f"| {result['distinct_tracks']:,} | {mib(result['start_rss_kib']):.0f} | {mib(result['self_rss_kib']):.0f} "
            f"| {growth:.0f} | {mib(naive['self_rss_kib']):.0f} |"
        )
    first, last = scaling[0][0], scaling[-1][0]
    tracks = last["distinct_tracks"] - first["distinct_tracks"]
    growth_kib = last["self_rss_kib"] - first["self_rss_kib"]
    if tracks > 0:
        print(
            f"\nFrom {first['files']} to {last['files']} files, prepare's peak RSS grows by {mib(growth_kib):.0f} MiB, "
            f"{growth_kib * 1024 / tracks:.0f} bytes per added distinct track. Track rows grow along with distinct "
            "tracks here, so this table alone cannot tell the two apart.\n"
        )
    else:
        rows = last["rows"] - first["rows"]
        print(
            f"\nFrom {first['files']} to {last['files']} files the distinct tracks stay the same while track rows grow "
            f"by {rows:,}; prepare's peak RSS changes by {mib(growth_kib):+.0f} MiB, "
            f"{growth_kib * 1024 / max(rows, 1):.1f} bytes per added row.\n"
        )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="folder of mpd.slice.*.json files (default: %(default)s)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs per contender; the median is reported (default: 5)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one run per contender instead of --repeats, for a quick check"
    )
    parser.add_argument("--skip-scaling", action="store_true", help="leave out the memory-against-files runs")
    parser.add_argument(
        "--full-format",
        type=int,
        metavar="COPIES",
        help="benchmark on the sample rewritten as full-size slices with every field, COPIES times over, "
        "in a scratch folder (for a closer full-MPD estimate)",
    )
    parser.add_argument(
        "--write-full-format",
        nargs=2,
        metavar=("COPIES", "FOLDER"),
        help="write the data as full-size slices with every field, COPIES times over, into FOLDER, and exit",
    )

    # Options the driver passes to the measuring processes it starts.
    parser.add_argument(
        "--run",
        choices=("study", "lean", "prepare"),
        help="internal: measure one contender once in this process and print JSON",
    )
    parser.add_argument("--workers", type=int, default=1, help="internal, with --run: prepare worker processes")
    parser.add_argument("--fraction", type=float, default=1.0, help="internal, with --run: share of the files to read")
    parser.add_argument(
        "--name-files", action="store_true", help="internal, with --run: pass prepare each file instead of the folder"
    )
    arguments = parser.parse_args()

    if arguments.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {arguments.repeats}")
    if not 0 < arguments.fraction <= 1:
        parser.error(f"--fraction must be in (0, 1], got {arguments.fraction}")
    if arguments.full_format is not None and arguments.full_format < 1:
        parser.error(f"--full-format must be at least 1, got {arguments.full_format}")
    if not arguments.data.is_dir():
        parser.error(f"--data {arguments.data}: folder not found")
    return arguments


def main() -> None:
    arguments = parse_arguments()
    data = arguments.data.resolve()
    if arguments.run:
        measure_once(arguments.run, data, arguments.workers, arguments.fraction, arguments.name_files)
        return
    if arguments.write_full_format:
        copies, out = arguments.write_full_format
        write_full_format(data, int(copies), Path(out))
        return

    repeats = 1 if arguments.quick else arguments.repeats
    scratch = None
    if arguments.full_format:
        scratch = Path(tempfile.mkdtemp(prefix="bench-full-format-"))
        print(f"writing the sample as full-size slices, {arguments.full_format} copies", file=sys.stderr)
        # A child process writes them: Linux keeps ru_maxrss across fork and exec, so the memory
        # this takes would otherwise show up as the peak of every measuring process.
        command = [sys.executable, str(Path(__file__).resolve()), "--data", str(data), "--write-full-format"]
        command += [str(arguments.full_format), str(scratch / "slices")]
        subprocess.run(command, check=True)
        data = scratch / "slices"
    try:
        run_all(arguments, data, repeats)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def run_all(arguments: argparse.Namespace, data: Path, repeats: int) -> None:
    print(f"benchmarking prepare on {data}, {repeats} run(s) per contender", file=sys.stderr)
    baselines = [
        measure("study's loader (naive)", "study", data, 0, 1.0, repeats),
        measure("lean json.load reader", "lean", data, 0, 1.0, repeats),
    ]
    prepares = [measure(f"prepare --workers {workers}", "prepare", data, workers, 1.0, repeats) for workers in (1, 2)]
    for result in [baselines[1], *prepares]:
        if result["playlists"] != baselines[0]["playlists"]:
            raise SystemExit(
                f"{result['label']} read {result['playlists']:,} playlists but the study's loader read "
                f"{baselines[0]['playlists']:,}, so {data} contains files that only one of them reads. "
                "Pass a folder that contains only mpd.slice.*.json files."
            )

    # Full-size slices repeat the playlists copy after copy, so the first 1/COPIES of the files
    # already hold every distinct track: more files then add rows at a fixed vocabulary.
    fractions = (1 / arguments.full_format, 1.0) if arguments.full_format else (0.25, 0.5, 1.0)
    scaling = []
    if not arguments.skip_scaling:
        for fraction in fractions:
            scaled = measure(f"prepare {fraction:.0%} of files", "prepare", data, 1, fraction, repeats, name_files=True)
            scaled_lean = measure(f"lean {fraction:.0%} of files", "lean", data, 0, fraction, repeats)
            scaling.append((scaled, scaled_lean))

    print("# segue prepare benchmark\n")
    if arguments.full_format:
        description = (
            f"`{arguments.data}` rewritten as {len(slice_files(data))} "
            f"full-size slices with every field, {arguments.full_format} copies of each playlist"
        )
    else:
        description = f"`{arguments.data}`"
    print_machine(description)
    print_throughput(baselines, prepares)
    print_extrapolation(prepares)
    if scaling:
        print_scaling(scaling)


if __name__ == "__main__":
    main()
