"""Argument parsing shared by the stage entry points (DVC and Snakemake call them the same way)."""

from __future__ import annotations

import argparse


def stage_arguments(description: str | None, *names: str) -> argparse.Namespace:
    """Parse the required options ``--<name>`` (unit ids, input and output paths), e.g.
    ``stage_arguments(__doc__, "video", "crop", "out")`` for ``--video obama --crop
    data/crop/obama --out data/landmarks/obama``; underscores are dashes on the command line."""
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, required=True,
                            metavar=name.upper())
    return parser.parse_args()
