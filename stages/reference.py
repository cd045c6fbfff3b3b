"""Stage reference: the real side of the evaluation of a target (paper 4.3), computed once and
read by every evaluation of the target: its test split (the ground truth of self reenactment)
and the start of its training split (what cross-person reenactments are compared with), at the
generators' resolution and through the recovery the generated videos go through."""

import sys

import numpy as np

from h2h.core.stage import StageRun, run_stage
from h2h.evaluation.recovery import analysis_scale, available_cores
from h2h.evaluation.reference import ReferenceParams, compute_reference
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit import FitParams
from h2h.media.sheets import GREEN, RED, contact_sheet, draw_points, sample_indices, save_png
from h2h.media.video import read_video

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "target", "crop", "flow", "face_model", "out")

    def work(run: StageRun) -> None:
        params = ReferenceParams.from_params(run.params)
        train = run.params["train"]
        resolution = int(train["profiles"][train["profile"]]["resolution"])
        model = FaceModel.load(f"{args.face_model}/model.npz")
        sides = compute_reference(args.crop, args.flow, model, FitParams.from_params(run.params),
                                  params, resolution, run.params["flow"]["preset"],
                                  workers=available_cores())
        for split, side in sides.items():
            side.save(run.out / split)

        test = sides["test"]
        start, stop = test.frames
        scale = analysis_scale(resolution)
        frames = read_video(f"{args.crop}/frames.mkv", start, stop - start,
                            size=(resolution * scale,) * 2)
        sheet = []
        for index in sample_indices(len(frames), 8):
            points = test.recovery.landmarks[index] * scale
            sheet.append(draw_points(draw_points(frames[index], points[:68], GREEN),
                                     points[68:], RED, radius=2))
        save_png(run.out / "contact_sheet.png", contact_sheet(sheet, columns=4))

        summary = {split: side.summary() for split, side in sides.items()}
        run.manifest.update(target=args.target, resolution=resolution, splits=summary)
        run.frames = sum(len(side.recovery) for side in sides.values())
        run.metrics.update({f"{split}_{key}": float(value) for split, counts in summary.items()
                            for key, value in counts.items() if np.isscalar(value)})
        run.artifacts.append("contact_sheet.png")

    return run_stage("reference", args.target, args.out, work,
                     sections=("reference", "fit", "flow.preset", "train.profile",
                               "train.profiles"),
                     tags={"target": args.target})


if __name__ == "__main__":
    sys.exit(main())
