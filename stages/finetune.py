"""Stage finetune: the person-specific video rendering network of one target and variant (paper
3.4, 4.1), trained on the target's training split, from the pretrained networks or from scratch.

Checkpoints and the working state live in checkpoints/finetune/<target>/<variant>/ (outside DVC),
so a run that is killed continues from its last checkpoint when the stage runs again.
"""

import sys
from pathlib import Path

from h2h.core.stage import StageRun, run_stage
from h2h.train.finetune import FinetuneParams, finetune, finetune_plan
from h2h.train.settings import TrainParams, Variant

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "target", "variant", "data", "pretrain", "out")

    def work(run: StageRun) -> None:
        plan = finetune_plan(TrainParams.from_params(run.params),
                             FinetuneParams.from_params(run.params),
                             Variant.from_params(run.params, args.variant))
        summary = finetune(args.target, args.variant, plan, Path(args.data), Path(args.pretrain),
                           run.out)
        run.manifest.update(target=args.target, variant=args.variant, init=plan.init,
                            resolution=plan.model.resolution, **summary)

    return run_stage("finetune", f"{args.target}/{args.variant}", args.out, work,
                     sections=("train", "finetune", f"variant_specs.{args.variant}"),
                     track=False)


if __name__ == "__main__":
    sys.exit(main())
