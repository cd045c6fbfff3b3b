"""Stage reenact: the target's generator run frame by frame over a reenactment's conditioning
(paper 4.2). Writes the result (labelled synthetic: metadata and a visible mark), a side-by-side
video (source | NMFC | eyes | result; in self mode the source is the ground truth) and a lossless
copy of the result for the metrics."""

import sys

from threadpoolctl import threadpool_limits

from h2h.core.outputs import read_manifest
from h2h.core.overlap import overlapped
from h2h.core.progress import progress
from h2h.core.stage import StageRun, run_stage
from h2h.media.label import synthetic_metadata
from h2h.media.sheets import contact_sheet, sample_indices, save_png
from h2h.media.video import iter_frames
from h2h.nn.generator_file import load_generator
from h2h.reenact.synthesis import ReenactOutput, ReenactParams, Synthesiser

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "name", "target", "source", "mode", "variant",
                           "conditioning", "generator", "source_crop", "out")

    def work(run: StageRun) -> None:
        conditioning = read_manifest(args.conditioning, "conditioning")
        start, stop = conditioning["source_frames"]
        fps, n = conditioning["fps"], conditioning["frames"]
        params = ReenactParams.from_params(run.params)
        generator, config = load_generator(args.generator)
        synthesise = Synthesiser(generator, config, params.torch_device)
        metadata = synthetic_metadata(args.target, args.source, args.mode)
        mark = params.mark
        shown, results = set(sample_indices(n, 8)), []
        frames = zip(iter_frames(f"{args.source_crop}/frames.mkv", start, stop - start),
                     iter_frames(f"{args.conditioning}/nmfc.mkv"),
                     iter_frames(f"{args.conditioning}/eyes.mkv"))

        def generate(item: tuple) -> tuple:
            return (*item, synthesise(*item[1:]))

        # Decoding, the generator and the encoders overlap (each frame as one after the other).
        with threadpool_limits(1), ReenactOutput(
                run.out / "video.mp4", fps, metadata, mark, run.out / "side_by_side.mp4",
                lossless=run.out / "frames.mkv") as output:
            chain = overlapped(frames, [generate])
            for index, (source, nmfc, eyes, result) in enumerate(progress(chain, "reenact", n)):
                output.write(result, source, nmfc, eyes)
                if index in shown:
                    results.append(result)
        save_png(run.out / "frames.png", contact_sheet(results, columns=4))
        run.manifest.update(target=args.target, source=args.source, mode=args.mode,
                            variant=args.variant, fps=fps, frames=output.frames,
                            resolution=config.resolution, mark=mark, source_frames=[start, stop])
        run.frames = output.frames
        run.artifacts += ["frames.png", "side_by_side.mp4"]

    return run_stage("reenact", args.name, args.out, work, sections=("reenact",),
                     tags={"target": args.target, "source": args.source, "mode": args.mode,
                           "variant": args.variant})


if __name__ == "__main__":
    sys.exit(main())
