"""Stage evaluate: the paper's metrics (4.3) of one reenactment: pixel distances to the ground
truth in self mode (APD, MAPD, mouth APD), transfer of expression, pose, identity and gaze
(AED, ARD, DAI, AELD), face-feature distribution distances (FID, MMD^2 on dlib embeddings),
temporal consistency and FVD with I3D weights. The generated video goes through the recovery
its target's real side went through (stage reference), at the same resolution; every metric
reports the frames it used and how many of them failed."""

import math
import sys

from h2h.core.outputs import write_json
from h2h.core.stage import StageRun, run_stage
from h2h.evaluation.evaluate import Inputs, counts, evaluate_reenactment
from h2h.evaluation.recovery import available_cores
from h2h.evaluation.variants import read_training, training_params

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "name", "target", "source", "mode", "variant", "reenact",
                           "conditioning", "reference", "target_crop", "face_model", "training",
                           "out")

    def work(run: StageRun) -> None:
        result = evaluate_reenactment(
            Inputs(args.mode, args.reenact, args.conditioning, args.reference, args.target_crop,
                   args.face_model), workers=available_cores())
        write_json(run.out / "metrics.json",
                   {k: (None if math.isnan(v) else v) for k, v in result.metrics.items()})
        result.per_frame.to_csv(run.out / "per_frame.csv", index=False, float_format="%.6g")
        training = read_training(args.training)  # the evaluated generator and its training
        run.tracker.log_params({"training": training_params(training)})
        run.manifest.update(target=args.target, source=args.source, mode=args.mode,
                            variant=args.variant, frames=result.frames,
                            resolution=result.resolution, training=training)
        run.frames = result.frames
        frame_counts = counts(result.metrics)
        run.tracker.log_params({"counts": frame_counts})
        # The scores, NaN too: every variant's run has the same metric names.
        run.metrics.update({k: v for k, v in result.metrics.items() if k not in frame_counts})
        run.artifacts.append("per_frame.csv")

    return run_stage("evaluate", args.name, args.out, work, sections=(),
                     tags={"target": args.target, "source": args.source, "mode": args.mode,
                           "variant": args.variant})


if __name__ == "__main__":
    sys.exit(main())
