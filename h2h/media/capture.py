"""Live video input: a camera, a video stream on standard input, or a file that is still being
written, decoded by ffmpeg into RGB frames as they arrive (for ``h2h reenact --live``).

ffmpeg does the decoding in every case, so any container and codec it reads works:

- ``/dev/videoN``: a Video4Linux2 camera (ffmpeg's ``v4l2`` input);
- ``-``: a stream on our standard input, e.g. ``ffmpeg -i talk.mp4 -f matroska - | h2h ...``
  (ffmpeg reads the inherited descriptor directly);
- any other path: a file that may still be growing (a recording in progress). A thread copies
  its bytes into ffmpeg as they appear and ends the stream once the file has not grown for
  ``idle_s`` seconds, so a finished recording ends the run. The container must be readable
  while incomplete (Matroska, MPEG-TS; not MP4, whose index is written last).

The frame size and rate are what ffmpeg reports for its output stream, read from its log before
the first frame.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from h2h.core.errors import H2HError
from h2h.media.video import ffmpeg_exe, parse_video_stream

STDIN = "-"
CAMERA_PREFIX = "/dev/video"


def _input_arguments(source: str) -> list[str]:
    if source == STDIN:
        return ["-i", "pipe:0"]
    if source.startswith(CAMERA_PREFIX):
        return ["-f", "v4l2", "-i", source]
    return ["-i", "pipe:0"]  # a followed file, fed by a thread


def _follow_file(path: Path, sink: IO[bytes], idle_s: float, stop: threading.Event) -> None:
    """Copy ``path`` into ``sink`` as it grows; close ``sink`` once it stopped growing."""
    try:
        with open(path, "rb") as source:
            last_growth = time.monotonic()
            while not stop.is_set():
                chunk = source.read(1 << 16)
                if chunk:
                    sink.write(chunk)
                    sink.flush()
                    last_growth = time.monotonic()
                elif time.monotonic() - last_growth > idle_s:
                    break
                else:
                    time.sleep(0.02)
    except (BrokenPipeError, ValueError):  # ffmpeg stopped reading, or we closed the pipe
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.close()


class LiveCapture:
    """RGB uint8 frames of a live input, one at a time, as ffmpeg delivers them.

    Use as a context manager; :attr:`width`, :attr:`height` and :attr:`fps` are known once it is
    open, and iterating yields frames until the stream ends. Closing stops ffmpeg (and the file
    follower) at once, so an interrupted run does not wait for the input to end.
    """

    def __init__(self, source: str, idle_s: float = 2.0) -> None:
        self.source = source
        self.idle_s = idle_s
        self.width = self.height = 0
        self.fps = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: deque[str] = deque(maxlen=20)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def _check_source(self) -> None:
        if self.source == STDIN:
            if sys.stdin is not None and sys.stdin.isatty():
                raise H2HError("standard input is a terminal: pipe a video stream into it "
                               "(e.g. ffmpeg -i talk.mp4 -f matroska - | h2h reenact --live - ...)")
            return
        path = Path(self.source)
        if not path.exists():
            what = "camera" if self.source.startswith(CAMERA_PREFIX) else "file"
            raise H2HError(f"{what} not found", path)

    def open(self) -> LiveCapture:
        """Start ffmpeg and wait for it to describe the stream (raises H2HError if it cannot)."""
        self._check_source()
        follow = self.source != STDIN and not self.source.startswith(CAMERA_PREFIX)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
               *_input_arguments(self.source), "-map", "0:v:0", "-fps_mode", "passthrough",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        self._process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE if follow else None, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        if follow:
            self._start(_follow_file, Path(self.source), self._process.stdin, self.idle_s,
                        self._stop)
        described = threading.Event()
        self._start(self._read_log, described)
        described.wait()
        if not self.width:
            self.close()
            last = self._log[-1] if self._log else "ffmpeg ended without a message"
            raise H2HError(f"no video stream to read ({last})", self.source)
        return self

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _read_log(self, described: threading.Event) -> None:
        """Keep ffmpeg's log drained; learn the output stream's size and rate from it."""
        assert self._process is not None and self._process.stderr is not None
        output_section = False
        for raw in self._process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._log.append(line)
            output_section = output_section or line.startswith("Output #0")
            stream = parse_video_stream(line) if output_section else None
            if stream is not None and not described.is_set():
                _, self.width, self.height, self.fps = stream
                described.set()
        described.set()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._process is None:
            raise RuntimeError("open the capture first")
        assert self._process.stdout is not None
        frame_bytes = self.width * self.height * 3
        while True:
            buffer = self._process.stdout.read(frame_bytes)
            if len(buffer) < frame_bytes:
                return
            yield np.frombuffer(buffer, np.uint8).reshape(self.height, self.width, 3)

    def stop(self) -> None:
        """End the stream early: ffmpeg stops, iteration ends after the frames already read.
        Safe to call from a signal handler."""
        self._stop.set()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def close(self) -> None:
        """Stop ffmpeg and the helper threads."""
        self._stop.set()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            for stream in (self._process.stdin, self._process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()

    def __enter__(self) -> LiveCapture:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
