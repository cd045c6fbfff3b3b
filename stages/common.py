"""Argument parsing shared by the stage entry points (DVC and Snakemake call them the same way)."""

from __future__ import annotations

import argparse


def stage_arguments(description: str | None, *names: str) -> argparse.Namespace:
    """Parse the positional arguments ``names`` (unit id, input and output paths)."""
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument(name)
    return parser.parse_args()
