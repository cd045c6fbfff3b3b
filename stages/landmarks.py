"""Stage landmarks: dlib's 68 landmarks and two pupils (paper Eq. 4) on every cropped frame."""

import sys

import numpy as np
from common import stage_arguments

from h2h.errors import H2HError
from h2h.landmarks import LandmarkDetector, detect_landmarks, fill_landmark_gaps, to_table
from h2h.outputs import read_manifest
from h2h.progress import progress
from h2h.sheets import GREEN, RED, contact_sheet, draw_points, sample_indices, save_png
from h2h.stage import StageRun, run_stage
from h2h.video import read_video


def main() -> int:
    args = stage_arguments(__doc__, "video", "crop", "out")

    def work(run: StageRun) -> None:
        params = run.params["landmarks"]
        crop = read_manifest(args.crop, "crop")
        frames = read_video(f"{args.crop}/frames.mkv")
        found = detect_landmarks(progress(frames, "landmarks", len(frames)),
                                 LandmarkDetector(params["upsample"]))
        series = fill_landmark_gaps(found, params["max_gap"])
        valid_rate = float(series.valid.mean())
        if valid_rate < params["min_valid"]:
            raise H2HError(f"landmarks found on only {valid_rate:.0%} of the frames (minimum "
                           f"{params['min_valid']:.0%}): is the face lost for long stretches?",
                           args.crop)
        to_table(series).to_parquet(run.out / "landmarks.parquet")

        sheet = []
        for index in sample_indices(len(frames), 8):
            points = series.values[index]
            image = draw_points(frames[index], points[:68], GREEN)
            sheet.append(draw_points(image, points[68:], RED, radius=2))
        save_png(run.out / "contact_sheet.png", contact_sheet(sheet, columns=4))

        missed = int((~found.valid).sum())
        run.manifest.update(fps=crop["fps"], frames=len(frames), split=crop["split"],
                            missed=missed, interpolated=int(series.interpolated.sum()),
                            invalid=int((~series.valid).sum()))
        run.frames = len(frames)
        run.metrics.update(missed_frames=missed, interpolated_frames=int(series.interpolated.sum()),
                           invalid_frames=int((~series.valid).sum()), valid_rate=valid_rate,
                           detection_rate=float(np.mean(found.valid)))
        run.artifacts.append("contact_sheet.png")

    return run_stage("landmarks", args.video, args.out, work, sections=("landmarks",))


if __name__ == "__main__":
    sys.exit(main())
