"""`segue recommend`: the next songs for a playlist from a trained run, with optional feedback."""

from __future__ import annotations

import argparse
import sys

import orjson

from segue.errors import UserError
from segue.recommending import Recommender, Session
from segue.recommending.feedback import DISLIKE, FEEDBACK_ENV, LIKE
from segue.spotify.links import read_track_file, track_uri

HELP = "print the top next songs for a playlist from a trained run, after optional thumbs-up and thumbs-down"


class _Feedback(argparse.Action):
    """Collect --like and --dislike into one list of (option, value), in command-line order."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        events = getattr(namespace, "feedback_events", None) or []
        namespace.feedback_events = [*events, (option_string, value)]


def add_feedback_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feedback",
        metavar="FILE",
        help=f"SQLite feedback log (default: ${FEEDBACK_ENV}, else feedback.sqlite in the user's data folder)",
    )


def add_parser(subcommands) -> None:
    parser = subcommands.add_parser("recommend", help=HELP, description=HELP[0].upper() + HELP[1:] + ".")
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `segue train`: a neural model or a baseline")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tracks", nargs="+", metavar="URI", help="the playlist as track URIs or Spotify links, in order")
    source.add_argument("--dataset-playlist", metavar="KEY", help="a playlist of the run's dataset, by key (such as mpd:123)")
    source.add_argument(
        "--playlist-file",
        metavar="FILE",
        help="a text file of track URIs or Spotify links, one a line; blank lines and lines starting with # are skipped",
    )
    source.add_argument("--session", metavar="ID", help="continue a session from the feedback log")
    parser.add_argument("--like", action=_Feedback, metavar="URI", help="thumbs-up: append the track to the input (repeatable)")
    parser.add_argument("--dislike", action=_Feedback, metavar="URI", help="thumbs-down: never recommend the track (repeatable)")
    parser.add_argument("-k", type=int, default=10, help="how many songs to recommend (default: 10)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--dataset", metavar="DIR", help="dataset folder, if not the one the run was trained on")
    add_feedback_option(parser)
    parser.set_defaults(run=run, feedback_events=[])


def run(args: argparse.Namespace) -> int:
    if args.k < 1:
        raise UserError(f"-k must be at least 1, got {args.k}")
    # Read the input before loading the model, so that a bad track fails fast and logs nothing.
    tracks = _tracks_given(args)
    feedback = [(_parse(option, text), LIKE if option == "--like" else DISLIKE) for option, text in args.feedback_events]
    with Recommender.load(args.run_dir, dataset=args.dataset, feedback=args.feedback) as recommender:
        session, title = _start(recommender, args, tracks)
        for uri, value in feedback:
            session.apply(uri, value)
        recommendations = session.recommend(args.k)
        results = [{"rank": rank, **vars(item)} for rank, item in enumerate(recommendations, start=1)]
        for result in results:
            del result["index"]

        if args.json:
            document = {
                "session": session.id,
                "playlist": session.playlist,
                "input_tracks": len(session.input),
                "unknown": session.unknown,
                "popularity_only": session.popularity_only,
                "recommendations": results,
            }
            sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
            return 0
        _print_header(recommender, session, title)

    print(f"{'rank':>4}  {'title':<40} {'artist':<28} {'score':>9}")
    for result in results:
        print(f"{result['rank']:>4}  {_clip(result['title'], 40):<40} {_clip(result['artist'], 28):<28} {result['score']:>9.3f}")
    return 0


def _tracks_given(args: argparse.Namespace) -> list[str] | None:
    """Return the playlist of --playlist-file or --tracks as URIs, or None for the other sources."""
    if args.playlist_file is not None:
        return read_track_file(args.playlist_file)
    if args.tracks is not None:
        return [_parse("--tracks", text) for text in args.tracks]
    return None


def _parse(option: str, text: str) -> str:
    try:
        return track_uri(text)
    except ValueError as error:
        raise UserError(f"{option}: {error}") from None


def _start(recommender: Recommender, args: argparse.Namespace, tracks: list[str] | None) -> tuple[Session, str]:
    """Start or restore the session the arguments name; return it and a title for the header."""
    if args.session is not None:
        return recommender.restore(args.session), f"session {args.session}"
    if args.playlist_file is not None:
        return recommender.start(tracks, playlist=args.playlist_file), f"playlist file {args.playlist_file}"
    if args.tracks is not None:
        return recommender.start(tracks), "the --tracks playlist"

    found = recommender.lookup.playlist(args.dataset_playlist)
    if found is None:
        example = recommender.lookup.example_playlist_key()
        hint = f"; keys look like {example!r}" if example else ""
        raise UserError(f"playlist {args.dataset_playlist!r} not found in {recommender.dataset.path}{hint}")
    row, name = found
    indices = recommender.dataset.sequence(row, full=True).tolist()
    title = f"playlist {args.dataset_playlist}" + (f" {name!r}" if name else "")
    return recommender.start(indices, playlist=args.dataset_playlist), title


def _print_header(recommender: Recommender, session: Session, title: str) -> None:
    last = recommender.lookup.tracks(session.input[: session.playlist_known][-3:])
    ending = "; ".join(f"{_clip(track.title, 40)} - {_clip(track.artist, 28)}" for track in last.values())
    print(
        f"{title}: {_count(session.playlist_length, 'track')}, {session.playlist_known} in the model's vocabulary"
        + (f"; ends with {ending}" if ending else "")
    )
    if session.liked or session.disliked:
        print(f"feedback: {len(session.liked)} liked (appended to the input), {len(session.disliked)} disliked")
    if session.unknown:
        listed = ", ".join(session.unknown[:5]) + (" ..." if len(session.unknown) > 5 else "")
        print(f"skipped {_count(len(session.unknown), 'track')} the model does not know: {listed}")
    if session.popularity_only:
        print("no track is in the model's vocabulary, so these are the most popular training tracks")
    if recommender.feedback is not None:
        print(f"session {session.id} (continue it with --session {session.id})")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _clip(text: str | None, width: int) -> str:
    text = text or "?"
    return text if len(text) <= width else text[: width - 1] + "…"
