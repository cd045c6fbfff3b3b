"""The ``h2h`` command: user jobs that are not pipeline stages (summary, bench, add-videos, ...)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from h2h.config import load_params, resolve_path
from h2h.errors import H2HError
from h2h.outputs import MANIFEST

PREPROCESSING = ("ingest", "crop", "landmarks")


def summary(args: argparse.Namespace) -> None:
    """What the pipeline has produced so far for each video in params.yaml."""
    import json

    params = load_params(args.params)
    print(f"{'video':<16}{'role':<8}" + "".join(f"{stage:<12}" for stage in PREPROCESSING))
    for video, spec in params["videos"].items():
        cells = []
        for stage in PREPROCESSING:
            manifest = Path(args.data) / stage / video / MANIFEST
            cells.append(f"{json.loads(manifest.read_text())['frames']} fr" if manifest.is_file()
                         else "-")
        print(f"{video:<16}{spec['role']:<8}" + "".join(f"{cell:<12}" for cell in cells))


def bench(args: argparse.Namespace) -> None:
    """Frames per second of crop and landmarks on the videos of params.yaml."""
    from h2h.bench import bench_preprocessing

    params = load_params(args.params)
    videos = {name: resolve_path(spec["path"]) for name, spec in params["videos"].items()}
    rows = bench_preprocessing(videos, params, args.frames, args.repeats)
    print(f"median of {args.repeats} runs, first {args.frames} frames of each video")
    print(f"{'video':<16}{'size':<10}{'frames':>7}{'crop fps':>11}{'landmarks fps':>15}")
    for row in rows:
        print(f"{row['video']:<16}{row['size']:<10}{row['frames']:>7}{row['crop_fps']:>11.1f}"
              f"{row['landmarks_fps']:>15.1f}")


def add_videos(args: argparse.Namespace) -> None:
    """Register every video of a folder in params.yaml (e.g. a pretraining corpus)."""
    from h2h.registry import register_videos

    added = register_videos(args.params, args.folder, args.role, args.pattern)
    print(f"added {len(added)} videos with role {args.role} to {args.params}"
          + (f": {', '.join(added[:10])}{' ...' if len(added) > 10 else ''}" if added else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="h2h", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="parameter file")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("summary", help=summary.__doc__)
    show.add_argument("--data", default="data", help="the stage outputs' directory")
    show.set_defaults(run=summary)
    speed = commands.add_parser("bench", help=bench.__doc__)
    speed.add_argument("--frames", type=int, default=150)
    speed.add_argument("--repeats", type=int, default=3)
    speed.set_defaults(run=bench)
    register = commands.add_parser("add-videos", help=add_videos.__doc__)
    register.add_argument("folder")
    register.add_argument("--role", choices=("target", "source", "corpus"), default="corpus")
    register.add_argument("--pattern", default="*", help="file name pattern, e.g. '*.mp4'")
    register.set_defaults(run=add_videos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except H2HError as error:
        print(f"h2h {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
