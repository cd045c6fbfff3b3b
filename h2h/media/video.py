"""Video decoding and encoding through the ffmpeg binary, one frame at a time.

Frames are RGB uint8 arrays (H, W, 3). Decoding streams raw frames from an ffmpeg pipe, so a long
video is never held in memory unless the caller asks for it (:func:`read_video`). Three encodings:

- ``lossless``: FFV1 in Matroska with planar RGB, for conditioning videos (NMFC, eye sketches):
  ``read_video(write(x)) == x`` bit for bit.
- ``quality``: H.264 4:4:4 at CRF 12, for RGB face crops (visually lossless, ~10x smaller).
- ``delivery``: H.264 4:2:0 MP4 that every player opens, for videos people watch.

The binary is the system ``ffmpeg`` when present, else the static build bundled with imageio-ffmpeg.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from types import TracebackType

import numpy as np

from h2h.core.errors import H2HError

ENCODINGS: dict[str, list[str]] = {
    "lossless": ["-c:v", "ffv1", "-level", "3", "-pix_fmt", "gbrp", "-g", "1"],
    "quality": ["-c:v", "libx264", "-preset", "medium", "-crf", "12", "-pix_fmt", "yuv444p"],
    "delivery": [
        "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart",
    ],
}


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a video: decoded frame size, exact frame count and rate."""

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    codec: str


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: the system one if installed, else imageio-ffmpeg's."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise H2HError("file not found", path)
    if not path.is_file():
        raise H2HError("not a regular file", path)
    if path.stat().st_size == 0:
        raise H2HError("file is empty (0 bytes)", path)


_STREAM = re.compile(r"Stream #\d+:\d+.*?: Video: (?P<codec>\w+)(?P<rest>.*)")
_SIZE = re.compile(r", (?P<w>\d{2,5})x(?P<h>\d{2,5})[ ,]")
_FPS = re.compile(r", (?P<fps>[\d.]+)(?P<k>k?) (?:fps|tbr)")
_ROTATION = re.compile(r"rotation of (?P<deg>-?[\d.]+) degrees")


def _ffmpeg_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg failed without a message"


def parse_video_stream(description: str) -> tuple[str, int, int, float] | None:
    """Codec, width, height and frame rate from the first "Stream #i:j: Video: ..." line of an
    ffmpeg log; None when there is no such line or it lacks a size or a rate."""
    stream = _STREAM.search(description)
    if stream is None:
        return None
    size = _SIZE.search(stream.group("rest"))
    fps = _FPS.search(stream.group("rest"))
    if size is None or fps is None:
        return None
    rate = float(fps.group("fps")) * (1000 if fps.group("k") else 1)
    return stream.group("codec"), int(size.group("w")), int(size.group("h")), rate


