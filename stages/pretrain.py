"""Stage pretrain: where one variant's person-specific training starts (paper 4.6). A variant that
starts from scratch (the paper's ablations, Tables 1-3) writes only init.json saying so; one that
starts from pretraining (Table 4) trains its own networks and loss on the multi-person corpus
(the videos listed in params.yaml's ``corpus``), shared with every variant of the same
pretraining configuration.

The corpus stage's clips are memory-mapped, so corpora of hundreds of videos fit; checkpoints
are kept in checkpoints/pretrain/<digest>/ (outside DVC), so a killed run continues from its last
one.
"""

import sys
from pathlib import Path

from h2h.core.stage import StageRun, run_stage
from h2h.train.corpus import CLIP_DIR
from h2h.train.pretrain import PretrainParams, pretrain, pretrain_plan
from h2h.train.settings import TrainParams, Variant

from common import show_training_start, stage_arguments


def main() -> int:
    show_training_start()
    args = stage_arguments(__doc__, "variant", "corpus_clips", "out")

    def work(run: StageRun) -> None:
        variant = Variant.from_params(run.params, args.variant)
        corpus = list(run.params["corpus"])
        plan = pretrain_plan(TrainParams.from_params(run.params),
                             PretrainParams.from_params(run.params), variant)
        summary = pretrain(variant.start(run.params["finetune"]["init"]),
                           [Path(args.corpus_clips) / video / CLIP_DIR for video in corpus],
                           plan, run.out)
        run.manifest.update(variant=args.variant, corpus=corpus, **summary)
        run.frames = summary.get("frames", 0)  # no training frames for a start from scratch

    return run_stage("pretrain", args.variant, args.out, work,
                     sections=("corpus", "train", "pretrain", "finetune.init",
                               f"variant_specs.{args.variant}"), track=False)


if __name__ == "__main__":
    sys.exit(main())
