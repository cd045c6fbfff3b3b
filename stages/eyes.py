"""Stage eyes: the eye sketch video (paper 3.3): white eye outlines through the 6 landmarks of each
eye and red pupil discs, on black; lossless."""

import sys

import numpy as np

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.media.video import write_video
from h2h.preprocess.eyes import eye_points, render_eyes
from h2h.preprocess.landmarks import read_landmarks

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "landmarks", "crop", "out")

    def work(run: StageRun) -> None:
        crop = read_manifest(args.crop, "crop")
        points = eye_points(read_landmarks(f"{args.landmarks}/landmarks.parquet"))
        size = crop["size"]
        write_video(run.out / "eyes.mkv", render_eyes(points, size, size), crop["fps"],
                    mode="lossless")
        blank = int(np.isnan(points).any(axis=(1, 2)).sum())
        run.manifest.update(fps=crop["fps"], frames=len(points), size=size, split=crop["split"],
                            blank_frames=blank)
        run.frames = len(points)
        run.metrics.update(blank_frames=blank)

    return run_stage("eyes", args.video, args.out, work, sections=())


if __name__ == "__main__":
    sys.exit(main())
