"""Stage pretrain: the video rendering network trained on a multi-person corpus (paper 4.6; the
videos of role `corpus` in params.yaml) to generate an "average identity" that fine-tuning
starts from.

Clips are decoded once into a memory-mapped cache and checkpoints kept in checkpoints/pretrain/,
so corpora of hundreds of videos fit, and a killed run continues from its last checkpoint.
"""

import sys
from pathlib import Path

from h2h.core.errors import H2HError
from h2h.core.stage import StageRun, run_stage
from h2h.train.data import ClipPaths
from h2h.train.job import TrainingJob, run_training
from h2h.train.settings import training_plan

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "data", "out")

    def work(run: StageRun) -> None:
        corpus = [video for video, spec in run.params["videos"].items()
                  if spec["role"] == "corpus"]
        if not corpus:
            raise H2HError("no video has role corpus: register some (h2h add-videos FOLDER) or "
                           "train targets from scratch (train.init: scratch)", "params.yaml")
        plan = training_plan(run.params["train"], run.params["pretrain"]["options"])
        state = Path("checkpoints") / "pretrain"
        job = TrainingJob(
            plan=plan, videos={video: ClipPaths.under(args.data, video) for video in corpus},
            work_dir=state / "work", checkpoint_dir=state / "checkpoints",
            cache_dir=state / "clips", stage="pretrain", unit="corpus",
            tags={"corpus_videos": str(len(corpus))})
        summary = run_training(job, run.out, keep_checkpoint=True)
        run.manifest.update(corpus=corpus, resolution=plan.model.resolution, **summary)

    return run_stage("pretrain", "corpus", args.out, work,
                     sections=("videos", "train", "pretrain"), track=False)


if __name__ == "__main__":
    sys.exit(main())
