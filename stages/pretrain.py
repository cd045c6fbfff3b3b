"""Stage pretrain: the video rendering network trained on a multi-person corpus (paper 4.6; the
videos listed in params.yaml's ``corpus``) to generate an "average identity" that fine-tuning
starts from.

The corpus stage's clips are memory-mapped, so corpora of hundreds of videos fit; checkpoints
are kept in checkpoints/pretrain/ (outside DVC), so a killed run continues from its last one.
"""

import sys
from pathlib import Path

from h2h.core.errors import H2HError
from h2h.core.stage import StageRun, run_stage
from h2h.train.corpus import CLIP_DIR
from h2h.train.pretrain import PretrainParams, pretrain
from h2h.train.settings import TrainParams

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "corpus_clips", "out")

    def work(run: StageRun) -> None:
        corpus = list(run.params["corpus"])
        if not corpus:
            raise H2HError("the corpus is empty: register videos (h2h add-videos FOLDER --role "
                           "corpus) or train targets from scratch (finetune.init: scratch)",
                           "params.yaml")
        clips = [Path(args.corpus_clips) / video / CLIP_DIR for video in corpus]
        summary = pretrain(clips, TrainParams.from_params(run.params),
                           PretrainParams.from_params(run.params), run.out)
        run.manifest.update(corpus=corpus, **summary)

    return run_stage("pretrain", "corpus", args.out, work,
                     sections=("corpus", "train", "pretrain"), track=False)


if __name__ == "__main__":
    sys.exit(main())
