"""Stage fit: camera, identity and expression of every cropped frame from MediaPipe Face Mesh's
468 dense points (paper 3.1)."""

import sys

import numpy as np

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.face3d.face_model import FaceModel
from h2h.face3d.facemesh import detect_face_mesh
from h2h.face3d.fit import FitParams, check_coverage, fit_video
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.face3d.preview import draw_landmarks, landmarks_68
from h2h.media.sheets import contact_sheet, sample_indices, save_png
from h2h.media.video import read_video

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "crop", "face_model", "out")

    def work(run: StageRun) -> None:
        crop = read_manifest(args.crop, "crop")
        model = FaceModel.load(f"{args.face_model}/model.npz")
        frames = read_video(f"{args.crop}/frames.mkv")
        points, found = detect_face_mesh(frames, total=len(frames))
        params = FitParams.from_params(run.params)
        table = fit_video(model, points, found, frames.shape[1], params)
        check_coverage(table, params.min_valid, args.crop)
        valid = table["valid"].to_numpy(bool)
        table.to_parquet(run.out / "fit.parquet")

        cameras, identities, expressions = (cameras_of(table), identities_of(table),
                                            expressions_of(table))
        sheet = [draw_landmarks(frames[i], landmarks_68(model, identities[i], expressions[i],
                                                        cameras[i]))
                 for i in sample_indices(len(frames), 8) if valid[i]]
        save_png(run.out / "contact_sheet.png", contact_sheet(sheet, columns=4))

        rmse = table["rmse_px"].to_numpy()
        counts = {"face_missed": int((~found).sum()),
                  "interpolated_frames": int(table["interpolated"].sum()),
                  "invalid_frames": int((~valid).sum())}
        run.manifest.update(fps=crop["fps"], frames=len(frames), size=crop["size"],
                            split=crop["split"],
                            median_rmse_px=float(np.nanmedian(rmse)), **counts)
        run.frames = len(frames)
        run.metrics.update(counts, median_rmse_px=float(np.nanmedian(rmse)),
                           p90_rmse_px=float(np.nanpercentile(rmse, 90)),
                           valid_rate=float(valid.mean()))
        run.artifacts.append("contact_sheet.png")

    return run_stage("fit", args.video, args.out, work, sections=("fit",))


if __name__ == "__main__":
    sys.exit(main())
