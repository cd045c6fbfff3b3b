"""Stage conditioning: NMFC and eye videos of a target driven by a source (paper 4.2), in head,
face or self reenactment mode; the generator's input for reenactment."""

import sys

import numpy as np
import pandas as pd

from h2h.core.errors import H2HError
from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.face3d.face_model import FaceModel
from h2h.media.sheets import contact_sheet, sample_indices, save_png
from h2h.media.video import write_video
from h2h.preprocess.eyes import eye_points
from h2h.preprocess.landmarks import read_landmarks
from h2h.reenact.conditioning import ConditioningParams
from h2h.reenact.target import TargetPaths, condition_target, load_target, render_conditioning

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "name", "target", "source", "mode", "target_fit", "source_fit",
                           "target_identity", "target_landmarks", "source_landmarks",
                           "face_model", "out")

    def work(run: StageRun) -> None:
        if args.mode == "self" and args.source != args.target:
            raise H2HError(f"self reenactment needs source == target, got {args.source}",
                           args.source_fit)
        target = load_target(TargetPaths(args.target_fit, args.target_identity,
                                         args.target_landmarks), args.target)
        source_fit = read_manifest(args.source_fit, "fit")
        source = pd.read_parquet(f"{args.source_fit}/fit.parquet")
        source_eyes = eye_points(read_landmarks(f"{args.source_landmarks}/landmarks.parquet"))
        result, source_frames = condition_target(
            args.mode, target, source, source_eyes, ConditioningParams.from_params(run.params).smooth_sigma)
        result.table.to_parquet(run.out / "conditioning.parquet")
        np.save(run.out / "eye_points.npy", result.eyes)  # what the eyes should show (AELD)

        size, fps = target.size, source_fit["fps"]
        model = FaceModel.load(f"{args.face_model}/model.npz")
        nmfc, eyes = zip(*render_conditioning(result, model, size, target.identity))
        write_video(run.out / "nmfc.mkv", list(nmfc), fps, mode="lossless")
        write_video(run.out / "eyes.mkv", list(eyes), fps, mode="lossless")
        save_png(run.out / "contact_sheet.png", contact_sheet(
            [np.maximum(nmfc[i], eyes[i]) for i in sample_indices(len(nmfc), 8)], columns=4))

        invalid = int((~result.table["valid"].to_numpy(bool)).sum())
        run.manifest.update(target=args.target, source=args.source, mode=args.mode, fps=fps,
                            size=size, frames=len(nmfc), source_frames=source_frames,
                            invalid_frames=invalid)
        run.frames = len(nmfc)
        run.metrics.update(invalid_frames=invalid)
        run.artifacts.append("contact_sheet.png")

    return run_stage("conditioning", args.name, args.out, work, sections=("conditioning",),
                     tags={"target": args.target, "source": args.source, "mode": args.mode})


if __name__ == "__main__":
    sys.exit(main())
