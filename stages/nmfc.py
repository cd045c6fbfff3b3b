"""Stage nmfc: each frame's mesh (average identity, frame expression, frame camera) rendered with
the normalised mean-face colours (paper 3.2, Eq. 3); lossless video."""

import sys

import numpy as np
import pandas as pd

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.face3d.face_model import FaceModel
from h2h.face3d.nmfc import NMFCRenderer, face_mask
from h2h.media.video import VideoWriter

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "fit", "identity", "face_model", "out")

    def work(run: StageRun) -> None:
        fit = read_manifest(args.fit, "fit")
        table = pd.read_parquet(f"{args.fit}/fit.parquet")
        identity = np.load(f"{args.identity}/identity.npy")
        model = FaceModel.load(f"{args.face_model}/model.npz")
        size = fit["size"]
        coverage = []
        with NMFCRenderer(model, size, size) as renderer, \
                VideoWriter(run.out / "nmfc.mkv", fit["fps"], mode="lossless") as writer:
            for image in renderer.render_table(table, identity):
                writer.write(image)
                coverage.append(face_mask(image).mean())
        run.manifest.update(fps=fit["fps"], frames=len(table), size=size, split=fit["split"])
        run.frames = len(table)
        run.metrics.update(mean_face_coverage=float(np.mean(coverage)),
                           empty_frames=int(np.sum(np.array(coverage) == 0)))

    return run_stage("nmfc", args.video, args.out, work, sections=())


if __name__ == "__main__":
    sys.exit(main())
