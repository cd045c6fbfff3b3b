"""Stage finetune: the person-specific video rendering network of one target and variant (paper
3.4, 4.1), trained on the target's training split, from the pretrained networks or from scratch.

Checkpoints and the working state live in checkpoints/finetune/<target>/<variant>/ (outside DVC),
so a run that is killed continues from its last checkpoint when the stage runs again.
"""

import sys
from pathlib import Path

from h2h.core.stage import StageRun, run_stage
from h2h.train.data import ClipPaths
from h2h.train.job import CHECKPOINT_FILE, TrainingJob, run_training
from h2h.train.settings import training_plan

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "target", "variant", "data", "pretrain", "out")

    def work(run: StageRun) -> None:
        train = run.params["train"]
        plan = training_plan(train, train["options"], run.params["variant_specs"][args.variant])
        state = Path("checkpoints") / "finetune" / args.target / args.variant
        job = TrainingJob(
            plan=plan, videos={args.target: ClipPaths.under(args.data, args.target)},
            work_dir=state / "work", checkpoint_dir=state / "checkpoints",
            stage="finetune", unit=f"{args.target}/{args.variant}",
            tags={"target": args.target, "variant": args.variant},
            init_from=Path(args.pretrain) / CHECKPOINT_FILE if plan.init == "pretrain" else None)
        summary = run_training(job, run.out)
        run.manifest.update(target=args.target, variant=args.variant, init=plan.init,
                            resolution=plan.model.resolution, **summary)

    return run_stage("finetune", f"{args.target}/{args.variant}", args.out, work,
                     sections=("train", "variant_specs"), track=False)


if __name__ == "__main__":
    sys.exit(main())
