"""Stage corpus: one pretraining video's training clip at the networks' resolution (paper 4.6),
decoded once from its stage outputs and saved for memory mapping by the pretrain stage."""

import sys

from h2h.core.stage import StageRun, run_stage
from h2h.train.corpus import save_corpus_clip
from h2h.train.data import ClipPaths
from h2h.train.settings import TrainParams

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "data", "out")

    def work(run: StageRun) -> None:
        resolution = TrainParams.from_params(run.params).model().resolution
        clip = save_corpus_clip(ClipPaths.under(args.data, args.video), resolution, run.out,
                                args.video)
        run.manifest.update(frames=clip.n_frames, resolution=resolution, fps=clip.fps)
        run.frames = clip.n_frames

    return run_stage("corpus", args.video, args.out, work, sections=("train",))


if __name__ == "__main__":
    sys.exit(main())
