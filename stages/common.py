"""Argument parsing shared by the stage entry points (DVC and Snakemake call them the same way)."""

from __future__ import annotations

import argparse
import logging


def stage_arguments(description: str | None, *names: str) -> argparse.Namespace:
    """Parse the required options ``--<name>`` (unit ids, input and output paths), e.g.
    ``stage_arguments(__doc__, "video", "crop", "out")`` for ``--video obama --crop
    data/crop/obama --out data/landmarks/obama``; underscores are dashes on the command line."""
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, required=True,
                            metavar=name.upper())
    return parser.parse_args()


def show_training_start() -> None:
    """Let a training stage say on stderr, in one line, whether it resumed a checkpoint or
    started from step 0 and why (the training loop's log)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("h2h %(message)s"))
    log = logging.getLogger("h2h.train")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
