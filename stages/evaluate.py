"""Stage evaluate: the paper's metrics (4.3) of one reenactment: pixel distances to the ground
truth in self mode (APD, MAPD, mouth APD), transfer of expression, pose, identity and gaze
(AED, ARD, DAI, AELD) by h2h's own 3D recovery of the generated video, face-feature distribution
distances (FID, MMD^2 on dlib embeddings), temporal consistency, and FVD with I3D weights."""

import math
import sys
from dataclasses import replace

import numpy as np
import pandas as pd

from h2h.core.outputs import read_manifest, write_json
from h2h.core.stage import StageRun, run_stage
from h2h.evaluation.evaluate import EvaluateParams, conditioning_reference, evaluate, recover
from h2h.evaluation.variants import read_training, training_params
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit import FitParams
from h2h.media.label import mark_mask
from h2h.media.video import read_video
from h2h.preprocess.landmarks import points_array, read_landmarks

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "name", "target", "source", "mode", "variant", "reenact",
                           "conditioning", "target_crop", "target_landmarks", "target_identity",
                           "face_model", "training", "out")

    def work(run: StageRun) -> None:
        params = EvaluateParams.from_params(run.params)
        reenacted = read_manifest(args.reenact, "reenact")
        conditioned = read_manifest(args.conditioning, "conditioning")
        crop = read_manifest(args.target_crop, "crop")
        size = reenacted["resolution"]
        scale = size / conditioned["size"]
        fake = read_video(f"{args.reenact}/frames.mkv")
        start, stop = conditioned["source_frames"] if args.mode == "self" else crop["split"]["train"]
        real = read_video(f"{args.target_crop}/frames.mkv", start,
                          min(stop - start, params.max_reference_frames), size=(size, size))
        reference = conditioning_reference(
            pd.read_parquet(f"{args.conditioning}/conditioning.parquet"),
            np.load(f"{args.conditioning}/eye_points.npy"), scale,
            np.load(f"{args.target_identity}/identity.npy"), real)
        if args.mode == "self":  # the test split is the ground truth, frame for frame
            landmarks = points_array(read_landmarks(f"{args.target_landmarks}/landmarks.parquet"))
            reference = replace(
                reference, ground_truth=real, ground_truth_landmarks=landmarks[start:stop] * scale,
                nmfc=read_video(f"{args.conditioning}/nmfc.mkv", size=(size, size)),
                exclude=mark_mask(size, size) if reenacted["mark"] else None)
        # dlib's HOG finds faces of ~80 px and up: upsample small generated frames.
        upsample = max(0, round(math.log2(256 / size)))
        recovery = recover(fake, FaceModel.load(f"{args.face_model}/model.npz"),
                           FitParams.from_params(run.params), upsample)
        metrics, per_frame = evaluate(fake, recovery, reference, params.i3d_weights,
                                      face_upsample=upsample)
        write_json(run.out / "metrics.json",
                   {k: (None if math.isnan(v) else v) for k, v in metrics.items()})
        per_frame.to_csv(run.out / "per_frame.csv", index=False, float_format="%.6g")
        training = read_training(args.training)  # the evaluated generator and its training
        run.tracker.log_params({"training": training_params(training)})
        run.manifest.update(target=args.target, source=args.source, mode=args.mode,
                            variant=args.variant, frames=len(fake), resolution=size,
                            training=training)
        run.frames = len(fake)
        run.metrics.update(metrics)  # NaN too: every variant's run has the same metric names
        run.artifacts.append("per_frame.csv")

    return run_stage("evaluate", args.name, args.out, work, sections=("evaluate", "fit"),
                     tags={"target": args.target, "source": args.source, "mode": args.mode,
                           "variant": args.variant})


if __name__ == "__main__":
    sys.exit(main())
