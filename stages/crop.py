"""Stage crop: one fixed square face box per video, every frame cropped to crop.size (paper 4.1)."""

import sys

from common import stage_arguments

from h2h.crop import CropParams, detect_sampled, find_crop_box, split_ranges
from h2h.detect import make_detector
from h2h.outputs import read_manifest
from h2h.progress import progress
from h2h.sheets import contact_sheet, draw_box, fit_square, sample_indices, save_png
from h2h.stage import StageRun, run_stage
from h2h.video import VideoWriter, iter_frames


def main() -> int:
    args = stage_arguments(__doc__, "video", "ingest", "out")

    def work(run: StageRun) -> None:
        params = CropParams(**run.params["crop"])
        source = read_manifest(args.ingest, "ingest")
        path, n_frames, fps = source["path"], source["frames"], source["fps"]

        detector = make_detector(params.detector, params.detect_max_side)
        frames = progress(iter_frames(path, count=n_frames), "detect", n_frames)
        sampled = detect_sampled(frames, detector, params.detect_every)
        box, track, motion = find_crop_box(sampled, n_frames, source["width"], source["height"],
                                           params, path)

        shown, previews = set(sample_indices(n_frames, 7)), []
        with VideoWriter(run.out / "frames.mkv", fps, mode="quality") as writer:
            for index, frame in enumerate(progress(iter_frames(path, count=n_frames), "crop",
                                                   n_frames)):
                crop = box.cut(frame, params.size)
                writer.write(crop)
                if index == 0:
                    previews.insert(0, fit_square(draw_box(frame, box.corners), params.size))
                if index in shown:
                    previews.append(crop)
        save_png(run.out / "preview.png", contact_sheet(previews, columns=4))

        sampled.merge(track, on="frame", how="right").to_parquet(run.out / "boxes.parquet")
        missed = int((~sampled["detected"]).sum())
        run.manifest.update(
            source=path, fps=fps, frames=n_frames, size=params.size,
            box={"x0": box.x0, "y0": box.y0, "side": box.side},
            split=split_ranges(n_frames, params.test_fraction),
            detection={"sampled": len(sampled), "missed": missed, "head_motion": motion})
        run.frames = n_frames
        run.metrics.update(sampled_frames=len(sampled), missed_detections=missed,
                           detection_rate=1 - missed / len(sampled), head_motion=motion,
                           box_side=box.side)
        run.artifacts.append("preview.png")

    return run_stage("crop", args.video, args.out, work, sections=("crop",))


if __name__ == "__main__":
    sys.exit(main())