def _parse_header(path: Path) -> tuple[str, int, int, float]:
    """Codec, width, height and frame rate from ffmpeg's description of the first video stream."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, errors="replace",
    )
    header = result.stderr
    stream = _STREAM.search(header)
    if stream is None:
        if "Invalid data found" in header or "moov atom not found" in header:
            raise H2HError("not a readable video (corrupt or truncated container)", path)
        raise H2HError(f"no video stream ({_ffmpeg_error_line(header)})", path)
    parsed = parse_video_stream(stream.group(0))
    if parsed is None:
        raise H2HError("video stream has no frame size or frame rate", path)
    codec, width, height, rate = parsed
    rotation = _ROTATION.search(header[stream.end():])
    if rotation and round(abs(float(rotation.group("deg")))) % 180 == 90:
        width, height = height, width  # ffmpeg auto-rotates on decode
    return codec, width, height, rate


def count_frames(path: str | Path) -> int:
    """Decode every frame of the first video stream and return how many there are.

    A full decode (not a packet count) so that a corrupt or truncated file is caught here: any
    decoding error ffmpeg reports raises :class:`H2HError`.
    """
    path = Path(path)
    _check_readable(path)
    result = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
         "-fps_mode", "passthrough", "-f", "null", "-progress", "pipe:1", "-nostats", "-"],
        capture_output=True, text=True, errors="replace",
    )
    if result.returncode != 0 or result.stderr.strip():
        raise H2HError(f"video does not decode cleanly ({_ffmpeg_error_line(result.stderr)})", path)
    frames = re.findall(r"^frame=(\d+)", result.stdout, flags=re.M)
    return int(frames[-1]) if frames else 0


def probe(path: str | Path) -> VideoInfo:
    """Describe a video, decoding it fully to get the exact frame count and to verify it."""
    path = Path(path)
    _check_readable(path)
    codec, width, height, fps = _parse_header(path)
    return VideoInfo(path, width, height, fps, count_frames(path), codec)


def probe_header(path: str | Path) -> tuple[int, int, float]:
    """Width, height and frame rate of a video from its header alone, without decoding it
    (:func:`probe` also decodes every frame, for the exact count and to verify the file)."""
    path = Path(path)
    _check_readable(path)
    _, width, height, fps = _parse_header(path)
    return width, height, fps


def iter_frames(
    path: str | Path,
    start: int = 0,
    count: int | None = None,
    size: tuple[int, int] | None = None,
) -> Iterator[np.ndarray]:
    """Yield RGB frames ``start .. start+count-1`` one at a time, optionally resized to (W, H).

    Frame indices are exact (every decoded frame counts, timestamps are ignored), so indices agree
    with :func:`count_frames` and with the per-frame tables of the pipeline.
    """
    path = Path(path)
    _check_readable(path)
    _, width, height, _ = _parse_header(path)
    filters = []
    if start > 0:
        filters.append(f"trim=start_frame={start},setpts=PTS-STARTPTS")
    if size is not None and tuple(size) != (width, height):
        width, height = size
        filters.append(f"scale={width}:{height}:flags=area")
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
           "-fps_mode", "passthrough"]
    if filters:
        cmd += ["-vf", ",".join(filters)]
    if count is not None:
        cmd += ["-frames:v", str(count)]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    frame_bytes = width * height * 3
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    try:
        while True:
            buffer = process.stdout.read(frame_bytes)
            if len(buffer) < frame_bytes:
                break
            yield np.frombuffer(buffer, np.uint8).reshape(height, width, 3)
        stderr = process.stderr.read().decode(errors="replace")
        if process.wait() != 0 or stderr.strip():
            raise H2HError(f"video does not decode cleanly ({_ffmpeg_error_line(stderr)})", path)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def read_video(
    path: str | Path,
    start: int = 0,
    count: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """All requested frames as one (N, H, W, 3) uint8 array (see :func:`iter_frames`)."""
    frames = list(iter_frames(path, start, count, size))
    if not frames:
        raise H2HError(f"no frames decoded (start={start}, count={count})", path)
    return np.stack(frames)


class VideoWriter:
    """Encode RGB frames to a file; the file appears under its name only once closed successfully.

    Encoding is bit-exact (no random container ids or version strings), so the same frames give
    the same file: DVC and Snakemake runs of a stage produce identical outputs.

    Use as a context manager. Frames are written to a temporary name beside ``path`` and renamed
    on a clean exit, so an interrupted encode never leaves a truncated file behind.
    ``metadata`` becomes container tags (e.g. ``comment``, ``title``).
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        mode: str = "lossless",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if mode not in ENCODINGS:
            raise ValueError(f"unknown video mode {mode!r}; choose from {sorted(ENCODINGS)}")
        self.path = Path(path)
        self.fps = fps
        self.mode = mode
        self.metadata = dict(metadata or {})
        self.frames_written = 0
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._process: subprocess.Popen[bytes] | None = None
        self._shape: tuple[int, ...] | None = None

    def _start(self, height: int, width: int) -> None:
        if self.mode != "lossless" and (height % 2 or width % 2):
            raise ValueError(f"{self.mode} encoding needs even frame sizes, got {width}x{height}")
        rate = Fraction(self.fps).limit_denominator(1001)
        cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(rate), "-i", "-",
               *ENCODINGS[self.mode], "-fflags", "+bitexact", "-flags:v", "+bitexact"]
        for key, value in self.metadata.items():
            cmd += ["-metadata", f"{key}={value}"]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cmd.append(str(self._tmp))
        # Its own process group: a Ctrl-C in the terminal stops the program feeding the encoder
        # (which then closes the file properly), not the encoder half-way through a frame.
        self._process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                                         process_group=0)

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame; every frame must have the first frame's shape."""
        frame = np.ascontiguousarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        if self._process is None:
            self._shape = frame.shape
            self._start(frame.shape[0], frame.shape[1])
        elif frame.shape != self._shape:
            raise ValueError(f"frame shape {frame.shape} differs from the first {self._shape}")
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(frame.tobytes())
        self.frames_written += 1

    def close(self) -> None:
        """Finish encoding and move the file into place."""
        if self._process is None:
            raise H2HError("no frames were written", self.path)
        assert self._process.stdin is not None and self._process.stderr is not None
        self._process.stdin.close()
        stderr = self._process.stderr.read().decode(errors="replace")
        self._process.stderr.close()
        if self._process.wait() != 0:
            self._tmp.unlink(missing_ok=True)
            raise H2HError(f"encoding failed ({_ffmpeg_error_line(stderr)})", self.path)
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Stop encoding and remove the partial file."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):  # unflushed frames of a killed encoder
                        stream.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(
    path: str | Path,
    frames: np.ndarray | list[np.ndarray],
    fps: float,
    mode: str = "lossless",
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Encode a whole sequence of frames (see :class:`VideoWriter`)."""
    with VideoWriter(path, fps, mode, metadata) as writer:
        for frame in frames:
            writer.write(frame)


def read_metadata(path: str | Path) -> dict[str, str]:
    """Container-level tags of a video (lower-case keys), e.g. the ``comment`` a writer set."""
    path = Path(path)
    _check_readable(path)
    result = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
        capture_output=True, text=True, errors="replace",
    )
    tags = {}
    for line in result.stdout.splitlines():
        if "=" in line and not line.startswith(";"):
            key, _, value = line.partition("=")
            tags[key.strip().lower()] = value.strip()
    return tags
