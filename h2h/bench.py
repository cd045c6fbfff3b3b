"""Speed figures of the pipeline's stages on this machine (``h2h bench``).

Each figure is the median over several runs of the same library call a stage makes, without
process start-up or MLflow logging, so that later changes can be compared like for like.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from h2h.crop import CropParams, crop_video
from h2h.landmarks import LandmarksParams, track_landmarks
from h2h.video import probe, read_video


def median_seconds(action: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``action``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_preprocessing(videos: Mapping[str, str | Path], params: Mapping[str, Any],
                        frames: int, repeats: int) -> list[dict[str, Any]]:
    """Frames per second of crop and landmarks on the first ``frames`` frames of each video."""
    rows = []
    crop_params = CropParams(**params["crop"])
    landmark_params = LandmarksParams(**params["landmarks"])
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in videos.items():
            info = probe(path)
            n = min(frames, info.frame_count)
            out = Path(tmp) / f"{name}.mkv"

            def crop() -> None:
                crop_video(path, n, info.fps, info.width, info.height, crop_params, out)

            crop_s = median_seconds(crop, repeats)
            crops = read_video(out)
            landmarks_s = median_seconds(
                lambda: track_landmarks(crops, landmark_params, out), repeats)
            rows.append({"video": name, "size": f"{info.width}x{info.height}", "frames": n,
                         "crop_fps": n / crop_s, "landmarks_fps": n / landmarks_s})
    return rows
