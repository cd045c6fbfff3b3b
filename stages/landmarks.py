"""Stage landmarks: dlib's 68 landmarks and two pupils (paper Eq. 4) on every cropped frame."""

import sys

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.media.sheets import GREEN, RED, contact_sheet, draw_points, sample_indices, save_png
from h2h.media.video import read_video
from h2h.preprocess.landmarks import LandmarksParams, to_table, track_landmarks

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "crop", "out")

    def work(run: StageRun) -> None:
        crop = read_manifest(args.crop, "crop")
        frames = read_video(f"{args.crop}/frames.mkv")
        track = track_landmarks(frames, LandmarksParams.from_params(run.params), args.crop)
        series = track.series
        to_table(series).to_parquet(run.out / "landmarks.parquet")

        sheet = []
        for index in sample_indices(len(frames), 8):
            image = draw_points(frames[index], series.values[index, :68], GREEN)
            sheet.append(draw_points(image, series.values[index, 68:], RED, radius=2))
        save_png(run.out / "contact_sheet.png", contact_sheet(sheet, columns=4))

        counts = {"missed_frames": int((~track.found).sum()),
                  "interpolated_frames": int(series.interpolated.sum()),
                  "invalid_frames": int((~series.valid).sum())}
        run.manifest.update(fps=crop["fps"], frames=len(frames), split=crop["split"], **counts)
        run.frames = len(frames)
        run.metrics.update(counts, valid_rate=float(series.valid.mean()))
        run.artifacts.append("contact_sheet.png")

    return run_stage("landmarks", args.video, args.out, work, sections=("landmarks",))


if __name__ == "__main__":
    sys.exit(main())
