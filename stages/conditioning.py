"""Stage conditioning: NMFC and eye videos of a target driven by a source (paper 4.2), in head,
face or self reenactment mode; the generator's input for reenactment."""

import sys

import numpy as np
import pandas as pd
from common import stage_arguments

from h2h.conditioning import condition
from h2h.errors import H2HError
from h2h.eyes import eye_points, render_eyes
from h2h.face_model import FaceModel
from h2h.landmarks import read_landmarks
from h2h.outputs import read_manifest
from h2h.render import NMFCRenderer
from h2h.sheets import contact_sheet, sample_indices, save_png
from h2h.stage import StageRun, run_stage
from h2h.video import write_video


def split_rows(table: pd.DataFrame, frames: list[int]) -> pd.DataFrame:
    start, stop = frames
    return table.iloc[start:stop].reset_index(drop=True)


def main() -> int:
    args = stage_arguments(__doc__, "name", "target", "source", "mode", "target_fit", "source_fit",
                           "target_identity", "target_landmarks", "source_landmarks",
                           "face_model", "out")

    def work(run: StageRun) -> None:
        if args.mode == "self" and args.source != args.target:
            raise H2HError(f"self reenactment needs source == target, got {args.source}",
                           args.source_fit)
        target_fit = read_manifest(args.target_fit, "fit")
        source_fit = read_manifest(args.source_fit, "fit")
        target = pd.read_parquet(f"{args.target_fit}/fit.parquet")
        source = pd.read_parquet(f"{args.source_fit}/fit.parquet")
        target_eyes = eye_points(read_landmarks(f"{args.target_landmarks}/landmarks.parquet"))
        source_eyes = eye_points(read_landmarks(f"{args.source_landmarks}/landmarks.parquet"))
        train = target_fit["split"]["train"]
        # self: the target's unseen test split drives it; otherwise the whole source video.
        source_frames = target_fit["split"]["test"] if args.mode == "self" else [0, len(source)]
        result = condition(
            args.mode,
            split_rows(source, source_frames), split_rows(target, train),
            np.load(f"{args.target_identity}/identity.npy"),
            source_eyes[source_frames[0]:source_frames[1]], target_eyes[train[0]:train[1]],
            smooth_sigma=run.params["conditioning"]["smooth_sigma"])
        result.table.to_parquet(run.out / "conditioning.parquet")

        size, fps = target_fit["size"], source_fit["fps"]
        model = FaceModel.load(f"{args.face_model}/model.npz")
        with NMFCRenderer(model, size, size) as renderer:
            nmfc = list(renderer.render_table(result.table))
        eyes = list(render_eyes(result.eyes, size, size))
        write_video(run.out / "nmfc.mkv", nmfc, fps, mode="lossless")
        write_video(run.out / "eyes.mkv", eyes, fps, mode="lossless")
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
