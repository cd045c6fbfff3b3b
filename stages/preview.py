"""Stage preview: what the 3D recovery made of a video, for a person to check at a glance: a short
side-by-side video (frame | NMFC | eyes | mesh overlay) and a contact sheet of overlays."""

import sys

import pandas as pd

from h2h.core.outputs import read_manifest
from h2h.core.stage import StageRun, run_stage
from h2h.face3d.face_model import FaceModel
from h2h.face3d.fit_table import cameras_of, expressions_of, identities_of
from h2h.face3d.preview import PreviewParams, landmarks_68, mesh_overlay, side_by_side
from h2h.media.sheets import contact_sheet, sample_indices, save_png
from h2h.media.video import read_video, write_video

from common import stage_arguments


def main() -> int:
    args = stage_arguments(__doc__, "video", "crop", "fit", "nmfc", "eyes", "face_model", "out")

    def work(run: StageRun) -> None:
        n = PreviewParams.from_params(run.params).frames
        crop = read_manifest(args.crop, "crop")
        model = FaceModel.load(f"{args.face_model}/model.npz")
        table = pd.read_parquet(f"{args.fit}/fit.parquet")
        frames = read_video(f"{args.crop}/frames.mkv", count=n)
        nmfcs = read_video(f"{args.nmfc}/nmfc.mkv", count=n)
        eyes = read_video(f"{args.eyes}/eyes.mkv", count=n)
        cameras, identities, expressions = (cameras_of(table), identities_of(table),
                                            expressions_of(table))
        valid = table["valid"].to_numpy(bool)
        rows = []
        for i, (frame, nmfc, eye) in enumerate(zip(frames, nmfcs, eyes)):
            overlay = frame
            if valid[i]:
                points = landmarks_68(model, identities[i], expressions[i], cameras[i])
                overlay = mesh_overlay(frame, nmfc, points)
            rows.append(side_by_side([frame, nmfc, eye, overlay]))
        write_video(run.out / "side_by_side.mp4", rows, crop["fps"], mode="delivery")
        save_png(run.out / "contact_sheet.png",
                 contact_sheet([rows[i] for i in sample_indices(len(rows), 4)], columns=1))
        run.manifest.update(fps=crop["fps"], frames=len(rows))
        run.frames = len(rows)
        run.artifacts += ["contact_sheet.png", "side_by_side.mp4"]

    return run_stage("preview", args.video, args.out, work, sections=("preview",))


if __name__ == "__main__":
    sys.exit(main())
