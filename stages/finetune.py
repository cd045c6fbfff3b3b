"""Stage finetune: the person-specific video rendering network of one target and variant (paper
3.4, 4.1), trained on the target's training split, from scratch or from the variant's own
pretraining (the pretrain stage's init.json says which).

Checkpoints and the working state live in checkpoints/finetune/<target>/<variant>/ (outside DVC),
so a run that is killed continues from its last checkpoint when the stage runs again with the
same configuration, data and starting weights; otherwise it starts from step 0 and says why.
"""

import sys
from pathlib import Path

from h2h.core.stage import StageRun, run_stage
from h2h.train.finetune import FinetuneParams, finetune, finetune_plan
from h2h.train.settings import TrainParams, Variant

from common import show_training_start, stage_arguments


def main() -> int:
    show_training_start()
    args = stage_arguments(__doc__, "target", "variant", "data", "pretrain", "out")

    def work(run: StageRun) -> None:
        train, params = TrainParams.from_params(run.params), FinetuneParams.from_params(run.params)
        plan = finetune_plan(train, params, Variant.from_params(run.params, args.variant))
        summary = finetune(args.target, args.variant, plan, finetune_plan(train, params, Variant()),
                           Path(args.data), Path(args.pretrain), run.out)
        run.manifest.update(target=args.target, variant=args.variant, init=plan.init,
                            resolution=plan.model.resolution, **summary)
        run.frames = summary["frames"]  # the training frames, as the stage's line reports

    return run_stage("finetune", f"{args.target}/{args.variant}", args.out, work,
                     sections=("train", "finetune", f"variant_specs.{args.variant}"),
                     track=False)


if __name__ == "__main__":
    sys.exit(main())
