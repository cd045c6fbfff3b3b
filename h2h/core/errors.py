"""The one exception type for problems a user can fix (bad input, missing file, bad parameter).

Stage entry points and the CLI print such errors as one line, without a traceback, and exit
non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path

#: The error for a third-party input that is not there, saying which command gets it.
MISSING_INPUT = ("file not found (`h2h assets` gets the face model, the canonical face and the "
                 "sample clips)")


class H2HError(Exception):
    """A user-facing error: the message names the file (when there is one) and the reason."""

    def __init__(self, reason: str, path: str | Path | None = None) -> None:
        self.reason = reason
        self.path = None if path is None else Path(path)
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)
