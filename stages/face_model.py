"""Stage face_model: the ICT 3DMM region, its NMFC colours and the Face Mesh correspondence."""

import sys

from h2h.core.stage import StageRun, run_stage
from h2h.face3d.face_model import FaceModelParams, build_face_model
from h2h.face3d.nmfc import NMFCRenderer
from h2h.geometry.camera import frontal_camera, to_image_space
from h2h.media.sheets import save_png

from common import stage_arguments

PREVIEW_SIZE = 256


def main() -> int:
    args = stage_arguments(__doc__, "out")

    def work(run: StageRun) -> None:
        params = FaceModelParams.from_params(run.params)
        model, correspondence = build_face_model(params.ict, params.canonical, params.region,
                                                 params.rounds)
        model.save(run.out / "model.npz")
        with NMFCRenderer(model, PREVIEW_SIZE, PREVIEW_SIZE) as renderer:
            camera = frontal_camera(model.mean, PREVIEW_SIZE)
            mean_face = renderer.render_vertices(to_image_space(model.mean, camera))
        save_png(run.out / "mean_face_nmfc.png", mean_face)
        residual = {"median_mm": correspondence.median_mm, "max_mm": correspondence.max_mm}
        run.manifest.update(region=model.region, vertices=len(model.mean),
                            triangles=len(model.triangles), correspondence=residual)
        run.metrics.update(correspondence_median_mm=residual["median_mm"],
                           correspondence_max_mm=residual["max_mm"],
                           vertices=len(model.mean), triangles=len(model.triangles))
        run.artifacts.append("mean_face_nmfc.png")

    return run_stage("face_model", "model", args.out, work, sections=("face_model",), tags={})


if __name__ == "__main__":
    sys.exit(main())
