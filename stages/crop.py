"""Stage crop: one fixed square face box per video, every frame cropped to crop.size (paper 4.1)."""

import sys

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.media.sheets import contact_sheet, save_png
from h2h.preprocess.crop import CropParams, crop_video, split_ranges

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "ingest", "out")

    def work(run: StageRun) -> None:
        params = CropParams.from_params(run.params)
        source = read_manifest(args.ingest, "ingest")
        n_frames, fps = source["frames"], source["fps"]
        result = crop_video(source["path"], n_frames, fps, source["width"], source["height"],
                            params, run.out / "frames.mkv")
        result.sampled.merge(result.track, on="frame", how="right").to_parquet(
            run.out / "boxes.parquet")
        save_png(run.out / "preview.png", contact_sheet(result.previews, columns=4))
        box = result.box
        run.manifest.update(
            source=source["path"], fps=fps, frames=n_frames, size=params.size,
            box={"x0": box.x0, "y0": box.y0, "side": box.side},
            split=split_ranges(n_frames, params.test_fraction),
            detection={"sampled": len(result.sampled), "missed": result.missed,
                       "head_motion": result.motion})
        run.frames = n_frames
        run.metrics.update(sampled_frames=len(result.sampled), missed_detections=result.missed,
                           detection_rate=1 - result.missed / len(result.sampled),
                           head_motion=result.motion, box_side=box.side)
        run.artifacts.append("preview.png")

    return run_stage("crop", args.video, args.out, work, sections=("crop",))


if __name__ == "__main__":
    sys.exit(main())
